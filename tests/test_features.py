import numpy as np
import pytest

from classifier.features import Featurizer, char_ngram_keys, decode_char_key


def test_char_ngrams_do_not_cross_punctuation_or_documents():
    rows, keys = char_ngram_keys(["ab,c", "de"], (1, 2))
    grams = sorted((int(r), decode_char_key(k)) for r, k in zip(rows, keys))
    assert grams == [(0, "a"), (0, "ab"), (0, "b"), (0, "c"), (1, "d"), (1, "de"), (1, "e")]


def test_char_keys_roundtrip():
    rows, keys = char_ngram_keys(["减负𠀋字"], (3, 3))
    assert [decode_char_key(k) for k in keys] == ["减负𠀋", "负𠀋字"]


def _fit():
    texts = ["表格 太多 太多", "会议 太多", "表格 会议"]
    tokens = [t.split() for t in texts]
    return Featurizer(word_ngrams=2, char_ngrams=(1, 2), min_df=1).fit(texts, tokens), texts, tokens


def test_matches_sklearn_tfidf_on_word_unigrams():
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["表格 太多 太多", "会议 太多", "表格 会议", "人手 不足"]
    tokens = [t.split() for t in texts]
    ours = Featurizer(word_ngrams=1, char_ngrams=None, min_df=1).fit(texts, tokens).transform(texts, tokens)
    ref = TfidfVectorizer(analyzer=lambda s: s.split(), sublinear_tf=True).fit(texts)
    theirs = ref.transform(texts)
    order = [ref.vocabulary_[w] for w in sorted(ref.vocabulary_)]
    np.testing.assert_allclose(ours.toarray(), theirs.toarray()[:, order], rtol=1e-5, atol=1e-6)


def test_blocks_are_unit_norm_and_names_roundtrip():
    f, texts, tokens = _fit()
    X = f.transform(texts, tokens).toarray()
    nw = f.n_word_features
    np.testing.assert_allclose(np.linalg.norm(X[:, :nw], axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(X[:, nw:], axis=1), 1, rtol=1e-5)
    names = [f.feature_name(i) for i in range(f.n_features)]
    assert ("word", "表格") in names and ("words", "表格 太多") in names and ("chars", "表格") in names


def test_unknown_and_empty_texts():
    f, _, _ = _fit()
    X = f.transform(["", "完全陌生"], [[], ["完全", "陌生"]])
    assert X.shape == (2, f.n_features) and X.nnz == 0


def test_min_df_filters():
    texts = ["甲 乙", "甲 丙"]
    f = Featurizer(word_ngrams=1, char_ngrams=None, min_df=2).fit(texts, [t.split() for t in texts])
    assert list(f.words_) == ["甲"]


def test_arrays_roundtrip():
    f, texts, tokens = _fit()
    g = Featurizer.from_arrays(f.get_config(), f.arrays())
    assert (f.transform(texts, tokens) != g.transform(texts, tokens)).nnz == 0


@pytest.mark.parametrize("bad", [dict(word_ngrams=3), dict(char_ngrams=(2, 4)), dict(word_ngrams=0, char_ngrams=None)])
def test_bad_parameters(bad):
    with pytest.raises(ValueError):
        Featurizer(**bad)


def test_hash_lookup_for_large_batches_matches_binary_search(monkeypatch):
    import classifier.features as features

    texts = ["表格太多天天填报", "会议一个接一个", "人手不足经费短缺", "数据不共享重复录入"] * 5
    tokens = [list(t) for t in texts]
    f = Featurizer(word_ngrams=2, char_ngrams=(1, 2), min_df=1).fit(texts, tokens)
    probe = texts + ["从未见过的字词组合", "填报会议经费"]
    probe_tokens = [list(t) for t in probe]
    monkeypatch.setattr(features, "HASH_LOOKUP_MIN_KEYS", 10**9)
    binary = f.transform(probe, probe_tokens)
    monkeypatch.setattr(features, "HASH_LOOKUP_MIN_KEYS", 0)
    hashed = f.transform(probe, probe_tokens)
    assert (binary != hashed).nnz == 0 and binary.nnz > 0
