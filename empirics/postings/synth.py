"""Synthetic job postings with known truth, streamed to Parquet in chunks.

Data-generating process (all draws from one ``numpy.random.Generator`` seeded by ``seed``; the
parameters are the fields of :class:`SynthConfig`):

**Occupations.** The 1,631 fine OCD 2022 occupations of the bundled table. Exposure
``e_o = clip(m_medium(o) + N(0, exposure_noise), 0, 1)`` where ``m`` is the paper's Table 2 score
(GLM + InternLM + GPT-4) of the medium category, or the mean of its large category (overall mean if
none) for the medium categories Table 2 lacks. Written to ``exposure.csv`` (``code, model, score``).

**Vacancies.** Time runs over ``days`` 0..2190 (2017-01-01 to 2022-12-31). Occupation ``o`` has a
phase ``phi_o ~ U{0..91}`` and periods ``p`` starting at ``s = phi_o + 92 p``; an *original*
posting (a cluster head) falls on ``s + U{0..30}``. Its cell intensity is
``lambda_{o,p} = V(year) exp(z_o + g_o (t - 2019.5))`` with ``t`` the fractional year of ``s + 15``,
``V`` the yearly volume (``year_volume``), ``z_o = share_exposure e_o + N(0, sigma_share)`` and
``g_o = trend_exposure (e_o - mean e) + N(0, sigma_trend)``. The ``K`` originals are spread over
the cells by one multinomial draw with probabilities proportional to ``lambda``. Expected vacancy
shares by year and period follow exactly from the same ``lambda`` (``truth_occupations.csv``).

**Firms and duplicates.** Within a cell the originals have distinct firms (``n_firms`` in all), so
no two originals of one firm and occupation are within 61 days. ``R`` re-posts are spread
uniformly over the originals (multinomial); a re-post repeats its original (firm, occupation,
title, wage, ...) with a new ``posting_id`` on a date 1..30 days later. Under the 30-day rule of
:mod:`empirics.postings.process` exactly the ``R`` re-posts are duplicates.

**Postings.** ``n_recruits = 1 + Poisson(recruits_extra)``. Required experience ``x`` takes the
values of ``experience_values`` with ``experience_probs``. Log monthly wage
``y = alpha + wage_slope e_o + u_o + premium_o (x - E x) + eps`` with ``u_o ~ N(0, sigma_occ)``,
``premium_o = premium_base + premium_slope e_o + N(0, sigma_premium)``, ``eps ~ N(0, sigma_post)``;
the posted range is ``w (1 -+ h)``, ``h ~ U(wage_spread)``, in a unit drawn from ``unit_probs``,
rounded (month: 10 yuan, day: 1, hour: 0.1, year: 100). So the expected mean log wage of ``o`` is
``alpha + wage_slope e_o + u_o``: ``wage_slope`` is the population slope of occupation mean log
wages on exposure, ``premium_slope`` that of the experience premium. Education follows
``P(k | o) ∝ exp(-(k - mu_o)^2 / 2)``, ``mu_o = edu_base + edu_exposure e_o`` over the seven
categories of :data:`schema.EDUCATION`.

**Titles.** Each occupation has ``title_variants`` titles built from its name, its name without a
generic suffix, its aliases and the real labelled titles with its code, plus noise: place names,
company prefixes with 招聘, pay ("8000-12000元", "月入过万"), perks and urgency words ("日结",
"急招", "包吃住", "五险一金").

**Missing fields** (by cluster, so re-posts agree with their original): occupation code, wage,
experience, education, recruits (read as 1), city, description.

**Junk rows**: ``junk_share`` of all rows are extra postings with exactly one defect, one class of
:data:`JUNK_CLASSES` each, drawn uniformly; they are the quarantine reasons of the same name.

Outputs in ``out/``: ``postings/part-NNNNN.parquet``, ``exposure.csv``, ``truth.json`` (parameters,
counts, slopes, provenance), ``truth_occupations.csv`` (per occupation) and ``truth_cells.csv``
(realised clusters and recruits per occupation and year).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

FIRST_YEAR = 2017
LAST_YEAR = 2022
N_DAYS = 2191  # 2017-01-01 .. 2022-12-31
PERIOD = 92
WINDOW = 31
JUNK_CLASSES = (
    "unparseable_date",
    "date_out_of_range",
    "empty_title",
    "invalid_occupation_code",
    "unknown_unit",
    "wage_min_gt_max",
    "impossible_wage",
    "invalid_recruits",
    "invalid_experience",
)


@dataclass(frozen=True)
class SynthConfig:
    """Parameters of the data-generating process (see the module documentation)."""

    rows: int = 1_000_000
    seed: int = 0
    chunk_rows: int = 1_000_000
    year_volume: tuple[float, ...] = (0.80, 0.95, 1.00, 0.90, 1.10, 1.05)
    n_firms: int = 5_200_000
    duplicate_rate: float = 0.20
    junk_share: float = 0.01
    missing_code_share: float = 0.30
    missing_wage_share: float = 0.15
    missing_experience_share: float = 0.20
    missing_education_share: float = 0.10
    missing_recruits_share: float = 0.05
    missing_city_share: float = 0.10
    missing_description_share: float = 0.30
    exposure_noise: float = 0.08
    alpha: float = 8.8
    wage_slope: float = 0.60
    sigma_occ: float = 0.20
    sigma_post: float = 0.30
    premium_base: float = 0.030
    premium_slope: float = 0.040
    sigma_premium: float = 0.010
    experience_values: tuple[float, ...] = (0, 1, 2, 3, 5, 8, 10)
    experience_probs: tuple[float, ...] = (0.30, 0.20, 0.15, 0.15, 0.12, 0.05, 0.03)
    share_exposure: float = 1.0
    sigma_share: float = 1.0
    trend_exposure: float = 0.10
    sigma_trend: float = 0.03
    recruits_extra: float = 1.2
    unit_probs: tuple[float, float, float, float] = (0.04, 0.06, 0.85, 0.05)
    """Probabilities of hour, day, month, year."""
    wage_spread: tuple[float, float] = (0.05, 0.30)
    edu_base: float = 1.0
    edu_exposure: float = 4.0
    title_variants: int = 24

    def check(self) -> None:
        import numpy as np

        if self.rows < 1:
            raise ConfigError(f"synth: rows must be >= 1, got {self.rows}")
        if self.chunk_rows < 1000:
            raise ConfigError(f"synth: chunk_rows must be >= 1000, got {self.chunk_rows}")
        if len(self.year_volume) != LAST_YEAR - FIRST_YEAR + 1 or min(self.year_volume) <= 0:
            raise ConfigError("synth: year_volume needs 6 positive values (2017-2022)")
        for name in ("duplicate_rate", "junk_share", "missing_code_share", "missing_wage_share", "missing_experience_share",
                     "missing_education_share", "missing_recruits_share", "missing_city_share", "missing_description_share"):
            v = getattr(self, name)
            if not 0 <= v < 1:
                raise ConfigError(f"synth: {name} must be in [0, 1), got {v}")
        if len(self.experience_values) != len(self.experience_probs) or abs(sum(self.experience_probs) - 1) > 1e-9:
            raise ConfigError("synth: experience_probs must match experience_values and sum to 1")
        if len(self.unit_probs) != 4 or abs(sum(self.unit_probs) - 1) > 1e-9:
            raise ConfigError("synth: unit_probs needs 4 probabilities (hour, day, month, year) summing to 1")
        if not 0 <= self.wage_spread[0] <= self.wage_spread[1] < 1:
            raise ConfigError("synth: wage_spread must satisfy 0 <= low <= high < 1")
        if self.n_firms < 1 or not np.isfinite(self.alpha):
            raise ConfigError("synth: n_firms must be >= 1")

    @property
    def experience_mean(self) -> float:
        return float(sum(v * p for v, p in zip(self.experience_values, self.experience_probs)))


@dataclass(frozen=True)
class SynthResult:
    out_dir: Path
    files: list[Path]
    truth: dict


# ------------------------------------------------------------------------------------ occupations
def _occupations(cfg: SynthConfig, rng) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    from empirics.aggregation.data import load_table2
    from empirics.scoring.occupations import load_ocd2022

    table = load_ocd2022()
    occ = pd.DataFrame(
        {"code": [o.code for o in table], "title": [o.title for o in table], "definition": [o.definition for o in table]}
    )
    t2 = load_table2().set_index("code")["combined"]
    medium = occ["code"].str[:4]
    large = occ["code"].str[:1]
    large_mean = t2.groupby(t2.index.str[:1]).mean()
    m = medium.map(t2)
    m = m.fillna(large.map(large_mean)).fillna(float(t2.mean()))
    n = len(occ)
    occ["exposure"] = np.clip(m.to_numpy() + rng.normal(0, cfg.exposure_noise, n), 0, 1)
    e = occ["exposure"].to_numpy()
    occ["u"] = rng.normal(0, cfg.sigma_occ, n)
    occ["mean_log_wage"] = cfg.alpha + cfg.wage_slope * e + occ["u"]
    occ["premium"] = cfg.premium_base + cfg.premium_slope * e + rng.normal(0, cfg.sigma_premium, n)
    occ["z"] = cfg.share_exposure * e + rng.normal(0, cfg.sigma_share, n)
    occ["g"] = cfg.trend_exposure * (e - e.mean()) + rng.normal(0, cfg.sigma_trend, n)
    occ["phase"] = rng.integers(0, PERIOD, n)
    k = np.arange(7)
    mu = cfg.edu_base + cfg.edu_exposure * e
    pe = np.exp(-0.5 * (k[None, :] - mu[:, None]) ** 2)
    pe /= pe.sum(axis=1, keepdims=True)
    from .schema import EDUCATION

    for j, name in enumerate(EDUCATION):
        occ[f"edu_{name}"] = pe[:, j]
    return occ


def _title_pools(occ: pd.DataFrame, cfg: SynthConfig, rng) -> np.ndarray:
    """(n_occ x title_variants) array of titles."""
    import csv

    import numpy as np

    from .titles import _aliases, _data_path, _strip_generic, load_labeled_titles

    aliases = _aliases()
    lab = load_labeled_titles()
    lab = lab[lab["expected_level"] == "fine"]
    real = lab.groupby("expected_code")["title"].apply(list).to_dict()
    with open(_data_path("cities.csv"), encoding="utf-8") as fh:
        cities = [r["name"] for r in csv.DictReader(fh) if r["kind"] == "city"]
    companies = ["华信", "东方", "鑫源", "恒达", "宏远", "瑞丰", "金鼎", "天成", "博远", "中联", "新世纪", "海纳"]
    perks = ["日结", "急招", "包吃住", "五险一金", "双休", "高薪", "周末双休", "长白班", "急聘", "可兼职", "无经验可"]
    pays = ["8000-12000元", "月入过万", "4-6K", "5000-8000元/月", "200元/天", "底薪+提成", "年薪20万"]
    out = np.empty((len(occ), cfg.title_variants), dtype=object)
    for i, (code, title) in enumerate(zip(occ["code"], occ["title"])):
        stems = [title]
        b = _strip_generic(title)
        if b:
            stems += [b, b + "员" if not b.endswith(("员", "师", "工")) else b]
        stems += [a for a in aliases.get(code, []) if a and a != title][:6]
        stems += real.get(code, [])[:6]
        for j in range(cfg.title_variants):
            s = stems[rng.integers(len(stems))]
            kind = rng.integers(6)
            if kind == 1:
                s = cities[rng.integers(len(cities))] + s
            elif kind == 2:
                s = f"{s}（{cities[rng.integers(len(cities))]}）"
            elif kind == 3:
                s = f"{cities[rng.integers(len(cities))]}{companies[rng.integers(len(companies))]}招聘{s}"
            elif kind == 4:
                s = f"{perks[rng.integers(len(perks))]}{s}{pays[rng.integers(len(pays))]}"
            elif kind == 5:
                s = f"{s} {perks[rng.integers(len(perks))]} {perks[rng.integers(len(perks))]}"
            out[i, j] = s
    return out


def _cells(occ: pd.DataFrame, cfg: SynthConfig):
    """Cells (occupation, period) with start day, intensity and the share of the window in each year."""
    import numpy as np

    n = len(occ)
    phase = occ["phase"].to_numpy()
    p_max = (N_DAYS - WINDOW - phase) // PERIOD  # last p with s + 30 <= 2190
    o_idx = np.repeat(np.arange(n), p_max + 1)
    p_idx = np.concatenate([np.arange(k + 1) for k in p_max])
    start = phase[o_idx] + PERIOD * p_idx
    days = start[:, None] + np.arange(WINDOW)[None, :]
    years = _day_years(days)
    frac = np.stack([(years == y).mean(axis=1) for y in range(FIRST_YEAR, LAST_YEAR + 1)], axis=1)
    mid_year = _day_years(start + WINDOW // 2)
    t = _fractional_year(start + WINDOW // 2)
    vol = np.asarray(cfg.year_volume)[mid_year - FIRST_YEAR]
    lam = vol * np.exp(occ["z"].to_numpy()[o_idx] + occ["g"].to_numpy()[o_idx] * (t - 2019.5))
    return o_idx, p_idx, start, lam, frac


def _epoch():
    import numpy as np

    return np.datetime64("2017-01-01", "D")


def _day_years(days):
    import numpy as np

    d = _epoch() + np.asarray(days).astype("timedelta64[D]")
    return d.astype("datetime64[Y]").astype(int) + 1970


def _fractional_year(days):
    import numpy as np

    d = _epoch() + np.asarray(days).astype("timedelta64[D]")
    y = d.astype("datetime64[Y]")
    start = y.astype("datetime64[D]")
    length = ((y + 1).astype("datetime64[D]") - start).astype(float)
    return y.astype(int) + 1970 + (d - start).astype(float) / length


# ---------------------------------------------------------------------------------------- driver
def generate(cfg: SynthConfig, out_dir: str | Path, *, progress: Callable[[int, int], None] | None = None) -> SynthResult:
    """Generate ``cfg.rows`` postings into ``out_dir`` (see the module documentation)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .provenance import provenance

    cfg.check()
    out = Path(out_dir)
    pdir = out / "postings"
    pdir.mkdir(parents=True, exist_ok=True)
    for old in pdir.glob("part-*.parquet"):
        old.unlink()
    rng = np.random.default_rng(cfg.seed)
    occ = _occupations(cfg, rng)
    pools = _title_pools(occ, cfg, rng)
    n_occ, n_var = pools.shape
    title_dict = pa.array(pools.ravel().tolist(), pa.string())
    code_dict = pa.array(occ["code"].tolist(), pa.string())
    desc_dict = pa.array([d[:80] for d in occ["definition"]], pa.string())
    from .schema import EDUCATION

    edu_names = ["不限", "初中及以下", "高中/中专", "大专", "本科", "硕士", "博士"]
    edu_dict = pa.array(edu_names, pa.string())
    unit_dict = pa.array(["hour", "day", "month", "year"], pa.string())
    import csv

    from .titles import _data_path

    with open(_data_path("cities.csv"), encoding="utf-8") as fh:
        city_list = [r["name"] for r in csv.DictReader(fh) if r["kind"] == "city"]
    city_dict = pa.array(city_list, pa.string())

    n_junk = int(round(cfg.junk_share * cfg.rows))
    n_good = cfg.rows - n_junk
    n_dup = int(round(cfg.duplicate_rate * n_good))
    n_orig = n_good - n_dup
    if n_orig < 1:
        raise ConfigError("synth: too few rows for the duplicate rate and junk share")
    o_idx, p_idx, start, lam, frac = _cells(occ, cfg)
    prob = lam / lam.sum()
    counts = rng.multinomial(n_orig, prob)
    if counts.max() > cfg.n_firms:
        raise ConfigError(f"synth: a cell has {counts.max()} originals but only n_firms={cfg.n_firms} firms exist")
    n_periods = int(p_idx.max()) + 1
    per_period = np.bincount(p_idx, weights=counts, minlength=n_periods).astype(np.int64)
    dup_per_period = rng.multinomial(n_dup, per_period / per_period.sum())
    junk_per_period = rng.multinomial(n_junk, per_period / per_period.sum())

    e = occ["exposure"].to_numpy()
    mlw = occ["mean_log_wage"].to_numpy()
    prem = occ["premium"].to_numpy()
    edu_cdf = np.cumsum(occ[[f"edu_{k}" for k in EDUCATION]].to_numpy(), axis=1)
    exp_vals = np.asarray(cfg.experience_values, dtype=float)
    exp_cdf = np.cumsum(cfg.experience_probs)
    unit_cdf = np.cumsum(cfg.unit_probs)
    unit_factor = np.array([174.0, 21.75, 1.0, 1.0 / 12.0])
    unit_round = np.array([0.1, 1.0, 10.0, 100.0])
    xbar = cfg.experience_mean

    cell_clusters = np.zeros((n_occ, LAST_YEAR - FIRST_YEAR + 1), dtype=np.int64)
    cell_recruits = np.zeros_like(cell_clusters)
    files: list[Path] = []
    written = 0
    next_id = 0
    junk_counts = {k: 0 for k in JUNK_CLASSES}
    chunk_no = 0
    cell_order = np.lexsort((o_idx, p_idx))
    for p in range(n_periods):
        sel = cell_order[p_idx[cell_order] == p]
        sel = sel[counts[sel] > 0]
        if per_period[p] == 0 and junk_per_period[p] == 0:
            continue
        # split the period's cells into blocks of about chunk_rows rows
        target = max(1, int(cfg.chunk_rows / (1 + cfg.duplicate_rate + cfg.junk_share)))
        cum = np.cumsum(counts[sel])
        block_id = (cum - 1) // target if len(cum) else np.zeros(0, dtype=np.int64)
        blocks = [sel[block_id == b] for b in np.unique(block_id)] or [sel]
        bc = np.array([counts[b].sum() for b in blocks], dtype=float)
        dups_b = rng.multinomial(dup_per_period[p], bc / bc.sum()) if bc.sum() > 0 else np.zeros(len(blocks), dtype=np.int64)
        junk_b = rng.multinomial(junk_per_period[p], bc / bc.sum()) if bc.sum() > 0 else np.array([junk_per_period[p]])
        for b, cells in enumerate(blocks):
            table, stats = _chunk(
                cfg, rng, cells, counts, o_idx, start, e, mlw, prem, edu_cdf, exp_vals, exp_cdf, unit_cdf, unit_factor,
                unit_round, xbar, int(dups_b[b]), int(junk_b[b]), next_id, n_var,
                title_dict, code_dict, desc_dict, edu_dict, unit_dict, city_dict,
            )
            next_id += table.num_rows
            np.add.at(cell_clusters, (stats["occ"], stats["year"] - FIRST_YEAR), 1)
            np.add.at(cell_recruits, (stats["occ"], stats["year"] - FIRST_YEAR), stats["recruits"])
            for k, v in stats["junk"].items():
                junk_counts[k] += v
            f = pdir / f"part-{chunk_no:05d}.parquet"
            pq.write_table(table, f, compression="zstd", row_group_size=min(max(table.num_rows, 1), 256_000))
            files.append(f)
            chunk_no += 1
            written += table.num_rows
            if progress is not None:
                progress(written, cfg.rows)

    truth = _truth(cfg, occ, o_idx, lam, frac, cell_clusters, cell_recruits, junk_counts, n_orig, n_dup, n_junk, written)
    prov = provenance("postings synth", {**asdict(cfg)}, {})
    truth["provenance"] = prov
    occ_out = occ.drop(columns=["definition"]).copy()
    years = list(range(FIRST_YEAR, LAST_YEAR + 1))
    exp_y = truth.pop("_expected_year_shares")
    for j, y in enumerate(years):
        occ_out[f"share_{y}"] = exp_y[:, j]
    for label, arr in truth.pop("_expected_period_shares").items():
        occ_out[f"share_{label}"] = arr
    occ_out["share_growth"] = occ_out["share_2020-2022"] / occ_out["share_2017-2019"] - 1
    occ_out.to_csv(out / "truth_occupations.csv", index=False)
    cells_df = pd.DataFrame(
        [(occ["code"].iat[i], y, int(cell_clusters[i, j]), int(cell_recruits[i, j]))
         for i, j in zip(*np.nonzero(cell_clusters)) for y in [years[j]]],
        columns=["code", "year", "clusters", "recruits"],
    )
    cells_df.to_csv(out / "truth_cells.csv", index=False)
    pd.DataFrame({"code": occ["code"], "model": "synthetic", "score": occ["exposure"]}).to_csv(out / "exposure.csv", index=False)
    (out / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True, default=_json_default), encoding="utf-8")
    return SynthResult(out, files, truth)


