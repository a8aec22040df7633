"""Reading the files analysts have, one row (a dict) at a time, in constant memory.

:func:`open_source` picks a reader by extension (or ``fmt``) and returns a :class:`Source`
whose :attr:`~Source.rows` yields one dict per input row, in order. A row that cannot be read
(a broken JSON line, bytes that are not in the file's encoding, a CSV line with too many
fields, a document whose text cannot be extracted) is still yielded, as a :class:`BadRow`: the
fields that could be recovered, and ``error`` saying why. Blank lines (and wholly empty
spreadsheet rows) are not rows.
"""
from __future__ import annotations

import codecs
import csv
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from classifier.errors import JianfuError

#: Input formats and the extensions that select them.
FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".xlsx": "xlsx", ".xlsm": "xlsx",
           ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".txt": "txt"}
INPUT_FORMATS = ("csv", "tsv", "xlsx", "jsonl", "parquet", "txt", "dir")

# surrogateescape turns each undecodable byte into one of these; a row holding one is reported
_UNDECODABLE = re.compile("[\udc80-\udcff]")
_BLOCK = 1 << 20


class BadRow(dict):
    """A row that could not be read as it is: the recovered fields, and :attr:`error`."""

    __slots__ = ("error",)

    def __init__(self, fields: dict, error: str):
        super().__init__(fields)
        self.error = error


@dataclass
class Source:
    """An opened input.

    Attributes
    ----------
    name : str
        The path, or ``"-"`` for stdin.
    format : str
        One of :data:`INPUT_FORMATS`.
    rows : iterator of dict
        The rows, in input order (:class:`BadRow` for unreadable ones).
    columns : list of str or None
        Column names known before reading (``None`` for JSONL, whose rows may differ).
    encoding : str or None
        The text encoding used (detected or forced).
    arrow_schema : pyarrow.Schema or None
        A Parquet input's schema, so a Parquet output keeps its column types.
    fingerprint : dict
        What identifies the input (size, modification time), to check that a resumed run
        reads the same input.
    """

    name: str
    format: str
    rows: Iterator[dict]
    columns: list[str] | None = None
    encoding: str | None = None
    arrow_schema: object = None
    fingerprint: dict = field(default_factory=dict)
    count: Callable[[], int | None] = lambda: None

    def estimate_rows(self) -> int | None:
        """About how many rows there are (for a progress bar's ETA), or ``None``."""
        return self.count()


def input_format(path: str | Path, fmt: str | None = None) -> str:
    """The input format of ``path``: ``fmt`` if given, else from the extension."""
    if fmt:
        if fmt not in INPUT_FORMATS:
            raise JianfuError(f"unknown input format '{fmt}'; use one of {', '.join(INPUT_FORMATS)}")
        return fmt
    if str(path) == "-":
        return "jsonl"
    p = Path(path)
    if p.is_dir():
        return "dir"
    suffix = p.suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    if suffix == ".xls":
        raise JianfuError(f"{p}: old .xls workbooks are not supported; save it as .xlsx in Excel")
    raise JianfuError(f"{p}: cannot tell the format from '{suffix or 'no extension'}'; "
                      f"use .csv, .tsv, .xlsx, .jsonl, .parquet, .txt or a directory, or give --format")


def open_source(path: str | Path, fmt: str | None = None, *, encoding: str | None = None,
                sheet: str | None = None, text_column: str = "text",
                chunk_size: int = 1000) -> Source:
    """Open ``path`` (``"-"``: stdin, read as JSONL unless ``fmt`` says otherwise) for reading.

    Examples
    --------
    >>> src = open_source("complaints.csv")                    # doctest: +SKIP
    >>> next(src.rows)                                          # doctest: +SKIP
    {'id': '1', 'text': '每周要填七八张表'}
    """
    fmt = input_format(path, fmt)
    if str(path) != "-" and not Path(path).exists():
        raise JianfuError(f"input not found: {path}")
    if str(path) == "-" and fmt not in ("jsonl", "txt", "csv", "tsv"):
        raise JianfuError(f"{fmt} cannot be read from stdin; give a file")
    if encoding:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise JianfuError(f"unknown encoding '{encoding}'; try utf-8, gb18030 or utf-16") from None
    if fmt == "dir":
        from classifier.io.documents import read_directory

        return read_directory(Path(path), text_column)
    if fmt == "xlsx":
        return _xlsx(Path(path), sheet)
    if fmt == "parquet":
        return _parquet(Path(path), chunk_size)
    if fmt == "jsonl":
        return _jsonl(str(path), encoding)
    return _text(str(path), fmt, encoding, text_column)


