"""`package.module:function` references: how settings and specs name user code."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import Any

from freshet.errors import BadInput

REFERENCE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def described(exc: BaseException) -> str:
    """An exception as `Type: first line of its message` (no trailing period)."""
    first = (str(exc).strip().splitlines() or [""])[0].rstrip(".")
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def import_project() -> None:
    """Makes the project (the working directory, where freshet.toml lies) importable."""
    cwd = str(Path.cwd())
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    importlib.invalidate_caches()  # the project's files may be newer than the import caches


def check_reference(reference: str, what: str) -> tuple[str, str]:
    """Splits a `package.module:function` reference.

    Args:
        reference: The reference to check.
        what: How the error names it, e.g. "Preflight of task 'fetch'".

    Returns:
        (module, attribute path).

    Raises:
        BadInput: The reference is not of the form `package.module:function`.
    """
    if not isinstance(reference, str) or not REFERENCE.match(reference):
        raise BadInput(f"{what} '{reference}' is not of the form 'package.module:function'.")
    module, _, attribute = reference.partition(":")
    return module, attribute


def import_reference(reference: str, what: str) -> tuple[Any, str, str]:
    """Imports the module a `package.module:function` reference names.

    The working directory comes first on `sys.path` when it is not on it, so that a project's
    own modules import without being installed.

    Returns:
        (the module, its name, the attribute path after the colon).

    Raises:
        BadInput: Malformed reference, or a module that does not import (its first error line).
    """
    module_name, attribute = check_reference(reference, what)
    import_project()
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure of user code is a problem of the input
        raise BadInput(f"{what} '{reference}' cannot be imported: {described(exc)}.") from None
    return module, module_name, attribute


_MISSING = object()


def find_attribute(target: Any, attribute: str) -> Any:
    """`target.a.b` for the dotted `attribute`, or `MISSING` when a part does not exist."""
    for part in attribute.split("."):
        target = getattr(target, part, _MISSING)
        if target is _MISSING:
            break
    return target


MISSING = _MISSING


def load_reference(reference: str, what: str) -> Any:
    """Imports the object a `package.module:function` reference names.

    Raises:
        BadInput: Malformed reference, a module that does not import (its first error line),
            or a missing attribute.
    """
    module, module_name, attribute = import_reference(reference, what)
    target = find_attribute(module, attribute)
    if target is MISSING:
        raise BadInput(f"{what} '{reference}': module '{module_name}' has no '{attribute}'.")
    return target
