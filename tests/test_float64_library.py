"""A library user gets float64 results without their own JAX code changing.

Importing :mod:`simulator` leaves ``jax_enable_x64`` off; :func:`simulator.solve`
computes in float64 anyway (its entry point runs inside ``simulator.precision.float64``),
and its results are bit-for-bit those of a process that switched float64 on for
everything.  Each side runs in a fresh interpreter, since the tests themselves run
with float64 switched on (tests/conftest.py).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, sys
import jax
if sys.argv[1] == "global":
    jax.config.update("jax_enable_x64", True)
import numpy as np
import simulator
from simulator import Economy, ScalingLLM, TraditionalAI

report = {"x64_after_import": bool(jax.config.jax_enable_x64)}
economy = Economy(eta=1.0, A_L=1.0, A_H=1.5, L=1.0, H=0.6)
points = {
    "benchmark": (),
    "traditional": (TraditionalAI(A_bar=3.0, mu=2.0, F=1.0),),
    "llm": (ScalingLLM(A_bar=3.0, F=1.0, C=0.0, a=410.7, alpha=0.28, b=406.4, beta=0.34, N_bar=1e11, G=1e10,
                       I_lo=0.6, I_hi=0.95),),
}
for name, techs in points.items():
    eq = simulator.solve(economy, techs)
    leaves = [np.asarray(v) for v in jax.tree_util.tree_leaves(eq)]
    report[name] = [[str(v.dtype), list(v.shape), v.tobytes().hex()] for v in leaves]
    report[name + "_status"] = int(np.asarray(eq.status))
report["user_ones"] = str(jax.numpy.ones(2).dtype)
report["x64_after_solve"] = bool(jax.config.jax_enable_x64)
print(json.dumps(report))
"""


def _run(mode: str) -> dict:
    r = subprocess.run([sys.executable, "-c", SCRIPT, mode], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_solve_is_float64_and_bit_identical_without_the_global_switch():
    library, whole = _run("library"), _run("global")
    assert library["x64_after_import"] is False, "importing simulator switched jax_enable_x64 on"
    assert whole["x64_after_import"] is True
    for name in ("benchmark", "traditional", "llm"):
        assert library[name + "_status"] == whole[name + "_status"] == 0, name  # Status.OK
        floats = [dtype for dtype, _, _ in library[name] if dtype.startswith("float")]
        assert floats and set(floats) == {"float64"}, (name, library[name])
        assert library[name] == whole[name], f"{name}: results differ from a float64 process"
    # the user's own JAX code keeps its defaults
    assert library["user_ones"] == "float32" and library["x64_after_solve"] is False
    assert whole["user_ones"] == "float64"
