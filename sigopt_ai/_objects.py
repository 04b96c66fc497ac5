"""Attribute views of SigOpt JSON objects, as sigopt-python's ``sigopt.objects`` offers them.

Code written for sigopt-python reads answers by attribute (``experiment.progress.observation_count``,
``parameter.bounds.min``) and treats a field that SigOpt defines but the JSON leaves out as ``None``.
:class:`ApiObject` gives that view over any JSON mapping; :data:`FIELDS` says, per object kind, which
fields SigOpt defines and what each nested value becomes. Mapping-typed fields that sigopt-python
hands out as dicts (``assignments``, ``metadata``, ...) stay dicts here, so ``f(**s.assignments)``
and ``s.assignments.items()`` keep working.

As in sigopt-python, an object can be edited before it is sent back: setting an attribute writes
the value's JSON into the object, and a nested object shares its parent's JSON, so
``experiment.parameters[0].bounds.max = 100`` changes what ``experiment.to_json()`` holds and what
``update(parameters=...)`` sends.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["FIELDS", "ApiMap", "ApiObject", "Pagination", "as_json", "wrap"]

# Field specs: "" a plain value; "kind" an ApiObject of that kind; "[kind]" a list of them;
# "{}" a dict (ApiMap); "{kind}" a dict whose values are ApiObjects of that kind.
_MAP = "{}"
_TASK = {"cost": "", "name": ""}
_METRIC_EVALUATION = {"name": "", "value": "", "value_stddev": ""}

FIELDS: Mapping[str, Mapping[str, str]] = {
    "aiexperiment": {
        "budget": "",
        "client": "",
        "conditionals": "[conditional]",
        "created": "",
        "id": "",
        "linear_constraints": "[linear_constraint]",
        "metadata": _MAP,
        "metrics": "[metric]",
        "name": "",
        "num_solutions": "",
        "parallel_bandwidth": "",
        "parameters": "[parameter]",
        "progress": "runs_progress",
        "project": "",
        "state": "",
        "updated": "",
        "user": "",
    },
    "best_assignments": {
        "assignments": _MAP,
        "id": "",
        "value": "",
        "value_stddev": "",
        "values": "[metric_evaluation]",
    },
    "bounds": {"max": "", "min": ""},
    "categorical_value": {"enum_index": "", "name": ""},
    "checkpoint": {
        "created": "",
        "id": "",
        "metadata": _MAP,
        "should_stop": "",
        "stopping_reasons": _MAP,
        "training_run": "",
        "values": "[metric_evaluation]",
    },
    "client": {"created": "", "id": "", "name": "", "organization": ""},
    "conditional": {"name": "", "values": ""},
    "constraint_term": {"name": "", "weight": ""},
    "experiment": {
        "budget": "",
        "client": "",
        "conditionals": "[conditional]",
        "created": "",
        "development": "",
        "id": "",
        "linear_constraints": "[linear_constraint]",
        "metadata": _MAP,
        "metrics": "[metric]",
        "name": "",
        "num_solutions": "",
        "observation_budget": "",
        "parallel_bandwidth": "",
        "parameters": "[parameter]",
        "progress": "progress",
        "project": "",
        "state": "",
        "tasks": "[task]",
        "training_monitor": "training_monitor",
        "type": "",
        "updated": "",
        "user": "",
    },
    "importances": {"importances": _MAP},
    "linear_constraint": {"terms": "[constraint_term]", "threshold": "", "type": ""},
    "metric": {"name": "", "objective": "", "strategy": "", "threshold": ""},
    "metric_evaluation": _METRIC_EVALUATION,
    "metric_importances": {"importances": _MAP, "metric": ""},
    "model": {"type": ""},
    "observation": {
        "assignments": _MAP,
        "created": "",
        "experiment": "",
        "failed": "",
        "id": "",
        "metadata": _MAP,
        "suggestion": "",
        "task": "task",
        "value": "",
        "value_stddev": "",
        "values": "[metric_evaluation]",
    },
    "organization": {"created": "", "deleted": "", "id": "", "name": ""},
    "pagination": {"count": "", "data": "", "paging": "paging"},
    "paging": {"after": "", "before": ""},
    "parameter": {
        "bounds": "bounds",
        "categorical_values": "[categorical_value]",
        "conditions": _MAP,
        "default_value": "",
        "grid": "",
        "name": "",
        "precision": "",
        "prior": "parameter_prior",
        "transformation": "",
        "type": "",
    },
    "parameter_prior": {"mean": "", "name": "", "scale": "", "shape_a": "", "shape_b": ""},
    "progress": {
        "first_observation": "observation",
        "last_observation": "observation",
        "best_observation": "observation",
        "observation_count": "",
        "observation_budget_consumed": "",
        "active_run_count": "",
        "finished_run_count": "",
        "total_run_count": "",
        "remaining_budget": "",
    },
    "project": {
        "client": "",
        "created": "",
        "id": "",
        "metadata": _MAP,
        "name": "",
        "updated": "",
        "user": "",
    },
    "queued_suggestion": {
        "assignments": _MAP,
        "created": "",
        "experiment": "",
        "id": "",
        "task": "task",
    },
    "runs_progress": {
        "active_run_count": "",
        "finished_run_count": "",
        "total_run_count": "",
        "remaining_budget": "",
    },
    "session": {"api_token": "token", "client": "client", "user": "user"},
    "source_code": {"content": "", "hash": ""},
    "stopping_criteria": {"reasons": "", "should_stop": ""},
    "suggestion": {
        "assignments": _MAP,
        "created": "",
        "experiment": "",
        "id": "",
        "metadata": _MAP,
        "state": "",
        "task": "task",
    },
    "task": _TASK,
    "token": {
        "all_experiments": "",
        "client": "",
        "development": "",
        "experiment": "",
        "expires": "",
        "token": "",
        "token_type": "",
        "user": "",
    },
    "training_early_stopping_criteria": {
        "lookback_checkpoints": "",
        "metric": "",
        "min_checkpoints": "",
        "name": "",
        "type": "",
    },
    "training_monitor": {
        "early_stopping_criteria": "[training_early_stopping_criteria]",
        "max_checkpoints": "",
    },
    "training_run": {
        "assignments": _MAP,
        "best_checkpoint": "",
        "checkpoint_count": "",
        "client": "",
        "completed": "",
        "created": "",
        "datasets": "",
        "deleted": "",
        "dev_metadata": _MAP,
        "experiment": "",
        "files": "",
        "finished": "",
        "id": "",
        "logs": _MAP,
        "metadata": _MAP,
        "model": "model",
        "name": "",
        "object": "",
        "observation": "",
        "project": "",
        "source_code": "source_code",
        "state": "",
        "suggestion": "",
        "sys_metadata": _MAP,
        "tags": "",
        "updated": "",
        "user": "",
        "values": "{metric_evaluation}",
    },
    "user": {"created": "", "deleted": "", "email": "", "id": "", "name": ""},
}
"""Per SigOpt object kind (its JSON ``object`` value), the fields SigOpt defines and how each is wrapped."""


class ApiMap(dict[str, Any]):
    """A mapping-typed field (``assignments``, ``metadata``): a plain dict, as sigopt-python hands out."""

    def to_json(self) -> dict[str, Any]:
        """A deep copy as plain JSON values."""
        return as_json(self)  # type: ignore[no-any-return]


def wrap(value: Any, spec: str = "") -> Any:
    """Objects over a copy of one JSON value, by its field spec (see :data:`FIELDS`); mappings
    without a spec become ApiObjects. Edits to them never reach ``value``."""
    return _view(copy.deepcopy(value), spec)


def _view(value: Any, spec: str = "") -> Any:
    """Like :func:`wrap`, over ``value`` itself: a nested object read from its parent shares its JSON."""
    if value is None:
        return None
    if spec == _MAP and isinstance(value, Mapping):
        return ApiMap(copy.deepcopy(dict(value)))  # a dict of its own, as sigopt-python's Assignments
    if spec.startswith("{") and isinstance(value, Mapping):
        return ApiMap({k: _view(v, spec[1:-1]) for k, v in value.items()})
    if spec.startswith("[") and isinstance(value, list):
        return [_view(v, spec[1:-1]) for v in value]
    if isinstance(value, Mapping):
        return ApiObject(value, kind=spec or None)
    if isinstance(value, list):
        return [_view(v) for v in value]
    return value


def as_json(value: Any) -> Any:
    """``value`` as plain JSON values: ApiObjects and maps become dicts, tuples and numpy arrays lists,
    numpy scalars Python numbers (what sigopt-python sends for the same arguments)."""
    if isinstance(value, ApiObject):
        return value.to_json()
    if isinstance(value, Mapping):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    if isinstance(value, bool | str | None):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    tolist = getattr(value, "tolist", None)
    return as_json(tolist()) if callable(tolist) else value


class ApiObject:
    """An attribute view of one SigOpt JSON object.

    ``obj.name`` and ``obj["name"]`` read a field; nested objects are ApiObjects, lists of objects
    lists of ApiObjects. A field SigOpt defines for this kind but the JSON leaves out reads as
    ``None``; any other missing name raises AttributeError (a typo stays visible). ``obj.name = v``
    writes ``v``'s JSON into the object (and into the object it was read from), as sigopt-python's
    objects do.

    Args:
        body: The JSON object.
        kind: The SigOpt object kind (``"experiment"``, ``"bounds"``...); defaults to ``body["object"]``.
    """

    __slots__ = ("_body", "_kind")

    def __init__(self, body: Mapping[str, Any], kind: str | None = None) -> None:
        # The JSON itself, not a copy: a nested object read from its parent edits the parent's JSON.
        object.__setattr__(self, "_body", body if isinstance(body, dict) else dict(body))
        found = kind if kind is not None else body.get("object")
        object.__setattr__(self, "_kind", found if isinstance(found, str) else None)

    def _fields(self) -> Mapping[str, str]:
        return FIELDS.get(self._kind or "", {})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        fields = self._fields()
        if name in self._body:
            return _view(self._body[name], fields.get(name, ""))
        if name in fields:
            return None
        raise AttributeError(f"{type(self).__name__} ({self._kind or 'object'}) has no field {name!r}")

    def __getitem__(self, key: str) -> Any:
        try:
            return _view(self._body[key], self._fields().get(key, ""))
        except KeyError:
            raise KeyError(key) from None

    def __contains__(self, key: object) -> bool:
        return key in self._body

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            raise AttributeError(f"{name!r}: not a field of a SigOpt object")
        self._body[name] = as_json(value)

    def __delattr__(self, name: str) -> None:
        if name not in self._body:
            raise AttributeError(name)
        del self._body[name]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiObject) and self._body == other._body

    __hash__ = None  # type: ignore[assignment]

    def __dir__(self) -> list[str]:
        return sorted(set(object.__dir__(self)) | set(self._body) | set(self._fields()))

    def __repr__(self) -> str:
        kind = self._kind or "object"
        name = "AIExperiment" if kind == "aiexperiment" else "".join(part.capitalize() for part in kind.split("_"))
        inner = ", ".join(f"{k}={self[k]!r}" for k in self._body if k != "object")
        return f"{name}({inner})"

    def __getstate__(self) -> tuple[dict[str, Any], str | None]:
        return self._body, self._kind

    def __setstate__(self, state: tuple[dict[str, Any], str | None]) -> None:
        object.__setattr__(self, "_body", state[0])
        object.__setattr__(self, "_kind", state[1])

    def to_json(self) -> dict[str, Any]:
        """A deep copy of the JSON object."""
        return copy.deepcopy(self._body)


class Pagination(ApiObject):
    """One page of a SigOpt list: ``.data``, ``.count``, ``.paging``, and ``.iterate_pages()`` for all of it.

    Args:
        body: The pagination JSON (``{"object": "pagination", "data": [...], "count", "paging"}``).
        item_kind: The kind of the items in ``data`` (each item's own ``object`` otherwise).
        fetch_page: Fetches another page given the paging parameters (``before=`` or ``after=``);
            None when this list has one page only.
        params: The parameters the page was fetched with.
    """

    __slots__ = ("_fetch_page", "_item_kind", "_params")

    def __init__(
        self,
        body: Mapping[str, Any],
        item_kind: str | None = None,
        fetch_page: Callable[..., Pagination] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(body, kind="pagination")
        object.__setattr__(self, "_item_kind", item_kind)
        object.__setattr__(self, "_fetch_page", fetch_page)
        object.__setattr__(self, "_params", dict(params or {}))

    @property
    def data(self) -> list[Any]:
        """The items of this page (the first page only: use :meth:`iterate_pages` for all)."""
        return [_view(item, self._item_kind or "") for item in self._body.get("data") or []]

    def iterate_pages(self) -> Iterator[Any]:
        """Every item of the list, fetching the following pages as sigopt-python does."""
        page: Pagination | None = self
        use_before = "after" not in self._params
        while page is not None:
            items = page.data
            yield from items
            paging = page.paging
            cursor = None if paging is None else (paging.before if use_before else paging.after)
            if not items or cursor is None or self._fetch_page is None:
                return
            params = {k: v for k, v in self._params.items() if k not in ("before", "after")}
            params["before" if use_before else "after"] = cursor
            page = self._fetch_page(**params)

    def __getstate__(self) -> tuple[dict[str, Any], str | None]:
        raise TypeError("Pagination holds its fetcher; pickle its to_json() instead")

    def __repr__(self) -> str:
        return f"Pagination(count={self.count!r}, data={self.data!r}, paging={self.paging!r})"
