"""The backend contract over a SigOpt v1 REST server (``sigopt-ai server``), for the SDK.

Every method is one request (or a few, for pages) to the server's ``/v1`` routes
(:mod:`sigopt_ai.server`); values cross with :mod:`sigopt_ai.wire` both ways, an unknown id (404) is
the contract's None, and any other error reply becomes the exception the SQL backend raises
(:func:`sigopt_ai.wire.error_from_json`).

Two kinds of calls, two ways to wait for a server that is down:

* :meth:`HTTPBackend.write` (the writer thread's batches) never raises for the server being away.
  A batch carries an idempotency key (the server applies a key once, so a batch sent again after a
  lost reply adds nothing). A reply that is late or says "later" (timeouts, 5xx, 429) is retried
  for a couple of seconds; a refused connection (nothing listens: the server is down, not slow) is
  not. Then the batch is kept in the offline journal (:mod:`._journal`) with its key, and
  :meth:`~HTTPBackend.write` returns: the batch is durable, and the writer, whose producers wait
  on it past their high-water mark, is never held seconds by a server that is down. While the
  journal holds batches for this server, each write first replays them (at most one try per
  backoff period, at most :data:`REPLAY_BACKOFF_MAX_S` apart, so a writer thread neither spins on
  a server that stays down nor leaves records behind long after it is back), and a new batch goes
  behind them in the journal, to keep the runs' records in order. A run's end and the session's
  shutdown replay the journal once more, bounded by ``flush_timeout``
  (:meth:`~HTTPBackend.undelivered`), and say on stderr what is left.
  Only a journal that cannot be written raises (:class:`~sigopt_ai.StoreError`), so that the
  writer keeps the batch in memory and writes it again. The server may have applied it (its reply
  was lost), so the backend remembers the last batch it failed this way with its key, and a write
  of that same batch object (the writer retries the very list it kept) reuses the key. A batch the
  writer rebuilt meanwhile (it split one the server rejected) gets a new key; that needs a lost
  reply, an unwritable journal and a rejected record at once. ``sigopt-ai sync`` replays a
  journal from any process.
* Every other call (experiments, reads) waits for the server: it retries with backoff, says so once
  on stderr, and raises :class:`~sigopt_ai.TransportError` only after ``server_wait`` seconds
  (default: forever). An experiment loop whose server is down waits; it spends no budget.

Reads see every write that returned, as the contract says, even a write that went to the journal:
a read of runs (:meth:`~HTTPBackend.read_run`, :meth:`~HTTPBackend.list_runs`,
:meth:`~HTTPBackend.metric_history`, :meth:`~HTTPBackend.dead_letters`) first replays this
server's journal, waiting for the server like any read. So an experiment loop that reads a run's
metrics back after the run ended (the writer flushed it into the journal while the server was
down) gets them once the server is back, before it records the observation.

Nothing connects before the first call (a server that is down never raises into the code that
starts a run); the client's id, which some paths need, is asked once (``GET /v1/tokens/self``).
"""

from __future__ import annotations

import json
import logging
import math
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from tenacity import RetryCallState

from sigopt_ai import _config
from sigopt_ai._checks import INT64_MAX
from sigopt_ai._exceptions import BackendRejected, ConfigError, StoreError, TransportError
from sigopt_ai._models import (
    ExperimentRecord,
    FileRecord,
    MetricPoint,
    Observation,
    Op,
    Progress,
    ProjectRecord,
    RunRecord,
    Suggestion,
)
from sigopt_ai._version import __version__
from sigopt_ai.backends._base import Backend, check_definition_changes
from sigopt_ai.backends.http._journal import Journal
from sigopt_ai.backends.http._retry import Unavailable, is_retryable_status, parse_retry_after, retrying
from sigopt_ai.wire import (
    error_from_json,
    experiment_from_json,
    file_from_json,
    metric_point_from_json,
    observation_from_json,
    ops_to_json,
    page_from_json,
    progress_from_json,
    project_from_json,
    suggestion_from_json,
    training_run_from_json,
)
from sigopt_ai.wire._fields import metric_to_json

