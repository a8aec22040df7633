"""``jianfu tag``: tag every row of a file, a folder of documents, or stdin."""
from __future__ import annotations

import click

from classifier.cli import EXIT_ERROR, EXIT_ROWS_FAILED, cli, model_option


def format_summary(s) -> str:
    """The one-line summary printed at the end of a run."""
    rate = (s.rows - s.resumed) / s.seconds if s.seconds > 0 else 0.0
    line = f"{s.rows:,} rows read, {s.tagged:,} tagged, {s.failed:,} failed in {s.seconds:.1f}s ({rate:,.0f} rows/s)"
    if s.resumed:
        line += f"; {s.resumed:,} of them tagged before the interruption"
    if s.output != "-":
        line += f" → {s.output}"
    return line


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(allow_dash=True))
@click.option("-o", "--output", "output_path", required=True, type=click.Path(allow_dash=True),
              help="Output file: .jsonl, .csv, .xlsx or .parquet; '-' for JSONL on stdout.")
@model_option
@click.option("--text-column", default="text", show_default=True, help="Column (field) holding the text.")
@click.option("--id-column", default=None, help="Column naming rows in error reports (default: 'id' if present).")
@click.option("--format", "input_format", default=None,
              type=click.Choice(["csv", "tsv", "xlsx", "jsonl", "parquet", "txt", "dir"]),
              help="Input format (default: from the extension; a directory is 'dir'; '-' is jsonl).")
@click.option("--encoding", default=None, help="Text encoding of CSV/TSV/TXT/JSONL input (default: detected).")
@click.option("--sheet", default=None, help="Workbook sheet: a name, or a number from 1 (default: the first).")
@click.option("--by", type=click.Choice(["document", "paragraph"]), default="document", show_default=True,
              help="One output row per input row, or one per paragraph (with 'row' and 'paragraph').")
@click.option("--paragraphs/--no-paragraphs", default=True, show_default=True,
              help="Say which paragraphs of each document carry each label ('paragraphs' column); "
                   "--no-paragraphs is faster on texts of several paragraphs.")
@click.option("-j", "--jobs", type=click.IntRange(1), default=None, help="Worker processes (default: every core).")
@click.option("--max-chars", type=click.IntRange(1), default=None,
              help="Texts longer than this get an error instead of labels (default: 1,000,000).")
@click.option("--resume", is_flag=True, help="Continue the interrupted run that wrote to OUTPUT.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT, or discard an interrupted run's partial output.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
@click.pass_context
def tag(ctx, input_path, output_path, model, text_column, id_column, input_format, encoding, sheet, by,
        paragraphs, jobs, max_chars, resume, force, quiet):
    """Tag every row of INPUT and write it to OUTPUT with labels and scores.

    \b
    INPUT: .csv/.tsv (UTF-8, UTF-8 with BOM, GBK/GB18030, UTF-16: detected),
    .xlsx, .jsonl ('-' for stdin), .parquet, .txt (one document per line), or a
    folder: every .txt, .md, .docx and .pdf in it is one row, with its path.
    Every input row appears once in OUTPUT, in order; a row that cannot be
    tagged gets an 'error' message and no labels.

    \b
    Exit codes: 0 every row tagged; 3 some rows failed (see the error column);
    1 the run failed (nothing written, or resume it with --resume).

    \b
    Examples:
      jianfu tag complaints.xlsx -o tagged.csv
      jianfu tag policies/ -o policies.xlsx --by paragraph
      cat dump.jsonl | jianfu tag - -o - --quiet > tagged.jsonl
    """
    from classifier import load
    from classifier.tagging import MAX_CHARS, keep_freed_memory, tag_file

    try:
        keep_freed_memory()
        summary = tag_file(load(model), input_path, output_path, text_column, id_column, force,
                           input_format=input_format, encoding=encoding, sheet=sheet, by=by,
                           paragraphs=paragraphs, jobs=jobs, resume=resume, max_chars=max_chars or MAX_CHARS,
                           progress=False if quiet else None)
    except KeyboardInterrupt:
        if output_path != "-":
            click.echo("interrupted: the rows tagged so far are kept; run the same command with "
                       "--resume to continue", err=True)
        ctx.exit(130)
    except BrokenPipeError:  # the reader of stdout went away (e.g. '| head'): stop quietly
        import os
        import sys

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        ctx.exit(EXIT_ERROR)
    if not quiet:
        click.echo(format_summary(summary), err=True)
        for where, message in summary.errors:
            click.echo(f"  {where}: {message}", err=True)
        if summary.failed > len(summary.errors):
            click.echo(f"  … {summary.failed - len(summary.errors):,} more; see the error column", err=True)
    if summary.failed:
        ctx.exit(EXIT_ROWS_FAILED)
