"""An upload form parsed as it arrives: its fields first, then its one file as a stream.

Browsers send a form's parts in the order of its controls, so the upload forms put the file
last: the fields (the CSRF token among them) are known, and checked, before a byte of the
document is read, and the document then flows straight into the archive's encrypting reader,
as an API upload does (:mod:`api.streams`). Starlette's own form parser would first spool it
to a temporary file, in plain text.

Used from a worker thread: each chunk of the body is fetched from the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from api.streams import pull_chunk
from errors import UsageError

FILE_FIELD = "file"
MAX_FIELD_BYTES = 16 * 1024
MAX_FIELDS = 16


class StreamedUpload:
    """``fields()`` reads up to the file; ``read(n)`` then returns the file's bytes, like a file opened for reading."""

    def __init__(self, body: AsyncIterator[bytes], content_type: str) -> None:
        kind, options = parse_options_header(content_type)
        if kind != b"multipart/form-data" or not options.get(b"boundary"):
            raise UsageError("expected a multipart/form-data upload")
        self._body = body
        self._parser = MultipartParser(options[b"boundary"], {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        })
        self._fields: dict[str, str] = {}
        self.filename: str | None = None
        self._field_name: str | None = None
        self._value = bytearray()
        self._in_file = False
        self._file_state = "before"  # before, in, after
        self._header = [bytearray(), bytearray()]
        self._disposition = b""
        self._buffer = bytearray()
        self._ended = False

    # -- parser callbacks ----------------------------------------------------------------

    def _part_begin(self) -> None:
        self._disposition = b""
        self._header = [bytearray(), bytearray()]

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0] += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1] += data[start:end]

    def _header_end(self) -> None:
        if bytes(self._header[0]).lower() == b"content-disposition":
            self._disposition = bytes(self._header[1])
        self._header = [bytearray(), bytearray()]

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == FILE_FIELD and b"filename" in options and self._file_state == "before":
            self._in_file, self._file_state = True, "in"
            self.filename = options[b"filename"].decode("utf-8", "replace").replace("\\", "/").rsplit("/", 1)[-1]
            return
        if len(self._fields) >= MAX_FIELDS:
            raise UsageError("too many form fields")
        self._in_file, self._field_name, self._value = False, name, bytearray()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._buffer += data[start:end]
            return
        self._value += data[start:end]
        if len(self._value) > MAX_FIELD_BYTES:
            raise UsageError(f"form field {self._field_name!r} is too long")

    def _part_end(self) -> None:
        if self._in_file:
            self._in_file, self._file_state = False, "after"
        elif self._field_name is not None and self._file_state == "before":
            self._fields[self._field_name] = self._value.decode("utf-8", "replace")
        self._field_name = None

    # -- pulling the body ----------------------------------------------------------------

    def _pull(self) -> None:
        chunk = pull_chunk(self._body)
        try:
            if chunk is None:
                self._ended = True
                self._parser.finalize()
            else:
                self._parser.write(chunk)
        except MultipartParseError:
            raise UsageError("the upload is not a well-formed multipart form") from None

    def fields(self) -> dict[str, str]:
        """The form fields sent before the file (UsageError if no file was chosen)."""
        while self._file_state == "before" and not self._ended:
            self._pull()
        if self._file_state == "before" or not self.filename:
            raise UsageError("choose a file to upload")
        return dict(self._fields)

    def read(self, size: int = -1) -> bytes:
        while self._file_state == "in" and not self._ended and (size < 0 or len(self._buffer) < size):
            self._pull()
        if self._file_state == "in" and self._ended:
            raise UsageError("the upload was cut short")
        if size < 0 or size >= len(self._buffer):
            data, self._buffer = bytes(self._buffer), bytearray()
        else:
            data = bytes(self._buffer[:size])
            del self._buffer[:size]
        return data
