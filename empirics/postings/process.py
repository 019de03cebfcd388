"""Processing of postings on DuckDB over Parquet or CSV: validation with a quarantine table, title
matching, 30-day deduplication and per-occupation aggregation at every OCD level and period.

The work runs out of core in an on-disk DuckDB database inside the output folder, under a memory
limit (``ProcessConfig.memory_limit``), and the database is removed at the end. :func:`process` runs
these stages, each a function with a typed result (:class:`RunSetup`, :class:`StagedInput`,
:class:`TitleStage`, :class:`CheckedRows`, :class:`Scanned`, :class:`Quarantine`, :class:`LevelTables`):

1. **Read** the input files (``union_by_name``; absent schema columns read as missing): :func:`read_input`,
   over :mod:`.ingest`.
2. **Match titles** of valid rows without an occupation code: the distinct titles go through
   :class:`empirics.postings.titles.TitleMatcher` once; the best fine occupation is used
   (:func:`match_titles`); then the rows are checked (:func:`check_rows`).
3. **One pass over the input** (:func:`_scan`): DuckDB reads and validates every row once. The
   valid rows are sorted for dedup and streamed out in Arrow batches; the failing rows, with all
   their columns and ``source_file``, come last and are written to ``quarantine.parquet`` with
   ``reason`` (the first failing rule of :data:`schema.REASONS`) and ``reasons`` (all failing
   rules, ``;``-joined), worked out on those rows alone (:func:`write_quarantine`), and the rows are
   balanced: rows in = rows kept + rows quarantined (:func:`check_balance`).
4. **Deduplicate** (in the same pass): rows of one firm and occupation sorted by date (then
   ``posting_id``); a row within ``window_days`` days of the previous one is a duplicate. Rows
   without a firm are never duplicates. The first row of each run (the *head*) is kept with its
   recruits, wage, education and experience. The sort key is a 64-bit hash of firm and
   occupation; a hash collision is detected exactly and then the rows are sorted by firm and
   occupation themselves.
5. **Aggregate** heads to sufficient statistics per fine occupation and year (summed batch by
   batch, in stream order, on a worker thread), then to every level and period: vacancies (recruits, missing read as 1), vacancy
   shares, postings, mean, median and mean log of the monthly wage (midpoint of the range, or the
   one bound given, times the unit factor), the experience premium (within-group OLS slope of log
   wage on required years with its classical standard error), and the education mix (shares of
   heads). Medians are exact order statistics (:func:`grouped_medians` in memory, or DuckDB's
   median for inputs too large for that): :func:`aggregate_levels`, over :mod:`.levels`.
6. **Write** the tables and ``report.json`` with provenance (:func:`write_table`, :func:`make_report`,
   :func:`write_report`).
"""
from __future__ import annotations

import json
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from .errors import ConfigError, InputError
from .ingest import (  # noqa: F401  (_with_pid_dups: re-exported for the tests)
    ENCODINGS,
    INGEST_REASONS,
    _connect,
    _norm_encoding,
    _parsed_sql,
    _source_sql,
    _Sql,
    _sql_str,
    _with_pid_dups,
)
from .levels import (  # noqa: F401  (LEVEL_CHARS, aggregate_cells, grouped_medians: re-exported for the tests)
    LEVEL_CHARS,
    Y0,
    _level_tables,
    _medians_from_keys,
    _with_medians,
    aggregate_cells,
    grouped_medians,
    share_growth,
)
from .matching import _title_matches, _title_stats, _unmatched_table, _with_min_score
from .schema import COLUMNS, EDU_KEYS

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

    from .schema import ValidationRules
    from .titles import TitleMatcher

DEFAULT_PERIODS: tuple[tuple[str, int, int], ...] = (
    ("2017", 2017, 2017), ("2018", 2018, 2018), ("2019", 2019, 2019), ("2020", 2020, 2020),
    ("2021", 2021, 2021), ("2022", 2022, 2022),
    ("2017-2019", 2017, 2019), ("2020-2022", 2020, 2022), ("2017-2022", 2017, 2022),
)


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
    encoding: str = "utf-8"
    """Text encoding of CSV input: ``utf-8``, ``gbk`` or ``gb18030`` (Parquet text is always UTF-8)."""
    max_line_bytes: int = 2_000_000
    """CSV lines longer than this (bytes) are quarantined as ``line_too_long`` (DuckDB's default limit)."""
    min_title_score: float | None = None
    """Confidence threshold of title matches (``None``: the matcher's, by default
    :data:`empirics.postings.titles.DEFAULT_MIN_SCORE`); titles below it go to ``unmatched.csv``."""

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
        if _norm_encoding(self.encoding) not in ENCODINGS:
            raise ConfigError(f"process: encoding {self.encoding!r} is not supported; use one of {list(ENCODINGS)}")
        if self.max_line_bytes < 1024:
            raise ConfigError(f"process: max_line_bytes must be >= 1024, got {self.max_line_bytes}")
        if self.min_title_score is not None and not (self.min_title_score >= 0):
            raise ConfigError(f"process: min_title_score must be >= 0, got {self.min_title_score}")


@dataclass
class ProcessResult:
    out_dir: Path
    report: dict
    occupations: pd.DataFrame
    growth: pd.DataFrame
    files: dict[str, Path] = field(default_factory=dict)


# ---- the stages of :func:`process`, each with a typed result


@dataclass(frozen=True)
class RunSetup:
    """Stage 0: the input files, the output folder with its scratch folder, and the configuration recorded."""

    files: tuple[Path, ...]
    fmt: str
    """``csv`` or ``parquet``."""
    out: Path
    work: Path
    """Scratch folder inside ``out`` (the DuckDB database, staged files); removed at the end."""
    config: dict
    """``ProcessConfig`` and the validation rules (without the known codes), as recorded in the report."""


@dataclass(frozen=True)
class StagedInput:
    """Stage 1 (read): the input as one SQL source, its validation SQL and the lines rejected on read."""

    src: str
    """SELECT over the input with every schema column and ``source_file``."""
    types: dict[str, str]
    """DuckDB type of each schema column."""
    rejects: pd.DataFrame
    """CSV lines that could not be read as rows (columns ``_REJECT_COLS``; empty for Parquet)."""
    sql: _Sql
    rows_read: int
    pre_ok: str
    """SQL test: every rule but ``unmatched_title`` and ``duplicate_posting_id`` passes."""
    settings: dict
    """DuckDB settings and version, for the report."""


