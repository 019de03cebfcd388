"""One calibration from a config: data moments, estimate, delta-method errors, bootstrap, profiles.

:func:`calibrate` returns a JSON-ready dict; :func:`write_outputs` writes ``results.json``,
``report.md`` and the plots.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from simulator.precision import float64

from .config import CalibrationConfig, load_config


def provenance(cfg: CalibrationConfig, doc: dict | None) -> dict:
    """The run's record (:func:`llm_labor.common.provenance.record`) with the config, scenario and moments file."""
    import jax  # noqa: F401  (loaded, so that its version is recorded)

    from llm_labor.common.provenance import record, sha256

    return record(
        config_path=cfg.path,
        config_text=cfg.text,
        scenario_path=str(cfg.scenario_path),
        scenario_text=cfg.scenario.text,
        moments_file=None if cfg.moments_path is None else {"path": str(cfg.moments_path), "sha256": sha256(cfg.moments_path),
                                                              "source": (doc or {}).get("source"),
                                                              "provenance": (doc or {}).get("provenance")},
        seed=cfg.seed,
        rng=f"numpy.random.default_rng({cfg.seed}) (bootstrap resampling of units and draws of config moments)",
    )


@float64
def calibrate(cfg: CalibrationConfig | str | Path, *, draws: int | None = None, compare: bool = True) -> dict:
    """Run the calibration described by ``cfg``; ``draws`` overrides the bootstrap size.

    ``compare=False`` skips the config's ``compare_with`` calibration.
    """
    import jax.numpy as jnp

    from .data import data_moments, load_moments_file
    from .estimate import Estimator, ModelSpec, diagnose_profile, parameter_names

    if not isinstance(cfg, CalibrationConfig):
        cfg = load_config(cfg)
    B = cfg.draws if draws is None else draws
    rng = np.random.default_rng(cfg.seed)
    doc = load_moments_file(cfg.moments_path) if cfg.moments_path is not None else None
    dm = data_moments(list(cfg.moments), doc, draws=max(B, 2), rng=rng, source=str(cfg.moments_path))
    econ, techs = cfg.scenario.economy, cfg.technologies
    spec = ModelSpec(econ, techs, cfg.names, cfg.moments)
    est = Estimator(spec, dm.values, dm.covariance, cfg.lower, cfg.upper, weighting=cfg.weighting)

    p = len(cfg.names)
    grid_starts = None
    if p == 1:
        grid_starts = np.linspace(cfg.lower[0], cfg.upper[0], 41)[1:-1, None]
    result = est.estimate(np.asarray(cfg.start, float), grid_starts=grid_starts)
    reach = attainable_ranges(cfg, spec)
    status, failure = _status(cfg, result, dm, reach)
    if status != "ok":
        B = 0  # no bootstrap of an estimate that does not exist

    t0 = time.perf_counter()
    profiles = est.profile(result.phi, cfg.profile_points, log_scale=cfg.log_scale)
    profile_s = time.perf_counter() - t0
    diags = [diagnose_profile(g, q, cfg.flat_threshold) for g, q in profiles]

    boot = None
    if B > 0:
        t0 = time.perf_counter()
        phi_b, q_b, good, lo, hi = est.bootstrap(result.phi, dm.draws[:B], cfg.ci_level)
        boot = {"draws": B, "failed": int((~good).sum()), "ci_level": cfg.ci_level, "ci_low": lo.tolist(), "ci_high": hi.tolist(),
                "sd": np.nanstd(phi_b[good], axis=0, ddof=1).tolist() if good.sum() > 1 else [None] * p,
                "estimates": phi_b.tolist(), "seconds": time.perf_counter() - t0}

    from scipy.special import ndtri  # the normal quantile (scipy.stats.norm.ppf), without importing scipy.stats

    z = ndtri(0.5 + cfg.ci_level / 2)
    params = []
    ok = status == "ok"
    for k, name in enumerate(cfg.names):
        params.append({
            "name": name, "estimate": float(result.phi[k]) if ok else None, "closest": float(result.phi[k]),
            "se_delta": float(result.se[k]) if ok else None,
            "ci_delta": [float(result.phi[k] - z * result.se[k]), float(result.phi[k] + z * result.se[k])] if ok else None,
            "ci_bootstrap": None if boot is None else [boot["ci_low"][k], boot["ci_high"][k]],
            "se_bootstrap": None if boot is None else boot["sd"][k],
            "lower": cfg.lower[k], "upper": cfg.upper[k], "start": cfg.start[k], "at_bound": result.at_bound[k],
            "identification": diags[k],
        })
    fit = []
    for j, m in enumerate(cfg.moments):
        resid = result.model_moments[j] - dm.values[j]
        fit.append({"moment": m.label, "kind": m.kind, "data": float(dm.values[j]), "se": float(dm.se[j]), "model": float(result.model_moments[j]),
                    "difference": float(resid), "t": float(resid / dm.se[j]), "source": dm.notes[j]})
    warnings = [w for d in diags for w in d["warnings"]]
    if not result.converged:
        warnings.append(f"the optimiser did not meet its tolerance (|grad Q| = {result.grad_norm:.3g})")
    if boot is not None:
        for k, name in enumerate(cfg.names):
            lo_k, hi_k = boot["ci_low"][k], boot["ci_high"][k]
            span = cfg.upper[k] - cfg.lower[k]
            if np.isfinite(lo_k) and (lo_k - cfg.lower[k] < 1e-6 * span or cfg.upper[k] - hi_k < 1e-6 * span):
                warnings.append(f"the bootstrap CI of {name} reaches a bound of its box: the data bound {name} on one side only within it")
    for k, b in enumerate(result.at_bound):
        if b and ok:
            warnings.append(f"{cfg.names[k]} is at a bound of its box; widen the bounds or read the estimate as a corner")
    untargeted = _untargeted(cfg, econ, techs, result.phi, doc, rng)
    sensitivity = _sensitivity(cfg, est, spec, result.phi, dm) if cfg.sensitivity else None
    by_source = _by_source(cfg, est, result.phi, doc)
    comparison = None
    if compare and cfg.compare_path is not None:
        other = calibrate(cfg.compare_path, draws=0, compare=False)
        comparison = {"config": str(cfg.compare_path), "name": other["name"], "data_label": other["data_label"],
                      "parameters": [{k: p[k] for k in ("name", "estimate", "se_delta", "ci_delta", "at_bound")} for p in other["parameters"]],
                      "moments": other["moments"], "fixed_parameters": other["fixed_parameters"], "sensitivity": other.get("sensitivity"),
                      "note": "estimated with the same code in the same run; its bootstrap is skipped here (delta-method intervals)"}
    k, pn = len(cfg.moments), len(cfg.names)
    fixed = {name: spec.value(name) for name in parameter_names(techs) if name not in cfg.names}
    return {
        "status": status, "failure": failure,
        "attainable": [{"moment": m.label, "low": float(reach[j, 0]), "high": float(reach[j, 1])} for j, m in enumerate(cfg.moments)],
        "not_identified": _not_identified(cfg, fixed, sensitivity),
        "untargeted": untargeted, "sensitivity": sensitivity, "by_source": by_source, "comparison": comparison,
        "name": cfg.name, "description": cfg.description, "data_label": cfg.data_label,
        "free_parameters": list(cfg.names), "weighting": cfg.weighting,
        "fixed_parameters": fixed,
        "parameters": params, "moments": fit, "objective": result.Q, "grad_norm": result.grad_norm, "converged": result.converged,
        "degrees_of_freedom": k - pn, "identification": "exact" if k == pn else ("over" if k > pn else "under"),
        "data_covariance": dm.covariance.tolist(), "weight_matrix": est.W.tolist(), "jacobian": result.jacobian.tolist(),
        "parameter_covariance": result.covariance.tolist(),
        "n_units": dm.n_units,
        "profiles": [{"parameter": cfg.names[k], "grid": g.tolist(), "Q": [None if not np.isfinite(v) else float(v) for v in q]} for k, (g, q) in enumerate(profiles)],
        "bootstrap": boot,
        "timings": {"estimate_seconds": result.seconds, "compile_seconds": result.compile_seconds, "profile_seconds": profile_s,
                    "bootstrap_seconds": None if boot is None else boot["seconds"]},
        "warnings": warnings,
        "provenance": provenance(cfg, doc),
        "_curves": _model_curves(spec, result.phi, jnp),
    }


