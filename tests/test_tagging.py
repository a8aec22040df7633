"""The streaming tagging engine: every format in and out, bad rows, order across processes, resume."""
import json

import pytest

from classifier.errors import JianfuError
from classifier.io.spool import Spool
from classifier.tagging import tag_file, tag_texts
from tests.test_io import make_pdf, read_back

LABELS = ["formalism", "information_asymmetry", "resource_shortage", "task_overload"]
# sentences end in punctuation, so that as lines of a document they are paragraphs, not headings
TEXTS = ["每周要填七八张表，数据还都差不多，填完就没人看。", "社区只有三个人，要服务八千多居民，根本忙不过来。",
         "县里的政策下来前没人来问过我们。", "一年到头加班加点，周末也要值班。", "小区门口路灯坏了，希望尽快维修。"]


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    from classifier import load

    return load(tiny_model_dir)


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def many(n):
    return [{"id": f"r{i}", "text": TEXTS[i % len(TEXTS)] + "。" * (i % 3), "n": i} for i in range(n)]


def test_tag_texts_matches_predict(model):
    got = tag_texts(model, TEXTS)
    expected = model.predict(TEXTS)
    assert got.labels == [p.labels for p in expected] and got.errors == [None] * len(TEXTS)
    assert got.scores.tolist() == [[p.scores[c] for c in LABELS] for p in expected]


def test_tag_texts_says_which_paragraphs_carry_each_label(model):
    doc = TEXTS[0] + "\n\n" + TEXTS[4] + "\n" + TEXTS[1]
    got = tag_texts(model, [doc, TEXTS[0]])
    per_paragraph = [p.labels for p in model.predict([TEXTS[0], TEXTS[4], TEXTS[1]])]
    expected = {}
    for k, labels in enumerate(per_paragraph, 1):
        for code in labels:
            expected.setdefault(code, []).append(k)
    assert got.paragraphs[0] == {c: expected[c] for c in LABELS if c in expected}
    assert got.paragraphs[1] == {c: [1] for c in got.labels[1]}  # one paragraph: the document's labels


def test_a_text_the_model_fails_on_fails_alone(model, monkeypatch):
    real = model.predict_proba

    def flaky(texts):
        if any("炸" in t for t in texts):
            raise RuntimeError("boom")
        return real(texts)

    monkeypatch.setattr(model, "predict_proba", flaky)
    got = tag_texts(model, [TEXTS[0], "炸了", TEXTS[1]])
    assert got.errors[0] is None and got.errors[2] is None
    assert got.errors[1] == "could not be tagged (RuntimeError: boom)" and got.labels[1] == []


@pytest.mark.parametrize("fmt", ["csv", "tsv", "xlsx", "jsonl", "parquet", "txt"])
def test_every_input_format(model, tmp_path, fmt):
    src = tmp_path / f"in.{fmt}"
    if fmt in ("csv", "tsv"):
        sep = "," if fmt == "csv" else "\t"
        src.write_bytes(("id" + sep + "text\n" + "".join(f"{i}{sep}{t}\n" for i, t in enumerate(TEXTS))).encode("gbk"))
    elif fmt == "xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        wb.active.append(["id", "text"])
        for i, t in enumerate(TEXTS):
            wb.active.append([i, t])
        wb.save(src)
    elif fmt == "jsonl":
        write_jsonl(src, [{"id": i, "text": t} for i, t in enumerate(TEXTS)])
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"id": list(range(len(TEXTS))), "text": TEXTS}), src)
    else:
        src.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    summary = tag_file(model, src, tmp_path / "out.jsonl", progress=False)
    got = read_back(tmp_path / "out.jsonl")
    assert summary.rows == summary.tagged == len(TEXTS) and summary.failed == 0
    assert [r["text"] for r in got] == TEXTS
    assert [r["labels"] for r in got] == [p.labels for p in model.predict(TEXTS)]
    assert all(set(r["scores"]) == set(LABELS) and r["error"] is None for r in got)
    key = "line" if fmt == "txt" else "id"
    assert [str(r[key]) for r in got] == [str(i + (fmt == "txt")) for i in range(len(TEXTS))]