def _fingerprint(path: str) -> dict:
    if path == "-":
        return {"path": "-"}
    st = os.stat(path)
    return {"path": str(Path(path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _line_count(path: str) -> Callable[[], int | None]:
    def count():
        if path == "-":
            return None
        n = 0
        with open(path, "rb") as f:
            while block := f.read(_BLOCK):
                n += block.count(b"\n")
        return n
    return count


def unique_columns(header: list) -> list[str]:
    """Column names made usable: blanks named ``column_<n>``, repeats suffixed ``.1``, ``.2``."""
    out, seen = [], set()
    for i, name in enumerate(header, 1):
        name = "" if name is None else str(name).strip()
        name = name or f"column_{i}"
        base, k = name, 0
        while name in seen:
            k += 1
            name = f"{base}.{k}"
        seen.add(name)
        out.append(name)
    return out


def _clean(fields: list[str]) -> list[str]:
    return [_UNDECODABLE.sub("\ufffd", v) for v in fields]


def _undecodable(where: str, encoding: str) -> str:
    encoding = encoding.removesuffix("-sig")
    return (f"{where}: bytes that are not valid {encoding} (shown as \ufffd); "
            f"if the whole file looks wrong, give its encoding with --encoding")


def _binary_input(path: str):
    return sys.stdin.buffer if path == "-" else open(path, "rb")


def _text_input(path: str, encoding: str):
    import io

    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding=encoding, errors="surrogateescape", newline="")
    return open(path, encoding=encoding, errors="surrogateescape", newline="")


def _detect(path: str, encoding: str | None) -> str:
    if encoding:
        return encoding
    if path == "-":
        return "utf-8-sig"
    from classifier.io.encoding import detect_encoding

    return detect_encoding(path)


def _text(path: str, fmt: str, encoding: str | None, text_column: str) -> Source:
    enc = _detect(path, encoding)
    if fmt == "txt":
        return Source(path, fmt, _txt_rows(path, enc, text_column), ["line", text_column], enc,
                      fingerprint=_fingerprint(path), count=_line_count(path))
    f = _text_input(path, enc)
    # a field may hold a whole document: lift the csv module's 128 KiB limit
    csv.field_size_limit(min(sys.maxsize, 2 ** 31 - 1))
    reader = csv.reader(f, delimiter="\t" if fmt == "tsv" else ",")
    try:
        header = next(reader, None)
    except csv.Error as e:
        f.close()
        raise JianfuError(f"{path}: cannot read the header line: {e}") from None
    if header is None:
        f.close()
        header = []
    if any(_UNDECODABLE.search(h) for h in header):
        header = _clean(header)
    columns = unique_columns(header)
    lines = _line_count(path)
    return Source(path, fmt, _csv_rows(f, reader, columns, enc) if header else iter(()), columns, enc,
                  fingerprint=_fingerprint(path), count=lambda: max(0, (lines() or 1) - 1) if path != "-" else None)


def _csv_rows(f, reader, columns: list[str], enc: str) -> Iterator[dict]:
    n = len(columns)
    with f:
        last = reader.line_num
        while True:
            start = last + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                last = reader.line_num
                yield BadRow({}, f"line {start}: {e}")
                continue
            last = reader.line_num
            if not fields or (len(fields) == 1 and not fields[0]):
                continue
            error = None
            if any(_UNDECODABLE.search(v) for v in fields):
                fields, error = _clean(fields), _undecodable(f"line {start}", enc)
            if len(fields) == n:
                row = dict(zip(columns, fields))
            elif len(fields) < n:
                row = dict(zip(columns, fields + [""] * (n - len(fields))))
            else:
                row = dict(zip(columns, fields))
                row.update((f"column_{i}", v) for i, v in enumerate(fields[n:], n + 1))
                error = error or (f"line {start}: {len(fields)} fields where the header has {n} "
                                  f"(a quote or separator out of place?); the extra ones are in "
                                  f"column_{n + 1}…")
            yield row if error is None else BadRow(row, error)


def _txt_rows(path: str, enc: str, text_column: str) -> Iterator[dict]:
    with _text_input(path, enc) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if _UNDECODABLE.search(line):
                yield BadRow({"line": n, text_column: _clean([line])[0]}, _undecodable(f"line {n}", enc))
            else:
                yield {"line": n, text_column: line}


def _jsonl(path: str, encoding: str | None) -> Source:
    return Source(path, "jsonl", _jsonl_rows(path, encoding or "utf-8"), None, encoding or "utf-8",
                  fingerprint=_fingerprint(path), count=_line_count(path))


def _jsonl_rows(path: str, enc: str) -> Iterator[dict]:
    # orjson parses UTF-8 bytes directly, several times faster than json; what it refuses and
    # json accepts (lone surrogate escapes, NaN, huge integers) goes to json
    import orjson

    fast = enc.replace("_", "-").lower() in ("utf-8", "utf8")
    loads = json.loads
    with _binary_input(path) as f:
        for n, raw in enumerate(f, 1):
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            if fast:
                try:
                    rec = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    pass
                else:
                    if rec.__class__ is dict:
                        yield rec
                        continue
            try:
                line = raw.decode(enc)
            except UnicodeDecodeError:
                yield BadRow({"raw_line": raw.decode(enc, "replace").rstrip("\r\n")},
                             _undecodable(f"line {n}", enc))
                continue
            try:
                rec = loads(line)
            except json.JSONDecodeError as e:
                yield BadRow({"raw_line": line.rstrip("\r\n")},
                             f"line {n}: not valid JSON ({e.msg} at character {e.colno}); the line is in raw_line")
                continue
            if isinstance(rec, dict):
                yield rec
            else:
                yield BadRow({"raw_line": line.rstrip("\r\n")},
                             f"line {n}: a JSON {type(rec).__name__} where an object {{...}} was expected")


def _xlsx(path: Path, sheet: str | None) -> Source:
    import zipfile

    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise JianfuError(f"{path}: not a readable .xlsx workbook ({e})") from None
    names = wb.sheetnames
    if sheet is None:
        ws = wb.worksheets[0]
    elif sheet in names:
        ws = wb[sheet]
    elif sheet.isdigit() and 1 <= int(sheet) <= len(names):
        ws = wb.worksheets[int(sheet) - 1]
    else:
        wb.close()
        raise JianfuError(f"{path}: no sheet '{sheet}'; its sheets are {', '.join(names)} "
                          f"(give a name, or a number from 1)")
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None) or ()
    # trailing empty header cells are formatting, not columns
    header = list(header)
    while header and header[-1] in (None, ""):
        header.pop()
    columns = unique_columns(header)
    total = ws.max_row
    return Source(str(path), "xlsx", _xlsx_rows(wb, rows, columns), columns, None,
                  fingerprint=_fingerprint(str(path)), count=lambda: (total - 1) if total else None)


def _xlsx_rows(wb, rows, columns: list[str]) -> Iterator[dict]:
    n = len(columns)
    try:
        for values in rows:
            if all(v is None or v == "" for v in values):
                continue
            row = dict(zip(columns, values))
            if len(values) < n:
                row.update((c, None) for c in columns[len(values):])
            elif len(values) > n:
                row.update((f"column_{i}", v) for i, v in enumerate(values[n:], n + 1) if v not in (None, ""))
            yield row
    finally:
        wb.close()


def _parquet(path: Path, chunk_size: int) -> Source:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        raise JianfuError(f"{path}: not a readable Parquet file ({e})") from None

    def rows():
        with pf:
            for batch in pf.iter_batches(batch_size=chunk_size):
                yield from batch.to_pylist()

    return Source(str(path), "parquet", rows(), list(pf.schema_arrow.names), None, pf.schema_arrow,
                  _fingerprint(str(path)), count=lambda: pf.metadata.num_rows)
