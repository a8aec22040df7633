"""Training a model from labeled files: check the data, fit with model selection, record how."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from classifier import config
from classifier.dataset import Example, check_examples, data_hash, read_all
from classifier.errors import DataError
from classifier.evaluate import scores
from classifier.model import Model
from classifier.taxonomy import Taxonomy


@dataclass
class TrainResult:
    model: Model
    cv_scores: dict
    n_rows: int
    seconds: float


def train_examples(examples: Sequence[Example], taxonomy: Taxonomy | None = None,
                   min_examples: int = config.MIN_EXAMPLES_PER_LABEL, sources: Sequence[str] = (),
                   group_column: str | None = None, group_by_source: bool = False, **params) -> TrainResult:
    """Check ``examples``, fit a :class:`~classifier.estimator.JianfuClassifier` and return its model.

    ``params`` go to the estimator (``loss``, ``C``, ``char_ngrams`` ...). With
    ``group_column`` (a field of every row, e.g. the batch or writer a text came from), the
    cross-validation behind model selection, thresholds and the reported scores never puts
    texts of one group on both sides; ``group_by_source`` puts rows without that field in one
    group per file they came from (newly labeled rows merged into a grouped corpus), where
    otherwise they are an error. The model's ``meta`` records the data hash and size, the
    cross-validated scores and the training time.
    """
    from classifier.estimator import JianfuClassifier

    start = time.perf_counter()
    known = taxonomy.codes if taxonomy is not None else None
    rows = check_examples(examples, known, min_examples)
    multilabel_data = any(len(ex.labels) != 1 for ex in rows)
    y = [ex.labels for ex in rows] if multilabel_data else [ex.labels[0] for ex in rows]
    names = taxonomy.names() if taxonomy is not None else None
    groups = None
    if group_column is not None:
        values = [ex.extra.get(group_column) for ex in rows]
        missing = [ex for ex, v in zip(rows, values) if v in (None, "")]
        if missing and not group_by_source:
            shown = ", ".join(ex.where for ex in missing[:10])
            raise DataError(f"{len(missing)} rows have no '{group_column}' (the --group-column): {shown}")
        groups = [f"file:{ex.source}" if v in (None, "") else str(v) for ex, v in zip(rows, values)]
    clf = JianfuClassifier(names=names, **params).fit([ex.text for ex in rows], y, groups=groups)
    model = clf.model_
    cv_true = [ex.labels for ex in rows]
    cv_pred = [[model.labels[j] for j in range(len(model.labels)) if clf.cv_predictions_[i, j]]
               for i in range(len(rows))]
    cv = scores(cv_true, cv_pred, model.labels, model.multilabel)
    seconds = time.perf_counter() - start
    model.meta.update({
        "training_data": {"sources": [str(s) for s in sources], "rows": len(rows),
                          "sha256": data_hash(rows)},
        "cv_scores": cv,
        "cv_groups": group_column,
        "training_seconds": round(seconds, 2),
    })
    return TrainResult(model, cv, len(rows), seconds)


def train(paths: Sequence[str | Path], text_column: str = "text",
          taxonomy: str | Path | Taxonomy | None = config.TAXONOMY_FILE, **kwargs) -> TrainResult:
    """Train on one or more labeled files (see :mod:`classifier.dataset` for the formats).

    Examples
    --------
    >>> result = train(["data/train.jsonl"])          # doctest: +SKIP
    >>> result.model.save("models/my-model")          # doctest: +SKIP
    """
    examples = read_all(paths, text_column)
    if taxonomy is not None and not isinstance(taxonomy, Taxonomy):
        taxonomy = Taxonomy.load(taxonomy)
    return train_examples(examples, taxonomy, sources=[str(p) for p in paths], **kwargs)
