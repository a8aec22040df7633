"""``jianfu corpus``: build the project's train/test files from its batches, and check them."""
from __future__ import annotations

import json

import click

from classifier.cli import cli


@cli.group()
def corpus():
    """The project's labeled corpus (data/): build and check."""


@corpus.command()
def build():
    """Derive data/train.jsonl and data/test.jsonl from data/batches and the corrections."""
    from classifier.corpus import build as run

    result = run()
    click.echo(f"train {result['train']} texts, test {result['test']} texts, "
               f"{result['corrections']} label corrections applied")
    for test_id, train_id, jac in result["test_dropped_as_near_duplicates"]:
        click.echo(f"test text {test_id} left out: near-duplicate of {train_id} (Jaccard {jac})")


@corpus.command()
@click.option("--json", "as_json", is_flag=True)
def check(as_json):
    """Print every corpus figure; exit 1 when a target is missed."""
    from classifier.corpus import check as run, format_check

    res = run()
    if as_json:
        click.echo(json.dumps({"figures": res.figures, "missed": res.failures}, ensure_ascii=False))
    else:
        click.echo(format_check(res))
    if not res.ok:
        raise SystemExit(1)
