"""sigopt-python's ``sigopt.examples``: the Franke function, a smooth 2-D test surface its README optimizes.

Example:
    >>> from sigopt_ai.examples import franke_function
    >>> round(franke_function(0.2, 0.2), 3)
    1.219
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["FRANKE_EXPERIMENT_DEFINITION", "franke_function"]


def franke_function(x1: float, x2: float) -> float:
    """Franke's function on the unit square (https://www.sfu.ca/~ssurjano/franke2d.html): two peaks
    and a dip, at most about 1.22 near (0.21, 0.17)."""
    x, y = 9 * x1, 9 * x2
    return (
        0.75 * math.exp(-((x - 2) ** 2) / 4 - (y - 2) ** 2 / 4)
        + 0.75 * math.exp(-((x + 1) ** 2) / 49 - (y + 1) / 10)
        + 0.5 * math.exp(-((x - 7) ** 2) / 4 - (y - 3) ** 2 / 4)
        - 0.2 * math.exp(-((x - 4) ** 2) - (y - 7) ** 2)
    )


FRANKE_EXPERIMENT_DEFINITION: dict[str, Any] = {
    "name": "Franke Optimization",
    "parameters": [
        {"name": "x", "bounds": {"min": 0, "max": 1}, "type": "double"},
        {"name": "y", "bounds": {"min": 0, "max": 1}, "type": "double"},
    ],
}
"""An experiment over the Franke function's square, as sigopt-python defines it, less its parameters'
``precision`` (a display hint this library does not keep). Give it a metric to create it:
``sigopt.create_experiment(metrics=["value"], **FRANKE_EXPERIMENT_DEFINITION)``."""
