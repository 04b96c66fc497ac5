"""The SigOpt v1 wire format: our values as SigOpt REST JSON and back, for the server and the HTTP backend.

Every function is pure (no I/O): ``*_to_json`` gives a JSON object of plain dicts, lists, strings,
numbers, booleans and None, and ``*_from_json`` gives back exactly the value it was given,
``x_from_json(x_to_json(x)) == x`` (a NaN comes back as NaN, which Python compares unequal to
itself), raising :class:`~sigopt_ai.ValidationError` whose message starts
with the path of a missing or malformed field (``observation.values[1].name: expected a string, got
3 (int).``).

The objects follow sigopt-server's JSON builders, so a SigOpt client reads them:

- every object says what it is (``"object": "experiment"``); ids are strings;
- timestamps (``created``, ``completed``, ``updated``) are whole seconds since the epoch;
- metric values are ``{"object": "metric_evaluation", "name", "value", "value_stddev"}``: a list of
  them in observations and checkpoints, a map from the name in training runs.

What we store and SigOpt's object lacks goes in one extension field, ``"sigopt_ai"``, which SigOpt
clients ignore; the user's ``metadata`` stays the user's:

==================  ==========================================================================
object              ``sigopt_ai`` holds
==================  ==========================================================================
every object        each timestamp exactly, as float seconds (``created``, ``completed``)
experiment          ``seed``, ``lease_timeout``
progress            ``failed``, ``failed_by_kind``, ``extra``, ``manual``
suggestion          ``serve_count``, ``run``, ``leased``
observation         ``failure_kind``, ``extra``, ``run``
training_run        ``failure`` (kind, type, message, traceback), ``heartbeat``, ``lost``,
                    ``checkpoints`` (an archived run is SigOpt's ``"deleted": true``)
file                ``sha256`` of the bytes
checkpoint          ``step``
error               ``type``: the class of our exception tree to raise again
==================  ==========================================================================

JSON has no NaN, and a run keeps a diverged metric as logged, so a metric value (or standard
deviation) that is not finite is written as the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``,
which ``float()`` reads; a metric value is always a number, so the strings cannot be mistaken for
one. The output of every ``*_to_json`` passes ``json.dumps(..., allow_nan=False)`` as long as the
record's free-form maps (assignments, metadata, definition, ``sys_metadata``) hold JSON values, as
the SDK's checks make them.

An experiment's definition is SigOpt JSON already and becomes the experiment object's fields (see
:mod:`sigopt_ai.wire._experiments`). A batch of write operations goes over HTTP with
:func:`ops_to_json` and :func:`ops_from_json` (see :mod:`sigopt_ai.wire._ops`), and errors with
:func:`error_to_json` and :func:`error_from_json` (the status table is in
:mod:`sigopt_ai.wire._errors`).
"""

from __future__ import annotations

from sigopt_ai.wire._errors import error_from_json, error_to_json
from sigopt_ai.wire._experiments import (
    Page,
    experiment_from_json,
    experiment_to_json,
    observation_from_json,
    observation_to_json,
    page_from_json,
    page_to_json,
    progress_from_json,
    progress_to_json,
    suggestion_from_json,
    suggestion_to_json,
)
from sigopt_ai.wire._fields import EXTENSION
from sigopt_ai.wire._files import file_from_json, file_to_json, project_from_json, project_to_json
from sigopt_ai.wire._ops import ops_from_json, ops_to_json
from sigopt_ai.wire._runs import (
    checkpoint_from_json,
    checkpoint_to_json,
    metric_point_from_json,
    metric_point_to_json,
    training_run_from_json,
    training_run_to_json,
)

__all__ = [
    "EXTENSION",
    "Page",
    "checkpoint_from_json",
    "checkpoint_to_json",
    "error_from_json",
    "error_to_json",
    "experiment_from_json",
    "experiment_to_json",
    "file_from_json",
    "file_to_json",
    "metric_point_from_json",
    "metric_point_to_json",
    "observation_from_json",
    "observation_to_json",
    "ops_from_json",
    "ops_to_json",
    "page_from_json",
    "page_to_json",
    "project_from_json",
    "project_to_json",
    "progress_from_json",
    "progress_to_json",
    "suggestion_from_json",
    "suggestion_to_json",
    "training_run_from_json",
    "training_run_to_json",
]
