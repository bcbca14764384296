"""The client functions: one module per library (`lib_<library>.py`), registered in `base.REGISTRY`.

Adding a scenario is adding a function per library here (and the scenario's row in
`benchmarks/scenarios.py`); nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import REGISTRY, Bench


def load_all() -> dict[tuple[str, str], Bench]:
    """Import every `lib_*` module (cheap: the libraries themselves load inside the functions)."""
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("lib_"):
            importlib.import_module(f"{__name__}.{module.name}")
    return REGISTRY


def load(library: str) -> dict[tuple[str, str], Bench]:
    """Import one library's module only, as the measuring process does."""
    importlib.import_module(f"{__name__}.lib_{library}")
    return REGISTRY
