"""Batch tagging of files: streamed in chunks, spread over processes, nothing lost.

:func:`tag_file` reads the input a chunk at a time (:mod:`classifier.io.readers`,
:mod:`classifier.io.chunks`), sends each chunk's texts to a pool of worker processes that each hold the model, takes the results back in
input order, and commits each chunk as a part of the partial output (:mod:`classifier.io.spool`),
which becomes the output file when every row is done. Memory holds a few chunks per worker,
whatever the input's size.

Errors are values: a row that cannot be tagged (unreadable, no text, too long, a failure in the
model) gets an ``error`` message and no labels, and the run goes on. Only a failure of the run
itself (input or output unusable, a worker process killed) raises.

Why ``concurrent.futures.ProcessPoolExecutor`` and not joblib: its ``initializer`` hands each
worker the model once, an explicit window of submitted chunks keeps memory bounded and results
in order, and a killed worker surfaces as ``BrokenProcessPool``; joblib would add a layer
without adding any of these.
"""
from __future__ import annotations

import hashlib
import itertools
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from classifier import config
from classifier.errors import JianfuError
from classifier.io.chunks import Job, check_text_field, chunks, prepare, to_batch
from classifier.io.readers import open_source
from classifier.io.spool import Spool
from classifier.io.writers import Batch, make_writer, output_format
from classifier.model import Model
from classifier.text import split_paragraphs

#: Longest text tagged, in characters (about 500 pages); longer rows get an error.
MAX_CHARS = 1_000_000
#: Format version of the partial-output manifest; a resume across versions is refused.
SPOOL_VERSION = 1
BY = ("document", "paragraph")
_ERRORS_SHOWN = 5


@dataclass
class TagSummary:
    """What a run did.

    ``rows`` counts input rows (including ``resumed`` ones, tagged by an earlier, interrupted
    run), ``tagged`` + ``failed`` == ``rows``; ``output_rows`` differs from ``rows`` only with
    ``by="paragraph"``; ``errors`` holds the first few failures as (where, message).
    """

    input: str
    output: str
    rows: int = 0
    tagged: int = 0
    failed: int = 0
    resumed: int = 0
    output_rows: int = 0
    seconds: float = 0.0
    errors: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__, errors=[list(e) for e in self.errors])


# -- the work of one chunk, in a worker process (or in this one) -------------------------------
@dataclass
class Tagged:
    """Results for a list of texts: ``scores`` is an array (n_texts, n_labels) rounded to 4
    places; ``paragraphs`` holds, per text, label → paragraph numbers (document mode) or the
    ``Tagged`` of its paragraphs (paragraph mode)."""

    labels: list[list[str]]
    scores: np.ndarray
    errors: list[str | None]
    paragraphs: list = field(default_factory=list)


def _predict(model, texts: Sequence[str]) -> Tagged:
    proba = model.predict_proba(texts)
    return Tagged(model.labels_from_proba(proba), np.round(proba, 4), [None] * len(texts))


def _predict_isolated(model, texts: Sequence[str]) -> Tagged:
    """Like :func:`_predict`, but a text on which the model fails gets an error, not the chunk."""
    if not texts:
        return Tagged([], np.zeros((0, len(model.labels))), [])
    try:
        return _predict(model, texts)
    except Exception:
        pass
    labels, scores, errors = [], np.zeros((len(texts), len(model.labels))), []
    for i, text in enumerate(texts):
        try:
            one = _predict(model, [text])
            labels.append(one.labels[0])
            scores[i] = one.scores[0]
            errors.append(None)
        except Exception as e:  # errors are values: the row says what went wrong
            labels.append([])
            errors.append(f"could not be tagged ({type(e).__name__}: {e})")
    return Tagged(labels, scores, errors)


