"""Why the model says what it says: term contributions, evidence sentences, near misses.

The model is linear: the decision value of label ``j`` is ``s_j = b_j + sum_f x_f * w_fj`` over
the TF-IDF entries ``x_f`` of the text, so ``x_f * w_fj`` is feature ``f``'s exact share of it
(no sampling or approximation as in LIME or SHAP).

Raw features overlap: the word 形式主义 fires the word feature and nine character n-grams
(形, 形式, 式主义, ...), and a word bigram spans two words. They are merged into the words
of the text: each feature's contribution is divided equally among its occurrences in the
text, and each occurrence's share among the words its characters (or, for a bigram, its two
words) fall into. Nothing is dropped, so the terms' contributions plus the intercept still
sum to the decision value. A sentence's contribution is the sum over the words inside it; the
sentences come from :func:`classifier.text.split_sentences` on the original text and are shown
as written there, not normalized.

Examples
--------
>>> import classifier
>>> from classifier.explain import explain, format_explanation
>>> e = explain(classifier.load(), "天天填表报数，还要拍照留痕。村里就两个人。")   # doctest: +SKIP
>>> e.label("formalism").up[:2]                                                    # doctest: +SKIP
[Term(text='留痕', contribution=0.61, count=1), Term(text='填表', contribution=0.48, count=1)]
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from classifier.text import normalize, split_paragraphs, split_sentences

#: A label counts as a near miss when its probability is at most this far below its threshold.
NEAR_MISS_MARGIN = 0.15


@dataclass
class Term:
    """A word of the text and its summed contribution to one label's decision value."""

    text: str
    contribution: float
    count: int


@dataclass
class Sentence:
    """A sentence of the original text, where it starts, and its contribution to one label."""

    text: str
    start: int
    contribution: float


@dataclass
class LabelExplanation:
    """Why one label was (or almost was) predicted: ``decision = intercept + sum of terms``."""

    code: str
    name: str
    predicted: bool
    probability: float
    threshold: float
    decision: float
    intercept: float
    up: list[Term]
    down: list[Term]
    evidence: list[Sentence]

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("code", "name", "predicted")}
        d.update({k: round(float(getattr(self, k)), 4)
                  for k in ("probability", "threshold", "decision", "intercept")})
        d["up"] = [{"term": t.text, "contribution": round(t.contribution, 4), "count": t.count} for t in self.up]
        d["down"] = [{"term": t.text, "contribution": round(t.contribution, 4), "count": t.count} for t in self.down]
        d["evidence"] = [{"sentence": s.text, "start": int(s.start), "contribution": round(s.contribution, 4)}
                         for s in self.evidence]
        return d


@dataclass
class Explanation:
    """Contributions of every feature, term and sentence of one text to every label.

    All ``*_contributions`` arrays have one column per label in ``model.labels`` order;
    ``intercept + feature_contributions.sum(0)`` and ``intercept + term_contributions.sum(0)``
    both equal ``decision`` (up to floating-point rounding). Sentence sums can fall short of it
    only when a sentence could not be located in the normalized text.
    """

    text: str
    labels: list[str]
    near_misses: list[str]
    codes: list[str]
    names: dict[str, str]
    intercept: np.ndarray
    decision: np.ndarray
    probability: np.ndarray
    thresholds: np.ndarray
    features: list[tuple[str, str]] = field(repr=False)
    feature_contributions: np.ndarray = field(repr=False)
    terms: list[str] = field(repr=False)
    term_counts: np.ndarray = field(repr=False)
    term_contributions: np.ndarray = field(repr=False)
    sentences: list[str] = field(repr=False)
    sentence_starts: list[int] = field(repr=False)
    sentence_contributions: np.ndarray = field(repr=False)

    def label(self, code: str, top: int = 5, evidence: int = 2) -> LabelExplanation:
        """The ``top`` terms pushing label ``code`` up and down, and its best ``evidence`` sentences."""
        j = self.codes.index(code)
        c = self.term_contributions[:, j]
        order = np.argsort(-c, kind="stable")
        up = [self._term(i, j) for i in order[:top] if c[i] > 0]
        down = [self._term(i, j) for i in order[::-1][:top] if c[i] < 0]
        s = self.sentence_contributions[:, j] if len(self.sentences) else np.zeros(0)
        best = [i for i in np.argsort(-s, kind="stable")[:evidence] if s[i] > 0]
        ev = [Sentence(self.sentences[i], self.sentence_starts[i], float(s[i])) for i in best]
        return LabelExplanation(code, self.names.get(code, code), bool(code in self.labels),
                                float(self.probability[j]), float(self.thresholds[j]),
                                float(self.decision[j]), float(self.intercept[j]), up, down, ev)

    def _term(self, i: int, j: int) -> Term:
        return Term(self.terms[i], float(self.term_contributions[i, j]), int(self.term_counts[i]))

    def to_dict(self, top: int = 5, evidence: int = 2) -> dict:
        """JSON-ready: predicted labels and near misses, each with its terms and evidence."""
        return {"text": self.text, "labels": self.labels, "near_misses": self.near_misses,
                "scores": {c: round(float(p), 4) for c, p in zip(self.codes, self.probability)},
                "explanations": [self.label(c, top, evidence).to_dict()
                                 for c in self.labels + self.near_misses]}