@dataclass(frozen=True)
class TitleStage:
    """Stage 2 (match titles): the distinct titles without a code, matched once, and the code numbers."""

    table: pd.DataFrame
    """``title_matches.csv`` (filled from the quarantine when matching is off, see :func:`title_tables`)."""
    unmatched: pd.DataFrame | None
    """``unmatched.csv`` (``None`` when matching is off)."""
    stats: dict | None
    codes: np.ndarray
    """Every occupation a valid row can carry (known or matched), sorted: rows carry its index."""


@dataclass(frozen=True)
class CheckedRows:
    """Stage 3 (validate): the view ``checked``, every row with its parsed fields, code number and ``_piddup``."""

    checked: Callable[[str], str]
    """The same checks as SQL over another source with the input's columns (the quarantined rows)."""
    dup_ids: int
    """``posting_id`` values on more than one row."""
    dup_id_rows: int
    """Rows carrying one of them."""


@dataclass(frozen=True)
class Scanned:
    """Stage 4 (one pass: validate, deduplicate, sum): the scan's counts and cells, where its rows went."""

    scan: _ScanResult
    key_clashes: int
    qraw: Path
    """The failing rows as JSON text (``raw_json``), read back by :func:`write_quarantine`."""
    year0: int
    keep_wages: bool
    """The heads' wages are kept in memory for the medians (else in ``wage_file``, or not at all)."""
    wage_file: Path | None


@dataclass(frozen=True)
class Quarantine:
    """Stage 5 (quarantine): ``quarantine.parquet`` and its counts."""

    path: Path
    counts: dict
    """Rows per first failing reason."""
    dup_quarantined: int
    """Rows quarantined (among other reasons) as ``duplicate_posting_id``."""
    rows_in: int
    """Rows read plus lines rejected on read."""

    @property
    def total(self) -> int:
        return int(sum(self.counts.values()))


@dataclass(frozen=True)
class LevelTables:
    """Stage 7 (aggregate): the occupations table without medians, share growth, heads outside every period."""

    occupations: pd.DataFrame
    growth: pd.DataFrame
    outside: int


