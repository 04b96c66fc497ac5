"""``sigopt-ai report``: one self-contained HTML file of an experiment's page, over the store the browser tests
share (filled by real loops). No browser here: what the file holds is checked as text (the browser tests open
it with the network blocked).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sigopt_ai.cli import main
from sigopt_ai.dashboard._requests import experiment_requests
from sigopt_ai.dashboard.report import DATA_ID, write_report
from tests.dashboard.conftest import Filled
from tests.live_server import sigopt_ai_cli

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.DOTALL)


def report_of(filled: Filled, experiment_id: str, path: Path) -> str:
    done = sigopt_ai_cli("report", experiment_id, "-o", str(path), "--db", str(filled.db))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Wrote {path} (")
    return path.read_text(encoding="utf-8")


def data_map(page: str) -> dict[str, Any]:
    match = re.search(rf'<script type="application/json" id="{DATA_ID}">(.*?)</script>', page, re.DOTALL)
    assert match is not None
    parsed: dict[str, Any] = json.loads(match[1])
    return parsed


@pytest.fixture(scope="module")
def main_report(filled: Filled, tmp_path_factory: pytest.TempPathFactory) -> str:
    return report_of(filled, filled.main["id"], tmp_path_factory.mktemp("report") / "main.html")


def test_the_report_holds_every_request_of_the_page(filled: Filled, main_report: str) -> None:
    main = filled.main
    data = data_map(main_report)
    requests = experiment_requests(main["id"])
    assert list(data) == requests  # the failure map too: the main experiment has 3 numeric parameters
    experiment, analysis, failure_map, runs, yml = (data[path] for path in requests)
    assert experiment["name"] == main["name"]
    assert analysis["count"] == len(main["observations"]) == main["budget"]
    kinds = {o["kind"] for o in main["observations"] if o["failed"]}
    assert kinds == {"oom", "diverged", "invalid_assignment"}
    assert sorted(analysis["history"]["kind"], key=str) == sorted((o["kind"] for o in main["observations"]), key=str)
    assert failure_map["x"]["name"] in main["parameters"]
    assert runs["count"] == len(main["runs"])
    assert isinstance(yml, str) and main["name"] in yml
    assert 'data-page="experiment"' in main_report and f'data-id="{main["id"]}"' in main_report


def test_the_report_is_self_contained(main_report: str) -> None:
    tags = _SCRIPT.findall(main_report)
    # Every script is inline (the data map, ECharts, app.js), and none ends early: as many ends as starts.
    assert [attributes for attributes, _ in tags] == [f' type="application/json" id="{DATA_ID}"', "", ""]
    assert main_report.count("</script") == 3
    assert "<link" not in main_report.replace('<link rel="icon" href="data:,">', "")
    markup = _SCRIPT.sub("", main_report)
    assert "<style>" in markup and "/static/" not in markup
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", markup)
    assert not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//", markup)
    # The page's policy runs those two scripts alone and loads nothing.
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', main_report)
    assert policy is not None
    assert policy[1].startswith("default-src 'none'; script-src 'sha256-")
    for _, code in tags[1:]:
        digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy[1]


def test_a_crafted_name_stays_text_in_the_report(filled: Filled, tmp_path: Path) -> None:
    script = filled.script
    page = report_of(filled, script["id"], tmp_path / "script.html")
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt; · sigopt-ai report</title>" in page
    assert page.count("</script") == 3  # the name's "</script>" is in the data map as \u003c/script\u003e
    assert script["name"] not in _SCRIPT.sub("", page)
    assert data_map(page)[experiment_requests(script["id"])[0]]["name"] == script["name"]
    # One numeric parameter: no failure map is asked by the page, and none is needed in the map.
    assert experiment_requests(script["id"])[3] in data_map(page)


def test_write_report_returns_the_file_and_refuses_what_is_not_there(filled: Filled, tmp_path: Path) -> None:
    written = write_report(str(filled.db), filled.pareto["id"], tmp_path / "pareto.html")
    assert written == tmp_path / "pareto.html"
    assert data_map(written.read_text(encoding="utf-8"))[experiment_requests(filled.pareto["id"])[1]]["pareto"]

    missing = sigopt_ai_cli("report", "no-such-id", "-o", str(tmp_path / "x.html"), "--db", str(filled.db))
    assert missing.returncode == 1
    assert "experiment_id: no experiment with id no-such-id in the store." in missing.stderr
    assert not (tmp_path / "x.html").exists()

    nowhere = tmp_path / "none.db"
    no_store = sigopt_ai_cli("report", "1", "-o", str(tmp_path / "y.html"), "--db", str(nowhere))
    assert no_store.returncode == 1
    assert f"--db: no store at {nowhere}" in no_store.stderr
    assert not nowhere.exists()


def test_without_the_dashboard_extra_the_commands_name_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if it were not installed
    for args in (["dashboard", "--no-open"], ["report", "1"]):
        done = CliRunner().invoke(main, args)
        assert done.exit_code == 1, args
        assert 'uvicorn is not installed: pip install "sigopt-ai[dashboard]"' in done.output
