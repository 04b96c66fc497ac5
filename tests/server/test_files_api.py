"""Files of runs on a real server: the official client's ``log_image`` upload flow, reading files back
(over HTTP, through the HTTP backend and in the server's store), the single-use upload URL, the size
limits, and that another client's files are not found."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from sigopt_ai._checks import MAX_FILE_BYTES, check_content_type
from sigopt_ai._exceptions import ValidationError
from sigopt_ai.backends import make_backend
from sigopt_ai.backends.http import HTTPBackend
from tests.conftest import run_python
from tests.live_server import LiveServer

LOG_IMAGES = """
import json, sys
import sigopt
from PIL import Image

sigopt.create_project()
with sigopt.create_run(name="images") as run:
    run.log_image(sys.argv[1])
    run.log_image(Image.new("RGB", (3, 2), (0, 128, 255)), name="generated")
print(json.dumps({"run": run.id}))
"""


def _png(color: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), color).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def run_id(api: httpx.Client) -> str:
    """A new run of client alpha."""
    cid = api.get("/tokens/self").json()["client"]
    api.post(f"/clients/{cid}/projects", json={"id": "files"})
    created = api.post(f"/clients/{cid}/projects/files/training_runs", json={"name": "r"})
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


def _describe(api: httpx.Client, run_id: str, **body: Any) -> dict[str, Any]:
    response = api.post(f"/training_runs/{run_id}/files", json={"content_type": "image/png", **body})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_official_client_logs_images_that_read_back(live_server: LiveServer, tmp_path: Path) -> None:
    picture = tmp_path / "picture.png"
    picture.write_bytes(_png())
    home = tmp_path / "home"
    env = {**live_server.env(), "HOME": str(home), "SIGOPT_HOME": str(home / ".sigopt"), "SIGOPT_PROJECT": "img"}
    done = run_python(f"import sys; sys.argv[1:] = [{str(picture)!r}]\n{LOG_IMAGES}", env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    run = json.loads(done.stdout.strip().splitlines()[-1])["run"]

    backend = HTTPBackend(live_server.url, live_server.token, journal=tmp_path / "spool.db")
    try:
        files = backend.list_files(run)
        assert [(f.name, f.content_type) for f in files] == [("picture.png", "image/png"), ("generated", "image/png")]
        assert backend.read_file(files[0].id) == picture.read_bytes()
        assert files[0].sha256 == hashlib.sha256(picture.read_bytes()).hexdigest()
        generated = backend.read_file(files[1].id)
        assert generated is not None
        assert Image.open(io.BytesIO(generated)).size == (3, 2)
    finally:
        backend.close()
    store = make_backend(live_server.db)
    try:
        assert [f.size for f in store.list_files(run)] == [len(picture.read_bytes()), len(generated)]
    finally:
        store.close()


def test_an_upload_url_needs_no_token_and_works_once(api: httpx.Client, run_id: str) -> None:
    described = _describe(api, run_id, name="chart", content_length=5)
    upload = described["upload"]
    assert upload["method"] == "PUT" and described["object"] == "file"
    assert api.get(f"/training_runs/{run_id}/files").json()["data"] == []  # nothing until the bytes come
    assert api.get(f"/files/{described['id']}").status_code == 404
    first = httpx.put(upload["url"], content=b"bytes", headers=upload["headers"])
    assert first.status_code == 200, first.text
    again = httpx.put(upload["url"], content=b"other", headers=upload["headers"])
    assert again.status_code == 404
    fetched = api.get(f"/files/{described['id']}").json()
    assert (fetched["name"], fetched["content_length"], fetched["training_run"]) == ("chart", 5, run_id)
    data = api.get(f"/files/{described['id']}/sigopt_ai/data")
    assert data.content == b"bytes" and data.headers["content-type"] == "image/png"
    assert data.headers["x-content-type-options"] == "nosniff"
    assert data.headers["content-disposition"] == "attachment; filename=\"chart\"; filename*=UTF-8''chart"
    assert [f["id"] for f in api.get(f"/training_runs/{run_id}/files").json()["data"]] == [described["id"]]


def test_an_unknown_upload_secret_is_404_before_its_body_is_read(live_server: LiveServer) -> None:
    """The upload URL needs no token: the secret is looked up before a byte of the body is kept, so a
    stranger's request over the limit is a 404, not a 413 after the server buffered 4 MiB."""
    response = httpx.put(f"{live_server.url}/v1/sigopt_ai/uploads/not-a-secret", content=b"x")
    assert response.status_code == 404 and response.json()["object"] == "error"
    large = httpx.put(f"{live_server.url}/v1/sigopt_ai/uploads/bogus", content=b"\0" * (MAX_FILE_BYTES + 1))
    assert large.status_code == 404, large.status_code