def setup_run(inputs, out_dir: str | Path, cfg: ProcessConfig, rules: ValidationRules) -> RunSetup:
    """Resolve the inputs and make ``out_dir`` with an empty scratch folder."""
    import shutil

    from .schema import resolve_inputs

    files, fmt = resolve_inputs(inputs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    work = out / "_work"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    config = {**asdict(cfg), "rules": {k: v for k, v in asdict(rules).items() if k != "known_codes"}}
    return RunSetup(tuple(files), fmt, out, work, config)


def read_input(con, run: RunSetup, cfg: ProcessConfig, rules: ValidationRules) -> StagedInput:
    """Register the known codes, read (or stage) the input and define the view ``parsed``."""
    import duckdb
    import pandas as pd

    settings = dict(con.execute(
        "SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', 'memory_limit', 'preserve_insertion_order')").fetchall())
    settings["version"] = duckdb.__version__
    con.register("_known_df", pd.DataFrame({"code": list(rules.known_codes)}, dtype=object))
    con.execute("CREATE TEMP TABLE known_codes AS SELECT CAST(code AS VARCHAR) AS code FROM _known_df")
    src, types, rejects = _source_sql(con, list(run.files), run.fmt, cfg, run.work)
    q = _parsed_sql(types, rules)
    # `_known`: the code is one of the known codes (here by a semi-join; below by the code table)
    con.execute(f"CREATE TEMP VIEW parsed AS SELECT *, _code IN (SELECT code FROM known_codes) AS _known FROM (SELECT *, {q.parsed} FROM ({src}))")
    rows_read = con.execute(f"SELECT count(*) FROM ({src})").fetchall()[0][0]
    # COALESCE keeps these tests above the scan, so only the rows without a code are tested
    pre_ok = " AND ".join(f"NOT COALESCE(({c}), FALSE)" for r, c in q.conds if r not in ("unmatched_title", "duplicate_posting_id"))
    return StagedInput(src, types, rejects, q, rows_read, pre_ok, settings)


def match_titles(con, staged: StagedInput, cfg: ProcessConfig, rules: ValidationRules, matcher: TitleMatcher | None,
                 say: Callable[[str], None]) -> TitleStage:
    """Match the distinct titles of the rows without a code (when ``cfg.match_titles``) and number the
    codes; defines the tables ``codes`` and ``title_map``."""
    import numpy as np
    import pandas as pd

    unmatched = None
    if cfg.match_titles:
        tcount = con.execute(f"SELECT title, count(*) AS n FROM parsed WHERE _code IS NULL AND {staged.pre_ok} GROUP BY title ORDER BY title").fetchdf()
        titles = tcount["title"]
        say(f"matching {len(titles):,} distinct titles")
        from .titles import default_matcher

        m = matcher or default_matcher()
        if cfg.min_title_score is not None:
            m = _with_min_score(m, cfg.min_title_score)
        res = m.match(titles.tolist()) if len(titles) else None
        ok = None if res is None else res["matched"].to_numpy(bool)
        tm = _title_matches(titles, None if res is None else res["fine_code"].where(ok, None).replace("", None),
                            None if res is None else res["fine_score"], tcount["n"], res)
        unmatched = _unmatched_table(m, tcount, res)
        title_stats = _title_stats(tcount, res, m.weights.score_threshold)
    else:  # no title is matched: they are listed later, from the rows quarantined as unmatched
        tm = _title_matches(pd.Series([], dtype=object), None, None)
        title_stats = None
    # every occupation a valid row can carry (a known code or a matched one), numbered in sorted
    # order: dedup and aggregation carry this integer instead of the code's text
    codes = np.array(sorted(set(rules.known_codes) | set(tm["matched_code"].dropna())), dtype=object)
    known = set(rules.known_codes)
    con.register("_codes_df", pd.DataFrame({"code": codes, "ci": np.arange(len(codes), dtype=np.int32),
                                            "known": np.array([c in known for c in codes], dtype=bool)}))
    con.execute("CREATE TEMP TABLE codes AS SELECT CAST(code AS VARCHAR) AS code, CAST(ci AS INTEGER) AS ci, known FROM _codes_df")
    con.register("_tm_df", tm[tm["matched_code"].notna()])
    con.execute("""CREATE TEMP TABLE title_map AS SELECT CAST(t.title AS VARCHAR) AS _mtitle, CAST(t.matched_code AS VARCHAR) AS matched_code, c.ci AS matched_ci
                   FROM _tm_df t JOIN codes c ON c.code = t.matched_code""")
    return TitleStage(tm, unmatched, title_stats, codes)


def check_rows(con, staged: StagedInput, titles: TitleStage) -> CheckedRows:
    """Define the view ``checked``: the parsed rows with the known-code test, the code number (known or
    matched) and ``_piddup`` (see :func:`_with_pid_dups`)."""
    q = staged.sql
    # one join with the code table gives both the known-code test and the code number; the
    # title join is left out when no title was matched (then no row gets a code from it)
    if titles.table["matched_code"].notna().any():
        match_cols, title_join = "m.matched_code AS _matched, COALESCE(k.ci, m.matched_ci) AS _ci", \
            "LEFT JOIN title_map m ON p._code IS NULL AND p.title = m._mtitle"
    else:
        match_cols, title_join = "CAST(NULL AS VARCHAR) AS _matched, k.ci AS _ci", ""

    def checked(source: str) -> str:
        return (f"SELECT p.*, COALESCE(k.known, FALSE) AS _known, {match_cols} "
                f"FROM (SELECT *, {q.parsed} FROM ({source})) p LEFT JOIN codes k ON k.code = p._code {title_join}")

    # duplicate posting_ids: of the rows sharing an id one is kept, the others fail the rule
    # duplicate_posting_id (`_piddup`)
    con.execute(f"CREATE TEMP TABLE dup_ids AS SELECT posting_id AS _did, count(*) AS n FROM ({staged.src}) WHERE posting_id IS NOT NULL GROUP BY ALL HAVING count(*) > 1")
    dup_ids, dup_id_rows = con.execute("SELECT count(*), COALESCE(sum(n), 0) FROM dup_ids").fetchall()[0]
    con.execute(f"CREATE TEMP VIEW checked AS {_with_pid_dups(checked(staged.src), q, bool(dup_ids))}")
    return CheckedRows(checked, int(dup_ids), int(dup_id_rows))


def scan_input(con, run: RunSetup, staged: StagedInput, titles: TitleStage, cfg: ProcessConfig, rules: ValidationRules,
               say: Callable[[str], None]) -> Scanned:
    """The one pass (:func:`_scan`), again with the exact sort order if the dedup key clashed."""
    say("validating, deduplicating and aggregating")
    qraw = run.work / "quarantine_raw.parquet"
    codes, rows_read = titles.codes, staged.rows_read
    # medians in memory when the heads' wages fit in a quarter of the memory limit (and a cell
    # number, (year - year0) * codes + code, in 31 bits); otherwise DuckDB's median from a file
    year0, year1 = con.execute(f"SELECT year(DATE {_sql_str(rules.date_min)}), year(DATE {_sql_str(rules.date_max)})").fetchall()[0]
    keep_wages = bool(cfg.medians and rows_read * _GROUPED_MEDIAN_BYTES_PER_VALUE <= 0.25 * _memory_limit_bytes(con)
                      and (year1 - year0 + 1) * len(codes) < 2**31)
    wage_file = None if keep_wages or not cfg.medians else run.work / "head_wages.parquet"
    wage_rows = rows_read if keep_wages else None
    st = _scan(con, staged.sql, cfg.window_days, codes, qraw, wage_file, exact=False, wage_rows=wage_rows, year0=year0)
    key_clashes = st.clashes
    if key_clashes:  # two (firm, occupation) pairs share a hash key: redo with the exact order
        say(f"{key_clashes} dedup key clashes: sorting by firm and occupation instead")
        st = _scan(con, staged.sql, cfg.window_days, codes, qraw, wage_file, exact=True, wage_rows=wage_rows, year0=year0)
    return Scanned(st, int(key_clashes), qraw, year0, keep_wages, wage_file)


def write_quarantine(con, run: RunSetup, staged: StagedInput, checked: CheckedRows, scanned: Scanned) -> Quarantine:
    """Write ``quarantine.parquet``: the lines rejected on read, then the failing rows with their reasons.

    The failing rows' values, carried as text, go back to their input types (the same values: text
    round-trips every type exactly) and are checked again for their reasons. Working out the reasons
    here, on these rows only, keeps them out of the sorting pass, where they cost about a tenth of
    DuckDB's time.
    """
    q, types, rejects = staged.sql, staged.types, staged.rejects
    qpath = run.out / "quarantine.parquet"
    back = ", ".join(f'CAST(raw[{i + 1}] AS {types[c]}) AS "{c}"' for i, c in enumerate(COLUMNS))
    qsrc = (f"SELECT {back}, raw[{len(COLUMNS) + 1}] AS source_file, CAST(raw[{len(COLUMNS) + 2}] AS BOOLEAN) AS _piddup "
            f"FROM (SELECT from_json(raw_json, '[\"VARCHAR\"]') AS raw FROM read_parquet({_sql_str(str(scanned.qraw))}))")
    reason = "CASE " + " ".join(f"WHEN COALESCE(({c}), FALSE) THEN '{r}'" for r, c in q.conds) + " END"
    all_reasons = "concat_ws(';', " + ", ".join(f"CASE WHEN COALESCE(({c}), FALSE) THEN '{r}' END" for r, c in q.conds) + ")"
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    # lines that could not be read as rows (CSV only) come first, with all columns missing
    con.register("_rejects_df", rejects.astype({"source_line": "Int64", "byte_offset": "Int64"}).astype(
        {c: object for c in ("source_file", "reason", "reasons", "raw_line", "detail")}))
    rej_cols = ", ".join(f'CAST(NULL AS {types[c]}) AS "{c}"' for c in COLUMNS)
    con.execute(f"""COPY (SELECT {rej_cols}, CAST(source_file AS VARCHAR) AS source_file, CAST(reason AS VARCHAR) AS reason,
                           CAST(reasons AS VARCHAR) AS reasons, CAST(source_line AS BIGINT) AS source_line,
                           CAST(byte_offset AS BIGINT) AS byte_offset, CAST(raw_line AS VARCHAR) AS raw_line, CAST(detail AS VARCHAR) AS detail
                    FROM _rejects_df
                    UNION ALL
                    SELECT {cols}, source_file, {reason} AS reason, {all_reasons} AS reasons, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT),
                           CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR) FROM ({checked.checked(qsrc)}))
                    TO {_sql_str(str(qpath))} (FORMAT parquet, COMPRESSION zstd)""")
    qcounts = dict(con.execute(f"SELECT reason, count(*) FROM read_parquet({_sql_str(str(qpath))}) GROUP BY reason").fetchall())
    dup_quarantined = con.execute(f"SELECT count(*) FROM read_parquet({_sql_str(str(qpath))}) "
                                  "WHERE list_contains(string_split(reasons, ';'), 'duplicate_posting_id')").fetchall()[0][0]
    if None in qcounts:  # the validity test and the rules disagree: a bug, never silently passed
        raise RuntimeError(f"postings process: {qcounts[None]} quarantined rows have no reason")
    return Quarantine(qpath, qcounts, int(dup_quarantined), int(staged.rows_read) + len(rejects))


def check_balance(run: RunSetup, staged: StagedInput, checked: CheckedRows, scanned: Scanned, quarantine: Quarantine) -> None:
    """Stage 6: rows in = rows kept + rows quarantined; every row of a repeated id but one quarantined."""
    _check_balance(list(run.files), quarantine.rows_in, int(staged.rows_read), len(staged.rejects), int(scanned.scan.valid),
                   quarantine.total, checked.dup_id_rows - checked.dup_ids, quarantine.dup_quarantined)


def title_tables(con, run: RunSetup, titles: TitleStage, quarantine: Quarantine, cfg: ProcessConfig) -> pd.DataFrame:
    """Write ``title_matches.csv`` (and ``unmatched.csv``); returns the title table written.

    With matching off, the titles listed are exactly those of the rows whose only failing rule is
    ``unmatched_title`` (the last rule)."""
    tm = titles.table
    if not cfg.match_titles:
        tm = _title_matches(con.execute(f"SELECT DISTINCT title FROM read_parquet({_sql_str(str(quarantine.path))}) "
                                        "WHERE reason = 'unmatched_title' ORDER BY title").fetchdf()["title"], None, None)
    _write_csv(tm, run.out / "title_matches.csv")
    if titles.unmatched is not None:
        _write_csv(titles.unmatched, run.out / "unmatched.csv")
    return tm


def aggregate_levels(scanned: Scanned, cfg: ProcessConfig) -> LevelTables:
    """Stage 7: the cells to every level and period, and the growth of vacancy shares."""
    occ, outside = _level_tables(scanned.scan.cells, cfg)
    return LevelTables(occ, share_growth(occ, *cfg.growth), outside)


def write_table(df: pd.DataFrame, out: Path, name: str) -> None:
    """``name.parquet`` and ``name.csv`` in ``out``."""
    df.to_parquet(out / f"{name}.parquet", index=False)
    _write_csv(df, out / f"{name}.csv")


def make_report(run: RunSetup, staged: StagedInput, titles: TitleStage, title_table: pd.DataFrame, checked: CheckedRows,
                 scanned: Scanned, quarantine: Quarantine, levels: LevelTables, timings: dict, provenance: dict) -> dict:
    """The contents of ``report.json``: counts, the balance, title matching, timings and provenance."""
    st, qcounts = scanned.scan, quarantine.counts
    rows_in, rows_read = quarantine.rows_in, int(staged.rows_read)
    valid_rows, quarantined = int(st.valid), quarantine.total
    dup_ids, dup_id_rows = checked.dup_ids, checked.dup_id_rows
    duplicates = int(st.valid - st.heads)
    return {
        "rows_in": rows_in,
        "rows_read": rows_read,
        "rows_rejected_on_read": len(staged.rejects),
        "quarantined": quarantined,
        "quarantine_by_reason": {r: int(qcounts.get(r, 0)) for r in (*INGEST_REASONS, *(r for r, _ in staged.sql.conds))},
        "valid_rows": valid_rows,
        "balance": {"rows_in": rows_in, "rows_kept": valid_rows, "rows_quarantined": quarantined,
                    "ok": rows_in == valid_rows + quarantined},
        "duplicate_posting_ids": {"ids": dup_ids, "rows": dup_id_rows, "rows_quarantined": dup_id_rows - dup_ids,
                                  "rule": "of the rows sharing a posting_id, the first in the order (rows passing every other rule "
                                          "first, then date, code, matched code, firm, title, city, description, wage_unit, education, "
                                          "n_recruits, wage_min, wage_max, experience_min_years; missing values last) is kept, the "
                                          "others are quarantined as duplicate_posting_id"},
        "titles_matched": int(title_table["matched_code"].notna().sum()),
        "titles_distinct_without_code": int(len(title_table)),
        "title_matching": titles.stats,
        "heads": int(st.heads),
        "duplicates": duplicates,
        "duplicate_rate": duplicates / valid_rows if valid_rows else float("nan"),
        "rows_without_firm": int(st.no_firm),
        "dedup_key_clashes": scanned.key_clashes,
        "heads_outside_periods": int(levels.outside),
        "recruits_imputed": int(st.cells["n_recruits_imputed"].sum()),
        "timings_s": timings,
        "duckdb": staged.settings,
        "rows_per_second": rows_read / timings["total"] if timings["total"] > 0 else None,
        "config": run.config,
        "provenance": provenance,
    }


def write_report(run: RunSetup, report: dict, occupations: pd.DataFrame, growth: pd.DataFrame) -> ProcessResult:
    """Write ``report.json``; the result lists every output file."""
    out = run.out
    files_out = {k: out / v for k, v in {"quarantine": "quarantine.parquet", "occupations": "occupations.parquet",
                                          "growth": "growth.parquet", "report": "report.json", "title_matches": "title_matches.csv"}.items()}
    if (out / "unmatched.csv").exists():
        files_out["unmatched"] = out / "unmatched.csv"
    (out / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True, default=str), encoding="utf-8")
    return ProcessResult(out, report, occupations, growth, files_out)


