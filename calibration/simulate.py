"""Occupation data simulated from the model, for tests and for checking a calibration's coverage.

Occupations are tasks drawn uniformly on [0, 1]; each carries the model's exposure e(i), its
benchmark log wage plus N(0, σ²) noise, and its benchmark employment as weight.  The weighted
least-squares slope over many occupations converges to the model's slope, so a calibration on such
data should recover the parameters that generated it.
"""
from __future__ import annotations

import numpy as np

from simulator.precision import float64


@float64
def simulate_units(economy, tech, n: int, sigma: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``n`` occupations: task, exposure, mean_log_wage (with noise), vacancies (= benchmark employment)."""
    from . import model

    b = model.Benchmark(economy, tech)
    i = rng.uniform(0.0, 1.0, n)
    return {
        "task": i,
        "exposure": np.asarray(model.exposure_at(b, i)),
        "mean_log_wage": np.asarray(model.log_wage_at(b, i)) + sigma * rng.standard_normal(n),
        "vacancies": np.asarray(model.employment_at(b, i)),
    }


def moments_document(units: dict[str, np.ndarray], *, source: str = "simulated from the task model") -> dict:
    """A ``llm-labor/moments`` v1 document (log wage moments only) built from simulated units."""
    from .data import _wls

    x, y, w = units["exposure"], units["mean_log_wage"], units["vacancies"]
    moments = {}
    for side, ww in (("unweighted", np.ones_like(x)), ("weighted", w)):
        b, se = _wls(x, y, ww)
        moments[side] = {"slope": float(b), "se": float(se), "n": int(len(x)), "weighted": side == "weighted", "bootstrap_draws": []}
    return {
        "format": "llm-labor/moments", "version": 1, "source": source, "unit": "task", "level": "model", "period": "benchmark",
        "exposure_measure": "model exposure e(i)", "moments": {"log_wage": moments},
        "units": [{"code": str(k), "exposure": float(x[k]), "mean_log_wage": float(y[k]), "vacancies": float(w[k])} for k in range(len(x))],
        "provenance": {"command": "calibration.simulate"},
    }
