"""``llm-labor --help`` imports no heavy library, and still lists every command.

Structural, not timed: each check runs in a fresh interpreter and reads ``sys.modules``.
The package ``simulator`` imports its JAX-backed names on first use; ``simulator.solve``
stays the function, even after the submodule of that name is imported.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import typer
from typer.testing import CliRunner

from llm_labor.cli import app, build_app

ROOT = Path(__file__).resolve().parents[1]
#: top-level packages that ``--help`` must not import (seconds of start-up between them)
HEAVY = ("jax", "jaxlib", "ml_dtypes", "numpy", "scipy", "pandas", "xarray", "matplotlib", "dask", "zarr", "duckdb",
         "pyarrow")

REPORT = f"""
import atexit, json, sys
HEAVY = {HEAVY!r}
atexit.register(lambda: print("\\nLOADED " + json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set(HEAVY)))))
"""


def _run(code: str) -> tuple[list[str], str]:
    """Run ``code`` in a new interpreter; the heavy packages it imported, and its stdout."""
    r = subprocess.run([sys.executable, "-c", REPORT + code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "COLUMNS": "200", "TERM": "dumb", "LLM_LABOR_NO_CACHE": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    head, _, loaded = r.stdout.rpartition("\nLOADED ")
    return json.loads(loaded), head


def _paths(command: click.Command, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group path under ``command``, e.g. ``("empirics", "scoring", "run")``."""
    out = []
    for name, sub in getattr(command, "commands", {}).items():
        out.append(prefix + (name,))
        out += _paths(sub, prefix + (name,))
    return out


ROOT_COMMAND = typer.main.get_command(app)
PATHS = _paths(ROOT_COMMAND)


def test_the_command_tree_is_complete():
    # so that the checks below cannot pass on an empty tree
    assert {("run",), ("validate",), ("solve",), ("calibrate",), ("simulate",), ("empirics", "score"),
            ("empirics", "report"), ("empirics", "scoring", "run"), ("postings", "process")} <= set(PATHS)


def test_importing_the_cli_imports_no_heavy_library():
    loaded, _ = _run("import llm_labor.cli, simulator, simulator.cli, simulator.market.cli, calibration.cli")
    assert loaded == [], f"importing the CLI imported {loaded}"


def test_help_lists_every_command_without_heavy_imports():
    loaded, out = _run("import sys\nsys.argv = ['llm-labor', '--help']\nfrom llm_labor.cli import main\n"
                       "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n")
    assert loaded == [], f"llm-labor --help imported {loaded}"
    listed = {name for name in ROOT_COMMAND.commands if f" {name} " in out}
    assert listed == set(ROOT_COMMAND.commands), f"--help leaves out {set(ROOT_COMMAND.commands) - listed}"


def test_help_of_every_command_without_heavy_imports():
    argvs = [list(p) + ["--help"] for p in PATHS]
    loaded, out = _run(
        "import sys\nfrom llm_labor.cli import main\n"
        f"for argv in {argvs!r}:\n"
        "    sys.argv = ['llm-labor', *argv]\n"
        "    print('HELP ' + ' '.join(argv[:-1]))\n"
        "    try:\n        main()\n    except SystemExit as e:\n        assert e.code in (0, None), (argv, e.code)\n")
    assert loaded == [], f"llm-labor COMMAND --help imported {loaded}"
    for path in PATHS:  # every help page was printed, with its usage line
        page = out.split("HELP " + " ".join(path) + "\n", 1)[1].split("\nHELP ", 1)[0]
        assert "Usage: llm-labor " + " ".join(path) in page, path


def test_settings_run_before_a_command_and_not_for_help(tmp_path):
    calls = []
    wrapped = build_app(before_command=lambda: calls.append(1))
    runner = CliRunner()
    assert runner.invoke(wrapped, ["validate", "--help"]).exit_code == 0
    assert runner.invoke(wrapped, ["--help"]).exit_code == 0
    assert calls == []
    result = runner.invoke(wrapped, ["validate", str(ROOT / "scenarios" / "llm_scaling.yaml")])
    assert result.exit_code == 0, result.output
    assert calls == [1]
    # the wrapped commands take exactly the parameters of the plain ones
    plain, setup = ROOT_COMMAND, typer.main.get_command(wrapped)
    for path in PATHS:
        a, b = plain, setup
        for name in path:
            a, b = a.commands[name], b.commands[name]
        assert [(p.name, p.opts, p.default) for p in a.params] == [(p.name, p.opts, p.default) for p in b.params], path
        assert a.help == b.help, path


def test_lazy_package_names():
    loaded, out = _run(
        "import sys, simulator\n"
        "assert 'jax' not in sys.modules\n"
        "from simulator import Economy, SolverOptions, solve, solve_batch, Equilibrium, RESIDUALS, Status\n"
        "import simulator.params as p\n"
        "module = sys.modules['simulator.solve']\n"
        "assert solve is module.solve and simulator.solve is module.solve\n"
        "assert Economy is p.Economy and SolverOptions is module.SolverOptions and solve_batch is module.solve_batch\n"
        "from simulator.solve import SolverOptions as S\n"
        "assert S is SolverOptions\n"
        "assert set(simulator.__all__) <= set(dir(simulator))\n"
        "for name in simulator.__all__:\n    getattr(simulator, name)\n"
        "try:\n    simulator.no_such_name\nexcept AttributeError:\n    print('ok')\n")
    assert "jax" in loaded and out.strip().endswith("ok")


def test_solve_is_the_function_when_the_submodule_is_imported_first():
    _, out = _run(
        "import importlib, sys\n"
        "module = importlib.import_module('simulator.solve')\n"
        "import simulator\n"
        "from simulator import solve\n"
        "assert solve is module.solve and simulator.solve is module.solve\n"
        "simulator.solve = len\nassert simulator.solve is len\n"
        "del simulator.solve\nassert simulator.solve is module.solve\n"
        "print('ok')\n")
    assert out.strip().endswith("ok")
