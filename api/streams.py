"""Bridging request and response bodies between the async server and the synchronous archive core."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from typing import BinaryIO

import anyio.from_thread
from starlette.requests import ClientDisconnect, Request

from errors import UsageError

SMALL_BODY = 1024 * 1024


class ClientDisconnected(UsageError):
    """The client went away before it had sent the whole request body (an upload cut short)."""


CUT_SHORT = "the upload was cut short: the client disconnected"


async def _next_or_none(body: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await body.__anext__()
    except StopAsyncIteration:
        return None
    except ClientDisconnect:
        raise ClientDisconnected(CUT_SHORT) from None


def pull_chunk(body: AsyncIterator[bytes]) -> bytes | None:
    """The next chunk of an ASGI request body, fetched from a worker thread; None at its end."""
    return anyio.from_thread.run(_next_or_none, body)


class RequestBodyReader:
    """A file-like ``read(n)`` over an ASGI request body, used from a worker thread.

    The archive's encrypting reader pulls the upload through this as it encrypts, so a
    large upload is never held in memory.
    """

    def __init__(self, body: AsyncIterator[bytes]) -> None:
        self._body = body
        self._buffer = bytearray()
        self._done = False

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            chunk = pull_chunk(self._body)
            if chunk is None:
                self._done = True
            else:
                self._buffer += chunk
        if size < 0 or size >= len(self._buffer):
            data, self._buffer = bytes(self._buffer), bytearray()
        else:
            data = bytes(self._buffer[:size])
            del self._buffer[:size]
        return data


async def request_source(request: Request) -> BinaryIO:
    """The request body as a readable source: read at once when its declared length is small, else streamed.

    A small body read here saves the worker thread a round trip to the event loop per
    chunk; anything larger, or of unknown length (chunked), is streamed.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) <= SMALL_BODY:
        try:
            return io.BytesIO(await request.body())
        except ClientDisconnect:
            raise ClientDisconnected(CUT_SHORT) from None
    return RequestBodyReader(request.stream())


def primed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Read the first chunk now, so that a missing or tampered object fails before the response starts."""
    try:
        first = next(chunks)
    except StopIteration:
        return iter(())

    def rest() -> Iterator[bytes]:
        yield first
        yield from chunks

    return rest()
