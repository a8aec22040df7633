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
def evaluate(data, model, text_column, as_json):
    """Micro/macro F1, exact match and per-label precision/recall/F1 of a model on DATA."""
    from classifier import load
    from classifier.dataset import read_examples
    from classifier.evaluate import evaluate as run, format_scores

    m = load(model)
    examples = read_examples(data, text_column)
    result = run(m, [ex.text for ex in examples], [ex.labels for ex in examples])
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        click.echo(format_scores(result, m.names))
