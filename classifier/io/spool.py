"""The partial output of a tagging run: committed parts, so that a run can stop and resume.

While a run writes ``out.csv``, the output does not exist yet. Next to it, in the same folder,
a hidden directory ``.out.csv.partial/`` holds

- ``manifest.json``: what is being tagged (input path, size and modification time; formats,
  options; a fingerprint of the model);
- ``part-000000.<ext>``, ``part-000001.<ext>`` …: the tagged rows of each chunk, in order, each
  written under a temporary name and renamed when complete;
- ``parts.jsonl``: one line per committed part (its input rows, output rows, failures and
  columns), appended after the part's rename.

A part is committed when its line is in ``parts.jsonl``; anything else in the directory (a part
cut short by an interruption) is ignored and deleted on resume. When every row is tagged, the
parts are assembled into ``.out.csv.tmp`` in the same folder, which is renamed to ``out.csv``
(an atomic step), and the directory is removed. So ``out.csv`` exists only when complete, and
``--resume`` skips exactly the input rows that the committed parts hold: they are the first
rows of the input, since parts are committed in input order.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from classifier.errors import JianfuError
from classifier.io.writers import Batch, PartWriter

MANIFEST, LOG = "manifest.json", "parts.jsonl"


@dataclass
class Part:
    """What one committed part holds."""

    index: int
    file: str
    rows_in: int
    rows_out: int
    failed: int
    columns: list[str]


class Spool:
    """The partial-output directory of ``output``, written through ``writer``."""

    def __init__(self, output: Path, writer: PartWriter):
        self.output = output
        self.writer = writer
        self.dir = output.parent / f".{output.name}.partial"
        self.parts: list[Part] = []

    def exists(self) -> bool:
        return self.dir.is_dir()

    def start(self, manifest: dict) -> None:
        """Begin a new partial output (removing an old one)."""
        self.discard()
        self.dir.mkdir()
        (self.dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        self.parts = []

    def resume(self, manifest: dict) -> list[Part]:
        """The committed parts of the partial output, after checking it was made by the same
        command on the same input; uncommitted files are deleted."""
        try:
            old = json.loads((self.dir / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise JianfuError(f"{self.dir} is not a partial output jianfu can resume; "
                              f"run with --force instead of --resume to start over") from None
        changed = sorted(k for k in set(old) | set(manifest) if old.get(k) != manifest.get(k))
        if changed:
            raise JianfuError(f"the partial output {self.dir} was made with a different "
                              f"{', '.join(changed)}; run the same command as before with --resume, "
                              f"or use --force to start over")
        parts = []
        try:
            with open(self.dir / LOG, encoding="utf-8") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        break  # the line being written when the run stopped
                    part = Part(**entry)
                    if part.index != len(parts) or not (self.dir / part.file).is_file():
                        break
                    parts.append(part)
        except FileNotFoundError:
            pass
        keep = {MANIFEST, LOG} | {p.file for p in parts}
        for path in self.dir.iterdir():
            if path.name not in keep:
                path.unlink()
        # rewrite the log so that a torn last line does not stay in front of new ones
        self._write_log(parts)
        self.parts = parts
        return parts

    def _write_log(self, parts: list[Part]) -> None:
        tmp = self.dir / (LOG + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for p in parts:
                f.write(json.dumps(p.__dict__, ensure_ascii=False) + "\n")
        os.replace(tmp, self.dir / LOG)

    def commit(self, batch: Batch, rows_in: int, failed: int) -> Part:
        """Write ``batch`` as the next part and record it."""
        index = len(self.parts)
        name = f"part-{index:06d}{self.writer.ext}"
        tmp = self.dir / (name + ".tmp")
        columns = self.writer.write(tmp, batch)
        os.replace(tmp, self.dir / name)
        part = Part(index, name, rows_in, len(batch.rows), failed, columns)
        with open(self.dir / LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps(part.__dict__, ensure_ascii=False) + "\n")
        self.parts.append(part)
        return part

    def finish(self, progress: Callable[[int], None] | None = None) -> None:
        """Assemble the parts into the output file, atomically, and remove the partial output."""
        tmp = self.output.parent / f".{self.output.name}.tmp"
        try:
            self.writer.assemble([(self.dir / p.file, p.columns) for p in self.parts], tmp, progress)
            os.replace(tmp, self.output)
        finally:
            if tmp.exists():
                tmp.unlink()
        self.discard()

    def discard(self) -> None:
        if self.dir.is_dir():
            shutil.rmtree(self.dir)
