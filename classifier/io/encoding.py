"""Detecting the text encoding of CSV/TXT files (UTF-8, UTF-8 with BOM, GBK/GB18030)."""
from __future__ import annotations

from pathlib import Path

_SAMPLE = 1 << 20


def detect_encoding(path: str | Path, sample: bytes | None = None) -> str:
    """The encoding to read ``path`` with: ``utf-8-sig`` when it decodes as UTF-8, else ``gb18030``
    when that decodes (a superset of GBK and GB2312), else charset-normalizer's best guess."""
    if sample is None:
        with open(path, "rb") as f:
            sample = f.read(_SAMPLE)
    for enc in ("utf-8", "gb18030"):
        try:
            sample.decode(enc)
            return "utf-8-sig" if enc == "utf-8" else enc
        except UnicodeDecodeError as e:
            # a multi-byte character cut at the end of the sample is not a decoding failure
            if e.start >= len(sample) - 4 and len(sample) >= _SAMPLE:
                return "utf-8-sig" if enc == "utf-8" else enc
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    return best.encoding if best else "utf-8"
