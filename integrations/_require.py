"""Import an optional framework, or say which extra installs it."""

from __future__ import annotations

import importlib
from types import ModuleType

from sigopt_ai._exceptions import MissingDependency


def require(module: str, extra: str, *, minimum: str | None = None) -> ModuleType:
    """Import ``module``, which the extra ``extra`` of sigopt-ai installs.

    Args:
        module: The module to import, such as ``"xgboost"`` or ``"lightning.pytorch"``.
        extra: The name of sigopt-ai's extra that installs it.
        minimum: The lowest version supported, named in the message (not checked here).

    Raises:
        MissingDependency: The module cannot be imported; the message names the extra to install.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.partition(".")[0]
        need = f"{top}>={minimum}" if minimum else top
        raise MissingDependency(
            f"sigopt_ai.integrations.{extra} needs {need}, which is not installed ({exc}). "
            f'Install it with: pip install "sigopt-ai[{extra}]"'
        ) from exc
