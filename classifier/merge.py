"""Merging newly labeled rows into a model's training data: duplicates, conflicts, held-out rows.

Used by :func:`classifier.retrain.retrain`; kept apart because the rules are worth reading on
their own. Exact duplicates are texts equal after :func:`classifier.text.normalize` (ignoring
whitespace); near duplicates are found by :func:`classifier.corpus.near_duplicate_pairs`.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Sequence

from classifier.dataset import Example
from classifier.errors import DataError

#: Share of the new rows (per label set) kept out of training to compare the models on.
DEFAULT_HOLDOUT = 0.2


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
