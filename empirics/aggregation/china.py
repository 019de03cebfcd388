"""China's wage-exposure relation on official wages: NBS post groups against the paper's exposure.

NBS publishes the average annual wage of five post groups in enterprises above designated size;
they follow large categories 1, 2, 3, 4 and 6 of the occupational classification. Exposure
exists for categories 2-6 (the paper's Table 2 has no managers), so the relation uses the four
groups 2, 3, 4 and 6.

Exposure of a group
    * nationally: the mean of its medium categories' scores (the report's large-level convention);
    * in an industry: ``e[i, k] = Σ_{m∈k} s[m, i] e[m] / Σ_{m∈k} s[m, i]`` with ``s`` the paper's
      Table 4 shares (CLDS 2016) of medium category ``m`` in industry ``i``. The cell's weight is
      ``Σ_{m∈k} s[m, i]``, normalised to sum to one within its industry section.

NBS 2017 sections are mapped to the paper's industries by the bundled GB/T 4754-2017 crosswalk;
F (trade) and H (hotels and catering) both fall in industry 3 and so share their exposures.

Slopes of log wage on exposure
    * national, for each year: OLS across the four groups (n = 4, 2 degrees of freedom): classical
      se, t(2) interval and the exact permutation p-value over the 24 orderings of the exposures;
    * within industries, 2017: ``ln w[s, k] = α_s + b e[s, k]`` over the section x group cells,
      with a cluster-robust (CR1) se by section and a t(G-1) interval, a wild cluster bootstrap
      (Webb's six-point weights; restricted to b = 0 for the p-value, unrestricted for the
      percentile interval and the draws written to the moments file), and a permutation p-value
      that shuffles exposures among the cells of each section.

Exposure is treated as measured without error (the scores are a generated regressor).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ._validate import require_columns, require_numeric
from .errors import InputError, UnknownCodeError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

GROUPS = ("2", "3", "4", "6")
"""OCD large categories that have both an NBS wage and an exposure score."""
GROUP_COLUMNS = {"1": "managers_1", "2": "professionals_2", "3": "clerks_3", "4": "services_4", "6": "production_6"}
"""Columns of the industry x post-group wage table, by large category."""
MISSING_SECTIONS = ("M", "N", "O", "P", "Q", "R")
"""Sections the NBS 2017 industry x post-group table covers but whose rows were not available."""
from .data import BY_INDUSTRY_WAGES as BY_INDUSTRY  # noqa: E402
from .data import NATIONAL_WAGES as NATIONAL  # noqa: E402
PREMIUM_GROUPS = ("2", "6")
"""The skill premium's data counterpart: professional and technical over production personnel."""
WEBB = (-(1.5**0.5), -1.0, -(0.5**0.5), 0.5**0.5, 1.0, 1.5**0.5)