#: statuses of a calibration; anything but "ok" is a failed calibration (the CLI exits 3)
STATUSES = {
    "ok": "the targets are reached (exactly identified) or fitted (over-identified)",
    "target_unreachable": "a moment's data value lies outside the values the model attains anywhere in the parameter box",
    "targets_not_jointly_reached": "each target is attainable alone, but no parameter value reaches them together",
    "not_converged": "the optimiser did not meet its tolerance",
}


def attainable_ranges(cfg: CalibrationConfig, spec, *, points: int = 4096) -> np.ndarray:
    """(k, 2) least and greatest value of each moment over the box of the free parameters.

    One parameter: 2,001 grid points; two: a 64 x 64 grid; more: ``points`` uniform draws
    (seeded), log-uniform where the config says ``log_scale``. NaN moments (no LLM adoption)
    are left out.
    """
    import jax
    import jax.numpy as jnp

    p = len(cfg.names)
    lo, hi = np.asarray(cfg.lower), np.asarray(cfg.upper)
    logs = np.asarray(cfg.log_scale, bool)

    def axis(k, n):
        return np.geomspace(lo[k], hi[k], n) if logs[k] else np.linspace(lo[k], hi[k], n)

    if p == 1:
        phis = axis(0, 2001)[:, None]
    elif p == 2:
        a, b = np.meshgrid(axis(0, 64), axis(1, 64), indexing="ij")
        phis = np.column_stack([a.ravel(), b.ravel()])
    else:
        u = np.random.default_rng(0).random((points, p))
        phis = np.where(logs, np.exp(np.log(np.where(logs, lo, 1.0)) + u * np.log(np.where(logs, hi / np.where(logs, lo, 1.0), 1.0))),
                        lo + u * (hi - lo))
    m = np.asarray(jax.jit(jax.vmap(spec.moment_fn))(jnp.asarray(phis, dtype=jnp.float64)))
    with np.errstate(invalid="ignore"):
        return np.column_stack([np.nanmin(np.where(np.isfinite(m), m, np.nan), axis=0), np.nanmax(np.where(np.isfinite(m), m, np.nan), axis=0)])