def test_a_folder_of_documents(model, tmp_path):
    import docx

    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.txt").write_text(TEXTS[0] + "\n\n" + TEXTS[1], encoding="utf-8")
    d = docx.Document()
    d.add_paragraph(TEXTS[3])
    d.save(root / "b.docx")
    make_pdf(root / "c.pdf", ["Too many meetings."])
    make_pdf(root / "d.pdf", [])
    summary = tag_file(model, root, tmp_path / "out.jsonl", progress=False)
    got = read_back(tmp_path / "out.jsonl")
    assert [r["path"] for r in got] == ["a.txt", "b.docx", "c.pdf", "d.pdf"]
    assert got[0]["labels"] and got[0]["paragraphs"] and got[1]["text"] == TEXTS[3]
    assert got[3]["error"].startswith("d.pdf: no text layer") and got[3]["labels"] == []
    assert (summary.rows, summary.failed) == (4, 1)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "xlsx", "parquet"])
def test_every_output_format(model, tmp_path, fmt):
    src = tmp_path / "in.csv"
    src.write_text("id,text,note\n" + "".join(f"{i},{t},n{i}\n" for i, t in enumerate(TEXTS)) + "9,,empty\n",
                   encoding="utf-8")
    out = tmp_path / f"out.{fmt}"
    tag_file(model, src, out, progress=False)
    got = read_back(out)
    expected = model.predict(TEXTS)
    assert [str(r["id"]) for r in got] == [str(i) for i in range(len(TEXTS))] + ["9"]
    assert [r["note"] for r in got] == [f"n{i}" for i in range(len(TEXTS))] + ["empty"]
    assert got[-1]["error"] == "empty text"
    if fmt == "jsonl":
        assert [r["labels"] for r in got[:-1]] == [p.labels for p in expected]
        assert got[0]["scores"] == expected[0].scores
    elif fmt == "parquet":
        assert [r["labels"] for r in got[:-1]] == [p.labels for p in expected]
        assert got[0]["score_formalism"] == expected[0].scores["formalism"]
    else:
        assert [r["labels"] or "" for r in got[:-1]] == [";".join(p.labels) for p in expected]
        assert float(got[0]["score_formalism"]) == expected[0].scores["formalism"]
        assert got[-1]["score_formalism"] in ("", None)


def test_bad_rows_get_errors_and_the_run_goes_on(model, tmp_path):
    src = tmp_path / "in.jsonl"
    good = json.dumps({"id": 1, "text": TEXTS[0]}, ensure_ascii=False).encode()
    src.write_bytes(b"\n".join([
        good,
        json.dumps({"id": 2, "text": ""}).encode(),                                   # empty text
        json.dumps({"id": 3, "text": "   \n "}).encode(),                             # blank text
        b'{"id": 4, "text": "broken',                                                  # broken JSON line
        '{"id": 5, "text": "编码不对"}'.encode("gbk"),                                 # undecodable bytes
        json.dumps({"id": 6, "text": "长" * 500}).encode(),                            # too long
        json.dumps({"id": 7, "body": TEXTS[1]}, ensure_ascii=False).encode(),          # no text field
        json.dumps({"id": 8, "text": None}).encode(),                                  # null
        json.dumps({"id": 9, "text": 12345}).encode(),                                 # a number is text
        good,
    ]) + b"\n")
    summary = tag_file(model, src, tmp_path / "out.jsonl", max_chars=400, progress=False)
    got = read_back(tmp_path / "out.jsonl")
    assert len(got) == 10 and (summary.rows, summary.tagged, summary.failed) == (10, 3, 7)
    errors = [r["error"] for r in got]
    assert errors[0] is None and errors[8] is None and errors[9] is None
    assert errors[1] == errors[2] == errors[7] == "empty text"
    assert errors[3].startswith("line 4: not valid JSON") and got[3]["raw_line"] == '{"id": 4, "text": "broken'
    assert errors[4].startswith("line 5: bytes that are not valid utf-8")
    assert errors[5] == "text too long: 500 characters, more than the 400 allowed (--max-chars)"
    assert errors[6] == "no 'text' field"
    assert all(r["labels"] == [] and r["scores"] == {} for r in got if r["error"])
    assert summary.errors[0] == ("row 2 (id 2)", "empty text") and len(summary.errors) == 5


