"""Writing tagged rows as JSONL, CSV, XLSX or Parquet, one chunk ("part") at a time.

The tagging engine hands each chunk over as a :class:`Batch`: the input rows and, in parallel
lists, their labels, scores, paragraph labels and errors. A :class:`PartWriter` writes a batch
to a part file and, once every part is written, assembles the parts into the output file
(see :mod:`classifier.io.spool` for why there are parts). In every format the input columns
come first, then the result columns:

============ ============================ =========================================
column       JSONL                        CSV / XLSX / Parquet
============ ============================ =========================================
labels       list of codes                codes joined by ``;`` (Parquet: a list)
scores       object {code: probability}   one ``score_<code>`` column per label
paragraphs   object {code: [1, 3]}        ``code:1,3;code:2`` (Parquet: a map)
error        message or null              message or empty
============ ============================ =========================================

``paragraphs`` is left out with ``--no-paragraphs`` and with ``--by paragraph``, which puts ``row`` and ``paragraph`` first.
Input columns with these names are replaced.
"""
from __future__ import annotations

import csv
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from classifier.errors import JianfuError

#: Output formats and the extensions that select them.
OUTPUT_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}

_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _encode(row: dict) -> bytes:
    """One JSON line as UTF-8: orjson (several times faster), or json for what orjson refuses
    (lone surrogates, which are written back as the same ``\\ud800`` escape they were read from,
    non-string keys, integers beyond 64 bits)."""
    import orjson

    try:
        return orjson.dumps(row, default=str)
    except (orjson.JSONEncodeError, TypeError):
        return _ENCODE(row).encode("utf-8", "backslashreplace")
_ILLEGAL_XML = re.compile(r"[\000-\010\013\014\016-\037\ud800-\udfff]")
_EXCEL_CELL_MAX = 32767
_EXCEL_ROWS_MAX = 1_048_576
_ROW_GROUP_ROWS = 32768


def output_format(path: str | Path) -> str:
    """The output format of ``path`` from its extension (``"-"``: JSONL on stdout)."""
    if str(path) == "-":
        return "jsonl"
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise JianfuError(f"{path}: cannot write '{suffix or 'no extension'}'; "
                          f"name the output .jsonl, .csv, .xlsx or .parquet")
    return OUTPUT_FORMATS[suffix]


@dataclass
class Batch:
    """One chunk of tagged rows: ``rows[i]`` got ``labels[i]``, ``scores[i]`` (probabilities in
    label-code order, ``None`` when the row failed), ``paragraphs[i]`` (label code → paragraph
    numbers; ``None`` with ``--by paragraph``) and ``errors[i]`` (``None`` when tagged)."""

    rows: list[dict]
    labels: list[list[str]]
    scores: list[list[float] | None]
    paragraphs: list[dict | None]
    errors: list[str | None]


def paragraphs_text(paragraphs: dict | None) -> str:
    """``{"formalism": [1, 3], "task_overload": [2]}`` as ``formalism:1,3;task_overload:2``."""
    if not paragraphs:
        return ""
    return ";".join(f"{code}:{','.join(map(str, nums))}" for code, nums in paragraphs.items())


def _cell(value):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return _ENCODE(value)
    return value


class PartWriter:
    """Writes batches as parts, and parts as the output file, in one format.

    Parameters
    ----------
    codes : sequence of str
        The model's label codes, in score order.
    by_paragraph : bool
        One row per paragraph (no ``paragraphs`` column).
    columns : list of str or None
        The input's columns when known before reading (speeds up finding each chunk's columns).
    arrow_schema : pyarrow.Schema or None
        A Parquet input's schema, whose column types a Parquet output keeps.
    paragraphs : bool
        Write the ``paragraphs`` column (document rows only).
    """

    ext = ".part"

    def __init__(self, codes: Sequence[str], by_paragraph: bool = False, columns: list[str] | None = None,
                 arrow_schema=None, paragraphs: bool = True):
        self.codes = list(codes)
        self.by_paragraph = by_paragraph
        self.with_paragraphs = paragraphs and not by_paragraph
        self.known = columns
        self.arrow_schema = arrow_schema
        self.score_columns = [f"score_{c}" for c in self.codes]
        self.result_columns = (["labels"] + self.score_columns + (["paragraphs"] if self.with_paragraphs else [])
                               + ["error"])
        self.reserved = set(self.result_columns) | {"scores"}

    def input_columns(self, rows: list[dict]) -> list[str]:
        """The input columns of ``rows``, in first-seen order, without the result columns."""
        if self.known is not None and not self.by_paragraph:
            # every row of a file with a header has its columns; only a BadRow can have more
            seen = dict.fromkeys(self.known)
            n = len(seen)
            for row in rows:
                if len(row) != n:
                    seen.update(dict.fromkeys(row))
        else:
            seen = {}
            for row in rows:
                seen.update(dict.fromkeys(row))
        return [c for c in seen if c not in self.reserved]

    def write(self, path: Path, batch: Batch) -> list[str]:
        """Write ``batch`` to the part file ``path``; return its columns."""
        raise NotImplementedError

    def assemble(self, parts: list[tuple[Path, list[str]]], out: Path,
                 progress: Callable[[int], None] | None = None) -> None:
        """Write the parts, in order, as the output file ``out``."""
        raise NotImplementedError

    def tabular_rows(self, batch: Batch, columns: list[str]):
        """Each row as a list of cell values for ``columns`` + the result columns."""
        blank = [None] * len(self.codes)
        doc = self.with_paragraphs
        for row, labels, scores, paras, err in zip(batch.rows, batch.labels, batch.scores,
                                                    batch.paragraphs, batch.errors):
            values = [_cell(row.get(c)) for c in columns]
            values.append(";".join(labels))
            values.extend(blank if scores is None else scores)
            if doc:
                values.append(paragraphs_text(paras))
            values.append(err)
            yield values


