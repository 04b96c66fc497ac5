"""SigOpt's core-module requests answered over a :class:`~sigopt_ai.backends.Backend`.

Each handler takes the ids of its path and the request's parameters (the query of a GET or
DELETE, the body of a POST or PUT) and returns the JSON the project's server answers for the same
request, or None where the server answers 204. The JSON comes from the builders the server uses
(:mod:`sigopt_ai.wire._core`), and bodies are checked by the server's own checks
(:mod:`sigopt_ai.connection._bodies`), so a store reached directly and one behind the server give
the same objects and the same messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sigopt_ai import _config
from sigopt_ai._checks import INT64_MAX, short_repr
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._exceptions import BackendRejected, UsageError, ValidationError
from sigopt_ai._models import ExperimentRecord, Suggestion
from sigopt_ai.backends import Backend
from sigopt_ai.connection._bodies import (
    check_serve_body,
    create_experiment_record,
    give_back,
    observation_body,
    observed_suggestion,
    suggestions_of,
    update_experiment_record,
)
from sigopt_ai.wire import EXTENSION, observation_to_json, page_to_json, suggestion_to_json
from sigopt_ai.wire import _core as views
from sigopt_ai.wire._fields import JSON

__all__ = ["ROUTES", "CoreApi", "Handler", "NotFound", "RequestConflict", "RequestRejected", "Route"]

DEFAULT_LIMIT = 1000
"""Items of a page when the request names no ``limit`` (SigOpt's default, and the server's)."""

Route = tuple[str, tuple[str, ...]]
"""A request's method and path pattern: ``("GET", ("experiments", "{}", "suggestions"))``."""


