"""TF-IDF features over word n-grams and character n-grams, computed with NumPy.

scikit-learn's ``TfidfVectorizer`` builds every n-gram as a Python string, which made it the
bottleneck once segmentation was fast. Here character n-grams are integer keys computed from
the code points of a whole batch at once (a bigram is ``c1 << 21 | c2``, a trigram
``c1 << 42 | c2 << 21 | c3``; code points fit in 21 bits, so keys of different orders never
collide), and word bigrams are keys of two word ids. The vocabulary is a sorted key array
searched with ``np.searchsorted``: exact (no hashing collisions), vectorized, and every feature
can be turned back into its text for explanations.

The weighting follows ``TfidfVectorizer(sublinear_tf=True, smooth_idf=True)``; the word block and
the character block are L2-normalized separately and concatenated, as a ``FeatureUnion`` of the
two would be.
"""
from __future__ import annotations

import itertools
from collections import Counter
from typing import Callable, Sequence

import numpy as np

_BITS = 21
_MASK = (1 << _BITS) - 1


def _content_table() -> np.ndarray:
    """Code points that may take part in a character n-gram: digits, letters and CJK."""
    table = np.zeros(0x110000, dtype=bool)
    for lo, hi in [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
                   (0xF900, 0xFAFF), (0x20000, 0x2FA1F)]:
        table[lo:hi + 1] = True
    return table


_CONTENT = _content_table()