class JsonlWriter(PartWriter):
    ext = ".jsonl"

    def lines(self, batch: Batch) -> bytes:
        """The batch as JSONL, UTF-8 encoded (also what ``-o -`` prints)."""
        out, codes, doc = [], self.codes, self.with_paragraphs
        for row, labels, scores, paras, err in zip(batch.rows, batch.labels, batch.scores,
                                                    batch.paragraphs, batch.errors):
            row["labels"] = labels
            row["scores"] = {} if scores is None else dict(zip(codes, scores))
            if doc:
                row["paragraphs"] = paras or {}
            row["error"] = err
            out.append(_encode(row))
        out.append(b"")
        return b"\n".join(out)

    def write(self, path, batch):
        with open(path, "wb") as f:
            f.write(self.lines(batch))
        return []

    def assemble(self, parts, out, progress=None):
        with open(out, "wb") as dst:
            for path, _ in parts:
                with open(path, "rb") as src:
                    shutil.copyfileobj(src, dst, 1 << 20)
                if progress:
                    progress(1)


class CsvWriter(PartWriter):
    ext = ".csv"

    def write(self, path, batch):
        columns = self.input_columns(batch.rows)
        with open(path, "w", encoding="utf-8", errors="backslashreplace", newline="") as f:
            csv.writer(f).writerows(self.tabular_rows(batch, columns))
        return columns

    def assemble(self, parts, out, progress=None):
        union = _union(cols for _, cols in parts)
        header = union + self.result_columns
        # UTF-8 with a byte-order mark: Excel then shows Chinese text correctly
        with open(out, "w", encoding="utf-8-sig", newline="") as dst:
            csv.writer(dst).writerow(header)
            dst.flush()
            for path, cols in parts:
                if cols == union:
                    with open(path, "rb") as src:
                        shutil.copyfileobj(src, dst.buffer, 1 << 20)
                else:  # a part that lacks some columns: place its cells under the right ones
                    where = [union.index(c) for c in cols]
                    n_res = len(self.result_columns)
                    w = csv.writer(dst)
                    with open(path, encoding="utf-8", newline="") as src:
                        for values in csv.reader(src):
                            full = [""] * len(union)
                            for i, v in zip(where, values):
                                full[i] = v
                            w.writerow(full + values[len(values) - n_res:])
                    dst.flush()
                if progress:
                    progress(1)


class XlsxWriter(PartWriter):
    """Parts are JSON lines of cell values; the workbook is written once, streaming, at the end.

    Rows beyond Excel's 1,048,576 per sheet go on in sheets ``tags (2)``, ``tags (3)`` …; text
    longer than Excel's 32,767 characters per cell is cut there (ending with …); text starting
    with ``=`` stays text, not a formula; control characters XML cannot hold become U+FFFD.
    """

    ext = ".jsonl"

    def write(self, path, batch):
        columns = self.input_columns(batch.rows)
        with open(path, "w", encoding="utf-8", errors="backslashreplace", newline="\n") as f:
            for values in self.tabular_rows(batch, columns):
                f.write(_ENCODE(values))
                f.write("\n")
        return columns

    def assemble(self, parts, out, progress=None):
        import openpyxl
        from openpyxl.cell import WriteOnlyCell

        union = _union(cols for _, cols in parts)
        n_res = len(self.result_columns)
        wb = openpyxl.Workbook(write_only=True)
        header = union + self.result_columns

        def new_sheet():
            ws = wb.create_sheet("tags" if not wb.worksheets else f"tags ({len(wb.worksheets) + 1})")
            ws.freeze_panes = "A2"
            ws.append(header)
            return ws

        ws, n = new_sheet(), 1
        for path, cols in parts:
            where = None if cols == union else [union.index(c) for c in cols]
            with open(path, encoding="utf-8") as src:
                for line in src:
                    values = json.loads(line)
                    if where is not None:
                        full = [None] * len(union)
                        for i, v in zip(where, values):
                            full[i] = v
                        values = full + values[len(values) - n_res:]
                    for i, v in enumerate(values):
                        if isinstance(v, str):
                            if _ILLEGAL_XML.search(v):
                                v = _ILLEGAL_XML.sub("\ufffd", v)
                            if len(v) > _EXCEL_CELL_MAX:  # Excel's limit for one cell
                                v = v[:_EXCEL_CELL_MAX - 1] + "…"
                            if v.startswith("="):  # text, not a formula
                                v = WriteOnlyCell(ws, v)
                                v.data_type = "s"
                            values[i] = v
                    if n == _EXCEL_ROWS_MAX:  # a sheet is full: go on in the next one
                        ws, n = new_sheet(), 1
                    ws.append(values)
                    n += 1
            if progress:
                progress(1)
        wb.save(out)


