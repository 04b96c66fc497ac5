"""A bounded schemathesis fuzz of a live server over its ``/openapi.json``: no 5xx, declared statuses.

The engine is ``benchmarks/fuzz_server.py`` (which also runs the long fuzz). Here each operation gets
a few examples of each mode, derandomized and without Hypothesis' example database, so that a run in
CI sends the same requests every time.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from tests.live_server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # ``benchmarks`` is not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import fuzz_server  # noqa: E402

EXAMPLES = 3
SECONDS_PER_OPERATION = 1.0


def test_schema_lists_every_route_family(live_server: LiveServer) -> None:
    """The schema the fuzz reads covers the API: an operation missing from it would go unfuzzed."""
    paths = httpx.get(f"{live_server.url}/openapi.json", timeout=30).json()["paths"]
    for family in (
        "/v1/tokens/self",
        "/v1/clients/{",
        "/v1/training_runs/{",
        "/v1/experiments/{",
        "/v1/aiexperiments/{",
        "/observations",
        "/suggestions",
        "/best_assignments",
        "/v1/sigopt_ai/batches",
    ):
        assert any(family in path for path in paths), f"no operation of {family} in /openapi.json"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_bounded_fuzz_finds_no_server_error(live_server: LiveServer, mode: str) -> None:
    report = fuzz_server.fuzz(
        live_server.url,
        live_server.token,
        max_examples=EXAMPLES,
        seconds_per_operation=SECONDS_PER_OPERATION,
        random_seed=0,
        modes=(mode,),
    )
    assert len(report.operations) >= 20
    assert report.requests >= len(report.operations)
    assert report.problems() == []
    # The fuzz reached the handlers: not every answer was an authentication or routing refusal.
    assert any(200 <= status < 300 for status in report.statuses) or mode == "negative"
    assert 400 in report.statuses


def test_report_is_written_with_its_command(live_server: LiveServer, tmp_path: Path) -> None:
    """``benchmarks/fuzz_server.py`` against a running server writes its findings and exits 0 when clean."""
    out = tmp_path / "fuzz_server.txt"
    argv = [
        "--api-url",
        live_server.url,
        "--token",
        live_server.token,
        "--seconds",
        "5",
        "--examples",
        "2",
        "--seed",
        "1",
        "--only",
        "/v1/tokens/self",
        "--out",
        str(out),
    ]
    status = fuzz_server.main(argv)
    text = out.read_text()
    assert "command: python benchmarks/fuzz_server.py --api-url" in text
    assert "operations: 1;" in text and "GET /v1/tokens/self" in text
    assert ("findings: 0" in text) == (status == 0)
