"""Detecting the text encoding of CSV/TSV/TXT files (UTF-8, UTF-8 with BOM, UTF-16, GBK/GB18030)."""
from __future__ import annotations

import codecs
from pathlib import Path

_SAMPLE = 1 << 20

# A corrupt byte or two must not turn a UTF-8 file into GB18030 mojibake: an encoding still wins
# when at most one in this many of the sample's non-ASCII bytes fails to decode. Text in the
# other encoding fails far more often (GBK read as UTF-8 fails on nearly every character).
_TOLERANCE = 50
_ASCII = bytes(range(0x80))


def _errors(sample: bytes, encoding: str) -> int:
    """How many undecodable sequences ``sample`` has in ``encoding`` (0: it decodes cleanly)."""
    try:
        sample.decode(encoding)
        return 0
    except UnicodeDecodeError:
        replaced = sample.decode(encoding, "replace").count("\ufffd")
        # U+FFFD already in the text is not an error
        return max(1, replaced - sample.decode(encoding, "ignore").count("\ufffd"))


def detect_encoding(path: str | Path, sample: bytes | None = None) -> str:
    """The encoding to read ``path`` (or the bytes ``sample``) with.

    A byte-order mark decides first (``utf-8-sig``, ``utf-16``); then ``utf-8-sig`` when the
    sample is UTF-8, allowing a few corrupt bytes (the rows holding them are reported, not the
    whole file misread); then ``gb18030``, a superset of GBK and GB2312, likewise; else
    charset-normalizer's best guess.

    Examples
    --------
    >>> detect_encoding(None, "减负".encode("gbk"))
    'gb18030'
    """
    if sample is None:
        with open(path, "rb") as f:
            sample = f.read(_SAMPLE)
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(sample) >= _SAMPLE:
        # a multi-byte character cut at the end of the sample is not a decoding failure
        cut = sample.rfind(b"\n")
        sample = sample[:cut + 1] if cut > 0 else sample[:-4]
    high = len(sample.translate(None, _ASCII))  # the non-ASCII bytes
    for enc in ("utf-8", "gb18030"):
        if _errors(sample, enc) * _TOLERANCE <= high:
            return "utf-8-sig" if enc == "utf-8" else enc
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    return best.encoding if best else "utf-8-sig"