# ----------------------------------------------------------------------------- wage tables
def _read_csv(path, default: str, dtypes: dict):
    import pandas as pd

    from .data import bundled_path

    name = str(path) if path is not None else default
    try:
        return pd.read_csv(path if path is not None else bundled_path(default), dtype=dtypes, encoding="utf-8"), name
    except FileNotFoundError as exc:
        raise InputError(f"wage table not found: {name}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from exc
    except pd.errors.ParserError as exc:
        raise InputError(f"{name}: not a readable CSV: {exc}") from exc


def _line(i) -> int:
    """1-based line in the file of row ``i`` of a table read with one header line."""
    return int(i) + 2


def _positive_wages(t, column: str, name: str):
    """Column ``column`` as floats; the first value that is not a positive number is a located error."""
    import numpy as np

    for i, v in t[column].items():
        try:
            ok = np.isfinite(float(v)) and float(v) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise InputError(f"{name}, line {_line(i)}, column {column!r}: wage must be a positive number, got {v!r}")
    return t[column].astype(float)


def load_national_wages(path=None) -> pd.DataFrame:
    """NBS national wages by post group: ``year, large, wage`` (yuan/year), groups 1-6 only.

    Columns ``year, ocd_large_category, avg_annual_wage_yuan`` (others are kept out); a row with
    an empty group is a total and is skipped. Errors name the file, line and column.
    """
    t, name = _read_csv(path, NATIONAL, {"ocd_large_category": str})
    require_columns(t, ["year", "ocd_large_category", "avg_annual_wage_yuan"], name)
    require_numeric(t, ["year"], name)
    t = t[t["ocd_large_category"].notna()]
    t = t.assign(large=t["ocd_large_category"].str.strip())
    for i, g in t["large"].items():
        if g not in GROUP_COLUMNS:
            raise UnknownCodeError(f"{name}, line {_line(i)}, column 'ocd_large_category': {g!r} is not an NBS post group; "
                                   f"the groups are large categories {sorted(GROUP_COLUMNS)}")
    t = t.assign(wage=_positive_wages(t, "avg_annual_wage_yuan", name))
    dup = t.duplicated(["year", "large"], keep=False)
    if dup.any():
        lines = [_line(i) for i in t.index[dup]]
        raise InputError(f"{name}: (year, group) repeated on lines {lines}")
    return t[["year", "large", "wage"]].reset_index(drop=True)


def load_industry_wages(path=None) -> pd.DataFrame:
    """NBS 2017 wages by industry section x post group: ``section, large, wage`` (total row dropped).

    Columns ``section, industry_cn, all_employed`` and one per group (``managers_1, professionals_2,
    clerks_3, services_4, production_6``); an unknown column is an error, so that a table whose
    groups do not match is never read as if they did.
    """
    t, name = _read_csv(path, BY_INDUSTRY, {"section": str})
    known = ("section", "industry_cn", "all_employed", *GROUP_COLUMNS.values())
    extra = [c for c in t.columns if c not in known]
    if extra:
        raise InputError(f"{name}, line 1: unknown column(s) {extra}; the columns are {list(known)}")
    require_columns(t, ["section", *GROUP_COLUMNS.values()], name)
    t = t[t["section"].notna()]
    for i, sec in t["section"].items():
        if sec not in set("ABCDEFGHIJKLMNOPQRST"):
            raise UnknownCodeError(f"{name}, line {_line(i)}, column 'section': {sec!r} is not a GB/T 4754-2017 section letter")
    dup = t.duplicated("section", keep=False)
    if dup.any():
        raise InputError(f"{name}: section repeated on lines {[_line(i) for i in t.index[dup]]}")
    t = t.assign(**{c: _positive_wages(t, c, name) for c in GROUP_COLUMNS.values()})
    long = t.melt(id_vars="section", value_vars=list(GROUP_COLUMNS.values()), var_name="group", value_name="wage")
    long["large"] = long["group"].map({v: k for k, v in GROUP_COLUMNS.items()})
    return long[["section", "large", "wage"]]


# ----------------------------------------------------------------------------- exposure
def _large_of(codes) -> list[str]:
    return [str(c).split("-")[0] for c in codes]


def national_exposure(medium: pd.DataFrame) -> pd.DataFrame:
    """Large category x source exposure: the mean over the category's medium categories.

    ``medium``: index medium codes (``2-01``), one column per exposure source.
    """
    require_numeric(medium, list(medium.columns), "medium scores", allow_nan=True)
    out = medium.groupby(_large_of(medium.index)).mean()
    out.index.name = "large"
    return out.loc[[g for g in GROUPS if g in out.index]]


def cell_exposure(medium: pd.DataFrame, shares: pd.DataFrame) -> pd.DataFrame:
    """Exposure of each (industry, large category) cell, weighted by the industry's Table 4 shares.

    Returns a long table ``industry_id, large, share, <one column per source>``: ``share`` is the
    summed share of the category's scored medium categories in the industry's employment. Cells
    whose category holds no scored employment in the industry are left out.
    """
    import numpy as np
    import pandas as pd

    require_numeric(medium, list(medium.columns), "medium scores")
    s = shares.loc[[c for c in shares.index if c in medium.index]]
    rows = []
    for k in GROUPS:
        members = [c for c in s.index if c.split("-")[0] == k]
        if not members:
            continue
        S = s.loc[members].to_numpy(dtype=float)  # (m, industries)
        X = medium.loc[members].to_numpy(dtype=float)  # (m, sources)
        tot = S.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            e = (S.T @ X) / tot[:, None]
        for j, ind in enumerate(s.columns):
            if tot[j] > 0:
                rows.append({"industry_id": int(ind), "large": k, "share": float(tot[j]), **dict(zip(medium.columns, e[j]))})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Cells:
    """The 2017 section x group cells with wages, exposures and weights, and what the join lost."""

    table: pd.DataFrame
    """``section, industry_id, large, wage, log_wage, share, weight`` and one column per source."""
    dropped: tuple[str, ...]
    """Sections or cells that could not be used, each with the reason."""


def industry_cells(medium: pd.DataFrame, shares: pd.DataFrame, wages: pd.DataFrame, crosswalk: pd.DataFrame) -> Cells:
    """Join the NBS section x group wages to the cell exposures through the section crosswalk."""
    import numpy as np

    require_columns(crosswalk, ["section", "industry_id"], "section crosswalk")
    ce = cell_exposure(medium, shares)
    w = wages[wages["large"].isin(GROUPS)]
    cw = crosswalk.dropna(subset=["industry_id"]).assign(industry_id=lambda d: d["industry_id"].astype(int))
    dropped = []
    unmapped = sorted(set(w["section"]) - set(cw["section"]))
    for sec in unmapped:
        dropped.append(f"section {sec}: no industry in the crosswalk")
    m = w.merge(cw[["section", "industry_id"]], on="section", how="inner").merge(ce, on=["industry_id", "large"], how="left")
    miss = m[m["share"].isna()]
    for sec, k in miss[["section", "large"]].itertuples(index=False, name=None):
        dropped.append(f"cell ({sec}, {k}): no scored employment of category {k} in the section's industry")
    m = m.dropna(subset=["share"]).copy()
    m["log_wage"] = np.log(m["wage"])
    m["weight"] = m["share"] / m.groupby("section")["share"].transform("sum")
    cols = ["section", "industry_id", "large", "wage", "log_wage", "share", "weight"]
    m = m[cols + [c for c in medium.columns]].sort_values(["section", "large"]).reset_index(drop=True)
    return Cells(m, tuple(dropped))


# ----------------------------------------------------------------------------- inference
@dataclass(frozen=True)
class SlopeTest:
    """A slope of log wage on exposure with small-sample inference.

    ``se`` is classical (national) or CR1 cluster-robust by section (within industries); ``df`` the
    degrees of freedom of its t interval ``ci_t``. ``ci_boot`` is the wild cluster bootstrap's
    percentile interval (within industries only), ``p_boot`` its restricted bootstrap-t p-value,
    ``p_perm`` the permutation p-value; ``draws`` the unrestricted bootstrap slopes.
    """

    slope: float
    se: float
    n: int
    clusters: int | None
    df: int
    ci_t: tuple[float, float]
    p_t: float
    p_perm: float
    ci_boot: tuple[float, float] | None = None
    p_boot: float | None = None
    weighted: bool = False
    ci_level: float = 0.95
    draws: tuple[float, ...] = field(default=(), repr=False)

    @property
    def distinguishable(self) -> bool:
        """Whether every available test rejects a zero slope at 1 - ``ci_level``."""
        alpha = 1 - self.ci_level
        ps = [self.p_t, self.p_perm] + ([self.p_boot] if self.p_boot is not None else [])
        return all(p < alpha for p in ps)

    def verdict(self) -> str:
        alpha = 1 - self.ci_level
        if self.distinguishable:
            return f"different from zero at the {alpha:.0%} level by every test"
        return f"not distinguishable from zero at the {alpha:.0%} level"


def _t_interval(b: float, se: float, df: int, level: float) -> tuple[tuple[float, float], float]:
    from scipy import stats

    q = stats.t.ppf(0.5 + level / 2, df)
    p = float(2 * stats.t.sf(abs(b / se), df)) if se > 0 else float("nan")
    return (b - q * se, b + q * se), p


def national_slope(x, y, *, ci_level: float = 0.95) -> SlopeTest:
    """OLS slope across a handful of groups: classical se, t(n-2) interval, exact permutation p."""
    import itertools

    import numpy as np

    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    if n < 3:
        raise InputError(f"national slope: needs at least 3 groups, got {n}")
    if n > 8:
        raise InputError(f"national slope: the exact permutation test enumerates n! orderings; {n} groups is too many")
    dx = x - x.mean()
    sxx = (dx * dx).sum()
    if sxx <= 0:
        raise InputError("national slope: exposure does not vary across groups")
    dy = y - y.mean()
    b = float((dx * dy).sum() / sxx)
    e = dy - b * dx
    se = float(np.sqrt((e * e).sum() / (n - 2) / sxx))
    ci, p_t = _t_interval(b, se, n - 2, ci_level)
    perms = np.array(list(itertools.permutations(range(n))))
    bp = (dx[perms] * dy).sum(axis=1) / sxx
    p_perm = float(np.mean(np.abs(bp) >= abs(b) * (1 - 1e-12)))
    return SlopeTest(b, se, n, None, n - 2, ci, p_t, p_perm, ci_level=ci_level)


def within_slope(x, y, clusters, w=None, *, n_boot: int = 9999, n_perm: int = 9999, seed: int = 0, ci_level: float = 0.95) -> SlopeTest:
    """Slope of ``y`` on ``x`` with cluster fixed effects; CR1 se, wild cluster bootstrap, permutation.

    ``clusters`` labels each cell's section; fixed effects and clusters are both the sections.
    ``rng = numpy.random.default_rng(seed)`` drives the bootstrap weights and the permutations.
    """
    import numpy as np

    x, y = np.asarray(x, float), np.asarray(y, float)
    cl = np.asarray(clusters)
    weighted = w is not None
    w = np.ones_like(x) if w is None else np.asarray(w, float)
    if not (len(x) == len(y) == len(cl) == len(w)):
        raise InputError("within slope: exposure, wage, cluster and weight arrays differ in length")
    labels, gi = np.unique(cl, return_inverse=True)
    G, n = len(labels), len(x)
    k = G + 1
    if G < 3 or n - k < 1:
        raise InputError(f"within slope: {n} cells in {G} sections leave no degrees of freedom")
    xy = np.stack([x, y])
    xt, yt = xy - _group_means(xy, gi, w, G)
    sxx = (w * xt * xt).sum()
    if sxx <= 0:
        raise InputError("within slope: exposure does not vary within any section")
    b = float((w * xt * yt).sum() / sxx)
    c = (G / (G - 1)) * ((n - 1) / (n - k))
    A = np.bincount(gi, weights=w * xt * yt, minlength=G)  # Σ_g w x̃ ỹ
    B = np.bincount(gi, weights=w * xt * xt, minlength=G)  # Σ_g w x̃²
    score = A - b * B
    se = float(np.sqrt(c * (score * score).sum()) / sxx)
    ci, p_t = _t_interval(b, se, G - 1, ci_level)
    rng = np.random.default_rng(seed)
    V = rng.choice(np.asarray(WEBB), size=(n_boot, G))
    # unrestricted: y* = fit + v_g e, so b* = b + Σ_g v_g score_g / sxx
    draws = b + V @ score / sxx
    lo, hi = np.quantile(draws, [(1 - ci_level) / 2, (1 + ci_level) / 2])
    # restricted (b = 0): y* = α_s + v_g ỹ; bootstrap t against the data's t
    bs = V @ A / sxx
    sc = V * A[None, :] - bs[:, None] * B[None, :]
    ses = np.sqrt(c * (sc * sc).sum(axis=1)) / sxx
    with np.errstate(invalid="ignore", divide="ignore"):
        ts = bs / ses
    p_boot = float((1 + np.sum(np.abs(ts) >= abs(b / se))) / (n_boot + 1))
    # permutation: shuffle exposures among each section's cells
    order = np.argsort(gi, kind="stable")
    starts = np.searchsorted(gi[order], np.arange(G))
    ends = np.append(starts[1:], n)
    hits = 0
    for s in range(0, n_perm, 1000):
        m = min(1000, n_perm - s)
        idx = np.tile(np.arange(n), (m, 1))
        for a, z in zip(starts, ends):
            pos = order[a:z]
            keys = rng.random((m, len(pos)))
            idx[:, pos] = pos[np.argsort(keys, axis=1)]
        xp = x[idx]
        xpt = xp - _group_means(xp, gi, w, G)
        bp = (w * xpt * yt).sum(axis=1) / (w * xpt * xpt).sum(axis=1)
        hits += int(np.sum(np.abs(bp) >= abs(b) * (1 - 1e-12)))
    p_perm = float((1 + hits) / (n_perm + 1))
    return SlopeTest(b, se, n, G, G - 1, ci, p_t, p_perm, (float(lo), float(hi)), p_boot, weighted, ci_level,
                     tuple(float(d) for d in draws))


def _group_means(v, gi, w, G):
    """Weighted group means of each row of ``v`` (R, n), broadcast back to the cells."""
    import numpy as np

    W = np.bincount(gi, weights=w, minlength=G)
    sums = np.stack([np.bincount(gi, weights=w * row, minlength=G) for row in v])
    return (sums / W)[:, gi]


# ----------------------------------------------------------------------------- the whole relation
@dataclass(frozen=True)
class ChinaRelation:
    """Everything :func:`china_relation` computes."""

    national_exposure: pd.DataFrame
    national_wages: pd.DataFrame
    national: dict
    """``{(year, source): SlopeTest}``."""
    cells: Cells
    within: dict
    """``{(source, "weighted" | "unweighted"): SlopeTest}``."""
    premium: dict
    """Log wage ratio of professional to production personnel: national by year, by section, value and se."""
    sources: tuple[str, ...]


def skill_premium(national_wages: pd.DataFrame, industry_wages: pd.DataFrame, year: int = 2017) -> dict:
    """ln(W_2 / W_6): nationally for each year, and its spread over the 2017 sections.

    The se of the national figure is the standard deviation of the sections' log ratios over
    the square root of their number: how much the premium moves with the mix of industries,
    which dwarfs the survey's sampling error.
    """
    import numpy as np

    hi, lo = PREMIUM_GROUPS
    nat = national_wages.pivot(index="year", columns="large", values="wage")
    by_year = {int(y): float(np.log(nat.loc[y, hi] / nat.loc[y, lo])) for y in nat.index}
    iw = industry_wages.pivot(index="section", columns="large", values="wage")
    by_sec = np.log(iw[hi] / iw[lo])
    if year not in by_year:
        raise InputError(f"skill premium: no national wages for {year}; years are {sorted(by_year)}")
    se = float(by_sec.std(ddof=1) / np.sqrt(len(by_sec)))
    return {"value": by_year[year], "se": se, "year": year, "groups": [hi, lo], "national_by_year": by_year,
            "by_section": {str(k): float(v) for k, v in by_sec.items()}, "n_sections": int(len(by_sec))}


def china_relation(medium: pd.DataFrame | None = None, *, shares: pd.DataFrame | None = None, national_wages: pd.DataFrame | None = None,
                   industry_wages: pd.DataFrame | None = None, crosswalk: pd.DataFrame | None = None, n_boot: int = 9999, n_perm: int = 9999,
                   seed: int = 0, ci_level: float = 0.95) -> ChinaRelation:
    """National and within-industry slopes for every exposure source (columns of ``medium``).

    Defaults: the paper's Table 2 (GLM, InternLM, GPT-4, combined ``llm``, ``expert``), its Table 4
    shares, the bundled NBS wages and the section crosswalk.
    """
    import numpy as np

    from .data import load_section_crosswalk, load_table2
    from .industry import table4_shares

    if medium is None:
        medium = load_table2().set_index("code")[["glm", "internlm", "gpt4", "combined", "expert"]].rename(columns={"combined": "llm"})
    shares = table4_shares() if shares is None else shares
    nw = load_national_wages() if national_wages is None else national_wages
    iw = load_industry_wages() if industry_wages is None else industry_wages
    cw = load_section_crosswalk() if crosswalk is None else crosswalk
    sources = tuple(str(c) for c in medium.columns)
    ne = national_exposure(medium)
    missing = [g for g in GROUPS if g not in ne.index]
    if missing:
        raise UnknownCodeError(f"medium scores: no scored medium category in large category(ies) {missing}")
    national = {}
    for year, part in nw[nw["large"].isin(GROUPS)].groupby("year"):
        lacking = [g for g in GROUPS if g not in set(part["large"])]
        if lacking:
            raise InputError(f"national wages: year {int(year)} has no wage for post group(s) {lacking}; every year needs groups {list(GROUPS)}")
        part = part.set_index("large").loc[list(GROUPS)]
        for s in sources:
            national[(int(year), s)] = national_slope(ne.loc[list(GROUPS), s], np.log(part["wage"]), ci_level=ci_level)
    cells = industry_cells(medium, shares, iw, cw)
    t = cells.table
    within = {}
    for j, s in enumerate(sources):
        for side, wt in (("weighted", t["weight"]), ("unweighted", None)):
            within[(s, side)] = within_slope(t[s], t["log_wage"], t["section"], wt, n_boot=n_boot, n_perm=n_perm, seed=seed + j,
                                             ci_level=ci_level)
    prem = skill_premium(nw, iw[iw["large"].isin(PREMIUM_GROUPS)])
    return ChinaRelation(ne, nw, national, cells, within, prem, sources)


# ----------------------------------------------------------------------------- moments files
def moments_document(rel: ChinaRelation, *, source: str = "llm", scope: str = "within", year: int = 2017, provenance: dict | None = None) -> dict:
    """A ``llm-labor/moments`` document for calibration.

    ``scope="within"``: ``moments.log_wage.{weighted,unweighted}`` are the within-industry slopes
    over the 2017 cells (se = CR1 by section; draws = the unrestricted wild cluster bootstrap).
    ``scope="national"``: ``moments.log_wage.unweighted`` is the national slope of ``year`` across
    the four groups (se classical; draws = slope + se x t(2) variates, seeded). The file carries no
    ``units`` table, since resampling cells one by one would ignore the fixed effects and the
    clusters; the cells are under ``cells`` for reading, with the inference under each moment.
    """
    import numpy as np

    if source not in rel.sources:
        raise InputError(f"moments: unknown exposure source {source!r}; sources are {list(rel.sources)}")

    def entry(st: SlopeTest, draws) -> dict:
        return {"slope": st.slope, "se": st.se, "n": st.n, "clusters": st.clusters, "df": st.df, "weighted": st.weighted,
                "ci_low": st.ci_t[0], "ci_high": st.ci_t[1], "ci_level": st.ci_level, "p_t": st.p_t, "p_permutation": st.p_perm,
                "p_wild_bootstrap": st.p_boot, "ci_bootstrap": None if st.ci_boot is None else list(st.ci_boot),
                "distinguishable_from_zero": st.distinguishable, "verdict": st.verdict(), "bootstrap_draws": list(draws)}

    t = rel.cells.table
    if scope == "within":
        mom = {side: entry(rel.within[(source, side)], rel.within[(source, side)].draws) for side in ("weighted", "unweighted")}
        cells = [{"section": r.section, "industry_id": int(r.industry_id), "large": r.large, "exposure": float(getattr(r, source)),
                  "log_wage": float(r.log_wage), "weight": float(r.weight)} for r in t.itertuples(index=False)]
        unit, level, period = "industry section x post group", "NBS post groups (OCD large categories 2, 3, 4, 6) within 10 industry sections", "2017"
        regression = ("log annual wage on exposure with industry-section fixed effects; least squares; se = CR1 cluster-robust by section, "
                      "t(G-1) interval; draws = wild cluster bootstrap (Webb weights), unrestricted")
        weights = "weighted: each cell's share of its industry's employment (Table 4, normalised within the section); unweighted: equal"
    elif scope == "national":
        key = (year, source)
        if key not in rel.national:
            raise InputError(f"moments: no national slope for year {year}; years are {sorted({y for y, _ in rel.national})}")
        st = rel.national[key]
        rng = np.random.default_rng(year)
        draws = st.slope + st.se * rng.standard_t(st.df, size=9999)
        mom = {"unweighted": entry(st, draws)}
        nw = rel.national_wages
        wy = nw[(nw["year"] == year)].set_index("large")["wage"]
        cells = [{"large": g, "exposure": float(rel.national_exposure.loc[g, source]), "log_wage": float(np.log(wy[g]))} for g in GROUPS]
        unit, level, period = "post group", "NBS post groups (OCD large categories 2, 3, 4, 6), national", str(year)
        regression = "log annual wage on exposure across groups; least squares; se classical, t(2) interval; draws = slope + se x t(2), seed = year"
        weights = "none (NBS publishes no employment by post group)"
    else:
        raise InputError(f"moments: scope must be 'within' or 'national', got {scope!r}")
    return {
        "format": "llm-labor/moments",
        "version": 1,
        "source": "China: paper Table 2 exposure x Table 4 shares x NBS wages by post group (real data)",
        "unit": unit,
        "level": level,
        "period": period,
        "exposure_measure": source,
        "regression": regression,
        "weights": weights,
        "moments": {"log_wage": mom},
        "by_source": _by_source(rel, scope, year),
        "skill_premium": {k: v for k, v in rel.premium.items()},
        "cells": cells,
        "dropped": list(rel.cells.dropped),
        "missing_sections": {"sections": list(MISSING_SECTIONS),
                             "note": "the NBS 2017 industry x post-group table has 16 sections; rows M, N, O, P, Q, R were not available"},
        "provenance": provenance or {},
    }


def _by_source(rel: ChinaRelation, scope: str, year: int) -> dict:
    """Slope and se of every exposure source (calibration re-estimates with each)."""
    if scope == "within":
        return {s: {side: {"slope": rel.within[(s, side)].slope, "se": rel.within[(s, side)].se} for side in ("weighted", "unweighted")}
                for s in rel.sources}
    return {s: {"unweighted": {"slope": rel.national[(year, s)].slope, "se": rel.national[(year, s)].se}} for s in rel.sources}


def slopes_table(rel: ChinaRelation) -> pd.DataFrame:
    """One row per slope: scope, year, source, weighting, slope, se, df, intervals, p-values, verdict."""
    import pandas as pd

    rows = []
    for (s, side), st in rel.within.items():
        rows.append({"scope": "within industries", "year": 2017, "source": s, "weights": side, **_row(st)})
    for (y, s), st in sorted(rel.national.items()):
        rows.append({"scope": "national", "year": y, "source": s, "weights": "unweighted", **_row(st)})
    return pd.DataFrame(rows)


def _row(st: SlopeTest) -> dict:
    return {"slope": st.slope, "se": st.se, "n": st.n, "clusters": st.clusters if st.clusters is not None else "", "df": st.df,
            "ci_low": st.ci_t[0], "ci_high": st.ci_t[1], "p_t": st.p_t, "p_perm": st.p_perm,
            "p_wild": st.p_boot if st.p_boot is not None else float("nan"), "verdict": st.verdict()}


# ----------------------------------------------------------------------------- files
def write_outputs(rel: ChinaRelation, out_dir, *, source: str = "llm", provenance=None) -> list:
    """Write ``china_cells.csv``, ``china_slopes.csv``, ``china_slopes.md``, the two moments files and
    the within-industry scatter; ``provenance`` is a :class:`~empirics.aggregation.provenance.Provenance`."""
    import json
    from pathlib import Path

    from . import plots

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from llm_labor.common.provenance import git_commit

    pdict = {**(provenance.to_dict() if provenance is not None else {}), "git_commit": git_commit()}
    files = []
    cells = out / "china_cells.csv"
    rel.cells.table.to_csv(cells, index=False)
    slopes = slopes_table(rel)
    slopes.to_csv(out / "china_slopes.csv", index=False)
    files += [cells, out / "china_slopes.csv"]
    md = out / "china_slopes.md"
    head = provenance.markdown_comment() + "\n\n" if provenance is not None else ""
    md.write_text(head + china_markdown(rel, slopes) + "\n", encoding="utf-8")
    files.append(md)
    for scope, name in (("within", "moments_china_nbs.json"), ("national", "moments_china_nbs_national.json")):
        doc = moments_document(rel, source=source, scope=scope, provenance=pdict)
        p = out / name
        tmp = p.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=2, default=float) + "\n", encoding="utf-8")
        tmp.replace(p)
        files.append(p)
    files.append(plots.save(within_scatter(rel, source), out / "figures" / "china_within_industry_scatter.png", provenance))
    files.append(plots.save(national_scatter(rel, source), out / "figures" / "china_national_groups.png", provenance))
    return files


