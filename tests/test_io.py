"""Readers, document extraction, encoding detection, part writers and the partial output."""
import csv
import io
import json
import sys

import pytest

from classifier.errors import JianfuError
from classifier.io.documents import extract_text, list_documents, reflow, DocumentError
from classifier.io.encoding import detect_encoding
from classifier.io.readers import BadRow, input_format, open_source, unique_columns
from classifier.io.spool import Spool
from classifier.io.writers import Batch, make_writer, output_format

TEXT = "每周要填七八张表，数据还都差不多"
CODES = ["formalism", "task_overload"]


def rows(src):
    return list(src.rows)


def make_pdf(path, lines):
    """A one-page PDF with Helvetica text lines (made by hand: no PDF-writing library is a dependency)."""
    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = ["<< /Type /Catalog /Pages 2 0 R >>",
               "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               "/Resources << /Font << /F1 5 0 R >> >> >>",
               f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(out)


# -- encodings -----------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding, expected", [
    ("utf-8", "utf-8-sig"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030"),
    ("utf-16", "utf-16"),
])
def test_detect_encoding(encoding, expected):
    assert detect_encoding(None, ("id,text\n1," + TEXT * 5 + "\n").encode(encoding)) == expected


def test_detect_encoding_tolerates_a_corrupt_byte_in_utf8():
    data = (TEXT * 20 + "\n").encode() + b"\xff\n" + (TEXT * 20).encode()
    assert detect_encoding(None, data) == "utf-8-sig"


def test_detect_encoding_of_few_gbk_characters():
    assert detect_encoding(None, "id,text\n1,abc中\n".encode("gbk")) == "gb18030"


# -- CSV / TSV -----------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
@pytest.mark.parametrize("fmt, sep", [("csv", ","), ("tsv", "\t")])
def test_csv_and_tsv_in_every_encoding(tmp_path, encoding, fmt, sep):
    path = tmp_path / f"in.{fmt}"
    path.write_bytes(f'id{sep}text\n1{sep}"{TEXT}\n第二行{sep}带分隔符"\n2{sep}乡镇编制紧张\n'.encode(encoding))
    src = open_source(path)
    assert src.format == fmt and src.columns == ["id", "text"]
    assert rows(src) == [{"id": "1", "text": f"{TEXT}\n第二行{sep}带分隔符"}, {"id": "2", "text": "乡镇编制紧张"}]


