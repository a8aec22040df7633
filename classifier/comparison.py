"""Two models side by side on the same labeled texts: F1 overall and per label, changed texts.

Used by ``jianfu train --base`` (candidate vs base) and ``jianfu models promote`` (candidate vs
current), which refuses a candidate whose F1 drops on some label by more than a tolerance.
"""
from __future__ import annotations

import unicodedata
from typing import Sequence

from classifier.dataset import Example
from classifier.evaluate import scores


def _verdict(gold: set, before: set, after: set) -> str:
    if after == gold:
        return "fixed"
    if before == gold:
        return "broken"
    return "changed"


def compare(current, candidate, examples: Sequence[Example], current_name: str = "current",
            candidate_name: str = "candidate") -> dict:
    """Score ``current`` and ``candidate`` on the same ``examples``.

    Both are scored over the union of their labels, so a label one model lacks counts as never
    predicted by it (F1 0 where the data has it).

    Returns
    -------
    dict
        ``n``, ``labels``, ``names``, ``current_name``, ``candidate_name``, ``current`` and
        ``candidate`` (:func:`classifier.evaluate.scores` of each), ``only_current`` and
        ``only_candidate`` (labels one model lacks), and ``changed``: every text whose predicted
        labels differ, with ``where`` (file:line), ``text``, ``gold``, ``current``,
        ``candidate`` and ``verdict`` (``fixed``: the candidate is now right, ``broken``: the
        current model was right, ``changed``: neither).
    """
    texts = [ex.text for ex in examples]
    gold = [sorted(ex.labels) for ex in examples]
    labels = list(current.labels) + [c for c in candidate.labels if c not in current.labels]
    before = [p.labels for p in current.predict(texts)]
    after = [p.labels for p in candidate.predict(texts)]
    multilabel = bool(current.multilabel or candidate.multilabel)
    changed = [{"where": ex.where, "text": ex.text, "gold": g, "current": b, "candidate": a,
                "verdict": _verdict(set(g), set(b), set(a))}
               for ex, g, b, a in zip(examples, gold, before, after) if set(b) != set(a)]
    return {"n": len(examples), "labels": labels,
            "names": {c: candidate.name(c) if c in candidate.labels else current.name(c) for c in labels},
            "current_name": current_name, "candidate_name": candidate_name,
            "current": scores(gold, before, labels, multilabel),
            "candidate": scores(gold, after, labels, multilabel),
            "only_current": [c for c in current.labels if c not in candidate.labels],
            "only_candidate": [c for c in candidate.labels if c not in current.labels],
            "changed": changed}


def regressions(comparison: dict, tolerance: float) -> list[dict]:
    """Labels on which the candidate is worse than the current model beyond ``tolerance``.

    A label counts when the held-out data has it and its F1 drops by more than ``tolerance``,
    or when the candidate no longer has a label the current model has. Each entry has
    ``label``, ``name``, ``current_f1``, ``candidate_f1``, ``drop``, ``support`` and ``missing``.
    """
    out = []
    for c in comparison["labels"]:
        cur = comparison["current"]["per_label"][c]
        new = comparison["candidate"]["per_label"][c]
        drop = round(cur["f1"] - new["f1"], 4)
        missing = c in comparison["only_current"]
        if missing or (cur["support"] > 0 and drop > tolerance + 1e-9):
            out.append({"label": c, "name": comparison["names"].get(c, c), "current_f1": cur["f1"],
                        "candidate_f1": new["f1"], "drop": drop, "support": cur["support"], "missing": missing})
    return out


def _cols(text: str) -> int:
    """Terminal columns of ``text``: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _ljust(text: str, width: int) -> str:
    return text + " " * max(width - _cols(text), 0)


def _label(code: str, name: str | None) -> str:
    return f"{code} ({name})" if name and name != code else code


def format_regressions(regs: Sequence[dict], tolerance: float) -> str:
    """One sentence naming each regressed label and by how much, e.g. for an error message."""
    parts = []
    for r in regs:
        what = _label(r["label"], r["name"])
        if r["missing"]:
            parts.append(f"{what} is missing from the candidate")
        else:
            parts.append(f"{what} F1 fell from {r['current_f1']:.4f} to {r['candidate_f1']:.4f} "
                         f"(-{r['drop']:.4f}, more than the tolerance {tolerance:g}; "
                         f"{r['support']} text{'s' if r['support'] != 1 else ''})")
    return "; ".join(parts)


def format_comparison(comparison: dict, limit: int = 20, width: int = 50) -> str:
    """A side-by-side table of two models' scores, then the texts whose labels changed."""
    cur, new = comparison["current"], comparison["candidate"]
    names = comparison["names"]
    rows = [("micro-F1", cur["micro_f1"], new["micro_f1"], None),
            ("macro-F1", cur["macro_f1"], new["macro_f1"], None)]
    for c in comparison["labels"]:
        a, b = cur["per_label"][c], new["per_label"][c]
        rows.append((_label(c, names.get(c)), a["f1"], b["f1"], a["support"]))
    first = max(_cols(r[0]) for r in rows) + 2
    head_a, head_b = comparison["current_name"][:30], comparison["candidate_name"][:30]
    w = max(len(head_a), len(head_b), 9)
    lines = [f"{comparison['n']} held-out texts",
             f"{'':<{first}}{head_a:>{w}} {head_b:>{w}} {'change':>8} {'support':>8}"]
    for label, a, b, support in rows:
        if support == 0:
            lines.append(f"{_ljust(label, first)}{'-':>{w}} {'-':>{w}} {'':>8} {0:>8d}  (not in the held-out texts)")
            continue
        note = f" {support:>8d}" if support is not None else ""
        lines.append(f"{_ljust(label, first)}{a:>{w}.4f} {b:>{w}.4f} {b - a:>+8.4f}{note}")
    for c in comparison["only_candidate"]:
        lines.append(f"new label {_label(c, names.get(c))}: the current model cannot predict it")
    for c in comparison["only_current"]:
        lines.append(f"label {_label(c, names.get(c))} is missing from the candidate")
    changed = comparison["changed"]
    counts = {v: sum(1 for ch in changed if ch["verdict"] == v) for v in ("fixed", "broken", "changed")}
    lines.append(f"texts whose labels changed: {len(changed)} ({counts['fixed']} fixed, {counts['broken']} "
                 f"broken, {counts['changed']} neither right before nor after)")
    for ch in changed[:limit]:
        text = ch["text"].replace("\n", " ")
        text = text[:width] + ("…" if len(text) > width else "")
        lines.append(f"  {ch['verdict']:<7} {ch['where']}  gold {ch['gold']}  {ch['current']} → {ch['candidate']}  {text}")
    if len(changed) > limit:
        lines.append(f"  … and {len(changed) - limit} more (--json lists them all)")
    return "\n".join(lines)
