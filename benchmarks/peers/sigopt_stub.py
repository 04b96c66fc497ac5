"""A minimal local stand-in for the (defunct) SigOpt API, standard library only.

It answers just the endpoints sigopt-python 8.8.3 uses for ``create_run``, ``run.log_metric``,
``run.log_checkpoint`` and ``run.end``::

    GET   /v1/tokens/self
    GET   /v1/clients/1/projects/<p>
    POST  /v1/clients/1/projects/<p>/training_runs
    GET   /v1/training_runs/<id>
    MERGE /v1/training_runs/<id>              -> 204
    POST  /v1/training_runs/<id>/checkpoints  -> the checkpoint
    GET   /_stats                             -> request counters (for sanity checks)

HTTP/1.1 keep-alive, Nagle disabled, one write per response: about as fast as a Python server can
answer, so client timings against it are a lower bound. Prints ``PORT <n>`` once listening on
127.0.0.1 (and only there).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STATS: Counter[str] = Counter()
LOCK = threading.Lock()
RUNS: dict[str, dict[str, Any]] = {}
_REASONS = {200: "OK", 204: "No Content", 404: "Not Found"}


def run_obj(run_id: str, project: str = "bench") -> dict[str, Any]:
    """The stored training run ``run_id``, created on first use."""
    now = int(time.time())
    return RUNS.setdefault(
        run_id,
        {
            "object": "training_run",
            "id": run_id,
            "client": "1",
            "project": project,
            "name": "bench",
            "state": "active",
            "assignments": {},
            "values": {},
            "metadata": {},
            "created": now,
            "updated": now,
            "deleted": False,
            "finished": False,
            "checkpoint_count": 0,
            "datasets": [],
            "files": [],
            "logs": {},
            "tags": [],
            "user": "1",
        },
    )


class Handler(BaseHTTPRequestHandler):
    """Routes the few requests the sigopt client makes."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # base class's names
        """Silence the per-request log."""

    def setup(self) -> None:
        """Count TCP connections (keep-alive should keep this at one per client)."""
        super().setup()
        with LOCK:
            STATS["tcp connections accepted"] += 1

    def _body(self) -> Any:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return {}

    def _send(self, code: int, obj: Any = None) -> None:
        body = b"" if obj is None else json.dumps(obj).encode()
        head = [
            f"HTTP/1.1 {code} {_REASONS.get(code, 'OK')}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "",
            "",
        ]
        self.wfile.write("\r\n".join(head).encode() + body)  # a single write

    def _route(self, method: str) -> None:
        body = self._body() if method in ("POST", "MERGE", "PUT") else None
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        with LOCK:
            STATS[f"{method} /" + "/".join(parts)] += 1
        if parts == ["_stats"]:
            return self._send(200, dict(STATS))
        if parts[:1] != ["v1"]:
            return self._send(404, {"message": "not found"})
        p = parts[1:]
        if p == ["tokens", "self"] and method == "GET":
            return self._send(
                200,
                {
                    "object": "token",
                    "client": "1",
                    "user": "1",
                    "token": "x",
                    "token_type": "client-api",
                    "all_experiments": True,
                    "development": False,
                },
            )
        if len(p) == 4 and p[0] == "clients" and p[2] == "projects" and method == "GET":
            return self._send(
                200, {"object": "project", "id": p[3], "client": p[1], "name": p[3], "user": "1", "metadata": {}}
            )
        if len(p) == 5 and p[0] == "clients" and p[4] == "training_runs" and method == "POST":
            run = run_obj(str(len(RUNS) + 1), p[3])
            run.update({k: v for k, v in (body or {}).items() if k in ("name", "metadata")})
            return self._send(200, run)
        if len(p) >= 2 and p[0] == "training_runs":
            run = run_obj(p[1])
            if len(p) == 2 and method == "GET":
                return self._send(200, run)
            if len(p) == 2 and method == "MERGE":
                if isinstance(body, dict) and "state" in body:
                    run["state"] = body["state"]
                return self._send(204)
            if len(p) == 3 and p[2] == "checkpoints" and method == "POST":
                run["checkpoint_count"] += 1
                return self._send(
                    200,
                    {
                        "object": "checkpoint",
                        "id": str(run["checkpoint_count"]),
                        "training_run": run["id"],
                        "created": int(time.time()),
                        "values": (body or {}).get("values", []),
                        "metadata": {},
                        "should_stop": False,
                        "stopping_reasons": {},
                    },
                )
        return self._send(404, {"message": f"stub: no route for {method} {self.path}"})

    def do_GET(self) -> None:
        """GET."""
        self._route("GET")

    def do_POST(self) -> None:
        """POST."""
        self._route("POST")

    def do_MERGE(self) -> None:
        """MERGE (SigOpt's partial update)."""
        self._route("MERGE")

    def do_PUT(self) -> None:
        """PUT."""
        self._route("PUT")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    sys.stdout.flush()
    server.serve_forever()
