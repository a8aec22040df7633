"""Bad training data: every problem is a clear error or warning naming file and line, never a traceback."""
import json

import pytest
from click.testing import CliRunner

from classifier.cli import _register, cli
from classifier.dataset import check_examples, data_hash, read_examples
from classifier.errors import DataError

_register()

CODES = ["task_overload", "information_asymmetry", "resource_shortage", "formalism"]


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _good(n=5, label="formalism", start=0):
    return [{"id": f"{label}{i}", "text": f"第{i}份{label}材料，填表留痕", "labels": [label]} for i in range(start, start + n)]


def test_unknown_label_code_lists_rows(tmp_path):
    path = _jsonl(tmp_path / "d.jsonl", _good() + [{"id": "x", "text": "天天加班", "labels": ["task_overlaod"]}])
    with pytest.raises(DataError) as e:
        check_examples(read_examples(path), CODES)
    msg = str(e.value)
    assert f"'task_overlaod' at {path}:6" in msg and "Known codes: task_overload" in msg and "--taxonomy" in msg


def test_empty_texts_are_left_out_with_a_warning_listing_them(tmp_path):
    path = _jsonl(tmp_path / "d.jsonl", [{"text": "  ", "labels": ["formalism"]}] + _good()
                  + [{"text": None, "labels": []}])
    with pytest.warns(UserWarning, match=rf"2 rows with empty text left out of training: {path}:1, {path}:7"):
        rows = check_examples(read_examples(path), CODES)
    assert len(rows) == 5


def test_duplicate_ids_with_conflicting_labels_list_both_rows(tmp_path):
    rows = _good() + _good(5, "task_overload") + [{"id": "formalism0", "text": "另一段话", "labels": ["task_overload"]}]
    path = _jsonl(tmp_path / "d.jsonl", rows)
    with pytest.raises(DataError, match=rf"conflicting labels: {path}:1 \['formalism'\] vs {path}:11 \['task_overload'\]"):
        check_examples(read_examples(path), CODES)


def test_same_text_with_conflicting_labels_lists_both_rows(tmp_path):
    rows = _good() + _good(5, "task_overload") + [{"text": "第0份formalism材料，填表留痕", "labels": []}]
    path = _jsonl(tmp_path / "d.jsonl", rows)
    with pytest.raises(DataError, match=rf"{path}:1 \['formalism'\] vs {path}:11 \[\]"):
        check_examples(read_examples(path), CODES)


def test_label_with_too_few_examples_lists_its_rows(tmp_path):
    path = _jsonl(tmp_path / "d.jsonl", _good() + _good(2, "resource_shortage"))
    with pytest.raises(DataError, match=rf"fewer than 5 examples.*'resource_shortage' \(2: {path}:6, {path}:7\)"):
        check_examples(read_examples(path), CODES, min_examples=5)


def test_no_rows_at_all(tmp_path):
    with pytest.raises(DataError, match="no training rows"):
        check_examples(read_examples(_jsonl(tmp_path / "d.jsonl", [])), CODES)


@pytest.mark.parametrize("content, message", [
    ('{"text": "a", "labels": []}\n{oops\n', r"d.jsonl:2: not valid JSON"),
    ('{"body": "a", "labels": []}\n', r"d.jsonl:1: no 'text' field \(found: body, labels\)"),
    ('{"text": "a"}\n', r"d.jsonl:1: no 'labels' or 'label' field"),
    ('[1, 2]\n', r"d.jsonl:1: expected a JSON object per line"),
])
def test_unreadable_rows_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "d.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_examples(path)


def test_csv_rows_are_numbered_as_in_a_spreadsheet(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,labels\n天天填表,formalism\n人手不够,resource_shortage;task_overload\n", encoding="utf-8")
    rows = read_examples(path)
    assert [(r.line, r.labels) for r in rows] == [(2, ["formalism"]), (3, ["resource_shortage", "task_overload"])]


def test_data_hash_depends_on_texts_and_labels_not_their_order_within_a_row(tmp_path):
    rows = read_examples(_jsonl(tmp_path / "d.jsonl", [{"text": "a", "labels": ["x", "y"]}]))
    same = read_examples(_jsonl(tmp_path / "e.jsonl", [{"text": "a", "labels": ["y", "x"]}]))
    other = read_examples(_jsonl(tmp_path / "f.jsonl", [{"text": "a", "labels": ["x"]}]))
    assert data_hash(rows) == data_hash(same) != data_hash(other)


@pytest.mark.parametrize("rows, message", [
    (_good() + [{"text": "x", "labels": ["nonsense"]}], "error: unknown label codes: 'nonsense' at"),
    (_good() + _good(2, "task_overload"), "error: labels with fewer than 5 examples cannot be trained"),
    (_good() + [{"id": "formalism1", "text": "别的", "labels": []}], "carry conflicting labels"),
])
def test_cli_reports_bad_data_without_traceback(tmp_path, rows, message):
    path = _jsonl(tmp_path / "d.jsonl", rows)
    r = CliRunner().invoke(cli, ["train", str(path), "-o", str(tmp_path / "m")])
    assert r.exit_code == 1 and message in r.output and "Traceback" not in r.output
    assert f"{path}:" in r.output


def test_cli_warns_about_empty_texts_on_one_line(tmp_path):
    rows = [{"text": "", "labels": []}] + _good(6) + _good(6, "task_overload")
    path = _jsonl(tmp_path / "d.jsonl", rows)
    r = CliRunner().invoke(cli, ["train", str(path), "-o", str(tmp_path / "m"), "--cv", "2", "--loss", "logistic"])
    assert r.exit_code == 0, r.output
    assert f"warning: 1 rows with empty text left out of training: {path}:1" in r.output