def _status(cfg: CalibrationConfig, result, dm, reach: np.ndarray) -> tuple[str, dict | None]:
    """``(status, failure)``: why a calibration failed, with the attainable range and the gap in se."""
    for j, m in enumerate(cfg.moments):
        low, high = reach[j]
        d, se = float(dm.values[j]), float(dm.se[j])
        tol = 1e-9 * max(1.0, abs(d))
        if np.isfinite(low) and (d < low - tol or d > high + tol):
            gap = (low - d) / se if d < low else (d - high) / se
            return "target_unreachable", {
                "moment": m.label, "data": d, "se": se, "attainable": [float(low), float(high)], "se_outside": float(gap),
                "message": (f"the data value {d:.4g} of '{m.label}' lies {gap:.1f} se outside what the model attains over the parameter box "
                            f"[{low:.4g}, {high:.4g}]; no estimate exists. Widening the bounds of the free parameters cannot help unless the "
                            "range grows; free or move another parameter (see the sensitivity table), or question the moment")}
    if len(cfg.moments) <= len(cfg.names):
        t = (np.asarray(result.model_moments) - dm.values) / dm.se
        worst = int(np.nanargmax(np.abs(t))) if np.isfinite(t).any() else 0
        if not np.all(np.isfinite(t)) or np.max(np.abs(t)) > 1e-3:
            return "targets_not_jointly_reached", {
                "moment": cfg.moments[worst].label, "data": float(dm.values[worst]), "se": float(dm.se[worst]),
                "model": float(result.model_moments[worst]), "se_outside": float(abs(t[worst])) if np.isfinite(t[worst]) else None,
                "message": (f"each target is attainable alone, but at the closest point '{cfg.moments[worst].label}' is missed by "
                            f"{abs(t[worst]):.1f} se (model {result.model_moments[worst]:.4g}, data {dm.values[worst]:.4g}); "
                            "the model cannot reproduce these moments together with the fixed parameters as they are")}
    if not result.converged:
        return "not_converged", {"message": f"the optimiser did not meet its tolerance (|grad Q| = {result.grad_norm:.3g})"}
    return "ok", None