def test_undecodable_row_in_a_gbk_csv(model, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes("id,text\n".encode() + "".join(f"{i},{t}\n" for i, t in enumerate(TEXTS)).encode("gbk")
                    + b"9,\x80\x80\xff\n")
    tag_file(model, src, tmp_path / "out.csv", progress=False)
    got = read_back(tmp_path / "out.csv")
    assert [r["error"] for r in got[:-1]] == [""] * len(TEXTS)
    assert "not valid gb18030" in got[-1]["error"] and got[-1]["labels"] == ""


def test_order_is_kept_across_processes(model, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", many(103))
    parallel = tag_file(model, src, tmp_path / "par.jsonl", jobs=3, chunk_size=7, progress=False)
    tag_file(model, src, tmp_path / "one.jsonl", jobs=1, progress=False)
    assert parallel.rows == 103 and parallel.failed == 0
    assert (tmp_path / "par.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    assert [r["n"] for r in read_back(tmp_path / "par.jsonl")] == list(range(103))


def test_existing_output_needs_force(model, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", many(3))
    out = tmp_path / "out.csv"
    out.write_text("keep me")
    with pytest.raises(JianfuError, match="use --force"):
        tag_file(model, src, out, progress=False)
    assert out.read_text() == "keep me"
    tag_file(model, src, out, force=True, progress=False)
    assert len(read_back(out)) == 3


def test_run_failures_are_clean_errors(model, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "body": "x"}])
    with pytest.raises(JianfuError, match=r"no 'text' field .*found: id, body.*--text-column"):
        tag_file(model, src, tmp_path / "out.jsonl", progress=False)
    assert list(tmp_path.iterdir()) == [src]  # nothing left behind
    with pytest.raises(JianfuError, match="does not exist"):
        tag_file(model, src, tmp_path / "no" / "out.jsonl", progress=False)
    with pytest.raises(JianfuError, match="overwrite the input"):
        tag_file(model, src, src, force=True, progress=False)
    with pytest.raises(JianfuError, match="--by"):
        tag_file(model, src, tmp_path / "out.jsonl", by="sentence", progress=False)


def test_empty_input_gives_an_empty_output(model, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,text\n", encoding="utf-8")
    summary = tag_file(model, src, tmp_path / "out.csv", progress=False)
    assert summary.rows == 0 and read_back(tmp_path / "out.csv") == []
    assert (tmp_path / "out.csv").read_text(encoding="utf-8-sig").startswith("id,text,labels,score_formalism")


class Interrupt:
    """Make the run stop (as if by Ctrl-C) when it commits its ``after``-th part."""

    def __init__(self, monkeypatch, after):
        self.calls, real = 0, Spool.commit

        def commit(spool, *args):
            self.calls += 1
            if self.calls == after:
                raise KeyboardInterrupt
            return real(spool, *args)

        monkeypatch.setattr(Spool, "commit", commit)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "xlsx", "parquet"])
@pytest.mark.parametrize("jobs", [1, 2])
def test_resume_after_an_interruption(model, tmp_path, monkeypatch, fmt, jobs):
    src = write_jsonl(tmp_path / "in.jsonl", many(50))
    out = tmp_path / f"out.{fmt}"
    tag_file(model, src, tmp_path / f"whole.{fmt}", chunk_size=8, progress=False)
    with monkeypatch.context() as m:
        Interrupt(m, after=4)
        with pytest.raises(KeyboardInterrupt):
            tag_file(model, src, out, chunk_size=8, jobs=jobs, progress=False)
    assert not out.exists() and (tmp_path / f".out.{fmt}.partial").is_dir()
    with pytest.raises(JianfuError, match="add --resume to continue it, or --force"):
        tag_file(model, src, out, progress=False)
    summary = tag_file(model, src, out, resume=True, chunk_size=5, jobs=jobs, progress=False)
    assert summary.resumed == 24 and summary.rows == 50 and summary.output_rows == 50
    assert read_back(out) == read_back(tmp_path / f"whole.{fmt}")
    assert not (tmp_path / f".out.{fmt}.partial").exists()


def test_resume_refuses_a_changed_input_or_options(model, tmp_path, monkeypatch):
    src = write_jsonl(tmp_path / "in.jsonl", many(20))
    out = tmp_path / "out.jsonl"
    with monkeypatch.context() as m:
        Interrupt(m, after=2)
        with pytest.raises(KeyboardInterrupt):
            tag_file(model, src, out, chunk_size=5, progress=False)
    with pytest.raises(JianfuError, match="different by"):
        tag_file(model, src, out, resume=True, by="paragraph", progress=False)
    write_jsonl(src, many(21))
    with pytest.raises(JianfuError, match="different input"):
        tag_file(model, src, out, resume=True, progress=False)
    summary = tag_file(model, src, out, force=True, progress=False)  # --force starts over
    assert summary.resumed == 0 and len(read_back(out)) == 21


def test_resume_with_nothing_to_resume_tags_everything(model, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", many(4))
    summary = tag_file(model, src, tmp_path / "out.jsonl", resume=True, progress=False)
    assert summary.rows == 4 and summary.resumed == 0


def test_one_row_per_paragraph(model, tmp_path):
    doc = f"{TEXTS[0]}\n\n{TEXTS[1]}\n{TEXTS[4]}"
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": doc, "region": "东"}, {"id": "b", "text": ""},
                                              {"id": "c", "text": TEXTS[3]}])
    summary = tag_file(model, src, tmp_path / "out.csv", by="paragraph", progress=False)
    got = read_back(tmp_path / "out.csv")
    assert [(r["id"], r["row"], r["paragraph"]) for r in got] == [
        ("a", "1", "1"), ("a", "1", "2"), ("a", "1", "3"), ("b", "2", ""), ("c", "3", "1")]
    assert [r["text"] for r in got] == [TEXTS[0], TEXTS[1], TEXTS[4], "", TEXTS[3]]
    assert [r["labels"] for r in got if r["text"]] == [";".join(p.labels) for p in
                                                       model.predict([TEXTS[0], TEXTS[1], TEXTS[4], TEXTS[3]])]
    assert got[0]["region"] == "东" and got[3]["error"] == "empty text" and "paragraphs" not in got[0]
    assert (summary.rows, summary.failed, summary.output_rows) == (3, 1, 5)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_no_paragraphs_column_when_not_wanted(model, tmp_path, fmt):
    doc = f"{TEXTS[0]}\n\n{TEXTS[1]}"
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": doc}])
    tag_file(model, src, tmp_path / f"with.{fmt}", progress=False)
    tag_file(model, src, tmp_path / f"without.{fmt}", paragraphs=False, jobs=2, progress=False)
    with_, without = read_back(tmp_path / f"with.{fmt}")[0], read_back(tmp_path / f"without.{fmt}")[0]
    assert "paragraphs" in with_ and "paragraphs" not in without
    assert without == {k: v for k, v in with_.items() if k != "paragraphs"}


def test_progress_bar_only_when_asked(model, tmp_path, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", many(12))
    tag_file(model, src, tmp_path / "a.jsonl", chunk_size=5, progress=True)
    assert "rows" in capsys.readouterr().err
    tag_file(model, src, tmp_path / "b.jsonl", chunk_size=5, progress=None)  # stderr is not a terminal
    assert capsys.readouterr().err == ""
