"""Fuzz the ``sigopt-ai server`` with schemathesis over its ``/openapi.json``, and write what it found.

Run:  python benchmarks/fuzz_server.py [--seconds 600] [--examples 500] [--seed 0] [--db PATH_OR_URL]
      python benchmarks/fuzz_server.py --api-url http://host:8000 --token TOKEN   (a server already running)

Without ``--api-url`` it starts a real server (``tests.live_server.LiveServer``) over a fresh SQLite
store (or ``--db``). Every operation of the schema is fuzzed twice: with schema-valid requests
(``positive``) and with invalid ones (``negative``), each half with generated path parameters and
half with the ids of real objects (a project, a run, an experiment, a suggestion, an observation) so
that bodies reach the handlers behind the 404. A finding is any 5xx, a status code the schema does
not declare for the operation, or a transport error. The report goes to
``benchmarks/results/fuzz_server.txt`` (``--out``); the exit status is 1 when something was found.

``tests/server/test_fuzz.py`` runs the same :func:`fuzz` with a few examples per operation.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import status_code_conformance

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: ``benchmarks`` and ``tests`` are not installed packages
    sys.path.insert(0, str(REPO))

RESULTS = REPO / "benchmarks" / "results" / "fuzz_server.txt"
PARAMETERS = [{"name": "x", "type": "double", "bounds": {"min": 0.0, "max": 1.0}}]

# Which real object a path parameter names, from the path segment before it.
_SEGMENT_KINDS = {
    "clients": "client",
    "projects": "project",
    "training_runs": "run",
    "aiexperiments": "aiexperiment",
    "experiments": "experiment",
    "suggestions": "suggestion",
    "observations": "observation",
    "checkpoints": "checkpoint",
    "metrics": "metric",
    "tokens": "token",
}


@dataclass
class Finding:
    """One kind of problem on one operation, with the first request that showed it."""

    operation: str
    kind: str
    status: int | None
    request: str
    response: str
    count: int = 1


@dataclass
class Report:
    """What a fuzz run did and found."""

    operations: list[str] = field(default_factory=list)
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    findings: dict[tuple[str, str, int | None], Finding] = field(default_factory=dict)
    schema_errors: list[str] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        key = (finding.operation, finding.kind, finding.status)
        if key in self.findings:
            self.findings[key].count += 1
        else:
            self.findings[key] = finding

    def problems(self) -> list[str]:
        """One line per finding and per operation the schema could not describe."""
        lines = [f"schema: {error}" for error in self.schema_errors]
        for finding in self.findings.values():
            lines.append(
                f"{finding.operation}: {finding.kind} (status {finding.status}, {finding.count}x)\n"
                f"    request: {finding.request}\n    response: {finding.response}"
            )
        return lines


def basic_auth(token: str) -> dict[str, str]:
    """The Authorization header of SigOpt's HTTP Basic scheme: the token as the user name."""
    return {"Authorization": "Basic " + base64.b64encode(f"{token}:".encode()).decode()}


def make_objects(api_url: str, token: str, project: str | None = None) -> dict[str, str]:
    """Real objects of the token's client, by kind: a project (new, ``project`` or a made-up id), a run
    with a value and a checkpoint, an AI experiment, and a core experiment with one observation and one
    open suggestion. The fuzz sends bodies to them that get past the 404s; the security tests probe them.

    Raises:
        httpx.HTTPStatusError: The server refused one of them.
    """
    with httpx.Client(base_url=api_url + "/v1", headers=basic_auth(token), timeout=30) as http:

        def post(path: str, body: Mapping[str, Any], method: str = "POST") -> dict[str, Any]:
            response = http.request(method, path, json=body)
            response.raise_for_status()
            return dict(response.json())

        client = str(http.get("/tokens/self").json()["client"])
        project = project or f"fuzz{int(time.time() * 1000) % 10**9}"
        post(f"/clients/{client}/projects", {"id": project, "name": project})
        run = post(f"/clients/{client}/projects/{project}/training_runs", {"name": "fuzz"})["id"]
        post(f"/training_runs/{run}", {"values": {"y": {"value": 0.5}}}, method="MERGE")
        checkpoint = post(f"/training_runs/{run}/checkpoints", {"values": [{"name": "y", "value": 1.0}]})
        definition = {"name": "fuzz", "parameters": PARAMETERS, "metrics": [{"name": "y"}]}
        ai = post(f"/clients/{client}/projects/{project}/aiexperiments", {**definition, "budget": 1000})["id"]
        experiment = post(
            f"/clients/{client}/experiments", {**definition, "project": project, "observation_budget": 1000}
        )["id"]
        observed = post(f"/experiments/{experiment}/suggestions", {})["id"]
        observation = post(
            f"/experiments/{experiment}/observations", {"suggestion": observed, "values": [{"name": "y", "value": 1.0}]}
        )["id"]
        suggestion = post(f"/experiments/{experiment}/suggestions", {})["id"]
    return {
        "client": client,
        "project": project,
        "run": str(run),
        "checkpoint": str(checkpoint.get("id", "1")),
        "aiexperiment": str(ai),
        "experiment": str(experiment),
        "suggestion": str(suggestion),
        "observation": str(observation),
        "metric": "y",
        "token": "self",
    }


