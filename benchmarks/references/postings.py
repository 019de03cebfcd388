"""The processing pipeline in plain pandas, in memory: an independent implementation of validation,
deduplication and the per-(fine occupation, year) sufficient statistics of
:mod:`empirics.postings.process`, used to check it on small data and as the benchmark baseline.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from empirics.postings.schema import COLUMNS, EDUCATION_ALIASES, EDUCATION_MISSING, EDUCATION_OTHER, UNIT_ALIASES, UNIT_TO_MONTH

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from empirics.postings.schema import ValidationRules


def read_postings(paths) -> pd.DataFrame:
    """All input files in one DataFrame with every schema column (absent ones missing)."""
    import pandas as pd

    from empirics.postings.schema import resolve_inputs

    files, fmt = resolve_inputs(paths)
    parts = []
    for f in files:
        d = pd.read_parquet(f) if fmt == "parquet" else pd.read_csv(f, dtype=str, keep_default_na=False, na_values=[""])
        d["source_file"] = str(f)
        parts.append(d)
    df = pd.concat(parts, ignore_index=True)
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = None
    return df


def validate(df: pd.DataFrame, rules: ValidationRules, title_map: dict[str, str | None] | None = None) -> pd.DataFrame:
    """Parsed columns (``_date, _code, _rec, _wmin, _wmax, _unit, _x, _edu, _monthly, _matched``) and
    ``reason`` (first failing rule, or missing) for every row."""
    import numpy as np
    import pandas as pd

    out = pd.DataFrame(index=df.index)

    def num(c):
        s = df[c]
        if pd.api.types.is_numeric_dtype(s):
            return s.astype(float), pd.Series(False, index=df.index)
        raw = s.astype("string").str.strip()
        val = pd.to_numeric(raw.replace("", pd.NA), errors="coerce").astype(float)
        bad = raw.notna() & (raw != "") & val.isna()
        return val, bad.fillna(False).astype(bool)

    non_numeric = pd.Series(False, index=df.index)
    for c, name in (("n_recruits", "_rec"), ("wage_min", "_wmin"), ("wage_max", "_wmax"), ("experience_min_years", "_x")):
        v, bad = num(c)
        out[name] = v
        non_numeric |= bad
    raw_date = df["posting_date"].astype("string").str.strip()
    d1 = pd.to_datetime(raw_date, format="%Y-%m-%d", errors="coerce")
    d2 = pd.to_datetime(raw_date, format="%Y/%m/%d", errors="coerce")
    out["_date"] = d1.fillna(d2)
    code = df["occupation_code"].astype("string").str.strip().replace("", pd.NA)
    out["_code"] = code
    unit = df["wage_unit"].astype("string").str.strip().str.lower().map(UNIT_ALIASES)
    out["_unit"] = unit
    edu_raw = df["education"].astype("string").str.strip()
    edu = edu_raw.str.lower().map({k.lower(): v for k, v in EDUCATION_ALIASES.items()}).fillna(EDUCATION_OTHER)
    edu[edu_raw.isna() | (edu_raw == "")] = EDUCATION_MISSING
    out["_edu"] = edu.astype(object)
    wmin, wmax = out["_wmin"], out["_wmax"]
    mid = np.where(wmin.notna() & wmax.notna(), (wmin + wmax) / 2, wmin.fillna(wmax))
    factor = unit.map(UNIT_TO_MONTH).astype(float)
    out["_monthly"] = mid * factor
    title = df["title"].astype("string")
    matched = pd.Series(pd.NA, index=df.index, dtype="string")
    if title_map:
        matched = title.map(title_map).astype("string")
    matched[code.notna()] = pd.NA
    out["_matched"] = matched
    known = set(rules.known_codes)
    with np.errstate(invalid="ignore"):
        bad_bound = (wmin.notna() & (~np.isfinite(wmin) | (wmin <= 0))) | (wmax.notna() & (~np.isfinite(wmax) | (wmax <= 0)))
        m = out["_monthly"]
        rec, x = out["_rec"], out["_x"]
        conds = [
            ("non_numeric_field", non_numeric),
            ("unparseable_date", out["_date"].isna()),
            ("date_out_of_range", (out["_date"] < pd.Timestamp(rules.date_min)) | (out["_date"] > pd.Timestamp(rules.date_max))),
            ("empty_title", title.isna() | (title.str.strip() == "")),
            ("invalid_occupation_code", code.notna() & ~code.isin(known)),
            ("unknown_unit", (wmin.notna() | wmax.notna()) & unit.isna()),
            ("wage_min_gt_max", wmin.notna() & wmax.notna() & (wmin > wmax)),
            ("impossible_wage", bad_bound | (m < rules.wage_floor_month) | (m > rules.wage_cap_month)),
            ("invalid_recruits", rec.notna() & (~np.isfinite(rec) | (rec < 1) | (rec > rules.recruits_max) | (rec != np.floor(rec)))),
            ("invalid_experience", x.notna() & (~np.isfinite(x) | (x < 0) | (x > rules.experience_max))),
            ("unmatched_title", code.isna() & matched.isna()),
        ]
    # duplicate posting_ids: of the rows sharing an id, the first in the order of
    # process._with_pid_dups is kept (rows passing every other rule first, then the parsed values)
    pid = df["posting_id"].astype("string")
    rep = pid.notna() & pid.duplicated(keep=False)
    piddup = pd.Series(False, index=df.index)
    if rep.any():
        other_bad = pd.Series(False, index=df.index)
        for _, c in conds:
            other_bad |= c.fillna(False).astype(bool)
        d = pd.DataFrame({"pid": pid, "bad": other_bad, "date": out["_date"], "code": code, "matched": matched,
                          **{c: df[c].astype("string") for c in ("firm", "title", "city", "description", "wage_unit", "education")},
                          "rec": out["_rec"], "wmin": wmin, "wmax": wmax, "x": out["_x"]})[rep.to_numpy()]
        d = d.sort_values(["pid", "bad", "date", "code", "matched", "firm", "title", "city", "description", "wage_unit", "education",
                           "rec", "wmin", "wmax", "x"], kind="stable", na_position="last")
        piddup[d.index[d["pid"].duplicated(keep="first").to_numpy()]] = True
    conds.append(("duplicate_posting_id", piddup))
    reason = pd.Series(None, index=df.index, dtype=object)
    for r, c in reversed(conds):
        reason[c.fillna(False).astype(bool).to_numpy()] = r
    out["reason"] = reason
    return out


def dedup(df: pd.DataFrame, parsed: pd.DataFrame, window_days: int = 30) -> pd.DataFrame:
    """Heads of valid rows: ``code, year, firm_missing, recruits, rec_imputed, monthly, y, x, edu``."""
    import numpy as np
    import pandas as pd

    ok = parsed["reason"].isna().to_numpy()
    v = pd.DataFrame(
        {
            "firm": df["firm"].to_numpy()[ok],
            "code": parsed["_code"].fillna(parsed["_matched"]).to_numpy()[ok],
            "date": parsed["_date"].to_numpy()[ok],
            "posting_id": df["posting_id"].astype("string").to_numpy()[ok],
            "rec": parsed["_rec"].to_numpy()[ok],
            "monthly": parsed["_monthly"].to_numpy()[ok],
            "x": parsed["_x"].to_numpy()[ok],
            "edu": parsed["_edu"].to_numpy()[ok],
        }
    )
    # rows of one firm and occupation on one day: by posting_id, then the values a head carries
    # (the order of process._tie_key), so that the head does not depend on the input's row order
    from empirics.postings.schema import EDU_KEYS

    v["edu_i"] = v["edu"].map({k: i for i, k in enumerate(EDU_KEYS)})
    v = v.sort_values(["firm", "code", "date", "posting_id", "rec", "monthly", "x", "edu_i"], kind="stable", na_position="last")
    same = (v["firm"] == v["firm"].shift()) & (v["code"] == v["code"].shift())
    gap = (v["date"] - v["date"].shift()).dt.days
    dup = same.fillna(False) & (gap <= window_days) & v["firm"].notna()
    h = v[~dup.to_numpy()]
    return pd.DataFrame(
        {
            "code": h["code"].to_numpy(),
            "year": pd.DatetimeIndex(h["date"]).year.astype("int64"),
            "firm_missing": h["firm"].isna().to_numpy(),
            "recruits": h["rec"].fillna(1).astype("int64").to_numpy(),
            "rec_imputed": h["rec"].isna().to_numpy(),
            "monthly": h["monthly"].to_numpy(),
            "y": np.log(h["monthly"].to_numpy()) - 9.0,
            "x": h["x"].to_numpy(),
            "edu": h["edu"].to_numpy(),
        }
    )


def cells(heads: pd.DataFrame) -> pd.DataFrame:
    """Sufficient statistics per (fine code, year), in the layout of the DuckDB pipeline."""
    import pandas as pd

    from empirics.postings.schema import EDU_KEYS

    h = heads.copy()
    hasy = h["y"].notna()
    hasxy = hasy & h["x"].notna()
    h["one"] = 1
    h["w"] = h["monthly"]
    h["yy"] = h["y"] ** 2
    h["xm"] = h["x"].where(hasxy)
    h["xx"] = (h["x"] ** 2).where(hasxy)
    h["xy"] = (h["x"] * h["y"]).where(hasxy)
    h["yx"] = h["y"].where(hasxy)
    h["yyx"] = h["yy"].where(hasxy)
    h["nw"] = hasy.astype(int)
    h["nxy"] = hasxy.astype(int)
    h["imp"] = h["rec_imputed"].astype(int)
    for k in EDU_KEYS:
        h[f"edu_{k}"] = (h["edu"] == k).astype(int)
    g = h.groupby(["code", "year"], sort=True)
    out = pd.DataFrame(
        {
            "n_postings": g["one"].sum(),
            "vacancies": g["recruits"].sum(),
            "n_recruits_imputed": g["imp"].sum(),
            "n_wage": g["nw"].sum(),
            "s_w": g["w"].sum(min_count=1),
            "s_y": g["y"].sum(min_count=1),
            "s_yy": g["yy"].sum(min_count=1),
            "n_xy": g["nxy"].sum(),
            "s_x": g["xm"].sum(min_count=1),
            "s_xx": g["xx"].sum(min_count=1),
            "s_xy": g["xy"].sum(min_count=1),
            "s_y_x": g["yx"].sum(min_count=1),
            "s_yy_x": g["yyx"].sum(min_count=1),
            **{f"edu_{k}": g[f"edu_{k}"].sum() for k in EDU_KEYS},
        }
    ).reset_index()
    return out


def medians(heads: pd.DataFrame, periods) -> pd.DataFrame:
    import pandas as pd

    from empirics.postings.levels import LEVEL_CHARS

    h = heads[heads["monthly"].notna()]
    rows = []
    for label, a, b in periods:
        s = h[(h["year"] >= a) & (h["year"] <= b)]
        for lv, k in LEVEL_CHARS.items():
            m = s.groupby(s["code"].str[:k])["monthly"].median()
            rows.append(pd.DataFrame({"level": lv, "prefix": m.index, "period": label, "median_wage": m.to_numpy()}))
    return pd.concat(rows, ignore_index=True)


def run(paths, rules: ValidationRules, cfg=None, title_map: dict | None = None):
    """Whole pipeline in pandas: returns (parsed, heads, occupations, growth)."""
    from empirics.postings.levels import aggregate_cells
    from empirics.postings.process import ProcessConfig

    cfg = cfg or ProcessConfig()
    df = read_postings(paths)
    parsed = validate(df, rules, title_map)
    heads = dedup(df, parsed, cfg.window_days)
    c = cells(heads)
    occ, growth, _ = aggregate_cells(c, cfg, medians(heads, cfg.periods) if cfg.medians else None)
    return parsed, heads, occ, growth