def test_gb18030_only_characters(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes("id,text\n1,㐀䶵𠀀村\n".encode("gb18030"))  # not in GBK
    assert rows(open_source(path))[0]["text"] == "㐀䶵𠀀村"


def test_forced_encoding(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(f"id,text\n1,{TEXT}\n".encode("gbk"))
    assert rows(open_source(path, encoding="gbk"))[0]["text"] == TEXT
    with pytest.raises(JianfuError, match="unknown encoding"):
        open_source(path, encoding="klingon")


def test_csv_undecodable_bytes_fail_only_their_row(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(b"id,text\n" + f"1,{TEXT}\n".encode() * 30 + b"2,bad \xff\xfe bytes\n" + f"3,{TEXT}\n".encode())
    got = rows(open_source(path))
    bad = [r for r in got if isinstance(r, BadRow)]
    assert len(got) == 32 and len(bad) == 1
    assert bad[0]["id"] == "2" and "\ufffd" in bad[0]["text"]
    assert "line 32" in bad[0].error and "utf-8" in bad[0].error and "--encoding" in bad[0].error


def test_csv_too_many_fields_keeps_them(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,text\n1,a,b,c\n2,x\n\n3\n", encoding="utf-8")
    got = rows(open_source(path))
    assert isinstance(got[0], BadRow) and got[0]["column_3"] == "b" and got[0]["column_4"] == "c"
    assert "4 fields where the header has 2" in got[0].error
    assert got[1] == {"id": "2", "text": "x"} and got[2] == {"id": "3", "text": ""}  # blank line: no row


def test_csv_header_names_made_unique():
    assert unique_columns(["text", "", "text", None, " id "]) == ["text", "column_2", "text.1", "column_4", "id"]


def test_csv_field_longer_than_csv_module_default(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(f'id,text\n1,"{"字" * 300_000}"\n', encoding="utf-8")
    assert len(rows(open_source(path))[0]["text"]) == 300_000


def test_empty_csv_has_no_rows(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("", encoding="utf-8")
    assert rows(open_source(path)) == []


# -- XLSX ----------------------------------------------------------------------------------------
@pytest.fixture()
def workbook(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "汇总"
    ws.append(["x"])
    ws2 = wb.create_sheet("投诉")
    ws2.append(["id", "text", None])
    ws2.append([1, TEXT, None])
    ws2.append([None, None, None])
    ws2.append([2, "社区人手不足", "备注"])
    path = tmp_path / "in.xlsx"
    wb.save(path)
    return path


def test_xlsx_sheet_by_name_and_number(workbook):
    by_name = rows(open_source(workbook, sheet="投诉"))
    assert by_name == rows(open_source(workbook, sheet="2"))
    assert by_name[0] == {"id": 1, "text": TEXT}
    assert by_name[1] == {"id": 2, "text": "社区人手不足", "column_3": "备注"}  # empty row: not a row
    assert rows(open_source(workbook)) == []  # first sheet: a header only


def test_xlsx_unknown_sheet_lists_sheets(workbook):
    with pytest.raises(JianfuError, match="汇总, 投诉"):
        open_source(workbook, sheet="nope")


def test_broken_xlsx_is_a_clean_error(tmp_path):
    path = tmp_path / "in.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(JianfuError, match="not a readable .xlsx"):
        open_source(path)


# -- JSONL, Parquet, TXT ------------------------------------------------------------------------
def test_jsonl_bad_lines_are_rows_with_errors(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": 1, "text": TEXT}, ensure_ascii=False).encode() + b"\n"
                     b"{broken\n\n[1, 2]\n" + '{"text": "坏'.encode("gbk") + b'"}\n{"id": 5}\n')
    got = rows(open_source(path))
    assert got[0] == {"id": 1, "text": TEXT} and got[4] == {"id": 5}
    assert [type(r) for r in got] == [dict, BadRow, BadRow, BadRow, dict]
    assert got[1]["raw_line"] == "{broken" and "line 2: not valid JSON" in got[1].error
    assert "line 4: a JSON list" in got[2].error
    assert "line 5: bytes that are not valid utf-8" in got[3].error


def test_jsonl_from_stdin(monkeypatch):
    data = (json.dumps({"text": TEXT}, ensure_ascii=False) + "\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    src = open_source("-")
    assert src.format == "jsonl" and rows(src) == [{"text": TEXT}]


def test_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": [1, 2], "text": [TEXT, None]}), path)
    src = open_source(path, chunk_size=1)
    assert src.columns == ["id", "text"] and src.estimate_rows() == 2
    assert str(src.arrow_schema.field("id").type) == "int64"
    assert rows(src) == [{"id": 1, "text": TEXT}, {"id": 2, "text": None}]


def test_txt_one_document_per_line(tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes(f"{TEXT}\r\n\n  \n社区人手不足\n".encode("gbk"))
    assert rows(open_source(path)) == [{"line": 1, "text": TEXT}, {"line": 4, "text": "社区人手不足"}]


@pytest.mark.parametrize("name, fmt", [("a.CSV", "csv"), ("a.tsv", "tsv"), ("a.xlsx", "xlsx"), ("a.jsonl", "jsonl"),
                                       ("a.ndjson", "jsonl"), ("a.parquet", "parquet"), ("a.txt", "txt"), ("-", "jsonl")])
def test_format_from_extension(name, fmt):
    assert input_format(name) == fmt


def test_format_errors(tmp_path):
    with pytest.raises(JianfuError, match="save it as .xlsx"):
        input_format("old.xls")
    with pytest.raises(JianfuError, match="--format"):
        input_format("data.dat")
    assert input_format("data.dat", "csv") == "csv"
    with pytest.raises(JianfuError, match="input not found"):
        open_source(tmp_path / "missing.csv")


# -- folders of documents -----------------------------------------------------------------------
@pytest.fixture()
def folder(tmp_path):
    import docx

    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "a.txt").write_bytes(TEXT.encode("gbk"))
    (root / "b.md").write_text("# 标题\n\n社区人手不足", encoding="utf-8")
    d = docx.Document()
    d.add_paragraph("第一段：迎检材料准备到半夜")
    table = d.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "会议", "太多"
    d.add_paragraph("第二段")
    d.save(root / "sub" / "c.docx")
    make_pdf(root / "sub" / "d.pdf", ["Too many forms", "every week."])
    make_pdf(root / "scan.pdf", [])
    (root / "broken.docx").write_bytes(b"PK not really")
    (root / "~$c.docx").write_bytes(b"lock")
    (root / ".hidden.txt").write_text("x")
    (root / ".git" / "x.txt").write_text("x")
    (root / "image.png").write_bytes(b"x")
    return root


def test_folder_lists_documents_in_order(folder):
    names = [p.relative_to(folder).as_posix() for p in list_documents(folder)]
    assert names == ["a.txt", "b.md", "broken.docx", "scan.pdf", "sub/c.docx", "sub/d.pdf"]


def test_folder_rows(folder):
    src = open_source(folder)
    assert src.format == "dir" and src.columns == ["path", "text"] and src.estimate_rows() == 6
    got = {r["path"]: r for r in rows(src)}
    assert got["a.txt"]["text"] == TEXT
    assert got["b.md"]["text"].endswith("社区人手不足")
    assert got["sub/c.docx"]["text"] == "第一段：迎检材料准备到半夜\n会议\t太多\n第二段"
    assert got["sub/d.pdf"]["text"] == "Too many forms every week."
    assert isinstance(got["broken.docx"], BadRow) and "not a readable .docx" in got["broken.docx"].error
    assert isinstance(got["scan.pdf"], BadRow) and "OCR" in got["scan.pdf"].error


def test_extract_text_errors(tmp_path):
    bad = tmp_path / "x.pdf"
    bad.write_bytes(b"%PDF-1.4 garbage")
    with pytest.raises(DocumentError, match="not a readable PDF"):
        extract_text(bad)


def test_reflow_joins_wrapped_pdf_lines():
    text = "基层干部反映每周要\n填很多表格。\n- 2 -\n一、总体要求\n各单位要\n认真落实。\n（二）具体措施"
    assert reflow(text) == "基层干部反映每周要填很多表格。\n一、总体要求\n各单位要认真落实。\n（二）具体措施"


# -- writers and the partial output ------------------------------------------------------------
def batch(rows, errors=None):
    n = len(rows)
    errors = errors or [None] * n
    return Batch(rows, [["formalism"] if e is None else [] for e in errors],
                 [[0.9, 0.1] if e is None else None for e in errors],
                 [{"formalism": [1, 3]} if e is None else None for e in errors], errors)


def assemble(tmp_path, fmt, batches, **kw):
    writer = make_writer(fmt, CODES, **kw)
    spool = Spool(tmp_path / f"out.{fmt}", writer)
    spool.start({"x": 1})
    for b in batches:
        spool.commit(b, len(b.rows), sum(e is not None for e in b.errors))
    spool.finish()
    assert not spool.exists()
    return tmp_path / f"out.{fmt}"


def read_back(path):
    """Output rows as dicts of text (the way a user's tool sees them)."""
    fmt = path.suffix[1:]
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if fmt == "csv":
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
        return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    if fmt == "xlsx":
        import openpyxl

        ws = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        values = list(ws.iter_rows(values_only=True))
        width = len(values[0])
        return [dict(zip(values[0], r + (None,) * (width - len(r)))) for r in values[1:]]
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def test_jsonl_output(tmp_path):
    out = assemble(tmp_path, "jsonl", [batch([{"id": 1, "text": "a"}]), batch([{"id": 2, "text": ""}], ["empty text"])])
    assert read_back(out) == [
        {"id": 1, "text": "a", "labels": ["formalism"], "scores": {"formalism": 0.9, "task_overload": 0.1},
         "paragraphs": {"formalism": [1, 3]}, "error": None},
        {"id": 2, "text": "", "labels": [], "scores": {}, "paragraphs": {}, "error": "empty text"}]


def test_jsonl_output_keeps_a_lone_surrogate(tmp_path):
    out = assemble(tmp_path, "jsonl", [batch([{"text": "a\ud800b"}])])
    assert read_back(out)[0]["text"] == "a\ud800b"


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_tabular_outputs_join_columns_of_every_part(tmp_path, fmt):
    first = batch([{"id": "1", "text": "a", "labels": "old"}])
    second = batch([{"id": "2", "text": "b", "extra": "x"}], ["broken"])
    got = read_back(assemble(tmp_path, fmt, [first, second]))
    assert list(got[0]) == ["id", "text", "extra", "labels", "score_formalism", "score_task_overload",
                            "paragraphs", "error"]
    assert got[0]["id"] == "1" and got[0]["extra"] in ("", None) and got[1]["extra"] == "x"
    assert float(got[0]["score_formalism"]) == 0.9 and got[1]["score_formalism"] in ("", None)
    assert got[1]["error"] == "broken" and got[0]["error"] in ("", None)
    if fmt == "parquet":
        assert got[0]["labels"] == ["formalism"] and got[0]["paragraphs"] == [("formalism", [1, 3])]
    else:
        assert got[0]["labels"] == "formalism" and got[0]["paragraphs"] == "formalism:1,3"


def test_xlsx_output_keeps_text_that_looks_like_a_formula(tmp_path):
    import openpyxl

    out = assemble(tmp_path, "xlsx", [batch([{"text": "=1+1 不是公式", "note": "a\x01b"}])])
    cells = openpyxl.load_workbook(out).worksheets[0][2]
    assert cells[0].value == "=1+1 不是公式" and cells[0].data_type == "s"
    assert cells[1].value == "a\ufffdb"


def test_parquet_output_types(tmp_path):
    import pyarrow.parquet as pq

    out = assemble(tmp_path, "parquet", [batch([{"n": 1, "meta": {"a": 1}}]), batch([{"n": 2.5, "meta": None}])])
    table = pq.read_table(out)
    assert str(table.schema.field("n").type) == "double"
    assert table.column("n").to_pylist() == [1.0, 2.5]
    assert table.column("meta").to_pylist() == ['{"a": 1}', None]  # nested JSON values as JSON text


def test_paragraph_rows_have_no_paragraphs_column(tmp_path):
    b = batch([{"row": 1, "paragraph": 1, "text": "a"}])
    got = read_back(assemble(tmp_path, "csv", [b], by_paragraph=True))
    assert list(got[0])[:3] == ["row", "paragraph", "text"] and "paragraphs" not in got[0]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "xlsx", "parquet"])
def test_empty_output_has_a_header(tmp_path, fmt):
    writer = make_writer(fmt, CODES, columns=["id", "text"])
    out = assemble(tmp_path, fmt, [])
    assert out.exists()
    if fmt == "csv":
        assert out.read_text(encoding="utf-8-sig").startswith("labels,")
    del writer


def test_output_format():
    assert output_format("a.CSV") == "csv" and output_format("-") == "jsonl"
    with pytest.raises(JianfuError, match=".jsonl, .csv, .xlsx or .parquet"):
        output_format("a.txt")


def test_spool_resume_keeps_committed_parts_only(tmp_path):
    writer = make_writer("jsonl", CODES)
    spool = Spool(tmp_path / "out.jsonl", writer)
    spool.start({"input": "a"})
    spool.commit(batch([{"text": "a"}]), 1, 0)
    spool.commit(batch([{"text": "b"}, {"text": "c"}]), 2, 0)
    (spool.dir / "part-000002.jsonl.tmp").write_text("half")          # cut short
    (spool.dir / "part-000002.jsonl").write_text("done, not logged")  # renamed, not logged
    with open(spool.dir / "parts.jsonl", "a") as f:
        f.write('{"index": 2, "fi')                                    # torn log line
    again = Spool(tmp_path / "out.jsonl", writer)
    parts = again.resume({"input": "a"})
    assert [p.rows_in for p in parts] == [1, 2]
    assert sorted(p.name for p in again.dir.iterdir()) == ["manifest.json", "part-000000.jsonl",
                                                          "part-000001.jsonl", "parts.jsonl"]
    again.commit(batch([{"text": "d"}]), 1, 0)
    again.finish()
    assert [r["text"] for r in read_back(tmp_path / "out.jsonl")] == ["a", "b", "c", "d"]


def test_spool_refuses_to_resume_another_run(tmp_path):
    spool = Spool(tmp_path / "out.jsonl", make_writer("jsonl", CODES))
    spool.start({"input": "a", "by": "document"})
    with pytest.raises(JianfuError, match="different by, input"):
        Spool(tmp_path / "out.jsonl", make_writer("jsonl", CODES)).resume({"input": "b", "by": "paragraph"})


def test_xlsx_output_goes_on_in_a_new_sheet_when_one_is_full(tmp_path, monkeypatch):
    import openpyxl

    import classifier.io.writers as writers

    monkeypatch.setattr(writers, "_EXCEL_ROWS_MAX", 3)  # a header and two rows per sheet
    out = assemble(tmp_path, "xlsx", [batch([{"text": str(i)} for i in range(5)])])
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames == ["tags", "tags (2)", "tags (3)"]
    sheets = [[r[0] for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets]
    assert sheets == [["text", "0", "1"], ["text", "2", "3"], ["text", "4"]]