def explain(model, text: str, threshold: float | None = None,
            margin: float = NEAR_MISS_MARGIN) -> Explanation:
    """Explain the prediction of ``model`` for one ``text``.

    Parameters
    ----------
    model : Model
    text : str
    threshold : float or None
        One probability threshold for every label, as in :meth:`Model.predict`.
    margin : float
        Labels not predicted whose probability is within ``margin`` below their threshold
        (single-label models: below the winning label's probability) are near misses.
    """
    text = "" if text is None else str(text)
    norm_list, tokens_list = model.preprocess([text])
    norm, tokens = norm_list[0], tokens_list[0]
    rows, cols, vals = model.featurizer.transform_coo(norm_list, tokens_list)
    # float32 * float32 is exact in float64, so each share is the model's own product
    contrib = vals.astype(np.float64)[:, None] * model.coef[cols].astype(np.float64)
    decision = model._scores(rows, cols, vals, 1)[0]
    proba = model.proba_from_decision(decision[None, :])[0]
    labels = model.labels_from_proba(proba[None, :], threshold)[0] if text.strip() else []
    if threshold is not None:
        thresholds = np.full(len(model.labels), float(threshold))
    elif model.multilabel:
        thresholds = np.asarray(model.thresholds, np.float64)
    else:  # a single-label model picks the most probable label: that is the bar to reach
        thresholds = np.full(len(model.labels), float(proba.max()) if len(proba) else 1.0)
    near = [c for j, c in sorted(enumerate(model.labels), key=lambda jc: -proba[jc[0]])
            if c not in labels and text.strip() and thresholds[j] - margin <= proba[j] < thresholds[j]]

    units, unit_contrib = _attribute(model, norm, tokens, cols, contrib)
    terms, term_of = [], {}
    for start, end, word in units:
        if word not in term_of:
            term_of[word] = len(terms)
            terms.append(word)
    index = np.array([term_of[w] for _, _, w in units], np.int64)
    term_contrib = np.zeros((len(terms), len(model.labels)))
    np.add.at(term_contrib, index, unit_contrib)
    placed = np.array([start >= 0 for start, _, _ in units], bool)
    counts = np.bincount(index[placed], minlength=len(terms))
    sentences, starts, sent_contrib = _sentences(text, norm, model.traditional, units, unit_contrib,
                                         len(model.labels))
    return Explanation(text, labels, near, list(model.labels), dict(model.names),
                       np.asarray(model.intercept, np.float64), decision, proba, thresholds,
                       [model.featurizer.feature_name(c) for c in cols], contrib,
                       terms, counts, term_contrib, sentences, starts, sent_contrib)


