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
from classifier.taxonomy import Category, Taxonomy

__all__ = ["retrain", "RetrainResult", "base_examples", "heldout_for", "merge", "Merged", "compare",
           "regressions", "format_comparison", "format_regressions", "format_merge", "DEFAULT_HOLDOUT"]

#: Share of the new rows (per label set) kept out of training to compare the models on.
DEFAULT_HOLDOUT = 0.2


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


# -- merging --------------------------------------------------------------------------------------
@dataclass
class Merged:
    """Rows to train on and to hold out, and what merging left out and why.

    Pairs are ``(new row, the row it was matched with)``; near-duplicate pairs add the Jaccard
    overlap of their character 8-grams (:func:`classifier.corpus.near_duplicate_pairs`).
    """

    train: list[Example] = field(default_factory=list)
    holdout: list[Example] = field(default_factory=list)
    on_conflict: str = "new"
    exact_duplicates: list[tuple[Example, Example]] = field(default_factory=list)
    near_duplicates: list[tuple[Example, Example, float]] = field(default_factory=list)
    conflicts: list[tuple[Example, Example]] = field(default_factory=list)
    near_conflicts: list[tuple[Example, Example, float]] = field(default_factory=list)
    leaks: list[tuple[Example, Example, float]] = field(default_factory=list)
    dropped_base: list[Example] = field(default_factory=list)
    n_new_train: int = 0

    def dropped_rows(self) -> list[Example]:
        """Every row read from a file that is not in :attr:`train`."""
        losers = [n for n, _ in self.conflicts] if self.on_conflict == "base" else []
        return ([n for n, _ in self.exact_duplicates] + [n for n, _, _ in self.near_duplicates]
                + [n for n, _, _ in self.leaks] + self.holdout + self.dropped_base + losers)

    def counts(self) -> dict:
        return {"train": len(self.train), "base_used": len(self.train) - self.n_new_train,
                "new_train": self.n_new_train, "holdout": len(self.holdout),
                "exact_duplicates": len(self.exact_duplicates), "near_duplicates": len(self.near_duplicates),
                "conflicts": len(self.conflicts), "near_conflicts": len(self.near_conflicts),
                "leaks": len(self.leaks), "base_replaced": len(self.dropped_base)}


def key(text: str) -> str:
    """What makes two texts exact duplicates: the same after normalization, ignoring whitespace."""
    from classifier.text import normalize

    return "".join(normalize(text).split())


def _same(a: Example, b: Example) -> bool:
    return sorted(a.labels) == sorted(b.labels)


def _split(rows: list[Example], holdout: float, random_state: int) -> set[int]:
    """Indices to hold out: ``holdout`` of each label set (at random), never its only row."""
    import numpy as np

    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, ex in enumerate(rows):
        groups[tuple(sorted(ex.labels))].append(i)
    rng = np.random.default_rng(random_state)
    held: set[int] = set()
    for g in sorted(groups):
        idx = groups[g]
        k = min(int(len(idx) * holdout + 0.5), len(idx) - 1)
        held.update(int(i) for i in rng.permutation(idx)[:k])
    return held