def tag_texts(model, texts: Sequence[str], by_paragraph: bool = False, paragraphs: bool = True) -> Tagged:
    """Tag ``texts`` whole (with, unless not ``paragraphs``, which of their paragraphs carry each
    label), or with ``by_paragraph`` each of their paragraphs (:func:`classifier.text.split_paragraphs`)."""
    if not (by_paragraph or paragraphs):
        return _predict_isolated(model, texts)
    splits = [split_paragraphs(t) if "\n" in t else [t.strip()] if t.strip() else [] for t in texts]
    if by_paragraph:
        flat = _predict_isolated(model, [p for ps in splits for p in ps])
        out, start = Tagged([], np.zeros((0, len(model.labels))), [], []), 0
        for ps in splits:
            end = start + len(ps)
            out.paragraphs.append(Tagged(flat.labels[start:end], flat.scores[start:end], flat.errors[start:end]))
            start = end
        return out
    result = _predict_isolated(model, texts)
    # only documents of several paragraphs need their paragraphs tagged apart
    multi = [i for i, ps in enumerate(splits) if len(ps) > 1 and result.errors[i] is None]
    flat = _predict_isolated(model, [p for i in multi for p in splits[i]])
    result.paragraphs = [{c: [1] for c in labels} for labels in result.labels]
    order = {c: k for k, c in enumerate(model.labels)}
    start = 0
    for i in multi:
        where: dict[str, list[int]] = {}
        for k in range(len(splits[i])):
            for c in flat.labels[start + k]:
                where.setdefault(c, []).append(k + 1)
        start += len(splits[i])
        result.paragraphs[i] = dict(sorted(where.items(), key=lambda kv: order[kv[0]]))
    return result


_MODEL = None


def keep_freed_memory() -> bool:
    """Ask glibc's allocator to reuse freed memory instead of returning it to the system.

    Each chunk allocates NumPy arrays of a few MB and frees them; by default glibc hands those
    back to the kernel (``munmap``, heap trimming), and the next chunk page-faults them in again:
    about 9,000 page faults and a sixth of a worker's time per chunk of 500 messages. Serving
    blocks under 32 MB from the heap and keeping up to 256 MB of free heap cuts that to ~1,800.
    Memory in use stays what the largest chunk needs. Only for processes that tag (the CLI and
    the worker processes); a no-op where the C library has no ``mallopt`` (returns False).
    """
    import ctypes

    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 << 20) and libc.mallopt(M_TRIM_THRESHOLD, 256 << 20))
    except (OSError, AttributeError, TypeError):
        return False


def _init_worker(model) -> None:
    import signal

    global _MODEL
    _MODEL = model
    keep_freed_memory()
    # Ctrl-C is the main process's to handle: it stops the pool; workers must not print tracebacks
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _work(texts: list[str], by_paragraph: bool, paragraphs: bool) -> Tagged:
    return tag_texts(_MODEL, texts, by_paragraph, paragraphs)


class _Pending:
    """A chunk's result: from a worker, or computed here when asked for (a single chunk)."""

    def __init__(self, model, texts, by_paragraph, paragraphs):
        self.args = (model, texts, by_paragraph, paragraphs)
        self.future = None

    def result(self) -> Tagged:
        if self.future is not None:
            return self.future.result()
        return tag_texts(*self.args)


class _Tagger:
    """Hands chunks to ``jobs`` worker processes, started only once a second chunk exists (a
    small input is tagged here, without the cost of starting processes)."""

    def __init__(self, model, jobs: int, by_paragraph: bool, paragraphs: bool):
        self.model, self.jobs, self.pool = model, jobs, None
        self.options = (by_paragraph, paragraphs)
        self.unsent: list[_Pending] = []
        self.window = 1 if jobs == 1 else 2 * jobs

    def submit(self, texts: list[str]) -> _Pending:
        p = _Pending(self.model, texts, *self.options)
        if self.jobs > 1:
            self.unsent.append(p)
            if len(self.unsent) > 1 or self.pool is not None:
                self._start()
                for q in self.unsent:
                    q.future = self.pool.submit(_work, q.args[1], *self.options)
                self.unsent = []
        return p

    def _start(self):
        if self.pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # fork on Linux: workers inherit the loaded model (nothing to pickle or reload) and do
            # not re-run the caller's script, which spawn/forkserver do; elsewhere fork is unsafe
            method = "fork" if sys.platform.startswith("linux") else "spawn"
            if method == "fork":  # load dictionaries and tables once, shared by every worker
                self.model.warm_up()
            self.pool = ProcessPoolExecutor(self.jobs, multiprocessing.get_context(method),
                                            initializer=_init_worker, initargs=(self.model,))

    def close(self, cancel: bool = False):
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=cancel)
            self.pool = None


