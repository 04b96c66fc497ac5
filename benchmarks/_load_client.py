"""A light HTTP/1.1 load generator: many keep-alive connections driven by one thread with ``selectors``.

Every request is built once, before the clock starts (method, path, headers with HTTP Basic, body),
so a request costs the generator a ``send`` and a small parse of the reply: tens of microseconds,
against about a millisecond for an ``httpx.Client`` request. On a machine whose cores the server
shares, that leaves the server its CPU and makes the figure the server's.

Each connection has one request outstanding at a time (no pipelining), as a client of the official
``sigopt`` package or the SDK's writer thread does.

Usage (from the repository root, against a running server)::

    python benchmarks/_load_client.py --url http://127.0.0.1:8000 --token TOKEN --run RUN_ID \\
        --connections 16 --duration 5
"""

from __future__ import annotations

import argparse
import base64
import json
import selectors
import socket
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LoadResult", "build_request", "merge_requests", "run_load"]

_VARIANTS = 256
"""Distinct pre-built requests per connection (the metric value changes from one to the next)."""


def build_request(method: str, host: str, path: str, token: str, body: Any, headers: dict[str, str]) -> bytes:
    """The bytes of one HTTP/1.1 request with a JSON body and HTTP Basic authentication (the token as
    the user name)."""
    payload = json.dumps(body, separators=(",", ":")).encode()
    auth = base64.b64encode(f"{token}:".encode()).decode()
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        f"Authorization: Basic {auth}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def merge_requests(host: str, token: str, run_id: str) -> list[bytes]:
    """What the official client sends for each ``log_metric``: a MERGE of one value, its reply skipped."""
    return [
        build_request(
            "MERGE",
            host,
            f"/v1/training_runs/{run_id}",
            token,
            {"values": {"loss": {"value": 1.0 / (i + 1)}}},
            {"X-Response-Content": "skip"},
        )
        for i in range(_VARIANTS)
    ]


@dataclass
class LoadResult:
    """What a load run measured."""

    requests: int
    duration_s: float
    cpu_s: float
    latencies_ns: list[int] = field(repr=False)
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def requests_per_s(self) -> float:
        """Successful (2xx) requests per second of the timed window."""
        return self.requests / self.duration_s

    @property
    def cpu_ms_per_request(self) -> float | None:
        """The generator's own CPU time per successful request."""
        return self.cpu_s * 1e3 / self.requests if self.requests else None

    def summary(self) -> dict[str, Any]:
        """The figures as plain numbers."""
        ordered = sorted(self.latencies_ns)
        return {
            "requests": self.requests,
            "requests_per_s": self.requests_per_s,
            "p50_ms": statistics.median(ordered) / 1e6 if ordered else None,
            "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1e6 if ordered else None,
            "client_cpu_ms_per_request": self.cpu_ms_per_request,
            "statuses": {str(k): v for k, v in self.statuses.items()},
        }


class _Connection:
    """One keep-alive connection: sends its next request when the last reply is complete."""

    def __init__(self, address: tuple[str, int], requests: Sequence[bytes]) -> None:
        self.sock = socket.create_connection(address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.requests = requests
        self.index = 0
        self.buffer = b""
        self.sent_ns = 0

    def send_next(self) -> None:
        request = self.requests[self.index % len(self.requests)]
        self.index += 1
        self.buffer = b""
        self.sent_ns = time.perf_counter_ns()
        self.sock.sendall(request)  # a small request fits the socket's buffer at once

    def reply_status(self) -> int | None:
        """The status of the reply once it has arrived whole, else None (reads what is there)."""
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        head = self.buffer[:head_end].split(b"\r\n")
        status = int(head[0].split(b" ", 2)[1])
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(self.buffer) - head_end - 4 < length:
            return None
        return status


def run_load(url: str, requests_of: Sequence[Sequence[bytes]], duration: float) -> LoadResult:
    """Drive one connection per entry of ``requests_of`` (its pre-built requests, sent in turn) for
    ``duration`` seconds after one warm-up request each; latencies and statuses of the timed window."""
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    connections = [_Connection(address, requests) for requests in requests_of]
    selector = selectors.DefaultSelector()
    for conn in connections:  # warm up: connected, authenticated, the server's caches filled
        conn.sock.setblocking(True)
        conn.send_next()
        while conn.reply_status() is None:
            pass
        conn.sock.setblocking(False)
        selector.register(conn.sock, selectors.EVENT_READ, conn)
    latencies: list[int] = []
    statuses: Counter[int] = Counter()
    cpu0 = time.process_time()
    start = time.perf_counter_ns()
    end = start + int(duration * 1e9)
    for conn in connections:
        conn.send_next()
    open_count = len(connections)
    while open_count:
        for key, _ in selector.select(timeout=1.0):
            conn = key.data
            status = conn.reply_status()
            if status is None:
                continue
            now = time.perf_counter_ns()
            statuses[status] += 1
            if 200 <= status < 300:
                latencies.append(now - conn.sent_ns)
            if now < end:
                conn.send_next()
            else:
                selector.unregister(conn.sock)
                open_count -= 1
    wall = (time.perf_counter_ns() - start) / 1e9
    cpu = time.process_time() - cpu0
    for conn in connections:
        conn.sock.close()
    ok = sum(v for k, v in statuses.items() if 200 <= k < 300)
    return LoadResult(requests=ok, duration_s=wall, cpu_s=cpu, latencies_ns=latencies, statuses=statuses)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", required=True, help="the server, http://HOST:PORT")
    parser.add_argument("--token", required=True, help="an API token of the run's client")
    parser.add_argument("--run", action="append", required=True, help="a run id to MERGE into (repeatable)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args(argv)
    host = urlsplit(args.url).netloc
    requests = [merge_requests(host, args.token, args.run[k % len(args.run)]) for k in range(args.connections)]
    print(json.dumps(run_load(args.url, requests, args.duration).summary()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