def _attribute(model, norm: str, tokens: list[str], cols: np.ndarray, contrib: np.ndarray):
    """Spread each feature's contribution over the words of ``norm``.

    Returns the units (``(start, end, text)`` of each word occurrence; ``start = -1`` for a
    feature that could not be placed, which keeps its contribution under its own name) and
    their contributions, shape ``(n_units, n_labels)``.
    """
    featurizer = model.featurizer
    units: list[tuple[int, int, str]] = []
    unit_at = np.full(len(norm), -1, np.int64)
    pos = 0
    kept: list[int] = []  # unit of each token of ``tokens``, in order
    for piece in model.segmenter.cut(norm):
        start = pos if norm.startswith(piece, pos) else norm.find(piece, pos)
        if start < 0:
            continue
        pos = start + len(piece)
        # the model's tokens are these pieces, or (older models) a filtered subsequence of them
        # in which a dropped piece never equals the next kept token: greedy matching is exact
        matched = len(kept) < len(tokens) and piece == tokens[len(kept)]
        if not any(ch.isalnum() for ch in piece):  # punctuation and space carry no feature
            if matched:
                kept.append(-1)
            continue
        unit_at[start:pos] = len(units)
        if matched:
            kept.append(len(units))
        units.append((start, pos, piece))
    aligned = len(kept) == len(tokens)
    by_word: dict[str, list[int]] = {}
    for i, t in enumerate(tokens):
        by_word.setdefault(t, []).append(i)
    loose: dict[str, int] = {}

    def unplaced(name: str) -> int:
        if name not in loose:
            loose[name] = len(units)
            units.append((-1, -1, name))
        return loose[name]

    def unit_of_char(q: int) -> int:
        if unit_at[q] < 0:  # a content character jieba left outside every piece
            unit_at[q] = len(units)
            units.append((q, q + 1, norm[q]))
        return int(unit_at[q])

    targets, weights, feats = [], [], []
    n_words = len(featurizer.words_)
    for f, col in enumerate(cols.tolist()):
        kind, name = featurizer.feature_name(col)
        shares: list[tuple[int, float]] = []
        if kind == "chars":
            starts, q = [], norm.find(name)
            while q >= 0:
                starts.append(q)
                q = norm.find(name, q + 1)
            for s in starts:
                shares += [(unit_of_char(q), 1.0 / (len(starts) * len(name))) for q in range(s, s + len(name))]
        elif aligned and kind == "word":
            places = by_word.get(name, [])
            shares = [(kept[i], 1.0 / len(places)) for i in places]
        elif aligned:
            a, b = divmod(int(featurizer.bigram_keys_[col - n_words]), max(n_words, 1))
            a, b = str(featurizer.words_[a]), str(featurizer.words_[b])
            places = [i for i in by_word.get(a, []) if i + 1 < len(tokens) and tokens[i + 1] == b]
            shares = [(kept[i + d], 0.5 / len(places)) for i in places for d in (0, 1)]
        if not shares:
            shares = [(unplaced(name), 1.0)]
        for u, w in shares:
            targets.append(u)
            weights.append(w)
            feats.append(f)
    unit_contrib = np.zeros((len(units), contrib.shape[1]))
    if targets:
        np.add.at(unit_contrib, np.array(targets), np.array(weights)[:, None] * contrib[np.array(feats)])
    return units, unit_contrib


def _sentences(text: str, norm: str, traditional: bool, units, unit_contrib, n_labels: int):
    """Sentences of the original text and the summed contributions of the words in each."""
    sentences, starts, spans = [], [], []
    orig_pos = norm_pos = 0
    for s in split_sentences(text):
        start = text.find(s, orig_pos)
        orig_pos = start + len(s) if start >= 0 else orig_pos
        ns = normalize(s, traditional)
        at = norm.find(ns, norm_pos) if ns else -1
        if at >= 0:
            norm_pos = at + len(ns)
        sentences.append(s)
        starts.append(max(start, 0))
        spans.append((at, at + len(ns)) if at >= 0 else (-1, -1))
    out = np.zeros((len(sentences), n_labels))
    located = [i for i, (a, _) in enumerate(spans) if a >= 0]  # in text order, not overlapping
    if located and units:
        starts = np.array([spans[i][0] for i in located])
        ends = np.array([spans[i][1] for i in located])
        unit_start = np.array([u[0] for u in units])
        k = np.searchsorted(starts, unit_start, side="right") - 1
        inside = (unit_start >= 0) & (k >= 0) & (unit_start < ends[np.maximum(k, 0)])
        np.add.at(out, np.array(located)[k[inside]], unit_contrib[inside])
    return sentences, starts, out


# -- long documents --------------------------------------------------------------------------