def merge(base_rows: Sequence[Example], new_rows: Sequence[Example], eval_rows: Sequence[Example] = (),
          holdout: float = DEFAULT_HOLDOUT, on_conflict: str = "new", random_state: int = 0) -> Merged:
    """Merge new rows into base rows: duplicates out, conflicts resolved, part of the new held out.

    - exact duplicates (same text after :func:`key`) of a base row or an earlier new row with the
      same labels are left out; with different labels they are conflicts, resolved by
      ``on_conflict`` (``"new"``: the new labels replace the base row, ``"base"``: the new row is
      left out, ``"error"``: :class:`DataError` listing them);
    - near duplicates with the same labels are left out; with different labels both are kept
      and reported in :attr:`Merged.near_conflicts` for review;
    - new rows near a text of ``eval_rows`` (the test split) are left out, so the comparison is
      not flattered by texts the candidate has as good as seen;
    - of the rest, ``holdout`` of each label set is held out for the comparison.

    Base rows stay in their order, followed by the new training rows in theirs.
    """
    from classifier.corpus import near_duplicate_pairs

    if on_conflict not in ("new", "base", "error"):
        raise DataError(f"on_conflict must be 'new', 'base' or 'error', not {on_conflict!r}")
    m = Merged(on_conflict=on_conflict)
    base_by_key: dict[str, list[Example]] = defaultdict(list)
    for ex in base_rows:
        base_by_key[key(ex.text)].append(ex)
    kept: list[Example] = []
    seen: dict[str, Example] = {}
    replaced: set[int] = set()
    for ex in new_rows:
        k = key(ex.text)
        olds = base_by_key.get(k, [])
        if k in seen or (olds and all(_same(ex, o) for o in olds)):
            m.exact_duplicates.append((ex, seen.get(k) or olds[0]))
            continue
        if olds:
            m.conflicts.append((ex, next(o for o in olds if not _same(ex, o))))
            if on_conflict == "base":
                continue
            replaced.update(id(o) for o in olds)
        seen[k] = ex
        kept.append(ex)
    if on_conflict == "error" and m.conflicts:
        detail = "; ".join(f"{n.where} {sorted(n.labels)} vs {o.where} {sorted(o.labels)}" for n, o in m.conflicts[:10])
        raise DataError(f"{len(m.conflicts)} new rows repeat a base text with other labels: {detail}. "
                        f"Fix the labels, or choose which to keep with --on-conflict new|base")
    base = [ex for ex in base_rows if id(ex) not in replaced]
    m.dropped_base = [ex for ex in base_rows if id(ex) in replaced]

    drop: set[int] = set()
    near_base: dict[int, list[tuple[int, float]]] = defaultdict(list)
    if kept and base:
        for i, j, jac in near_duplicate_pairs([ex.text for ex in kept], [ex.text for ex in base]):
            near_base[i].append((j, jac))
    for i, pairs in sorted(near_base.items()):
        same = [(j, jac) for j, jac in pairs if _same(kept[i], base[j])]
        j, jac = max(same or pairs, key=lambda p: p[1])
        if same:
            m.near_duplicates.append((kept[i], base[j], jac))
            drop.add(i)
        else:
            m.near_conflicts.append((kept[i], base[j], jac))
    for i, j, jac in sorted(near_duplicate_pairs([ex.text for ex in kept])) if kept else []:
        if i in drop or j in drop:
            continue
        if _same(kept[i], kept[j]):
            m.near_duplicates.append((kept[j], kept[i], jac))
            drop.add(j)
        else:
            m.near_conflicts.append((kept[j], kept[i], jac))
    rest = [ex for i, ex in enumerate(kept) if i not in drop]

    if rest and eval_rows:
        leaks: dict[int, tuple[int, float]] = {}
        for i, j, jac in near_duplicate_pairs([ex.text for ex in rest], [ex.text for ex in eval_rows]):
            if i not in leaks or jac > leaks[i][1]:
                leaks[i] = (j, jac)
        m.leaks = [(rest[i], eval_rows[j], jac) for i, (j, jac) in sorted(leaks.items())]
        rest = [ex for i, ex in enumerate(rest) if i not in leaks]

    held = _split(rest, holdout, random_state) if holdout > 0 else set()
    m.holdout = [ex for i, ex in enumerate(rest) if i in held]
    new_train = [ex for i, ex in enumerate(rest) if i not in held]
    m.train = base + new_train
    m.n_new_train = len(new_train)
    return m


# -- finding data ----------------------------------------------------------------------------------
def _find(path: str) -> Path | None:
    """A recorded data path as it resolves now: as written, else relative to the source checkout."""
    for p in (Path(path), config.DATA_DIR.parent / path):
        if p.is_file():
            return p
    return None