def _not_identified(cfg: CalibrationConfig, fixed: dict, sensitivity: dict | None) -> dict:
    """What the moments leave open: the fixed parameters, and how far moving them moves each estimate."""
    spread = {}
    if sensitivity:
        for name in cfg.names:
            vals = [r["estimates"][name] for r in sensitivity["rows"] if r["max_abs_t"] is not None and r["max_abs_t"] < 0.01]
            if vals:
                spread[name] = [min(vals), max(vals)]
    return {"fixed_parameters": list(fixed), "moved_in_sensitivity": [n for n, _ in cfg.sensitivity], "estimate_range_over_sensitivity": spread,
            "statement": (f"{len(cfg.moments)} moment(s) identify at most {len(cfg.moments)} parameter(s); "
                          f"{', '.join(fixed)} are held at the scenario's values and their uncertainty is not in the standard errors")}


def _untargeted(cfg: CalibrationConfig, econ, techs, phi, doc, rng) -> list[dict]:
    """Untargeted moments at the estimate: model value, data value and se, and the gap in se."""
    import jax.numpy as jnp

    from .data import data_moments
    from .estimate import ModelSpec

    if not cfg.untargeted:
        return []
    dm = data_moments(list(cfg.untargeted), doc, draws=2, rng=rng, source=str(cfg.moments_path))
    model = np.asarray(ModelSpec(econ, techs, cfg.names, cfg.untargeted).moment_fn(jnp.asarray(phi)))
    return [{"moment": m.label, "kind": m.kind, "data": float(dm.values[j]), "se": float(dm.se[j]), "model": float(model[j]),
             "t": float((model[j] - dm.values[j]) / dm.se[j])} for j, m in enumerate(cfg.untargeted)]


def _sensitivity(cfg: CalibrationConfig, est, spec, phi_hat, dm) -> dict:
    """Re-estimate the free parameters with one fixed parameter moved at a time (one vmapped fit).

    The free parameters are the first ``p`` of an extended problem whose other parameters are the
    ones the config moves, held at their base or moved value by the solver's mask; so one
    compilation serves every row.
    """
    from .estimate import Estimator, ModelSpec

    p = len(cfg.names)
    moved = [name for name, _ in cfg.sensitivity]
    base = [float(_fixed_value(spec, name)) for name in moved]
    ext = ModelSpec(spec.economy, spec.technologies, cfg.names + tuple(moved), cfg.moments)
    lo = np.concatenate([cfg.lower, [min([b] + list(v)) * 0.5 if min([b] + list(v)) > 0 else -1.0 for b, (_, v) in zip(base, cfg.sensitivity)]])
    hi = np.concatenate([cfg.upper, [max([b] + list(v)) * 2.0 + 1.0 for b, (_, v) in zip(base, cfg.sensitivity)]])
    big = Estimator(ext, dm.values, dm.covariance, lo, hi, weighting=cfg.weighting)
    rows, starts, fixed = [], [], []
    for j, (name, values) in enumerate(cfg.sensitivity):
        for v in values:
            f = np.array(list(phi_hat) + base, float)
            f[p + j] = v
            rows.append((name, v, base[j]))
            starts.append(f)
            fixed.append(f)
    starts, fixed = np.asarray(starts), np.asarray(fixed)
    masks = np.zeros(starts.shape, bool)
    masks[:, p:] = True
    datas = np.broadcast_to(dm.values, (len(rows), len(dm.values))).copy()
    est_phi, q, _ = big.fit_many(starts, datas, masks, fixed)
    est_phi, q = est_phi.copy(), q.copy()
    # a second pass from the middle of the box catches fits that the warm start left in a corner
    mid = fixed.copy()
    mid[:, :p] = (np.asarray(cfg.lower) + np.asarray(cfg.upper)) / 2
    phi2, q2, _ = big.fit_many(mid, datas, masks, fixed)
    better = np.isfinite(q2) & (~np.isfinite(q) | (q2 < q))
    est_phi[better], q[better] = phi2[better], q2[better]
    span = np.asarray(cfg.upper) - np.asarray(cfg.lower)
    out = []
    for r, (name, v, b) in enumerate(rows):
        at_bound = [bool(min(est_phi[r, k] - cfg.lower[k], cfg.upper[k] - est_phi[r, k]) < 1e-6 * span[k]) for k in range(p)]
        t = (np.asarray(big.moment_fn(est_phi[r])) - dm.values) / dm.se
        out.append({"parameter": name, "value": v, "base": b, "estimates": {cfg.names[k]: float(est_phi[r, k]) for k in range(p)},
                    "Q": float(q[r]), "max_abs_t": float(np.max(np.abs(t))) if np.all(np.isfinite(t)) else None, "at_bound": at_bound})
    return {"base": {cfg.names[k]: float(phi_hat[k]) for k in range(p)}, "rows": out,
            "note": "each row moves one fixed parameter and re-estimates the free ones; the other fixed parameters stay at the scenario's values"}