def china_markdown(rel: ChinaRelation, slopes=None) -> str:
    """The China section's text: cells, slopes with inference, the premium, and what the data cannot say."""
    from .data import MODEL_LABELS
    from .report import md_table

    slopes = slopes_table(rel) if slopes is None else slopes
    lab = lambda s: MODEL_LABELS.get(s, s)  # noqa: E731
    t = rel.cells.table
    w = slopes[slopes["scope"] == "within industries"].copy()
    n = slopes[slopes["scope"] == "national"].copy()
    for d in (w, n):
        d["source"] = d["source"].map(lab)
    cols = ["source", "weights", "slope", "se", "n", "clusters", "df", "ci_low", "ci_high", "p_t", "p_perm", "p_wild", "verdict"]
    ncols = ["year", "source", "slope", "se", "n", "df", "ci_low", "ci_high", "p_t", "p_perm", "verdict"]
    p = rel.premium
    st = rel.within[("llm", "weighted")] if ("llm", "weighted") in rel.within else next(iter(rel.within.values()))
    dropped = "; ".join(rel.cells.dropped) or "none"
    return f"""# China: wages of NBS post groups against LLM exposure

Wages: NBS average annual wage of post groups in enterprises above designated size (2017, 2018,
2022 nationally; 2017 by industry section). Post groups follow OCD large categories 2
(professional and technical), 3 (clerks), 4 (social production and life services) and 6
(production and manufacturing); managers (1) have no exposure score. Exposure: the paper's
Table 2 scores, averaged over each category's medium categories nationally, and weighted by the
Table 4 (CLDS 2016) employment shares within each industry for the industry cells.

**Coverage.** {len(t)} cells in {t['section'].nunique()} industry sections ({', '.join(sorted(t['section'].unique()))}).
The NBS table has 16 sections; the rows of {', '.join(MISSING_SECTIONS)} (science and technical services,
water and environment, resident services, education, health, culture) were not available, so the
most exposed industries of the paper are missing. Cells dropped: {dropped}. Sections F and H share
the paper's industry 3, and so their exposures.

## Within industries, 2017 (industry fixed effects)

Slope of log wage on exposure; se = CR1 cluster-robust by section with a t({st.df}) interval;
p_wild = wild cluster bootstrap-t with Webb weights, null imposed; p_perm = exposures shuffled
among each section's cells. With {st.clusters} clusters every p-value is approximate; a slope is
called distinguishable from zero only when all three tests reject at 5%.

{md_table(w[cols], index=False, digits=3)}

## Nationally, by year (four groups)

With four groups there are 2 degrees of freedom (the 5% critical t is 4.30), and the exact
permutation test over the 24 orderings of the exposures cannot give a p-value below 1/24 = 0.042:
a national slope has to be very large and very tight to be told from zero.

{md_table(n[ncols], index=False, digits=3)}

## Skill premium

ln(professional / production wage) = {p['value']:.4f} in {p['year']} nationally ({', '.join(f"{y}: {v:.3f}" for y, v in p['national_by_year'].items())});
across the {p['n_sections']} sections it ranges {min(p['by_section'].values()):.3f}-{max(p['by_section'].values()):.3f}, which gives the
se {p['se']:.3f} used for it as a calibration moment.

## What these numbers do not say

- The groups are coarse: four groups per industry, 38 cells in all. The slope compares whole
  post groups, not occupations.
- The survey covers enterprises above designated size only: no small firms, no self-employed,
  no agriculture, no public institutions in the missing sections.
- Exposure is a rubric score from 2023-era LLMs; it is treated as measured without error.
"""


