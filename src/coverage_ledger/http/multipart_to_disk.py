"""A multipart/form-data body streamed to disk as it arrives: the file part is written (and
hashed) chunk by chunk, never held in memory; other fields are small text. Beyond the size limit
the upload stops with 413 and the partial file is removed."""

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from coverage_ledger.errors import (
    ErrorItem,
    InvalidInput,
    MalformedRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from coverage_ledger.private_files import create_private

_MAX_FIELD_BYTES = 4096


@dataclass
class ReceivedForm:
    """The fields of the form and, if one was sent, the file part on disk."""

    fields: dict[str, str] = field(default_factory=dict)
    file_field: str | None = None
    filename: str | None = None
    path: Path | None = None
    sha256: str = ""
    size_bytes: int = 0
    seconds: float = 0.0


class _Receiver:
    def __init__(self, target: Path, max_bytes: int, file_field: str) -> None:
        self.target = target
        self.max_bytes = max_bytes
        self.file_field = file_field
        self.form = ReceivedForm()
        self.header_field = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.name: str | None = None
        self.is_file = False
        self.buffer = bytearray()
        self.out: IO[bytes] | None = None
        self.digest = hashlib.sha256()
        self.too_large = False
        self.ended = False
        """Whether the closing boundary arrived: a body cut short must not pass as a whole file."""

    def on_part_begin(self) -> None:
        self.headers = {}
        self.buffer = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_field.lower()] = self.header_value
        self.header_field = b""
        self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        self.is_file = self.name == self.file_field and filename is not None
        if self.is_file and self.form.path is not None:
            raise MalformedRequest(
                f"the form holds more than one {self.file_field!r} part",
                [ErrorItem("several_files", "send one file per upload", field=self.file_field)],
            )
        if self.is_file:
            self.form.file_field = self.name
            self.form.filename = (filename or b"").decode("utf-8", "replace")
            self.form.path = self.target
            self.out = create_private(self.target)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        piece = data[start:end]
        if self.is_file and self.out is not None:
            self.form.size_bytes += len(piece)
            if self.form.size_bytes > self.max_bytes:
                self.too_large = True
                return
            self.out.write(piece)
            self.digest.update(piece)
        else:
            self.buffer += piece
            if len(self.buffer) > _MAX_FIELD_BYTES:
                raise MalformedRequest(
                    f"form field {self.name!r} is longer than {_MAX_FIELD_BYTES} bytes",
                    [ErrorItem("field_too_long", "form fields are short text", field=self.name)],
                )

    def on_part_end(self) -> None:
        if self.is_file and self.out is not None:
            self.out.close()
            self.out = None
        elif self.name:
            value = self.buffer.decode("utf-8", "replace")
            if self.form.fields.get(self.name, value) != value:
                # `dry_run=true` then `dry_run=false`: neither may silently win
                raise InvalidInput(
                    f"form field {self.name!r} is given twice with different values",
                    [ErrorItem("conflicting_parameter", "the field is repeated", field=self.name)],
                )
            self.form.fields[self.name] = value

    def on_end(self) -> None:
        self.ended = True

    def close(self) -> None:
        if self.out is not None:
            self.out.close()


MAX_BOUNDARY = 70
"""The longest multipart boundary RFC 2046 allows."""


async def receive_form(
    request: Request, *, target: Path, max_bytes: int, file_field: str = "file"
) -> ReceivedForm:
    """Stream the request's multipart body; the part named `file_field` goes to `target`."""
    started = time.monotonic()
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type == b"multipart/form-data" and not boundary:
        raise MalformedRequest(
            "the Content-Type multipart/form-data names no boundary, so the parts cannot be told "
            "apart (curl -F and browsers add it; a Content-Type header set by hand drops it)",
            [ErrorItem("bad_boundary", "the multipart Content-Type has no boundary", field="file")],
        )
    if content_type != b"multipart/form-data" or not boundary:
        # 415, as the JSON operations answer a body sent as something else (found by a probe)
        media = request.headers.get("content-type") or "no content type"
        raise UnsupportedMediaType(
            f"the body was sent as {media}; send the file as multipart/form-data (curl: -F "
            "file=@roster.csv); nothing was written",
            [ErrorItem("not_multipart", "Content-Type must be multipart/form-data", field="file")],
        )
    if len(boundary) > MAX_BOUNDARY:
        # the parser refuses one over 256 bytes as it is built (a 500 before this check)
        raise MalformedRequest(
            f"the multipart boundary is {len(boundary)} characters long; RFC 2046 allows {MAX_BOUNDARY}",
            [
                ErrorItem(
                    "bad_boundary", f"the boundary is longer than {MAX_BOUNDARY} characters", field="file"
                )
            ],
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
        raise PayloadTooLarge(f"the upload is {int(declared)} bytes; the limit is {max_bytes} bytes")
    receiver = _Receiver(target, max_bytes, file_field)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": receiver.on_part_begin,
            "on_header_field": receiver.on_header_field,
            "on_header_value": receiver.on_header_value,
            "on_header_end": receiver.on_header_end,
            "on_headers_finished": receiver.on_headers_finished,
            "on_part_data": receiver.on_part_data,
            "on_part_end": receiver.on_part_end,
            "on_end": receiver.on_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if receiver.too_large:
                raise PayloadTooLarge(f"the file is larger than the limit of {max_bytes} bytes")
        parser.finalize()
        if not receiver.ended:
            raise MalformedRequest(
                "the multipart body ends before its closing boundary: the upload was cut short",
                [ErrorItem("incomplete_body", "the body was cut short; send the file again", field="file")],
            )
    except BaseException as exc:  # too large, unreadable, or the client went away: keep nothing
        receiver.close()
        target.unlink(missing_ok=True)
        if isinstance(exc, ValueError):
            raise MalformedRequest(f"the multipart body cannot be read: {exc}") from exc
        if isinstance(exc, ClientDisconnect):
            # the client's doing, not the server's: no 500 and no traceback in the log
            raise MalformedRequest(
                "the client went away before the body was whole: nothing was kept",
                [ErrorItem("incomplete_body", "the body was cut short; send the file again", field="file")],
            ) from exc
        raise
    receiver.close()
    form = receiver.form
    form.sha256 = receiver.digest.hexdigest()
    form.seconds = time.monotonic() - started
    return form