def test_a_file_over_the_limit_is_refused(api: httpx.Client, run_id: str) -> None:
    declared = api.post(f"/training_runs/{run_id}/files", json={"name": "big", "content_length": MAX_FILE_BYTES + 1})
    assert declared.status_code == 400 and declared.json()["message"].startswith("file.content_length")
    upload = _describe(api, run_id, name="big")["upload"]
    sent = httpx.put(upload["url"], content=b"\0" * (MAX_FILE_BYTES + 1), timeout=60)
    assert sent.status_code == 413, sent.text
    assert api.get(f"/training_runs/{run_id}/files").json()["data"] == []
    fits = httpx.put(upload["url"], content=b"\0" * MAX_FILE_BYTES, timeout=60)
    assert fits.status_code == 200  # the refused upload left its URL usable


def test_a_file_is_served_as_an_attachment_under_its_name(api: httpx.Client, run_id: str) -> None:
    """The content type is the user's (text/html is one): browsers save the bytes rather than render
    them in the server's origin, under the file's exact name, however it is spelt."""
    name = 'r\u00e9sum\u00e9 "final"\\; 1.html'
    described = _describe(api, run_id, name=name, content_type="text/html")
    assert httpx.put(described["upload"]["url"], content=b"<script>alert(1)</script>").status_code == 200
    data = api.get(f"/files/{described['id']}/sigopt_ai/data")
    assert data.headers["x-content-type-options"] == "nosniff"
    disposition = data.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"r_sum_ _final__; 1.html\"; filename*=UTF-8''")
    assert unquote(disposition.split("UTF-8''", 1)[1]) == name


