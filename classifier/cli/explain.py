"""``jianfu explain``: which terms and sentences made the model choose (or almost choose) each label."""
from __future__ import annotations

import json
import sys

import click

from classifier.cli import cli, model_option
from classifier.explain import NEAR_MISS_MARGIN


@cli.command()
@click.argument("text")
@model_option
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object: labels, near misses, scores, and per label its terms and evidence.")
@click.option("--top", type=click.IntRange(1), default=5, show_default=True,
              help="Terms shown pushing each label up and down.")
@click.option("--evidence", type=click.IntRange(0), default=1, show_default=True,
              help="Evidence sentences shown per label.")
@click.option("--margin", type=click.FloatRange(0, 1), default=NEAR_MISS_MARGIN, show_default=True,
              help="A label within this probability below its threshold is a near miss.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="One probability threshold for every label (default: each label's own).")
def explain(text, model, as_json, top, evidence, margin, threshold):
    """Why TEXT gets its categories ('-' reads one text from stdin).

    For each predicted label, and each label that came within --margin of its threshold: the
    terms that pushed it up and down with their contributions to the decision value
    (decision = intercept + the sum of all term contributions), and the sentences carrying them.

    \b
    Example:
      jianfu explain "村里一个月迎了七次检查，材料做了一摞又一摞，真正干活的时间反倒没有了"
    """
    from classifier import load
    from classifier.explain import explain as run, format_explanation

    if text == "-":
        text = sys.stdin.read()
    result = run(load(model), text, threshold=threshold, margin=margin)
    if as_json:
        click.echo(json.dumps(result.to_dict(top, evidence), ensure_ascii=False))
    else:
        click.echo(format_explanation(result, top, evidence))
