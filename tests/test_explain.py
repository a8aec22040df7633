"""Explanations: contributions that add up to the model's decision values, evidence, near misses."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from classifier.cli import _register, cli
from classifier.text import split_paragraphs
from classifier.explain import explain, format_explanation, predict_paragraphs

_register()

TEXTS = [
    "每周要填七八张表，数据还都差不多，填完就没人看",
    "社区只有三个人，要服务八千多居民。村里没有经费！填表填表再填表。",
    "上級檢查一個接一個，迎檢材料準備到半夜",          # traditional characters
    "<p>工作群里天天要求点赞转发</p> http://x.cn/a 还要截图留痕APP打卡",  # markup, URL, Latin
    "一句与本题无关的话",
    "",
]


@pytest.mark.parametrize("text", TEXTS)
def test_contributions_sum_to_decision_function(tiny_model, text):
    e = explain(tiny_model, text)
    decision = tiny_model.decision_function([text])[0]
    np.testing.assert_array_equal(e.decision, decision)
    # each feature's share is an exact float64 product; the model sums them in float32
    np.testing.assert_allclose(e.intercept + e.feature_contributions.sum(0), decision, rtol=0, atol=1e-5)
    # merging features into terms and terms into sentences loses nothing
    np.testing.assert_allclose(e.term_contributions.sum(0), e.feature_contributions.sum(0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(e.sentence_contributions.sum(0), e.feature_contributions.sum(0), rtol=0, atol=1e-9)


def test_labels_and_probabilities_match_predict(tiny_model):
    for text in TEXTS:
        e = explain(tiny_model, text)
        pred = tiny_model.predict(text)[0]
        assert e.labels == pred.labels
        np.testing.assert_allclose(e.probability, tiny_model.predict_proba([text])[0])
        for code in tiny_model.labels:
            x = e.label(code)
            assert x.decision == pytest.approx(x.intercept + sum(
                e.term_contributions[:, tiny_model.labels.index(code)]), abs=1e-5)


def test_terms_are_words_of_the_text_not_character_fragments(tiny_model):
    text = "拍照打卡比干活还重要，台账做了一本又一本"
    e = explain(tiny_model, text)
    norm = tiny_model.preprocess([text])[0][0]
    words = set(tiny_model.segmenter.cut(norm))
    assert set(e.terms) <= words
    assert e.term_counts[e.terms.index("一本")] == 2
    up = e.label("formalism", top=3).up
    assert up and all(t.contribution > 0 for t in up)
    assert [t.contribution for t in up] == sorted((t.contribution for t in up), reverse=True)


def test_evidence_is_the_sentence_carrying_the_label_as_written(tiny_model):
    text = "今天天氣不錯。每周要填七八张表，拍照打卡，台账做了一本又一本！感谢街道帮忙。"
    e = explain(tiny_model, text)
    assert "formalism" in e.labels
    best = e.label("formalism", evidence=1).evidence[0]
    assert best.text == "每周要填七八张表，拍照打卡，台账做了一本又一本！"  # full-width punctuation kept
    assert text[best.start:best.start + len(best.text)] == best.text
    assert e.sentences[0] == "今天天氣不錯。"  # traditional characters kept


def test_near_misses_lie_within_the_margin_below_the_threshold(tiny_model):
    text = "考核指标多，拍照留痕"
    wide, none = explain(tiny_model, text, margin=1.0), explain(tiny_model, text, margin=0.0)
    assert none.near_misses == []
    j = {c: i for i, c in enumerate(tiny_model.labels)}
    assert wide.near_misses == sorted([c for c in tiny_model.labels if c not in wide.labels],
                                      key=lambda c: -wide.probability[j[c]])
    for c in explain(tiny_model, text, margin=0.2).near_misses:
        assert wide.thresholds[j[c]] - 0.2 <= wide.probability[j[c]] < wide.thresholds[j[c]]


def test_to_dict_is_json_and_format_names_every_shown_label(tiny_model):
    e = explain(tiny_model, TEXTS[1], margin=1.0)
    d = json.loads(json.dumps(e.to_dict(top=2)))
    assert [x["code"] for x in d["explanations"]] == e.labels + e.near_misses
    assert all(len(x["up"]) <= 2 and {"term", "contribution", "count"} <= set(x["up"][0]) for x in d["explanations"] if x["up"])
    out = format_explanation(e)
    assert all(code in out for code in tiny_model.labels) and "near misses:" in out


def test_headings_join_the_paragraph_they_head():
    assert split_paragraphs("一、问题\n(一)任务过重\n基层任务多。\n结尾。\n附录") == [
        "一、问题\n(一)任务过重\n基层任务多。", "结尾。", "附录"]


def test_predict_paragraphs_aggregates_and_points_to_evidence(tiny_model):
    doc = "一、问题\n每周要填七八张表，拍照打卡，台账做了一本又一本。\n\n村里没有经费，路灯坏了半年也修不了。工资低待遇差，留不住人。\n感谢街道帮我们解决了停车难的问题。"
    d = predict_paragraphs(tiny_model, doc)
    assert len(d.paragraphs) == 3 and d.paragraphs[0].text.startswith("一、问题\n")
    assert {"formalism", "resource_shortage"} <= set(d.labels)
    assert set(d.labels) == {c for p in d.paragraphs for c in p.labels}
    for code in d.labels:
        assert d.scores[code] == max(p.scores[code] for p in d.paragraphs)
    assert d.evidence["formalism"]["paragraph"] == 0
    assert d.evidence["resource_shortage"]["paragraph"] == 1
    assert d.evidence["resource_shortage"]["sentence"] in d.paragraphs[1].text
    assert predict_paragraphs(tiny_model, "  \n ").labels == []


@pytest.fixture()
def run():
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(cli, list(map(str, args)), input=input, catch_exceptions=False)


def test_cli_explain_human_and_json(run, tiny_model_dir):
    r = run("explain", "--model", tiny_model_dir, "每周填表，拍照留痕，迎检材料做到半夜")
    assert r.exit_code == 0
    assert "✔ 形式主义 formalism" in r.output and "up:" in r.output and "evidence" in r.output
    r = run("explain", "--model", tiny_model_dir, "--json", "--margin", "1", "-", input="第一句。\n社区人手不足，三个人服务八千居民")
    d = json.loads(r.stdout)
    assert "resource_shortage" in d["labels"] and len(d["explanations"]) == 4
    assert d["text"].startswith("第一句。\n")


def test_cli_predict_by_paragraph(run, tiny_model_dir):
    doc = "每周要填七八张表，拍照打卡。\n村里没有经费，路灯坏了半年也修不了。\n"
    r = run("predict", "--model", tiny_model_dir, "--by", "paragraph", input=doc)
    assert r.exit_code == 0
    assert "(2 paragraphs)" in r.output and "evidence (paragraph 2" in r.output
    r = run("predict", "--model", tiny_model_dir, "--by", "paragraph", "--json", doc, "填表")
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert len(lines) == 2 and [p["index"] for p in lines[0]["paragraphs"]] == [0, 1]
    assert lines[0]["evidence"]["resource_shortage"]["paragraph"] == 1


@pytest.mark.parametrize("params", [
    {"word_ngrams": 1, "char_ngrams": None},
    {"word_ngrams": 0, "char_ngrams": (2, 3)},
    {"word_ngrams": 2, "char_ngrams": (1, 2), "char_weight": 0.5},
])
def test_sums_hold_for_every_feature_configuration(params):
    from classifier.estimator import JianfuClassifier
    from tests.conftest import tiny_examples

    rows = tiny_examples()
    model = JianfuClassifier(loss="logistic", C=10.0, cv=2, min_df=1, **params).fit(
        [r["text"] for r in rows], [r["labels"] for r in rows]).model_
    for text in TEXTS:
        e = explain(model, text)
        decision = model.decision_function([text])[0]
        np.testing.assert_allclose(e.intercept + e.term_contributions.sum(0), decision, rtol=0, atol=1e-5)
        assert e.labels == model.predict(text)[0].labels


def test_single_label_model_near_misses_are_close_to_the_winner():
    from classifier.estimator import JianfuClassifier

    texts = ["表格太多天天填", "人手不够没人干活", "表格重复填报", "缺人缺编制", "会议太多", "经费不足"] * 4
    y = ["formalism", "resource_shortage"] * 6 + ["formalism", "resource_shortage"] * 6
    model = JianfuClassifier(loss="logistic", C=10, cv=2, min_df=1).fit(texts, y).model_
    assert not model.multilabel
    e = explain(model, "表格太多，人手也不够", margin=1.0)
    assert e.labels == model.predict("表格太多，人手也不够")[0].labels and len(e.labels) == 1
    assert e.near_misses == [c for c in model.labels if c not in e.labels]
    assert explain(model, "表格太多，人手也不够", margin=0.0).near_misses == []
