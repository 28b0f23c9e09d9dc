"""Raw HTTP/1.1 over asyncio sockets: the attacks send what no client library would.

A request is bytes written as given (a path like ``//health`` or ``/%2e%2e/`` is not
normalised); a reply is read by Content-Length, chunks, or to the end of the connection. Each
failure to get a reply is named (``refused``, ``reset``, ``empty``, ``timeout``), since an
empty reply and a reset are findings of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

#: Largest reply head read; the service's own heads are well under 4 KB.
HEAD_LIMIT = 1 << 20


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        if parts.hostname != "127.0.0.1":
            raise ValueError(f"attacks run against 127.0.0.1 only, not {url}")
        return cls(parts.hostname, parts.port or 80)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # names lower-cased; a repeated name keeps its last value
    body: bytes
    seconds: float  # from the first byte sent to the last byte read


class NoReplyError(Exception):
    """No HTTP reply: ``kind`` says how (refused, reset, empty, truncated, timeout)."""

    def __init__(self, kind: str, seconds: float) -> None:
        super().__init__(kind)
        self.kind = kind
        self.seconds = seconds


def request_bytes(
    method: str,
    path: str,
    *,
    host: str = "127.0.0.1",
    body: bytes = b"",
    content_type: str | None = "application/json",
    headers: Iterable[tuple[str, str]] = (),
    close: bool = True,
) -> bytes:
    """One HTTP/1.1 request, byte for byte as it goes on the wire."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    if content_type is not None and body:
        lines.append(f"Content-Type: {content_type}")
    if body or method in {"POST", "PUT"}:
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    lines.extend(f"{name}: {value}" for name, value in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def connect(
    endpoint: Endpoint, *, timeout: float = 5.0
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(
        asyncio.open_connection(endpoint.host, endpoint.port, limit=HEAD_LIMIT), timeout
    )


async def read_reply(reader: asyncio.StreamReader, started: float) -> Reply:
    """Read one reply; raise ``NoReplyError`` (empty, reset, truncated) when there is none."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        kind = "empty" if not error.partial else "truncated"
        raise NoReplyError(kind, time.perf_counter() - started) from None
    except (ConnectionResetError, BrokenPipeError):
        raise NoReplyError("reset", time.perf_counter() - started) from None
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    try:
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await _read_chunks(reader)
        else:
            body = await reader.read()
    except asyncio.IncompleteReadError:
        raise NoReplyError("truncated", time.perf_counter() - started) from None
    except (ConnectionResetError, BrokenPipeError):
        raise NoReplyError("reset", time.perf_counter() - started) from None
    return Reply(status, headers, body, time.perf_counter() - started)


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return b"".join(parts)
        parts.append(chunk[:-2])


async def exchange(endpoint: Endpoint, raw: bytes, *, timeout: float = 10.0) -> Reply:
    """Send ``raw`` on a fresh connection and read one reply, within ``timeout`` seconds."""
    started = time.perf_counter()
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await connect(endpoint, timeout=timeout)
            writer.write(raw)
            with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                await writer.drain()  # a server may answer (431, 413) before reading it all
            return await read_reply(reader, started)
    except TimeoutError:
        raise NoReplyError("timeout", time.perf_counter() - started) from None
    except ConnectionRefusedError:
        raise NoReplyError("refused", time.perf_counter() - started) from None
    except (ConnectionResetError, BrokenPipeError):
        raise NoReplyError("reset", time.perf_counter() - started) from None
    finally:
        if writer is not None:
            close(writer)


def close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()


async def until_closed(reader: asyncio.StreamReader) -> bytes:
    """Wait for the server to end the connection; what it sent before (a 408, or nothing)."""
    received = bytearray()
    with contextlib.suppress(ConnectionResetError, BrokenPipeError, OSError):
        while chunk := await reader.read(65536):
            if len(received) < 4096:
                received += chunk
    return bytes(received)
