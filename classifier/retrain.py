"""Retraining: a candidate model from a base model's training data plus newly labeled rows.

:func:`retrain` finds the rows the base model was trained on (its ``meta.json`` records each
source file with its SHA-256 and the lines left out), merges the new rows into them, removes
exact and near duplicates, reports conflicting labels, holds out part of the new rows, trains a
candidate with the base model's parameters, and compares candidate and base on the same
held-out data (the project's test split plus the held-out new rows). The candidate's
``meta.json`` records all of it, so that :func:`classifier.registry.promote` can repeat the
comparison against whichever model is current at promotion time and a later retrain can start
from the candidate exactly.

Examples
--------
>>> from classifier.retrain import retrain, format_comparison
>>> result = retrain(["new.jsonl"], base="default", taxonomy="taxonomy5.json")   # doctest: +SKIP
>>> print(format_comparison(result.comparison))                                 # doctest: +SKIP
"""
from __future__ import annotations

import inspect
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Sequence

from classifier import config
from classifier.comparison import compare, format_comparison, format_regressions, regressions
from classifier.dataset import Example, check_examples, data_hash, read_all, read_examples
from classifier.errors import DataError
from classifier.merge import DEFAULT_HOLDOUT, Merged, format_merge, merge
from classifier.taxonomy import Category, Taxonomy

__all__ = ["retrain", "RetrainResult", "base_examples", "heldout_for", "merge", "Merged", "compare",
           "regressions", "format_comparison", "format_regressions", "format_merge", "DEFAULT_HOLDOUT"]

@dataclass
class RetrainResult:
    """What :func:`retrain` made: the candidate, how its data was merged, and the comparison."""

    model: object
    base: str
    merged: Merged
    comparison: dict | None
    n_rows: int
    seconds: float
    path: Path | None = None
    notes: list[str] = field(default_factory=list)


# -- finding data ----------------------------------------------------------------------------------
def _find(path: str, sha: str | None = None) -> Path | None:
    """A recorded data file as it resolves now: as written, else relative to the source checkout,
    else the file of that name in the project's data directory if its SHA-256 is the recorded one
    (a shipped model's data, recorded on the machine that trained it, found in an install)."""
    from classifier.persist import sha256

    for p in (Path(path), config.DATA_DIR.parent / path):
        if p.is_file():
            return p
    moved = config.DATA_DIR / Path(path).name
    return moved if sha and moved.is_file() and sha256(moved) == sha else None


def _describe(file: Path, text_column: str, **extra) -> dict:
    from classifier.persist import describe_file

    return describe_file(file, text_column=text_column, **extra)


def _read_recorded(src: dict | str, what: str, notes: list[str], text_column: str) -> tuple[Path | None, list[Example]]:
    """Rows of a recorded source (``{"path", "sha256", ...}`` or a bare path from jianfu 0.1.0)."""
    from classifier.persist import sha256

    src = {"path": src} if isinstance(src, str) else src
    file = _find(src["path"], src.get("sha256"))
    if file is None:
        return None, []
    if src.get("sha256") and sha256(file) != src["sha256"]:
        notes.append(f"{file} has changed since {what} (its SHA-256 differs); using its current content")
    return file, read_examples(file, src.get("text_column", text_column))


def base_examples(meta: dict, base_data: Sequence[str | Path] | None = None,
                  text_column: str = "text") -> tuple[list[Example], list[dict], list[str]]:
    """The rows a model was trained on, from its ``meta.json``.

    Returns ``(rows, sources, notes)``: the rows in training order, a description of each source
    file (path, SHA-256, size) and notes about files that changed since. ``base_data`` replaces
    the recorded files (for a model whose data has moved). Raises :class:`DataError` when a
    recorded file cannot be found.
    """
    notes: list[str] = []
    record = meta.get("training_data") or {}
    if base_data:
        rows = read_all(base_data, text_column)
        sources = [_describe(Path(p), text_column) for p in base_data]
    else:
        recorded = record.get("sources") or []
        if not recorded:
            raise DataError("the base model does not record the files it was trained on; "
                            "give them with --base-data FILE")
        rows, sources = [], []
        for src in recorded:
            file, found = _read_recorded(src, "the base model was trained", notes, text_column)
            if file is None:
                path = src if isinstance(src, str) else src["path"]
                raise DataError(f"the base model's training file {path} is not found; give its "
                                f"training data with --base-data FILE")
            skip = sorted(src.get("excluded_lines", [])) if isinstance(src, dict) else []
            rows.extend(ex for ex in found if ex.line not in set(skip))
            # lines the base left out stay out of every model retrained from it
            sources.append(_describe(file, text_column, excluded_lines=skip))
    rows = [ex for ex in rows if ex.text.strip()]
    if not base_data and record.get("sha256") and data_hash(rows) != record["sha256"] and not notes:
        notes.append(f"the base model's training rows cannot be rebuilt exactly ({len(rows)} rows now, "
                     f"{record.get('rows')} recorded); merging the rows as they are now")
    return rows, sources, notes


