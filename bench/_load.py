"""A small HTTP/1.1 load generator for the benchmarks: many keep-alive connections from one
asyncio loop (cheap per request, so the client steals little CPU from the server it measures).

    result = run_load("127.0.0.1", 8765, make_request, clients=32, seconds=10)

`make_request(i)` returns (method, path, headers, body bytes) for the i-th request. The result
has the count of answers per status, the rate and the latency percentiles.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

Request = tuple[str, str, dict[str, str], bytes]


@dataclass
class LoadResult:
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    # When each answer came, in seconds from the start of the measured period.
    finished_s: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("server closed the connection")
    status = int(status_line.split()[1])
    length = 0
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        lname = name.strip().lower()
        if lname == "content-length":
            length = int(value.strip())
        elif lname == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            if size == 0:
                await reader.readline()
                break
            body += await reader.readexactly(size)
            await reader.readline()
        return status, body
    return status, await reader.readexactly(length) if length else b""


async def _client(
    host: str,
    port: int,
    counter: itertools.count[int],
    make: Callable[[int], Request],
    deadline: float,
    result: LoadResult,
    record_from: float,
    schedule: Callable[[int], float] | None = None,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            i = next(counter)
            due = None
            if schedule is not None:
                # Open loop: request i is due at its scheduled time whether or not earlier
                # answers have come; its latency counts from then, waiting included.
                due = schedule(i)
                if due >= deadline:
                    break
                if (pause := due - time.perf_counter()) > 0:
                    await asyncio.sleep(pause)
            method, path, headers, body = make(i)
            head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            head += f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
            t0 = time.perf_counter()
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
            try:
                status, payload = await _read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                result.errors.append(str(exc))
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            t1 = time.perf_counter()
            if due is not None:
                t0 = min(t0, due)
            if t0 >= record_from:
                result.statuses[status] += 1
                result.latencies_ms.append((t1 - t0) * 1000)
                result.finished_s.append(t1 - record_from)
                if status >= 400 and len(result.errors) < 5:
                    result.errors.append(f"{status}: {payload[:300]!r}")
    finally:
        writer.close()


def run_load(
    host: str,
    port: int,
    make: Callable[[int], Request],
    *,
    clients: int = 32,
    seconds: float = 10.0,
    warmup: float = 1.0,
    rate: float | None = None,
) -> LoadResult:
    """Drive the server with `clients` keep-alive connections for `seconds` (after `warmup`).

    Without `rate`, each connection sends its next request as soon as the last is answered
    (closed loop: the server's most). With `rate`, requests are due at that many per second
    whatever the answers (open loop, as independent devices send), and each latency counts
    from when its request was due, so a server that falls behind shows it in the tail.
    """
    result = LoadResult()
    counter = itertools.count()

    async def main() -> None:
        start = time.perf_counter()
        record_from = start + warmup
        deadline = record_from + seconds
        schedule = None if rate is None else (lambda i: start + i / rate)
        await asyncio.gather(
            *[
                _client(host, port, counter, make, deadline, result, record_from, schedule)
                for _ in range(clients)
            ]
        )
        result.seconds = time.perf_counter() - record_from

    asyncio.run(main())
    return result
