"""The ``llm-labor empirics report`` output folder: markdown tables, PNG figures and ``report.md``."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ._validate import require_columns, require_numeric
from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


@dataclass(frozen=True)
class ReportConfig:
    """Parameters of :func:`build_report`."""

    out_dir: str = "empirics-report"
    scores: str | None = None
    scores_level: str = "fine"
    method: str = "fine_mean"
    lang: str = "en"
    n_boot: int = 2000
    seed: int = 0
    tolerance: float = 0.2
    age_table: str | None = None
    us: bool = True
    us_measure: str = "dv_rating_beta"
    wage_column: str = "nonprivate_2022"


@dataclass(frozen=True)
class ReportResult:
    """What :func:`build_report` wrote and the headline numbers."""

    out_dir: Path
    files: tuple[Path, ...]
    headline: dict = field(default_factory=dict)


def md_table(df: pd.DataFrame, *, digits: int = 4, index: bool = True) -> str:
    """A GitHub-flavoured markdown table (no extra dependency)."""
    import numbers

    cols = ([df.index.name or ""] if index else []) + [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for idx, row in df.iterrows():
        cells = [str(idx)] if index else []
        for v in row.tolist():
            if isinstance(v, numbers.Real) and not isinstance(v, bool) and v != v:
                cells.append("")
            elif isinstance(v, numbers.Real) and not isinstance(v, bool) and abs(v) >= 1000:
                cells.append(f"{v:,.0f}")
            elif isinstance(v, numbers.Real) and not isinstance(v, bool) and not float(v).is_integer():
                cells.append(f"{v:.{digits}f}")
            elif isinstance(v, numbers.Real) and not isinstance(v, bool):
                cells.append(f"{int(v)}" if abs(v) < 1e15 else str(v))
            else:
                cells.append(str(v).replace("|", "/"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def read_scores(path: str | Path) -> pd.DataFrame:
    """Read a tidy score CSV: columns ``code, model, score`` (and optionally ``weight``).

    ``occupation_code`` is accepted for ``code`` (the scoring step's occupation table). Rows with
    an empty score (invalid LLM answers) are left out.
    """
    import pandas as pd

    name = str(path)
    try:
        df = pd.read_csv(path, dtype={"code": str, "occupation_code": str, "model": str})
    except FileNotFoundError as e:
        raise InputError(f"scores file not found: {name}") from e
    if "code" not in df.columns and "occupation_code" in df.columns:
        df = df.rename(columns={"occupation_code": "code"})
    require_columns(df, ["code", "model", "score"], name)
    require_numeric(df, ["score"], name, allow_nan=True)
    df = df[df["score"].notna()]
    if df.empty:
        raise InputError(f"{name}: column 'score' has no values")
    return df


def _china_tables(cfg: ReportConfig):
    """Aggregated long table (levels medium+), the medium wide table, models and inputs."""

    from .data import COMBINED, EXPERT, LLM_MODELS, TABLE2, bundled_path, load_table2, ocd_codes, table2_scores
    from .hierarchy import OCD_2022, aggregate, to_wide

    t2 = load_table2()
    inputs = {"table2": bundled_path(TABLE2)}
    if cfg.scores is None:
        long = table2_scores(include_expert=False)
        agg = aggregate(long, OCD_2022, base_level="medium", method="child_mean")
        models = list(LLM_MODELS)
        medium = to_wide(agg, level="medium", models=models)
        medium[COMBINED] = t2.set_index("code")["combined"].reindex(medium.index)
        source = "the paper's Table 2 (medium categories)"
    else:
        inputs["scores"] = Path(cfg.scores)
        long = read_scores(cfg.scores)
        known = ocd_codes(cfg.scores_level)
        agg = aggregate(long, OCD_2022, base_level=cfg.scores_level, method=cfg.method, known_codes=known, weight_col="weight" if "weight" in long.columns else None, table=str(cfg.scores))
        present = list(dict.fromkeys(agg["model"]))
        models = [m for m in LLM_MODELS if m in present] or [m for m in present if m != EXPERT]
        medium = to_wide(agg, level="medium", models=models)
        medium[COMBINED] = medium[models].mean(axis=1)
        source = f"scores file {cfg.scores} ({cfg.scores_level} level, {cfg.method})"
    expert = t2.set_index("code")["expert"]
    medium[EXPERT] = expert.reindex(medium.index)
    # large level: LLMs from the aggregation, combined and expert as means of medium scores
    large = to_wide(agg, level="large", models=models)
    large_ce = medium[[COMBINED, EXPERT]].groupby(OCD_2022.code_at(medium.index, "large", base_level="medium")).mean()
    large = large.join(large_ce)
    return agg, medium, large, models, source, inputs


def build_report(cfg: ReportConfig = ReportConfig()) -> ReportResult:
    """Write the report folder described in ``docs/aggregation.md``."""
    import pandas as pd

    from . import plots
    from .age import age_group_exposure, read_age_table, sections_to_industries
    from .data import (
        COMBINED,
        EXPERT,
        MODEL_LABELS,
        TABLE4,
        bundled_path,
        load_industries,
        load_large_names,
        load_table2,
        load_table5,
        shared_data_dir,
    )
    from .experts import compare_expert
    from .industry import exposure_wage_relation, industry_exposure, industry_wages, table4_shares
    from .provenance import Provenance
    from .stats import bootstrap_ci, summarize_levels

    if cfg.lang not in plots.LANGS:
        raise InputError(f"report: lang must be one of {plots.LANGS}, got {cfg.lang!r}")
    out = Path(cfg.out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    agg, medium, large, models, source, inputs = _china_tables(cfg)
    inputs["table4"] = bundled_path(TABLE4)
    params = {k: v for k, v in cfg.__dict__.items()}
    prov = Provenance.build("llm-labor empirics report", params, inputs)
    lab = lambda m: MODEL_LABELS.get(m, m)  # noqa: E731

    def write(name: str, text: str) -> Path:
        p = out / name
        p.write_text(prov.markdown_comment() + "\n\n" + text.rstrip() + "\n", encoding="utf-8")
        files.append(p)
        return p

    def fig(name: str, figure) -> str:
        files.append(plots.save(figure, out / "figures" / name, prov))
        return f"figures/{name}"

    t2 = load_table2().set_index("code")
    names_en = t2["title_en"].to_dict()
    names_zh = t2["title_zh"].to_dict()
    large_names = load_large_names().set_index("code")["name_en"].to_dict()
    from .data import load_ocd_hierarchy

    h = load_ocd_hierarchy()
    large_zh = h[h["level"] == "large"].set_index("code")["name_zh"].to_dict()
    mlabel = lambda c: plots.label(c, names_en.get(c), names_zh.get(c), cfg.lang)  # noqa: E731
    llabel = lambda c: plots.label(c, large_names.get(c), large_zh.get(c), cfg.lang)  # noqa: E731

    # ---------------------------------------------------------------- Table 1
    summaries = summarize_levels(agg, models)
    boot = bootstrap_ci(medium, models, n_boot=cfg.n_boot, seed=cfg.seed)
    parts = [f"# Table 1: summary statistics of LLM exposure\n\nSource: {source}. Std uses ddof=1; stars: * p<.05, ** p<.01, *** p<.001 (two-sided)."]
    for lv, s in summaries.items():
        d = s.describe.rename(columns=lab)
        parts.append(f"## {lv.capitalize()} categories occupation level exposure\n\n" + md_table(d, digits=4))
        parts.append(f"### {lv.capitalize()} level, Pearson correlation (n = {s.pearson.n})\n\n" + md_table(s.pearson.formatted().rename(index=lab, columns=lab)))
        parts.append(f"### {lv.capitalize()} level, Spearman correlation\n\n" + md_table(s.spearman.formatted().rename(index=lab, columns=lab)))
    parts.append(
        f"## Bootstrap 95% intervals, medium level ({cfg.n_boot} resamples of occupations, seed {cfg.seed})\n\n"
        + md_table(boot, index=False)
    )
    write("table1.md", "\n\n".join(parts))

    # ---------------------------------------------------------- experts (Fig. 1)
    comp = compare_expert(medium, expert=EXPERT, llm=COMBINED, tolerance=cfg.tolerance)
    f1 = fig(
        "figure01_expert_vs_llm.png",
        plots.scatter_fit(medium[EXPERT], medium[COMBINED], xlabel="Expert score", ylabel="LLM score (mean of GLM, InternLM, GPT-4)", title="Figure 1: exposure of LLMs and experts, medium categories", r=comp.pearson_r),
    )
    f2 = fig("figure02_medium_llm.png", plots.bar_chart(medium[COMBINED], [mlabel(c) for c in medium.index], title="Figure 2: exposure by medium category, LLMs"))
    f12 = fig("figure12_medium_expert.png", plots.bar_chart(medium[EXPERT], [mlabel(c) for c in medium.index], title="Figure 12: exposure by medium category, experts", color="#7d5ba6"))
    lcols = [*models, COMBINED]
    f10 = fig("figure10_large_llm.png", plots.grouped_bar_chart(large[lcols], [llabel(c) for c in large.index], title="Figure 10: exposure by large category, LLMs", legend=MODEL_LABELS))
    f11 = fig("figure11_large_expert.png", plots.bar_chart(large[EXPERT], [llabel(c) for c in large.index], title="Figure 11: exposure by large category, experts", sort=False, color="#7d5ba6"))

    # -------------------------------------------------------------- industries
    shares = table4_shares()
    ind_scores = industry_exposure(shares, medium[[*models, COMBINED, EXPERT]], normalize=True)
    inds = load_industries().set_index("industry_id")
    ind_scores.insert(0, "industry", inds["industry_en"].reindex(ind_scores.index))
    wages = industry_wages(column=cfg.wage_column).set_index("industry_id")
    ind_scores["wage"] = wages["wage"].reindex(ind_scores.index)
    ind_scores["sections"] = wages["sections"].reindex(ind_scores.index)
    ilabels = [f"{i} {inds.loc[i, 'label_en']}" for i in ind_scores.index]
    f6 = fig("figure06_industry_llm.png", plots.bar_chart(ind_scores[COMBINED], ilabels, title="Figure 6: industry exposure, LLMs"))
    f15 = fig("figure15_industry_expert.png", plots.bar_chart(ind_scores[EXPERT], ilabels, title="Figure 15: industry exposure, experts", color="#7d5ba6"))
    wv = ind_scores.dropna(subset=["wage"])
    wrel = exposure_wage_relation(wv[COMBINED], wv["wage"], table="industries")
    fw = fig(
        "industry_exposure_vs_wage.png",
        plots.scatter_fit(wv[COMBINED], wv["wage"], xlabel="Industry exposure (LLMs)", ylabel=f"Average annual wage, yuan ({cfg.wage_column})", title="Industry exposure and wages", r=wrel.pearson_r, annotate=[inds.loc[i, "label_en"] for i in wv.index], logy=True),
    )
    show = ind_scores.rename(columns=lab).sort_values(lab(COMBINED), ascending=False)
    write(
        "industry_scores.md",
        "# Industry exposure (Figures 6 and 15)\n\nIndustry score = sum over occupations of share x exposure, with the paper's Table 4 "
        "shares (CLDS 2016) rescaled to sum to one over the scored medium categories; `coverage` is the unrescaled sum. "
        f"Wages: NBS {cfg.wage_column}, unweighted mean over the GB/T 4754-2017 sections mapped to each industry.\n\n"
        + md_table(show, digits=3)
        + f"\n\nExposure (LLMs) against log wage over {wrel.n} industries: Pearson r = {wrel.pearson_r:.3f} (p = {wrel.pearson_p:.3g}), "
        f"Spearman rho = {wrel.spearman_r:.3f}; slope of log wage on exposure = {wrel.slope:.3f}.",
    )

    # --------------------------------------------------------------- age groups
    age_md = ""
    if cfg.age_table:
        at = read_age_table(cfg.age_table)
        if not at["industry"].astype(str).str.fullmatch(r"\d+").all():
            at = sections_to_industries(at, unmapped="drop", table=str(cfg.age_table))
        at = at.assign(industry=at["industry"].astype(int))
        age = age_group_exposure(at, ind_scores[[*models, COMBINED, EXPERT]], table=str(cfg.age_table))
        f7 = fig("figure07_age_groups.png", plots.bar_chart(age[COMBINED], list(age.index), title="Figure 7: exposure by age group, LLMs", sort=False))
        write("age_groups.md", "# Age-group exposure (Figure 7)\n\n" + md_table(age.rename(columns=lab), digits=3))
        age_md = f"\n## Age groups\n\n[age_groups.md](age_groups.md)\n\n![Figure 7]({f7})\n"

    # ------------------------------------------------------------------ China
    from .china import china_relation
    from .china import write_outputs as write_china

    rel = china_relation(medium[[*models, COMBINED, EXPERT]].dropna(), n_boot=cfg.n_boot, n_perm=cfg.n_boot, seed=cfg.seed)
    files.extend(write_china(rel, out / "china", source=COMBINED, provenance=prov))
    cst = rel.within[(COMBINED, "weighted")]
    cnat = rel.national[(2017, COMBINED)]
    china_md = (
        "\n## China: official wages of post groups\n\n"
        f"[china/china_slopes.md](china/china_slopes.md): NBS 2017 wages of post groups (OCD large categories 2, 3, 4, 6) in "
        f"{rel.cells.table['section'].nunique()} industry sections against the combined LLM exposure. Within industries the slope of log wage "
        f"on exposure is {cst.slope:.2f} (CR1 se {cst.se:.2f}, {cst.n} cells, {cst.clusters} sections, df {cst.df}; wild cluster bootstrap "
        f"p = {cst.p_boot:.2g}, permutation p = {cst.p_perm:.2g}): {cst.verdict()}. Nationally, across the four groups, it is {cnat.slope:.2f} "
        f"(se {cnat.se:.2f}, df {cnat.df}, exact permutation p = {cnat.p_perm:.2g}). Six of the survey's sixteen sections (M, N, O, P, Q, R) "
        "are missing from the published copies. Moments files for `llm-labor calibrate` are in `china/`.\n\n"
        "![China within industries](china/figures/china_within_industry_scatter.png)\n\n![China nationally](china/figures/china_national_groups.png)\n"
    )

    # --------------------------------------------------------------------- US
    us_md = "\n## United States\n\nSkipped: shared data not found (set LLM_LABOR_SHARED_DATA).\n"
    headline_us = {}
    if cfg.us and shared_data_dir(required=False) is not None:
        from .us import run_us_path

        us = run_us_path(measure=cfg.us_measure)
        soc_sum = summarize_levels(us.soc, ["dv_rating_beta", "human_rating_beta"], levels=["major", "minor", "broad", "detailed", "onet"])
        rows = []
        for lv, s in soc_sum.items():
            d = s.describe
            rows.append({"level": lv, "count": int(d.loc["count", "dv_rating_beta"]), "mean GPT-4": d.loc["mean", "dv_rating_beta"], "mean human": d.loc["mean", "human_rating_beta"], "std GPT-4": d.loc["std", "dv_rating_beta"], "std human": d.loc["std", "human_rating_beta"], "Pearson r": s.pearson.formatted().iloc[0, 1], "Spearman rho": s.spearman.formatted().iloc[0, 1]})
        occ = us.occupations
        fu = fig("us_exposure_vs_wage.png", plots.scatter_fit(occ[cfg.us_measure], occ["a_median"], xlabel=f"Exposure ({cfg.us_measure})", ylabel="Median annual wage, USD (OEWS May 2025)", title="US occupations: exposure and wages", r=us.wage_relation["unweighted"].pearson_r, logy=True))
        sec = us.sectors.sort_values(cfg.us_measure, ascending=False)
        fs = fig("us_sector_exposure.png", plots.bar_chart(us.sectors[cfg.us_measure], list(us.sectors["sector_title"]), title=f"US sector exposure ({cfg.us_measure})"))
        wr = us.wage_relation
        write(
            "us_summary.md",
            "# US replication path\n\n"
            f"GPTs-are-GPTs `occ_level.csv` rebuilt from `full_labelset.tsv` (core tasks weight 2, others 1): {len(us.occ_level)} occupations x 6 measures, "
            f"max |difference| = {us.max_abs_diff:.3g}.\n\n## Beta exposure over the SOC hierarchy (GPT-4 vs human)\n\n"
            + md_table(pd.DataFrame(rows), index=False, digits=4)
            + f"\n\n## Exposure and wages, detailed occupations (SOC 2018, OEWS May 2025)\n\n{wr['unweighted'].n} occupations matched. "
            f"Pearson r (exposure, log median wage) = {wr['unweighted'].pearson_r:.3f} (p = {wr['unweighted'].pearson_p:.3g}); Spearman rho = {wr['unweighted'].spearman_r:.3f}. "
            f"Slope of log wage on exposure: {wr['unweighted'].slope:.3f} unweighted, {wr['employment_weighted'].slope:.3f} employment-weighted.\n\n"
            "## Sector exposure (OEWS sector x occupation employment)\n\n"
            + md_table(sec[["sector_title", cfg.us_measure, "coverage", "a_mean", "tot_emp"]], digits=3)
            + f"\n\nSector exposure against log mean wage over {us.sector_relation.n} sectors: Pearson r = {us.sector_relation.pearson_r:.3f} (p = {us.sector_relation.pearson_p:.3g}).",
        )
        us_md = f"\n## United States\n\n[us_summary.md](us_summary.md): GPTs-are-GPTs occupation scores rebuilt (max |diff| {us.max_abs_diff:.2g}), aggregated over SOC, joined to OEWS wages.\n\n![US exposure and wages]({fu})\n\n![US sectors]({fs})\n"
        headline_us = {"us_occ_level_max_abs_diff": us.max_abs_diff, "us_wage_pearson_r": wr["unweighted"].pearson_r, "us_sector_wage_pearson_r": us.sector_relation.pearson_r}

    # ------------------------------------------------------------------ report
    med = summaries["medium"]
    t5 = load_table5()
    headline = {
        "medium_mean": {m: float(med.describe.loc["mean", m]) for m in models},
        "medium_std": {m: float(med.describe.loc["std", m]) for m in models},
        "expert_vs_llm_r": comp.pearson_r,
        "industry_wage_r": wrel.pearson_r,
        "china_within_slope": cst.slope,
        "china_within_se": cst.se,
        "china_national_slope_2017": cnat.slope,
        **headline_us,
    }
    fmt_means = ", ".join(f"{lab(m)} {med.describe.loc['mean', m]:.2f}" for m in models)
    report = f"""# Exposure of occupations in China to LLMs: results

Inputs: {source}; industry shares from the paper's Table 4. All numbers below are recomputed by
`llm-labor empirics report`; provenance (package version, input hashes, parameters) is in
`provenance.json` and at the top of every markdown file and in each PNG's metadata.

## Table 1 at the medium level

Means: {fmt_means}. Full statistics, correlations with stars, Spearman and bootstrap intervals:
[table1.md](table1.md).

## Experts against LLMs (Figure 1)

Over {comp.n} medium categories the expert and combined LLM scores correlate at r = {comp.pearson_r:.3f}
(p = {comp.pearson_p:.2g}; Spearman {comp.spearman_r:.3f}). The fit line is LLM = {comp.intercept:.3f} + {comp.slope:.3f} x expert.
Mean absolute difference {comp.mean_abs_diff:.3f}; {comp.disagreement_share:.0%} of categories differ by more than
{comp.tolerance}; {comp.median_split_disagreement:.0%} fall on opposite sides of the two medians.

![Figure 1]({f1})

## Occupational exposure (Figures 2, 10, 11, 12)

![Figure 2]({f2})

![Figure 12]({f12})

![Figure 10]({f10})

![Figure 11]({f11})

Large-category scores here are means of the medium-category scores (the paper averages fine
occupations, which Table 2 does not list).

## Industries (Figures 6 and 15)

[industry_scores.md](industry_scores.md). Exposure against log wage across {wrel.n} industries: r = {wrel.pearson_r:.3f}.

![Figure 6]({f6})

![Figure 15]({f15})

![Industry exposure and wages]({fw})
{age_md}{china_md}
## Consistency of repeated LLM labels (Table 5, as published)

{md_table(t5.set_index('model'), digits=1)}
{us_md}"""
    write("report.md", report)
    pj = out / "provenance.json"
    pj.write_text(json.dumps({**prov.to_dict(), "headline": headline}, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    files.append(pj)
    return ReportResult(out_dir=out, files=tuple(files), headline=headline)