def _codepoints(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of all texts, joined by a separator, and the document of each position."""
    joined = "\x00".join(texts)
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
    docs = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)[: len(cps)]
    return cps, docs


def char_ngram_keys(texts: Sequence[str], ngram_range: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """All character n-gram keys of ``texts`` with the document index of each.

    N-grams never cross a non-content character (punctuation, space, the document separator).
    """
    lo, hi = ngram_range
    if not texts:
        return np.zeros(0, np.int64), np.zeros(0, np.uint64)
    cps, docs = _codepoints(texts)
    ok = _CONTENT[cps]
    rows, keys = [], []
    for n in range(lo, hi + 1):
        if len(cps) < n:
            continue
        m = len(cps) - n + 1
        valid = ok[:m].copy()
        key = cps[:m].copy()
        for k in range(1, n):
            valid &= ok[k:k + m]
            key = (key << np.uint64(_BITS)) | cps[k:k + m]
        rows.append(docs[:m][valid])
        keys.append(key[valid])
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.uint64)
    return np.concatenate(rows), np.concatenate(keys)


def decode_char_key(key: int) -> str:
    chars = []
    key = int(key)
    while key:
        chars.append(chr(key & _MASK))
        key >>= _BITS
    return "".join(reversed(chars))


#: Above this many keys a lookup goes through a hash table (:class:`~classifier.keytable.KeyTable`),
#: several times faster than binary search on a large vocabulary; below it, binary search, which
#: needs no table (a single prediction does not wait for one to be built).
HASH_LOOKUP_MIN_KEYS = 20_000


def _lookup(vocab: np.ndarray, keys: np.ndarray, index=None) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``keys`` in the sorted ``vocab`` and a mask of those found.

    ``index`` is a callable returning a :class:`~classifier.keytable.KeyTable` over ``vocab``,
    used for large batches.
    """
    if len(vocab) == 0 or len(keys) == 0:
        return np.zeros(len(keys), np.int64), np.zeros(len(keys), bool)
    if index is not None and len(keys) >= HASH_LOOKUP_MIN_KEYS:
        pos = index().get(keys)
        return pos, pos >= 0
    pos = np.searchsorted(vocab, keys)
    pos = np.minimum(pos, len(vocab) - 1)
    return pos, vocab[pos] == keys


def _doc_freq(rows: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct keys and the number of documents each occurs in."""
    if len(keys) == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    order = np.lexsort((keys, rows))
    r, k = rows[order], keys[order]
    first = np.ones(len(k), bool)
    first[1:] = (r[1:] != r[:-1]) | (k[1:] != k[:-1])
    return np.unique(k[first], return_counts=True)


class Featurizer:
    """Turns normalized texts and their tokens into TF-IDF vectors.

    Parameters
    ----------
    word_ngrams : int
        1 for word unigrams, 2 for unigrams and bigrams, 0 for no word features.
    char_ngrams : tuple (min_n, max_n) or None
        Character n-gram orders (at most 3), or None for no character features.
    min_df : int
        Keep n-grams that occur in at least this many training documents.
    char_weight : float
        Weight of the (separately L2-normalized) character block relative to the word block.
    """

    def __init__(self, word_ngrams: int = 2, char_ngrams: tuple[int, int] | None = (1, 2),
                 min_df: int = 2, char_weight: float = 1.0):
        if word_ngrams not in (0, 1, 2):
            raise ValueError("word_ngrams must be 0, 1 or 2")
        if char_ngrams is not None and not (1 <= char_ngrams[0] <= char_ngrams[1] <= 3):
            raise ValueError("char_ngrams must be (min_n, max_n) with 1 <= min_n <= max_n <= 3")
        if not word_ngrams and char_ngrams is None:
            raise ValueError("need word or character features")
        self.word_ngrams = word_ngrams
        self.char_ngrams = tuple(char_ngrams) if char_ngrams else None
        self.min_df = min_df
        self.char_weight = char_weight

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], tokens: Sequence[Sequence[str]],
            keep: Callable[[str], bool] | None = None) -> "Featurizer":
        """Learn the vocabulary and IDF weights.

        ``tokens`` are the segmenter's raw output; ``keep`` says which tokens are words (not
        stopwords or punctuation). Tokens it rejects get no feature and act as gaps: word bigrams
        never span them, so inference needs no per-token filtering.
        """
        n = len(texts)
        if self.word_ngrams:
            df = Counter(w for toks in tokens for w in set(toks))
            self.words_ = np.array(sorted(w for w, c in df.items()
                                          if c >= self.min_df and (keep is None or keep(w))), dtype=str)
        else:
            self.words_ = np.array([], dtype=str)
        self._word_index = {w: i for i, w in enumerate(self.words_.tolist())}
        blocks = []
        wrows, wids = self._word_ids(tokens)
        uni_keys, uni_df = _doc_freq(wrows, wids.astype(np.uint64))
        blocks.append(uni_df)
        self.bigram_keys_ = np.zeros(0, np.uint64)
        if self.word_ngrams == 2:
            brows, bkeys = self._bigram_keys(wrows, wids)
            keys, df = _doc_freq(brows, bkeys)
            keep = df >= self.min_df
            self.bigram_keys_ = keys[keep]
            blocks.append(df[keep])
        self.char_keys_ = np.zeros(0, np.uint64)
        if self.char_ngrams:
            crows, ckeys = char_ngram_keys(texts, self.char_ngrams)
            keys, df = _doc_freq(crows, ckeys)
            keep = df >= self.min_df
            self.char_keys_ = keys[keep]
            blocks.append(df[keep])
        df_all = np.concatenate(blocks).astype(np.float64) if blocks else np.zeros(0)
        self.idf_ = (np.log((1 + n) / (1 + df_all)) + 1).astype(np.float32)
        self.n_documents_ = n
        return self

    def warm_up(self) -> "Featurizer":
        """Build the lookup structures for large batches now (the character table and the hash
        tables), e.g. before forking worker processes, which then share them."""
        if self.char_ngrams and len(self.char_keys_):
            self._lookup_chars(self.char_keys_[:1])
            self._index("char_multi")()
        if self.word_ngrams == 2 and len(self.bigram_keys_):
            self._index("bigram")()
        return self

    def _index(self, name: str):
        """A function returning (and caching) a hash table over one of the key arrays."""
        def get():
            cache = self.__dict__.setdefault("_indexes", {})
            if name not in cache:
                from classifier.keytable import KeyTable

                keys = self.bigram_keys_ if name == "bigram" else self.char_keys_[self._n_uni:]
                cache[name] = KeyTable(keys)
            return cache[name]
        return get

    def _lookup_chars(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Like :func:`_lookup` on ``char_keys_``; single characters (keys below 2**21, the head
        of the sorted vocabulary) are found by direct indexing, a third of the keys at a
        fraction of a binary search's cost."""
        table = getattr(self, "_char_table", None)
        if table is None:
            n_uni = int(np.searchsorted(self.char_keys_, np.uint64(1 << _BITS)))
            uni = self.char_keys_[:n_uni].astype(np.int64)
            table = np.full(int(uni.max()) + 2 if n_uni else 1, -1, np.int64)
            table[uni] = np.arange(n_uni)
            self._char_table, self._n_uni = table, n_uni
        single = keys < np.uint64(len(table))
        pos = np.full(len(keys), -1, np.int64)
        pos[single] = table[keys[single].astype(np.int64)]
        multi = ~single & (keys >= np.uint64(1 << _BITS))
        if multi.any():
            p, f = _lookup(self.char_keys_[self._n_uni:], keys[multi], self._index("char_multi"))
            pos[multi] = np.where(f, p + self._n_uni, -1)
        found = pos >= 0
        return pos, found

    @property
    def n_word_features(self) -> int:
        return len(self.words_) + len(self.bigram_keys_)

    @property
    def n_features(self) -> int:
        return self.n_word_features + len(self.char_keys_)

    def _word_ids(self, tokens: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Document index and word id of every in-vocabulary token (-1 marks a gap)."""
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        # map over a C-level dict.get: no Python frame per token
        ids = np.fromiter(map(self._word_index.get, itertools.chain.from_iterable(tokens), itertools.repeat(-1)),
                          dtype=np.int64, count=int(lengths.sum()))
        rows = np.repeat(np.arange(len(tokens), dtype=np.int64), lengths)
        return rows, ids

    def _bigram_keys(self, rows: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(ids) < 2:
            return np.zeros(0, np.int64), np.zeros(0, np.uint64)
        ok = (rows[1:] == rows[:-1]) & (ids[1:] >= 0) & (ids[:-1] >= 0)
        w = np.uint64(max(len(self.words_), 1))
        keys = ids[:-1][ok].astype(np.uint64) * w + ids[1:][ok].astype(np.uint64)
        return rows[:-1][ok], keys

    # -- transforming ------------------------------------------------------------------------
    def transform_coo(self, texts: Sequence[str], tokens: Sequence[Sequence[str]]
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """TF-IDF entries ``(rows, cols, values)``, sorted by row then column."""
        parts_r, parts_c = [], []
        if self.word_ngrams:
            wrows, wids = self._word_ids(tokens)
            if self.word_ngrams == 2:
                brows, bkeys = self._bigram_keys(wrows, wids)
                pos, found = _lookup(self.bigram_keys_, bkeys, self._index("bigram"))
                parts_r.append(brows[found])
                parts_c.append(pos[found] + len(self.words_))
            known = wids >= 0
            parts_r.append(wrows[known])
            parts_c.append(wids[known])
        if self.char_ngrams:
            crows, ckeys = char_ngram_keys(texts, self.char_ngrams)
            pos, found = self._lookup_chars(ckeys)
            parts_r.append(crows[found])
            parts_c.append(pos[found] + self.n_word_features)
        rows = np.concatenate(parts_r) if parts_r else np.zeros(0, np.int64)
        cols = np.concatenate(parts_c) if parts_c else np.zeros(0, np.int64)
        nf = max(self.n_features, 1)
        # one key per (row, column); 32-bit keys when they fit sort three times faster
        dtype = np.int32 if len(texts) * nf < 2**31 else np.int64
        uniq, counts = np.unique(rows.astype(dtype) * dtype(nf) + cols.astype(dtype), return_counts=True)
        rows, cols = np.divmod(uniq, dtype(nf))
        rows, cols = rows.astype(np.int64), cols.astype(np.int64)
        # sublinear tf 1 + log(count), from a table of the counts that occur
        sublinear = (1.0 + np.log(np.arange(1, int(counts.max(initial=1)) + 1))).astype(np.float32)
        vals = sublinear[counts - 1] * self.idf_[cols]
        group = rows * 2 + (cols >= self.n_word_features)
        sq = np.bincount(group, weights=vals.astype(np.float64) ** 2, minlength=2 * len(texts))
        with np.errstate(divide="ignore"):
            scale = (1.0 / np.sqrt(sq)).astype(np.float32)  # per (document, block); inf where empty: unused
        if self.char_weight != 1.0:
            scale[1::2] *= np.float32(self.char_weight)
        vals *= scale[group]
        return rows, cols, vals

    def transform(self, texts: Sequence[str], tokens: Sequence[Sequence[str]]):
        """TF-IDF matrix as ``scipy.sparse.csr_matrix`` (for training and scikit-learn users)."""
        from scipy import sparse

        rows, cols, vals = self.transform_coo(texts, tokens)
        indptr = np.zeros(len(texts) + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=len(texts)), out=indptr[1:])
        return sparse.csr_matrix((vals, cols, indptr), shape=(len(texts), self.n_features))

    # -- names -------------------------------------------------------------------------------
    def feature_name(self, col: int) -> tuple[str, str]:
        """``(kind, text)`` of feature ``col``: kind is ``"word"``, ``"words"`` or ``"chars"``."""
        col = int(col)
        nw = len(self.words_)
        if col < nw:
            return "word", str(self.words_[col])
        if col < self.n_word_features:
            key = int(self.bigram_keys_[col - nw])
            a, b = divmod(key, max(nw, 1))
            return "words", f"{self.words_[a]} {self.words_[b]}"
        return "chars", decode_char_key(self.char_keys_[col - self.n_word_features])

    # -- persistence ---------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"word_ngrams": self.word_ngrams,
                "char_ngrams": list(self.char_ngrams) if self.char_ngrams else None,
                "min_df": self.min_df, "char_weight": self.char_weight}

    def arrays(self) -> dict[str, np.ndarray]:
        return {"words": self.words_, "bigram_keys": self.bigram_keys_,
                "char_keys": self.char_keys_, "idf": self.idf_}

    @classmethod
    def from_arrays(cls, config: dict, arrays: dict[str, np.ndarray], n_documents: int = 0) -> "Featurizer":
        cfg = dict(config)
        cfg["char_ngrams"] = tuple(cfg["char_ngrams"]) if cfg.get("char_ngrams") else None
        f = cls(**cfg)
        f.words_ = arrays["words"].astype(str)
        f._word_index = {w: i for i, w in enumerate(f.words_.tolist())}
        f.bigram_keys_ = arrays["bigram_keys"].astype(np.uint64)
        f.char_keys_ = arrays["char_keys"].astype(np.uint64)
        f.idf_ = arrays["idf"].astype(np.float32)
        f.n_documents_ = n_documents
        return f