@dataclass
class DocumentPrediction:
    """Labels of a document aggregated from its paragraphs, with the evidence for each label.

    ``scores`` holds each label's highest paragraph probability; ``evidence`` maps each
    document label to the paragraph that carries it most (``paragraph``, 0-based), that
    paragraph's probability, and its sentence contributing most to the label.
    """

    text: str
    labels: list[str]
    scores: dict[str, float]
    paragraphs: list  # of classifier.model.Prediction
    evidence: dict[str, dict]

    def to_dict(self) -> dict:
        return {"text": self.text, "labels": self.labels, "scores": self.scores,
                "evidence": self.evidence,
                "paragraphs": [dict(p.to_dict(), index=i) for i, p in enumerate(self.paragraphs)]}


def predict_paragraphs(model, text: str, threshold: float | None = None,
                       k: int | None = None) -> DocumentPrediction:
    """Tag each paragraph of a long ``text``, then the document, with the evidence for each label.

    A document label is one that some paragraph reaches (its score is the highest paragraph
    probability; a single-label model takes the best of those). Headings are tagged as the
    first line of the paragraph they head.

    Examples
    --------
    >>> import classifier
    >>> doc = predict_paragraphs(classifier.load(), open("article.txt").read())  # doctest: +SKIP
    >>> doc.labels, doc.evidence["formalism"]["sentence"]                          # doctest: +SKIP
    """
    paragraphs = split_paragraphs("" if text is None else str(text))
    if not paragraphs:
        return DocumentPrediction(text, [], {c: 0.0 for c in model.labels}, [], {})
    proba = model.predict_proba(paragraphs)
    para_labels = model.labels_from_proba(proba, threshold, k)
    from classifier.model import Prediction

    preds = [Prediction(p, labels, {c: round(float(s), 4) for c, s in zip(model.labels, row)})
             for p, labels, row in zip(paragraphs, para_labels, proba)]
    doc = proba.max(axis=0)
    labels = model.labels_from_proba(doc[None, :], threshold, k)[0]
    evidence = {}
    for code in labels:
        j = model.labels.index(code)
        i = int(np.argmax(proba[:, j]))
        best = explain(model, paragraphs[i], threshold).label(code, top=3, evidence=1)
        sentence = best.evidence[0].text if best.evidence else paragraphs[i]
        evidence[code] = {"paragraph": i, "probability": round(float(proba[i, j]), 4),
                          "sentence": sentence, "terms": [t.text for t in best.up]}
    return DocumentPrediction(text, labels, {c: round(float(s), 4) for c, s in zip(model.labels, doc)},
                              preds, evidence)


# -- text output --------------------------------------------------------------------------------

def _terms(terms: Sequence[Term]) -> str:
    # a share that rounds to ±0.000 is noise to a reader
    return "  ".join(f"{t.text} {t.contribution:+.3f}" + (f"×{t.count}" if t.count > 1 else "")
                     for t in terms if abs(t.contribution) >= 0.0005) or "-"


def format_explanation(e: Explanation, top: int = 5, evidence: int = 1, width: int = 80,
                       codes: Sequence[str] | None = None) -> str:
    """A plain-text account of an :class:`Explanation` (what ``jianfu explain`` prints).

    Shows the predicted labels and the near misses, or the labels ``codes`` (for instance the
    labels a prediction got wrong) when given.
    """
    head = e.text.replace("\n", " ")
    lines = [head[:width] + ("…" if len(head) > width else "") or "(empty text)"]

    def block(code: str, mark: str):
        x = e.label(code, top, evidence)
        lines.append(f"{mark} {x.name} {x.code}   probability {x.probability:.3f} "
                     f"(threshold {x.threshold:.2f})   decision {x.decision:+.3f} = "
                     f"intercept {x.intercept:+.3f} + terms {x.decision - x.intercept:+.3f}")
        lines.append(f"    up:   {_terms(x.up)}")
        lines.append(f"    down: {_terms(x.down)}")
        for s in x.evidence:
            shown = s.text if len(s.text) <= width else s.text[:width] + "…"
            lines.append(f"    evidence ({s.contribution:+.3f}): {shown}")

    if codes is not None:
        for code in codes:
            block(code, "✔" if code in e.labels else "✘")
        return "\n".join(lines)
    for code in e.labels:
        block(code, "✔")
    if not e.labels:
        lines.append("(no category)")
    if e.near_misses:
        lines.append("near misses:")
        for code in e.near_misses:
            block(code, "·")
    return "\n".join(lines)
