"""Markdown report and plots of a calibration (PNG files carry the provenance in their metadata)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def make_plots(res: dict, curves: dict | None, out: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    meta = {"Description": json.dumps({k: v for k, v in res["provenance"].items() if k not in ("config_text", "scenario_text")}, default=str)}
    figs: dict[str, Path] = {}
    for k, prof in enumerate(res["profiles"]):
        par = res["parameters"][k]
        g = np.asarray(prof["grid"], float)
        q = np.asarray([np.nan if v is None else v for v in prof["Q"]], float)
        fig, ax = plt.subplots(figsize=(6.0, 4.0))
        ax.plot(g, q, color="#3b6ea5", lw=1.6, label="profile of Q")
        at = par["estimate"] if par["estimate"] is not None else par["closest"]
        ax.axvline(at, color="#c0392b", lw=1.2, label=f"estimate {at:.4g}" if par["estimate"] is not None else f"closest point {at:.4g} (failed)")
        if par["ci_bootstrap"] is not None and all(v is not None and np.isfinite(v) for v in par["ci_bootstrap"]):
            ax.axvspan(*par["ci_bootstrap"], color="#c0392b", alpha=0.12, label=f"{int(round(res['bootstrap']['ci_level'] * 100))}% bootstrap CI")
        finite = q[np.isfinite(q)]
        if finite.size:
            ax.axhline(finite.min() + _threshold(res), color="#777777", ls=":", lw=1,
                       label="minimum + flatness threshold")
        ax.set_yscale("symlog", linthresh=max(_threshold(res), 1e-12))
        ax.set_xlabel(par["name"])
        ax.set_ylabel("Q (weighted distance of moments, symlog)")
        flags = [w for w in ("flat" if par["identification"]["flat"] else None, "several minima" if par["identification"]["several_minima"] else None) if w]
        ax.set_title(f"{res['name']}: profile over {par['name']}" + (f" [{', '.join(flags)}]" if flags else ""), fontsize=10)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out / f"profile_{par['name'].replace('.', '_')}.png"
        fig.savefig(path, dpi=110, metadata=meta)
        plt.close(fig)
        figs[f"profile_{par['name']}"] = path
    # moment fit
    fig, ax = plt.subplots(figsize=(6.0, 0.9 + 0.6 * len(res["moments"])))
    for j, m in enumerate(res["moments"]):
        ax.errorbar(m["data"], j, xerr=1.96 * m["se"], fmt="o", color="#222222", capsize=3, label="data ± 1.96 se" if j == 0 else None)
        ax.plot(m["model"], j, "D", color="#c0392b", label="model at estimate" if j == 0 else None)
    ax.set_yticks(range(len(res["moments"])), [m["moment"] for m in res["moments"]], fontsize=8)
    ax.set_title(f"{res['name']}: fit of the moments", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out / "moments_fit.png"
    fig.savefig(path, dpi=110, metadata=meta)
    plt.close(fig)
    figs["moments_fit"] = path
    if res.get("bootstrap"):
        est = np.asarray(res["bootstrap"]["estimates"], float)
        fig, axes = plt.subplots(1, est.shape[1], figsize=(4.5 * est.shape[1], 3.4), squeeze=False)
        for k, ax in enumerate(axes[0]):
            v = est[:, k][np.isfinite(est[:, k])]
            ax.hist(v, bins=40, color="#3b6ea5", alpha=0.8)
            ax.axvline(res["parameters"][k]["estimate"], color="#c0392b")
            ax.set_xlabel(res["parameters"][k]["name"])
            ax.set_title(f"bootstrap re-estimates ({len(v)})", fontsize=9)
        fig.tight_layout()
        path = out / "bootstrap.png"
        fig.savefig(path, dpi=110, metadata=meta)
        plt.close(fig)
        figs["bootstrap"] = path
    if curves is not None:
        fig, ax = plt.subplots(figsize=(6.0, 4.0))
        ax.plot(curves["task"], curves["exposure"], color="#3b6ea5", label="exposure e(i)")
        ax2 = ax.twinx()
        ax2.plot(curves["task"], curves["log_wage"], color="#c0392b", ls="--", label="log wage (benchmark)")
        ax.set_xlabel("task i")
        ax.set_ylabel("exposure e(i) = max(0, 1 - c_M/p0)")
        ax2.set_ylabel("log wage")
        ax.set_title(f"{res['name']}: the model at the estimate", fontsize=10)
        fig.legend(fontsize=8, loc="upper left")
        fig.tight_layout()
        path = out / "model_tasks.png"
        fig.savefig(path, dpi=110, metadata=meta)
        plt.close(fig)
        figs["model_tasks"] = path
    return figs


def _threshold(res: dict) -> float:
    import yaml

    try:
        cfg = yaml.safe_load(res["provenance"]["config_text"]) or {}
        return float((cfg.get("profile") or {}).get("flat_threshold", 2.706))
    except Exception:  # noqa: BLE001 - the plot line is decoration
        return 2.706


def _f(v, spec=".4g"):
    return "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, spec)


def markdown(res: dict, figs: dict[str, Path]) -> str:
    prov = res["provenance"]
    lines = [f"# Calibration: {res['name']}", ""]
    if res["description"]:
        lines += [res["description"], ""]
    lines += [f"**Data:** {res['data_label']}", ""]
    mf = prov.get("moments_file")
    if mf:
        lines += [f"Moments file `{mf['path']}` (sha256 `{mf['sha256'][:16]}…`), source: {mf.get('source')}.", ""]
    lines += [f"Free parameters: {', '.join(res['free_parameters'])}; weighting: {res['weighting']}; "
              f"{len(res['moments'])} moment(s), {res['identification']}-identified (degrees of freedom {res['degrees_of_freedom']}).", ""]
    if res["warnings"]:
        lines += ["## Warnings", ""] + [f"- {w}" for w in res["warnings"]] + [""]
    if res.get("status", "ok") != "ok":
        f = res["failure"] or {}
        lines += [f"## Calibration failed: {res['status']}", "", f.get("message", ""), ""]
        if f.get("attainable"):
            lines += [f"Attainable range of '{f['moment']}' over the box: [{f['attainable'][0]:.4g}, {f['attainable'][1]:.4g}]; "
                      f"data {f['data']:.4g} (se {f['se']:.3g}), {f['se_outside']:.1f} se outside.", ""]
        lines += ["No estimate and no standard error are reported. The closest point of the box is "
                  + ", ".join(f"{p['name']} = {p['closest']:.4g}" for p in res["parameters"]) + ".", ""]
    lvl = int(round(100 * (res["bootstrap"]["ci_level"] if res.get("bootstrap") else 0.9)))
    lines += ["## Estimates", "", f"| parameter | estimate | se (delta) | {lvl}% CI (delta) | {lvl}% CI (bootstrap) | bootstrap sd | bounds |",
              "|---|---|---|---|---|---|---|"]
    for p in res["parameters"]:
        cb = p["ci_bootstrap"]
        cd = p["ci_delta"] or [None, None]
        lines.append(f"| {p['name']} | {_f(p['estimate'])} | {_f(p['se_delta'])} | {_f(cd[0])} to {_f(cd[1])} | "
                     f"{(_f(cb[0]) + ' to ' + _f(cb[1])) if cb else '–'} | {_f(p['se_bootstrap'])} | [{p['lower']:g}, {p['upper']:g}]"
                     + (" (at bound)" if p["at_bound"] else "") + " |")
    lines += ["", f"Objective Q = {res['objective']:.4g}; |dQ/dφ| = {res['grad_norm']:.2g}; converged: {res['converged']}.", ""]
    if res.get("attainable"):
        lines += ["Attainable range of each moment over the box of the free parameters: "
                  + "; ".join(f"{a['moment']}: [{a['low']:.4g}, {a['high']:.4g}]" for a in res["attainable"]) + ".", ""]
    lines += ["## Fit of the moments", "", "| moment | data | se | model | model − data | t | data source |", "|---|---|---|---|---|---|---|"]
    for m in res["moments"]:
        lines.append(f"| {m['moment']} | {m['data']:.4g} | {m['se']:.3g} | {m['model']:.4g} | {m['difference']:.3g} | {m['t']:.2f} | {m['source']} |")
    lines += ["", "## Identification", ""]
    for p in res["parameters"]:
        d = p["identification"]
        status = "flat" if d["flat"] else ("several minima" if d["several_minima"] else "single well-defined minimum on the grid")
        lines.append(f"- **{p['name']}**: {status}; Q rises {_f(d['rise'])} above its minimum over the bounds; "
                     f"share of the grid where the model moments are undefined: {d['undefined_share']:.0%}.")
        key = f"profile_{p['name']}"
        if key in figs:
            lines += ["", f"![profile of Q over {p['name']}]({figs[key].name})", ""]
    lines += _not_identified(res)
    lines += _untargeted_md(res) + _sources_md(res) + _sensitivity_md(res) + _comparison_md(res)
    for key, title in (("moments_fit", "Fit of the moments"), ("bootstrap", "Bootstrap re-estimates"), ("model_tasks", "The model at the estimate")):
        if key in figs:
            lines += [f"### {title}", "", f"![{title}]({figs[key].name})", ""]
    t = res["timings"]
    lines += ["## Timings", "", f"Estimate {t['estimate_seconds']:.3f} s (compilation {t['compile_seconds']:.2f} s apart); profiles "
              f"{t['profile_seconds']:.2f} s; bootstrap {_f(t['bootstrap_seconds'], '.2f')} s.", ""]
    fixed = ", ".join(f"{k} = {v:g}" for k, v in res["fixed_parameters"].items())
    lines += ["## Fixed parameters (from the scenario)", "", fixed, ""]
    lines += ["## Provenance", "", f"- package llm-labor {prov['package_version']}, git commit `{prov['git_commit']}`",
              f"- created {prov['created_utc']}; Python {prov['python']}, JAX {prov['jax_version']}, NumPy {prov['numpy_version']}",
              f"- seed {prov['seed']}: {prov['rng']}", f"- scenario `{prov['scenario_path']}`", "", "Config:", "", "```yaml", prov["config_text"].rstrip(), "```", ""]
    return "\n".join(lines)


def _not_identified(res: dict) -> list[str]:
    """What the moments leave open (``res["not_identified"]``)."""
    ni = res.get("not_identified") or {}
    lines = ["", f"**Not pinned down by these data:** {ni.get('statement', '')}."]
    for name, (lo, hi) in (ni.get("estimate_range_over_sensitivity") or {}).items():
        lines.append(f"Over the sensitivity ranges below, {name} moves between {lo:.3g} and {hi:.3g}; that spread is not in the sampling standard error.")
    return lines + [""]


def _untargeted_md(res: dict) -> list[str]:
    rows = res.get("untargeted") or []
    if not rows:
        return []
    out = ["## Untargeted moments at the estimate", "", "| moment | data | se | model | t |", "|---|---|---|---|---|"]
    for m in rows:
        out.append(f"| {m['moment']} | {m['data']:.4g} | {m['se']:.3g} | {m['model']:.4g} | {m['t']:.2f} |")
    far = [m["moment"] for m in rows if abs(m["t"]) > 2]
    if far:
        out += ["", f"The model at the estimate misses {', '.join(far)} by more than 2 se: the targeted and the untargeted "
                "moments are not reproduced together with the fixed parameters as they are."]
    return out + [""]


def _sources_md(res: dict) -> list[str]:
    rows = res.get("by_source") or []
    if not rows:
        return []
    out = ["## The estimate by exposure source", "", "The same fit with the slope computed from each exposure source in the moments file.", "",
           "| source | slope | se | " + " | ".join(rows[0]["estimates"]) + " | model − data (se) |", "|---|---|---|" + "---|" * len(rows[0]["estimates"]) + "---|"]
    for r in rows:
        out.append(f"| {r['source']} | {r['slope']:.4g} | {r['se']:.3g} | " + " | ".join(f"{v:.4g}" for v in r["estimates"].values())
                   + f" | {_f(r['t'], '.2f')}" + (" (not reached)" if r["t"] is None or abs(r["t"]) > 0.01 else "") + " |")
    return out + [""]


def _sensitivity_md(res: dict) -> list[str]:
    sens = res.get("sensitivity")
    if not sens:
        return []
    names = list(sens["base"])
    out = ["## Sensitivity to the fixed parameters", "", sens["note"] + ". Base: " + ", ".join(f"{k} = {v:.4g}" for k, v in sens["base"].items()) + ".", "",
           "| parameter | base | value | " + " | ".join(names) + " | reached the target |", "|---|---|---|" + "---|" * len(names) + "---|"]
    for r in sens["rows"]:
        ok = r["max_abs_t"] is not None and r["max_abs_t"] < 0.01
        why = "yes" if ok else ("no: the model's moments are undefined there" if r["max_abs_t"] is None else f"no: off by {r['max_abs_t']:.2g} se")
        est = " | ".join((f"{r['estimates'][n]:.4g}" if r["max_abs_t"] is not None else "–") + (" (at bound)" if r["at_bound"][k] else "")
                         for k, n in enumerate(names))
        out.append(f"| {r['parameter']} | {r['base']:.4g} | {r['value']:.4g} | {est} | {why} |")
    return out + [""]


def _comparison_md(res: dict) -> list[str]:
    c = res.get("comparison")
    if not c:
        return []
    out = [f"## Beside {c['name']}", "", f"{c['data_label']} ({c['note']}).", "",
           f"| parameter | {res['name']} | se | {c['name']} | se |", "|---|---|---|---|---|"]
    other = {p["name"]: p for p in c["parameters"]}
    for p in res["parameters"]:
        o = other.get(p["name"])
        out.append(f"| {p['name']} | {_f(p['estimate'])} | {_f(p['se_delta'])} | {_f(o['estimate']) if o else '–'} | {_f(o['se_delta']) if o else '–'} |")
    out += ["", "| moment | " + res["name"] + " data | model | " + c["name"] + " data | model |", "|---|---|---|---|---|"]
    for a, b in zip(res["moments"], c["moments"]):
        out.append(f"| {a['kind']} | {a['data']:.4g} (se {a['se']:.3g}) | {a['model']:.4g} | {b['data']:.4g} (se {b['se']:.3g}) | {b['model']:.4g} |")
    diff = {k: (res["fixed_parameters"].get(k), v) for k, v in c["fixed_parameters"].items() if res["fixed_parameters"].get(k) != v}
    if diff:
        out += ["", "Fixed parameters that differ: " + "; ".join(f"{k}: {a} here, {b} there" for k, (a, b) in diff.items()) + "."]
    if c.get("sensitivity"):
        out += ["", f"Sensitivity of {c['name']}:", ""] + _sensitivity_md({"sensitivity": c["sensitivity"]})[4:]
    return out + [""]