logger = logging.getLogger("sigopt_ai")

T = TypeVar("T")

WRITE_RETRY_S = 2.0
"""Seconds a batch is retried before it goes to the journal."""

MAX_BATCH_BODY = 6 * 2**20
"""Bytes of JSON past which a batch is sent in parts, each under the server's default body limit
(8 MiB), which a batch of files passes easily once base64 has added its third."""

REPLAY_BACKOFF_MAX_S = 5.0
"""The longest pause between two replays of the journal while the server stays down."""

_TIMEOUT = httpx.Timeout(60.0, connect=5.0)  # a suggestion may take a model fit on the server
_BATCH_READ_S, _BATCH_CONNECT_S = 15.0, 2.0  # a batch is journaled rather than waited for
_NOT_RECORD_ERRORS = frozenset({401, 403, 408, 429})  # 4xx that say nothing about the batch's records
_PAGE = 100  # journaled batches read at once while replaying


class HTTPBackend(Backend):
    """Runs and experiments in a SigOpt v1 REST server.

    Args:
        url: The server, ``http(s)://host[:port]`` (what ``SIGOPT_API_URL`` holds).
        token: The API token (sent as HTTP Basic's user name).
        journal: The offline journal's file (default: the ``spool`` setting).
        server_wait: Seconds calls other than :meth:`write` wait for a server that is down before
            they raise (default: the ``server_wait`` setting, forever unless configured).

    Raises:
        ConfigError: ``url`` or ``token`` is malformed.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        journal: str | Path | None = None,
        server_wait: float | None = None,
    ) -> None:
        settings = _config.current()
        self.url = _config.check_api_url(url, "api_url")
        self._token = _config.check_api_token(token, "api_token")
        self.journal = Journal(Path(journal).absolute() if journal is not None else settings.resolved_spool())
        self.server_wait = (
            settings.resolved_server_wait()
            if server_wait is None
            else _config.check_server_wait(server_wait, "server_wait")
        )
        self._init_state()

    def _init_state(self) -> None:
        """The connection and the locks: set up once, and again in a forked child."""
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()
        self._client_id: str | None = None
        self._replay_lock = threading.Lock()  # one replay (or journaled write) at a time in this process
        self._replay_failures = 0
        self._next_replay = 0.0  # time.monotonic() before which the journal is not replayed again
        self._announced = False  # the outage was told on stderr
        self._unsure: tuple[Sequence[Op], str] | None = None  # the last failed batch and its key
        self._auth_warned = False

    # -- transport ------------------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        client = self._client
        if client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = httpx.Client(
                        base_url=self.url,
                        auth=httpx.BasicAuth(self._token, ""),
                        headers={"User-Agent": f"sigopt-ai/{__version__}", "Accept": "application/json"},
                        timeout=_TIMEOUT,
                    )
                client = self._client
        return client

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: str | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout = _TIMEOUT,
    ) -> httpx.Response:
        """One request; :class:`Unavailable` when no answer came or the server said to come back."""
        request_headers = dict(headers or {})
        if body is not None:
            request_headers["Content-Type"] = "application/json"
        try:
            response = self._http().request(
                method,
                path,
                content=body,
                params={k: v for k, v in (params or {}).items() if v is not None},
                headers=request_headers,
                timeout=timeout,
            )
        except httpx.TimeoutException as exc:
            raise Unavailable(f"no answer in time ({type(exc).__name__})") from exc
        except httpx.ConnectError as exc:
            raise Unavailable(str(exc) or type(exc).__name__, refused=True) from exc
        except httpx.TransportError as exc:
            raise Unavailable(str(exc) or type(exc).__name__) from exc
        if is_retryable_status(response.status_code):
            raise Unavailable(
                f"it answered {response.status_code}: {_message(response)}",
                status=response.status_code,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        return response

    def _waiting(self, func: Callable[[], T], within: float | None = None) -> T:
        """``func()``, retried while the server is down, for at most ``within`` seconds (default:
        ``server_wait``)."""
        limit = self.server_wait if within is None else within
        retryer = retrying(within=limit, first_wait=0.25, max_wait=10.0, before_sleep=self._announce)
        try:
            result = retryer(func)
        except Unavailable as exc:
            tries = retryer.statistics.get("attempt_number", 1)
            raise TransportError(f"The server at {self.url} is unreachable ({tries} tries): {exc}") from exc
        self._announced = False
        return result

    def _announce(self, state: RetryCallState) -> None:
        if self._announced:
            return
        self._announced = True
        outcome = state.outcome
        reason = outcome.exception() if outcome is not None else None
        bound = (
            f"{_config.SERVER_WAIT_ENV} bounds the wait"
            if math.isinf(self.server_wait)
            else f"for at most {self.server_wait:g} s"
        )
        print(
            f"sigopt_ai: the server at {self.url} is unreachable ({reason}); retrying until it is back ({bound})",
            file=sys.stderr,
            flush=True,
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        within: float | None = None,
    ) -> Any:
        """The decoded reply of a request that waits for the server; None for 404 and 204.

        Raises:
            TransportError: The server stayed unreachable for ``within`` seconds (default:
                ``server_wait``).
            SigOptError: The server answered with an error (the class it names).
        """
        encoded = None if body is None else json.dumps(body, allow_nan=False)
        response = self._waiting(lambda: self._send(method, path, body=encoded, params=params), within)
        if response.status_code in (204, 404):
            return None
        if response.status_code >= 400:
            raise error_from_json(response.status_code, _decode(response))
        return _decode(response)

    def _pages(self, path: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a list, page after page.

        A list asked for with no ``limit`` gets the largest one, as a page without it holds at most
        SigOpt's 1,000 items; a page that leaves more behind names the next in ``paging.after``,
        asked for as ``after``.
        """
        query = dict(params or {})
        if query.get("limit") is None:
            query["limit"] = INT64_MAX
        found: list[dict[str, Any]] = []
        while True:
            reply = self._call("GET", path, params=query)
            if reply is None:
                return found
            page = page_from_json(reply)
            found += page.data
            if page.after is None or not page.data or page.after == query.get("after"):
                return found
            query["after"] = page.after

    def _client_path(self, suffix: str) -> str:
        """``/v1/clients/{this token's client}/{suffix}``; the client id is asked once."""
        if self._client_id is None:
            reply = self._call("GET", "/v1/tokens/self")
            client = reply.get("client") if isinstance(reply, Mapping) else None
            if not isinstance(client, (str, int)) or isinstance(client, bool):
                raise BackendRejected(200, f"GET /v1/tokens/self gave no client: {reply!r:.200}")
            self._client_id = str(client)
        return f"/v1/clients/{_segment(self._client_id)}/{suffix}"

    # -- runs: writes ---------------------------------------------------------------------------

    def write(self, ops: Sequence[Op], *, key: str | None = None) -> None:
        """Send a batch (see the module's docstring: the server being down never raises here).

        Raises:
            ValidationTypeError: A record holds a value JSON cannot carry (a record error).
            BackendRejected: The server refused the batch with a 4xx (a record error: the writer
                splits the batch to find it).
            StoreError: The server is down and the journal cannot be written either.
        """
        if not ops:
            return
        key = key or self._key_of(ops)
        parts = _bodies(ops_to_json(ops), key)
        with self._replay_lock:
            for part_key, body in parts:
                if self.journal.count(self.url) and not self._replay_if_due():
                    self._keep(part_key, body)
                    continue
                try:
                    self._send_batch(part_key, body, within=WRITE_RETRY_S, retry_refused=False)
                except (Unavailable, ConfigError) as exc:
                    self._unsure = (ops, key)  # the server may have applied it: a retry of these ops reuses the key
                    self._keep(part_key, body)
                    self._replay_failed(exc)
        self._unsure = None

    def _key_of(self, ops: Sequence[Op]) -> str:
        """The idempotency key of a batch: the one it was sent with if the writer tries the same batch
        again after this backend failed it (see the module's docstring), else a new one."""
        unsure = self._unsure
        if unsure is not None and unsure[0] is ops:
            return unsure[1]
        return str(uuid.uuid4())

    def _send_batch(
        self,
        key: str,
        body: str,
        *,
        within: float,
        retry_refused: bool = True,
        deadline: float | None = None,
    ) -> None:
        """POST a batch, retried for ``within`` seconds while the server is unavailable (a refused
        connection too, unless ``retry_refused`` is False); no request waits past ``deadline``
        (a :func:`time.monotonic` time).

        Raises:
            Unavailable: Still unavailable after that.
            ConfigError: The token was refused (401, 403): the batch cannot go now, it is kept.
            BackendRejected: Any other 4xx: the batch's records cannot be stored.
        """
        response = retrying(within=within, first_wait=0.1, max_wait=1.0, retry_refused=retry_refused)(
            lambda: self._send(
                "POST",
                "/v1/sigopt_ai/batches",
                body=body,
                headers={"Idempotency-Key": key},
                timeout=_batch_timeout(deadline),
            )
        )
        status = response.status_code
        if status < 400:
            return
        if status in (401, 403):
            raise ConfigError(f"The server at {self.url} refused the API token ({status}): {_message(response)}")
        raise BackendRejected(status, _message(response))

    def _keep(self, key: str, body: str) -> None:
        self.journal.append(self.url, key, body)

    def _replay_failed(self, error: BaseException) -> None:
        """Pause replays after a failed send: backoff with jitter, so a writer does not spin on a dead server."""
        self._replay_failures += 1
        pause = min(REPLAY_BACKOFF_MAX_S, 0.5 * 2 ** min(self._replay_failures, 8))
        self._next_replay = time.monotonic() + pause * random.uniform(0.5, 1.0)
        if isinstance(error, ConfigError) and not self._auth_warned:
            self._auth_warned = True
            logger.error("sigopt_ai: %s; runs' records are kept in the journal %s", error, self.journal.path)

    def _replay_if_due(self) -> bool:
        """Replay the journal unless the server failed too recently; whether it is now empty."""
        if time.monotonic() < self._next_replay:
            return False
        try:
            self._replay(within=0.0)
        except (Unavailable, ConfigError) as exc:
            self._replay_failed(exc)
            return False
        return True

    def _replay(self, *, within: float, deadline: float | None = None) -> None:
        """Send this server's journaled batches in order (see :meth:`_replayed`); the caller holds
        ``_replay_lock``.

        Raises:
            Unavailable: The server went away on the way (what is left stays in the journal).
            ConfigError: The server refused the API token.
        """
        for _ in self._replayed(within=within, deadline=deadline):
            pass
        self._replay_failures = 0
        self._next_replay = 0.0

    def _replayed(self, *, within: float, deadline: float | None = None) -> Iterator[None]:
        """Send the journaled batches in id order, each retried for ``within`` seconds, deleting each
        once the server acknowledged it; yields after each. It stops at ``deadline`` (a
        :func:`time.monotonic` time), leaving the rest in the journal."""
        while entries := self.journal.entries(self.url, _PAGE):
            for entry in entries:
                if deadline is not None and time.monotonic() >= deadline:
                    return
                self._deliver(entry.key, entry.body, within=within, deadline=deadline)
                self.journal.delete(entry.id)
                yield

    def _deliver(self, key: str, body: str, *, within: float, deadline: float | None = None) -> None:
        """Send a journaled batch; one the server rejects is sent in halves (each under a key derived
        from its own, so a replay repeats them exactly) until each bad record is alone and set aside."""
        try:
            self._send_batch(key, body, within=within, deadline=deadline)
        except BackendRejected as exc:
            ops = _ops_of(body)
            if ops is None:  # not a batch this SDK journaled (a damaged file): kept as text
                self.dead_letter(("journal", key, body), exc)
                return
            if len(ops) == 1:
                self.dead_letter(tuple(ops[0]), exc)
                return
            middle = len(ops) // 2
            for index, part in enumerate((ops[:middle], ops[middle:])):
                self._deliver(f"{key}.{index}", json.dumps({"ops": part}), within=within, deadline=deadline)

    def replay(self, *, within: float = WRITE_RETRY_S) -> tuple[int, int]:
        """Send this server's journaled batches now (``sigopt-ai sync``), each retried for ``within``
        seconds while the server is unavailable.

        Returns:
            How many batches were sent, and how many are left (the server went away).

        Raises:
            ConfigError: The server refused the API token.
            StoreError: The journal cannot be read.
        """
        sent = 0
        with self._replay_lock:
            try:
                for _ in self._replayed(within=within):
                    sent += 1
            except Unavailable:
                pass
            return sent, self.journal.count(self.url)

    def rejects(self, error: BaseException) -> bool:
        """A 4xx on a batch (other than a refused token or "too many requests") and a record JSON
        cannot carry are record errors; the server being down and a journal failure are not."""
        if isinstance(error, BackendRejected):
            return 400 <= error.status < 500 and error.status not in _NOT_RECORD_ERRORS
        if isinstance(error, (StoreError, ConfigError, TransportError)):
            return False
        return super().rejects(error)

    def undelivered(self) -> str | None:
        """What the journal keeps for this server, as one line for stderr (None when nothing).

        A run's end and the session's shutdown ask this after the writer flushed: the journal is
        first sent, whatever the replay backoff says, for at most the ``flush_timeout`` setting, so
        that batches journaled behind one lost reply do not stay behind while the server answers.
        """
        try:
            self._send_journal(_config.current().resolved_flush_timeout())
            count = self.journal.count(self.url)
        except StoreError:
            return None
        if not count:
            return None
        return (
            f"sigopt_ai: {count} batch(es) of records for {self.url} are kept in the journal {self.journal.path}; "
            "they are sent automatically when the server is back, or with `sigopt-ai sync`."
        )

    def _send_journal(self, timeout: float) -> None:
        """Replay this server's journal now, each batch tried once, for at most ``timeout`` seconds."""
        if not self.journal.count(self.url):
            return
        deadline = time.monotonic() + timeout
        if not self._replay_lock.acquire(timeout=-1 if math.isinf(timeout) else timeout):
            return  # the writer is sending (or journaling) a batch for longer than that
        try:
            self._replay(within=0.0, deadline=None if math.isinf(timeout) else deadline)
        except (Unavailable, ConfigError) as exc:
            self._replay_failed(exc)
        finally:
            self._replay_lock.release()

    # -- runs: reads ----------------------------------------------------------------------------

    def _settle(self) -> None:
        """Replay this server's journal before a read of runs, so the read sees every write that returned."""
        if not self.journal.count(self.url):
            return
        with self._replay_lock:
            self._waiting(lambda: self._replay(within=0.0))

    def read_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None."""
        if not run_id:
            return None
        self._settle()
        reply = self._call("GET", f"/v1/training_runs/{_segment(run_id)}")
        return None if reply is None else training_run_from_json(reply)

    def list_runs(
        self, *, project: str | None = None, experiment: str | None = None, limit: int | None = None
    ) -> list[RunRecord]:
        """Runs, newest first, optionally of one project or experiment, at most ``limit``."""
        self._settle()
        params = {"project": project, "experiment": experiment, "limit": limit}
        return [training_run_from_json(item) for item in self._pages(self._client_path("training_runs"), params)]

    def metric_history(self, run_id: str, name: str) -> list[MetricPoint]:
        """Every value logged for metric ``name`` of run ``run_id``, in logging order."""
        if not run_id or not name:
            return []
        self._settle()
        path = f"/v1/training_runs/{_segment(run_id)}/sigopt_ai/metrics/{_segment(name)}"
        return [metric_point_from_json(item) for item in self._pages(path)]

    def dead_letters(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """The records the server's store set aside (of one run), oldest first."""
        self._settle()
        return self._pages("/v1/sigopt_ai/dead_letters", {"run": run_id})

    def archive_run(self, run_id: str, archived: bool = True) -> bool:
        """Archive a run or bring it back (``MERGE {"deleted": ...}``); False when there is no such run."""
        if not run_id:
            return False
        self._settle()
        reply = self._call("MERGE", f"/v1/training_runs/{_segment(run_id)}", body={"deleted": archived})
        return reply is not None

    def list_files(self, run_id: str) -> list[FileRecord]:
        """The files stored with a run, oldest first."""
        if not run_id:
            return []
        self._settle()
        return [file_from_json(item) for item in self._pages(f"/v1/training_runs/{_segment(run_id)}/files")]

    def read_file(self, file_id: str) -> bytes | None:
        """The bytes of a stored file (``GET /v1/files/{id}/sigopt_ai/data``), or None."""
        if not file_id:
            return None
        self._settle()
        path = f"/v1/files/{_segment(file_id)}/sigopt_ai/data"
        response = self._waiting(lambda: self._send("GET", path, headers={"Accept": "*/*"}))
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise error_from_json(response.status_code, _decode(response))
        return response.content

    # -- projects -------------------------------------------------------------------------------

    def create_project(self, project: str, name: str | None = None) -> bool:
        """Create a project in this token's client; False when it exists (the server's 409)."""
        body = {"id": project, "name": name}
        encoded = json.dumps({k: v for k, v in body.items() if v is not None})
        path = self._client_path("projects")
        response = self._waiting(lambda: self._send("POST", path, body=encoded))
        if response.status_code == 409:
            return False
        if response.status_code >= 400:
            raise error_from_json(response.status_code, _decode(response))
        return True

    def get_project(self, project: str) -> ProjectRecord | None:
        """The project with this id in this token's client, or None."""
        if not project:
            return None
        reply = self._call("GET", self._client_path(f"projects/{_segment(project)}"))
        return None if reply is None else project_from_json(reply)

    # -- experiments ----------------------------------------------------------------------------

    def create_experiment(
        self, *, project: str, name: str, definition: Mapping[str, Any], seed: int, lease_timeout: float
    ) -> ExperimentRecord:
        """Store a new experiment and return it."""
        body = {
            **definition,
            "name": name,
            "project": project,
            "sigopt_ai": {"seed": seed, "lease_timeout": lease_timeout},
        }
        reply = self._call("POST", self._client_path("experiments"), body=body)
        if reply is None:
            raise BackendRejected(404, f"The server at {self.url} has no experiments endpoint for this client.")
        return experiment_from_json(reply)

    def get_experiment(self, experiment_id: str) -> ExperimentRecord | None:
        """The experiment with this id, or None."""
        reply = self._experiment_call("GET", experiment_id)
        return None if reply is None else experiment_from_json(reply)

    def list_experiments(self, *, project: str | None = None, limit: int | None = None) -> list[ExperimentRecord]:
        """Experiments, newest first, optionally of one project, at most ``limit``."""
        items = self._pages(self._client_path("experiments"), {"project": project, "limit": limit})
        return [experiment_from_json(item) for item in items]

    def update_experiment(self, experiment_id: str, changes: Mapping[str, Any]) -> ExperimentRecord | None:
        """Replace top-level fields of an experiment's definition (``PUT`` with ``changes`` as the
        body, validated again by the server); returns it, or None if there is none."""
        body = check_definition_changes(changes)
        reply = self._experiment_call("PUT", experiment_id, body=body)
        return None if reply is None else experiment_from_json(reply)

    def archive_experiment(self, experiment_id: str) -> None:
        """Archive an experiment: no suggestion is served any more."""
        self._experiment_call("DELETE", experiment_id)

    def unarchive_experiment(self, experiment_id: str) -> None:
        """Make an archived experiment active again (``PUT {"state": "active"}``)."""
        self._experiment_call("PUT", experiment_id, body={"state": "active"})

    def serve_suggestion(self, experiment_id: str, *, run_id: str | None) -> Suggestion | None:
        """Lease a suggestion to ``run_id``, or None when none can be served (the server's 204)."""
        body = {} if run_id is None else {"sigopt_ai": {"run": run_id}}
        reply = self._experiment_call("POST", experiment_id, "suggestions", body=body)
        return None if reply is None else suggestion_from_json(reply)

    def get_suggestion(self, experiment_id: str, suggestion_id: str) -> Suggestion | None:
        """The suggestion with this id in this experiment, or None."""
        if not suggestion_id:
            return None
        reply = self._experiment_call("GET", experiment_id, f"suggestions/{_segment(suggestion_id)}")
        return None if reply is None else suggestion_from_json(reply)

    def open_suggestions(self, experiment_id: str) -> list[Suggestion]:
        """The experiment's open suggestions, oldest first."""
        if not experiment_id:
            return []
        items = self._pages(f"/v1/experiments/{_segment(experiment_id)}/suggestions", {"state": "open"})
        return [suggestion_from_json(item) for item in items]

    def observe(
        self,
        experiment_id: str,
        suggestion_id: str,
        *,
        run_id: str | None,
        values: Mapping[str, float] | None,
        failure_kind: str | None = None,
        run_failure: Mapping[str, Any] | None = None,
    ) -> Observation | None:
        """Record an observation of a suggestion (``values`` None: failed); None when the server made none."""
        if not suggestion_id:
            return None
        body: dict[str, Any] = {
            "suggestion": suggestion_id,
            "failed": values is None,
            "sigopt_ai": {
                "run": run_id,
                "failure_kind": failure_kind,
                "run_failure": None if run_failure is None else dict(run_failure),
            },
        }
        if values is not None:
            body["values"] = [{"name": name, "value": metric_to_json(value)} for name, value in values.items()]
        reply = self._experiment_call("POST", experiment_id, "observations", body=body)
        return None if reply is None else observation_from_json(reply)

    def release(
        self, experiment_id: str, suggestion_id: str, run_id: str, run_failure: Mapping[str, Any] | None = None
    ) -> bool:
        """Give a suggestion back to be served again, if ``run_id`` still holds its lease.

        It waits for a server that is down at most the ``flush_timeout`` setting (or ``server_wait``
        if shorter), then returns False: a worker stopped by Ctrl-C or SIGTERM while the server is
        away must still exit, and a suggestion not given back is served again once its lease
        expires.
        """
        if not suggestion_id:
            return False
        body = {"run": run_id, "run_failure": None if run_failure is None else dict(run_failure)}
        path = f"suggestions/{_segment(suggestion_id)}/sigopt_ai/release"
        within = min(self.server_wait, _config.current().resolved_flush_timeout())
        try:
            reply = self._experiment_call("POST", experiment_id, path, body=body, within=within)
        except TransportError:
            return False
        return bool(isinstance(reply, Mapping) and reply.get("released") is True)

    def progress(self, experiment_id: str) -> Progress | None:
        """Budget and counts, after the server expired lost leases (None: no such experiment)."""
        reply = self._experiment_call("GET", experiment_id, "sigopt_ai/progress")
        return None if reply is None else progress_from_json(reply)

    def observations(self, experiment_id: str, *, after: str | None = None) -> list[Observation]:
        """The experiment's observations after the one with id ``after``, oldest first (every page)."""
        if not experiment_id:
            return []
        path = f"/v1/experiments/{_segment(experiment_id)}/observations"
        found: list[Observation] = []
        cursor = after
        while True:
            reply = self._call("GET", path, params={"sigopt_ai_after": cursor})
            if reply is None:
                return found
            page = page_from_json(reply)
            found += [observation_from_json(item) for item in page.data]
            if page.after is None or not page.data or page.after == cursor:
                return found
            cursor = page.after

    def best_observations(self, experiment_id: str) -> list[Observation]:
        """The best successful observations meeting every metric threshold."""
        if not experiment_id:
            return []
        items = self._pages(f"/v1/experiments/{_segment(experiment_id)}/best_assignments")
        return [observation_from_json({**item, "object": "observation"}) for item in items]

    def _experiment_call(
        self,
        method: str,
        experiment_id: str,
        suffix: str = "",
        *,
        body: Mapping[str, Any] | None = None,
        within: float | None = None,
    ) -> Any:
        """A request on ``/v1/experiments/{experiment_id}[/suffix]``; None for no such experiment."""
        if not experiment_id:
            return None
        path = f"/v1/experiments/{_segment(experiment_id)}" + (f"/{suffix}" if suffix else "")
        return self._call(method, path, body=body, within=within)

    # -- lifecycle ------------------------------------------------------------------------------

    def after_fork(self) -> None:
        """In a forked child: drop the parent's connections (its sockets are the parent's) and locks."""
        self._init_state()
        self.journal.after_fork()

    def close(self) -> None:
        """Close the connections."""
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None
        self.journal.close()


