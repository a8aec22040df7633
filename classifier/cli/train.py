"""``jianfu train``: fit a model on labeled files and save it."""
from __future__ import annotations

import json

import click

from classifier import config
from classifier.cli import cli


@cli.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Directory to save the model in (must not exist, unless --force).")
@click.option("--text-column", default="text", show_default=True)
@click.option("--taxonomy", type=click.Path(dir_okay=False), default=str(config.TAXONOMY_FILE),
              help="Taxonomy file with label codes and names; labels outside it are refused when the "
                   "data uses some of its codes. 'none' for no taxonomy.")
@click.option("--loss", type=click.Choice(["auto", "hinge", "logistic"]), default="auto", show_default=True)
@click.option("--C", "C", type=float, default=None, help="Regularization (default: chosen by cross-validation).")
@click.option("--cv", type=click.IntRange(2), default=config.CV_FOLDS, show_default=True)
@click.option("--min-examples", type=click.IntRange(1), default=config.MIN_EXAMPLES_PER_LABEL, show_default=True)
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the cross-validated scores as JSON.")
def train(data, output, text_column, taxonomy, loss, C, cv, min_examples, force, as_json):
    """Train a model on DATA files (.jsonl, .csv, .tsv, .xlsx) and save it to OUTPUT.

    Multi-label unless every row has exactly one label. Prints cross-validated scores.
    """
    from classifier.evaluate import format_scores
    from classifier.training import train as train_files

    tax = None if taxonomy == "none" else taxonomy
    result = train_files(list(data), text_column=text_column, taxonomy=tax, loss=loss, C=C, cv=cv,
                         min_examples=min_examples)
    result.model.save(output, overwrite=force)
    if as_json:
        click.echo(json.dumps({"model": output, "rows": result.n_rows, "seconds": round(result.seconds, 2),
                               "selected": result.model.meta.get("selected"), "cv_scores": result.cv_scores},
                              ensure_ascii=False))
        return
    sel = result.model.meta.get("selected", {})
    click.echo(f"trained on {result.n_rows} rows in {result.seconds:.1f}s "
               f"({'multi-label' if result.model.multilabel else 'single-label'}, "
               f"{sel.get('loss')} C={sel.get('C')}); saved to {output}")
    click.echo("cross-validated scores:")
    click.echo(format_scores(result.cv_scores, result.model.names))
