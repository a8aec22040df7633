"""Reading labeled data for training and evaluation, and checking it before it is used.

Accepted files: ``.jsonl`` with a ``labels`` list (or a ``label`` string); ``.csv``/``.tsv``/
``.xlsx`` with a ``labels`` column (codes joined by ``;``) or a single ``label`` column. Every
problem is reported with its file and line so it can be fixed there.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from classifier.errors import DataError

LABEL_SEPARATORS = (";", "；", "|", ",")


@dataclass
class Example:
    """One labeled text and where it came from."""

    text: str
    labels: list[str]
    id: str | None = None
    source: str = ""
    line: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.source else f"row {self.line}"


def _split_labels(value) -> list[str]:
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    s = str(value).strip()
    if not s or s in ("[]", "none", "无"):
        return []
    if s.startswith("["):
        try:
            return _split_labels(json.loads(s))
        except json.JSONDecodeError:
            pass
    for sep in LABEL_SEPARATORS:
        if sep in s:
            return [p.strip() for p in s.split(sep) if p.strip()]
    return [s]


def _from_record(rec: dict, source: str, line: int, text_column: str) -> Example:
    if text_column not in rec:
        raise DataError(f"{source}:{line}: no '{text_column}' field (found: {', '.join(map(str, rec)) or 'none'}); "
                        f"name the text column with --text-column")
    if "labels" in rec:
        labels = _split_labels(rec["labels"])
    elif "label" in rec:
        labels = _split_labels(rec["label"])
    else:
        raise DataError(f"{source}:{line}: no 'labels' or 'label' field (found: {', '.join(map(str, rec))})")
    text = rec[text_column]
    text = "" if text is None or (isinstance(text, float) and text != text) else str(text)
    extra = {k: v for k, v in rec.items() if k not in (text_column, "labels", "label", "id")}
    rid = rec.get("id")
    return Example(text, labels, None if rid is None else str(rid), source, line, extra)


def read_examples(path: str | Path, text_column: str = "text") -> list[Example]:
    """Read one labeled data file (jsonl, csv, tsv or xlsx)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        out = []
        with open(path, encoding="utf-8-sig") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    raise DataError(f"{path}:{n}: not valid JSON ({e.msg}); fix or remove the line") from None
                if not isinstance(rec, dict):
                    raise DataError(f"{path}:{n}: expected a JSON object per line")
                out.append(_from_record(rec, str(path), n, text_column))
        return out
    if suffix in (".csv", ".tsv", ".xlsx", ".xls"):
        import pandas as pd

        try:
            if suffix == ".xlsx" or suffix == ".xls":
                df = pd.read_excel(path, dtype=object)
                first_line = 2
            else:
                from classifier.io.encoding import detect_encoding

                df = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=object,
                                 encoding=detect_encoding(path), keep_default_na=False)
                first_line = 2
        except DataError:
            raise
        except Exception as e:  # pandas raises many types for unreadable files
            raise DataError(f"cannot read {path}: {e}") from None
        if text_column not in df.columns:
            raise DataError(f"{path}: no '{text_column}' column (found: {', '.join(map(str, df.columns))}); "
                            f"name the text column with --text-column")
        recs = df.to_dict("records")
        return [_from_record(r, str(path), i + first_line, text_column) for i, r in enumerate(recs)]
    raise DataError(f"{path}: unknown data format '{suffix}'; use .jsonl, .csv, .tsv or .xlsx")


def read_all(paths: Iterable[str | Path], text_column: str = "text") -> list[Example]:
    out = []
    for p in paths:
        out.extend(read_examples(p, text_column))
    return out


def data_hash(examples: Sequence[Example]) -> str:
    """SHA-256 over texts and sorted labels: identifies the training data a model was made from."""
    h = hashlib.sha256()
    for ex in examples:
        h.update(ex.text.encode("utf-8"))
        h.update(b"\x1f")
        h.update(";".join(sorted(ex.labels)).encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()


def _rows(items: Sequence[Example], limit: int = 10) -> str:
    shown = ", ".join(ex.where for ex in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def check_examples(examples: Sequence[Example], known_labels: Sequence[str] | None = None,
                   min_examples: int = 5) -> list[Example]:
    """Validate training data and return the rows fit for training.

    Raises :class:`DataError` listing the rows for: no data, unknown label codes (codes outside
    ``known_labels`` when the data uses some of them), conflicting labels for the same id or the
    same text, and labels with fewer than ``min_examples`` rows. Empty texts are left out with a
    warning that lists them.
    """
    if not examples:
        raise DataError("no training rows found; check the file paths")
    empty = [ex for ex in examples if not ex.text.strip()]
    if empty:
        warnings.warn(f"{len(empty)} rows with empty text left out of training: {_rows(empty)}", stacklevel=2)
    rows = [ex for ex in examples if ex.text.strip()]

    all_codes = Counter(l for ex in rows for l in ex.labels)
    if known_labels is not None and any(c in known_labels for c in all_codes):
        unknown = {c: [ex for ex in rows if c in ex.labels] for c in all_codes if c not in known_labels}
        if unknown:
            detail = "; ".join(f"'{c}' at {_rows(r, 5)}" for c, r in sorted(unknown.items()))
            raise DataError(f"unknown label codes: {detail}. Known codes: {', '.join(known_labels)}. "
                            f"Fix the typo, or add the new category to the taxonomy file (--taxonomy)")

    by_id: dict[str, list[Example]] = defaultdict(list)
    by_text: dict[str, list[Example]] = defaultdict(list)
    for ex in rows:
        if ex.id is not None:
            by_id[ex.id].append(ex)
        by_text[ex.text.strip()].append(ex)
    conflicts = []
    for group in list(by_id.values()) + list(by_text.values()):
        if len({tuple(sorted(ex.labels)) for ex in group}) > 1:
            conflicts.append(group)
    if conflicts:
        detail = "; ".join(" vs ".join(f"{ex.where} {sorted(ex.labels)}" for ex in g[:3]) for g in conflicts[:5])
        raise DataError(f"{len(conflicts)} texts or ids carry conflicting labels: {detail}. "
                        f"Give each the same labels, or remove the wrong row")

    rare = {c: n for c, n in all_codes.items() if n < min_examples}
    if rare:
        detail = ", ".join(f"'{c}' ({n}: {_rows([ex for ex in rows if c in ex.labels], 5)})"
                           for c, n in sorted(rare.items()))
        raise DataError(f"labels with fewer than {min_examples} examples cannot be trained: {detail}. "
                        f"Add examples or remove the label")
    return rows