class ParquetWriter(PartWriter):
    """Parts are Parquet files; the output joins them into row groups of ~32k rows.

    Input columns keep the Parquet input's types; from other inputs, scalar types are inferred
    and nested JSON values are stored as JSON text. A column whose type differs between chunks
    becomes ``double`` (numbers) or ``string``.
    """

    ext = ".parquet"

    def write(self, path, batch):
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = self.input_columns(batch.rows)
        known = self.arrow_schema
        arrays, fields = [], []
        for c in columns:
            typ = known.field(c).type if known is not None and c in known.names else None
            values = [row.get(c) for row in batch.rows]
            arrays.append(_arrow_array(values, typ))
            fields.append(c)
        arrays.append(pa.array(batch.labels, pa.list_(pa.string())))
        fields.append("labels")
        for j, name in enumerate(self.score_columns):
            arrays.append(pa.array([None if s is None else s[j] for s in batch.scores], pa.float64()))
            fields.append(name)
        if self.with_paragraphs:
            arrays.append(pa.array([p or {} for p in batch.paragraphs],
                                   pa.map_(pa.string(), pa.list_(pa.int32()))))
            fields.append("paragraphs")
        arrays.append(_arrow_array(batch.errors, pa.string()))
        fields.append("error")
        pq.write_table(pa.Table.from_arrays(arrays, names=fields), path)
        return columns

    def assemble(self, parts, out, progress=None):
        import pyarrow as pa
        import pyarrow.parquet as pq

        schemas = [pq.read_schema(p) for p, _ in parts]
        union = _union(cols for _, cols in parts) + self.result_columns
        fields = []
        for name in union:
            types = {s.field(name).type for s in schemas if name in s.names} - {pa.null()}
            fields.append(pa.field(name, _common_type(types)))
        schema = pa.schema(fields)
        buffered, n = [], 0
        with pq.ParquetWriter(out, schema) as writer:
            for path, _ in parts:
                buffered.append(_conform(pq.read_table(path), schema))
                n += buffered[-1].num_rows
                if n >= _ROW_GROUP_ROWS:
                    writer.write_table(pa.concat_tables(buffered))
                    buffered, n = [], 0
                if progress:
                    progress(1)
            if buffered or not parts:
                writer.write_table(pa.concat_tables(buffered) if buffered else schema.empty_table())


def _union(column_lists) -> list[str]:
    seen: dict[str, None] = {}
    for cols in column_lists:
        seen.update(dict.fromkeys(cols))
    return list(seen)


def _arrow_array(values: list, typ=None):
    import pyarrow as pa

    try:
        if typ is None and any(isinstance(v, (dict, list)) for v in values):
            raise TypeError("nested values are stored as JSON text")
        return pa.array(values, typ)
    except (pa.ArrowException, TypeError, ValueError, OverflowError, UnicodeEncodeError):
        text = [None if v is None else v if isinstance(v, str) else _ENCODE(v) for v in values]
        return pa.array([None if v is None else v.encode("utf-8", "backslashreplace").decode("utf-8")
                         for v in text], pa.string())


def _common_type(types):
    import pyarrow as pa

    if not types:
        return pa.null()
    if len(types) == 1:
        return next(iter(types))
    if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in types):
        return pa.float64()
    return pa.string()


def _conform(table, schema):
    """``table`` with ``schema``'s columns, in its order, of its types (missing ones null)."""
    import pyarrow as pa

    columns = []
    for f in schema:
        if f.name not in table.column_names:
            columns.append(pa.nulls(table.num_rows, f.type))
            continue
        col = table.column(f.name)
        if col.type != f.type:
            try:
                col = col.cast(f.type)
            except (pa.ArrowException, NotImplementedError):
                col = pa.array([None if v is None else _ENCODE(v) for v in col.to_pylist()], f.type)
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=schema)


WRITERS = {"jsonl": JsonlWriter, "csv": CsvWriter, "xlsx": XlsxWriter, "parquet": ParquetWriter}


def make_writer(fmt: str, codes: Sequence[str], by_paragraph: bool = False, columns=None,
                arrow_schema=None, paragraphs: bool = True) -> PartWriter:
    """The :class:`PartWriter` for output format ``fmt``."""
    return WRITERS[fmt](codes, by_paragraph, columns, arrow_schema, paragraphs)
