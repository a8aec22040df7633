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
@click.option("--by", type=click.Choice(["text", "paragraph"]), default="text", show_default=True,
              help="'paragraph': each TEXT (or all of stdin) is one long document; tag each paragraph, "
                   "aggregate to the document and show the evidence sentence for each label.")
def predict(texts, model, as_json, threshold, k, by):
    """Categories of TEXTS (none, or '-': one text per line of stdin).

    \b
    Example:
      jianfu predict "村里一个月迎了七次检查，材料做了一摞又一摞"
      jianfu predict --by paragraph - < article.txt
    """
    from classifier import load

    m = load(model)
    if by == "paragraph":
        _predict_documents(m, texts, as_json, threshold, k)
        return
    items = _texts(texts)
    for pred in m.predict(items, threshold=threshold, k=k):
        if as_json:
            click.echo(json.dumps(pred.to_dict(), ensure_ascii=False))
        else:
            click.echo(format_prediction(pred, m))


def _predict_documents(m, texts, as_json, threshold, k):
    from classifier.explain import predict_paragraphs

    if not texts or texts == ("-",):
        texts = (sys.stdin.read(),)
    for text in texts:
        doc = predict_paragraphs(m, text, threshold=threshold, k=k)
        if as_json:
            click.echo(json.dumps(doc.to_dict(), ensure_ascii=False))
        else:
            click.echo(format_document(doc, m))


def format_document(doc, model, width: int = 60) -> str:
    """Document labels with their evidence, then each paragraph's labels (numbered from 1)."""
    text = " ".join(doc.text.split())
    head = text[:width] + ("…" if len(text) > width else "")
    lines = [f"{head or '(empty text)'}   ({len(doc.paragraphs)} paragraphs)"]
    for code in sorted(model.labels, key=lambda c: -doc.scores[c]):
        mark = "✔" if code in doc.labels else " "
        found = [str(i + 1) for i, p in enumerate(doc.paragraphs) if code in p.labels]
        where = f"   paragraphs {', '.join(found)}" if found else ""
        lines.append(f"  {mark} {model.name(code)} {code:<24} {doc.scores[code]:.3f}{where}")
        if code in doc.evidence:
            ev = doc.evidence[code]
            sentence = " ".join(ev["sentence"].split())
            lines.append(f"      evidence (paragraph {ev['paragraph'] + 1}, {ev['probability']:.3f}): {sentence}")
    if not doc.labels:
        lines.append("  (no category)")
    lines.append("  paragraphs:")
    for i, p in enumerate(doc.paragraphs, 1):
        body = " ".join(p.text.split())
        names = ", ".join(model.name(c) for c in p.labels) or "-"
        lines.append(f"  {i:>4}  {_pad(names, 20)} {body[:36]}{'…' if len(body) > 36 else ''}")
    return "\n".join(lines)


def _pad(s: str, width: int) -> str:
    """``s`` padded to ``width`` terminal columns (a Chinese character takes two)."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)
    return s + " " * max(width - used, 0)
