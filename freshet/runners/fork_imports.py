"""What the fork server imports before forking a request: what the request will import.

For a kfp task, the imports its source names at module level and in the task's function,
from packages known to be import-safe (`IMPORTABLE`). freshet imports its heavy libraries
inside functions (`freshet --help` must not import torch), so each freshet component names
the libraries its step uses in its own function (`import sklearn.metrics  # noqa: F401`):
the server then imports them once per run, and a step that does not name them (a gate that
has nothing to re-score) does not pay for them. For a preflight call, the same for the
preflight's module and function. A project's own modules are imported by its tasks, in the
child.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

# Packages the server may import for a task (those a task's source names, and what they import):
# import-safe libraries and freshet's own modules (none reads the environment or starts work
# at import).
IMPORTABLE = (
    "freshet",
    "kfp",
    "numpy",
    "onnx",
    "onnxruntime",
    "pandas",
    "pyarrow",
    "sklearn",
    "skl2onnx",
    "torch",
)
# Imported when the server starts: what every task runs.
ALWAYS = ("kfp.dsl.executor_main",)


def _names(tree: ast.AST) -> Iterable[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


def _allowed(names: Iterable[str], importable: Sequence[str]) -> list[str]:
    allowed = set(importable)
    return [n for n in dict.fromkeys(names) if n.split(".")[0] in allowed]


def imports_of(source: str, importable: Sequence[str], function: str | None = None) -> list[str]:
    """The modules a task's source imports whose package is importable.

    With `function`, only the module level and that function count: kfp puts the whole
    component file in every task's source, and a step must not import its neighbours' needs.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    roots: list[ast.AST] = [tree]
    if function is not None:
        chosen = [
            node
            for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom)
            or (isinstance(node, ast.FunctionDef) and node.name == function)
        ]
        if any(isinstance(node, ast.FunctionDef) for node in chosen):
            roots = list(chosen)
    return _allowed((name for root in roots for name in _names(root)), importable)


def preflight_imports(reference: str, importable: Sequence[str]) -> list[str]:
    """What a preflight (`package.module:function`) imports, when its package is importable."""
    module, _, function = reference.partition(":")
    if module.split(".")[0] not in importable:
        return []
    try:
        spec = importlib.util.find_spec(module)
        source = Path(spec.origin).read_text() if spec and spec.origin else ""
    except (ImportError, OSError, ValueError):
        return []
    return [module, *imports_of(source, importable, function or None)]


def preload(modules: Sequence[str]) -> None:
    """Imports `modules` in the server (import only), then freezes them for the children.

    A module that fails to import is left to the child, which reports it as a step would.
    """
    missing = [name for name in modules if name not in sys.modules]
    if not missing:
        return
    # Arrow's buffers from glibc malloc rather than from the jemalloc shared across forks.
    ours = "ARROW_DEFAULT_MEMORY_POOL" not in os.environ
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    for name in missing:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    if ours:
        os.environ.pop("ARROW_DEFAULT_MEMORY_POOL", None)
    gc.collect()
    gc.freeze()  # what the server imported stays shared with its children