class RequestRejected(ValidationError, BackendRejected):
    """A request the server would answer with a 4xx: bad input (400) or an unknown id (404).

    It is a :class:`~sigopt_ai.ValidationError` and, as sigopt-python's ``ApiException`` is
    :class:`~sigopt_ai.BackendRejected`, caught by ``except sigopt.exception.ApiException``;
    ``status``/``status_code`` and ``message`` are the server's, and so is the text.

    Args:
        message: The server's message (it names the field).
        status: The status the server answers.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        Exception.__init__(self, message)
        self.status = status
        self.message = message


class NotFound(RequestRejected):
    """The request names an object that does not exist: the server's 404, ``No <kind> with id <id>.``

    Args:
        kind: What was asked for (``"experiment"``).
        id: The id that names nothing.
    """

    def __init__(self, kind: str, id: str) -> None:
        super().__init__(f"No {kind} with id {id}.", 404)


class RequestConflict(UsageError, BackendRejected):
    """A request that does not fit the state of what it names: the server's 409.

    Args:
        message: The server's message.
    """

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)
        self.status = 409
        self.message = message


def _limit(params: Mapping[str, Any]) -> int:
    value = params.get("limit")
    if value is None:
        return DEFAULT_LIMIT
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT64_MAX:
        raise ValidationError(f"query.limit: expected an integer from 0 to {INT64_MAX}, got {short_repr(value)}.")
    return value


def _only(params: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
    if unknown := sorted(set(params) - allowed):
        raise ValidationError(f"{unknown[0]}: unknown field of {what}.")


class CoreApi:
    """The core-module routes over one store.

    Args:
        backend: The store (the session's, or an HTTP backend of the Connection's server).
        client: The id of the client the store's objects belong to, asked on first need (None for a
            store reached directly, which has no clients). A backend shows projects as their user
            names them, so nothing here strips the server's client prefix.
    """

    def __init__(self, backend: Backend, client: Callable[[], str | None]) -> None:
        self.backend = backend
        self._client = client

    # --- shared lookups
    def check_client(self, client_id: str) -> None:
        """Refuse another client's id as the server does (a store reached directly takes any).

        Raises:
            NotFound: ``client_id`` is not this token's client.
        """
        client = self._client()
        if client is not None and client_id != client:
            raise NotFound("client", client_id)

    def experiment(self, experiment_id: str) -> ExperimentRecord:
        """The experiment with this id.

        Raises:
            NotFound: There is none.
        """
        found = self.backend.get_experiment(experiment_id)
        if found is None:
            raise NotFound("experiment", experiment_id)
        return found

    def suggestion(self, experiment_id: str, suggestion_id: str) -> Suggestion:
        """The suggestion with this id in this experiment.

        Raises:
            NotFound: There is no such experiment or suggestion.
        """
        found = self.backend.get_suggestion(self.experiment(experiment_id).id, suggestion_id)
        if found is None:
            raise NotFound("suggestion", suggestion_id)
        return found

    def experiment_json(self, record: ExperimentRecord, *, best: bool = False) -> JSON:
        """SigOpt's ``experiment`` object of a stored experiment (with ``best_observation`` when ``best``)."""
        found = self.backend.best_observations(record.id) if best and views.shows_best_observation(record) else None
        progress = self.backend.progress(record.id)
        return views.experiment_json(record, progress, project=record.project, client=self._client(), best=found)

    # --- experiments
    def create_experiment(self, body: Mapping[str, Any], *, client: str | None = None) -> JSON:
        """``POST /experiments``: SigOpt's experiment JSON, ``project`` optional."""
        if client is not None:
            self.check_client(client)
        fields = dict(body)
        project = fields.pop("project", None)
        project = views.DEFAULT_PROJECT if project is None else _config.check_project(project)
        return self.experiment_json(create_experiment_record(self.backend, project, fields))

    def list_experiments(self, params: Mapping[str, Any], *, client: str | None = None) -> JSON:
        """``GET /experiments``: newest first, of one ``project`` when given."""
        if client is not None:
            self.check_client(client)
        _only(params, frozenset({"limit", "project", "before", "after"}), "an experiment list")
        project = params.get("project")
        if project is not None:
            project = _config.check_project(project, "query.project")
        records = self.backend.list_experiments(project=project, limit=_limit(params))
        return page_to_json([self.experiment_json(r) for r in records])

    def update_experiment(self, experiment_id: str, body: Mapping[str, Any]) -> JSON:
        """``PUT /experiments/{id}``: rename, replace the metadata, budget, bandwidth or parameter
        bounds, archive or unarchive."""
        record = update_experiment_record(self.backend, self.experiment(experiment_id), body)
        return self.experiment_json(record)

    def delete_experiment(self, experiment_id: str) -> None:
        """``DELETE /experiments/{id}``: archive it (no suggestion is served any more)."""
        self.backend.archive_experiment(self.experiment(experiment_id).id)

    # --- suggestions
    def create_suggestion(self, experiment_id: str, body: Mapping[str, Any]) -> JSON | None:
        """``POST /experiments/{id}/suggestions``: the optimizer's next one; None when none can be served."""
        experiment = self.experiment(experiment_id).id
        check_serve_body(body)
        served = self.backend.serve_suggestion(experiment, run_id=None)
        return None if served is None else suggestion_to_json(served)

    def list_suggestions(self, experiment_id: str, params: Mapping[str, Any]) -> JSON:
        """``GET /experiments/{id}/suggestions``: open ones, closed ones (observed) or all, oldest first."""
        experiment = self.experiment(experiment_id).id
        _only(params, frozenset({"state", "limit", "before", "after"}), "a suggestion list")
        found = suggestions_of(self.backend, experiment, params.get("state", "all"))
        return page_to_json([suggestion_to_json(s) for s in found[: _limit(params)]])

    def delete_suggestion(self, experiment_id: str, suggestion_id: str) -> None:
        """``DELETE /experiments/{id}/suggestions/{id}``: give it back, when a run holds it."""
        give_back(self.backend, self.suggestion(experiment_id, suggestion_id))

    def delete_suggestions(self, experiment_id: str, params: Mapping[str, Any]) -> None:
        """``DELETE /experiments/{id}/suggestions``: give back every open one a run holds."""
        _only(params, frozenset({"state"}), "a suggestion deletion")
        if params.get("state") not in (None, "open"):
            raise ValidationError(f"query.state: only 'open' can be given back, got {short_repr(params['state'])}.")
        for suggestion in self.backend.open_suggestions(self.experiment(experiment_id).id):
            give_back(self.backend, suggestion)

    # --- observations
    def create_observation(self, experiment_id: str, body: Mapping[str, Any]) -> JSON | None:
        """``POST /experiments/{id}/observations``; None when the store recorded nothing."""
        record = self.experiment(experiment_id)
        if EXTENSION in body:
            raise ValidationError(f"{EXTENSION}: the SDK's loop sends it; a Connection reports observations only.")
        definition = ExperimentDefinition.from_json(record.definition)
        checked = observation_body(definition, body, of_run=False)
        sid = observed_suggestion(self.backend, record.id, body, NotFound)
        observed = self.backend.observe(
            record.id, sid, run_id=None, values=checked.values, failure_kind=checked.failure_kind
        )
        return None if observed is None else observation_to_json(observed, experiment=record.id)

    def list_observations(self, experiment_id: str, params: Mapping[str, Any]) -> JSON:
        """``GET /experiments/{id}/observations``: oldest first, a page at a time (the next page's
        marker in ``paging.before`` and ``paging.after`` alike, as the server pages)."""
        experiment = self.experiment(experiment_id).id
        _only(params, frozenset({"limit", "before", "after"}), "an observation list")
        marker = params.get("after") or params.get("before")
        found = self.backend.observations(experiment, after=None if marker is None else str(marker))
        size = _limit(params)
        shown = found[:size]
        more = shown[-1].id if shown and len(found) > size else None
        return page_to_json([observation_to_json(o, experiment=experiment) for o in shown], before=more, after=more)

    def observation(self, experiment_id: str, observation_id: str) -> JSON:
        """``GET /experiments/{id}/observations/{id}``."""
        experiment = self.experiment(experiment_id).id
        for observed in self.backend.observations(experiment):
            if observed.id == observation_id:
                return observation_to_json(observed, experiment=experiment)
        raise NotFound("observation", observation_id)

    def best_assignments(self, experiment_id: str) -> JSON:
        """``GET /experiments/{id}/best_assignments``: the best successful observations within every threshold."""
        experiment = self.experiment(experiment_id).id
        return page_to_json(views.best_assignments_json(self.backend.best_observations(experiment), experiment))

    # --- tokens
    def token(self, token_id: str) -> JSON:
        """``GET /tokens/self``: the token's client (None for a store reached directly)."""
        if token_id != "self":
            raise NotFound("token", token_id)
        return views.token_json(self._client())


