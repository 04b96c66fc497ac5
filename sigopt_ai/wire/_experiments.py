"""SigOpt v1 objects of experiments: ``experiment``, ``progress``, ``suggestion``, ``observation``,
and the ``pagination`` that lists any of them. The conventions are in :mod:`sigopt_ai.wire`.

An experiment record's ``definition`` is SigOpt JSON already (what ``ExperimentDefinition.to_json``
gives), so its fields are the experiment object's fields, except that its ``budget`` is SigOpt's
``observation_budget``. Its ``name`` is the record's name, as the store keeps it.

Progress gives SigOpt's experiment and AI-experiment counts: ``observation_budget_consumed`` (and
``finished_run_count``) counts observed suggestions, which the budget spends; ``observation_count``
counts every observation, extra results too; and ``active_run_count`` the leased suggestions.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sigopt_ai._models import ExperimentRecord, ExperimentState, Observation, Progress, Suggestion, SuggestionState
from sigopt_ai.wire._fields import EXTENSION, JSON, Fields, evaluation_to_json, seconds

__all__ = [
    "Page",
    "experiment_from_json",
    "experiment_to_json",
    "observation_from_json",
    "observation_to_json",
    "page_from_json",
    "page_to_json",
    "progress_from_json",
    "progress_to_json",
    "suggestion_from_json",
    "suggestion_to_json",
]

# Fields of an experiment object that are not fields of its definition. The last five are
# sigopt-server's, read from its objects and dropped.
_EXPERIMENT_ENVELOPE = frozenset(
    {"object", "id", "project", "state", "created", "progress", EXTENSION}
    | {"updated", "client", "user", "development", "runs_only"}
)
# SigOpt's experiment calls our definition's budget this (``budget`` is its AI-experiment name).
_BUDGET, _OBSERVATION_BUDGET = "budget", "observation_budget"


# --- experiments and progress
def experiment_to_json(record: ExperimentRecord, progress: Progress | None = None) -> JSON:
    """SigOpt's ``experiment`` object for ``record``, with its ``progress`` when given."""
    body: JSON = {
        "object": "experiment",
        "id": record.id,
        "project": record.project,
        "state": record.state.value,
        "created": seconds(record.created),
    }
    for key, value in record.definition.items():
        body[_OBSERVATION_BUDGET if key == _BUDGET else key] = copy.deepcopy(value)
    body["name"] = record.name
    if progress is not None:
        body["progress"] = progress_to_json(progress)
    body[EXTENSION] = {"created": record.created, "seed": record.seed, "lease_timeout": record.lease_timeout}
    return body


def experiment_from_json(obj: Any) -> ExperimentRecord:
    """The :class:`ExperimentRecord` of an ``experiment`` object (its ``progress`` is not read).

    Raises:
        ValidationError: A field is missing or malformed; the message names it.
    """
    fields = Fields(obj, "experiment", "experiment")
    extension = fields.extension()
    definition = {
        _BUDGET if key == _OBSERVATION_BUDGET else key: value
        for key, value in fields.obj.items()
        if key not in _EXPERIMENT_ENVELOPE
    }
    return ExperimentRecord(
        id=fields.text("id"),
        project=fields.text("project"),
        name=fields.text("name"),
        definition=definition,
        state=fields.state(ExperimentState),
        seed=extension.integer("seed"),
        lease_timeout=extension.number("lease_timeout"),
        created=fields.time("created"),
    )


def progress_to_json(progress: Progress) -> JSON:
    """SigOpt's ``progress`` object: its experiment and AI-experiment counts, and ours."""
    return {
        "object": "progress",
        "observation_budget": progress.budget,
        "observation_count": progress.finished + progress.extra,
        "observation_budget_consumed": progress.finished,
        "active_run_count": progress.active,
        "finished_run_count": progress.finished,
        "total_run_count": progress.finished + progress.active,
        "remaining_budget": progress.remaining,
        EXTENSION: {
            "failed": progress.failed,
            "failed_by_kind": dict(progress.failed_by_kind),
            "extra": progress.extra,
            "manual": progress.manual,
        },
    }


