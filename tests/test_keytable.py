import numpy as np
import pytest

from classifier.keytable import EMPTY, KeyTable


def _binary_search(vocab, keys):
    order = np.argsort(vocab)
    pos = np.minimum(np.searchsorted(vocab[order], keys), len(vocab) - 1)
    return np.where(vocab[order][pos] == keys, order[pos], -1)


@pytest.mark.parametrize("n", [0, 1, 5, 1000, 50_000])
def test_get_finds_every_key_and_only_them(n):
    rng = np.random.default_rng(n)
    vocab = np.unique(rng.integers(0, 2**62, n, dtype=np.uint64))
    rng.shuffle(vocab)  # positions refer to the order given, sorted or not
    queries = np.concatenate([vocab, rng.integers(0, 2**62, 3 * n + 10, dtype=np.uint64), vocab[: n // 2]])
    pos = KeyTable(vocab).get(queries)
    if n == 0:
        assert (pos == -1).all()
        return
    assert pos.tolist() == _binary_search(vocab, queries).tolist()
    assert (vocab[pos[: len(vocab)]] == vocab).all()


def test_keys_sharing_a_slot_are_kept_apart():
    # 40 keys whose home slot is the same in a table of their size, plus absent keys that land there
    candidates = np.arange(1, 2_000_000, dtype=np.uint64)
    probe = KeyTable(candidates[:40])
    home = probe._slots(candidates)
    same = candidates[home == home[0]]
    keys, absent = same[:40], same[40:60]
    assert len(keys) == 40 and len(absent) == 20
    table = KeyTable(keys)
    assert len(set(table._slots(keys).tolist())) == 1
    assert table.get(keys[::-1]).tolist() == list(range(39, -1, -1))
    assert (table.get(absent) == -1).all()
    assert len(table) == 40


def test_n_gram_keys_from_real_text():
    from classifier.features import char_ngram_keys

    texts = ["基层减负，表格太多，会议太多。", "人手不足，经费紧张", "信息不对称：政策文件看不到"]
    _, keys = char_ngram_keys(texts, (1, 3))
    vocab = np.unique(keys)
    assert KeyTable(vocab).get(keys).tolist() == np.searchsorted(vocab, keys).tolist()


def test_refuses_duplicates_and_the_empty_marker():
    with pytest.raises(ValueError, match="distinct"):
        KeyTable(np.array([3, 5, 3], np.uint64))
    with pytest.raises(ValueError, match="distinct"):
        KeyTable(np.array([3, 3, 5], np.uint64))  # sorted, with a repeat
    with pytest.raises(ValueError, match="empty"):
        KeyTable(np.array([1, EMPTY], np.uint64))
