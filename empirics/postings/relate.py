"""Relations of occupation outcomes to exposure (Figures 3, 4, 8, 9, 17, 18), and the moments file.

For each outcome (mean log wage, experience premium, vacancy share, growth of the vacancy share)
an unweighted and a weighted least-squares regression on exposure, with heteroskedasticity-robust
(HC1) standard errors and percentile bootstrap intervals from resampling occupations (seeded,
vectorised). Weights are vacancies in the period (for growth: in the early period); the US path
weights by OEWS employment.

The moments file (JSON, format ``llm-labor/moments`` version 1) is documented in ``docs/postings.md``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError, InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

OUTCOMES = {
    "log_wage": ("mean_log_wage", "Mean log monthly wage", "Figure 3"),
    "experience_premium": ("experience_premium", "Experience premium (log wage per year required)", "Figure 4"),
    "vacancy_share": ("vacancy_share", "Vacancy share", "Figures 8, 17, 18"),
    "vacancy_share_growth": ("growth", "Growth of vacancy share", "Figure 9"),
}
MOMENTS_FORMAT = "llm-labor/moments"
MOMENTS_VERSION = 1


@dataclass(frozen=True)
class Fit:
    """A least-squares line of an outcome on exposure."""

    slope: float
    intercept: float
    se: float
    """HC1 robust standard error of the slope."""
    se_classical: float
    n: int
    weighted: bool
    ci_low: float
    ci_high: float
    ci_level: float
    bootstrap_draws: tuple[float, ...]
    r: float


def wls(x, y, w=None) -> tuple[float, float, float, float, float]:
    """(slope, intercept, HC1 se, classical se, weighted r) of y on x, weighted by ``w``."""
    import numpy as np

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    w = np.ones_like(x) if w is None else np.asarray(w, float)
    n = len(x)
    if n < 3:
        raise InputError(f"regression needs at least 3 units, got {n}")
    W = w.sum()
    xm, ym = (w * x).sum() / W, (w * y).sum() / W
    dx, dy = x - xm, y - ym
    sxx = (w * dx * dx).sum()
    if sxx <= 0:
        raise InputError("regression: exposure does not vary across units")
    b = (w * dx * dy).sum() / sxx
    a = ym - b * xm
    e = y - a - b * x
    # HC1 for weighted least squares: sandwich with weights w
    meat = (w * w * dx * dx * e * e).sum()
    se = float(np.sqrt(meat / sxx**2 * n / (n - 2)))
    s2 = (w * e * e).sum() / (n - 2)
    se_c = float(np.sqrt(s2 / sxx))
    syy = (w * dy * dy).sum()
    r = float((w * dx * dy).sum() / np.sqrt(sxx * syy)) if syy > 0 else float("nan")
    return float(b), float(a), se, se_c, r


def bootstrap_slopes(x, y, w=None, *, n_boot: int = 999, seed: int = 0, batch: int = 500):
    """Slopes from ``n_boot`` resamples of the units (with replacement), vectorised in batches."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    w = np.ones_like(x) if w is None else np.asarray(w, float)
    n = len(x)
    out = np.empty(n_boot)
    for s in range(0, n_boot, batch):
        k = min(batch, n_boot - s)
        idx = rng.integers(0, n, size=(k, n))
        xb, yb, wb = x[idx], y[idx], w[idx]
        W = wb.sum(axis=1, keepdims=True)
        xm = (wb * xb).sum(axis=1, keepdims=True) / W
        ym = (wb * yb).sum(axis=1, keepdims=True) / W
        sxx = (wb * (xb - xm) ** 2).sum(axis=1)
        sxy = (wb * (xb - xm) * (yb - ym)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s : s + k] = sxy / sxx
    return out


def fit(x, y, w=None, *, n_boot: int = 999, seed: int = 0, ci_level: float = 0.95) -> Fit:
    """Slope with robust SE and a percentile bootstrap CI (resampling units)."""
    import numpy as np

    b, a, se, se_c, r = wls(x, y, w)
    draws = bootstrap_slopes(x, y, w, n_boot=n_boot, seed=seed) if n_boot > 0 else np.array([])
    fin = draws[np.isfinite(draws)]
    lo, hi = (np.quantile(fin, [(1 - ci_level) / 2, (1 + ci_level) / 2]) if len(fin) else (np.nan, np.nan))
    return Fit(b, a, se, se_c, len(np.asarray(x)), w is not None, float(lo), float(hi), ci_level, tuple(float(d) for d in draws), r)


