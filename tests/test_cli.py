"""Every core CLI command through click's CliRunner, on the tiny model."""
import json

import pytest
from click.testing import CliRunner

from classifier.cli import _register, cli

_register()


@pytest.fixture()
def run():
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli, list(map(str, args)), input=input, catch_exceptions=False)

    return invoke


def test_predict_human_output(run, tiny_model_dir):
    r = run("predict", "--model", tiny_model_dir, "每周填表，拍照留痕，迎检材料做到半夜")
    assert r.exit_code == 0
    assert "形式主义" in r.output and "formalism" in r.output and "✔" in r.output


def test_predict_json_and_stdin(run, tiny_model_dir):
    r = run("predict", "--model", tiny_model_dir, "--json", input="社区人手不足，三个人服务八千居民\n\n")
    assert r.exit_code == 0
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert len(lines) == 2
    assert set(lines[0]) == {"text", "labels", "scores"}
    assert "resource_shortage" in lines[0]["labels"]
    assert lines[1]["labels"] == [] and set(lines[1]["scores"]) == {
        "formalism", "information_asymmetry", "resource_shortage", "task_overload"}


def test_predict_threshold_and_top_k(run, tiny_model_dir):
    r = run("predict", "--model", tiny_model_dir, "--json", "--threshold", "0", "-k", "2", "随便一句话")
    assert len(json.loads(r.output)["labels"]) == 2


def test_train_then_evaluate(run, tiny_train_file, tmp_path):
    out = tmp_path / "m"
    r = run("train", tiny_train_file, "-o", out, "--cv", "3", "--loss", "logistic")
    assert r.exit_code == 0, r.output
    assert "cross-validated scores" in r.output and "micro-F1" in r.output
    assert (out / "meta.json").exists()
    r = run("evaluate", tiny_train_file, "--model", out, "--json")
    result = json.loads(r.output)
    assert set(result["per_label"]) == {"formalism", "information_asymmetry", "resource_shortage", "task_overload"}
    assert 0 <= result["micro_f1"] <= 1 and result["n"] == 72
    r = run("evaluate", tiny_train_file, "--model", out)
    assert "precision" in r.output and "形式主义" in r.output


def test_train_refuses_existing_output(run, tiny_train_file, tiny_model_dir):
    r = run("train", tiny_train_file, "-o", tiny_model_dir)
    assert r.exit_code == 1 and "already exists" in r.output


def test_train_csv_with_single_label_column(run, tmp_path):
    rows = ["text,label"] + [f"今天下雨路面积水{i},城建" for i in range(6)] + [f"学校开学招生{i},教育" for i in range(6)]
    p = tmp_path / "d.csv"
    p.write_text("\n".join(rows), encoding="utf-8")
    r = run("train", p, "-o", tmp_path / "m", "--cv", "2", "--taxonomy", "none")
    assert r.exit_code == 0, r.output and "single-label" in r.output
    r = run("predict", "--model", tmp_path / "m", "--json", "路面积水")
    assert json.loads(r.output)["labels"] == ["城建"]


@pytest.mark.parametrize("content, message", [
    ('{"text": "a", "labels": ["formalsm"]}\n' + '{"text": "b", "labels": ["formalism"]}\n' * 6, "unknown label codes: 'formalsm'"),
    ('{"text": "a", "labels": ["formalism"]}\n' * 2 + '{"text": "b", "labels": ["task_overload"]}\n' * 6, "fewer than 5 examples"),
    ('{"body": "a", "labels": []}\n', "no 'text' field (found: body, labels)"),
    ('{"text": "a", "labels": [}\n', "not valid JSON"),
])
def test_train_bad_data_gives_one_line_error(run, tmp_path, content, message):
    p = tmp_path / "bad.jsonl"
    p.write_text(content, encoding="utf-8")
    r = run("train", p, "-o", tmp_path / "m")
    assert r.exit_code == 1
    assert message in r.output and "Traceback" not in r.output


def test_missing_model_is_a_clean_error(run, tmp_path):
    r = run("predict", "--model", tmp_path / "nope", "x")
    assert r.exit_code == 1 and r.output.startswith("error: ")


def test_tag_csv_keeps_columns_and_order(run, tiny_model_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,text,extra\n1,天天填表拍照留痕,a\n2,,b\n3,社区人手不足,c\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    r = run("tag", src, "-o", out, "--model", tiny_model_dir)
    assert r.exit_code in (0, 3), r.output
    import pandas as pd
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(df["id"]) == ["1", "2", "3"] and list(df["extra"]) == ["a", "b", "c"]
    assert "labels" in df.columns and "score_formalism" in df.columns


def test_tag_missing_text_column_names_columns(run, tiny_model_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,body\n1,x\n", encoding="utf-8")
    r = run("tag", src, "-o", tmp_path / "o.csv", "--model", tiny_model_dir)
    assert r.exit_code == 1 and "id, body" in r.output


def test_train_with_group_column(run, tmp_path):
    from tests.conftest import tiny_examples

    rows = tiny_examples()
    p = tmp_path / "g.jsonl"
    p.write_text("".join(json.dumps(dict(r, batch=f"b{i % 3}"), ensure_ascii=False) + "\n"
                         for i, r in enumerate(rows)), encoding="utf-8")
    r = run("train", p, "-o", tmp_path / "m", "--cv", "3", "--group-column", "batch", "--json")
    assert r.exit_code == 0, r.output
    meta = json.loads((tmp_path / "m" / "meta.json").read_text(encoding="utf-8"))
    assert meta["cv_groups"] == "batch"
    r = run("train", p, "-o", tmp_path / "m2", "--group-column", "writer")
    assert r.exit_code == 1 and "no 'writer'" in r.output
