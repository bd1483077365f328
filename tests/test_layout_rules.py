"""The code layout's rules, read from the source with ``ast`` (imports inside functions too).

Every import arrow points down: core <- xlsx <- tracker <- report, udfs, cli, demo.

- ``xlkpi/core/`` is pure: no openpyxl, xlwings, click or python-calamine, nothing of xlkpi
  outside core;
- ``xlkpi/xlsx/`` knows xlsx, not trackers: nothing from tracker or the top;
- ``xlkpi/tracker/`` imports nothing from the top (report, udfs, cli, demo);
- no module reaches for another xlkpi module's private names (``_name``): a name that is shared
  is public;
- each file stays small enough to read.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import xlkpi

PACKAGE = Path(xlkpi.__file__).resolve().parent
ROOT = PACKAGE.parent

# The layers, bottom up; a module may import from its own layer and the ones below it.
LAYERS = {"core": 0, "xlsx": 1, "tracker": 2}
TOP = 3  # report, udfs, cli, demo: every other module of xlkpi
LAYER_NAMES = ["xlkpi.core", "xlkpi.xlsx", "xlkpi.tracker", "xlkpi.report, udfs, cli, demo"]

# What makes a module impure: Excel files, Excel itself, the command line.
NOT_IN_CORE = {"openpyxl", "xlwings", "click", "python_calamine"}

MAX_LINES = 600


@dataclass(frozen=True)
class Import:
    line: int
    module: str  # the module imported from, absolute: "xlkpi.core.engine", "openpyxl.styles"
    names: tuple[str, ...]  # the names taken from it ("from m import a, b"); () for "import m"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    """Whether ``name`` ("xlkpi.core.engine") is a module or package of xlkpi."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def layer(name: str) -> int:
    """The layer of an xlkpi module; the package itself (``xlkpi.__version__``) is below all."""
    parts = name.split(".")
    if len(parts) == 1:
        return -1
    return LAYERS.get(parts[1], TOP)


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def imports(path: Path) -> list[tuple[Import, ast.Import | ast.ImportFrom]]:
    """Every import in the file, wherever it is (inside functions too), made absolute."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    found = []
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            found += [(Import(node.lineno, alias.name, ()), node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: "from ..tracker import model" in xlkpi.core
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([module] if module else []))
            names = tuple(alias.name for alias in node.names)
            found.append((Import(node.lineno, module, names), node))
    return found


def targets(imported: Import) -> list[str]:
    """The xlkpi modules an import reaches: ``from xlkpi.tracker import build`` reaches
    xlkpi.tracker.build (a module), ``from xlkpi.tracker.model import SETTINGS`` the model."""
    if not (imported.module == "xlkpi" or imported.module.startswith("xlkpi.")):
        return []
    submodules = [f"{imported.module}.{name}" for name in imported.names
                  if is_module(f"{imported.module}.{name}")]
    if submodules and len(submodules) == len(imported.names):
        return submodules
    return [imported.module, *submodules]


def where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT).as_posix()}:{line}"


def arrows_up(path: Path) -> list[str]:
    """The imports of ``path`` that point to a layer above its own."""
    own = module_name(path)
    violations = []
    for imported, _ in imports(path):
        for target in targets(imported):
            if layer(target) > layer(own):
                violations.append(f"{where(path, imported.line)} ({LAYER_NAMES[layer(own)]}) "
                                  f"imports {target} ({LAYER_NAMES[layer(target)]})")
    return violations


def in_layer(name: str) -> list[Path]:
    return [path for path in modules() if module_name(path).startswith(f"xlkpi.{name}")]


def report(violations: list[str]) -> str:
    return "\n" + "\n".join(violations)


def test_the_layers_are_all_found():
    for name in LAYERS:
        assert in_layer(name), f"xlkpi/{name}/ has no modules: update LAYERS"


def test_core_imports_no_file_excel_or_command_line_library():
    violations = []
    for path in in_layer("core"):
        for imported, _ in imports(path):
            top = imported.module.split(".")[0]
            if top in NOT_IN_CORE:
                violations.append(f"{where(path, imported.line)} imports {imported.module}")
    assert not violations, report(violations)


def test_core_imports_nothing_of_xlkpi_outside_core():
    violations = [violation for path in in_layer("core") for violation in arrows_up(path)]
    assert not violations, report(violations)


def test_xlsx_imports_nothing_from_the_tracker_or_the_top():
    violations = [violation for path in in_layer("xlsx") for violation in arrows_up(path)]
    assert not violations, report(violations)


def test_tracker_imports_nothing_from_report_udfs_cli_or_demo():
    violations = [violation for path in in_layer("tracker") for violation in arrows_up(path)]
    assert not violations, report(violations)


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_names_used(path: Path) -> list[str]:
    """``from xlkpi.x import _name``, ``from xlkpi import _module`` and ``x._name`` where ``x``
    is another xlkpi module imported under that name."""
    own = module_name(path)
    violations = []
    aliases = {}  # local name -> the xlkpi module it stands for
    for imported, node in imports(path):
        if not targets(imported):
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
            continue
        for alias in node.names:
            target = f"{imported.module}.{alias.name}"
            if is_module(target):
                aliases[alias.asname or alias.name] = target
            if imported.module != own and private(alias.name):
                violations.append(f"{where(path, node.lineno)} imports {alias.name} "
                                  f"from {imported.module}")
    for node in ast.walk(parse(path)):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and aliases[node.value.id] != own
                and private(node.attr)):
            violations.append(f"{where(path, node.lineno)} uses "
                              f"{aliases[node.value.id]}.{node.attr}")
    return sorted(set(violations))


def test_no_module_uses_another_modules_private_names():
    violations = [violation for path in modules() for violation in private_names_used(path)]
    assert not violations, report(violations)


def test_every_module_is_at_most_600_lines():
    sizes = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in modules()}
    offenders = [f"{where(path, lines)} lines" for path, lines in sizes.items()
                 if lines > MAX_LINES]
    print(report(offenders))
    assert not offenders, report(offenders)


# --- the checks themselves -----------------------------------------------------------------------

def test_the_checks_see_imports_inside_functions_relative_ones_and_private_names(tmp_path,
                                                                                   monkeypatch):
    """A made-up xlkpi with one of each violation: every one is found, nothing else."""
    fake = tmp_path / "xlkpi"
    for folder in ("core", "xlsx", "tracker"):
        (fake / folder).mkdir(parents=True)
        (fake / folder / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("__version__ = '0'\n")
    (fake / "report.py").write_text("")
    (fake / "core" / "engine.py").write_text("def _ratio(): ...\n")
    (fake / "core" / "impure.py").write_text(
        "from xlkpi import __version__\nfrom . import engine\n"
        "def read():\n    import openpyxl\n    from ..tracker import model\n"
        "    return engine._ratio()\n")
    (fake / "xlsx" / "rows.py").write_text("from xlkpi.tracker.model import SETTINGS\n"
                                           "from xlkpi.core.engine import _ratio\n")
    (fake / "tracker" / "model.py").write_text("from xlkpi.xlsx import rows\nimport xlkpi.report\n")
    this = sys.modules[__name__]
    monkeypatch.setattr(this, "PACKAGE", fake)
    monkeypatch.setattr(this, "ROOT", tmp_path)

    impure = fake / "core" / "impure.py"
    assert sorted(imported.module for imported, _ in imports(impure)) == [
        "openpyxl", "xlkpi", "xlkpi.core", "xlkpi.tracker"]
    assert arrows_up(impure) == ["xlkpi/core/impure.py:5 (xlkpi.core) imports "
                                 "xlkpi.tracker.model (xlkpi.tracker)"]
    assert private_names_used(impure) == ["xlkpi/core/impure.py:6 uses xlkpi.core.engine._ratio"]
    rows = fake / "xlsx" / "rows.py"
    assert arrows_up(rows) == ["xlkpi/xlsx/rows.py:1 (xlkpi.xlsx) imports xlkpi.tracker.model "
                               "(xlkpi.tracker)"]
    assert private_names_used(rows) == ["xlkpi/xlsx/rows.py:2 imports _ratio from "
                                        "xlkpi.core.engine"]
    assert arrows_up(fake / "tracker" / "model.py") == [
        "xlkpi/tracker/model.py:2 (xlkpi.tracker) imports xlkpi.report "
        "(xlkpi.report, udfs, cli, demo)"]
    assert private_names_used(fake / "tracker" / "model.py") == []
