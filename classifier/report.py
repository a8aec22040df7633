"""An evaluation report a person can open: figures and tables on one HTML page.

:func:`write_report` predicts labeled texts, scores them as :func:`classifier.evaluate.evaluate`
does, and writes a directory with ``index.html`` (self-contained: the figures are embedded as
PNG data), the figures as separate ``.png`` files, and ``scores.json``. The page shows per-label
precision/recall/F1, a confusion matrix per label, precision-recall curves with the model's
operating point (its threshold) marked, gold and predicted label co-occurrence, and the worst
errors, each with the explanation of what the model saw (:mod:`classifier.explain`).

The pieces are public so a notebook can show them one by one::

    ev = evaluate_model(model, texts, labels)
    plot_pr_curves(ev)                # a matplotlib Figure
    worst_errors(model, ev, n=5)

Figures are drawn with matplotlib's Agg canvas (no display needed) and label them with codes,
not Chinese names, because a CJK font cannot be assumed; the HTML tables carry the names.
"""
from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np

from classifier.errors import JianfuError
from classifier.evaluate import indicator, scores as score_labels

FIGURES = ("per_label", "confusion", "pr_curves", "cooccurrence")


@dataclass
class Evaluation:
    """Gold labels, predictions and probabilities of a model on labeled texts, and their scores."""

    labels: list[str]
    names: dict[str, str]
    texts: list[str]
    y_true: list[list[str]]
    y_pred: list[list[str]]
    proba: np.ndarray
    thresholds: np.ndarray
    multilabel: bool
    scores: dict
    ids: list[str] = field(default_factory=list)

    @cached_property
    def Y(self) -> np.ndarray:
        """Gold indicator matrix, shape ``(n_texts, n_labels)``."""
        return indicator(self.y_true, self.labels)

    @cached_property
    def P(self) -> np.ndarray:
        """Predicted indicator matrix."""
        return indicator(self.y_pred, self.labels)


def evaluate_model(model, texts: Sequence[str], y_true: Sequence[Sequence[str]],
                   ids: Sequence[str] | None = None) -> Evaluation:
    """Predict ``texts`` once and keep everything the report needs.

    ``scores`` equals what :func:`classifier.evaluate.evaluate` returns for the same data.
    """
    texts = ["" if t is None else str(t) for t in texts]
    if len(texts) != len(y_true):
        raise JianfuError(f"{len(texts)} texts but {len(y_true)} label lists")
    if not texts:
        raise JianfuError("no labeled texts to evaluate; check the data file")
    proba = model.predict_proba(texts)
    # as Model.predict does: an empty text gets no label
    y_pred = [labels if t.strip() else [] for t, labels in zip(texts, model.labels_from_proba(proba))]
    y_true = [list(y) for y in y_true]
    result = score_labels(y_true, y_pred, model.labels, model.multilabel)
    unknown = sorted({l for row in y_true for l in row} - set(model.labels))
    if unknown:
        result["labels_unknown_to_model"] = unknown
    ids = [str(i) for i in ids] if ids is not None else [str(i + 1) for i in range(len(texts))]
    return Evaluation(list(model.labels), {c: model.name(c) for c in model.labels}, texts, y_true,
                      y_pred, proba, np.asarray(model.thresholds, float), model.multilabel, result, ids)


# -- figures -------------------------------------------------------------------------------------