def within_scatter(rel: ChinaRelation, source: str = "llm"):
    """Cells' log wage net of section means against exposure net of section means, coloured by section."""
    import numpy as np

    from .data import MODEL_LABELS
    from .plots import _new, _with_fonts

    @_with_fonts
    def draw():
        t = rel.cells.table
        gi = np.unique(t["section"], return_inverse=True)[1]
        w = t["weight"].to_numpy()
        G = gi.max() + 1
        x = t[source].to_numpy() - _group_means(t[source].to_numpy()[None, :], gi, w, G)[0]
        y = t["log_wage"].to_numpy() - _group_means(t["log_wage"].to_numpy()[None, :], gi, w, G)[0]
        fig, ax = _new((7.5, 5.5))
        import matplotlib.pyplot as plt

        cmap = plt.get_cmap("tab10")
        for j, sec in enumerate(sorted(t["section"].unique())):
            m = (t["section"] == sec).to_numpy()
            ax.scatter(x[m], y[m], s=20 + 400 * w[m], color=cmap(j % 10), alpha=0.8, edgecolor="white", linewidth=0.5, label=f"section {sec}")
            for xi, yi, g in zip(x[m], y[m], t.loc[m, "large"]):
                ax.annotate(g, (xi, yi), fontsize=6, xytext=(2, 2), textcoords="offset points")
        xs = np.linspace(x.min(), x.max(), 20)
        for side, ls in (("weighted", "-"), ("unweighted", "--")):
            st = rel.within[(source, side)]
            ax.plot(xs, st.slope * xs, ls, color="#333333", lw=1.3, label=f"{side}: slope {st.slope:.2f} (se {st.se:.2f}, p_wild {st.p_boot:.2g})")
        ax.set_xlabel(f"exposure, net of the section's mean ({MODEL_LABELS.get(source, source)})")
        ax.set_ylabel("log annual wage, net of the section's mean")
        ax.set_title("China 2017: post groups within industry sections (NBS)\nmarker area: share of the industry's employment")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
        return fig

    return draw()