def real_path_parameters(path: str, objects: Mapping[str, str]) -> dict[str, str]:
    """The path parameters of ``path`` (``/v1/training_runs/{run_id}``) filled with real ids."""
    filled = {}
    parts = path.strip("/").split("/")
    for before, part in zip(parts, parts[1:], strict=False):
        if part.startswith("{") and part.endswith("}") and before in _SEGMENT_KINDS:
            filled[part[1:-1]] = objects[_SEGMENT_KINDS[before]]
    return filled


def _describe(response: Response) -> tuple[str, str]:
    """The request that was sent, and the response's status and start of its body."""
    request = response.request
    raw = request.body
    body = raw.encode() if isinstance(raw, str) else raw if isinstance(raw, bytes) else b""
    sent = f"{request.method} {request.url} {body[:400].decode(errors='backslashreplace')}".strip()
    return sent, f"{response.status_code} {response.content[:300].decode(errors='backslashreplace')}"


def fuzz(
    api_url: str,
    token: str,
    *,
    max_examples: int,
    seconds_per_operation: float,
    random_seed: int | None = 0,
    modes: tuple[str, ...] = ("positive", "negative"),
    only: Callable[[str], bool] | None = None,
    log: Callable[[str], None] | None = None,
) -> Report:
    """Fuzz every operation of the server's schema; see the module docstring for what is a finding.

    Each operation gets at most ``seconds_per_operation``, split over the modes and the two halves
    (generated and real path parameters), and ``max_examples`` examples in each. ``random_seed`` None
    draws new examples each run; an integer makes the run repeatable (the suite's). ``only`` selects
    operations by their label (``"POST /v1/experiments"``).
    """
    report = Report()
    schema = schemathesis.openapi.from_url(f"{api_url}/openapi.json", timeout=30)
    objects = make_objects(api_url, token)
    with requests.Session() as session:
        session.headers.update(basic_auth(token))
        for operation in _operations(schema, report):
            label = f"{operation.method.upper()} {operation.path}"
            if only is not None and not only(label):
                continue
            report.operations.append(label)
            halves = [None, real_path_parameters(operation.path, objects)]
            halves = [half for half in halves if half != {}]  # no path parameters: one half covers it
            budget = seconds_per_operation / (len(modes) * len(halves))
            for mode in modes:
                for fixed in halves:
                    probe = _Probe(session, api_url, operation, label, time.monotonic() + budget, report)
                    strategy = operation.as_strategy(generation_mode=GenerationMode(mode), path_parameters=fixed)
                    probe.run(strategy, max_examples, random_seed)
            if log is not None:
                log(f"{label}: {report.requests} requests so far, {len(report.findings)} findings")
    return report


def _operations(schema: Any, report: Report) -> list[Any]:
    """The schema's operations, deletions last so that the real objects live through the others.

    An operation the schema cannot describe is itself a finding.
    """
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            report.schema_errors.append(str(result.err()).splitlines()[0])
        else:
            operations.append(result.ok())
    return sorted(operations, key=lambda operation: operation.method.upper() == "DELETE")


class _OutOfTime(Exception):
    """The time of one operation, mode and half is spent."""