def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _grid(n: int, cell: float = 3.2):
    cols = min(n, 4)
    rows = -(-n // cols)
    fig = _figure(cell * cols, cell * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes


def plot_scores(ev: Evaluation):
    """Bar chart of precision, recall and F1 per label (support in the tick labels)."""
    per = ev.scores["per_label"]
    fig = _figure(max(5.0, 1.3 * len(ev.labels) + 2), 3.6)
    ax = fig.subplots()
    x = np.arange(len(ev.labels))
    for k, (metric, color) in enumerate([("precision", "#4c72b0"), ("recall", "#dd8452"), ("f1", "#55a868")]):
        values = [per[c][metric] for c in ev.labels]
        bars = ax.bar(x + (k - 1) * 0.27, values, 0.27, label=metric, color=color)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(x, [f"{c}\n(n={per[c]['support']})" for c in ev.labels], fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_title(f"per label   micro-F1 {ev.scores['micro_f1']:.3f}   macro-F1 {ev.scores['macro_f1']:.3f}")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_confusion(ev: Evaluation):
    """One 2x2 confusion matrix (gold no/yes by predicted no/yes) per label."""
    Y, P = ev.Y, ev.P
    fig, axes = _grid(len(ev.labels), 2.8)
    for ax, j, code in zip(axes, range(len(ev.labels)), ev.labels):
        m = np.array([[((Y[:, j] == g) & (P[:, j] == p)).sum() for p in (0, 1)] for g in (0, 1)])
        ax.imshow(m, cmap="Blues", vmin=0, vmax=max(int(m.max()), 1))
        for g in (0, 1):
            for p in (0, 1):
                ax.text(p, g, str(m[g, p]), ha="center", va="center",
                        color="white" if m[g, p] > m.max() / 2 else "black")
        ax.set_xticks([0, 1], ["no", "yes"])
        ax.set_yticks([0, 1], ["no", "yes"])
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        ax.set_title(code, fontsize=9)
    return fig


def plot_pr_curves(ev: Evaluation):
    """Precision-recall curve of each label's probability, with the model's operating point."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    Y, P = ev.Y, ev.P
    fig, axes = _grid(len(ev.labels))
    for ax, j, code in zip(axes, range(len(ev.labels)), ev.labels):
        ax.set_title(code, fontsize=9)
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        if Y[:, j].sum() == 0:
            ax.text(0.5, 0.5, "no gold examples", ha="center", va="center")
            continue
        prec, rec, _ = precision_recall_curve(Y[:, j], ev.proba[:, j])
        ap = average_precision_score(Y[:, j], ev.proba[:, j])
        ax.plot(rec, prec, drawstyle="steps-post", label=f"AP {ap:.3f}")
        tp = int((Y[:, j] & P[:, j]).sum())
        p_at = tp / P[:, j].sum() if P[:, j].sum() else 1.0
        r_at = tp / Y[:, j].sum()
        what = f"threshold {ev.thresholds[j]:.2f}" if ev.multilabel else "argmax"
        ax.plot([r_at], [p_at], "o", color="#c44e52", label=f"{what}: P {p_at:.2f} R {r_at:.2f}")
        ax.legend(loc="lower left", fontsize=7)
    return fig


def cooccurrence(label_lists: Sequence[Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    """Counts of texts carrying both labels (the diagonal: texts carrying the label)."""
    Y = indicator(label_lists, labels)
    return Y.T @ Y


def plot_cooccurrence(ev: Evaluation):
    """Heat maps of label co-occurrence in the gold labels and in the predictions."""
    fig = _figure(2 * (0.8 * len(ev.labels) + 2.2), 0.8 * len(ev.labels) + 1.6)
    axes = fig.subplots(1, 2)
    for ax, title, rows in zip(axes, ("gold", "predicted"), (ev.y_true, ev.y_pred)):
        m = cooccurrence(rows, ev.labels)
        ax.imshow(m, cmap="Purples", vmin=0, vmax=max(int(m.max()), 1))
        for a in range(len(ev.labels)):
            for b in range(len(ev.labels)):
                ax.text(b, a, str(m[a, b]), ha="center", va="center", fontsize=8,
                        color="white" if m[a, b] > m.max() / 2 else "black")
        ax.set_xticks(range(len(ev.labels)), ev.labels, rotation=30, ha="right", fontsize=8)
        ax.set_yticks(range(len(ev.labels)), ev.labels, fontsize=8)
        ax.set_title(f"{title} labels", fontsize=10)
    return fig


def figure_png(fig) -> bytes:
    """PNG bytes of a figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


# -- errors --------------------------------------------------------------------------------------

@dataclass
class Error:
    """A text the model got wrong, how confidently, and its explanation."""

    id: str
    text: str
    gold: list[str]
    predicted: list[str]
    false_positives: list[str]
    false_negatives: list[str]
    severity: float
    explanation: object  # classifier.explain.Explanation


def worst_errors(model, ev: Evaluation, n: int = 20) -> list[Error]:
    """The ``n`` texts whose wrong decisions the model was most confident about.

    A text's severity is the largest ``|gold - probability|`` over the labels it got wrong.
    """
    from classifier.explain import explain

    Y, P = ev.Y, ev.P
    wrong = Y != P
    severity = np.where(wrong, np.abs(Y - ev.proba), 0.0).max(axis=1) if len(Y) else np.zeros(0)
    rows = [i for i in np.argsort(-severity, kind="stable") if wrong[i].any()][:n]
    out = []
    for i in rows:
        fp = [c for j, c in enumerate(ev.labels) if P[i, j] and not Y[i, j]]
        fn = [c for j, c in enumerate(ev.labels) if Y[i, j] and not P[i, j]]
        out.append(Error(ev.ids[i], ev.texts[i], ev.y_true[i], ev.y_pred[i], fp, fn,
                         float(severity[i]), explain(model, ev.texts[i])))
    return out


# -- the page ------------------------------------------------------------------------------------

def write_report(model, texts: Sequence[str], y_true: Sequence[Sequence[str]], directory: str | Path,
                 ids: Sequence[str] | None = None, worst: int = 20, source: str = "") -> Evaluation:
    """Evaluate ``model`` on labeled texts and write the report to ``directory``.

    Writes ``index.html``, one PNG per figure and ``scores.json``; files of an earlier report
    in the same directory are replaced. Returns the :class:`Evaluation` (its ``scores`` are
    what ``jianfu evaluate`` prints).

    Examples
    --------
    >>> ev = write_report(classifier.load(), texts, labels, "report/")   # doctest: +SKIP
    >>> ev.scores["micro_f1"]                                           # doctest: +SKIP
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise JianfuError(f"{directory} is a file; give a directory for the report")
    ev = evaluate_model(model, texts, y_true, ids)
    errors = worst_errors(model, ev, worst)
    directory.mkdir(parents=True, exist_ok=True)
    images = {}
    for name, plot in zip(FIGURES, (plot_scores, plot_confusion, plot_pr_curves, plot_cooccurrence)):
        images[name] = figure_png(plot(ev))
        (directory / f"{name}.png").write_bytes(images[name])
    (directory / "scores.json").write_text(json.dumps(ev.scores, ensure_ascii=False, indent=2), encoding="utf-8")
    page = _page(model, ev, errors, images, source)
    (directory / "index.html").write_text(page, encoding="utf-8")
    return ev


_CSS = """body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;
max-width:1100px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}td.l,th.l{text-align:left}
img{max-width:100%}.err{border-top:1px solid #ccc;padding:.6em 0}.text{background:#f6f6f6;padding:.4em;
white-space:pre-wrap}.up{color:#1a7f37}.down{color:#b42318}small{color:#666}"""


def _esc(x) -> str:
    return html.escape(str(x))


def _img(images: dict, name: str, alt: str) -> str:
    data = base64.b64encode(images[name]).decode("ascii")
    return f'<p><img alt="{_esc(alt)}" src="data:image/png;base64,{data}"></p>'


def _label(ev: Evaluation, code: str) -> str:
    name = ev.names.get(code, code)
    return _esc(code if name == code else f"{name} {code}")


def _page(model, ev: Evaluation, errors: list[Error], images: dict, source: str) -> str:
    s = ev.scores
    meta = model.meta or {}
    sel = meta.get("selected") or {}
    parts = [f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>jianfu evaluation report</title>"
             f"<style>{_CSS}</style></head><body><h1>Evaluation report</h1>",
             f"<p><small>data {_esc(source or '(in memory)')} · {s['n']} texts · model trained on "
             f"{_esc((meta.get('training_data') or {}).get('rows', '?'))} rows ({_esc(sel.get('loss', '?'))}, "
             f"C={_esc(sel.get('C', '?'))}) · {'multi-label' if ev.multilabel else 'single-label'} · "
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC</small></p>",
             "<table><tr><th class=l>micro-F1</th><th class=l>macro-F1</th><th class=l>exact match</th>"
             "<th class=l>texts with no gold label</th><th class=l>…given a label</th></tr>"
             f"<tr><td>{s['micro_f1']:.4f}</td><td>{s['macro_f1']:.4f}</td><td>{s['exact_match']:.4f}</td>"
             f"<td>{s.get('none_texts', 0)}</td><td>{_rate(s.get('none_false_positive_rate'))}</td></tr></table>"]
    if s.get("labels_unknown_to_model"):
        parts.append(f"<p>Labels in the data the model does not know: {_esc(', '.join(s['labels_unknown_to_model']))}</p>")
    Y, P = ev.Y, ev.P
    parts.append("<h2>Per label</h2><table><tr><th class=l>label</th><th>precision</th><th>recall</th><th>F1</th>"
                 "<th>support</th><th>predicted</th><th>TP</th><th>FP</th><th>FN</th><th>threshold</th></tr>")
    for j, c in enumerate(ev.labels):
        m = s["per_label"][c]
        y, p = Y[:, j] == 1, P[:, j] == 1
        tp, fp, fn = int((y & p).sum()), int((p & ~y).sum()), int((y & ~p).sum())
        th = f"{ev.thresholds[j]:.2f}" if ev.multilabel else "argmax"
        parts.append(f"<tr><td class=l>{_label(ev, c)}</td><td>{m['precision']:.4f}</td><td>{m['recall']:.4f}</td>"
                     f"<td>{m['f1']:.4f}</td><td>{m['support']}</td><td>{int(P[:, j].sum())}</td>"
                     f"<td>{tp}</td><td>{fp}</td><td>{fn}</td><td>{th}</td></tr>")
    parts.append("</table>" + _img(images, "per_label", "precision, recall and F1 per label"))
    parts.append("<h2>Confusion matrix per label</h2>" + _img(images, "confusion", "confusion matrices"))
    parts.append("<h2>Precision-recall curves</h2><p>The dot is where the model works: the precision and "
                 "recall of its decisions at the chosen threshold.</p>" + _img(images, "pr_curves", "PR curves"))
    parts.append("<h2>Label co-occurrence</h2><p>Texts carrying both labels; the diagonal counts texts "
                 "carrying the label.</p>" + _img(images, "cooccurrence", "label co-occurrence"))
    parts.append(f"<h2>Worst errors</h2><p>The {len(errors)} texts whose wrong decisions the model was most "
                 f"confident about (severity: the largest |gold − probability| over the wrong labels).</p>")
    parts += [_error_html(ev, e) for e in errors]
    parts.append("</body></html>")
    return "\n".join(parts)


def _rate(x) -> str:
    return "–" if x is None else f"{x:.4f}"


def _error_html(ev: Evaluation, err: Error) -> str:
    e = err.explanation
    fmt = lambda codes: ", ".join(_label(ev, c) for c in codes) or "(none)"
    out = [f"<div class=err><b>#{_esc(err.id)}</b> severity {err.severity:.3f} · gold: {fmt(err.gold)} · "
           f"predicted: {fmt(err.predicted)}", f"<div class=text>{_esc(err.text[:600])}"
           f"{'…' if len(err.text) > 600 else ''}</div><ul>"]
    for code, why in [(c, "wrongly predicted") for c in err.false_positives] + \
                     [(c, "missed") for c in err.false_negatives]:
        x = e.label(code, top=5, evidence=1)
        terms = lambda ts, cls: " ".join(f"<span class={cls}>{_esc(t.text)} {t.contribution:+.3f}</span>" for t in ts) or "–"
        ev_text = f"<br>evidence: {_esc(x.evidence[0].text)}" if x.evidence else ""
        out.append(f"<li><b>{_label(ev, code)}</b> {why}: probability {x.probability:.3f} (threshold "
                   f"{x.threshold:.2f}), decision {x.decision:+.3f} = intercept {x.intercept:+.3f} + terms"
                   f"<br>up: {terms(x.up, 'up')}<br>down: {terms(x.down, 'down')}{ev_text}</li>")
    out.append("</ul></div>")
    return "\n".join(out)
