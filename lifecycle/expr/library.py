"""The CEL library's door: the only module that imports it.

The library's package ``__init__`` imports its command-line tool (~0.18 s); we load only its compiled
core when we can (~0.015 s) and register it under its usual module name, so a later plain
``import cel`` elsewhere still works. Failures of registered functions are logged by the library at
WARNING; they are reported in the gate decision instead, so they are kept off the user's terminal.
The module is loaded once per process under a lock (web servers and flow runs load rule packs from
several threads at once).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import sys
import threading
from pathlib import Path
from typing import Any

_CEL: Any = None  # published only once fully initialised
_LOCK = threading.Lock()


def _extension_paths() -> list[Path]:
    """Where the library's compiled core may sit, in the order the import system would look."""
    spec = importlib.util.find_spec("cel")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return [Path(loc) / f"cel{suffix}" for loc in locations for suffix in importlib.machinery.EXTENSION_SUFFIXES]


def _load_extension(path: Path) -> Any:
    """The compiled core loaded from ``path`` as ``cel.cel``, or None if it cannot be specified."""
    loader = importlib.machinery.ExtensionFileLoader("cel.cel", str(path))
    ext_spec = importlib.util.spec_from_file_location("cel.cel", str(path), loader=loader)
    if ext_spec is None:
        return None
    candidate = importlib.util.module_from_spec(ext_spec)
    sys.modules["cel.cel"] = candidate
    try:
        loader.exec_module(candidate)
    except BaseException:
        sys.modules.pop("cel.cel", None)
        raise
    return candidate


def _core() -> Any:
    """The compiled core without the package's ``__init__``, or None to import the package."""
    module = sys.modules.get("cel.cel")
    if module is not None or "cel" in sys.modules:
        return module
    try:
        for path in _extension_paths():
            if path.is_file():
                module = _load_extension(path)
                if module is not None:
                    return module
    except Exception:  # any surprise in the fast path: the package's own import below decides
        return sys.modules.get("cel.cel")
    return None


def cel_module() -> Any:
    """The CEL extension module (``compile``, ``Context``), loaded once, whatever the number of threads
    asking at the same moment: the first loads it under a lock, the others wait and get the same module
    (unlocked, a second thread saw the half-initialised module, whose ``compile`` did not exist yet, or
    initialised it a second time, which the library refuses with a panic)."""
    module = _CEL
    if module is not None:
        return module
    with _LOCK:
        return _CEL if _CEL is not None else _load()


def _load() -> Any:
    """Load and publish the module; called once, under :data:`_LOCK`."""
    global _CEL
    module = _core()
    if module is None:
        import cel as package  # lazy on purpose: importing the package costs ~0.18 s (see above)

        module = package
    log = logging.getLogger("cel")
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())
    log.propagate = False
    _CEL = module
    return module


__all__ = ["cel_module"]
