"""sigopt-python's XGBoost helpers under their old name: ``import sigopt_ai.xgboost``, then
``sigopt_ai.xgboost.run(...)`` and ``sigopt_ai.xgboost.experiment(...)``.

xgboost is imported on first use of a name here, not by ``import sigopt_ai`` nor by this import; a
missing xgboost raises :class:`~sigopt_ai.MissingDependency` naming ``pip install "sigopt-ai[xgboost]"``.
The code is :mod:`sigopt_ai.integrations._xgboost_compat`; for a callback to pass to ``xgboost.train``
yourself, see :class:`sigopt_ai.integrations.xgboost.SigOptCallback`.

Example:
    >>> import sigopt_ai.xgboost
    >>> ctx = sigopt_ai.xgboost.run({"objective": "binary:logistic"}, dtrain, evals=[(dtest, "test")])
    >>> ctx.run.id, ctx.model
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sigopt_ai import _lazy

if TYPE_CHECKING:
    from sigopt_ai.integrations._xgboost_compat import XGBRun, experiment, run

__all__ = ["XGBRun", "experiment", "run"]

if not TYPE_CHECKING:
    # Hidden from type checkers, which read a module __getattr__ as "any name exists" (see sigopt_ai/__init__).
    __getattr__ = _lazy.lazy_names(
        __name__, dict.fromkeys(__all__, "sigopt_ai.integrations._xgboost_compat"), globals()
    )


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
