"""US replication path: Eloundou et al.'s GPTs-are-GPTs labels, the SOC hierarchy and BLS OEWS wages.

* :func:`occ_level_from_tasks` rebuilds GPTs-are-GPTs' ``occ_level.csv`` from the task labels:
  for each O*NET-SOC occupation and rater (``dv_rating`` = GPT-4, ``human_rating`` = annotators),
  the task-weighted mean of alpha = E1, beta = E1 + 0.5 E2 and gamma = E1 + E2, with core tasks
  weighted 2 and all others 1 (``coreweight`` in ``full_onet_data.tsv``).
* :func:`soc_scores` aggregates those occupation scores over the SOC hierarchy;
  :func:`detect_soc_vintage` reads the SOC edition from the codes (GPTs-are-GPTs uses O*NET-SOC
  2019, i.e. SOC 2018 codes) and :func:`join_oews` joins them to OEWS on that edition, moving SOC
  2010 codes with the BLS crosswalk only when the codes are SOC 2010, and reports what it
  matched, remapped and dropped.
* :func:`occupation_wage_relation` and :func:`sector_exposure` join BLS OEWS May 2025 wages and
  the sector x occupation employment matrix.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ._validate import preview, require_columns
from .errors import DataNotFoundError, InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

RATERS = {"dv_rating": "gpt4_exposure", "human_rating": "human_exposure_agg"}
"""occ_level.csv column prefix -> task label column of full_labelset.tsv."""
MEASURES = {"alpha": {"E1": 1.0}, "beta": {"E1": 1.0, "E2": 0.5}, "gamma": {"E1": 1.0, "E2": 1.0}}
"""Exposure measures as weights of the E labels (E0 counts 0)."""
LABELS = ("E0", "E1", "E2")
OCC_COLUMNS = tuple(f"{r}_{m}" for r in RATERS for m in MEASURES)
CODE = "O*NET-SOC Code"
_NA = ["-", "*", "#", "**"]


def _dir(sub: str, path: str | Path | None) -> Path:
    from .data import shared_data_dir

    d = Path(path) if path is not None else shared_data_dir() / sub
    if not d.is_dir():
        raise DataNotFoundError(f"{sub} data folder not found: {d}")
    return d


def _file(d: Path, name: str) -> Path:
    p = d / name
    if not p.is_file():
        raise DataNotFoundError(f"data file not found: {p}")
    return p


def load_task_labels(path: str | Path | None = None) -> pd.DataFrame:
    """GPTs-are-GPTs task labels with their core weights (``full_labelset.tsv`` + ``full_onet_data.tsv``)."""
    import pandas as pd

    d = _dir("gpts-are-gpts", path)
    lab = pd.read_csv(_file(d, "full_labelset.tsv"), sep="\t", index_col=0)
    onet = pd.read_csv(_file(d, "full_onet_data.tsv"), sep="\t", index_col=0)
    require_columns(lab, [CODE, "Task ID", "Title", *RATERS.values()], "full_labelset.tsv")
    require_columns(onet, [CODE, "Task ID", "coreweight"], "full_onet_data.tsv")
    m = lab.merge(onet[[CODE, "Task ID", "coreweight"]], on=[CODE, "Task ID"], how="left", validate="one_to_one")
    if m["coreweight"].isna().any():
        raise InputError(f"full_onet_data.tsv: no core weight for {int(m['coreweight'].isna().sum())} task(s)")
    return m


def task_scores(labels: pd.DataFrame, *, weight_col: str = "coreweight") -> pd.DataFrame:
    """Tidy task-level scores: ``code, title, model, score, weight``; ``model`` is e.g. ``dv_rating_beta``."""
    import pandas as pd

    require_columns(labels, [CODE, "Title", weight_col, *RATERS.values()], "task labels")
    parts = []
    for rater, col in RATERS.items():
        lab = labels[col]
        bad = sorted(set(lab.dropna()) - set(LABELS)) + (["<missing>"] if lab.isna().any() else [])
        if bad:
            raise InputError(f"task labels: column {col!r} has labels outside {LABELS}: {preview(bad)}")
        for meas, wts in MEASURES.items():
            parts.append(
                pd.DataFrame(
                    {
                        "code": labels[CODE].to_numpy(),
                        "title": labels["Title"].to_numpy(),
                        "model": f"{rater}_{meas}",
                        "score": lab.map(lambda e, w=wts: w.get(e, 0.0)).to_numpy(dtype=float),
                        "weight": labels[weight_col].to_numpy(dtype=float),
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def occ_level_from_tasks(labels: pd.DataFrame, *, weight_col: str = "coreweight") -> pd.DataFrame:
    """Rebuild ``occ_level.csv``: task-weighted means per O*NET-SOC occupation, in its column layout."""
    from .hierarchy import ONET_SOC, aggregate, to_wide

    ts = task_scores(labels, weight_col=weight_col)
    agg = aggregate(ts, ONET_SOC, levels="onet", weight_col="weight", exclude=(), table="task labels")
    wide = to_wide(agg, models=list(OCC_COLUMNS))
    titles = ts.drop_duplicates("code").set_index("code")["title"]
    out = wide.reset_index().rename(columns={"code": CODE})
    out.insert(1, "Title", out[CODE].map(titles))
    return out


def load_occ_level(path: str | Path | None = None) -> pd.DataFrame:
    """GPTs-are-GPTs' published ``occ_level.csv`` (923 O*NET-SOC occupations)."""
    import pandas as pd

    d = _dir("gpts-are-gpts", path)
    t = pd.read_csv(_file(d, "occ_level.csv"))
    require_columns(t, [CODE, "Title", *OCC_COLUMNS], "occ_level.csv")
    return t


