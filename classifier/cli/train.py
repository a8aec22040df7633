"""``jianfu train``: fit a model on labeled files and save it; with ``--base``, retrain a model."""
from __future__ import annotations

import json
from pathlib import Path

import click

from classifier import config
from classifier.cli import cli


@cli.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(file_okay=False), default=None,
              help="Directory to save the model in (must not exist, unless --force). Required without "
                   "--base; with --base it defaults to a new name in the registry, retrained-DATE-TIME.")
@click.option("--text-column", default="text", show_default=True)
@click.option("--taxonomy", type=click.Path(dir_okay=False), default=None,
              help="Taxonomy file with label codes and names; labels outside it are refused when the "
                   "data uses some of its codes. 'none' for no taxonomy. Default: data/taxonomy.json, "
                   "with --base the base model's labels (give a file to add a category).")
@click.option("--loss", type=click.Choice(["auto", "hinge", "logistic"]), default=None,
              help="Loss [default: auto; with --base the base model's].")
@click.option("--C", "C", type=float, default=None,
              help="Regularization (default: chosen by cross-validation; with --base the base model's setting).")
@click.option("--cv", type=click.IntRange(2), default=None,
              help=f"Cross-validation folds [default: {config.CV_FOLDS}; with --base the base model's].")
@click.option("--min-examples", type=click.IntRange(1), default=config.MIN_EXAMPLES_PER_LABEL, show_default=True)
@click.option("--base", default=None, metavar="DIR|NAME",
              help="Retrain this model: merge DATA (new labeled rows) into the data it was trained on, "
                   "train a candidate and compare the two on held-out data.")
@click.option("--base-data", multiple=True, type=click.Path(dir_okay=False),
              help="With --base: the base model's training files, when they moved (repeatable).")
@click.option("--holdout", type=click.FloatRange(0, 1, max_open=True), default=0.2, show_default=True,
              help="With --base: share of the new rows held out from training for the comparison.")
@click.option("--test", "test_path", default=str(config.TEST_FILE), show_default=True,
              help="With --base: test split both models are scored on ('none': held-out new rows only).")
@click.option("--on-conflict", type=click.Choice(["new", "base", "error"]), default="new", show_default=True,
              help="With --base: a text labeled differently in DATA and the base data keeps the new "
                   "labels, the base labels, or stops the run.")
@click.option("--promote", is_flag=True, help="With --base: make the candidate current if no label regressed.")
@click.option("--tolerance", type=click.FloatRange(0, 1), default=None,
              help="With --promote: largest per-label F1 drop accepted [default: 0.02].")
@click.option("--group-column", default=None, metavar="COLUMN",
              help="A column naming each row's source (writer, batch, office): cross-validation "
                   "then never splits a source, so thresholds and scores hold for unseen sources. "
                   "With --base: the base model's by default ('none': random folds); rows without "
                   "it form one group per file.")
@click.option("-j", "--jobs", type=int, default=-1, show_default=True,
              help="Processes for cross-validation (-1: all cores); results do not depend on it.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores (and the comparison) as JSON.")
def train(data, output, text_column, taxonomy, loss, C, cv, min_examples, base, base_data, holdout,
          test_path, on_conflict, promote, tolerance, group_column, jobs, force, as_json):
    """Train a model on DATA files (.jsonl, .csv, .tsv, .xlsx) and save it to OUTPUT.

    Multi-label unless every row has exactly one label. Prints cross-validated scores.

    \b
    With --base, DATA are newly labeled rows and the model is retrained:
      jianfu train new.jsonl --base default --taxonomy taxonomy5.json
    merges them into the base model's training data (exact and near duplicates removed,
    conflicting labels reported), holds out part of them, trains a candidate, saves it in the
    registry and prints candidate vs base on the test split plus the held-out rows. Make it
    current with 'jianfu models promote NAME' (or --promote).
    """
    if base is not None:
        return _retrain(data, output, text_column, taxonomy, loss, C, cv, min_examples, base, base_data,
                        holdout, test_path, on_conflict, promote, tolerance, force, as_json, group_column)
    if output is None:
        raise click.UsageError("missing option '-o' / '--output' (required unless --base)")
    from classifier.evaluate import format_scores
    from classifier.training import train as train_files

    tax = None if taxonomy == "none" else (taxonomy or config.TAXONOMY_FILE)
    result = train_files(list(data), text_column=text_column, taxonomy=tax, loss=loss or "auto", C=C,
                         cv=cv or config.CV_FOLDS, min_examples=min_examples, n_jobs=jobs,
                         group_column=group_column)
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


def _retrain(data, output, text_column, taxonomy, loss, C, cv, min_examples, base, base_data, holdout,
             test_path, on_conflict, promote, tolerance, force, as_json, group_column=None):
    from classifier import registry
    from classifier.retrain import (default_name, format_comparison, format_merge, format_regressions,
                                    regressions, retrain)

    if taxonomy == "none":
        raise click.UsageError("--taxonomy none cannot be used with --base (the base model's labels are the default)")
    root = config.models_dir()
    output = Path(output) if output else root / default_name(root)
    result = retrain(list(data), base, taxonomy=taxonomy, holdout=holdout,
                     test_path=None if test_path == "none" else test_path, on_conflict=on_conflict,
                     base_data=list(base_data) or None, text_column=text_column, min_examples=min_examples,
                     output=output, overwrite=force, loss=loss, C=C, cv=cv,
                     group_column=None if group_column == "none" else group_column,
                     inherit_groups=group_column != "none")
    tolerance = registry.DEFAULT_TOLERANCE if tolerance is None else tolerance
    regs = regressions(result.comparison, tolerance) if result.comparison else []
    in_registry = output.resolve().parent == root.resolve()
    promoted = refusal = None
    if promote:
        if not in_registry:
            raise click.UsageError(f"--promote needs the candidate in the registry ({root}); leave out -o")
        try:
            promoted = registry.promote(output.name, tolerance=tolerance)
        except registry.PromotionRefused as e:
            refusal = e  # reported after the comparison it is about
    if as_json:
        click.echo(json.dumps({"model": str(output), "base": result.base, "rows": result.n_rows,
                               "seconds": round(result.seconds, 2), "merge": result.merged.counts(),
                               "notes": result.notes, "cv_scores": result.model.meta.get("cv_scores"),
                               "comparison": result.comparison, "regressions": regs,
                               "promoted": bool(promoted), "refused": str(refusal) if refusal else None},
                              ensure_ascii=False, default=str))
        if refusal:
            raise refusal
        return
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    cv_scores = result.model.meta.get("cv_scores", {})
    click.echo(f"retrained from '{result.base}' in {result.seconds:.1f}s; candidate saved to {output}")
    click.echo(format_merge(result.merged))
    click.echo(f"cross-validated: micro-F1 {cv_scores.get('micro_f1', 0):.4f}   macro-F1 {cv_scores.get('macro_f1', 0):.4f}")
    if result.comparison is None:
        click.echo("no held-out data (empty test split and --holdout 0): the models were not compared")
    else:
        click.echo(format_comparison(result.comparison))
    if promoted:
        click.echo(f"promoted: '{output.name}' is now the current model (was '{promoted['previous']}')")
        return
    if refusal:
        raise refusal
    if regs:
        click.echo(f"promotion would be refused: {format_regressions(regs, tolerance)}.")
    if not in_registry:
        click.echo(f"to make it current, save it in the registry: leave out -o, or -o {root}/NAME")
    elif regs:
        click.echo(f"review the changed texts; to make it current anyway: jianfu models promote {output.name} --force")
    else:
        click.echo(f"make it current with: jianfu models promote {output.name}")
