"""sigopt_ai: record every training run, and optimize hyperparameters with failures as results.

Example:
    >>> import sigopt_ai as sigopt
    >>> @sigopt.run(metric="accuracy")
    ... def train(lr: float = 0.01, epochs: int = 3) -> float:
    ...     return 0.93
"""

from sigopt_ai._api import configure
from sigopt_ai._api import create_run
from sigopt_ai._api import flush
from sigopt_ai._api import get_run
from sigopt_ai._api import list_runs
from sigopt_ai._api import log_checkpoint
from sigopt_ai._api import log_dataset
from sigopt_ai._api import log_failure
from sigopt_ai._api import log_metadata
from sigopt_ai._api import log_metric
from sigopt_ai._api import log_metrics
from sigopt_ai._api import log_model
from sigopt_ai._context import current_run
from sigopt_ai._decorator import RunSpec
from sigopt_ai._decorator import run
from sigopt_ai._exceptions import AssignmentFailure
from sigopt_ai._exceptions import BackendError
from sigopt_ai._exceptions import BackendRejected
from sigopt_ai._exceptions import ConfigError
from sigopt_ai._exceptions import Diverged
from sigopt_ai._exceptions import ExperimentStopped
from sigopt_ai._exceptions import InvalidAssignment
from sigopt_ai._exceptions import SigOptError
from sigopt_ai._exceptions import StoreError
from sigopt_ai._exceptions import Terminated
from sigopt_ai._exceptions import TransportError
from sigopt_ai._exceptions import UsageError
from sigopt_ai._exceptions import ValidationError
from sigopt_ai._exceptions import ValidationTypeError
from sigopt_ai._failures import FailureInfo
from sigopt_ai._failures import FailureKind
from sigopt_ai._failures import classify
from sigopt_ai._failures import register_failure_classifier
from sigopt_ai._failures import register_failure_type
from sigopt_ai._params import CurrentRunParams
from sigopt_ai._params import RunParams
from sigopt_ai._records import Checkpoint
from sigopt_ai._records import RunRecord
from sigopt_ai._records import RunState
from sigopt_ai._run import RunContext

__version__ = "0.1.0"

params: CurrentRunParams = CurrentRunParams()
"""The parameters of the current run: ``sigopt.params.setdefaults(lr=0.01)``, ``sigopt.params.lr``."""

__all__ = [
    "AssignmentFailure",
    "BackendError",
    "BackendRejected",
    "Checkpoint",
    "ConfigError",
    "CurrentRunParams",
    "Diverged",
    "ExperimentStopped",
    "FailureInfo",
    "FailureKind",
    "InvalidAssignment",
    "RunContext",
    "RunParams",
    "RunRecord",
    "RunSpec",
    "RunState",
    "SigOptError",
    "StoreError",
    "Terminated",
    "TransportError",
    "UsageError",
    "ValidationError",
    "ValidationTypeError",
    "classify",
    "configure",
    "create_run",
    "current_run",
    "flush",
    "get_run",
    "list_runs",
    "log_checkpoint",
    "log_dataset",
    "log_failure",
    "log_metadata",
    "log_metric",
    "log_metrics",
    "log_model",
    "params",
    "register_failure_classifier",
    "register_failure_type",
    "run",
]