def soc_scores(occ_level: pd.DataFrame, *, measures=OCC_COLUMNS, method: str = "fine_mean") -> pd.DataFrame:
    """Aggregate O*NET-SOC occupation scores to every SOC level (major ... detailed, onet)."""
    from .hierarchy import ONET_SOC, aggregate, from_wide

    long = from_wide(occ_level, list(measures), code_col=CODE, table="occupation scores")
    return aggregate(long, ONET_SOC, method=method, exclude=(), table="occupation scores")


def load_soc_crosswalk(path: str | Path | None = None) -> pd.DataFrame:
    """BLS SOC 2010 -> 2018 crosswalk (many-to-many)."""
    import pandas as pd

    d = _dir("soc-crosswalk", path)
    c = pd.read_csv(_file(d, "soc_2010_to_2018.csv"), dtype=str)
    require_columns(c, ["soc_2010_code", "soc_2018_code"], "soc_2010_to_2018.csv")
    return c


def to_soc2018(detailed_2010: pd.DataFrame, crosswalk: pd.DataFrame) -> pd.DataFrame:
    """Detailed SOC 2010 scores (code x measure, index = code) -> SOC 2018: each 2018 code gets the
    mean over the 2010 codes linked to it. Returns the table plus ``n_2010`` links used."""
    require_columns(crosswalk, ["soc_2010_code", "soc_2018_code"], "SOC crosswalk")
    cols = list(detailed_2010.columns)
    m = crosswalk[["soc_2010_code", "soc_2018_code"]].drop_duplicates().merge(
        detailed_2010, left_on="soc_2010_code", right_index=True, how="inner"
    )
    g = m.groupby("soc_2018_code")
    out = g[cols].mean()
    out["n_2010"] = g.size()
    out.index.name = "soc_code"
    return out


@dataclass(frozen=True)
class SocVintage:
    """Which SOC edition a set of detailed codes belongs to, read from the codes themselves.

    ``only_2010``/``only_2018``: codes that exist in one edition of the BLS crosswalk and not in
    the other; ``both``: codes of both; ``neither``: codes of neither.
    """

    vintage: str
    only_2010: tuple[str, ...]
    only_2018: tuple[str, ...]
    both: int
    neither: tuple[str, ...]

    def describe(self) -> str:
        return (f"{self.vintage}: {len(self.only_2018)} codes exist only in SOC 2018, {len(self.only_2010)} only in SOC 2010, "
                f"{self.both} in both, {len(self.neither)} in neither")


def detect_soc_vintage(codes, crosswalk: pd.DataFrame) -> SocVintage:
    """``"SOC 2018"`` or ``"SOC 2010"``: the edition more of the codes belong to alone (2018 on a tie)."""
    require_columns(crosswalk, ["soc_2010_code", "soc_2018_code"], "SOC crosswalk")
    c = set(map(str, codes))
    s10, s18 = set(crosswalk["soc_2010_code"].dropna()), set(crosswalk["soc_2018_code"].dropna())
    only10, only18 = sorted((c & s10) - s18), sorted((c & s18) - s10)
    vintage = "SOC 2010" if len(only10) > len(only18) else "SOC 2018"
    return SocVintage(vintage, tuple(only10), tuple(only18), len(c & s10 & s18), tuple(sorted(c - s10 - s18)))