def heldout_for(meta: dict) -> tuple[list[Example], str]:
    """Held-out rows to compare a model on, and a one-line description of them.

    The test file recorded in ``meta["holdout"]`` (else the project's ``data/test.jsonl``) plus
    the new rows the model held out when it was retrained. A held-out file that changed since is
    skipped with a warning, because its line numbers may no longer point at the same rows.
    """
    from classifier.persist import sha256

    record = meta.get("holdout") or {}
    test = (record.get("test") or {}).get("path")
    test_file = _find(test, record["test"].get("sha256")) if test else None
    test_file = test_file or (config.TEST_FILE if config.TEST_FILE.is_file() else None)
    rows = read_examples(test_file) if test_file else []
    parts = [f"{len(rows)} from {test_file}"] if rows else []
    for src in record.get("new", []):
        file = _find(src["path"], src.get("sha256"))
        if file is None or (src.get("sha256") and sha256(file) != src["sha256"]):
            warnings.warn(f"held-out rows of {src['path']} left out of the comparison: the file is "
                          f"{'missing' if file is None else 'changed'} since the model was trained", stacklevel=2)
            continue
        lines = set(src.get("lines", []))
        picked = [ex for ex in read_examples(file, src.get("text_column", "text")) if ex.line in lines]
        rows.extend(picked)
        parts.append(f"{len(picked)} held out from {file}")
    return [ex for ex in rows if ex.text.strip()], ", ".join(parts)


# -- retraining ------------------------------------------------------------------------------------
def _estimator_params(meta: dict, overrides: dict) -> dict:
    from classifier.estimator import JianfuClassifier

    allowed = set(inspect.signature(JianfuClassifier.__init__).parameters) - {"self", "segmenter", "labels", "names"}
    params = {k: v for k, v in (meta.get("params") or {}).items() if k in allowed}
    params.update({k: v for k, v in overrides.items() if v is not None})
    if isinstance(params.get("char_ngrams"), list):
        params["char_ngrams"] = tuple(params["char_ngrams"])
    return params


def _taxonomy(taxonomy, base_model) -> Taxonomy:
    if taxonomy is None:
        return Taxonomy([Category(c, base_model.name(c)) for c in base_model.labels])
    return taxonomy if isinstance(taxonomy, Taxonomy) else Taxonomy.load(taxonomy)


def _check_holdout_left_enough(merged: Merged, min_examples: int) -> None:
    from collections import Counter

    train = Counter(l for ex in merged.train for l in ex.labels)
    held = Counter(l for ex in merged.holdout for l in ex.labels)
    short = {c: n for c, n in train.items() if n < min_examples and held[c]}
    if short:
        detail = ", ".join(f"'{c}' ({n + held[c]} rows, {held[c]} held out, {n} left)" for c, n in sorted(short.items()))
        raise DataError(f"holding out new rows leaves too few training examples (at least {min_examples} "
                        f"needed): {detail}. Add examples, or lower --holdout")


def _source_records(sources: list[dict], merged: Merged) -> list[dict]:
    """Each source with the rows it gave the candidate and the lines it did not."""
    excluded: dict[str, set[int]] = defaultdict(set)
    for ex in merged.dropped_rows():
        excluded[str(Path(ex.source).resolve())].add(ex.line)
    used: dict[str, int] = defaultdict(int)
    for ex in merged.train:
        used[str(Path(ex.source).resolve())] += 1
    return [{**s, "rows": used[s["path"]], "excluded_lines": sorted(excluded[s["path"]] | set(s.get("excluded_lines", [])))}
            for s in sources]


