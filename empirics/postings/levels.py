"""Aggregation of the heads' sufficient statistics to every OCD level and period: vacancies and shares,
wages (mean, exact median, mean log), the experience premium and the education mix, and the growth of
vacancy shares between two periods.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from .schema import EDU_KEYS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .process import ProcessConfig

LEVEL_CHARS = {"large": 1, "medium": 4, "small": 7, "fine": 10}
"""Characters of a fine code (``2-02-10-03``) that form the code of each level."""
Y0 = 9.0
"""Offset subtracted from log wages before sums of squares are formed (numerical stability)."""


def grouped_medians(wage, code_idx, year, codes, periods: Sequence[tuple[str, int, int]]):
    """Exact median wage per level, code prefix and period, in memory.

    ``codes`` is sorted and distinct; ``code_idx[i]`` is the position in it of wage ``i``'s fine
    code and ``year[i]`` its year. Returns ``level, prefix, period, median_wage`` for every group
    with at least one wage; see :func:`_medians_from_keys` for the method.
    """
    import numpy as np
    import pandas as pd

    wage, code_idx, year = np.asarray(wage, dtype=np.float64), np.asarray(code_idx), np.asarray(year)
    codes = np.asarray(codes, dtype=object)
    if len(codes) > 1 and not (codes[1:] > codes[:-1]).all():
        raise ValueError("grouped_medians: codes must be sorted and distinct")
    n = len(wage)
    if n == 0:
        return pd.DataFrame(columns=["level", "prefix", "period", "median_wage"])
    y0 = int(np.min(year))
    keys = np.empty(n, dtype=np.int64)
    for a in range(0, n, _CHUNK):
        b = min(a + _CHUNK, n)
        k = keys[a:b]
        np.subtract(year[a:b], y0, out=k)
        k *= len(codes)
        k += code_idx[a:b]
        k <<= 32
        k |= np.arange(a, b, dtype=np.int64)
    return _medians_from_keys(keys, wage, y0, codes, periods)


_CHUNK = 1 << 20
"""Rows per slice where a large array is transformed slice by slice (small temporaries)."""


def _medians_from_keys(keys, wage, y0: int, codes, periods: Sequence[tuple[str, int, int]]):
    """Exact medians from ``keys[i] = cell << 32 | i``, ``cell = (year - y0) * len(codes) + code``,
    of the wages ``wage[i]``. ``keys`` is sorted and overwritten: its memory ends up holding the
    wages grouped by cell (on a machine that is slow to hand out fresh memory, every new array of
    the wages' size costs).

    Sorting the keys groups the wages by (year, code) at the speed of a plain sort of integers
    (a stable grouping: the row numbers break ties); each such run is then sorted in place, so a
    fine code's median in one year is read off by position. Codes that share a prefix are adjacent
    once sorted, so the wages of a prefix in a year are one contiguous slice and those of a prefix
    in a period the slices of its years; their median comes from ``np.partition`` (selection, exact
    for any data, ties included). The median of an even count is the mean of the two middle values,
    ``(a + b) / 2``, as DuckDB's and pandas' medians compute it.
    """
    import numpy as np
    import pandas as pd

    cols = ["level", "prefix", "period", "median_wage"]
    codes = np.asarray(codes, dtype=object)
    nc, n = len(codes), len(keys)
    if n == 0:
        return pd.DataFrame(columns=cols)
    if n >= 2**32 or keys.min() < 0:
        raise ValueError("grouped medians: row numbers must fit in 32 bits and cells be >= 0")
    keys.sort()
    lo, hi = int(keys[0] >> 32) // nc, int(keys[-1] >> 32) // nc  # first and last year, from y0
    y0, ny = y0 + lo, hi - lo + 1
    # start[c]: where cell lo * nc + c starts among the sorted keys
    start = np.searchsorted(keys, (np.arange(ny * nc + 1, dtype=np.int64) + lo * nc) << 32)
    count = np.diff(start)
    keys &= 0xFFFFFFFF
    grouped = keys.view(np.float64)  # filled slice by slice: each slice reads its row numbers first
    for a in range(0, n, _CHUNK):
        grouped[a:a + _CHUNK] = wage[keys[a:a + _CHUNK]]
    for s, e in zip(start[:-1][count > 1], start[1:][count > 1]):
        grouped[s:e].sort()
    # off[y, c]: where (year y0 + y, code c) starts in `grouped`; off[y, nc]: where year y ends
    off = np.concatenate([start[:-1].reshape(ny, nc), start[nc::nc].reshape(ny, 1)], axis=1)

    def median_of(v):  # v: a copy or a slice of `grouped`, in any order
        h = len(v) // 2
        v = np.partition(v, h)  # one kth is much faster than two; the other middle value is a max
        return (v[:h].max() + v[h]) / 2 if len(v) % 2 == 0 else v[h]

    parts = []
    for lv, k in LEVEL_CHARS.items():
        # prefix p covers the codes c0[p] .. c1[p] - 1
        prefixes, c0 = np.unique(np.array([c[:k] for c in codes], dtype=object), return_index=True)
        c1 = np.append(c0[1:], nc)
        for label, a, b in periods:
            ya, yb = max(a - y0, 0), min(b - y0, ny - 1)
            if ya > yb:
                continue
            if ya == yb and (c1 - c0 == 1).all():  # one sorted run per group: medians by position
                s, m = off[ya, c0], off[ya, c1] - off[ya, c0]
                g = np.flatnonzero(m)
                med = (grouped[s[g] + (m[g] - 1) // 2] + grouped[s[g] + m[g] // 2]) / 2
            else:
                g, med = [], []
                for p in range(len(prefixes)):
                    runs = [grouped[off[y, c0[p]]:off[y, c1[p]]] for y in range(ya, yb + 1)]
                    v = np.concatenate(runs)
                    if len(v):
                        g.append(p)
                        med.append(median_of(v))
            parts.append(pd.DataFrame({"level": lv, "prefix": prefixes[g], "period": label, "median_wage": np.asarray(med, dtype=np.float64)}))
    return pd.concat(parts, ignore_index=True)[cols]


def aggregate_cells(cells: pd.DataFrame, cfg: ProcessConfig, medians: pd.DataFrame | None = None):
    """Fine occupation x year sufficient statistics -> (occupations table, growth table, heads outside periods).

    Shared by the DuckDB pipeline and the pandas reference implementation, so both are checked
    against each other up to this point and this step is tested on hand-worked cells.
    """
    out, outside = _level_tables(cells, cfg)
    out = _with_medians(out, medians)
    return out, share_growth(out, *cfg.growth), outside


def _level_tables(cells: pd.DataFrame, cfg: ProcessConfig):
    """The occupations table without ``median_wage`` (sorted by level, period and code) and the
    heads outside every period."""
    import numpy as np
    import pandas as pd

    sums = [c for c in cells.columns if c not in ("code", "year")]
    years_in = set()
    tables = []
    for label, a, b in cfg.periods:
        sub = cells[(cells["year"] >= a) & (cells["year"] <= b)]
        years_in.update(sub["year"].unique().tolist())
        for lv, k in LEVEL_CHARS.items():
            g = sub.assign(prefix=sub["code"].str[:k]).groupby("prefix", sort=True)[sums].sum(min_count=1)
            g = g.reset_index()
            g.insert(0, "period", label)
            g.insert(0, "level", lv)
            tables.append(g)
    cols = ["level", "period", "prefix", *sums]
    t = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=cols)
    outside = int(cells.loc[~cells["year"].isin(years_in), "n_postings"].sum())
    for c in sums:
        t[c] = t[c].fillna(0)
    tot = t.groupby(["level", "period"])["vacancies"].transform("sum")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                "level": t["level"],
                "code": t["prefix"].map(_short_code),
                "period": t["period"],
                "n_postings": t["n_postings"].astype("int64"),
                "vacancies": t["vacancies"].astype("int64"),
                "vacancy_share": t["vacancies"] / tot,
                "n_recruits_imputed": t["n_recruits_imputed"].astype("int64"),
                "n_wage": t["n_wage"].astype("int64"),
                "mean_wage": t["s_w"] / t["n_wage"],
                "mean_log_wage": t["s_y"] / t["n_wage"] + Y0,
            }
        )
        n = t["n_xy"]
        sxx = t["s_xx"] - t["s_x"] ** 2 / n
        sxy = t["s_xy"] - t["s_x"] * t["s_y_x"] / n
        syy = t["s_yy_x"] - t["s_y_x"] ** 2 / n
        slope = sxy / sxx
        ssr = (syy - slope * sxy).clip(lower=0)
        ok = (n >= 3) & (sxx > 0)
        out["n_premium"] = n.astype("int64")
        out["experience_premium"] = slope.where(ok)
        out["experience_premium_se"] = np.sqrt(ssr / (n - 2) / sxx).where(ok)
        out["experience_sxx"] = sxx.where(n > 0)
        den = t[[f"edu_{k}" for k in EDU_KEYS]].sum(axis=1)
        for k in EDU_KEYS:
            out[f"edu_{k}"] = t[f"edu_{k}"] / den
    order = {lv: i for i, lv in enumerate(LEVEL_CHARS)}
    plabels = {p[0]: i for i, p in enumerate(cfg.periods)}
    out = out.sort_values(["level", "period", "code"], key=lambda s: s.map(order) if s.name == "level" else (s.map(plabels) if s.name == "period" else s))
    return out.reset_index(drop=True), outside


def _with_medians(out: pd.DataFrame, medians: pd.DataFrame | None) -> pd.DataFrame:
    """The table of :func:`_level_tables` with ``median_wage`` (missing where ``medians`` has none),
    rows in the same order, columns in the output order."""
    import numpy as np

    if medians is not None and len(medians):
        med = medians.assign(code=medians["prefix"].map(_short_code)).drop(columns="prefix")
        out = out.merge(med, on=["level", "code", "period"], how="left")  # keeps the order of `out`
    else:
        out = out.assign(median_wage=np.nan)
    first = ["level", "code", "period", "n_postings", "vacancies", "vacancy_share", "mean_wage", "median_wage", "mean_log_wage"]
    return out[first + [c for c in out.columns if c not in first]]


def share_growth(occ: pd.DataFrame, early: str, late: str) -> pd.DataFrame:
    """Growth of vacancy shares between two periods at every level: ``growth = late / early - 1``
    and ``log_growth = log(late / early)``; occupations absent in a period have share 0."""
    import numpy as np

    a = occ[occ["period"] == early].set_index(["level", "code"])["vacancy_share"]
    b = occ[occ["period"] == late].set_index(["level", "code"])["vacancy_share"]
    g = a.to_frame("share_early").join(b.to_frame("share_late"), how="outer").fillna(0.0)
    va = occ[occ["period"] == early].set_index(["level", "code"])["vacancies"]
    g["vacancies_early"] = va.reindex(g.index).fillna(0).astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        g["growth"] = np.where(g["share_early"] > 0, g["share_late"] / g["share_early"] - 1, np.nan)
        g["log_growth"] = np.where((g["share_early"] > 0) & (g["share_late"] > 0), np.log(g["share_late"] / g["share_early"]), np.nan)
    g = g.reset_index()
    g.insert(2, "early", early)
    g.insert(3, "late", late)
    return g


def _short_code(prefix: str) -> str:
    """A code prefix (``2``, ``2-02``, ``2-02-10``, ``2-02-10-03``) is already the short OCD form."""
    return prefix
