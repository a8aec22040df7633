"""``jianfu evaluate``: scores of a model on labeled data."""
from __future__ import annotations

import json

import click

from classifier.cli import cli, model_option


@cli.command()
@click.argument("data", type=click.Path(dir_okay=False))
@model_option
@click.option("--text-column", default="text", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Also write an HTML report with plots and the worst errors explained to DIR/index.html.")
@click.option("--worst", type=click.IntRange(0), default=20, show_default=True,
              help="Worst errors shown in the report.")
def evaluate(data, model, text_column, as_json, report_dir, worst):
    """Micro/macro F1, exact match and per-label precision/recall/F1 of a model on DATA."""
    from classifier import load
    from classifier.dataset import read_examples
    from classifier.evaluate import evaluate as run, format_scores

    m = load(model)
    examples = read_examples(data, text_column)
    texts, labels = [ex.text for ex in examples], [ex.labels for ex in examples]
    if report_dir is not None:
        from classifier.report import write_report

        ids = [ex.id if ex.id is not None else ex.where for ex in examples]
        result = write_report(m, texts, labels, report_dir, ids=ids, worst=worst, source=data).scores
        click.echo(f"report written to {report_dir}/index.html", err=True)
    else:
        result = run(m, texts, labels)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        click.echo(format_scores(result, m.names))
