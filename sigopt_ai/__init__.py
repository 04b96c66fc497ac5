"""sigopt_ai: record every training run, and optimize hyperparameters with failures as results.

Example:
    >>> import sigopt_ai as sigopt
    >>> @sigopt.run(metric="accuracy")
    ... def train(lr: float = 0.01, epochs: int = 3) -> float:
    ...     return 0.93
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sigopt_ai import _lazy
from sigopt_ai import exception as exception
from sigopt_ai._client_config import ClientConfig, config
from sigopt_ai._exceptions import (
    AssignmentFailure,
    BackendError,
    BackendRejected,
    ConfigError,
    Diverged,
    ExperimentStopped,
    InvalidAssignment,
    MissingDependency,
    SigOptError,
    StoreError,
    Terminated,
    TransportError,
    UsageError,
    ValidationError,
    ValidationTypeError,
)
from sigopt_ai._failures import (
    FailureInfo,
    FailureKind,
    classify,
    register_failure_classifier,
    register_failure_type,
)
from sigopt_ai._models import (
    Checkpoint,
    ExperimentState,
    FileRecord,
    MetricEvaluation,
    MetricPoint,
    Observation,
    Progress,
    RunRecord,
    RunState,
    Suggestion,
    SuggestionState,
)
from sigopt_ai.runs import _launched  # noqa: F401  (a process sigopt-ai launched records into its run)
from sigopt_ai.runs._api import (
    CurrentRunParams,
    archive_run,
    configure,
    create_run,
    flush,
    get_run,
    get_run_id,
    list_runs,
    log_checkpoint,
    log_dataset,
    log_failure,
    log_metadata,
    log_metric,
    log_metrics,
    log_model,
    metric_history,
    unarchive_run,
)
from sigopt_ai.runs._decorator import RunSpec, run
from sigopt_ai.runs._files import list_files, log_image, read_file
from sigopt_ai.runs._params import RunParams
from sigopt_ai.runs._projects import create_project, get_default_project, set_project
from sigopt_ai.runs._run import RunContext, current_run
from sigopt_ai.runs._upload import upload_runs

if TYPE_CHECKING:
    from sigopt_ai.connection import Connection
    from sigopt_ai.experiments import (
        Experiment,
        archive_aiexperiment,
        archive_experiment,
        create_aiexperiment,
        create_experiment,
        get_aiexperiment,
        get_experiment,
        unarchive_aiexperiment,
        unarchive_experiment,
    )

from sigopt_ai._version import __version__ as __version__

VERSION: str = __version__
"""The library's version, under sigopt-python's name."""

params: CurrentRunParams = CurrentRunParams()
"""The parameters of the current run: ``sigopt.params.setdefaults(lr=0.01)``, ``sigopt.params.lr``."""

__all__ = [
    "AssignmentFailure",
    "BackendError",
    "BackendRejected",
    "Checkpoint",
    "ClientConfig",
    "ConfigError",
    "Connection",
    "CurrentRunParams",
    "Diverged",
    "Experiment",
    "ExperimentState",
    "ExperimentStopped",
    "FailureInfo",
    "FailureKind",
    "FileRecord",
    "InvalidAssignment",
    "MetricEvaluation",
    "MetricPoint",
    "MissingDependency",
    "Observation",
    "Progress",
    "RunContext",
    "RunParams",
    "RunRecord",
    "RunSpec",
    "RunState",
    "SigOptError",
    "StoreError",
    "Suggestion",
    "SuggestionState",
    "Terminated",
    "TransportError",
    "UsageError",
    "VERSION",
    "ValidationError",
    "ValidationTypeError",
    "archive_aiexperiment",
    "archive_experiment",
    "archive_run",
    "classify",
    "config",
    "configure",
    "create_aiexperiment",
    "create_experiment",
    "create_project",
    "create_run",
    "current_run",
    "flush",
    "get_aiexperiment",
    "get_default_project",
    "get_experiment",
    "get_run",
    "get_run_id",
    "list_files",
    "list_runs",
    "log_checkpoint",
    "log_dataset",
    "log_failure",
    "log_image",
    "log_metadata",
    "log_metric",
    "log_metrics",
    "log_model",
    "metric_history",
    "params",
    "read_file",
    "register_failure_classifier",
    "register_failure_type",
    "run",
    "set_project",
    "unarchive_aiexperiment",
    "unarchive_experiment",
    "unarchive_run",
    "upload_runs",
]

# PEP 562: experiments need numpy, scipy, PyYAML and rich, so they load on first use, not with the
# logging API a training script imports.
_EXPERIMENT_NAMES = (
    "Experiment",
    "archive_aiexperiment",
    "archive_experiment",
    "create_aiexperiment",
    "create_experiment",
    "get_aiexperiment",
    "get_experiment",
    "unarchive_aiexperiment",
    "unarchive_experiment",
)
_LAZY = dict.fromkeys(_EXPERIMENT_NAMES, "sigopt_ai.experiments")
_LAZY["Connection"] = "sigopt_ai.connection"

if not TYPE_CHECKING:
    # Hidden from type checkers: they read a module's __getattr__ as "any other name exists", which
    # would let a misspelt `sigopt.lgo_metric` pass as Any. They see the lazy names imported above.
    __getattr__ = _lazy.lazy_names(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    # What the package holds (``__version__`` too), and the lazy names before their first use.
    return sorted({*globals(), *_LAZY})