def national_scatter(rel: ChinaRelation, source: str = "llm"):
    """National log wage of the four groups against their exposure, one line per year."""
    import numpy as np

    from .data import MODEL_LABELS
    from .plots import _new, _with_fonts

    @_with_fonts
    def draw():
        fig, ax = _new((7, 5))
        x = rel.national_exposure.loc[list(GROUPS), source].to_numpy()
        nw = rel.national_wages
        for j, (year, part) in enumerate(nw[nw["large"].isin(GROUPS)].groupby("year")):
            y = np.log(part.set_index("large").loc[list(GROUPS), "wage"].to_numpy())
            st = rel.national[(int(year), source)]
            ax.scatter(x, y, color=f"C{j}")
            xs = np.linspace(x.min(), x.max(), 10)
            ax.plot(xs, y.mean() + st.slope * (xs - x.mean()), color=f"C{j}", lw=1.2,
                    label=f"{year}: slope {st.slope:.2f} (se {st.se:.2f}, df {st.df}, p_perm {st.p_perm:.2f})")
            if j == 0:
                for xi, yi, g in zip(x, y, GROUPS):
                    ax.annotate(f"group {g}", (xi, yi), fontsize=7, xytext=(3, -9), textcoords="offset points")
        ax.set_xlabel(f"exposure of the large category ({MODEL_LABELS.get(source, source)})")
        ax.set_ylabel("log average annual wage, yuan (NBS)")
        ax.set_title("China: NBS post groups nationally")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        return fig

    return draw()
