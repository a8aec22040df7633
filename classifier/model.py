"""The trained classifier as it runs: normalize → segment → features → linear scores → labels.

:class:`Model` holds only plain arrays (vocabulary, IDF, one weight row per label, intercepts,
calibration and thresholds), so loading and predicting need NumPy and the segmenter, not
scikit-learn. Training produces it through :class:`classifier.estimator.JianfuClassifier`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from classifier.features import Featurizer
from classifier.segment import Segmenter
from classifier.text import normalize_many


@dataclass
class Prediction:
    """Labels and per-label probabilities of one text."""

    text: str
    labels: list[str]
    scores: dict[str, float]

    def to_dict(self) -> dict:
        return {"text": self.text, "labels": self.labels, "scores": self.scores}


def preprocess(texts: Sequence[str], segmenter: Segmenter, traditional: bool = True
               ) -> tuple[list[str], list[list[str]]]:
    """Normalized texts and their raw segmenter tokens: what training and prediction both see."""
    norm = normalize_many(texts, traditional)
    cut = segmenter.cut
    return norm, [cut(t) for t in norm]


@dataclass
class Model:
    """A fitted linear text classifier.

    Attributes
    ----------
    labels : list of str
        Label codes, in the column order of every score array.
    coef : ndarray of shape (n_features, n_labels)
    intercept, calib_a, calib_b, thresholds : ndarray of shape (n_labels,)
        Decision value ``s = x @ coef + intercept``; probability ``sigmoid(a * s + b)`` (for a
        single-label model normalized over labels); a label is predicted when its probability
        reaches its threshold (single-label: the most probable label).
    multilabel : bool
    names : dict
        Human-readable name of each label code (Chinese names from the taxonomy).
    meta : dict
        Everything ``meta.json`` records about how the model was made.
    """

    labels: list[str]
    featurizer: Featurizer
    segmenter: Segmenter
    coef: np.ndarray
    intercept: np.ndarray
    calib_a: np.ndarray
    calib_b: np.ndarray
    thresholds: np.ndarray
    multilabel: bool = True
    traditional: bool = True
    names: dict[str, str] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    # -- the pipeline ----------------------------------------------------------------------
    def preprocess(self, texts: Sequence[str]) -> tuple[list[str], list[list[str]]]:
        """Normalized texts and their raw tokens: the one place text enters the model.

        Stopwords and punctuation stay in the token lists; they have no feature, so the
        featurizer treats them as gaps.
        """
        return preprocess(texts, self.segmenter, self.traditional)

    def warm_up(self) -> "Model":
        """Load everything a batch needs now — the segmenter's dictionary, the character
        conversion tables, the featurizer's lookup structures — e.g. before forking worker
        processes, which then share them instead of each building its own."""
        self.decision_function(["基層ＡＰＰ打卡"] * self.SPARSE_SCORING_MIN_TEXTS)
        self.featurizer.warm_up()
        return self

    def features(self, texts: Sequence[str]):
        """TF-IDF matrix (scipy CSR) of raw texts, for users who want the vectors."""
        return self.featurizer.transform(*self.preprocess(texts))

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """Linear decision values, shape ``(n_texts, n_labels)``."""
        texts = _as_list(texts)
        rows, cols, vals = self.featurizer.transform_coo(*self.preprocess(texts))
        return self._scores(rows, cols, vals, len(texts))

    #: From this many texts on, scores are a SciPy sparse product (about 3x faster than the
    #: NumPy gather below, which needs no SciPy import and serves single predictions).
    SPARSE_SCORING_MIN_TEXTS = 64

    def _scores(self, rows, cols, vals, n) -> np.ndarray:
        out = np.zeros((n, len(self.labels)), np.float64)
        if len(rows) and n >= self.SPARSE_SCORING_MIN_TEXTS:
            from scipy import sparse

            indptr = np.zeros(n + 1, np.int64)
            np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
            X = sparse.csr_matrix((vals, cols, indptr), shape=(n, self.coef.shape[0]))
            return np.asarray(X @ self.coef, dtype=np.float64) + self.intercept
        if len(rows):
            contrib = self.coef[cols] * vals[:, None]
            counts = np.bincount(rows, minlength=n)
            present = counts > 0
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[present]
            out[present] = np.add.reduceat(contrib, starts, axis=0)
        return out + self.intercept

    def proba_from_decision(self, decision: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-(decision * self.calib_a + self.calib_b)))
        if not self.multilabel:
            p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
        return p

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of each label, shape ``(n_texts, n_labels)``."""
        return self.proba_from_decision(self.decision_function(texts))

    def labels_from_proba(self, proba: np.ndarray, threshold: float | None = None,
                          k: int | None = None) -> list[list[str]]:
        """Label lists from probabilities; ``threshold`` overrides the per-label ones, ``k`` caps."""
        if len(proba) == 0:
            return []
        order = np.argsort(-proba, axis=1, kind="stable")
        if self.multilabel or threshold is not None:
            th = self.thresholds if threshold is None else np.full(proba.shape[1], threshold)
            keep = np.take_along_axis(proba >= th, order, axis=1)
        else:
            keep = np.zeros(proba.shape, bool)
            keep[:, 0] = True
        if k is not None:
            keep[:, k:] = False
        labels = self.labels
        return [[labels[i] for i, ok in zip(o, kp) if ok] for o, kp in zip(order.tolist(), keep.tolist())]

    def predict(self, texts: str | Sequence[str], threshold: float | None = None,
                k: int | None = None) -> list[Prediction]:
        """Labels and scores of one text or many.

        Empty or whitespace-only texts get no labels (a single-label model gives them none too).

        Examples
        --------
        >>> from classifier import load
        >>> load().predict("天天填表报数，还要拍照留痕")[0].labels
        ['formalism']
        """
        texts = _as_list(texts)
        proba = self.predict_proba(texts)
        label_lists = self.labels_from_proba(proba, threshold, k)
        preds = []
        for text, p, labels in zip(texts, proba, label_lists):
            if not text or not text.strip():
                labels = []
            preds.append(Prediction(text, labels, {c: round(float(s), 4) for c, s in zip(self.labels, p)}))
        return preds

    def name(self, code: str) -> str:
        return self.names.get(code, code)

    # -- persistence ---------------------------------------------------------------------------
    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the model to directory ``path`` (see :mod:`classifier.persist`)."""
        from classifier.persist import save_model

        return save_model(self, path, overwrite=overwrite)


def _as_list(texts: str | Iterable[str]) -> list[str]:
    if isinstance(texts, str):
        return [texts]
    return ["" if t is None else str(t) for t in texts]
