"""Suggestions of an experiment: serve, list, fetch, give back.

``POST .../suggestions`` serves the optimizer's next suggestion: ``{"sigopt_ai": {"run": id}}``
leases it to that run (the SDK's loop, whose heartbeats renew the lease), and ``{}`` serves one as
``Experiment.suggest()`` does, whose lease never expires. When nothing can be served (the budget is
spent or held, or the experiment archived) the answer is 204. Suggestions with assignments chosen by
the client are not served here: the store only serves what its optimizer made.

``DELETE`` of a suggestion gives it back to be served again when a run holds it. A suggestion served
outside runs has no lease the store can give back; it stays open until it is observed (with
``failed: true`` when it will not be evaluated), so a ``DELETE`` leaves it as it is.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from sigopt_ai._checks import describe_value, short_repr
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._failures import FailureInfo
from sigopt_ai._models import Suggestion
from sigopt_ai.connection._bodies import check_serve_body, give_back, suggestions_of
from sigopt_ai.server._deps import Tenant, not_found, tenant
from sigopt_ai.server._routes import JsonBody, no_content, page, reply
from sigopt_ai.server._routes._experiment_views import DEFAULT_LIMIT, Limit, extension
from sigopt_ai.wire import EXTENSION, suggestion_to_json

__all__ = ["check_run_id", "router", "run_failure"]

router = APIRouter(tags=["suggestions"])

TenantDep = Annotated[Tenant, Depends(tenant)]
_SERVE_KEYS = frozenset({"metadata", EXTENSION})
_RELEASE_KEYS = frozenset({"run", "run_failure"})
_MAX_RUN_ID = 200


def check_run_id(who: Tenant, value: Any, field: str) -> str:
    """A run id from a body: a non-empty string of printable ASCII, naming no other client's run
    (the SDK's loop leases a suggestion before it writes its run, so the run need not exist yet).

    Raises:
        ValidationError: It is not such a string; the message names ``field``.
        HTTPException: 404, the run is another client's.
    """
    if not isinstance(value, str):
        raise ValidationTypeError(f"{field}: expected a run id string, got {describe_value(value)}.")
    if not (0 < len(value) <= _MAX_RUN_ID and value.isascii() and value.isprintable()):
        raise ValidationError(
            f"{field}: expected 1 to {_MAX_RUN_ID} printable ASCII characters, got {short_repr(value)}."
        )
    if who.backend.read_run(value) is not None:
        who.run(value)
    return value


def run_failure(value: Any, field: str) -> dict[str, Any] | None:
    """A run's failure from a body (``FailureInfo.to_json``), checked, or None.

    Raises:
        ValidationError: It is malformed; the message names ``field``.
    """
    if value is None:
        return None
    try:
        return FailureInfo.from_json(value).to_json()
    except ValidationError as exc:
        raise ValidationError(f"{field}: {exc}") from None


def _suggestion(who: Tenant, experiment_id: str, suggestion_id: str) -> Suggestion:
    suggestion = who.backend.get_suggestion(who.experiment(experiment_id).id, suggestion_id)
    if suggestion is None:
        raise not_found("suggestion", suggestion_id)
    return suggestion


@router.post("/experiments/{experiment_id}/suggestions")
def create_suggestion(experiment_id: str, who: TenantDep, body: JsonBody) -> Response:
    """Serve a suggestion (leased to ``sigopt_ai.run`` when given); 204 when none can be served."""
    experiment = who.experiment(experiment_id).id  # another client's id is a 404 whatever the body
    check_serve_body(body, _SERVE_KEYS)
    run = extension(body, frozenset({"run"})).get("run")
    run_id = None if run is None else check_run_id(who, run, "sigopt_ai.run")
    served = who.backend.serve_suggestion(experiment, run_id=run_id)
    return no_content() if served is None else reply(suggestion_to_json(served))


@router.get("/experiments/{experiment_id}/suggestions")
def list_suggestions(
    experiment_id: str,
    who: TenantDep,
    state: Literal["open", "closed", "all"] = "all",
    limit: Limit = None,
) -> JSONResponse:
    """The experiment's suggestions, oldest first: open ones, closed ones (those observed), or all."""
    found = suggestions_of(who.backend, who.experiment(experiment_id).id, state)
    shown = found[: DEFAULT_LIMIT if limit is None else limit]
    return reply(page([suggestion_to_json(s) for s in shown]))


@router.delete("/experiments/{experiment_id}/suggestions")
def delete_suggestions(experiment_id: str, who: TenantDep, state: Literal["open"] | None = None) -> Response:
    """Give back every open suggestion a run holds (``state`` may only be ``open``: closed ones have
    their observations)."""
    for suggestion in who.backend.open_suggestions(who.experiment(experiment_id).id):
        give_back(who.backend, suggestion)
    return no_content()


@router.get("/experiments/{experiment_id}/suggestions/{suggestion_id}")
def get_suggestion(experiment_id: str, suggestion_id: str, who: TenantDep) -> JSONResponse:
    """The suggestion."""
    return reply(suggestion_to_json(_suggestion(who, experiment_id, suggestion_id)))


@router.delete("/experiments/{experiment_id}/suggestions/{suggestion_id}")
def delete_suggestion(experiment_id: str, suggestion_id: str, who: TenantDep) -> Response:
    """Give the suggestion back to be served again, when a run holds it."""
    give_back(who.backend, _suggestion(who, experiment_id, suggestion_id))
    return no_content()


@router.post("/experiments/{experiment_id}/suggestions/{suggestion_id}/sigopt_ai/release")
def release_suggestion(experiment_id: str, suggestion_id: str, who: TenantDep, body: JsonBody) -> JSONResponse:
    """Give a suggestion back if ``run`` still holds its lease (the SDK's ``Backend.release``)."""
    experiment = who.experiment(experiment_id).id
    if unknown := sorted(set(body) - _RELEASE_KEYS):
        raise ValidationError(f"{unknown[0]}: unknown field; expected one of {sorted(_RELEASE_KEYS)!r}.")
    if "run" not in body:
        raise ValidationError("run: required, the id of the run that holds the suggestion.")
    run_id = check_run_id(who, body["run"], "run")
    failure = run_failure(body.get("run_failure"), "run_failure")
    released = who.backend.release(experiment, suggestion_id, run_id, failure)
    return reply({"object": "release", "released": released})