def occupation_exposure(exposure: pd.DataFrame, level: str, *, model: str | None = None, exclude=None) -> pd.Series:
    """Exposure at ``level`` from fine-level tidy scores (``code, model, score``), through
    :func:`empirics.aggregation.hierarchy.aggregate` (mean of the fine occupations, paper's rule)."""
    from empirics.aggregation.errors import AggregationError
    from empirics.aggregation.hierarchy import OCD_2022, aggregate

    for c in ("code", "model", "score"):
        if c not in exposure.columns:
            raise InputError(f"exposure table: missing column {c!r}; it has {list(exposure.columns)}")
    models = sorted(exposure["model"].unique())
    if model is None:
        if len(models) != 1:
            raise ConfigError(f"exposure table has models {models}; choose one")
        model = models[0]
    elif model not in models:
        raise ConfigError(f"exposure table: model {model!r} not among {models}")
    sub = exposure[exposure["model"] == model]
    try:
        agg = aggregate(sub, OCD_2022, levels=level, exclude=exclude, table="exposure table")
    except AggregationError as e:
        raise InputError(str(e)) from e
    return agg.set_index("code")["score"].rename("exposure")


def relation_table(occupations: pd.DataFrame, growth: pd.DataFrame, exposure: pd.Series, *, level: str, period: str) -> pd.DataFrame:
    """One row per occupation at ``level``: exposure, the four outcomes and their weights."""
    occ = occupations[(occupations["level"] == level) & (occupations["period"] == period)].set_index("code")
    g = growth[growth["level"] == level].set_index("code")
    t = exposure.to_frame().join(occ[["mean_log_wage", "experience_premium", "experience_premium_se", "vacancy_share", "vacancies", "n_postings", "n_wage"]], how="inner")
    t = t.join(g[["growth", "log_growth", "vacancies_early"]], how="left")
    t.index.name = "code"
    return t


def relate(table: pd.DataFrame, *, n_boot: int = 999, seed: int = 0, min_postings: int = 1) -> dict[str, dict[str, Fit]]:
    """Unweighted and vacancy-weighted fits of every outcome on exposure."""
    import numpy as np

    out = {}
    for name, (col, _, _) in OUTCOMES.items():
        wcol = "vacancies_early" if name == "vacancy_share_growth" else "vacancies"
        d = table[["exposure", col, wcol]].replace([np.inf, -np.inf], np.nan).dropna()
        d = d[table.loc[d.index, "n_postings"] >= min_postings]
        if len(d) < 3:
            continue
        out[name] = {
            "unweighted": fit(d["exposure"], d[col], None, n_boot=n_boot, seed=seed),
            "weighted": fit(d["exposure"], d[col], d[wcol], n_boot=n_boot, seed=seed + 1),
        }
    return out


