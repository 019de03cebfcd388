"""Processing of postings on DuckDB over Parquet or CSV: validation with a quarantine table, title
matching, 30-day deduplication and per-occupation aggregation at every OCD level and period.

The work runs out of core in an on-disk DuckDB database inside the output folder, under a memory
limit (``ProcessConfig.memory_limit``), and the database is removed at the end. Steps:

1. **Read** the input files (``union_by_name``; absent schema columns read as missing).
2. **Match titles** of valid rows without an occupation code: the distinct titles go through
   :class:`empirics.postings.titles.TitleMatcher` once; the best fine occupation is used.
3. **Validate**: every row gets the first failing rule of :data:`schema.REASONS` (or none); the
   failing rows, with all their columns, ``source_file``, ``reason`` and ``reasons`` (all failing
   rules, ``;``-joined), are written to ``quarantine.parquet``.
4. **Deduplicate**: rows of one firm and occupation sorted by date (then ``posting_id``); a row
   within ``window_days`` days of the previous one is a duplicate. Rows without a firm are never
   duplicates. The first row of each run (the *head*) is kept with its recruits, wage, education
   and experience.
5. **Aggregate** heads to sufficient statistics per fine occupation and year, then to every level
   and period: vacancies (recruits, missing read as 1), vacancy shares, postings, mean, median and
   mean log of the monthly wage (midpoint of the range, or the one bound given, times the unit
   factor), the experience premium (within-group OLS slope of log wage on required years with its
   classical standard error), and the education mix (shares of heads).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from .errors import ConfigError, InputError
from .schema import COLUMNS, EDUCATION, EDUCATION_ALIASES, EDUCATION_MISSING, EDUCATION_OTHER, UNIT_ALIASES, UNIT_TO_MONTH

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .schema import ValidationRules
    from .titles import TitleMatcher

LEVEL_CHARS = {"large": 1, "medium": 4, "small": 7, "fine": 10}
DEFAULT_PERIODS: tuple[tuple[str, int, int], ...] = (
    ("2017", 2017, 2017), ("2018", 2018, 2018), ("2019", 2019, 2019), ("2020", 2020, 2020),
    ("2021", 2021, 2021), ("2022", 2022, 2022),
    ("2017-2019", 2017, 2019), ("2020-2022", 2020, 2022), ("2017-2022", 2017, 2022),
)
Y0 = 9.0
"""Offset subtracted from log wages before sums of squares are formed (numerical stability)."""
EDU_KEYS = (*EDUCATION, EDUCATION_OTHER, EDUCATION_MISSING)


@dataclass(frozen=True)
class ProcessConfig:
    """Parameters of :func:`process`."""

    periods: tuple[tuple[str, int, int], ...] = DEFAULT_PERIODS
    """(label, first year, last year) of each period; periods may overlap."""
    growth: tuple[str, str] = ("2017-2019", "2020-2022")
    """Periods whose vacancy shares are compared (early, late)."""
    window_days: int = 30
    match_titles: bool = True
    memory_limit: str = "3GB"
    threads: int | None = None
    medians: bool = True
    progress_bar: bool = False
    """Let DuckDB draw its progress bar on long queries (the CLI turns it on)."""

    def check(self) -> None:
        labels = [p[0] for p in self.periods]
        if len(set(labels)) != len(labels):
            raise ConfigError(f"process: period labels must be unique, got {labels}")
        for label, a, b in self.periods:
            if a > b:
                raise ConfigError(f"process: period {label!r} starts after it ends ({a} > {b})")
        for g in self.growth:
            if g not in labels:
                raise ConfigError(f"process: growth period {g!r} is not one of the periods {labels}")
        if self.window_days < 0:
            raise ConfigError(f"process: window_days must be >= 0, got {self.window_days}")


@dataclass
class ProcessResult:
    out_dir: Path
    report: dict
    occupations: pd.DataFrame
    growth: pd.DataFrame
    files: dict[str, Path] = field(default_factory=dict)


def _sql_str(s: str) -> str:
    return "'" + str(s).replace("'", "''") + "'"


def _connect(db_path: Path, cfg: ProcessConfig):
    import duckdb

    con = duckdb.connect(str(db_path))
    con.execute(f"SET memory_limit = {_sql_str(cfg.memory_limit)}")
    con.execute(f"SET temp_directory = {_sql_str(str(db_path.parent / 'duckdb_tmp'))}")
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET enable_progress_bar = {'true' if cfg.progress_bar else 'false'}")
    if cfg.threads:
        con.execute(f"SET threads = {int(cfg.threads)}")
    return con


_CSV_OPTS = "all_varchar = true, header = true, delim = ',', quote = '\"', escape = '\"'"


def _source_sql(con, files: list[Path], fmt: str) -> tuple[str, dict[str, str]]:
    """SELECT over the input with every schema column present (absent ones as NULL) plus ``source_file``."""
    from .schema import check_columns

    flist = "[" + ", ".join(_sql_str(str(f)) for f in files) + "]"
    if fmt == "parquet":
        reader = f"read_parquet({flist}, union_by_name = true, filename = true)"
        present = {}
        for f in files:
            cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_sql_str(str(f))})").fetchall()]
            present[str(f)] = cols
    else:
        reader = f"read_csv({flist}, {_CSV_OPTS}, union_by_name = true, filename = true)"
        present = {}
        for f in files:
            cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_csv({_sql_str(str(f))}, {_CSV_OPTS})").fetchall()]
            present[str(f)] = cols
    check_columns(present)
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()}
    sel = []
    for c in COLUMNS:
        sel.append(f'"{c}"' if c in types else f"CAST(NULL AS VARCHAR) AS \"{c}\"")
    sel.append("filename AS source_file")
    return f"SELECT {', '.join(sel)} FROM {reader}", {c: types.get(c, "VARCHAR") for c in COLUMNS}


@dataclass(frozen=True)
class _Sql:
    """SQL pieces of validation over the ``parsed`` columns (see :func:`_parsed_sql`)."""

    parsed: str
    """Column expressions ``_date, _code, _rec, _wmin, _wmax, _fac, _x, _edu`` over the input columns."""
    conds: list[tuple[str, str]]
    """(reason, condition) in the order of :data:`schema.REASONS`; a NULL condition counts as false."""
    valid: list[str]
    """One never-NULL predicate per reason, true exactly when its condition is false or NULL."""
    monthly: str
    """Monthly wage expression (NULL without a wage)."""


def _parsed_sql(types: dict[str, str], rules: ValidationRules) -> _Sql:
    """Column expressions of the parsed fields, the ordered (reason, condition) list and the validity test.

    ``valid`` restates each rule positively so that the common case (a valid row) is one conjunction
    that DuckDB evaluates with selection vectors, instead of an eleven-branch CASE per row; the CASE
    (``conds``) is evaluated only for the rows that fail.
    """
    def is_text(c):
        return types[c].upper().startswith("VARCHAR")

    def num(c):
        return f"TRY_CAST(NULLIF(trim(\"{c}\"), '') AS DOUBLE)" if is_text(c) else f"CAST(\"{c}\" AS DOUBLE)"

    if is_text("posting_date"):
        d = "trim(posting_date)"
        date = f"COALESCE(TRY_CAST({d} AS DATE), CAST(TRY_STRPTIME({d}, '%Y/%m/%d') AS DATE))"
    else:
        date = "TRY_CAST(posting_date AS DATE)"
    # units and education through MAP literals: one lookup per row, where a CASE of IN lists
    # lower-cases and trims the value once per branch
    fac_map = "MAP {" + ", ".join(f"{_sql_str(k)}: {_sql_str(repr(UNIT_TO_MONTH[v]))}::DOUBLE" for k, v in UNIT_ALIASES.items()) + "}"
    factor = f"{fac_map}[lower(trim(wage_unit))]"
    edu_idx = {k: i for i, k in enumerate(EDU_KEYS)}
    # education as its index in EDU_KEYS (UTINYINT): a one-byte payload through the dedup sort
    edu_keys = {k.lower(): v for k, v in EDUCATION_ALIASES.items()}
    edu_map = "MAP {" + ", ".join(f"{_sql_str(k)}: {edu_idx[v]}" for k, v in edu_keys.items()) + "}"
    edu = (f"CAST(COALESCE({edu_map}[lower(trim(education))], CASE WHEN education IS NULL OR trim(education) = '' "
           f"THEN {edu_idx[EDUCATION_MISSING]} ELSE {edu_idx[EDUCATION_OTHER]} END) AS UTINYINT)")
    parsed = [
        f"{date} AS _date",
        "NULLIF(trim(occupation_code), '') AS _code",
        f"{num('n_recruits')} AS _rec",
        f"{num('wage_min')} AS _wmin",
        f"{num('wage_max')} AS _wmax",
        f"{factor} AS _fac",
        f"{num('experience_min_years')} AS _x",
        f"{edu} AS _edu",
    ]
    text_nums = [c for c in ("n_recruits", "wage_min", "wage_max", "experience_min_years") if is_text(c)]
    non_numeric = " OR ".join(f"(\"{c}\" IS NOT NULL AND trim(\"{c}\") <> '' AND TRY_CAST(trim(\"{c}\") AS DOUBLE) IS NULL)" for c in text_nums)
    # midpoint, or the one bound given: (a + b) / 2 is NULL when either bound is, so no CASE is needed
    monthly = "(COALESCE((_wmin + _wmax) / 2, _wmin, _wmax) * _fac)"
    bad_bound = "((_wmin IS NOT NULL AND (NOT isfinite(_wmin) OR _wmin <= 0)) OR (_wmax IS NOT NULL AND (NOT isfinite(_wmax) OR _wmax <= 0)))"
    dmin, dmax = f"DATE {_sql_str(rules.date_min)}", f"DATE {_sql_str(rules.date_max)}"
    floor_, cap = repr(float(rules.wage_floor_month)), repr(float(rules.wage_cap_month))
    rmax, xmax = repr(float(rules.recruits_max)), repr(float(rules.experience_max))
    conds = [
        ("non_numeric_field", non_numeric or "FALSE"),
        ("unparseable_date", "_date IS NULL"),
        ("date_out_of_range", f"_date < {dmin} OR _date > {dmax}"),
        ("empty_title", "title IS NULL OR trim(title) = ''"),
        ("invalid_occupation_code", "_code IS NOT NULL AND _code NOT IN (SELECT code FROM known_codes)"),
        ("unknown_unit", "(_wmin IS NOT NULL OR _wmax IS NOT NULL) AND _fac IS NULL"),
        ("wage_min_gt_max", "_wmin IS NOT NULL AND _wmax IS NOT NULL AND _wmin > _wmax"),
        ("impossible_wage", f"{bad_bound} OR ({monthly}) < {floor_} OR ({monthly}) > {cap}"),
        ("invalid_recruits", f"_rec IS NOT NULL AND (NOT isfinite(_rec) OR _rec < 1 OR _rec > {rmax} OR _rec <> floor(_rec))"),
        ("invalid_experience", f"_x IS NOT NULL AND (NOT isfinite(_x) OR _x < 0 OR _x > {xmax})"),
        ("unmatched_title", "_code IS NULL AND _matched IS NULL"),
    ]
    # NOT COALESCE(cond, FALSE), term by term. DuckDB orders DOUBLE totally (NaN above everything),
    # so a comparison's complement is the opposite comparison. The conjunction is never NULL: a
    # term is NULL only where an earlier term (date or title missing) is already false.
    ok_bound = "(_wmin IS NULL OR (isfinite(_wmin) AND _wmin > 0)) AND (_wmax IS NULL OR (isfinite(_wmax) AND _wmax > 0))"
    valid = [
        " AND ".join(f"(\"{c}\" IS NULL OR trim(\"{c}\") = '' OR TRY_CAST(trim(\"{c}\") AS DOUBLE) IS NOT NULL)" for c in text_nums) or "TRUE",
        "_date IS NOT NULL",
        f"_date >= {dmin} AND _date <= {dmax}",
        # trim (which copies the string) only where the first character could be a space: a title that
        # starts at '!' or above, outside U+0080-U+3FFF (where the Unicode spaces lie), is not blank
        "title IS NOT NULL AND ((title >= '!' AND (title < '\u0080' OR title >= '\u4000')) OR trim(title) <> '')",
        "(_code IS NULL OR _code IN (SELECT code FROM known_codes))",
        "((_wmin IS NULL AND _wmax IS NULL) OR _fac IS NOT NULL)",
        "(_wmin IS NULL OR _wmax IS NULL OR _wmin <= _wmax)",
        f"{ok_bound} AND (_wmin IS NULL AND _wmax IS NULL OR {monthly} BETWEEN {floor_} AND {cap})",
        f"(_rec IS NULL OR (isfinite(_rec) AND _rec >= 1 AND _rec <= {rmax} AND _rec = floor(_rec)))",
        f"(_x IS NULL OR (isfinite(_x) AND _x >= 0 AND _x <= {xmax}))",
        "(_code IS NOT NULL OR _matched IS NOT NULL)",
    ]
    return _Sql(", ".join(parsed), conds, valid, monthly)


def process(
    inputs,
    out_dir: str | Path,
    cfg: ProcessConfig | None = None,
    *,
    rules: ValidationRules | None = None,
    matcher: TitleMatcher | None = None,
    progress: Callable[[str], None] | None = None,
) -> ProcessResult:
    """Run validation, matching, deduplication and aggregation; write the outputs to ``out_dir``.

    Outputs: ``quarantine.parquet``, ``occupations.parquet`` / ``.csv`` (level x code x period),
    ``growth.parquet`` / ``.csv`` (share growth between ``cfg.growth`` periods), ``title_matches.csv``
    (distinct titles matched) and ``report.json`` (counts and provenance).
    """
    import shutil

    import pandas as pd

    from .provenance import provenance
    from .schema import default_rules, resolve_inputs

    cfg = cfg or ProcessConfig()
    cfg.check()
    rules = rules or default_rules()
    files, fmt = resolve_inputs(inputs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    work = out / "_work"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    say = progress or (lambda msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    import duckdb

    con = _connect(work / "work.duckdb", cfg)
    try:
        settings = dict(con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', 'memory_limit', 'preserve_insertion_order')").fetchall())
        settings["version"] = duckdb.__version__
        con.register("_known_df", pd.DataFrame({"code": list(rules.known_codes)}, dtype=object))
        con.execute("CREATE TEMP TABLE known_codes AS SELECT CAST(code AS VARCHAR) AS code FROM _known_df")
        src, types = _source_sql(con, files, fmt)
        q = _parsed_sql(types, rules)
        con.execute(f"CREATE TEMP VIEW parsed AS SELECT *, {q.parsed} FROM ({src})")
        rows_read = con.execute(f"SELECT count(*) FROM ({src})").fetchone()[0]
        names = [r for r, _ in q.conds]
        # COALESCE keeps these tests above the scan, so only the rows without a code are tested
        pre_ok = " AND ".join(f"NOT COALESCE(({c}), FALSE)" for r, c in q.conds if r != "unmatched_title")

        # ---- title matching
        t = time.perf_counter()
        titles = con.execute(f"SELECT DISTINCT title FROM parsed WHERE _code IS NULL AND {pre_ok}").fetchdf()["title"]
        if cfg.match_titles and len(titles):
            say(f"matching {len(titles):,} distinct titles")
            from .titles import default_matcher

            m = matcher or default_matcher()
            res = m.match(titles.tolist())
            tm = pd.DataFrame({"title": titles.to_numpy(dtype=object), "matched_code": res["fine_code"].replace("", None).to_numpy(dtype=object),
                               "match_score": res["fine_score"].to_numpy()})
        else:
            tm = pd.DataFrame({"title": titles.to_numpy(dtype=object), "matched_code": pd.Series([None] * len(titles), dtype=object),
                               "match_score": 0.0})
        tm.to_csv(out / "title_matches.csv", index=False)
        con.register("_tm_df", tm)
        con.execute("CREATE TEMP TABLE title_map AS SELECT CAST(title AS VARCHAR) AS _mtitle, CAST(matched_code AS VARCHAR) AS matched_code FROM _tm_df")
        timings["match_titles"] = time.perf_counter() - t

        con.execute(
            """CREATE TEMP VIEW checked AS
            SELECT p.*, m.matched_code AS _matched
            FROM parsed p LEFT JOIN title_map m ON p._code IS NULL AND p.title = m._mtitle"""
        )
        valid = " AND ".join(q.valid)
        # ---- quarantine: the reasons are worked out only for the rows that fail the validity test
        t = time.perf_counter()
        say("validating and writing the quarantine table")
        reason = "CASE " + " ".join(f"WHEN COALESCE(({c}), FALSE) THEN '{r}'" for r, c in q.conds) + " END"
        all_reasons = "concat_ws(';', " + ", ".join(f"CASE WHEN COALESCE(({c}), FALSE) THEN '{r}' END" for r, c in q.conds) + ")"
        orig = ", ".join(f'"{c}"' for c in COLUMNS)
        qpath = out / "quarantine.parquet"
        con.execute(
            f"COPY (SELECT {orig}, source_file, {reason} AS reason, {all_reasons} AS reasons FROM checked WHERE NOT ({valid})) "
            f"TO {_sql_str(str(qpath))} (FORMAT parquet, COMPRESSION zstd)"
        )
        qcounts = dict(con.execute(f"SELECT reason, count(*) FROM read_parquet({_sql_str(str(qpath))}) GROUP BY reason").fetchall())
        if None in qcounts:  # the validity test and the rules disagree: a bug, never silently passed
            raise RuntimeError(f"postings process: {qcounts[None]} quarantined rows have no reason")
        timings["validate"] = time.perf_counter() - t

        # ---- dedup: one window over the valid rows; only the fields the aggregation needs are carried
        t = time.perf_counter()
        say("deduplicating")
        con.execute(
            f"""CREATE TEMP TABLE heads AS
            SELECT code, CAST(year(d) AS INTEGER) AS year, firm_missing, rec, monthly, x, edu FROM (
              SELECT COALESCE(_code, _matched) AS code, _date AS d, firm IS NULL AS firm_missing,
                     _rec AS rec, {q.monthly} AS monthly, _x AS x, _edu AS edu,
                     lag(_date) OVER (PARTITION BY firm, COALESCE(_code, _matched) ORDER BY _date, posting_id) AS prev
              FROM checked WHERE {valid}
            ) WHERE firm_missing OR prev IS NULL OR d - prev > {int(cfg.window_days)}"""
        )
        valid_rows = rows_read - sum(qcounts.values())
        heads, no_firm = con.execute("SELECT count(*), count(*) FILTER (WHERE firm_missing) FROM heads").fetchone()
        timings["dedup"] = time.perf_counter() - t

        # ---- aggregation
        t = time.perf_counter()
        say("aggregating")
        edu_sums = ", ".join(f"count(*) FILTER (WHERE edu = {i}) AS edu_{k}" for i, k in enumerate(EDU_KEYS))
        cells = con.execute(
            f"""SELECT code, year, count(*) AS n_postings, sum(CAST(COALESCE(rec, 1) AS BIGINT)) AS vacancies,
                   count(*) FILTER (WHERE rec IS NULL) AS n_recruits_imputed,
                   count(monthly) AS n_wage, sum(monthly) AS s_w, sum(y) AS s_y, sum(y * y) AS s_yy,
                   count(*) FILTER (WHERE y IS NOT NULL AND x IS NOT NULL) AS n_xy,
                   sum(x) FILTER (WHERE y IS NOT NULL) AS s_x, sum(x * x) FILTER (WHERE y IS NOT NULL) AS s_xx,
                   sum(x * y) AS s_xy, sum(y) FILTER (WHERE x IS NOT NULL) AS s_y_x,
                   sum(y * y) FILTER (WHERE x IS NOT NULL) AS s_yy_x, {edu_sums}
               FROM (SELECT *, ln(monthly) - {Y0} AS y FROM heads) GROUP BY code, year ORDER BY code, year"""
        ).fetchdf()
        medians = _medians(con, cfg.periods) if cfg.medians else None
        timings["aggregate_sql"] = time.perf_counter() - t
    except duckdb.Error as e:
        raise InputError(f"postings input {[str(f) for f in files][:3]}{' ...' if len(files) > 3 else ''}: {e}") from e
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)

    t = time.perf_counter()
    occ, growth, outside = aggregate_cells(cells, cfg, medians)
    timings["aggregate_levels"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    occ.to_parquet(out / "occupations.parquet", index=False)
    occ.to_csv(out / "occupations.csv", index=False)
    growth.to_parquet(out / "growth.parquet", index=False)
    growth.to_csv(out / "growth.csv", index=False)
    quarantined = int(sum(qcounts.values()))
    duplicates = int(valid_rows - heads)
    report = {
        "rows_read": int(rows_read),
        "quarantined": quarantined,
        "quarantine_by_reason": {r: int(qcounts.get(r, 0)) for r in names},
        "valid_rows": int(valid_rows),
        "titles_matched": int(tm["matched_code"].notna().sum()),
        "titles_distinct_without_code": int(len(tm)),
        "heads": int(heads),
        "duplicates": duplicates,
        "duplicate_rate": duplicates / valid_rows if valid_rows else float("nan"),
        "rows_without_firm": int(no_firm),
        "heads_outside_periods": int(outside),
        "recruits_imputed": int(cells["n_recruits_imputed"].sum()),
        "timings_s": timings,
        "duckdb": settings,
        "rows_per_second": rows_read / timings["total"] if timings["total"] > 0 else None,
        "config": {**asdict(cfg), "rules": {k: v for k, v in asdict(rules).items() if k != "known_codes"}},
    }
    report["provenance"] = provenance("postings process", report["config"], {"inputs": [str(f) for f in files]})
    files_out = {k: out / v for k, v in {"quarantine": "quarantine.parquet", "occupations": "occupations.parquet",
                                          "growth": "growth.parquet", "report": "report.json", "title_matches": "title_matches.csv"}.items()}
    (out / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True, default=str), encoding="utf-8")
    return ProcessResult(out, report, occ, growth, files_out)


_MEDIAN_BYTES_PER_VALUE = 32
"""Rough memory of one value held by DuckDB's median (the double, vector growth, group overhead)."""