def _json_default(o):
    import numpy as np

    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _chunk(cfg, rng, cells, counts, o_idx, start, e, mlw, prem, edu_cdf, exp_vals, exp_cdf, unit_cdf, unit_factor,
           unit_round, xbar, n_dup, n_junk, first_id, n_var, title_dict, code_dict, desc_dict, edu_dict, unit_dict, city_dict):
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    cnt = counts[cells]
    k = int(cnt.sum())
    occ = np.repeat(o_idx[cells], cnt)
    cell_start = np.repeat(start[cells], cnt)
    # distinct firms within a cell: a random offset plus the rank of the posting in its cell
    offs = rng.integers(0, cfg.n_firms, len(cells))
    rank = np.arange(k) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    firm = (np.repeat(offs, cnt) + rank) % cfg.n_firms
    day = cell_start + rng.integers(0, WINDOW, k)
    code_missing = rng.random(k) < cfg.missing_code_share
    title_idx = occ * n_var + rng.integers(0, n_var, k)
    recruits = 1 + rng.poisson(cfg.recruits_extra, k)
    rec_missing = rng.random(k) < cfg.missing_recruits_share
    x = exp_vals[np.searchsorted(exp_cdf, rng.random(k), side="right").clip(max=len(exp_vals) - 1)]
    x_missing = rng.random(k) < cfg.missing_experience_share
    edu = (rng.random(k)[:, None] > edu_cdf[occ]).sum(axis=1).clip(max=6)
    edu_missing = rng.random(k) < cfg.missing_education_share
    logw = mlw[occ] + prem[occ] * (x - xbar) + rng.normal(0, cfg.sigma_post, k)
    unit = np.searchsorted(unit_cdf, rng.random(k), side="right").clip(max=3)
    h = rng.uniform(cfg.wage_spread[0], cfg.wage_spread[1], k)
    per_unit = np.exp(logw) / unit_factor[unit]
    step = unit_round[unit]
    wmin = np.round(per_unit * (1 - h) / step) * step
    wmax = np.round(per_unit * (1 + h) / step) * step
    wage_missing = rng.random(k) < cfg.missing_wage_share
    city = rng.integers(0, len(city_dict), k)
    city_missing = rng.random(k) < cfg.missing_city_share
    desc_missing = rng.random(k) < cfg.missing_description_share
    years = _day_years(day)
    eff_recruits = np.where(rec_missing, 1, recruits)
    stats = {"occ": occ, "year": years, "recruits": eff_recruits, "junk": {}}

    # re-posts: spread uniformly over this chunk's originals
    reps = rng.multinomial(n_dup, np.full(k, 1.0 / k)) if k > 0 and n_dup > 0 else np.zeros(k, dtype=np.int64)
    src = np.concatenate([np.arange(k), np.repeat(np.arange(k), reps)])
    shift = np.concatenate([np.zeros(k, dtype=np.int64), rng.integers(1, WINDOW, int(reps.sum()))])
    cols = {
        "occ": occ[src], "firm": firm[src], "day": day[src] + shift, "code_missing": code_missing[src],
        "title_idx": title_idx[src], "recruits": recruits[src], "rec_missing": rec_missing[src], "x": x[src],
        "x_missing": x_missing[src], "edu": edu[src], "edu_missing": edu_missing[src], "unit": unit[src],
        "wmin": wmin[src], "wmax": wmax[src], "wage_missing": wage_missing[src], "city": city[src],
        "city_missing": city_missing[src], "desc_missing": desc_missing[src],
    }
    n = len(src)
    # junk rows: fresh postings of random occupations, each with one defect
    kinds = rng.integers(0, len(JUNK_CLASSES), n_junk)
    if n_junk:
        jo = rng.integers(0, len(e), n_junk)
        jx = exp_vals[rng.integers(0, len(exp_vals), n_junk)]
        jw = np.round(np.exp(mlw[jo] + rng.normal(0, cfg.sigma_post, n_junk)) / 10) * 10
        jh = rng.uniform(cfg.wage_spread[0], cfg.wage_spread[1], n_junk)
        junk = {
            "occ": jo, "firm": cfg.n_firms + first_id + n + np.arange(n_junk), "day": rng.integers(0, N_DAYS, n_junk),
            "code_missing": np.zeros(n_junk, dtype=bool), "title_idx": jo * n_var + rng.integers(0, n_var, n_junk),
            "recruits": 1 + rng.poisson(cfg.recruits_extra, n_junk), "rec_missing": np.zeros(n_junk, dtype=bool),
            "x": jx, "x_missing": np.zeros(n_junk, dtype=bool), "edu": rng.integers(0, 7, n_junk),
            "edu_missing": np.zeros(n_junk, dtype=bool), "unit": np.full(n_junk, 2), "wmin": np.round(jw * (1 - jh) / 10) * 10,
            "wmax": np.round(jw * (1 + jh) / 10) * 10, "wage_missing": np.zeros(n_junk, dtype=bool),
            "city": rng.integers(0, len(city_dict), n_junk), "city_missing": np.zeros(n_junk, dtype=bool),
            "desc_missing": np.zeros(n_junk, dtype=bool),
        }
        cols = {c: np.concatenate([cols[c], junk[c]]) for c in cols}
    total = n + n_junk
    is_junk = np.zeros(total, dtype=bool)
    is_junk[n:] = True
    kind_all = np.full(total, -1)
    kind_all[n:] = kinds
    for i, name in enumerate(JUNK_CLASSES):
        stats["junk"][name] = int((kinds == i).sum())

    perm = rng.permutation(total)
    cols = {c: v[perm] for c, v in cols.items()}
    kind_all = kind_all[perm]

    def jk(name):
        return kind_all == JUNK_CLASSES.index(name)

    ids = pa.array(first_id + np.arange(total), pa.int64())
    posting_id = pc.cast(ids, pa.string())
    firm_s = pc.binary_join_element_wise(pa.scalar("F"), pc.cast(pa.array(cols["firm"], pa.int64()), pa.string()), "")
    date = pc.cast(pa.array((cols["day"] + (_epoch() - np.datetime64("1970-01-01", "D")).astype(int)).astype(np.int32), pa.date32()), pa.string())
    bad_date, oor = jk("unparseable_date"), jk("date_out_of_range")
    if bad_date.any() or oor.any():
        d = np.asarray(date.to_pylist(), dtype=object)
        d[bad_date] = np.array(["2019-13-45", "N/A", "昨天", "20xx-01-01", "2020-02-30", None], dtype=object)[
            rng.integers(0, 6, int(bad_date.sum()))
        ]
        d[oor] = np.array(["1970-01-01", "1999-12-31", "2150-06-01"], dtype=object)[rng.integers(0, 3, int(oor.sum()))]
        date = pa.array(d, pa.string())

    def take(dictionary, idx, missing):
        return pc.take(dictionary, pa.array(idx, pa.int32(), mask=np.asarray(missing, dtype=bool)))

    title = take(title_dict, cols["title_idx"], np.zeros(total, dtype=bool))
    et = jk("empty_title")
    if et.any():
        t = np.asarray(title.to_pylist(), dtype=object)
        t[et] = np.array(["", "  ", None], dtype=object)[rng.integers(0, 3, int(et.sum()))]
        title = pa.array(t, pa.string())
    code = take(code_dict, cols["occ"], cols["code_missing"])
    ic = jk("invalid_occupation_code")
    if ic.any():
        c = np.asarray(code.to_pylist(), dtype=object)
        c[ic] = np.array(["9-99-99-99", "2-02-99", "abc", "2-01-00-99"], dtype=object)[rng.integers(0, 4, int(ic.sum()))]
        code = pa.array(c, pa.string())
    unit_s = take(unit_dict, cols["unit"], cols["wage_missing"])
    uu = jk("unknown_unit")
    if uu.any():
        u = np.asarray(unit_s.to_pylist(), dtype=object)
        u[uu] = np.array(["week", "元/周", "??", None], dtype=object)[rng.integers(0, 4, int(uu.sum()))]
        unit_s = pa.array(u, pa.string())
    wmin_v, wmax_v = cols["wmin"].astype(float), cols["wmax"].astype(float)
    gt = jk("wage_min_gt_max")
    wmin_v[gt], wmax_v[gt] = cols["wmax"][gt] + 1000.0, cols["wmin"][gt]
    iw = jk("impossible_wage")
    if iw.any():
        sub = rng.integers(0, 3, int(iw.sum()))
        lo = np.where(sub == 0, -3000.0, np.where(sub == 1, 0.0, 8.0e7))
        hi = np.where(sub == 0, 5000.0, np.where(sub == 1, 0.0, 9.0e7))
        wmin_v[iw], wmax_v[iw] = lo, hi
    wage_mask = cols["wage_missing"]
    rec = cols["recruits"].astype(float)
    ir = jk("invalid_recruits")
    rec[ir] = np.array([0.0, -3.0, 1e6])[rng.integers(0, 3, int(ir.sum()))]
    xv = cols["x"].astype(float)
    ie = jk("invalid_experience")
    xv[ie] = np.array([-1.0, 99.0])[rng.integers(0, 2, int(ie.sum()))]
    table = pa.table(
        {
            "posting_id": posting_id,
            "posting_date": date,
            "firm": firm_s,
            "city": take(city_dict, cols["city"], cols["city_missing"]),
            "title": title,
            "description": take(desc_dict, cols["occ"], cols["desc_missing"]),
            "occupation_code": code,
            "n_recruits": pa.array(rec, pa.float64(), mask=cols["rec_missing"]),
            "wage_min": pa.array(wmin_v, pa.float64(), mask=wage_mask),
            "wage_max": pa.array(wmax_v, pa.float64(), mask=wage_mask),
            "wage_unit": unit_s,
            "education": take(edu_dict, cols["edu"], cols["edu_missing"]),
            "experience_min_years": pa.array(xv, pa.float64(), mask=cols["x_missing"]),
        }
    )
    return table, stats


