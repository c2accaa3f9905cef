"""Text extraction: .docx paragraphs and tables, PDFs, plain text in UTF-8, GB18030/GBK and Big5; metadata only otherwise."""

from __future__ import annotations

import io

import docx
import opencc
import pytest
from pypdf import PdfWriter

from search.extract import MAX_BYTES, decode_text, extract, skip_reason
from tests.test_search_analysis import SEED

POLICY = SEED.read_text(encoding="utf-8")
SIMPLIFIED = opencc.OpenCC("t2s").convert(POLICY)
EXCERPT = "定期備份機制保障數據安全,如每周一次全量備份。"


def pdf_bytes(lines: list[str]) -> bytes:
    """A PDF whose text is ``lines``, in a Type0 font whose ToUnicode map is the identity (as CJK PDFs are)."""
    text = " ".join(f"<{''.join(f'{ord(c):04X}' for c in line)}> Tj 0 -20 Td" for line in lines)
    stream = f"BT /F1 12 Tf 50 750 Td {text} ET".encode()
    cmap = (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Identity-UCS def "
            b"1 begincodespacerange <0000> <FFFF> endcodespacerange 1 beginbfrange <0000> <FFFF> <0000> "
            b"endbfrange endcmap CMapName currentdict /CMap defineresource pop end end")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        (b"<< /Type /Font /Subtype /Type0 /BaseFont /SimSun /Encoding /Identity-H /DescendantFonts [6 0 R] "
         b"/ToUnicode 7 0 R >>"),
        (b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /SimSun /CIDSystemInfo << /Registry (Adobe) "
         b"/Ordering (Identity) /Supplement 0 >> /DW 1000 >>"),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(cmap), cmap),
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def docx_bytes() -> bytes:
    document = docx.Document()
    document.add_heading("會議紀要", level=1)
    document.add_paragraph(EXCERPT)
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 2)).text = "議題 Topics"
    table.cell(1, 0).text = "討論結果"
    table.cell(1, 1).text = "行動計劃 action plan"
    table.cell(1, 2).add_table(rows=1, cols=1).cell(0, 0).text = "nested 嵌套"
    document.add_paragraph("簽名 after the table")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_gives_paragraphs_and_tables_in_order_merged_cells_once() -> None:
    found = extract(docx_bytes(), "minutes.docx")
    assert found.has_text and found.note is None
    lines = found.text.splitlines()
    assert lines[:2] == ["會議紀要", EXCERPT]
    assert lines.count("議題 Topics") == 1
    assert lines.index("討論結果") < lines.index("nested 嵌套") < lines.index("簽名 after the table")
    assert "行動計劃 action plan" in lines


def test_pdf_text_layer_in_chinese_and_english() -> None:
    found = extract(pdf_bytes(["客戶關係維護 policy", "備份 weekly backups"]), "policy.pdf")
    assert "客戶關係維護 policy" in found.text and "備份 weekly backups" in found.text


def test_pdfs_without_text_say_why() -> None:
    blank = PdfWriter()
    blank.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    blank.write(buffer)
    assert not extract(buffer.getvalue(), "scan.pdf").has_text
    assert "no text layer" in (extract(buffer.getvalue(), "scan.pdf").note or "")
    blank.encrypt("s3cret-password")
    locked = io.BytesIO()
    blank.write(locked)
    assert "encrypted" in (extract(locked.getvalue(), "locked.pdf").note or "")
    assert "unreadable PDF" in (extract(b"%PDF-1.4 garbage", "broken.pdf").note or "")


@pytest.mark.parametrize(("text", "encoding"), [
    (SIMPLIFIED, "gb18030"),
    (SIMPLIFIED, "gbk"),
    (POLICY, "big5"),
    (POLICY, "utf-8"),
    (POLICY, "utf-8-sig"),
    (POLICY, "utf-16"),
])
def test_plain_text_encodings_are_detected(text: str, encoding: str) -> None:
    data = text.encode(encoding, errors="ignore")  # Big5 and GBK have no tone-marked pinyin
    expected = data.decode(encoding)
    assert decode_text(data) == expected
    assert extract(data, "policy.txt").text == expected


def test_short_chinese_texts_in_legacy_encodings_are_detected() -> None:
    assert decode_text("本月客户档案已全部归档。".encode("gbk")) == "本月客户档案已全部归档。"
    assert decode_text("客戶關係維護制度".encode("big5")) == "客戶關係維護制度"


def test_unnamed_documents_are_sniffed() -> None:
    assert extract(docx_bytes(), None).text.startswith("會議紀要")
    assert "備份" in extract(pdf_bytes(["備份"]), None).text
    assert extract("備份 notes".encode(), None).text == "備份 notes"
    binary = bytes(range(256)) * 4
    assert not extract(binary, None).has_text and "metadata only" in (extract(binary, None).note or "")


def test_other_types_are_indexed_by_metadata_only() -> None:
    assert skip_reason("scan.jpg", 10) == ".jpg files are indexed by metadata only"
    assert skip_reason("sheet.XLSX", 10) == ".xlsx files are indexed by metadata only"
    assert skip_reason("notes.txt", MAX_BYTES + 1) is not None and "too large" in skip_reason("notes.txt", MAX_BYTES + 1)
    assert skip_reason("notes.txt", 10) is None and skip_reason(None, 10) is None
    assert "unreadable .docx" in (extract(b"PK\x03\x04 not a zip", "x.docx").note or "")
