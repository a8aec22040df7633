"""``jianfu predict``: categories of texts given as arguments or on stdin."""
from __future__ import annotations

import json
import sys

import click

from classifier.cli import cli, model_option


def _texts(texts: tuple[str, ...]) -> list[str]:
    if not texts or texts == ("-",):
        stream = click.get_text_stream("stdin")
        return [line.rstrip("\r\n") for line in stream]
    return list(texts)


def format_prediction(pred, model, width: int = 60) -> str:
    text = pred.text.replace("\n", " ")
    head = text[:width] + ("…" if len(text) > width else "")
    lines = [head or "(empty text)"]
    order = sorted(model.labels, key=lambda c: -pred.scores[c])
    for code in order:
        mark = "✔" if code in pred.labels else " "
        lines.append(f"  {mark} {model.name(code)} {code:<24} {pred.scores[code]:.3f}")
    if not pred.labels:
        lines.append("  (no category)")
    return "\n".join(lines)


@cli.command()
@click.argument("texts", nargs=-1)
@model_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per text: text, labels, scores.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="One probability threshold for every label (default: each label's own).")
@click.option("-k", "--top", "k", type=click.IntRange(1), default=None, help="At most K labels per text.")
def predict(texts, model, as_json, threshold, k):
    """Categories of TEXTS (none, or '-': one text per line of stdin).

    \b
    Example:
      jianfu predict "村里一个月迎了七次检查，材料做了一摞又一摞"
    """
    from classifier import load

    m = load(model)
    items = _texts(texts)
    for pred in m.predict(items, threshold=threshold, k=k):
        if as_json:
            click.echo(json.dumps(pred.to_dict(), ensure_ascii=False))
        else:
            click.echo(format_prediction(pred, m))
