"""``jianfu tag`` through click's CliRunner: options, summary, exit codes."""
import json

import pytest
from click.testing import CliRunner

from classifier.cli import EXIT_ERROR, EXIT_ROWS_FAILED, _register, cli
from tests.test_io import read_back

_register()

TEXTS = ["每周要填七八张表，数据还都差不多", "社区只有三个人，要服务八千多居民", "一年到头加班加点，周末也要值班"]


@pytest.fixture()
def run(tiny_model_dir):
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli, ["tag", *map(str, args), "--model", str(tiny_model_dir)], input=input,
                             catch_exceptions=False)

    return invoke


@pytest.fixture()
def csv_in(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(TEXTS)), encoding="utf-8")
    return path


def test_all_tagged_exits_0_with_a_summary(run, csv_in, tmp_path):
    r = run(csv_in, "-o", tmp_path / "out.xlsx")
    assert r.exit_code == 0, r.output
    assert r.stdout == ""
    assert r.stderr.startswith("3 rows read, 3 tagged, 0 failed in ") and "rows/s" in r.stderr
    assert len(read_back(tmp_path / "out.xlsx")) == 3


def test_some_rows_failed_exits_3_and_says_which(run, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": TEXTS[0]}, ensure_ascii=False) + "\n{oops\n"
                   + json.dumps({"id": "c", "text": ""}) + "\n", encoding="utf-8")
    r = run(src, "-o", tmp_path / "out.csv")
    assert r.exit_code == EXIT_ROWS_FAILED == 3
    assert "3 rows read, 1 tagged, 2 failed" in r.stderr
    assert "row 2: line 2: not valid JSON" in r.stderr and "row 3 (id c): empty text" in r.stderr
    errors = [row["error"] for row in read_back(tmp_path / "out.csv")]
    assert errors[0] == "" and errors[1].startswith("line 2: not valid JSON") and errors[2] == "empty text"


@pytest.mark.parametrize("args, message", [
    (["missing.csv", "-o", "out.csv"], "input not found"),
    (["{csv}", "-o", "out.txt"], "name the output .jsonl, .csv, .xlsx or .parquet"),
    (["{csv}", "-o", "out.csv", "--text-column", "body"], "no 'body' column (found: id, text)"),
    (["{csv}", "-o", "-", "--resume"], "stdout cannot be resumed"),
    (["{csv}", "-o", "out.csv", "--id-column", "编号"], "no '编号' column (found: id, text); name the column with --id-column"),
])
def test_run_failures_exit_1(run, csv_in, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    r = run(*[a.format(csv=csv_in) for a in args])
    assert r.exit_code == EXIT_ERROR == 1
    assert r.stderr.startswith("error: ") and message in r.stderr and "Traceback" not in r.output


def test_existing_output_exits_1_unless_forced(run, csv_in, tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("old")
    r = run(csv_in, "-o", out)
    assert r.exit_code == 1 and "--force" in r.stderr and out.read_text() == "old"
    assert run(csv_in, "-o", out, "--force").exit_code == 0
    assert len(read_back(out)) == 3


def test_stdin_to_stdout(run):
    lines = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in TEXTS)
    r = run("-", "-o", "-", "--quiet", input=lines)
    assert r.exit_code == 0 and r.stderr == ""
    got = [json.loads(line) for line in r.stdout.splitlines()]
    assert [g["text"] for g in got] == TEXTS and all("labels" in g and "scores" in g for g in got)


def test_options_reach_the_engine(run, tmp_path):
    src = tmp_path / "data.dat"  # an extension that says nothing: --format does
    src.write_bytes(("id\tbody\n1\t" + TEXTS[0] + "\n\n" + "2\t" + TEXTS[1] + "\\n" + "\n").encode("gbk"))
    r = run(src, "-o", tmp_path / "out.jsonl", "--format", "tsv", "--encoding", "gbk", "--text-column", "body",
            "--by", "paragraph", "--jobs", "1", "--max-chars", "12", "-q")
    assert r.exit_code == EXIT_ROWS_FAILED
    got = read_back(tmp_path / "out.jsonl")
    assert [(g["row"], g["paragraph"]) for g in got] == [(1, None), (2, None)]
    assert all("more than the 12 allowed" in g["error"] for g in got)


def test_sheet_option(run, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["other"])
    ws = wb.create_sheet("投诉")
    ws.append(["text"])
    ws.append([TEXTS[0]])
    wb.save(tmp_path / "in.xlsx")
    r = run(tmp_path / "in.xlsx", "-o", tmp_path / "out.jsonl", "--sheet", "投诉")
    assert r.exit_code == 0 and read_back(tmp_path / "out.jsonl")[0]["text"] == TEXTS[0]
    r = run(tmp_path / "in.xlsx", "-o", tmp_path / "x.jsonl", "--sheet", "3")
    assert r.exit_code == 1 and "Sheet, 投诉" in r.stderr


def test_help_documents_exit_codes(run):
    r = CliRunner().invoke(cli, ["tag", "--help"])
    assert "3 some rows failed" in r.output and "--resume" in r.output
