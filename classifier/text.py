"""Text normalization and splitting into paragraphs and sentences.

Normalization runs before segmentation and feature extraction, so that full-width and
half-width forms, traditional and simplified characters, and HTML debris map to one form.
"""
from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

_TAG = re.compile(r"<[^>]{0,200}>")
_URL = re.compile(r"(?:https?://|www\.)[^\s\u4e00-\u9fff]+", re.IGNORECASE)
# Blocks holding the characters NFKC changes in Chinese text: Latin-1 symbols, general
# punctuation and letter-like forms, enclosed numbers (①), Kangxi radicals, CJK compatibility
# forms, full-width forms. Mapping those characters one by one with str.translate gives NFKC's
# result (composition of combining sequences aside) at a fraction of its cost.
_COMPAT_BLOCKS = [(0x00A0, 0x00FF), (0x2000, 0x2BFF), (0x2E80, 0x2FDF), (0x3000, 0x3000),
                  (0x3200, 0x33FF), (0xF900, 0xFAFF), (0xFB00, 0xFB4F), (0xFE10, 0xFE6F),
                  (0xFF00, 0xFFEF)]
_COMPAT = re.compile("[" + "".join(f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in _COMPAT_BLOCKS) + "]")


@lru_cache(maxsize=1)
def _compat_table() -> dict[int, str]:
    """Each character of the compatibility blocks that NFKC changes, mapped to its NFKC form."""
    table = {}
    for lo, hi in _COMPAT_BLOCKS:
        for cp in range(lo, hi + 1):
            c = chr(cp)
            n = unicodedata.normalize("NFKC", c)
            if n != c:
                table[cp] = n
    return table
_SPACE = re.compile(r"[ \t\u3000\xa0]+")
_NEWLINES = re.compile(r"\s*\n\s*")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;…])|\n")
_PARAGRAPH = re.compile(r"\n\s*\n|\n(?=\s*[一二三四五六七八九十]+、)|\n")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _traditional():
    """A pattern matching the characters OpenCC's t2s changes (about 3,800), so that the
    conversion runs only on texts that contain one: most input is simplified already."""
    chars = [chr(c) for c in range(0x3400, 0x4DC0)] + [chr(c) for c in range(0x4E00, 0xA000)]
    converted = _t2s().convert("\n".join(chars)).split("\n")
    changed = [a for a, b in zip(chars, converted) if a != b]
    return re.compile("[" + "".join(changed) + "]")


@lru_cache(maxsize=1)
def _compat_arrays():
    """A code point → code point array for the one-to-one NFKC mappings of the basic plane (a
    vectorized lookup: ``str.translate`` goes through a Python dict per character), and a
    pattern for the characters that expand to several (``…`` → ``...``)."""
    import numpy as np

    single = np.arange(0x10000, dtype=np.uint32)
    multi = []
    for cp, rep in _compat_table().items():
        if len(rep) == 1 and ord(rep) < 0x10000:
            single[cp] = ord(rep)
        else:
            multi.append(re.escape(chr(cp)))
    return single, re.compile("[" + "".join(multi) + "]")


def _to_compatible(text: str) -> str:
    """NFKC of the compatibility characters of ``text`` (see :data:`_COMPAT_BLOCKS`)."""
    import numpy as np

    single, multi = _compat_arrays()
    if multi.search(text):
        return text.translate(_compat_table())
    cps = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    if cps.max() >= 0x10000:
        return text.translate(_compat_table())
    return single[cps].tobytes().decode("utf-32-le")


def normalize(text: str, traditional: bool = True) -> str:
    """Return ``text`` in one canonical form.

    Full-width forms become half-width (NFKC), HTML tags and entities and URLs are removed,
    runs of spaces collapse, ASCII is lower-cased, and traditional characters become
    simplified (``traditional=False`` turns that off). Line breaks are kept.

    Examples
    --------
    >>> normalize("基層減負，ＡＰＰ太多 <b>http://x.cn/a</b>")
    '基层减负,app太多'
    """
    if not text:
        return ""
    text = _markup(text)
    if _COMPAT.search(text):
        text = _to_compatible(text)
    text = text.lower()
    if traditional and _traditional().search(text):
        text = _t2s().convert(text)
    text = _SPACE.sub(" ", text)
    text = _NEWLINES.sub("\n", text)
    return text.strip()


def _markup(text: str) -> str:
    """Steps of :func:`normalize` that only some texts need: HTML and URLs."""
    if "<" in text or "&" in text:
        text = html.unescape(_TAG.sub(" ", text))
    if "http" in text or "www." in text or "HTTP" in text:
        text = _URL.sub(" ", text)
    return text


def normalize_many(texts, traditional: bool = True) -> list[str]:
    """``[normalize(t, traditional) for t in texts]``, several times faster on large batches.

    The texts are joined with NUL characters (which no step changes or matches, and which stops
    the lower-casing of a final sigma from looking across texts) and each step runs once over the
    whole batch: one vectorized compatibility mapping, one ``lower``, one search for
    traditional characters, one pass of each whitespace rule. A batch that holds a NUL itself,
    or traditional characters, takes the text-by-text route for the steps that need it.
    """
    texts = list(texts)
    if len(texts) < 8 or any("\x00" in t for t in texts if t):
        return [normalize(t, traditional) for t in texts]
    texts = [_markup(t) if t else "" for t in texts]
    import numpy as np

    joined = "\x00".join(texts)
    if _COMPAT.search(joined):
        single, multi = _compat_arrays()
        cps = np.frombuffer(joined.encode("utf-32-le"), dtype="<u4")
        mapped = np.where(cps < 0x10000, single[np.minimum(cps, 0xFFFF)], cps)
        joined = mapped.astype("<u4").tobytes().decode("utf-32-le")
        if multi.search(joined):
            table = _compat_table()
            joined = multi.sub(lambda m: table[ord(m.group())], joined)
    joined = joined.lower()
    if traditional and _traditional().search(joined):
        convert, find = _t2s().convert, _traditional().search
        joined = "\x00".join(convert(t) if find(t) else t for t in joined.split("\x00"))
    # after the compatibility mapping only spaces and tabs are left for _SPACE to change
    if "  " in joined or "\t" in joined:
        joined = _SPACE.sub(" ", joined)
    if "\n" in joined:
        joined = _NEWLINES.sub("\n", joined)
    return [t.strip() for t in joined.split("\x00")]


_END_PUNCTUATION = ("。", "！", "？", "!", "?", "；", ";", "…", ".")


def split_paragraphs(text: str, heading_chars: int = 30) -> list[str]:
    """Split a document into non-empty paragraphs (one per line or blank-line block).

    A heading (a line of at most ``heading_chars`` characters without end punctuation, such as
    ``(二)信息不对称`` or a message's title) is joined to the paragraph after it: it says what
    the paragraph is about but is no evidence on its own. ``heading_chars=0`` keeps every line.

    Examples
    --------
    >>> split_paragraphs("二、存在的问题\n表格太多，会议太多。\n\n人手不足。")
    ['二、存在的问题\n表格太多，会议太多。', '人手不足。']
    """
    out, pending = [], []
    for p in _PARAGRAPH.split(text):
        p = p.strip() if p else ""
        if not p:
            continue
        if len(p) <= heading_chars and not p.endswith(_END_PUNCTUATION):
            pending.append(p)
            continue
        out.append("\n".join(pending + [p]))
        pending = []
    if pending:
        out.append("\n".join(pending))
    return out


def split_sentences(text: str) -> list[str]:
    """Split text into sentences at Chinese and Western end punctuation and line breaks."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]
