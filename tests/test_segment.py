import re
import json

import pytest

from classifier import config
from classifier.estimator import default_segmenter
from classifier.segment import Segmenter, read_user_dict
from classifier.text import normalize

DOMAIN_TERMS = ["文山会海", "层层加码", "指尖上的形式主义", "属地管理", "一表通", "网格员", "填表报数", "信息孤岛"]


@pytest.mark.parametrize("backend", ["rjieba", "jieba"])
@pytest.mark.parametrize("term", DOMAIN_TERMS)
def test_domain_terms_stay_whole(backend, term):
    seg = Segmenter.from_files(config.USER_DICT_FILE, config.STOPWORDS_FILE, backend=backend)
    text = normalize(f"基层反映{term}问题比较突出")
    assert term in seg.tokens(text)


def test_without_dictionary_some_terms_split():
    # the dictionary is what keeps them whole: without it jieba splits at least one
    seg = Segmenter(backend="jieba")
    assert any(term not in seg.tokens(f"基层反映{term}问题") for term in DOMAIN_TERMS)


def test_stopwords_and_punctuation_dropped_negation_kept():
    seg = default_segmenter()
    toks = seg.tokens(normalize("我们这里没有形式主义的问题，大家都实干！"))
    assert "的" not in toks and "," not in toks and "!" not in toks
    assert "没有" in toks and "形式主义" in toks


def test_user_dict_parsing(tmp_path):
    p = tmp_path / "d.txt"
    p.write_text("# comment\n文山会海 100 n\n一表通\n\n", encoding="utf-8")
    assert read_user_dict(p) == [("文山会海", 100, "n"), ("一表通", None, None)]


def test_rjieba_agrees_with_jieba_on_corpus():
    """rjieba is used for speed; jieba is the reference. They must segment the corpus alike."""
    texts = []
    for name in ("train.jsonl", "test.jsonl"):
        path = config.DATA_DIR / name
        if path.exists():
            texts += [json.loads(l)["text"] for l in path.open(encoding="utf-8") if l.strip()]
    if not texts:
        from tests.conftest import TINY
        texts = [t for t, _ in TINY]
    fast = Segmenter.from_files(config.USER_DICT_FILE, config.STOPWORDS_FILE, backend="rjieba")
    ref = Segmenter.from_files(config.USER_DICT_FILE, config.STOPWORDS_FILE, backend="jieba")
    assert fast.engine == "rjieba" and ref.engine == "jieba"
    norm = [normalize(t) for t in texts]
    han = re.compile(r"[\u3400-\u9fff]")

    def chinese(tokens):
        return [t for t in tokens if han.search(t)]

    # jieba splits ASCII runs at '-' and similar ("jc-2024-05"), rjieba keeps them whole; the
    # Chinese tokens, which carry the categories, must agree on (nearly) every text
    differ = [t for t in norm if chinese(fast.tokens(t)) != chinese(ref.tokens(t))]
    assert len(differ) <= max(1, len(norm) // 200), differ[:3]
    ascii_free = [t for t in norm if not re.search(r"[0-9a-z]", t)]
    assert all(fast.tokens(t) == ref.tokens(t) for t in ascii_free[:500])