def _bodies(encoded: list[list[Any]], key: str) -> list[tuple[str, str]]:
    """A batch's request bodies with their idempotency keys: the batch whole, or, past
    :data:`MAX_BATCH_BODY`, consecutive parts under it (one operation alone may pass it), keyed
    ``{key}.{index}``. The parts follow from the operations, so a batch sent again with its key is
    cut the same way and a part the server applied already is skipped."""
    whole = json.dumps({"ops": encoded}, allow_nan=False)
    if len(whole) <= MAX_BATCH_BODY or len(encoded) == 1:
        return [(key, whole)]
    parts: list[list[list[Any]]] = [[]]
    size = 0
    for op in encoded:
        length = len(json.dumps(op, allow_nan=False)) + 2
        if parts[-1] and size + length > MAX_BATCH_BODY:
            parts.append([])
            size = 0
        parts[-1].append(op)
        size += length
    return [(f"{key}.{index}", json.dumps({"ops": part}, allow_nan=False)) for index, part in enumerate(parts)]


def _batch_timeout(deadline: float | None) -> httpx.Timeout:
    """A batch's timeout, cut to what is left before ``deadline`` (a :func:`time.monotonic` time)."""
    left = math.inf if deadline is None else max(0.05, deadline - time.monotonic())
    return httpx.Timeout(min(_BATCH_READ_S, left), connect=min(_BATCH_CONNECT_S, left))


def _segment(value: str) -> str:
    """``value`` as one path segment (every reserved character escaped)."""
    return quote(value, safe="")


def _ops_of(body: str) -> list[Any] | None:
    """The operations of a journaled batch's body, or None if it is not one."""
    try:
        ops = json.loads(body)["ops"]
    except (ValueError, KeyError, TypeError):
        return None
    return ops if isinstance(ops, list) and ops else None


def _decode(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise BackendRejected(response.status_code, f"the reply is not JSON: {response.text[:200]!r}") from exc


def _message(response: httpx.Response) -> str:
    """The server's message in an error reply (its start, when the body is not an error object)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    message = body.get("message") if isinstance(body, Mapping) else None
    return message if isinstance(message, str) else repr(body)[:200]
