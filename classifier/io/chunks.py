"""Cutting input rows into chunks, and a chunk's tagging results into output rows.

The tagging engine (:mod:`classifier.tagging`) reads rows, groups them with :func:`chunks`,
checks each chunk's texts with :func:`prepare` (a row without usable text gets its error here,
and is not sent to the model), and turns the model's results back into a
:class:`~classifier.io.writers.Batch` with :func:`to_batch`: one output row per input row, or
one per paragraph.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

from classifier.errors import JianfuError
from classifier.io.readers import BadRow
from classifier.io.writers import Batch
from classifier.text import split_paragraphs

#: A chunk also ends when its texts reach this many characters, so that long documents do not
#: make chunks (and memory) huge.
CHUNK_CHARS = 4_000_000


@dataclass
class Job:
    """A chunk on its way through the model: its rows, and the texts sent to the model."""

    rows: list[dict]
    first: int                   # 1-based number of the chunk's first input row
    texts: list[str]
    where: list[int]             # texts[j] is the text of rows[where[j]]
    errors: list[str | None]


def chunks(rows: Iterable[dict], size: int, text_column: str) -> Iterator[list[dict]]:
    """Lists of ``size`` rows (fewer when their texts pass :data:`CHUNK_CHARS` characters)."""
    chunk, chars = [], 0
    for row in rows:
        chunk.append(row)
        text = row.get(text_column)
        if text.__class__ is str:
            chars += len(text)
        if len(chunk) >= size or chars >= CHUNK_CHARS:
            yield chunk
            chunk, chars = [], 0
    if chunk:
        yield chunk


def prepare(rows: list[dict], first: int, text_column: str, max_chars: int) -> Job:
    """The texts of ``rows`` to tag; rows that cannot be tagged get their error instead."""
    texts, where, errors = [], [], [None] * len(rows)
    for i, row in enumerate(rows):
        if row.__class__ is BadRow:
            errors[i] = row.error
            continue
        text = row.get(text_column)
        if text.__class__ is not str:
            if text is None or text != text:  # missing, null, or a float NaN
                errors[i] = "empty text" if text_column in row else f"no '{text_column}' field"
                continue
            text = str(text)
        if not text or text.isspace():
            errors[i] = "empty text"
        elif len(text) > max_chars:
            errors[i] = (f"text too long: {len(text):,} characters, more than the {max_chars:,} "
                         f"allowed (--max-chars)")
        else:
            texts.append(text)
            where.append(i)
    return Job(rows, first, texts, where, errors)


def to_batch(job: Job, tagged, by_paragraph: bool, text_column: str) -> Batch:
    """The output rows of a chunk, from the :class:`~classifier.tagging.Tagged` results of its
    texts; ``job.errors`` then holds each input row's error, if any."""
    n = len(job.rows)
    if not by_paragraph:
        labels, scores, paras, errors = [[]] * n, [None] * n, [None] * n, job.errors
        rows_scores = tagged.scores.tolist()
        for j, i in enumerate(job.where):
            if tagged.errors[j] is not None:
                errors[i] = tagged.errors[j]
                continue
            labels[i], scores[i] = tagged.labels[j], rows_scores[j]
            if tagged.paragraphs:
                paras[i] = tagged.paragraphs[j]
        return Batch(job.rows, labels, scores, paras, errors)
    out = Batch([], [], [], [], [])
    which = dict(zip(job.where, range(len(job.where))))
    for i, row in enumerate(job.rows):
        number = job.first + i
        j = which.get(i)
        if j is None:
            rec = {"row": number, "paragraph": None, **row}
            rec.update(row=number, paragraph=None)
            _append(out, rec, [], None, job.errors[i])
            continue
        para = tagged.paragraphs[j]
        para_scores = para.scores.tolist()
        for k, text in enumerate(split_paragraphs(job.texts[j])):
            rec = {"row": number, "paragraph": k + 1, **row}
            rec.update(row=number, paragraph=k + 1)
            rec[text_column] = text
            ok = para.errors[k] is None
            _append(out, rec, para.labels[k] if ok else [], para_scores[k] if ok else None, para.errors[k])
            if not ok and job.errors[i] is None:  # the document fails with its paragraph
                job.errors[i] = f"paragraph {k + 1}: {para.errors[k]}"
    return out


def _append(batch: Batch, row: dict, labels: list[str], scores: list[float] | None, error: str | None) -> None:
    batch.rows.append(row)
    batch.labels.append(labels)
    batch.scores.append(scores)
    batch.paragraphs.append(None)
    batch.errors.append(error)


def check_text_field(rows: list[dict], text_column: str, name: str) -> None:
    """Refuse a JSONL input where no row of the first chunk has the text field: the option is
    wrong, and every row would fail."""
    readable = [r for r in rows if r.__class__ is not BadRow]
    if readable and not any(text_column in r for r in readable):
        found = ", ".join(dict.fromkeys(k for r in readable[:100] for k in r))
        raise JianfuError(f"{name}: no '{text_column}' field in the first {len(rows)} rows (found: {found}); "
                          f"name the text field with --text-column")