Handler = Callable[[CoreApi, list[str], dict[str, Any]], "JSON | None"]
"""A route's handler: the API, the ids in the path, the request's parameters."""

ROUTES: dict[Route, Handler] = {
    ("POST", ("experiments",)): lambda api, ids, p: api.create_experiment(p),
    ("GET", ("experiments",)): lambda api, ids, p: api.list_experiments(p),
    ("GET", ("experiments", "{}")): lambda api, ids, p: api.experiment_json(api.experiment(ids[0]), best=True),
    ("PUT", ("experiments", "{}")): lambda api, ids, p: api.update_experiment(ids[0], p),
    ("DELETE", ("experiments", "{}")): lambda api, ids, p: api.delete_experiment(ids[0]),
    ("POST", ("experiments", "{}", "suggestions")): lambda api, ids, p: api.create_suggestion(ids[0], p),
    ("GET", ("experiments", "{}", "suggestions")): lambda api, ids, p: api.list_suggestions(ids[0], p),
    ("DELETE", ("experiments", "{}", "suggestions")): lambda api, ids, p: api.delete_suggestions(ids[0], p),
    ("GET", ("experiments", "{}", "suggestions", "{}")): lambda api, ids, p: suggestion_to_json(
        api.suggestion(ids[0], ids[1])
    ),
    ("DELETE", ("experiments", "{}", "suggestions", "{}")): lambda api, ids, p: api.delete_suggestion(*ids),
    ("POST", ("experiments", "{}", "observations")): lambda api, ids, p: api.create_observation(ids[0], p),
    ("GET", ("experiments", "{}", "observations")): lambda api, ids, p: api.list_observations(ids[0], p),
    ("GET", ("experiments", "{}", "observations", "{}")): lambda api, ids, p: api.observation(*ids),
    ("GET", ("experiments", "{}", "best_assignments")): lambda api, ids, p: api.best_assignments(ids[0]),
    ("GET", ("aiexperiments", "{}")): lambda api, ids, p: views.aiexperiment_json(
        api.experiment_json(api.experiment(ids[0]))
    ),
    ("POST", ("clients", "{}", "experiments")): lambda api, ids, p: api.create_experiment(p, client=ids[0]),
    ("GET", ("clients", "{}", "experiments")): lambda api, ids, p: api.list_experiments(p, client=ids[0]),
    ("GET", ("tokens", "{}")): lambda api, ids, p: api.token(ids[0]),
}
"""Every request a Connection can make, by method and path pattern (``{}`` an id)."""
