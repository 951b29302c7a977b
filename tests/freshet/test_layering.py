"""The machinery knows no pipeline: only freshet/compile.py imports steps or pipelines."""

from __future__ import annotations

import ast
from pathlib import Path

import freshet

PACKAGE = Path(freshet.__file__).parent
FORBIDDEN = ("freshet.components", "freshet.pipelines", "components", "pipelines")
ALLOWED = {PACKAGE / "compile.py"}


def machinery_modules() -> list[Path]:
    """Every module of freshet/ except the step and pipeline packages (symlinks) themselves."""
    skipped = (PACKAGE / "components", PACKAGE / "pipelines")
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if not path.is_relative_to(skipped[0]) and not path.is_relative_to(skipped[1])
    )


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def forbidden_imports(source: str, module: str) -> list[str]:
    """`module:line name` for each import of steps or pipelines, lazy ones included.

    Args:
        source: The module's text.
        module: Its dotted name (relative imports are resolved against it).
    """
    tree = ast.parse(source, filename=module)
    package = module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        for name in names:
            if _forbidden(name):
                found.append(f"{module}:{node.lineno} {name}")
                break
    return found


def module_name(path: Path) -> str:
    """`freshet.runners.local`; a package's `__init__` keeps its name, so `.` is the package."""
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def test_no_module_of_the_machinery_imports_steps_or_pipelines() -> None:
    modules = machinery_modules()
    assert PACKAGE / "runners" / "local.py" in modules and len(modules) > 50
    offenders = [
        hit
        for path in modules
        if path not in ALLOWED
        for hit in forbidden_imports(path.read_text(), module_name(path))
    ]
    assert offenders == []


def test_the_check_sees_lazy_relative_and_dynamic_imports() -> None:
    sample = (
        "import importlib\n"
        "def f():\n"
        "    from freshet.components.fetch import core\n"
        "    from ..pipelines import training\n"
        "    import freshet.pipelines.registry\n"
        "    importlib.import_module('freshet.components.gate.core')\n"
        "    from freshet.componentsx import y\n"
        "    from . import progress\n"
    )
    hits = forbidden_imports(sample, "freshet.runners.sample")
    assert [hit.split(" ")[1] for hit in hits] == [
        "freshet.components.fetch",
        "freshet.pipelines",
        "freshet.pipelines.registry",
        "freshet.components.gate.core",
    ]
    compile_py = PACKAGE / "compile.py"
    assert forbidden_imports(compile_py.read_text(), "freshet.compile")  # the one importer