class _Clock:
    """Seconds per stage into ``timings[name]``: ``with clock("read"): ...``."""

    def __init__(self, timings: dict[str, float]):
        self.timings = timings

    @contextmanager
    def __call__(self, name: str):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = time.perf_counter() - t


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

    import duckdb

    from .provenance import provenance
    from .schema import default_rules

    cfg = cfg or ProcessConfig()
    cfg.check()
    rules = rules or default_rules()
    run = setup_run(inputs, out_dir, cfg, rules)
    say = progress or (lambda msg: None)
    timings: dict[str, float] = {}
    clock = _Clock(timings)
    t0 = time.perf_counter()
    # provenance hashes the input files: on a thread of its own (hashlib releases the GIL)
    prov_job = _start(provenance, "postings process", run.config, {"inputs": [str(f) for f in run.files]})
    con = _connect(run.work / "work.duckdb", cfg)
    try:
        with clock("read"):
            staged = read_input(con, run, cfg, rules)
        with clock("match_titles"):
            titles = match_titles(con, staged, cfg, rules, matcher, say)
        with clock("duplicate_ids"):
            checked = check_rows(con, staged, titles)
        with clock("scan_dedup_aggregate"):
            scanned = scan_input(con, run, staged, titles, cfg, rules, say)
        med_job = None
        if cfg.medians and scanned.keep_wages:
            # in-memory medians on a second thread, while DuckDB writes the quarantine and the level
            # tables are built (numpy's sorts release the GIL)
            say("medians")
            wages = scanned.scan.wages
            med_job = _start(_timed, _medians_from_keys, wages["keys"], wages["monthly"], scanned.year0, titles.codes, cfg.periods)
        with clock("quarantine"):
            quarantine = write_quarantine(con, run, staged, checked, scanned)
            check_balance(run, staged, checked, scanned, quarantine)
            title_table = title_tables(con, run, titles, quarantine, cfg)
        medians, timings["medians"] = None, 0.0
        if cfg.medians and not scanned.keep_wages:
            say("medians")
            medians, timings["medians"] = _timed(_duckdb_medians, con, scanned.wage_file, titles.codes, cfg.periods)
    except duckdb.Error as e:
        files = run.files
        raise InputError(f"postings input {[str(f) for f in files][:3]}{' ...' if len(files) > 3 else ''}: {e}") from e
    finally:
        con.close()
        shutil.rmtree(run.work, ignore_errors=True)

    with clock("aggregate_levels"):
        levels = aggregate_levels(scanned, cfg)
    write_table(levels.growth, run.out, "growth")
    if med_job is not None:
        medians, timings["medians"] = med_job.result()
    occ = _with_medians(levels.occupations, medians)
    timings["total"] = time.perf_counter() - t0
    write_table(occ, run.out, "occupations")
    report = make_report(run, staged, titles, title_table, checked, scanned, quarantine, levels, timings, prov_job.result())
    return write_report(run, report, occ, levels.growth)