@dataclass
class _Probe:
    """Sends the examples of one operation, mode and half, and records what went wrong."""

    session: requests.Session
    api_url: str
    operation: Any
    label: str
    deadline: float
    report: Report
    sent: int = 0

    def run(self, strategy: Any, max_examples: int, random_seed: int | None) -> None:
        @settings(
            max_examples=max_examples,
            derandomize=random_seed is not None,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            print_blob=False,
            verbosity=Verbosity.quiet,
        )
        @given(case=strategy)
        def probe(case: Any) -> None:
            # The first example always goes, so a loaded machine still reaches every operation.
            if self.sent > 0 and time.monotonic() > self.deadline:
                raise _OutOfTime  # stops Hypothesis generating examples that would not be sent
            self.sent += 1
            self.send(case)

        if random_seed is not None:
            probe = seed(random_seed)(probe)
        try:
            probe()
        except _OutOfTime:
            pass
        except Unsatisfiable:
            pass  # nothing to generate in this mode (a negative request for an operation without inputs)

    def send(self, case: Any) -> None:
        report = self.report
        report.requests += 1
        try:
            response = case.call(base_url=self.api_url, session=self.session, timeout=30)
        except requests.RequestException as exc:
            sent = f"{case.method} {case.formatted_path}"
            report.add(Finding(self.label, f"transport error {type(exc).__name__}", None, sent, str(exc)[:300]))
            return
        report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
        except FailureGroup as group:
            sent, got = _describe(response)
            for failure in group.exceptions:
                report.add(
                    Finding(self.label, failure.title or type(failure).__name__, response.status_code, sent, got)
                )


def write_report(report: Report, out: Path, argv: list[str], seconds: float) -> None:
    """The report as text: command, machine, counts by status, then each finding."""
    problems = report.problems()
    lines = [
        "sigopt-ai server fuzz (schemathesis over /openapi.json)",
        f"command: python benchmarks/fuzz_server.py {' '.join(argv)}".rstrip(),
        f"date (UTC): {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M:%S}",
        f"python {platform.python_version()}, schemathesis {schemathesis.__version__}",
        f"wall time: {seconds:.0f} s; operations: {len(report.operations)}; requests: {report.requests}",
        "responses by status: " + ", ".join(f"{k}: {v}" for k, v in sorted(report.statuses.items())),
        f"findings: {len(problems)}",
        "",
        *problems,
        "",
        "operations fuzzed:",
        *(f"  {label}" for label in report.operations),
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


@contextlib.contextmanager
def _server(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """The server to fuzz: the given one, or a LiveServer of our own for the run's length."""
    if args.api_url:
        yield args.api_url.rstrip("/"), args.token
        return
    from tests.live_server import LiveServer

    db = args.db or str(Path(tempfile.mkdtemp(prefix="sigopt-fuzz-")) / "fuzz.db")
    with LiveServer(db) as server:
        yield server.url, server.token


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600.0, help="Total time budget, split over operations.")
    parser.add_argument("--examples", type=int, default=500, help="Most examples per operation, mode and half.")
    parser.add_argument("--seed", type=int, default=None, help="Repeat a run (default: new examples each time).")
    parser.add_argument("--api-url", help="Fuzz this running server instead of starting one.")
    parser.add_argument("--token", help="The API token for --api-url.")
    parser.add_argument("--db", help="The store of the server started here (default: a fresh SQLite file).")
    parser.add_argument("--only", help="Fuzz only operations whose label holds this text.")
    parser.add_argument("--out", type=Path, default=RESULTS, help="Where the report goes.")
    args = parser.parse_args(argv)
    if args.api_url and not args.token:
        parser.error("--api-url needs --token")
    started = time.monotonic()
    with _server(args) as (url, token):
        paths = httpx.get(f"{url}/openapi.json", timeout=30).json().get("paths", {})
        operations = sum(len(item) for item in paths.values())
        report = fuzz(
            url,
            token,
            max_examples=args.examples,
            seconds_per_operation=args.seconds / max(1, operations),
            random_seed=args.seed,
            only=None if args.only is None else (lambda label: args.only in label),
            log=lambda line: print(line, file=sys.stderr),
        )
        write_report(report, args.out, argv, time.monotonic() - started)
        print(args.out.read_text())
    return 1 if report.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