def plot_relation(x, y, w, fits: dict[str, Fit], *, xlabel: str, ylabel: str, title: str, path: Path, provenance: dict | None = None) -> Path:
    """Scatter (marker area by weight) with the unweighted and weighted lines; PNG with provenance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    size = 12.0 if w is None else 8 + 200 * np.asarray(w, float) / max(float(np.max(w)), 1e-12)
    ax.scatter(x, y, s=size, alpha=0.45, color="#3b6ea5", edgecolors="none")
    xs = np.linspace(np.nanmin(x), np.nanmax(x), 50)
    styles = {"unweighted": ("#222222", "-"), "weighted": ("#c0392b", "--")}
    for k, f in fits.items():
        c, ls = styles.get(k, ("#555555", ":"))
        ax.plot(xs, f.intercept + f.slope * xs, color=c, ls=ls, lw=1.6,
                label=f"{k}: slope {f.slope:.3g} (se {f.se:.2g}; {int(f.ci_level * 100)}% CI {f.ci_low:.3g} to {f.ci_high:.3g})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"Description": json.dumps(provenance or {}, sort_keys=True, default=str)}
    fig.savefig(path, dpi=120, metadata=meta)
    plt.close(fig)
    return path


def fit_to_dict(f: Fit, *, draws: bool = True) -> dict:
    d = asdict(f)
    d["bootstrap_draws"] = list(f.bootstrap_draws) if draws else []
    d["n_boot"] = len(f.bootstrap_draws)
    return d


def moments_document(fits: dict[str, dict[str, Fit]], table: pd.DataFrame, *, exposure_measure: str, level: str, period: str,
                     source: str, provenance: dict, unit: str = "occupation") -> dict:
    """The moments JSON document (see ``docs/postings.md``)."""
    import numpy as np

    moments = {}
    for name, fs in fits.items():
        moments[name] = {k: fit_to_dict(f) for k, f in fs.items()}
    cols = [c for c in ("exposure", "mean_log_wage", "experience_premium", "experience_premium_se", "vacancy_share", "vacancies",
                        "growth", "vacancies_early", "weight") if c in table.columns]
    units = []
    for code, row in table[cols].iterrows():
        units.append({"code": str(code), **{c: (None if not np.isfinite(float(row[c])) else float(row[c])) for c in cols}})
    return {
        "format": MOMENTS_FORMAT,
        "version": MOMENTS_VERSION,
        "source": source,
        "unit": unit,
        "level": level,
        "period": period,
        "exposure_measure": exposure_measure,
        "regression": "log wage (or other outcome) on exposure; least squares; se = HC1 robust; CI = percentile bootstrap over units",
        "weights": "vacancies in the period (growth: early-period vacancies)" if unit == "occupation" else "employment",
        "moments": moments,
        "units": units,
        "provenance": provenance,
    }


def run_relate(processed_dir: str | Path, exposure_path: str | Path, out_dir: str | Path, *, level: str = "fine", period: str = "2017-2022",
               model: str | None = None, n_boot: int = 999, seed: int = 0, min_postings: int = 1, exclude=None) -> dict:
    """Relate a processed postings folder to an exposure table; write plots, ``relations.csv`` and ``moments.json``."""
    import pandas as pd

    from .errors import DataNotFoundError
    from .provenance import provenance
    from .titles import LEVELS

    if level not in LEVELS:
        raise ConfigError(f"relate: level must be one of {LEVELS}, got {level!r}")
    pdir = Path(processed_dir)
    for f in ("occupations.parquet", "growth.parquet"):
        if not (pdir / f).is_file():
            raise DataNotFoundError(f"relate: {pdir / f} not found; run `llm-labor postings process` first")
    exposure_path = Path(exposure_path)
    if not exposure_path.is_file():
        raise DataNotFoundError(f"relate: exposure table {exposure_path} not found")
    occ = pd.read_parquet(pdir / "occupations.parquet")
    growth = pd.read_parquet(pdir / "growth.parquet")
    if period not in set(occ["period"]):
        raise ConfigError(f"relate: period {period!r} not in {sorted(set(occ['period']))}")
    exp = pd.read_csv(exposure_path, dtype={"code": str})
    ex = occupation_exposure(exp, level, model=model, exclude=exclude)
    table = relation_table(occ, growth, ex, level=level, period=period)
    fits = relate(table, n_boot=n_boot, seed=seed, min_postings=min_postings)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    measure = model or str(exp["model"].iloc[0])
    params = {"level": level, "period": period, "model": measure, "n_boot": n_boot, "seed": seed, "min_postings": min_postings}
    prov = provenance("postings relate", params, {"processed": pdir / "occupations.parquet", "exposure": exposure_path})
    table.to_csv(out / "relations.csv")
    for name, fs in fits.items():
        col, label, fig = OUTCOMES[name]
        wcol = "vacancies_early" if name == "vacancy_share_growth" else "vacancies"
        d = table[["exposure", col, wcol]].dropna()
        plot_relation(d["exposure"], d[col], d[wcol], fs, xlabel=f"Exposure ({measure})", ylabel=label,
                      title=f"{label} and exposure, {level} occupations, {period} ({fig})", path=out / f"{name}.png", provenance=prov)
    doc = moments_document(fits, table, exposure_measure=measure, level=level, period=period, source=f"postings: {pdir}", provenance=prov)
    doc["postings_coverage"] = _postings_coverage(pdir)
    (out / "moments.json").write_text(json.dumps(doc, indent=2, default=float), encoding="utf-8")
    return doc


def _postings_coverage(pdir: Path) -> dict | None:
    """What the processed postings kept, from ``report.json`` (``None`` when the folder has none):
    rows in, kept and quarantined, duplicate posting_ids and title matching (shares of postings
    without a code matched, and trusted at each level)."""
    f = pdir / "report.json"
    if not f.is_file():
        return None
    r = json.loads(f.read_text(encoding="utf-8"))
    return {"balance": r.get("balance"), "duplicate_posting_ids": {k: v for k, v in (r.get("duplicate_posting_ids") or {}).items() if k != "rule"},
            "title_matching": r.get("title_matching")}


def run_us(out_dir: str | Path, *, measure: str = "dv_rating_beta", n_boot: int = 999, seed: int = 0, shared=None) -> dict:
    """US path: GPTs-are-GPTs exposure against BLS OEWS median wages (weights: employment)."""
    import numpy as np

    from empirics.aggregation.us import run_us_path

    from .provenance import provenance

    from empirics.aggregation.data import shared_data_dir
    from empirics.aggregation.us import OCC_COLUMNS

    us = run_us_path(measure=measure, shared=shared)
    base = Path(shared) if shared is not None else shared_data_dir()
    j = us.occupations
    t = j.set_index("soc_code")[[measure, "a_median", "tot_emp"]].rename(columns={measure: "exposure", "tot_emp": "weight"})
    t["mean_log_wage"] = np.log(t["a_median"] / 12.0)
    fits = {"log_wage": {"unweighted": fit(t["exposure"], t["mean_log_wage"], None, n_boot=n_boot, seed=seed),
                         "weighted": fit(t["exposure"], t["mean_log_wage"], t["weight"], n_boot=n_boot, seed=seed + 1)}}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    inputs = {name: base / sub / name for sub, name in (
        ("gpts-are-gpts", "full_labelset.tsv"), ("gpts-are-gpts", "full_onet_data.tsv"), ("gpts-are-gpts", "occ_level.csv"),
        ("soc-crosswalk", "soc_2010_to_2018.csv"), ("bls-oews", "oews_may2025_national.csv"), ("bls-oews", "oews_may2025_national_sector_by_occ.csv"))}
    prov = provenance("postings relate --source us", {"measure": measure, "n_boot": n_boot, "seed": seed}, inputs)
    plot_relation(t["exposure"], t["mean_log_wage"], t["weight"], fits["log_wage"], xlabel=f"GPTs-are-GPTs exposure ({measure})",
                  ylabel="log median monthly wage (OEWS May 2025, USD)", title="US: exposure and wages, detailed SOC occupations",
                  path=out / "us_log_wage.png", provenance=prov)
    t.to_csv(out / "us_relations.csv")
    doc = moments_document(fits, t, exposure_measure=f"GPTs-are-GPTs {measure}", level="SOC 2018 detailed", period="OEWS May 2025",
                           source="US: GPTs-are-GPTs x BLS OEWS (real data)", provenance=prov)
    # every exposure measure's slopes, so that calibration can show how the estimate moves with the measure
    y = t["mean_log_wage"].to_numpy()
    doc["by_source"] = {}
    for col in OCC_COLUMNS:
        x = j[col].to_numpy(dtype=float)
        doc["by_source"][col] = {}
        for side, w in (("unweighted", None), ("weighted", t["weight"].to_numpy())):
            slope, _, se, _, _ = wls(x, y, w)
            doc["by_source"][col][side] = {"slope": slope, "se": se}
    doc["join"] = us.join.to_dict()
    (out / "moments_us.json").write_text(json.dumps(doc, indent=2, default=float), encoding="utf-8")
    return doc


def run_china_industries(out_dir: str | Path, *, n_boot: int = 999, seed: int = 0, wage_column: str = "nonprivate_2022") -> dict:
    """China path: industry exposure (Table 2 LLM scores x Table 4 shares) against NBS industry
    wages. NBS publishes no employment with this wage table, so only the unweighted fit is made."""
    import numpy as np

    from empirics.aggregation.data import table2_scores
    from empirics.aggregation.hierarchy import OCD_2022, aggregate, to_wide
    from empirics.aggregation.industry import industry_exposure, industry_wages, table4_shares

    from .provenance import provenance

    long = table2_scores(include_expert=False, include_combined=True)
    agg = aggregate(long, OCD_2022, base_level="medium", levels="medium", method="child_mean")
    medium = to_wide(agg, level="medium")
    ind = industry_exposure(table4_shares(), medium[["llm"]], normalize=True)
    wages = industry_wages(column=wage_column).set_index("industry_id")
    t = ind[["llm"]].rename(columns={"llm": "exposure"}).join(wages["wage"], how="inner")
    t["mean_log_wage"] = np.log(t["wage"] / 12.0)
    t.index = t.index.astype(str)
    fits = {"log_wage": {"unweighted": fit(t["exposure"], t["mean_log_wage"], None, n_boot=n_boot, seed=seed)}}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prov = provenance("postings relate --source china-industries", {"n_boot": n_boot, "seed": seed, "wage_column": wage_column}, {})
    plot_relation(t["exposure"], t["mean_log_wage"], None, fits["log_wage"], xlabel="Industry exposure (LLMs, Table 2 x Table 4)",
                  ylabel=f"log monthly wage (NBS {wage_column}, yuan)", title="China: industry exposure and wages",
                  path=out / "china_industries_log_wage.png", provenance=prov)
    t.to_csv(out / "china_industry_relations.csv")
    doc = moments_document(fits, t, exposure_measure="LLM (GLM + InternLM + GPT-4), industry", level="industry", period=wage_column,
                           source="China: paper Table 2 x Table 4 x NBS wages (real data)", provenance=prov, unit="industry")
    (out / "moments_china_industries.json").write_text(json.dumps(doc, indent=2, default=float), encoding="utf-8")
    return doc