def retrain(new_paths: Sequence[str | Path], base: str | Path | None = None,
            taxonomy: str | Path | Taxonomy | None = None, holdout: float = DEFAULT_HOLDOUT,
            test_path: str | Path | None = config.TEST_FILE, on_conflict: str = "new",
            base_data: Sequence[str | Path] | None = None, text_column: str = "text",
            min_examples: int = config.MIN_EXAMPLES_PER_LABEL, output: str | Path | None = None,
            overwrite: bool = False, group_column: str | None = None, inherit_groups: bool = True,
            **params) -> RetrainResult:
    """Train a candidate on the base model's data plus ``new_paths`` and compare it with the base.

    Parameters
    ----------
    new_paths : newly labeled files (.jsonl, .csv, .tsv, .xlsx).
    base : the base model (directory or registry name; ``None``: the current model).
    taxonomy : label codes and names; default: the base model's labels. Give a taxonomy file to
        add a category.
    holdout : share of the new rows held out from training for the comparison.
    test_path : the test split both models are scored on (``None``: held-out new rows only).
    on_conflict : the same text labeled differently in the new and the base data: ``"new"``
        keeps the new labels (a correction), ``"base"`` the old ones, ``"error"`` refuses.
    base_data : files that replace the base model's recorded training files.
    output : save the candidate to this directory (refused if it is the current model).
    group_column : the field naming each row's source for cross-validation (see
        :func:`~classifier.training.train_examples`); ``None`` with ``inherit_groups`` uses the
        base model's, so a candidate's thresholds are chosen the way the base model's were. Rows
        without it (typically the new ones) form one group per file.
    params : estimator parameters overriding the base model's (``loss``, ``C``, ``cv`` ...).
    """
    import time

    from classifier import registry
    from classifier.persist import load_model, read_meta
    from classifier.training import train_examples

    if not 0 <= holdout < 1:
        raise DataError(f"--holdout must be at least 0 and below 1, not {holdout}")
    start = time.perf_counter()
    if output is not None:
        _check_output(Path(output), overwrite)  # before training, which can take minutes
    base_path = registry.resolve(base)
    base_model = load_model(base_path)
    tax = _taxonomy(taxonomy, base_model)
    base_rows, base_sources, notes = base_examples(base_model.meta, base_data, text_column)
    new_rows = read_all(new_paths, text_column)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        new_rows = check_examples(new_rows, tax.codes, min_examples=1)  # file:line errors come from here
    notes.extend(str(w.message) for w in caught)
    test_file = Path(test_path) if test_path else None
    eval_rows = [ex for ex in read_examples(test_file) if ex.text.strip()] if test_file and test_file.is_file() else []
    merged = merge(base_rows, new_rows, eval_rows, holdout, on_conflict,
                   params.get("random_state") or config.RANDOM_STATE)
    _check_holdout_left_enough(merged, min_examples)
    if group_column is None and inherit_groups:
        group_column = base_model.meta.get("cv_groups")
    result = train_examples(merged.train, tax, min_examples, group_column=group_column,
                            group_by_source=True, **_estimator_params(base_model.meta, params))
    model = result.model

    base_name = Path(base_path).name
    held = eval_rows + merged.holdout
    comparison = compare(base_model, model, held, current_name=base_name, candidate_name="candidate") if held else None
    new_sources = [_describe(Path(p), text_column) for p in new_paths]
    model.meta["training_data"] = {"sources": _source_records(base_sources + new_sources, merged),
                                   "rows": len(merged.train), "sha256": data_hash(merged.train)}
    held_lines: dict[str, list[int]] = defaultdict(list)
    for ex in merged.holdout:
        held_lines[str(Path(ex.source).resolve())].append(ex.line)
    model.meta["holdout"] = {
        "test": _describe(test_file, "text", rows=len(eval_rows)) if eval_rows else None,
        "new": [{**s, "lines": sorted(held_lines[s["path"]])} for s in new_sources if held_lines[s["path"]]],
        "rows": len(held)}
    base_meta = read_meta(base_path)
    model.meta["retrain"] = {"base": base_name, "base_path": str(Path(base_path).resolve()),
                             "base_arrays_sha256": (base_meta.get("files") or {}).get("arrays.npz"),
                             "holdout": holdout, "on_conflict": on_conflict, "report": merged.counts()}
    if comparison:
        model.meta["heldout_scores"] = comparison["candidate"]
        model.meta["comparison"] = {"against": base_name, "n": comparison["n"],
                                    "current": _brief(comparison["current"]), "candidate": _brief(comparison["candidate"]),
                                    "changed": len(comparison["changed"]),
                                    "regressions": regressions(comparison, registry.DEFAULT_TOLERANCE)}
    out = RetrainResult(model, base_name, merged, comparison, result.n_rows, time.perf_counter() - start,
                        notes=notes)
    if output is not None:
        out.path = model.save(output, overwrite=overwrite)
    return out


def _brief(s: dict) -> dict:
    return {"micro_f1": s["micro_f1"], "macro_f1": s["macro_f1"],
            "per_label_f1": {c: m["f1"] for c, m in s["per_label"].items()}}


def _check_output(output: Path, overwrite: bool) -> None:
    from classifier import registry
    from classifier.errors import ModelFileError

    root = config.models_dir()
    if output.resolve().parent == root.resolve() and output.name == registry.current_name(root):
        raise ModelFileError(f"{output} is the current model; models in the registry are never changed in "
                             f"place (running processes and rollback rely on it): choose another name")
    if output.exists() and not overwrite:
        raise ModelFileError(f"{output} already exists; choose another name, or overwrite it with --force")


def default_name(root: Path | None = None) -> str:
    """A free registry name for a retrained model: ``retrained-YYYYmmdd-HHMMSS`` (local time),
    with ``-2``, ``-3`` ... when that second is taken."""
    root = root or config.models_dir()
    stamp = datetime.now().strftime("retrained-%Y%m%d-%H%M%S")
    name, n = stamp, 2
    while (root / name).exists():
        name, n = f"{stamp}-{n}", n + 1
    return name
