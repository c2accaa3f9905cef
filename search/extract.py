"""Text out of a document's bytes, for indexing: .docx, .pdf and plain text; anything else is metadata only.

- ``.docx``: body paragraphs and tables in document order (python-docx), nested tables included and
  merged cells once;
- ``.pdf``: the text layer of every page (pypdf); an encrypted or scanned PDF has none to give;
- ``.txt``, ``.md``, ``.csv`` (and a file without a name that looks like text): UTF-8 (with or without
  a BOM), UTF-16 with a BOM, else GB18030 (which reads GBK and GB2312) or Big5, as detected by
  charset-normalizer.

Nothing here raises for bad input: a document that cannot be read is indexed by its metadata, with
the reason in :attr:`Extracted.note`, which ``show`` reports.
"""

from __future__ import annotations

import io
import logging
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

MAX_BYTES = 32 * 1024 * 1024
MAX_CHARS = 1_000_000
TEXT_SUFFIXES = frozenset({".txt", ".md", ".csv"})
SUFFIXES = TEXT_SUFFIXES | {".docx", ".pdf"}
CHINESE_ENCODINGS = ["gb18030", "big5"]
SNIFF_BYTES = 8192

logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed-but-readable PDFs are common; not our news


@dataclass(frozen=True)
class Extracted:
    """The text to index, or why there is none (``note`` also says when the text was cut short)."""

    text: str
    note: str | None = None

    @property
    def has_text(self) -> bool:
        return bool(self.text.strip())


def suffix(filename: str | None) -> str:
    return PurePath(filename).suffix.lower() if filename else ""


def skip_reason(filename: str | None, size: int) -> str | None:
    """Why a version need not even be read (metadata only), or None if its content should be extracted."""
    ext = suffix(filename)
    if ext and ext not in SUFFIXES:
        return f"{ext} files are indexed by metadata only"
    if size > MAX_BYTES:
        return f"too large to index its text ({size / 1024 / 1024:.0f} MiB; the limit is {MAX_BYTES // 1024 // 1024} MiB)"
    return None


def extract(data: bytes, filename: str | None) -> Extracted:
    """The text of a document whose bytes are ``data`` (see the module docstring)."""
    ext = suffix(filename) or _sniff(data)
    if ext == ".docx":
        found = _docx(data)
    elif ext == ".pdf":
        found = _pdf(data)
    elif ext in TEXT_SUFFIXES:
        found = _text(data)
    else:
        return Extracted("", "not a document whose text can be indexed (metadata only)")
    if len(found.text) > MAX_CHARS:
        return Extracted(found.text[:MAX_CHARS], f"only the first {MAX_CHARS:,} characters are indexed")
    return found


def _sniff(data: bytes) -> str:
    """The kind of an unnamed document from its first bytes: '.pdf', '.docx', '.txt' or ''."""
    head = data[:SNIFF_BYTES]
    if head.startswith(b"%PDF-"):
        return ".pdf"
    if head.startswith(b"PK\x03\x04"):
        return ".docx" if b"word/" in head else ""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" not in head:
        return ".txt"
    return ""


def decode_text(data: bytes) -> str | None:
    """Plain text in UTF-8/UTF-16 (BOM), GB18030/GBK or Big5, or None if it does not look like text."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    import charset_normalizer

    best = charset_normalizer.from_bytes(data, cp_isolation=CHINESE_ENCODINGS).best()
    if best is None:
        best = charset_normalizer.from_bytes(data).best()
    return None if best is None else str(best)


def _text(data: bytes) -> Extracted:
    text = decode_text(data)
    if text is None:
        return Extracted("", "the text's character encoding could not be recognised (metadata only)")
    return Extracted(text)


def _docx(data: bytes) -> Extracted:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        return Extracted("", f"unreadable .docx ({type(exc).__name__}); metadata only")
    return Extracted("\n".join(_blocks(document.element.body, document)))


def _blocks(container: object, parent: object) -> list[str]:
    """Paragraph and table texts under a body or a table cell, in document order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[str] = []
    for child in container.iterchildren():  # type: ignore[attr-defined]
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            out.append(Paragraph(child, parent).text)  # type: ignore[arg-type]
        elif tag == "tbl":
            out.extend(_table(Table(child, parent)))  # type: ignore[arg-type]
    return out


def _table(table: object) -> list[str]:
    out: list[str] = []
    seen: set[object] = set()  # the cells' XML elements; holding them keeps lxml's proxies (and identities) alive
    for row in table.rows:  # type: ignore[attr-defined]
        for cell in row.cells:
            if cell._tc in seen:  # a merged cell appears once per grid column it spans
                continue
            seen.add(cell._tc)
            out.extend(_blocks(cell._tc, cell))
    return out


def _pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return Extracted("", "encrypted PDF (metadata only)")
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        return Extracted("", f"unreadable PDF ({type(exc).__name__}); metadata only")
    if not text.strip():
        return Extracted("", "the PDF has no text layer (a scan?); metadata only")
    return Extracted(text)
