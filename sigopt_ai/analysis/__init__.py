"""Analysis of experiments and runs for the dashboard, reports and notebooks: pure functions from
store records to JSON-ready dicts (numbers that are not finite become None).

Nothing here imports the server or a web framework: the server's ``/v1/.../sigopt_ai/analysis``
routes, the report and ``_repr_html_`` all call these functions.

Example:
    >>> from sigopt_ai.analysis import history
    >>> history(definition, observations)["best"][-1]
    0.93
"""

from __future__ import annotations

from sigopt_ai.analysis._common import finite, sample_indices
from sigopt_ai.analysis._history import DEFAULT_POINTS, history

__all__ = ["DEFAULT_POINTS", "finite", "history", "sample_indices"]