@pytest.fixture(params=["sqlite", "postgresql"])
def any_api(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    """A client of the server on SQLite, then of the one on PostgreSQL."""
    server: LiveServer = request.getfixturevalue("live_server" if request.param == "sqlite" else "live_server_pg")
    with httpx.Client(base_url=server.url + "/v1", auth=(server.token, ""), timeout=60) as client:
        yield client


@pytest.mark.parametrize("name", ["a\x00b.png", "line\nbreak", "esc\x1b[31m", "del\x7f"])
def test_a_file_name_with_a_control_character_is_a_400_naming_the_field(any_api: httpx.Client, name: str) -> None:
    """PostgreSQL refuses a NUL in text (the store's failure once said where the database is), and no
    control character belongs in a name shown to people: the same rule as the SDK's."""
    cid = any_api.get("/tokens/self").json()["client"]
    any_api.post(f"/clients/{cid}/projects", json={"id": "files"})
    run_id = any_api.post(f"/clients/{cid}/projects/files/training_runs", json={"name": "r"}).json()["id"]
    for body in ({"filename": f"dir/{name}"}, {"name": name}):
        response = any_api.post(f"/training_runs/{run_id}/files", json=body)
        assert response.status_code == 400, (response.status_code, response.text)
        assert response.json()["message"].startswith("file.name must be 1 to 200 printable characters")
    assert any_api.get(f"/training_runs/{run_id}/files").json()["data"] == []


@pytest.mark.parametrize("content_type", ["png", " image/png", "image/p\u00e9ng", "text/plain\n", "x/" + "y" * 199])
def test_a_content_type_the_sdk_refuses_the_server_refuses(api: httpx.Client, run_id: str, content_type: str) -> None:
    """One rule on both sides: a MIME type of at most 200 printable ASCII characters."""
    with pytest.raises(ValidationError) as sdk:
        check_content_type(content_type, "file.content_type")
    response = api.post(f"/training_runs/{run_id}/files", json={"name": "x", "content_type": content_type})
    assert response.status_code == 400 and response.json()["message"] == str(sdk.value)


def test_a_store_failure_is_a_503_that_does_not_say_where_the_store_is(tmp_path: Path) -> None:
    """The store's own message names the database (a PostgreSQL URL holds its password): it goes to
    the server's log, and the client gets a fixed message with the class to retry on."""
    db = tmp_path / "secret-place.db"
    with LiveServer(str(db)) as server, httpx.Client(base_url=server.url + "/v1", auth=(server.token, "")) as api:
        cid = api.get("/tokens/self").json()["client"]
        api.post(f"/clients/{cid}/projects", json={"id": "files"})
        run_id = api.post(f"/clients/{cid}/projects/files/training_runs", json={"name": "r"}).json()["id"]
        with sqlite3.connect(db) as conn:
            conn.execute("DROP TABLE files")  # a real failure of the store, under the server
        for response in (
            api.get(f"/training_runs/{run_id}/files"),
            api.post(f"/training_runs/{run_id}/files", json={"name": "x"}),
        ):
            assert response.status_code == 503, response.text
            assert "secret-place" not in response.text and str(tmp_path) not in response.text
            assert response.json()["message"].startswith("The server's store failed; retrying may help")
        assert "secret-place" in server.log.read_text()


def _file_op(run_id: str, data: bytes, file_id: str = "0123456789abcdef") -> list[Any]:
    return [
        "file",
        run_id,
        file_id,
        "out.bin",
        "application/octet-stream",
        {"$bytes": base64.b64encode(data).decode()},
        1.0,
    ]


def test_a_batch_with_a_file_over_the_limit_is_400_naming_the_field(api: httpx.Client, run_id: str) -> None:
    response = api.post("/sigopt_ai/batches", json={"ops": [_file_op(run_id, b"\0" * (MAX_FILE_BYTES + 1))]})
    assert response.status_code == 400, response.text
    assert "file data must be at most" in response.json()["message"]
    assert api.get(f"/training_runs/{run_id}/files").json()["data"] == []


def test_another_clients_files_are_not_found(live_server: LiveServer, api: httpx.Client, run_id: str) -> None:
    assert api.post("/sigopt_ai/batches", json={"ops": [_file_op(run_id, b"secret")]}).status_code == 200
    (stored,) = api.get(f"/training_runs/{run_id}/files").json()["data"]
    with httpx.Client(base_url=live_server.url + "/v1", auth=(live_server.make_token("mallory"), "")) as other:
        assert other.get(f"/files/{stored['id']}").status_code == 404
        assert other.get(f"/files/{stored['id']}/sigopt_ai/data").status_code == 404
        assert other.get(f"/training_runs/{run_id}/files").status_code == 404
        assert other.post(f"/training_runs/{run_id}/files", json={"name": "x"}).status_code == 404
        assert other.post("/sigopt_ai/batches", json={"ops": [_file_op(run_id, b"x", "f" * 16)]}).status_code == 404


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.one_of(st.none(), st.text(max_size=250), st.integers()),
    content_type=st.one_of(st.none(), st.text(max_size=250)),
)
def test_any_file_description_is_stored_or_refused_naming_the_field(
    api: httpx.Client, run_id: str, name: Any, content_type: Any
) -> None:
    body = json.dumps({"name": name, "content_type": content_type})  # ASCII: a lone surrogate goes as \ud800
    response = api.post(f"/training_runs/{run_id}/files", content=body, headers={"Content-Type": "application/json"})
    if response.status_code == 200:
        upload = response.json()["upload"]
        assert httpx.put(upload["url"], content=b"ok").status_code == 200
        data = api.get(f"/files/{response.json()['id']}/sigopt_ai/data")
        assert data.content == b"ok" and data.headers["content-type"] == upload["headers"]["Content-Type"]
    else:
        assert response.status_code == 400, response.text
        assert response.json()["message"].startswith(
            ("file.name", "file.content_type", "file name", "file content type")
        )


def test_the_upload_flow_on_postgresql(live_server_pg: LiveServer) -> None:
    with httpx.Client(base_url=live_server_pg.url + "/v1", auth=(live_server_pg.token, ""), timeout=60) as api:
        cid = api.get("/tokens/self").json()["client"]
        api.post(f"/clients/{cid}/projects", json={"id": "files"})
        run_id = api.post(f"/clients/{cid}/projects/files/training_runs", json={"name": "r"}).json()["id"]
        upload = _describe(api, run_id, name="pic")["upload"]
        assert httpx.put(upload["url"], content=_png()).status_code == 200
        assert httpx.put(upload["url"], content=_png()).status_code == 404
        (stored,) = api.get(f"/training_runs/{run_id}/files").json()["data"]
        assert api.get(f"/files/{stored['id']}/sigopt_ai/data").content == _png()
