"""``jianfu tag``: tag every row of a file."""
from __future__ import annotations

import click

from classifier.cli import cli, model_option


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", "output_path", required=True, type=click.Path(), help="Output file.")
@model_option
@click.option("--text-column", default="text", show_default=True)
@click.option("--id-column", default=None, help="Column identifying rows (kept as is).")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def tag(input_path, output_path, model, text_column, id_column, force):
    """Tag every row of INPUT (.jsonl, .csv, .xlsx) and write OUTPUT with labels and scores."""
    from classifier import load
    from classifier.tagging import tag_file

    summary = tag_file(load(model), input_path, output_path, text_column, id_column, force)
    click.echo(f"{summary['rows']} rows read, {summary['tagged']} tagged, {summary['failed']} failed", err=True)