# ---- the one pass over the input: validation, dedup and the per-cell sums

_DEDUP_KEY = "hash(firm, _ci)"
"""64-bit sort key of a (firm, occupation) pair. A hash can collide; :class:`_Dedup` detects it."""
_BATCH_ROWS = 1 << 20
"""Rows per Arrow batch streamed out of DuckDB's sort."""
_THREADS = True
"""Sum the heads of each batch and take the in-memory medians on worker threads (``False``: all
inline, for tests)."""
_PENDING_BATCHES = 4
"""Batches handed to the worker and not yet summed, at most."""


@dataclass
class _ScanResult:
    valid: int
    heads: int
    no_firm: int
    clashes: int
    cells: pd.DataFrame | None
    """Sufficient statistics per (fine code, year) of the heads, in the layout of ``aggregate_cells``
    (``None`` when the scan stopped at a key clash)."""
    wages: dict | None
    """``keys`` and ``monthly`` of the heads with a wage, for :func:`_medians_from_keys` (when kept
    in memory)."""


def _scan(con, q: _Sql, window_days: int, codes, qraw: Path, wage_file: Path | None, *, exact: bool, wage_rows: int | None,
          year0: int) -> _ScanResult:
    """The one pass over the input: validation, quarantine, dedup and the per-cell sums.

    DuckDB reads and validates every row once and sorts them: valid rows by ``key`` (a 64-bit hash
    of firm and code number) and date, failing rows (no key) last. The sort key is fixed-width on
    purpose: a text column in it (``posting_id``) makes DuckDB's sort far slower, so the order of
    rows on the same day, which only decides which one is the head, is settled afterwards (see
    :class:`_Dedup`). A failing row carries, in the column that holds a valid row's firm, a JSON
    array of its input values as text plus ``source_file`` (its reasons are worked out when the
    quarantine is written): an extra column, empty for 99% of rows, would still widen every row of
    the sort. The sorted rows stream out in Arrow batches: failing rows go to ``qraw`` (column
    ``raw_json``), valid rows to :class:`_Dedup`. If two (firm, occupation) pairs share a key (a
    hash collision, detected exactly), the scan stops and the caller runs it again with
    ``exact=True``, which sorts by firm and code number themselves (slower, never wrong).
    ``wage_rows``: room for that many head wages in memory (``None``: they go to ``wage_file``,
    or nowhere when that is ``None`` too); ``year0``: no valid row is from an earlier year.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    valid = " AND ".join(q.valid)
    raw = "CAST(to_json([" + ", ".join(f'CAST("{c}" AS VARCHAR)' for c in COLUMNS) + ", source_file, CAST(_piddup AS VARCHAR)]) AS VARCHAR)"
    key, order = ("0::UBIGINT", "ok DESC, firm, ci, day") if exact else (_DEDUP_KEY, "key, day")
    # the validity test as a CASE condition is evaluated like a filter (terms on selection vectors);
    # `key` is NULL exactly for the failing rows. A missing number comes out as NaN (valid numbers
    # are finite), so the columns convert to numpy without a copy.
    sql = f"""SELECT CASE WHEN ok THEN {key} END AS key, CASE WHEN ok THEN firm ELSE {raw} END AS firm, CAST(posting_id AS VARCHAR) AS pid,
                     CAST(_date - DATE '1970-01-01' AS INTEGER) AS day, _ci AS ci, COALESCE(_rec, 'NaN') AS rec,
                     COALESCE({q.monthly}, 'NaN') AS monthly, COALESCE(_x, 'NaN') AS x, _edu AS edu
              FROM (SELECT *, CASE WHEN {valid} THEN TRUE ELSE FALSE END AS ok FROM checked)
              ORDER BY {order}"""
    dedup = _Dedup(int(window_days), exact, _CellSums(len(codes)), wage_rows, wage_file, year0)
    qwriter = pq.ParquetWriter(qraw, pa.schema([("raw_json", pa.string())]))
    reader = con.sql(sql).to_arrow_reader(_BATCH_ROWS)
    try:
        for batch in reader:
            bad = batch.column("key").is_null()
            if pc.any(bad).as_py():
                qwriter.write_table(pa.table({"raw_json": batch.column("firm").filter(bad).cast(pa.string())}))
                batch = batch.filter(pc.invert(bad))
            dedup.feed(batch)
        dedup.finish()
    except _KeyClash as e:
        return _ScanResult(0, 0, 0, e.rows, None, None)
    finally:
        reader.close()
        qwriter.close()
        dedup.close()
    return _ScanResult(dedup.n_valid, dedup.n_heads, dedup.n_no_firm, 0, dedup.sums.table(codes), dedup.wages())


def _concat_rows(a: dict, b: dict) -> dict:
    """Two row sets of :class:`_Dedup` (numpy arrays and Arrow string arrays) one after the other."""
    import numpy as np
    import pyarrow as pa

    return {c: pa.concat_arrays([a[c], b[c]]) if c in ("firm", "pid") else np.concatenate([a[c], b[c]]) for c in a}


class _KeyClash(Exception):
    def __init__(self, rows: int):
        self.rows = rows


class _Dedup:
    """Heads of valid rows arriving in batches sorted by (key, date), with the sums they feed.

    A row is a duplicate when the row before it is of the same firm and occupation and lies within
    the window; rows without a firm never are. Rows of one pair are adjacent only if no other pair
    shares their key, so the row before is also compared exactly (firm text, code number): a row
    whose row before has its key but another firm or code raises :class:`_KeyClash`.

    Rows of one pair on one day come in no particular order; all but the first are duplicates
    (gap 0), and when the first is a head the head is instead the one with the smallest
    ``posting_id`` (as text), as in the order (date, ``posting_id``) of the rule. So that such a
    run is never cut by a batch boundary, the rows at the end of a batch with the last row's key
    and date are held back and put before the next batch.
    """

    _NUM = ("key", "day", "ci", "rec", "monthly", "x", "edu")

    def __init__(self, window: int, exact: bool, sums: _CellSums, wage_rows: int | None, wage_file: Path | None, year0: int):
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.window, self.exact, self.sums, self.year0 = window, exact, sums, year0
        self.n_valid = self.n_heads = self.n_no_firm = 0
        self.carry = None  # the last row handled: key, day, code number, firm
        self.held = None  # rows held back from the end of the last batch
        # head wages for the medians, in the layout of _medians_from_keys, filled in place
        self._wages = {"keys": np.empty(wage_rows, np.int64), "monthly": np.empty(wage_rows)} if wage_rows is not None else None
        self.n_wages = 0
        self.wwriter = pq.ParquetWriter(wage_file, pa.schema([("ci", pa.int32()), ("year", pa.int32()), ("monthly", pa.float64())])) \
            if wage_file is not None else None
        # the sums of each batch run on one worker thread, in batch order (so the results are the
        # same to the last bit as inline), while this thread finds the next batch's heads; numpy
        # releases the GIL in its array loops, so both cores work
        self._worker = ThreadPoolExecutor(max_workers=1) if _THREADS else None
        self._pending: deque = deque()

    def feed(self, batch) -> None:
        if batch.num_rows == 0:
            return
        rows = {c: batch.column(c).to_numpy() for c in self._NUM}
        rows["firm"], rows["pid"] = batch.column("firm"), batch.column("pid")
        key, day = rows["key"], rows["day"]
        n = len(key)
        if self.held is not None:
            # the held run may go on at the start of this batch: handle it with its continuation
            k, d = self.held["key"][-1], self.held["day"][-1]
            p = 0
            while p < n and key[p] == k and day[p] == d:
                p += 1
            run = _concat_rows(self.held, {c: v[:p] for c, v in rows.items()})
            if p == n:
                self.held = run
                return
            self._handle(run)
            rows = {c: v[p:] for c, v in rows.items()}
            key, day, n = rows["key"], rows["day"], n - p
        cut = n - 1
        while cut > 0 and key[cut - 1] == key[-1] and day[cut - 1] == day[-1]:
            cut -= 1
        self._handle({c: v[:cut] for c, v in rows.items()})
        self.held = {c: v[cut:] for c, v in rows.items()}

    def finish(self) -> None:
        if self.held is not None:
            self._handle(self.held)
            self.held = None
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        if self._worker is not None:
            self._worker.shutdown(wait=True, cancel_futures=True)
        if self.wwriter is not None:
            self.wwriter.close()

    def wages(self) -> dict | None:
        """``keys`` and ``monthly`` of the heads with a wage for :func:`_medians_from_keys` (with
        ``y0 = year0``), when they are kept in memory."""
        return {c: v[:self.n_wages] for c, v in self._wages.items()} if self._wages is not None else None

    def _handle(self, rows: dict) -> None:
        import numpy as np
        import pyarrow.compute as pc

        key, day, ci, firm = rows["key"], rows["day"], rows["ci"], rows["firm"]
        n = len(key)
        if n == 0:
            return
        carry = self.carry
        # rows whose row before (the carry, for the first row) has their key
        same = np.empty(n, dtype=bool)
        np.equal(key[1:], key[:-1], out=same[1:])
        same[0] = carry is not None and key[0] == carry[0]
        at = np.flatnonzero(same)
        before = np.maximum(at - 1, 0)
        pday, pci = day[before], ci[before]
        # firm of each row against the row before, on zero-copy slices (taking rows would copy text)
        prev_firm = np.empty(n, dtype=bool)
        prev_firm[0] = carry is not None and firm[0].as_py() == carry[3]
        if n > 1:
            eq = pc.equal(firm.slice(1), firm.slice(0, n - 1))
            prev_firm[1:] = pc.fill_null(eq, False).to_numpy(zero_copy_only=False) if firm.null_count else eq.to_numpy(zero_copy_only=False)
        if firm.null_count:  # two missing firms count as the same firm here (such rows are never duplicates)
            firm_null = firm.is_null().to_numpy(zero_copy_only=False)
            prev_firm[1:] |= firm_null[1:] & firm_null[:-1]
        if len(at) and at[0] == 0:
            pday[0], pci[0] = carry[1], carry[2]
        same_pair = prev_firm[at] & (ci[at] == pci)
        if not self.exact and not same_pair.all():
            raise _KeyClash(int(np.count_nonzero(~same_pair)))
        gap = day[at] - pday
        dup_at = same_pair & (gap <= self.window)
        if firm.null_count:  # rows without a firm are never duplicates
            dup_at &= ~firm_null[at]
            self.n_no_firm += int(np.count_nonzero(firm_null))
        head = np.ones(n, dtype=bool)
        head[at[dup_at]] = False
        # runs of one pair on one day: a head followed by duplicates on its own day
        tie = np.zeros(n, dtype=bool)
        tie[at[dup_at & (gap == 0)]] = True
        starts = np.flatnonzero(head[:-1] & tie[1:])
        if len(starts):
            ends = np.append(np.flatnonzero(~tie), n)
            for s, e in zip(starts, ends[np.searchsorted(ends, starts + 1)]):
                pids = rows["pid"][s:e].to_pylist()
                first = min(range(e - s), key=lambda i: _tie_key(pids[i], rows, s + i))
                head[s], head[s + first] = False, True
        self.carry = (key[-1], day[-1], ci[-1], firm[n - 1].as_py())
        self.n_valid += n
        self.n_heads += int(np.count_nonzero(head))
        args = (ci, day, head, rows["rec"], rows["monthly"], rows["x"], rows["edu"])
        if self._worker is None:
            self._add(*args)
            return
        self._pending.append(self._worker.submit(self._add, *args))
        if len(self._pending) > _PENDING_BATCHES:  # bounds the memory of batches in flight
            self._pending.popleft().result()

    def _add(self, ci, day, head, rec, wage, x, edu) -> None:
        """Sums and kept wages of one batch's heads (on the worker thread, batches in order)."""
        import numpy as np
        import pyarrow as pa

        year = _years(day)
        self.sums.add(ci, year, head, rec, wage, x, edu)
        hw = head & ~np.isnan(wage)
        if self._wages is not None:
            k, m = int(np.count_nonzero(hw)), self.n_wages
            np.compress(hw, wage, out=self._wages["monthly"][m:m + k])
            keys = self._wages["keys"][m:m + k]
            np.subtract(year[hw], self.year0, out=keys)
            keys *= self.sums.nc
            keys += ci[hw]
            keys <<= 32
            keys |= np.arange(m, m + k, dtype=np.int64)
            self.n_wages += k
        elif self.wwriter is not None:
            self.wwriter.write_table(pa.table({"ci": ci[hw].astype(np.int32), "year": year[hw].astype(np.int32), "monthly": wage[hw]}))