@dataclass(frozen=True)
class CodeJoin:
    """What a join of occupation scores to OEWS wages matched, remapped and dropped.

    ``matched``: score codes joined to the OEWS row of the same code. ``remapped``: score code ->
    OEWS code, where OEWS publishes only an aggregate of the same broad group (its exposure is the
    mean over the score codes it holds) or, for SOC 2010 scores, the crosswalk's 2018 code.
    ``dropped``: score codes with no OEWS row. ``unscored``: OEWS detailed codes with no score.
    ``no_wage``: joined OEWS rows whose wage or employment is not published.
    """

    vintage: SocVintage
    matched: tuple[str, ...]
    remapped: dict
    dropped: tuple[str, ...]
    unscored: tuple[str, ...]
    no_wage: tuple[str, ...]

    def summary(self) -> str:
        agg = sorted(set(self.remapped.values()))
        return (f"score codes read as {self.vintage.describe()}; joined to OEWS: {len(self.matched)} directly, "
                f"{len(self.remapped)} remapped into {len(agg)} OEWS aggregate(s) ({', '.join(agg)}); "
                f"{len(self.dropped)} score codes have no OEWS row ({', '.join(self.dropped)}); "
                f"{len(self.unscored)} OEWS occupations have no score; {len(self.no_wage)} joined rows lack a published wage or employment")

    def to_dict(self) -> dict:
        return {"vintage": self.vintage.vintage, "vintage_evidence": self.vintage.describe(), "matched": len(self.matched),
                "remapped": dict(self.remapped), "dropped": list(self.dropped), "unscored": list(self.unscored), "no_wage": list(self.no_wage)}


def join_oews(detailed: pd.DataFrame, oews: pd.DataFrame, crosswalk: pd.DataFrame, *, wage_col: str = "a_median"):
    """Join detailed-occupation scores (index = SOC code, either edition) to OEWS detailed rows.

    The scores' SOC edition is detected from the codes (:func:`detect_soc_vintage`); SOC 2010
    scores are moved to 2018 with the crosswalk, SOC 2018 scores are joined as they are. OEWS
    publishes some detailed occupations only as an aggregate of their broad group (13-1020 for
    13-1021..13-1023, 25-2052 for 25-2055 and 25-2056): a score code with no OEWS row goes to the
    one OEWS code of its broad group that has no score of its own, other than an "All Other"
    residual (codes ending in 9). Returns ``(table, CodeJoin)``: OEWS columns plus the scores,
    one row per joined OEWS code.
    """
    import pandas as pd

    vint = detect_soc_vintage(detailed.index, crosswalk)
    remapped: dict[str, str] = {}
    if vint.vintage == "SOC 2010":
        moved = to_soc2018(detailed, crosswalk)
        links = crosswalk[crosswalk["soc_2010_code"].isin(detailed.index)]
        remapped.update({a: b for a, b in zip(links["soc_2010_code"], links["soc_2018_code"]) if a != b})
        scores = moved.drop(columns="n_2010")
    else:
        scores = detailed
    ocodes = set(oews["soc_code"])
    direct = [c for c in scores.index if c in ocodes]
    rest = [c for c in scores.index if c not in ocodes]
    free = sorted(ocodes - set(scores.index))
    to: dict[str, str] = {}
    for c in rest:
        cands = [o for o in free if o[:6] == c[:6] and not o.endswith("9")]
        if len(cands) == 1:
            to[c] = cands[0]
    remapped.update(to)
    dropped = tuple(sorted(c for c in rest if c not in to))
    agg = scores.loc[list(to)].groupby(pd.Series(to, name="soc_code")).mean() if to else scores.iloc[:0]
    table = pd.concat([scores.loc[direct], agg])
    table.index.name = "soc_code"
    j = oews.merge(table, left_on="soc_code", right_index=True, how="inner")
    missing = j[j[[wage_col, "tot_emp"]].isna().any(axis=1)]
    unscored = tuple(sorted(ocodes - set(table.index)))
    join = CodeJoin(vint, tuple(sorted(direct)), remapped, dropped, unscored, tuple(sorted(missing["soc_code"])))
    return j.dropna(subset=[wage_col, "tot_emp"]).reset_index(drop=True), join


def _num(s):
    import pandas as pd

    return pd.to_numeric(s.astype(str).str.replace(",", "", regex=False).replace(_NA, None), errors="coerce")


def load_oews_national(path: str | Path | None = None) -> pd.DataFrame:
    """BLS OEWS May 2025 national detailed occupations (display level 3) with numeric wages."""
    import pandas as pd

    d = _dir("bls-oews", path)
    t = pd.read_csv(_file(d, "oews_may2025_national.csv"), dtype=str)
    require_columns(t, ["soc_code", "occ_title", "display_level", "tot_emp", "a_mean", "a_median"], "oews_may2025_national.csv")
    t = t[t["display_level"] == "3"].copy()
    for c in ("tot_emp", "a_mean", "a_median"):
        t[c] = _num(t[c])
    return t.reset_index(drop=True).pipe(pd.DataFrame)


def load_oews_sectors(path: str | Path | None = None) -> pd.DataFrame:
    """BLS OEWS May 2025 sector x occupation employment and wages (all display levels)."""
    d = _dir("bls-oews", path)
    import pandas as pd

    t = pd.read_csv(_file(d, "oews_may2025_national_sector_by_occ.csv"), dtype=str)
    require_columns(
        t, ["naics_sector", "sector_title", "soc_code", "occ_display_level", "tot_emp", "a_mean"], "oews_may2025_national_sector_by_occ.csv"
    )
    for c in ("tot_emp", "a_mean", "a_median"):
        if c in t:
            t[c] = _num(t[c])
    return t


