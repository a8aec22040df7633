"""Word segmentation with jieba's dictionary and algorithm, plus a domain dictionary.

Two implementations of the same segmenter are supported: ``rjieba`` (a binding of jieba-rs,
the Rust port of jieba with the same dictionary and HMM; ~15x faster and no dictionary-load
pause) and the reference ``jieba`` package. ``backend="auto"`` uses rjieba when it is
installed and jieba otherwise; the test suite checks that both agree on the corpus.
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

_CONTENT = re.compile(r"[0-9a-z\u3400-\u9fff\uf900-\ufaff]")


def read_user_dict(path: str | Path) -> list[tuple[str, int | None, str | None]]:
    """Read a jieba user dictionary: one ``word [freq] [tag]`` per line, ``#`` comments."""
    entries = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[2] if len(parts) > 2 else None
        entries.append((parts[0], freq, tag))
    return entries


def read_stopwords(path: str | Path) -> list[str]:
    """Read one stopword per line, ``#`` comments allowed."""
    return [w.strip() for w in Path(path).read_text(encoding="utf-8").splitlines()
            if w.strip() and not w.startswith("#")]


_default_rjieba_taken = False


def _rjieba_instance(rjieba):
    """rjieba's module-level segmenter for the first dictionary a process asks for (it is built
    when rjieba is imported; a second one costs another dictionary load), a new one after that."""
    global _default_rjieba_taken
    if not _default_rjieba_taken:
        _default_rjieba_taken = True
        return rjieba.cut.__self__
    return rjieba.Jieba()


@lru_cache(maxsize=8)
def _engine(backend: str, words: tuple[tuple[str, int | None, str | None], ...]):
    if backend in ("auto", "rjieba"):
        try:
            import rjieba
        except ImportError:
            if backend == "rjieba":
                raise
        else:
            eng = _rjieba_instance(rjieba)
            for w, f, t in words:
                eng.add_word(w, f, t)
            return "rjieba", lambda s: eng.cut(s, hmm=True)
    import jieba

    tok = jieba.Tokenizer()
    tok.initialize()
    for w, f, t in words:
        tok.add_word(w, f, t)
    return "jieba", lambda s: tok.lcut(s, HMM=True)


class Segmenter:
    """Segment normalized text into words, keeping domain terms whole and dropping stopwords.

    Parameters
    ----------
    user_words : sequence of (word, freq, tag)
        Domain dictionary entries added to jieba's dictionary.
    stopwords : iterable of str
        Tokens dropped from :meth:`tokens`.
    backend : {"auto", "rjieba", "jieba"}

    Examples
    --------
    >>> Segmenter([("文山会海", None, None)]).tokens("基层苦于文山会海")
    ['基层', '苦于', '文山会海']
    """

    def __init__(self, user_words: Sequence[tuple] = (), stopwords: Iterable[str] = (),
                 backend: str = "auto"):
        self.user_words = tuple((w, f, t) for w, f, t in user_words)
        self.stopwords = frozenset(stopwords)
        self.backend = backend

    @classmethod
    def from_files(cls, user_dict: str | Path | None, stopwords: str | Path | None,
                   backend: str = "auto") -> "Segmenter":
        return cls(read_user_dict(user_dict) if user_dict else (),
                   read_stopwords(stopwords) if stopwords else (), backend)

    @property
    def engine(self) -> str:
        """Which implementation actually runs: ``"rjieba"`` or ``"jieba"``."""
        return _engine(self.backend, self.user_words)[0]

    def cut(self, text: str) -> list[str]:
        """All tokens jieba produces for ``text``, punctuation and spaces included."""
        return _engine(self.backend, self.user_words)[1](text)

    def is_content(self, token: str) -> bool:
        """Whether ``token`` is a content word: not a stopword, not punctuation or whitespace."""
        return token not in self.stopwords and _CONTENT.search(token) is not None

    def tokens(self, text: str) -> list[str]:
        """Content tokens: no stopwords, no punctuation or whitespace."""
        return [t for t in self.cut(text) if self.is_content(t)]

    def fingerprint(self) -> str:
        """A hash of the dictionary and stopwords, stored with models trained with them."""
        h = hashlib.sha256()
        for w, f, t in self.user_words:
            h.update(f"{w}\t{f}\t{t}\n".encode())
        h.update("\n".join(sorted(self.stopwords)).encode())
        return h.hexdigest()[:16]