def _describe(file: Path, text_column: str, **extra) -> dict:
    from classifier.persist import describe_file

    return describe_file(file, text_column=text_column, **extra)


def _read_recorded(src: dict | str, what: str, notes: list[str], text_column: str) -> tuple[Path | None, list[Example]]:
    """Rows of a recorded source (``{"path", "sha256", ...}`` or a bare path from jianfu 0.1.0)."""
    from classifier.persist import sha256

    src = {"path": src} if isinstance(src, str) else src
    file = _find(src["path"])
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
    test_file = _find(test) if test else None
    test_file = test_file or (config.TEST_FILE if config.TEST_FILE.is_file() else None)
    rows = read_examples(test_file) if test_file else []
    parts = [f"{len(rows)} from {test_file}"] if rows else []
    for src in record.get("new", []):
        file = _find(src["path"])
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
            overwrite: bool = False, **params) -> RetrainResult:
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
    params : estimator parameters overriding the base model's (``loss``, ``C``, ``cv`` ...).
    """
    import time

    from classifier import registry
    from classifier.persist import load_model, read_meta
    from classifier.training import train_examples

    if not 0 <= holdout < 1:
        raise DataError(f"--holdout must be at least 0 and below 1, not {holdout}")
    start = time.perf_counter()
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
    result = train_examples(merged.train, tax, min_examples, **_estimator_params(base_model.meta, params))
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
        out.path = _save(model, Path(output), overwrite)
    return out


def _brief(s: dict) -> dict:
    return {"micro_f1": s["micro_f1"], "macro_f1": s["macro_f1"],
            "per_label_f1": {c: m["f1"] for c, m in s["per_label"].items()}}


def _save(model, output: Path, overwrite: bool) -> Path:
    from classifier import registry

    root = config.models_dir()
    if output.resolve().parent == root.resolve() and output.name == registry.current_name(root):
        raise DataError(f"{output} is the current model; models in the registry are never changed in "
                        f"place (running processes and rollback rely on it): choose another name")
    return model.save(output, overwrite=overwrite)


def default_name(root: Path | None = None) -> str:
    """A free registry name for a retrained model: ``retrained-YYYYmmdd-HHMMSS`` (local time),
    with ``-2``, ``-3`` ... when that second is taken."""
    root = root or config.models_dir()
    stamp = datetime.now().strftime("retrained-%Y%m%d-%H%M%S")
    name, n = stamp, 2
    while (root / name).exists():
        name, n = f"{stamp}-{n}", n + 1
    return name


def format_merge(merged: Merged, limit: int = 10) -> str:
    """What merging did: rows kept, duplicates removed, conflicts (all listed up to ``limit``)."""
    c = merged.counts()
    lines = [f"training rows {c['train']} (base {c['base_used']}, new {c['new_train']}); "
             f"new rows held out {c['holdout']}; removed: {c['exact_duplicates']} exact duplicates, "
             f"{c['near_duplicates']} near duplicates, {c['leaks']} near a test text"]

    def clip(t: str) -> str:
        t = t.replace("\n", " ")
        return t[:40] + ("…" if len(t) > 40 else "")

    if merged.conflicts:
        lines.append(f"conflicting labels for the same text ({len(merged.conflicts)}; kept: {merged.on_conflict}):")
        lines += [f"  {n.where} {sorted(n.labels)} vs {o.where} {sorted(o.labels)}  {clip(n.text)}"
                  for n, o in merged.conflicts[:limit]]
    if merged.near_conflicts:
        lines.append(f"near duplicates with different labels, both kept ({len(merged.near_conflicts)}); review them:")
        lines += [f"  {n.where} {sorted(n.labels)} vs {o.where} {sorted(o.labels)}  (overlap {j:.2f})  {clip(n.text)}"
                  for n, o, j in merged.near_conflicts[:limit]]
    return "\n".join(lines)