def _memory_limit_bytes(con) -> float:
    value, unit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0].split()
    return float(value) * {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}.get(unit, 1)


def _medians(con, periods: Sequence[tuple[str, int, int]]):
    """Median monthly wage of heads per level, code prefix and period.

    DuckDB's median keeps every value of its group in memory (it cannot spill). One query per level
    holds each wage once per period it falls in; when that would take more than half the memory
    limit (about 10^8 postings under 3 GB), each (level, period) gets its own query instead, which
    holds each wage at most once.
    """
    import pandas as pd

    con.register("_periods_df", pd.DataFrame(list(periods), columns=["period", "y0", "y1"]))
    con.execute("CREATE TEMP TABLE periods AS SELECT * FROM _periods_df")
    held = con.execute("SELECT count(*) FROM heads h JOIN periods p ON h.year BETWEEN p.y0 AND p.y1 WHERE h.monthly IS NOT NULL").fetchone()[0]
    split = held * _MEDIAN_BYTES_PER_VALUE > 0.5 * _memory_limit_bytes(con)
    parts = []
    for lv, k in LEVEL_CHARS.items():
        if not split:
            parts.append(con.execute(
                f"""SELECT '{lv}' AS level, substr(h.code, 1, {k}) AS prefix, p.period, median(h.monthly) AS median_wage
                    FROM heads h JOIN periods p ON h.year BETWEEN p.y0 AND p.y1
                    WHERE h.monthly IS NOT NULL GROUP BY ALL""").fetchdf())
            continue
        for label, y0, y1 in periods:
            parts.append(con.execute(
                f"""SELECT '{lv}' AS level, substr(code, 1, {k}) AS prefix, {_sql_str(label)} AS period, median(monthly) AS median_wage
                    FROM heads WHERE monthly IS NOT NULL AND year BETWEEN {int(y0)} AND {int(y1)} GROUP BY ALL""").fetchdf())
    return pd.concat(parts, ignore_index=True)


