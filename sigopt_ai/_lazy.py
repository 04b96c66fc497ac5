"""Names a package hands on but imports on first use (PEP 562), for what needs heavy dependencies.

``import sigopt_ai`` stays light for a training script that only logs: the experiments (numpy, scipy,
PyYAML, rich) and the optimizer's strategies load when first used. Every such name is listed in the
package's ``__init__``: imported under ``TYPE_CHECKING`` for readers and type checkers, and in
the map given to :func:`lazy_names`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, names: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``names`` (name -> module) on first access.

    The value is then stored in ``namespace`` (the package's globals), so each import happens once.
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
