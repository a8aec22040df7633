"""Text of the documents in a folder: ``.txt``, ``.md``, ``.docx`` (python-docx) and ``.pdf`` (pypdf).

Each document becomes one row ``{"path": <path relative to the folder>, "text": <its text>}``;
a document whose text cannot be extracted (damaged, encrypted, a scan without a text layer)
becomes a :class:`~classifier.io.readers.BadRow` saying why.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Iterator

from classifier.io.readers import BadRow, Source

#: Extensions read from a folder.
DOCUMENT_EXTENSIONS = (".txt", ".md", ".docx", ".pdf")

_END = re.compile(r"[。！？!?；;：:…」』”’）)】]$")
_HEADING = re.compile(r"^\s*(?:[一二三四五六七八九十百]+、|[（(][一二三四五六七八九十]+[）)]|\d+[.、．]|第[一二三四五六七八九十百\d]+[章节条部分])")
_PAGE_NUMBER = re.compile(r"^\s*[-—–]?\s*(?:第\s*)?\d{1,4}\s*(?:页)?\s*[-—–]?\s*$")


class DocumentError(Exception):
    """The text of a document cannot be extracted; the message says why."""


def list_documents(root: Path) -> list[Path]:
    """The documents under ``root``, in path order. Hidden files and folders and Office lock
    files (``~$name.docx``) are not documents."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith((".", "~$")) or not name.lower().endswith(DOCUMENT_EXTENSIONS):
                continue
            found.append(Path(dirpath) / name)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def read_directory(root: Path, text_column: str = "text") -> Source:
    """A :class:`~classifier.io.readers.Source` with one row per document under ``root``."""
    paths = list_documents(root)
    fingerprint = {"path": str(root.resolve()), "files": len(paths),
                   "size": sum(p.stat().st_size for p in paths),
                   "mtime_ns": max((p.stat().st_mtime_ns for p in paths), default=0)}
    return Source(str(root), "dir", _rows(root, paths, text_column), ["path", text_column],
                  fingerprint=fingerprint, count=lambda: len(paths))


def _rows(root: Path, paths: list[Path], text_column: str) -> Iterator[dict]:
    for p in paths:
        rel = p.relative_to(root).as_posix()
        try:
            yield {"path": rel, text_column: extract_text(p)}
        except DocumentError as e:
            yield BadRow({"path": rel, text_column: ""}, f"{rel}: {e}")


def extract_text(path: str | Path) -> str:
    """The text of one ``.txt``, ``.md``, ``.docx`` or ``.pdf`` file.

    Raises
    ------
    DocumentError
        When the file cannot be read or holds no text.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".txt", ".md"):
            return _plain(path)
        if suffix == ".docx":
            return _docx(path)
        if suffix == ".pdf":
            return _pdf(path)
    except DocumentError:
        raise
    except OSError as e:
        raise DocumentError(f"cannot be read ({e.strerror or e})") from None
    raise DocumentError(f"not a document type jianfu reads ({', '.join(DOCUMENT_EXTENSIONS)})")


def _plain(path: Path) -> str:
    from classifier.io.encoding import detect_encoding

    data = path.read_bytes()
    enc = detect_encoding(path, data[: 1 << 20])
    try:
        return data.decode(enc)
    except UnicodeDecodeError as e:
        raise DocumentError(f"bytes that are not valid {enc} at byte {e.start}") from None


def _docx(path: Path) -> str:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, OSError) as e:
        raise DocumentError(f"not a readable .docx file ({type(e).__name__}: {e})") from None
    except Exception as e:  # a zip that is not a Word document fails deep inside lxml/zipfile
        raise DocumentError(f"not a readable .docx file ({type(e).__name__}: {e})") from None
    lines = []
    for block in document.iter_inner_content():
        if hasattr(block, "rows"):  # a table: one line per row, cells separated by tabs
            for row in block.rows:
                cells = []
                for cell in row.cells:
                    text = cell.text.strip()
                    if not cells or text != cells[-1]:  # a merged cell repeats itself
                        cells.append(text)
                lines.append("\t".join(cells))
        else:
            lines.append(block.text)
    return "\n".join(lines)


def _pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    # pypdf logs every oddity of real-world PDFs; the row's error says what matters
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError("the PDF is encrypted; save an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as e:
        raise DocumentError(f"not a readable PDF ({type(e).__name__}: {e})") from None
    text = reflow("\n".join(pages))
    if not text.strip():
        raise DocumentError("no text layer (a scanned PDF?); run it through OCR first")
    return text


def reflow(text: str) -> str:
    """Join the hard-wrapped lines of PDF text back into paragraphs.

    A line ends its paragraph when it ends with closing punctuation (。！？：…) or the next
    line starts a numbered heading (一、 （二） 3. 第四条), and a short heading line is a paragraph
    of its own; page-number lines are dropped.

    Examples
    --------
    >>> reflow("基层干部反映每周要\\n填很多表格。\\n- 2 -\\n二、工作要求")
    '基层干部反映每周要填很多表格。\\n二、工作要求'
    """
    paragraphs, current = [], ""
    for line in text.splitlines():
        line = line.strip()
        if not line or _PAGE_NUMBER.match(line):
            if not line and current:
                paragraphs.append(current)
                current = ""
            continue
        if current and _HEADING.match(line):
            paragraphs.append(current)
            current = ""
        if current and current[-1].isascii() and current[-1].isalnum() and line[0].isascii():
            current += " "
        current += line
        # a line that ends a sentence, or a short numbered heading, ends its paragraph
        if _END.search(line) or (len(line) <= 30 and _HEADING.match(line)):
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return "\n".join(paragraphs)
