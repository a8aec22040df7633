import pytest

import json

from classifier import config
from classifier.text import normalize, normalize_many, split_paragraphs, split_sentences


@pytest.mark.parametrize("raw, expected", [
    ("ＡＰＰ太多，打卡１２次", "app太多,打卡12次"),
    ("基層幹部反映會議太多", "基层干部反映会议太多"),
    ("<p>文山会海</p> 详见 https://example.cn/a?b=1 ", "文山会海 详见"),
    ("  多个   空格\u3000全角  ", "多个 空格 全角"),
    ("", ""),
    ("&lt;通知&gt;", "<通知>"),
])
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_normalize_can_keep_traditional():
    assert normalize("會議", traditional=False) == "會議"


def test_split_sentences_keeps_text():
    text = "表格太多。会也多！怎么办？\n人手不够"
    assert split_sentences(text) == ["表格太多。", "会也多！", "怎么办？", "人手不够"]


def test_split_paragraphs():
    text = "第一段\n\n第二段\n第三段"
    assert split_paragraphs(text) == ["第一段\n第二段\n第三段"]  # short lines are headings
    assert split_paragraphs(text, heading_chars=0) == ["第一段", "第二段", "第三段"]
    long = "这是一个足够长的段落，用来说明正文不会被当成标题合并到下一段里面去。"
    assert split_paragraphs(f"标题\n{long}\n\n{long}") == [f"标题\n{long}", long]


@pytest.mark.parametrize("text", [
    "（一）任务过重：１２３ＡＢＣ，“材料”…… ①②③ ㈠ ㎡ ℃ ﬁ Ⅻ ⼈ 豈 ︰\u3000x",
    "基层减负，ＡＰＰ太多！！！表格填报＃５＋２＃",
])
def test_fast_compatibility_mapping_equals_nfkc(text):
    import unicodedata

    assert normalize(text, traditional=False) == " ".join(unicodedata.normalize("NFKC", text).lower().split())


_HARD = ["ΑΣ ΟΔΟΣ", "Σ", "基層減負，ＡＰＰ太多 <b>http://x.cn/a</b>", "…… 很好  \t 好", "  \n\n a\u3000b\xa0c  \t",
         "", "&amp;lt;", "𠀀测试ＡＢ", "①②ⅻ㈠", "\u2028行分隔\n \n", "x\x1cy", "İstanbul", "ﬁne", "長\n\n  短  ",
         "牴触情绪", "文山会海"]


@pytest.mark.parametrize("size", [1, 8, 64, 500])
@pytest.mark.parametrize("traditional", [True, False])
def test_normalize_many_equals_normalize(size, traditional):
    texts = [json.loads(line)["text"] for line in open(config.DATA_DIR / "test.jsonl", encoding="utf-8")]
    texts = texts[:600] + _HARD * 3
    for i in range(0, len(texts), size):
        batch = texts[i:i + size]
        assert normalize_many(batch, traditional) == [normalize(t, traditional) for t in batch]


def test_normalize_many_with_nul_in_text():
    batch = ["a\x00b ＡＢ"] + _HARD
    assert normalize_many(batch) == [normalize(t) for t in batch]