def aggregate_cells(cells: pd.DataFrame, cfg: ProcessConfig, medians: pd.DataFrame | None = None):
    """Fine occupation x year sufficient statistics -> (occupations table, growth table, heads outside periods).

    Shared by the DuckDB pipeline and the pandas reference implementation, so both are checked
    against each other up to this point and this step is tested on hand-worked cells.
    """
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
    if medians is not None and len(medians):
        med = medians.assign(code=medians["prefix"].map(_short_code)).drop(columns="prefix")
        out = out.merge(med, on=["level", "code", "period"], how="left")
    else:
        out["median_wage"] = np.nan
    order = {lv: i for i, lv in enumerate(LEVEL_CHARS)}
    plabels = {p[0]: i for i, p in enumerate(cfg.periods)}
    out = out.sort_values(["level", "period", "code"], key=lambda s: s.map(order) if s.name == "level" else (s.map(plabels) if s.name == "period" else s))
    out = out.reset_index(drop=True)
    first = ["level", "code", "period", "n_postings", "vacancies", "vacancy_share", "mean_wage", "median_wage", "mean_log_wage"]
    out = out[first + [c for c in out.columns if c not in first]]
    growth = share_growth(out, *cfg.growth)
    return out, growth, outside


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


__all__ = ["ProcessConfig", "ProcessResult", "process", "aggregate_cells", "share_growth", "DEFAULT_PERIODS"]
