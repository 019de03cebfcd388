"""Imports go only downward through the layers of the project.

    llm_labor.common  <  simulator  <  empirics, calibration  <  llm_labor.cli

``llm_labor.common`` imports no project package; ``simulator`` imports only the
common layer; ``empirics`` and ``calibration`` import the layers below and not each
other (calibration reads the moments that empirics writes as files); only the
application ``llm_labor.cli`` imports everything.  No product package imports
``benchmarks`` or ``tests``.  Every import counts: at module level and inside
functions, absolute and relative, and ``importlib.import_module("...")`` with a
literal name.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("llm_labor", "simulator", "empirics", "calibration")

#: layer -> the layers it may import
ALLOWED = {
    "common": {"common"},
    "simulator": {"common", "simulator"},
    "empirics": {"common", "simulator", "empirics"},
    "calibration": {"common", "simulator", "calibration"},
    "app": {"common", "simulator", "empirics", "calibration", "app"},
}
PROJECT = {"llm_labor", "simulator", "empirics", "calibration", "benchmarks", "tests"}


def layer(module: str) -> str | None:
    """The layer of a dotted module name; None outside the project."""
    parts = module.split(".")
    if parts[0] not in PROJECT:
        return None
    if parts[0] == "llm_labor":
        return "common" if len(parts) == 1 or parts[1] == "common" else "app"
    return parts[0]  # simulator, empirics, calibration; benchmarks and tests are no layer a package may import


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in ``tree``, the source of ``module``."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:  # ``from pkg import submodule`` imports the submodule
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if is_module(sub) else base))
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__")))):
            found.append((node.lineno, node.args[0].value))
    return found


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """Imports in ``source`` (the text of ``module``) that go up or sideways across layers."""
    own = layer(module)
    out = []
    for line, target in imported(ast.parse(source), module, is_package):
        theirs = layer(target)
        if theirs is not None and theirs not in ALLOWED[own]:
            out.append(f"{module}:{line}: imports {target} ({own} may import {sorted(ALLOWED[own])})")
    return out


def project_modules() -> list[tuple[str, Path, bool]]:
    mods = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            is_package = rel.name == "__init__"
            name = ".".join(rel.parts[:-1] if is_package else rel.parts)
            mods.append((name, path, is_package))
    return mods


def test_every_import_goes_downward():
    mods = project_modules()
    names = {m for m, _, _ in mods}
    # the walk reaches every layer, so that an empty walk cannot pass
    assert {"llm_labor.cli", "llm_labor.common.errors", "simulator.cli", "empirics.postings.cli", "calibration.cli"} <= names
    bad = [v for name, path, is_package in mods for v in violations(path.read_text(encoding="utf-8"), name, is_package)]
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_no_package_imports_the_application_or_the_benchmarks():
    targets = {"llm_labor.cli", "benchmarks", "tests"}
    bad = []
    for name, path, is_package in project_modules():
        if name == "llm_labor.cli":
            continue
        for line, target in imported(ast.parse(path.read_text(encoding="utf-8")), name, is_package):
            if any(target == t or target.startswith(t + ".") for t in targets):
                bad.append(f"{name}:{line}: imports {target}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(
    "module, source, is_package",
    [
        ("simulator.fake", "from empirics.aggregation import data\n", False),  # engine importing empirics
        ("simulator.market.fake", "def f():\n    import calibration.run\n    return calibration.run\n", False),  # inside a function
        ("empirics.postings.fake", "from calibration.config import load_config\n", False),  # sideways
        ("calibration.fake", "import empirics.postings.relate as r\n", False),  # sideways, the other way
        ("llm_labor.common.fake", "from simulator.errors import ParameterError\n", False),  # the foundation importing a package
        ("llm_labor.common.fake", "from .. import cli\n", False),  # relative, up to the application
        ("simulator", "from llm_labor.cli import app\n", True),  # a package __init__ importing the application
        ("empirics.scoring.fake", "import importlib\nimportlib.import_module('llm_labor.cli')\n", False),
        ("simulator.fake", "from benchmarks import baselines\n", False),
    ],
)
def test_the_checker_flags_a_bad_import(module, source, is_package):
    assert violations(source, module, is_package), source


def test_the_checker_passes_downward_imports():
    assert not violations("from ..errors import ScenarioError\nfrom llm_labor.common.yamlmap import strict_load\n", "simulator.market.fake")
    assert not violations("from simulator.cli import register\nfrom calibration.cli import register\n", "llm_labor.cli")
    assert not violations("from llm_labor import __version__\nimport numpy, jax\n", "simulator.fake")
    assert not violations("from empirics.aggregation.errors import AggregationError\n", "empirics.postings.fake")


def test_every_error_class_derives_from_the_one_root():
    import importlib

    from llm_labor.common.errors import LLMLaborError

    classes = []
    for name, path, _ in project_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        classes += [(name, node.name) for node in tree.body if isinstance(node, ast.ClassDef) and node.name.endswith("Error")]
    assert ("empirics.scoring.errors", "ScoringError") in classes and len(classes) > 20
    bad = [f"{m}.{c}" for m, c in classes if not issubclass(getattr(importlib.import_module(m), c), LLMLaborError)]
    assert not bad, "errors outside the root LLMLaborError: " + ", ".join(bad)