def _fixed_value(spec, name: str) -> float:
    return spec.value(name)


def _by_source(cfg: CalibrationConfig, est, phi_hat, doc) -> list[dict] | None:
    """The estimate with the slope moment taken from each exposure source the moments file lists."""
    if doc is None or not doc.get("by_source") or len(cfg.moments) != 1 or cfg.moments[0].kind != "wage_exposure_slope":
        return None
    side = "weighted" if cfg.moments[0].weighted else "unweighted"
    rows, datas, ses = [], [], []
    for src, entry in doc["by_source"].items():
        e = (entry or {}).get(side)
        if e is None:
            continue
        rows.append(src)
        datas.append([float(e["slope"])])
        ses.append(float(e["se"]))
    if not rows:
        return None
    B = len(rows)
    phi, q, _ = est.fit_many(np.broadcast_to(phi_hat, (B, len(phi_hat))).copy(), np.asarray(datas))
    out = []
    for r, src in enumerate(rows):
        m = float(np.asarray(est.moment_fn(phi[r]))[0])
        t = (m - datas[r][0]) / ses[r]
        out.append({"source": src, "slope": datas[r][0], "se": ses[r], "estimates": {n: float(phi[r, k]) for k, n in enumerate(cfg.names)},
                    "model": m, "t": float(t) if np.isfinite(t) else None})
    return out


def _model_curves(spec, phi, jnp):
    """Exposure and log wage of the model at the estimate over a task grid (for the fit plot)."""
    from . import model

    e, t = spec.build(jnp.asarray(phi))
    b = model.Benchmark(e, t)
    i = np.linspace(0.0005, 0.9995, 1000)
    return {"task": i, "exposure": np.asarray(model.exposure_at(b, i)), "log_wage": np.asarray(model.log_wage_at(b, i)),
            "employment": np.asarray(model.employment_at(b, i))}


@float64
def write_outputs(res: dict, out_dir: str | Path, *, plots: bool = True, units: dict | None = None) -> list[Path]:
    from . import report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    curves = res.pop("_curves", None)
    written = []
    figs = report.make_plots(res, curves, out) if plots else {}
    written += list(figs.values())
    js = out / "results.json"
    js.write_text(json.dumps(res, indent=2, default=float), encoding="utf-8")
    md = out / "report.md"
    md.write_text(report.markdown(res, figs), encoding="utf-8")
    if curves is not None:
        res["_curves"] = curves
    return [md, js] + written
