"""Shared python-docx set-up: Chinese-capable fonts and headings, tables, header, page-number footer.

Word picks the font of CJK text from ``w:rFonts/@w:eastAsia`` and ignores it when a theme font
(``w:eastAsiaTheme``) is set, which the default template's headings do. So every style's theme
fonts are replaced by explicit ones (SimSun for text, SimHei for headings, the usual Chinese
document pair; LibreOffice substitutes its own CJK fonts for them), and every run written here
carries the East Asian font itself, so text keeps it even when pasted elsewhere.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import datetime

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.text.run import Run

LATIN_FONT = "Calibri"
BODY_EAST_ASIA = "SimSun"
HEADING_EAST_ASIA = "SimHei"
HEADING_STYLES = ("Title", "Heading 1", "Heading 2")
THEME_ATTRIBUTES = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")
BLANK_ROWS = 5
BLANK = "＿" * 12
_FIELD = re.compile(r"\{(PAGE|NUMPAGES)\}")


def new_document(lang: str, title: str, created: datetime) -> DocumentObject:
    """An A4 document whose styles render Chinese in Chinese fonts, with its core properties set."""
    document = Document()
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2.5)
    for rfonts in document.styles.element.iter(qn("w:rFonts")):
        for attribute in THEME_ATTRIBUTES:
            rfonts.attrib.pop(qn(attribute), None)
    normal = document.styles["Normal"]
    normal.font.size = Pt(11)
    _style_fonts(normal.element, BODY_EAST_ASIA, lang)
    for name in HEADING_STYLES:
        _style_fonts(document.styles[name].element, HEADING_EAST_ASIA, lang)
    properties = document.core_properties
    properties.title, properties.author, properties.language = title, "Strongroom", lang
    properties.created = properties.modified = created.replace(tzinfo=None)
    properties.last_modified_by = "Strongroom"
    properties.revision = 1
    return document


def _style_fonts(style: object, east_asia: str, lang: str) -> None:
    rpr = style.get_or_add_rPr()  # type: ignore[attr-defined]
    _set_fonts(rpr, east_asia)
    language = rpr.find(qn("w:lang"))
    if language is None:
        language = OxmlElement("w:lang")
        rpr.append(language)
    language.set(qn("w:val"), "zh-CN" if lang == "zh" else "en-GB")
    language.set(qn("w:eastAsia"), "zh-CN")


def _set_fonts(rpr: object, east_asia: str) -> None:
    rfonts = rpr.find(qn("w:rFonts"))  # type: ignore[attr-defined]
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)  # type: ignore[attr-defined]
    for attribute, font in (("w:ascii", LATIN_FONT), ("w:hAnsi", LATIN_FONT), ("w:eastAsia", east_asia)):
        rfonts.set(qn(attribute), font)


def add_run(paragraph: Paragraph, text: str, *, bold: bool = False, heading: bool = False) -> Run:
    """A run that carries its East Asian font (``w:eastAsia``) itself."""
    run = paragraph.add_run(text)
    run.bold = bold or None
    _set_fonts(run._r.get_or_add_rPr(), HEADING_EAST_ASIA if heading else BODY_EAST_ASIA)
    return run


def paragraph(document: DocumentObject, text: str = "", *, bold: bool = False) -> Paragraph:
    para = document.add_paragraph()
    if text:
        add_run(para, text, bold=bold)
    return para


def heading(document: DocumentObject, text: str, level: int) -> Paragraph:
    """A heading (level 0: the title) whose run has the heading East Asian font."""
    para = document.add_paragraph(style="Title" if level == 0 else f"Heading {level}")
    add_run(para, text, heading=True)
    if level == 0:
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    return para


def field_line(document: DocumentObject, label: str, value: str | None) -> Paragraph:
    """``Label: value``, or a line to write on when there is no value."""
    para = document.add_paragraph()
    add_run(para, f"{label}：" if _is_cjk(label) else f"{label}: ", bold=True)
    add_run(para, value or BLANK)
    return para


def table(document: DocumentObject, headers: Sequence[str], rows: Sequence[Sequence[str]],
          *, total: Sequence[str] | None = None) -> Table:
    """A grid table with a bold header row (repeated on every page); blank rows to write in when ``rows`` is empty.

    ``total`` is a last, bold row of computed figures.
    """
    body = list(rows) or [[""] * len(headers)] * BLANK_ROWS
    grid = document.add_table(rows=1, cols=len(headers))
    grid.style = document.styles["Table Grid"]
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    header_row = grid.rows[0]
    header_row._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    for cell, text in zip(header_row.cells, headers, strict=True):
        add_run(cell.paragraphs[0], text, bold=True)
    for values in body:
        _row(grid, values, bold=False, blank=not rows)
    if total is not None:
        _row(grid, total, bold=True, blank=False)
    return grid


def _row(grid: Table, values: Sequence[str], *, bold: bool, blank: bool) -> None:
    row = grid.add_row()
    if blank:
        row.height = Cm(0.9)
    for cell, text in zip(row.cells, values, strict=True):
        if text:
            add_run(cell.paragraphs[0], text, bold=bold)


def header_and_footer(document: DocumentObject, header_text: str, page_label: str) -> None:
    """The header line (the record name once filed) and a footer with live page numbers.

    ``page_label`` holds ``{PAGE}`` and ``{NUMPAGES}``, which become Word fields.
    """
    section = document.sections[0]
    head = section.header.paragraphs[0]
    head.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    add_run(head, header_text)
    foot = section.footer.paragraphs[0]
    foot.alignment = WD_ALIGN_PARAGRAPH.CENTER
    position = 0
    for match in _FIELD.finditer(page_label):
        if match.start() > position:
            add_run(foot, page_label[position:match.start()])
        _field(foot, match[1])
        position = match.end()
    if position < len(page_label):
        add_run(foot, page_label[position:])


def _field(para: Paragraph, instruction: str) -> None:
    """A complex field (``PAGE``, ``NUMPAGES``): Word and LibreOffice compute it when they lay the page out."""
    _field_char(para, "begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    add_run(para, "")._r.append(instr)
    _field_char(para, "separate")
    add_run(para, "1")
    _field_char(para, "end")


def _field_char(para: Paragraph, kind: str) -> None:
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    add_run(para, "")._r.append(char)


def _is_cjk(text: str) -> bool:
    return any("\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in text)


def to_bytes(document: DocumentObject) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