def progress_from_json(obj: Any) -> Progress:
    """The :class:`Progress` of a ``progress`` object.

    Raises:
        ValidationError: A field is missing or malformed; the message names it.
    """
    fields = Fields(obj, "progress", "progress")
    extension = fields.extension()
    by_kind = extension.mapping("failed_by_kind")
    for kind, count in by_kind.items():
        if isinstance(count, bool) or not isinstance(count, int):
            extension.fail(f"failed_by_kind[{kind!r}]", "expected an integer", count)
    return Progress(
        budget=fields.optional_integer("observation_budget"),
        finished=fields.integer("observation_budget_consumed"),
        failed=extension.integer("failed"),
        active=fields.integer("active_run_count"),
        remaining=fields.optional_integer("remaining_budget"),
        failed_by_kind=by_kind,
        extra=extension.integer("extra") if "extra" in extension.obj else 0,
        manual=extension.integer("manual") if "manual" in extension.obj else 0,
    )


# --- suggestions and observations
def suggestion_to_json(suggestion: Suggestion) -> JSON:
    """SigOpt's ``suggestion`` object."""
    return {
        "object": "suggestion",
        "id": suggestion.id,
        "experiment": suggestion.experiment,
        "state": suggestion.state.value,
        "created": seconds(suggestion.created),
        "assignments": dict(suggestion.assignments),
        "deleted": False,
        "metadata": None,
        EXTENSION: {
            "created": suggestion.created,
            "serve_count": suggestion.serve_count,
            "run": suggestion.run,
            "leased": suggestion.leased,
        },
    }


def suggestion_from_json(obj: Any) -> Suggestion:
    """The :class:`Suggestion` of a ``suggestion`` object.

    Raises:
        ValidationError: A field is missing or malformed; the message names it.
    """
    fields = Fields(obj, "suggestion", "suggestion")
    extension = fields.extension()
    return Suggestion(
        id=fields.text("id"),
        experiment=fields.text("experiment"),
        assignments=fields.scalars("assignments"),
        state=fields.state(SuggestionState),
        serve_count=extension.integer("serve_count"),
        run=extension.optional_text("run"),
        leased=extension.flag("leased"),
        created=fields.time("created"),
    )


def observation_to_json(observation: Observation, *, experiment: str | None = None) -> JSON:
    """SigOpt's ``observation`` object; ``experiment`` is its experiment's id, when known."""
    body: JSON = {"object": "observation", "id": observation.id}
    if experiment is not None:
        body["experiment"] = experiment
    body.update(
        suggestion=observation.suggestion,
        created=seconds(observation.created),
        failed=observation.failed,
        assignments=dict(observation.assignments),
        values=[evaluation_to_json(name, value) for name, value in observation.values.items()],
        metadata=None,
    )
    body[EXTENSION] = {
        "created": observation.created,
        "failure_kind": observation.failure_kind,
        "extra": observation.extra,
        "run": observation.run,
    }
    return body


def observation_from_json(obj: Any) -> Observation:
    """The :class:`Observation` of an ``observation`` object.

    Raises:
        ValidationError: A field is missing or malformed, or two values name one metric.
    """
    fields = Fields(obj, "observation", "observation")
    extension = fields.extension()
    return Observation(
        fields.scalars("assignments"),
        fields.metrics("values"),
        fields.flag("failed"),
        extension.optional_text("failure_kind"),
        id=fields.text("id"),
        suggestion=fields.optional_text("suggestion"),
        run=extension.optional_text("run"),
        created=fields.time("created"),
        extra=extension.flag("extra"),
    )


# --- pagination
@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: its items as JSON objects, the total count and the paging markers."""

    data: list[JSON]
    count: int
    before: str | None = None
    after: str | None = None


def page_to_json(
    items: Sequence[JSON], *, before: str | None = None, after: str | None = None, count: int | None = None
) -> JSON:
    """SigOpt's ``pagination`` object for objects already converted (``count`` defaults to their number)."""
    return {
        "object": "pagination",
        "count": len(items) if count is None else count,
        "data": list(items),
        "paging": {"before": before, "after": after},
    }


def page_from_json(obj: Any) -> Page:
    """The :class:`Page` of a ``pagination`` object; its items are left as JSON for their converter.

    Raises:
        ValidationError: A field is missing or malformed; the message names it.
    """
    fields = Fields(obj, "pagination", "pagination")
    data = fields.items("data")
    for index, item in enumerate(data):
        Fields(item, f"pagination.data[{index}]")
    paging = fields.child("paging") if fields.obj.get("paging") is not None else Fields({}, "pagination.paging")
    return Page(
        data=data,
        count=fields.integer("count"),
        before=paging.optional_text("before"),
        after=paging.optional_text("after"),
    )