def _tie_key(pid, rows: dict, i: int) -> tuple:
    """Order of rows of one firm and occupation on one day (the first is the head): ``posting_id``
    as text, then recruits, monthly wage, experience and education, missing values last. Only
    rows without a ``posting_id`` can tie on it (duplicate ids are quarantined), and the rest of
    the key makes their choice independent of the input's format and row order."""
    import math

    def num(v):
        v = float(v)
        return (True, 0.0) if math.isnan(v) else (False, v)

    return (pid is None, pid or "", num(rows["rec"][i]), num(rows["monthly"][i]), num(rows["x"][i]), int(rows["edu"][i]))


def _years(day):
    """Calendar year of days since 1970-01-01: through a table over the days spanned (numpy's
    calendar is slow element by element), unless the span is too long for a table."""
    import numpy as np

    def year_of(d):
        return d.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970

    d0, d1 = int(day.min()), int(day.max())
    return year_of(np.arange(d0, d1 + 1))[day - d0] if d1 - d0 < 1 << 20 else year_of(day)


_SUMS = ("n_postings", "vacancies", "n_recruits_imputed", "n_wage", "s_w", "s_y", "s_yy", "n_xy", "s_x", "s_xx", "s_xy", "s_y_x", "s_yy_x")


class _CellSums:
    """Running sums of heads per (year, code number), in one array per statistic over the years
    seen so far (grown when a batch brings a new year)."""

    def __init__(self, nc: int):
        self.nc, self.y0, self.ny = nc, 0, 0
        self.s: dict = {}

    def _cover(self, ylo: int, yhi: int) -> None:
        import numpy as np

        if self.ny == 0:
            self.y0, self.ny = ylo, yhi - ylo + 1
            self.s = {k: np.zeros(self.ny * self.nc) for k in (*_SUMS, *(f"edu_{e}" for e in EDU_KEYS))}
            return
        lo, hi = min(ylo, self.y0), max(yhi, self.y0 + self.ny - 1)
        if (lo, hi) != (self.y0, self.y0 + self.ny - 1):
            pad = ((self.y0 - lo) * self.nc, (hi - self.y0 - self.ny + 1) * self.nc)
            self.s = {k: np.pad(v, pad) for k, v in self.s.items()}
            self.y0, self.ny = lo, hi - lo + 1

    def add(self, ci, year, head, rec, wage, x, edu) -> None:
        """One batch of valid rows, of which the heads (``head``) count: counts, vacancies
        (missing recruits read as 1), wage and log-wage moments over heads with a wage, cross
        moments over heads with a wage and experience, and the education counts (NaN stands for a
        missing value). Every sum is a ``np.bincount`` over the whole batch with the rows that
        do not count weighted 0 (adding 0.0 leaves a sum exactly as it is): no gathers."""
        import numpy as np

        if len(ci) == 0:
            return
        ylo, yhi = int(year.min()), int(year.max())
        self._cover(ylo, yhi)
        cell = (year - ylo) * self.nc + ci
        a, size = (ylo - self.y0) * self.nc, (yhi - ylo + 1) * self.nc
        s = self.s

        def add(k, weights):
            s[k][a:a + size] += np.bincount(cell, weights=weights, minlength=size)

        no_rec = np.isnan(rec)
        hw = head & ~np.isnan(wage)  # heads with a wage
        with np.errstate(invalid="ignore"):
            y = np.where(hw, np.log(wage) - Y0, 0.0)
        hxy = hw & ~np.isnan(x)  # ... and with experience
        xx, yx = np.where(hxy, x, 0.0), np.where(hxy, y, 0.0)
        add("n_postings", head)
        add("vacancies", np.where(head, np.where(no_rec, 1.0, rec), 0.0))
        add("n_recruits_imputed", head & no_rec)
        add("n_wage", hw)
        add("s_w", np.where(hw, wage, 0.0))
        add("s_y", y)
        add("s_yy", y * y)
        add("n_xy", hxy)
        add("s_x", xx)
        add("s_xx", xx * xx)
        add("s_xy", xx * yx)
        add("s_y_x", yx)
        add("s_yy_x", yx * yx)
        edu_n = np.bincount((cell * len(EDU_KEYS) + edu)[head], minlength=size * len(EDU_KEYS)).reshape(size, len(EDU_KEYS))
        for i, e in enumerate(EDU_KEYS):
            s[f"edu_{e}"][a:a + size] += edu_n[:, i]

    def table(self, codes) -> pd.DataFrame:
        """One row per (code, year) with heads, sorted; a sum over no values is missing (as SQL's
        sum), counts are integers."""
        import numpy as np
        import pandas as pd

        edu_cols = [f"edu_{e}" for e in EDU_KEYS]
        if self.ny == 0:
            return pd.DataFrame({"code": pd.Series(dtype=object), "year": pd.Series(dtype="int64"),
                                 **{c: pd.Series(dtype="float64" if c.startswith("s_") else "int64") for c in (*_SUMS, *edu_cols)}})
        g = np.flatnonzero(self.s["n_postings"])
        t = pd.DataFrame({"code": np.asarray(codes, dtype=object)[g % self.nc], "year": self.y0 + g // self.nc})
        for c in (*_SUMS, *edu_cols):
            v = self.s[c][g]
            t[c] = v if c.startswith("s_") else v.astype("int64")
        for c in ("s_w", "s_y", "s_yy"):
            t[c] = t[c].where(t["n_wage"] > 0)
        for c in ("s_x", "s_xx", "s_xy", "s_y_x", "s_yy_x"):
            t[c] = t[c].where(t["n_xy"] > 0)
        return t.sort_values(["code", "year"], ignore_index=True)


_MEDIAN_BYTES_PER_VALUE = 32
"""Rough memory of one value held by DuckDB's median (the double, vector growth, group overhead)."""
_GROUPED_MEDIAN_BYTES_PER_VALUE = 32
"""Peak memory per valid row of the in-memory medians (the keys and wages kept, 16 bytes per head
with a wage, and the copy of the largest group that ``np.partition`` works on)."""


def _memory_limit_bytes(con) -> float:
    value, unit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0].split()
    return float(value) * {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}.get(unit, 1)


def _duckdb_medians(con, wage_file: Path, codes, periods: Sequence[tuple[str, int, int]]):
    """Medians for inputs too large to hold the wages in memory (about 2 x 10^7 postings under
    3 GB): DuckDB's median over the heads' wages written by :func:`_scan`, one level at a time.

    DuckDB's median keeps every value of its group in memory (it cannot spill), so when one query
    per level would hold more than half the memory limit (about 10^8 postings under 3 GB), each
    (level, period) gets its own query instead, which holds each wage at most once.
    """
    import pandas as pd

    con.register("_periods_df", pd.DataFrame(list(periods), columns=["period", "y0", "y1"]))
    con.execute("CREATE TEMP TABLE periods AS SELECT * FROM _periods_df")
    con.execute(f"CREATE TEMP VIEW coded AS SELECT c.code, h.year, h.monthly FROM read_parquet({_sql_str(str(wage_file))}) h JOIN codes c USING (ci)")
    held = con.execute("SELECT count(*) FROM coded h JOIN periods p ON h.year BETWEEN p.y0 AND p.y1").fetchall()[0][0]
    split = held * _MEDIAN_BYTES_PER_VALUE > 0.5 * _memory_limit_bytes(con)
    parts = []
    for lv, k in LEVEL_CHARS.items():
        if not split:
            parts.append(con.execute(
                f"""SELECT '{lv}' AS level, substr(h.code, 1, {k}) AS prefix, p.period, median(h.monthly) AS median_wage
                    FROM coded h JOIN periods p ON h.year BETWEEN p.y0 AND p.y1 GROUP BY ALL""").fetchdf())
            continue
        for label, y0, y1 in periods:
            parts.append(con.execute(
                f"""SELECT '{lv}' AS level, substr(code, 1, {k}) AS prefix, {_sql_str(label)} AS period, median(monthly) AS median_wage
                    FROM coded WHERE year BETWEEN {int(y0)} AND {int(y1)} GROUP BY ALL""").fetchdf())
    return pd.concat(parts, ignore_index=True)


def _timed(fn, *args):
    t = time.perf_counter()
    return fn(*args), time.perf_counter() - t


def _start(fn, *args) -> Future:
    """``fn(*args)`` on a thread of its own (inline when ``_THREADS`` is off); ``.result()`` waits for it."""
    if not _THREADS:
        done: Future = Future()
        done.set_result(fn(*args))
        return done
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)  # the thread ends with its one job


