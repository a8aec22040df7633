"""Scores of a model on labeled data: micro/macro F1, exact match, per-label figures."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def indicator(label_lists: Sequence[Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(labels)}
    Y = np.zeros((len(label_lists), len(labels)), np.int64)
    for i, row in enumerate(label_lists):
        for l in row:
            if l in index:
                Y[i, index[l]] = 1
    return Y


def _f1(tp, fp, fn) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def scores(y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]],
           labels: Sequence[str], multilabel: bool = True) -> dict:
    """Evaluation figures for gold and predicted label lists.

    Returns a dict with ``n``, ``micro_f1``, ``macro_f1``, ``exact_match`` (also ``accuracy`` for
    single-label data), ``none_false_positive_rate`` (share of texts with no gold label that got
    one) and ``per_label`` (precision, recall, f1, support).
    """
    T = indicator(y_true, labels)
    P = indicator(y_pred, labels)
    tp = (T & P).sum(0)
    fp = ((1 - T) & P).sum(0)
    fn = (T & (1 - P)).sum(0)
    per_label = {}
    for j, c in enumerate(labels):
        p, r, f = _f1(int(tp[j]), int(fp[j]), int(fn[j]))
        per_label[c] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
                        "support": int(T[:, j].sum())}
    _, _, micro = _f1(int(tp.sum()), int(fp.sum()), int(fn.sum()))
    present = [c for c in labels if per_label[c]["support"] > 0]
    macro = float(np.mean([per_label[c]["f1"] for c in present])) if present else 0.0
    gold_sets = [set(t) for t in y_true]
    exact = float(np.mean([set(p) == g for p, g in zip(y_pred, gold_sets)])) if len(gold_sets) else 0.0
    none_rows = [i for i, g in enumerate(gold_sets) if not g]
    out = {"n": len(gold_sets), "micro_f1": round(micro, 4), "macro_f1": round(macro, 4),
           "exact_match": round(exact, 4)}
    if not multilabel:
        out["accuracy"] = out["exact_match"]
    out["none_texts"] = len(none_rows)
    out["none_false_positive_rate"] = (round(float(np.mean([bool(y_pred[i]) for i in none_rows])), 4)
                                       if none_rows else None)
    out["per_label"] = per_label
    return out


def evaluate(model, texts: Sequence[str], y_true: Sequence[Sequence[str]]) -> dict:
    """Predict ``texts`` with ``model`` and score the predictions against ``y_true``."""
    preds = model.predict(list(texts))
    result = scores(y_true, [p.labels for p in preds], model.labels, model.multilabel)
    unknown = sorted({l for row in y_true for l in row} - set(model.labels))
    if unknown:
        result["labels_unknown_to_model"] = unknown
    return result


def format_scores(result: dict, names: dict | None = None) -> str:
    """A plain-text table of :func:`scores` output."""
    names = names or {}
    lines = [f"texts {result['n']}   micro-F1 {result['micro_f1']:.4f}   macro-F1 {result['macro_f1']:.4f}   "
             f"exact match {result['exact_match']:.4f}"]
    if result.get("none_false_positive_rate") is not None:
        lines.append(f"none texts {result['none_texts']}   false-positive rate {result['none_false_positive_rate']:.4f}")
    width = max([len(c) + len(names.get(c, "")) + 3 for c in result["per_label"]] + [10])
    lines.append(f"{'label':<{width}} precision  recall      f1  support")
    for c, m in result["per_label"].items():
        label = f"{c} ({names[c]})" if names.get(c) and names[c] != c else c
        lines.append(f"{label:<{width}} {m['precision']:9.4f} {m['recall']:7.4f} {m['f1']:7.4f} {m['support']:8d}")
    if result.get("labels_unknown_to_model"):
        lines.append("labels in the data the model does not know: " + ", ".join(result["labels_unknown_to_model"]))
    return "\n".join(lines)