@dataclass(frozen=True)
class USPath:
    """Results of :func:`run_us_path`."""

    occ_level: pd.DataFrame
    max_abs_diff: float
    soc: pd.DataFrame
    detailed_2018: pd.DataFrame
    occupations: pd.DataFrame
    wage_relation: dict
    sectors: pd.DataFrame
    sector_relation: object
    measure: str
    join: CodeJoin


def occupation_wage_relation(detailed: pd.DataFrame, oews: pd.DataFrame, crosswalk: pd.DataFrame, *, measure: str, wage_col: str = "a_median"):
    """Join exposure (index = detailed SOC code, edition detected) to OEWS wages; unweighted and
    employment-weighted fits. Returns ``(joined table, fits, CodeJoin)``."""
    from .industry import exposure_wage_relation

    if measure not in detailed.columns:
        raise InputError(f"SOC scores: no measure {measure!r}; have {list(detailed.columns)}")
    j, join = join_oews(detailed, oews, crosswalk, wage_col=wage_col)
    j = j.dropna(subset=[measure])
    rel = {
        "unweighted": exposure_wage_relation(j[measure], j[wage_col], table="US occupations"),
        "employment_weighted": exposure_wage_relation(j[measure], j[wage_col], weights=j["tot_emp"], table="US occupations"),
    }
    return j, rel, join


def sector_exposure(sectors: pd.DataFrame, detailed_2018: pd.DataFrame, *, measure: str) -> pd.DataFrame:
    """Exposure of each OEWS sector: employment shares of detailed occupations x exposure.

    Occupations without a score are dropped and the sector's shares renormalised; ``coverage``
    is the employment share that had a score. ``a_mean`` is the sector's all-occupation mean wage.
    """
    from .industry import industry_exposure, shares_from_employment

    det = sectors[(sectors["occ_display_level"] == "3")].dropna(subset=["tot_emp"])
    shares = shares_from_employment(det, occupation_col="soc_code", industry_col="naics_sector", value_col="tot_emp", table="OEWS sectors")
    ex = industry_exposure(shares, detailed_2018[[measure]], missing="drop", table="OEWS sectors")
    tot = sectors[sectors["soc_code"] == "00-0000"].set_index("naics_sector")
    ex["sector_title"] = tot["sector_title"].reindex(ex.index).str.replace(r"^Sector [\d-]+ - ", "", regex=True)
    ex["a_mean"] = tot["a_mean"].reindex(ex.index)
    ex["tot_emp"] = tot["tot_emp"].reindex(ex.index)
    return ex


def run_us_path(*, measure: str = "dv_rating_beta", wage_col: str = "a_median", shared: str | Path | None = None) -> USPath:
    """Run the whole US path on the shared data."""
    import numpy as np

    from .data import shared_data_dir
    from .hierarchy import to_wide
    from .industry import exposure_wage_relation

    base = Path(shared) if shared is not None else shared_data_dir()
    if measure not in OCC_COLUMNS:
        raise InputError(f"US path: measure must be one of {OCC_COLUMNS}, got {measure!r}")
    labels = load_task_labels(base / "gpts-are-gpts")
    rebuilt = occ_level_from_tasks(labels)
    published = load_occ_level(base / "gpts-are-gpts")
    a = published.set_index(CODE)[list(OCC_COLUMNS)].sort_index()
    b = rebuilt.set_index(CODE)[list(OCC_COLUMNS)].reindex(a.index)
    if b.isna().any().any():
        missing = a.index[b.isna().any(axis=1)]
        raise InputError(f"occ_level.csv: occupations not rebuilt from the task labels: {preview(missing)}")
    diff = float(np.abs(a.to_numpy() - b.to_numpy()).max())
    soc = soc_scores(rebuilt)
    detailed = to_wide(soc, level="detailed")
    crosswalk = load_soc_crosswalk(base / "soc-crosswalk")
    oews = load_oews_national(base / "bls-oews")
    occ, rel, join = occupation_wage_relation(detailed, oews, crosswalk, measure=measure, wage_col=wage_col)
    # sectors: the same codes as the wage join (aggregates of a broad group get their mean score)
    by_code = occ.set_index("soc_code")[list(OCC_COLUMNS)]
    sec = sector_exposure(load_oews_sectors(base / "bls-oews"), by_code, measure=measure)
    srel = exposure_wage_relation(sec[measure], sec["a_mean"], table="US sectors")
    return USPath(rebuilt, diff, soc, by_code, occ, rel, sec, srel, measure, join)
