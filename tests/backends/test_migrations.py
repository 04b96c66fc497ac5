"""Schema migrations of the SQL store, on SQLite and on a real PostgreSQL.

A store made before migrations (the checked-in ``data/store_11342f1.db``, written by sigopt-ai at
commit 11342f1; see ``data/make_store_11342f1.py``) or at an older revision is upgraded on first use
with its records intact; a backend built with ``upgrade=False`` (the server) refuses it and says what
to run; the migrated schema is exactly ``_schema.metadata``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from sigopt_ai import ConfigError, RunState
from sigopt_ai.backends import make_backend
from sigopt_ai.backends.sql import SQLBackend
from sigopt_ai.backends.sql._engine import make_engine
from sigopt_ai.backends.sql._migrate import HEAD, MIGRATIONS, alembic_config, revision, upgrade
from sigopt_ai.backends.sql._schema import metadata
from tests.backends.sql_stores import SQL_KINDS, sql_store
from tests.conftest import run_python, spawn_python

OLD_STORE = Path(__file__).parent / "data" / "store_11342f1.db"
_OLD_RUNS = {"baseline", "broken", "legacy-exp #1", "legacy-exp #2", "legacy-exp #3"}


def schema_differences(url: str) -> list[object]:
    """What Alembic's autogenerate would change to make the store's schema ``_schema.metadata``."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), metadata))
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def old_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store as sigopt-ai at 11342f1 left it: a copy of the checked-in file, or, on PostgreSQL, that
    revision's tables (migration 0001, then no ``alembic_version``) holding the file's rows."""
    if kind == "sqlite":
        path = tmp_path / "old" / "sigopt_ai.db"
        path.parent.mkdir()
        shutil.copy(OLD_STORE, path)
        return str(path)
    url = sql_store(kind, request, tmp_path)
    command.upgrade(alembic_config(url=url), "0001")
    execute(url, "DROP TABLE alembic_version")
    _copy_rows(f"sqlite:///{OLD_STORE}", url)
    return url


def _copy_rows(source: str, target: str) -> None:
    """Every row of ``source`` into the same tables of ``target`` (PostgreSQL), ids included."""
    old = sa.MetaData()
    source_engine, target_engine = sa.create_engine(source), make_engine(target)
    try:
        with source_engine.connect() as src, target_engine.begin() as dst:
            old.reflect(src)
            for table in old.sorted_tables:
                rows = [dict(row) for row in src.execute(sa.select(table)).mappings()]
                columns = [sa.column(name) for name in table.columns.keys()]
                if rows:
                    dst.execute(sa.table(table.name, *columns).insert(), rows)
                if "id" in table.columns and isinstance(table.columns["id"].type, sa.Integer):
                    # Rows copied with their ids leave the sequence behind; new rows would collide.
                    dst.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                        )
                    )
    finally:
        source_engine.dispose()
        target_engine.dispose()


def assert_old_records_intact(backend: SQLBackend) -> None:
    runs = {run.name: run for run in backend.list_runs(project="legacy")}
    assert set(runs) == _OLD_RUNS
    baseline = runs["baseline"]
    assert baseline.state is RunState.COMPLETED
    assert baseline.params == {"lr": 0.1, "optimizer": "adam"}
    assert [point.value for point in backend.metric_history(baseline.id, "loss")] == [0.5, 0.4, 0.3]
    assert baseline.metrics == {"loss": 0.3}
    assert [(c.step, dict(c.values)) for c in baseline.checkpoints] == [(3, {"loss": 0.3})]
    assert baseline.metadata == {"git_branch": "main"}
    broken = runs["broken"]
    assert broken.state is RunState.FAILED
    assert broken.failure is not None and broken.failure.message == "the loss is not a number"
    [experiment] = backend.list_experiments(project="legacy")
    assert experiment.name == "legacy-exp" and experiment.seed == 7
    observations = backend.observations(experiment.id)
    assert {o.run for o in observations} == {runs[f"legacy-exp #{i}"].id for i in (1, 2, 3)}
    assert [o.values["score"] for o in observations] == [o.assignments["x"] for o in observations]
    progress = backend.progress(experiment.id)
    assert progress is not None and (progress.finished, progress.remaining) == (3, 0)
    assert backend.serve_suggestion(experiment.id, run_id="r") is None  # the budget stays spent


def test_the_head_constant_is_alembics_head() -> None:
    assert ScriptDirectory(str(MIGRATIONS)).get_heads() == [HEAD]


def test_the_migration_files_ship_in_the_package() -> None:
    # hatch ships every file under sigopt_ai/; the wheel check is in the report, this guards the layout.
    assert (MIGRATIONS / "env.py").is_file()
    assert {p.name for p in (MIGRATIONS / "versions").glob("*.py")} >= {"0001_initial.py", "0002_server.py"}


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_migrations_from_empty_give_exactly_the_tables_of_the_schema(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = sql_store(kind, request, tmp_path)
    (tmp_path / "store").mkdir()
    command.upgrade(alembic_config(url=url), "head")
    assert revision(url) == HEAD
    assert schema_differences(url) == []


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_a_new_store_is_created_at_head_on_first_use(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    url = sql_store(kind, request, tmp_path)
    assert revision(url) is None
    backend = make_backend(url)
    assert backend.read_run("nothing") is None
    backend.close()
    assert revision(url) == HEAD
    assert schema_differences(url) == []


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_a_store_made_before_migrations_is_upgraded_on_first_use_with_its_records(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = old_store(kind, request, tmp_path)
    assert revision(url) is None
    backend = SQLBackend(url)
    assert_old_records_intact(backend)
    assert revision(url) == HEAD
    assert schema_differences(url) == []
    backend.write([("start", "new", "legacy", "after", 2.0, None, None), ("metric", "new", "loss", 1.0, None, 2.0)])
    assert backend.read_run("new") is not None
    backend.close()


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_a_store_at_an_older_revision_is_upgraded_on_first_use(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = old_store(kind, request, tmp_path)
    command.stamp(alembic_config(url=url), "0001")
    backend = SQLBackend(url)
    assert_old_records_intact(backend)
    backend.close()
    assert revision(url) == HEAD
    assert schema_differences(url) == []


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_a_store_at_0002_gets_files_and_archiving_with_its_runs_listed(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = old_store(kind, request, tmp_path)
    command.upgrade(alembic_config(url=url), "0002")
    backend = SQLBackend(url)
    assert_old_records_intact(backend)  # every old run is listed: none came out archived
    baseline = next(run for run in backend.list_runs(project="legacy") if run.name == "baseline")
    backend.write([("file", baseline.id, "0123456789abcdef", "stdout", "text/plain", b"epoch 1\n", 9.0)])
    assert backend.read_file("0123456789abcdef") == b"epoch 1\n"
    assert backend.archive_run(baseline.id)
    assert baseline.id not in {run.id for run in backend.list_runs(project="legacy")}
    backend.close()
    assert revision(url) == HEAD
    assert schema_differences(url) == []


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_downgrading_to_0001_and_upgrading_again_keeps_the_runs(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = old_store(kind, request, tmp_path)
    assert upgrade(url) == HEAD
    command.downgrade(alembic_config(url=url), "0001")
    assert revision(url) == "0001"
    assert upgrade(url) == HEAD
    backend = SQLBackend(url)
    assert_old_records_intact(backend)
    backend.close()


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_without_upgrade_an_old_store_is_refused_with_the_command_to_run(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = old_store(kind, request, tmp_path)
    backend = SQLBackend(url, upgrade=False)
    with pytest.raises(ConfigError) as refused:
        backend.read_run("nothing")
    message = str(refused.value)
    assert "made before migrations" in message and f"needs revision {HEAD}" in message
    assert f"run `sigopt-ai db upgrade --db {url}`" in message
    assert revision(url) is None  # nothing was changed
    command.stamp(alembic_config(url=url), "0001")
    with pytest.raises(ConfigError, match="is at revision 0001"):
        backend.read_run("nothing")
    upgrade(url)
    assert_old_records_intact(backend)
    backend.close()


def test_without_upgrade_a_missing_sqlite_store_is_refused_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "none" / "sigopt_ai.db"
    backend = make_backend(str(path), upgrade=False)
    with pytest.raises(ConfigError, match=r"empty.*sigopt-ai db upgrade --db"):
        backend.read_run("nothing")
    backend.close()
    assert not path.parent.exists()


def test_without_upgrade_the_command_names_the_database_but_not_its_password(postgres_url: str) -> None:
    with_password = postgres_url.replace("postgres@", "postgres:s3cret@")  # the test server trusts any
    backend = SQLBackend(with_password, upgrade=False)
    with pytest.raises(ConfigError) as refused:
        backend.read_run("nothing")
    assert "is at revision empty" in str(refused.value)
    assert f"--db {postgres_url}`" in str(refused.value) and "s3cret" not in str(refused.value)
    upgrade(with_password)
    assert backend.read_run("nothing") is None
    backend.close()


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_a_store_from_a_newer_version_is_refused_not_touched(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = sql_store(kind, request, tmp_path)
    upgrade(url)
    execute(url, "UPDATE alembic_version SET version_num = '9999'")
    backend = SQLBackend(url)
    with pytest.raises(ConfigError, match="revision 9999, which this version of sigopt-ai"):
        backend.read_run("nothing")
    backend.close()
    assert revision(url) == "9999"


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_first_use_at_head_and_of_a_new_store_imports_nothing_from_alembic(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = sql_store(kind, request, tmp_path)
    code = f"""
        import sys
        from sigopt_ai.backends.sql import SQLBackend
        backend = SQLBackend({url!r})
        backend.write([("start", "r", "p", "n", 1.0, None, None)])
        assert backend.read_run("r") is not None
        print(sorted(name for name in sys.modules if name.split(".")[0] == "alembic"))
    """
    for _ in ("new store", "store at head"):
        done = run_python(code)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "[]"
    assert revision(url) == HEAD


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_two_processes_opening_an_old_store_at_once_upgrade_it_once(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = old_store(kind, request, tmp_path)
    go = tmp_path / "go"
    code = f"""
        import os, time
        from sigopt_ai.backends.sql import SQLBackend
        backend = SQLBackend({url!r})
        print("ready", flush=True)
        while not os.path.exists({str(go)!r}):
            time.sleep(0.001)
        print(len(backend.list_runs(project="legacy")))
    """
    workers = [spawn_python(code) for _ in range(2)]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    go.touch()
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        assert out.strip() == str(len(_OLD_RUNS))
    assert revision(url) == HEAD
    backend = SQLBackend(url)
    assert_old_records_intact(backend)
    backend.close()


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("sigopt-ai")
    assert exe is not None
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_the_cli_upgrades_a_store_and_prints_its_revision_before_and_after(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = old_store(kind, request, tmp_path)
    done = _cli("db", "upgrade", "--db", url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"store: {url}", "revision before: none", f"revision after: {HEAD}"]
    backend = SQLBackend(url, upgrade=False)
    assert_old_records_intact(backend)
    backend.close()
    again = _cli("db", "upgrade", "--db", url)
    assert again.stdout.splitlines()[1:] == [f"revision before: {HEAD}", f"revision after: {HEAD}"]


def test_the_cli_takes_the_store_from_the_environment_like_the_other_commands(tmp_path: Path) -> None:
    db = tmp_path / "env" / "sigopt_ai.db"
    done = _cli("db", "upgrade", env={**os.environ, "SIGOPT_AI_DB": str(db)})
    assert done.returncode == 0, done.stderr
    assert revision(str(db)) == HEAD
    other = tmp_path / "option.db"
    assert _cli("--db", str(other), "db", "upgrade").returncode == 0
    assert revision(str(other)) == HEAD


def test_the_cli_says_why_a_store_cannot_be_upgraded(tmp_path: Path) -> None:
    db = tmp_path / "newer.db"
    upgrade(str(db))
    execute(str(db), "UPDATE alembic_version SET version_num = '9999'")
    done = _cli("db", "upgrade", "--db", str(db))
    assert done.returncode == 1
    assert "revision 9999, which this version of sigopt-ai" in done.stderr
    assert "Traceback" not in done.stderr
    server = _cli("db", "upgrade", "--db", "http://127.0.0.1:1")  # a server's URL, not its store's
    assert server.returncode == 1
    assert "is not a SQLite path or a SQLAlchemy database URL" in server.stderr
    assert "Traceback" not in server.stderr