def _truth(cfg, occ, o_idx, lam, frac, cell_clusters, cell_recruits, junk_counts, n_orig, n_dup, n_junk, written):
    import numpy as np

    n_occ = len(occ)
    exp_year = np.zeros((n_occ, frac.shape[1]))
    np.add.at(exp_year, o_idx, lam[:, None] * frac)
    year_share = exp_year / exp_year.sum(axis=0, keepdims=True)
    periods = {"2017-2019": (0, 3), "2020-2022": (3, 6), "2017-2022": (0, 6)}
    period_share = {}
    for label, (a, b) in periods.items():
        v = exp_year[:, a:b].sum(axis=1)
        period_share[label] = v / v.sum()
    e = occ["exposure"].to_numpy()
    y = occ["mean_log_wage"].to_numpy()
    X = np.column_stack([np.ones(n_occ), e])
    realised_slope = float(np.linalg.lstsq(X, y, rcond=None)[0][1])
    realised_premium_slope = float(np.linalg.lstsq(X, occ["premium"].to_numpy(), rcond=None)[0][1])
    rec_mean = (1 - cfg.missing_recruits_share) * (1 + cfg.recruits_extra) + cfg.missing_recruits_share
    return {
        "rows": written,
        "rows_requested": cfg.rows,
        "junk_rows": n_junk,
        "junk_by_reason": junk_counts,
        "valid_rows": written - n_junk,
        "originals": n_orig,
        "duplicates": n_dup,
        "duplicate_rate": n_dup / max(written - n_junk, 1),
        "recruits_mean": rec_mean,
        "recruits_total": int(cell_recruits.sum()),
        "wage_slope": cfg.wage_slope,
        "wage_slope_realised": realised_slope,
        "premium_slope": cfg.premium_slope,
        "premium_slope_realised": realised_premium_slope,
        "experience_mean": cfg.experience_mean,
        "sigma_post": cfg.sigma_post,
        "n_occupations": n_occ,
        "exposure_mean": float(e.mean()),
        "exposure_var": float(e.var()),
        "_expected_year_shares": year_share,
        "_expected_period_shares": period_share,
    }