def _check_balance(files, rows_in: int, rows_read: int, rejected: int, valid: int, quarantined: int, dup_rows: int, dup_quarantined: int) -> None:
    """Rows in = rows kept + rows quarantined, and every row of a duplicated id but one quarantined;
    raises :class:`AccountingError` otherwise (a bug: nothing may be lost or counted twice)."""
    from .errors import AccountingError

    where = f"{[str(f) for f in files][:3]}{' ...' if len(files) > 3 else ''}"
    if rows_in != rows_read + rejected or valid + quarantined != rows_in:
        raise AccountingError(f"postings input {where}: {rows_in:,} rows in ({rows_read:,} read, {rejected:,} rejected on read) but "
                              f"{valid:,} kept + {quarantined:,} quarantined = {valid + quarantined:,}")
    if dup_quarantined != dup_rows:
        raise AccountingError(f"postings input {where}: {dup_rows:,} rows repeat a posting_id but {dup_quarantined:,} were quarantined for it")


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    """``df`` as CSV, as ``DataFrame.to_csv(index=False)`` writes it (missing values empty, floats
    in their shortest round-trip form) but written by DuckDB: about 6x faster on the occupations
    table."""
    import duckdb

    with duckdb.connect() as con:
        con.register("_table", df)
        con.execute(f"COPY _table TO {_sql_str(str(path))} (FORMAT csv, HEADER)")


__all__ = ["ProcessConfig", "ProcessResult", "process", "aggregate_cells", "share_growth", "grouped_medians", "DEFAULT_PERIODS"]