# -- the main process: read, check, dispatch, collect, write -----------------------------------
def _model_fingerprint(model) -> str:
    h = hashlib.sha256("\n".join(model.labels).encode())
    for name in ("coef", "intercept", "calib_a", "calib_b", "thresholds"):
        h.update(np.ascontiguousarray(getattr(model, name)).tobytes())
    return h.hexdigest()[:16]


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _progress_bar(show: bool, total: int | None, initial: int, desc: str, unit: str):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr, disable=not show,
                dynamic_ncols=True, smoothing=0.05, mininterval=0.5)


def tag_file(model, input_path: str | Path, output_path: str | Path, text_column: str = "text",
             id_column: str | None = None, force: bool = False, *, input_format: str | None = None,
             encoding: str | None = None, sheet: str | None = None, by: str = "document",
             paragraphs: bool = True, jobs: int | None = None, resume: bool = False,
             max_chars: int = MAX_CHARS,
             chunk_size: int = config.CHUNK_SIZE, progress: bool | None = None) -> TagSummary:
    """Tag every row of ``input_path`` and write it, with its labels and scores, to ``output_path``.

    Parameters
    ----------
    model : Model, str or Path
        A loaded :class:`~classifier.model.Model`, or a model directory or registry name.
    input_path : str or Path
        A ``.csv``, ``.tsv``, ``.xlsx``, ``.jsonl``, ``.parquet`` or ``.txt`` file, a directory
        of documents, or ``"-"`` for JSONL on stdin.
    output_path : str or Path
        A ``.jsonl``, ``.csv``, ``.xlsx`` or ``.parquet`` file, or ``"-"`` for JSONL on stdout.
    text_column, id_column : str
        The column holding the text; the column naming rows in error reports (default ``id``).
    force : bool
        Overwrite an existing output, and discard the partial output of an interrupted run.
    input_format, encoding, sheet : str, optional
        Override the format chosen by extension; the text encoding (CSV/TSV/TXT/JSONL);
        the sheet of a workbook (a name, or a number from 1).
    by : {"document", "paragraph"}
        One output row per input row, or one per paragraph (with ``row`` and ``paragraph``).
    paragraphs : bool
        With ``by="document"``, say which paragraphs of each document carry each label (the
        ``paragraphs`` column); ``False`` leaves the column out and skips that work, which
        doubles the cost of multi-paragraph texts.
    jobs : int, optional
        Worker processes (default: every core).
    resume : bool
        Continue the interrupted run that left a partial output (see :mod:`classifier.io.spool`).
    max_chars : int
        Longer texts get an error instead of labels.
    progress : bool, optional
        Show a progress bar on stderr (default: when stderr is a terminal).

    Returns
    -------
    TagSummary

    Examples
    --------
    >>> summary = tag_file(load(), "complaints.xlsx", "tagged.csv")       # doctest: +SKIP
    >>> summary.rows, summary.failed                                       # doctest: +SKIP
    (1200, 3)
    """
    started = time.perf_counter()
    if by not in BY:
        raise JianfuError(f"--by must be one of {', '.join(BY)}, not '{by}'")
    if not isinstance(model, Model):
        from classifier import load

        model = load(model)
    out_fmt = output_format(output_path)
    out = _check_output(input_path, output_path, force, resume)
    by_paragraph = by == "paragraph"
    source = open_source(input_path, input_format, encoding=encoding, sheet=sheet,
                         text_column=text_column, chunk_size=chunk_size)
    for option, column in (("--text-column", text_column), ("--id-column", id_column)):
        if column is not None and source.columns and column not in source.columns:
            raise JianfuError(f"{source.name}: no '{column}' column (found: {', '.join(source.columns)}); "
                              f"name the column with {option}")
    writer = make_writer(out_fmt, model.labels, by_paragraph, source.columns, source.arrow_schema,
                         paragraphs=paragraphs)
    manifest = {"spool": SPOOL_VERSION, "input": source.fingerprint, "input format": source.format,
                "encoding": source.encoding, "sheet": sheet, "text column": text_column, "by": by,
                "output format": out_fmt, "paragraphs": paragraphs, "max chars": max_chars, "model": _model_fingerprint(model)}
    spool = None if out is None else Spool(out, writer)
    done = []
    if spool is not None and spool.exists():
        if resume:
            done = spool.resume(manifest)
        elif not force:
            raise JianfuError(f"an interrupted run left {spool.dir}: add --resume to continue it, "
                              f"or --force to start over")
    skip = sum(p.rows_in for p in done)
    summary = TagSummary(str(input_path), str(output_path), rows=skip, resumed=skip,
                         failed=sum(p.failed for p in done), output_rows=sum(p.rows_out for p in done))
    todo = chunks(itertools.islice(source.rows, skip, None), chunk_size, text_column)
    first = next(todo, [])
    if source.columns is None and first:
        check_text_field(first, text_column, source.name)
    if spool is not None and not done:
        try:
            spool.start(manifest)
        except OSError as e:
            raise JianfuError(f"cannot write in {out.parent}: {e.strerror or e}") from None
    if id_column is None and (source.columns is not None and "id" in source.columns
                              or source.columns is None and first and "id" in first[0]):
        id_column = "id"

    show = sys.stderr.isatty() if progress is None else progress
    bar = _progress_bar(show, source.estimate_rows() if show else None, skip, "tagging", " rows")
    tagger = _Tagger(model, jobs or default_jobs(), by_paragraph, paragraphs)
    stdout = None if out is not None else getattr(sys.stdout, "buffer", sys.stdout)
    pending: deque = deque()

    def finish(job: Job, result: _Pending) -> None:
        batch = to_batch(job, result.result(), by_paragraph, text_column)
        failed = [i for i, e in enumerate(job.errors) if e is not None]
        for i in failed[: max(0, _ERRORS_SHOWN - len(summary.errors))]:
            where = f"row {job.first + i}"
            if id_column and job.rows[i].get(id_column) not in (None, ""):
                where += f" ({id_column} {job.rows[i][id_column]})"
            summary.errors.append((where, job.errors[i]))
        if spool is not None:
            spool.commit(batch, len(job.rows), len(failed))
        else:
            stdout.write(writer.lines(batch))
            stdout.flush()
        summary.rows += len(job.rows)
        summary.failed += len(failed)
        summary.output_rows += len(batch.rows)
        bar.update(len(job.rows))

    try:
        number = skip + 1
        for chunk in itertools.chain([first] if first else [], todo):
            job = prepare(chunk, number, text_column, max_chars)
            number += len(chunk)
            pending.append((job, tagger.submit(job.texts)))
            while len(pending) >= tagger.window:
                finish(*pending.popleft())
        while pending:
            finish(*pending.popleft())
    except BaseException as e:
        tagger.close(cancel=True)
        bar.close()
        from concurrent.futures.process import BrokenProcessPool

        if isinstance(e, BrokenProcessPool):
            raise JianfuError("a worker process died (out of memory?); the rows tagged so far are kept: "
                              "run the same command with --resume, perhaps with fewer --jobs") from None
        if isinstance(e, OSError) and not isinstance(e, BrokenPipeError):
            kept = "; the rows tagged so far are kept: fix it and run again with --resume" if spool else ""
            raise JianfuError(f"{e.filename or 'input/output'}: {e.strerror or e}{kept}") from None
        raise
    tagger.close()
    bar.close()
    if spool is not None:
        if not spool.parts:  # an empty input still gets a header (or a schema)
            spool.commit(Batch([], [], [], [], []), 0, 0)
        with _progress_bar(show and len(spool.parts) > 20 and out_fmt in ("xlsx", "parquet"), len(spool.parts),
                           0, f"writing {out.name}", " parts") as wbar:
            spool.finish(wbar.update)
    summary.tagged = summary.rows - summary.failed
    summary.seconds = time.perf_counter() - started
    return summary


def _check_output(input_path, output_path, force: bool, resume: bool) -> Path | None:
    """The output file (``None`` for stdout), once it is known that it can be written."""
    if str(output_path) == "-":
        if resume:
            raise JianfuError("--resume needs an output file; stdout cannot be resumed")
        return None
    out = Path(output_path)
    if out.is_dir():
        raise JianfuError(f"{out} is a directory; give an output file name")
    if not out.parent.is_dir():
        raise JianfuError(f"cannot write {out}: folder {out.parent} does not exist")
    if str(input_path) != "-" and Path(input_path).resolve() == out.resolve():
        raise JianfuError("the output would overwrite the input; give another output file")
    if out.exists() and not force:
        raise JianfuError(f"{out} exists; use --force to overwrite it")
    return out
