"""The HTML evaluation report: every label, every figure, the same scores as `jianfu evaluate`."""
import base64
import json

import numpy as np
import pytest
from click.testing import CliRunner

from classifier.cli import _register, cli
from classifier.errors import JianfuError
from classifier.evaluate import evaluate
from classifier.report import FIGURES, cooccurrence, evaluate_model, worst_errors, write_report

from tests.conftest import TINY

_register()
PNG = b"\x89PNG\r\n\x1a\n"

# held-out style texts: some right, some wrong, one with no label, one empty
TEXTS = ["每周填表，拍照留痕，迎检材料做到半夜", "社区人手不足，三个人服务八千居民", "感谢街道帮忙修好了路灯",
         "部门数据不共享，同样的信息要报好几遍", "请问补贴怎么申请", "", "加班加点，考核层层加码"]
GOLD = [["formalism"], ["resource_shortage", "task_overload"], [], ["information_asymmetry", "formalism"],
        ["information_asymmetry"], [], ["task_overload"]]


def test_report_has_every_label_and_figure_and_the_scores_of_evaluate(tiny_model, tmp_path):
    ev = write_report(tiny_model, TEXTS, GOLD, tmp_path / "rep", source="held-out.jsonl")
    page = (tmp_path / "rep" / "index.html").read_text(encoding="utf-8")
    for code in tiny_model.labels:
        assert f"{tiny_model.name(code)} {code}</td>" in page  # a row of the per-label table
    embedded = page.count("data:image/png;base64,")
    assert embedded == len(FIGURES)
    for name in FIGURES:
        data = (tmp_path / "rep" / f"{name}.png").read_bytes()
        assert data.startswith(PNG)
        assert base64.b64encode(data).decode() in page
    assert ev.scores == evaluate(tiny_model, TEXTS, GOLD)
    assert json.loads((tmp_path / "rep" / "scores.json").read_text(encoding="utf-8")) == ev.scores
    assert "held-out.jsonl" in page


def test_labels_absent_from_the_data_are_still_reported(tiny_model, tmp_path):
    texts = [t for t, labels in TINY if labels == ["formalism"]]
    write_report(tiny_model, texts, [["formalism"]] * len(texts), tmp_path)
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert all(code in page for code in tiny_model.labels)
    assert (tmp_path / "pr_curves.png").read_bytes().startswith(PNG)


def test_worst_errors_are_wrong_and_ordered_by_confidence(tiny_model):
    # gold labels swapped on purpose so that the model is wrong, with various confidence
    gold = [[], ["formalism"], ["task_overload"]] + GOLD[3:]
    ev = evaluate_model(tiny_model, TEXTS, gold, ids=[f"r{i}" for i in range(len(TEXTS))])
    errors = worst_errors(tiny_model, ev, n=10)
    wrong = [i for i in range(len(TEXTS)) if set(ev.y_pred[i]) != set(gold[i])]
    assert len(wrong) >= 3 and len(errors) == len(wrong)
    assert [e.severity for e in errors] == sorted((e.severity for e in errors), reverse=True)
    for e in errors:
        i = int(e.id[1:])
        assert set(e.false_positives) == set(ev.y_pred[i]) - set(gold[i])
        assert set(e.false_negatives) == set(gold[i]) - set(ev.y_pred[i])
        assert e.explanation.text == TEXTS[i]
    assert len(worst_errors(tiny_model, ev, n=1)) == 1


def test_cooccurrence_counts_pairs():
    m = cooccurrence([["a", "b"], ["a"], [], ["b", "a"]], ["a", "b"])
    np.testing.assert_array_equal(m, [[3, 2], [2, 2]])


@pytest.mark.parametrize("texts, gold", [([], []), (["x"], [])])
def test_bad_input_is_a_jianfu_error(tiny_model, texts, gold):
    with pytest.raises(JianfuError):
        evaluate_model(tiny_model, texts, gold)


def test_report_into_a_file_path_is_refused(tiny_model, tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(JianfuError, match="is a file"):
        write_report(tiny_model, TEXTS, GOLD, f)


def test_cli_evaluate_report(tiny_model_dir, tiny_train_file, tmp_path):
    runner = CliRunner()
    plain = runner.invoke(cli, ["evaluate", str(tiny_train_file), "--model", str(tiny_model_dir), "--json"])
    r = runner.invoke(cli, ["evaluate", str(tiny_train_file), "--model", str(tiny_model_dir), "--json",
                            "--report", str(tmp_path / "rep"), "--worst", "3"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == json.loads(plain.stdout)
    assert "report written to" in r.stderr
    page = (tmp_path / "rep" / "index.html").read_text(encoding="utf-8")
    assert "Worst errors" in page and page.count("<div class=err>") <= 3


def test_report_of_a_single_label_model_marks_argmax(tmp_path):
    from classifier.estimator import JianfuClassifier

    texts = ["表格太多天天填", "人手不够没人干活", "表格重复填报", "缺人缺编制", "会议太多", "经费不足"] * 4
    y = ["formalism", "resource_shortage"] * 12
    model = JianfuClassifier(loss="logistic", C=10, cv=2, min_df=1).fit(texts, y).model_
    ev = write_report(model, ["会议缺人", "表格太多"], [["resource_shortage"], ["formalism"]], tmp_path)
    assert not ev.multilabel and all(len(p) == 1 for p in ev.y_pred)
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<td>argmax</td>" in page and "resource_shortage" in page
