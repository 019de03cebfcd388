"""Reading postings into DuckDB, and the SQL of validation.

:func:`_source_sql` gives one SELECT over the input files (Parquet read in place; CSV staged once into a
table, with the lines that cannot be read as rows set aside, see :func:`_stage_csv`); :func:`_parsed_sql`
the parsed columns, the rules of :data:`schema.REASONS` as SQL conditions and the validity test; and
:func:`_with_pid_dups` the choice of the one row kept of each repeated ``posting_id``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError, InputError
from .schema import COLUMNS, EDU_KEYS, EDUCATION_ALIASES, EDUCATION_MISSING, EDUCATION_OTHER, UNIT_ALIASES, UNIT_TO_MONTH

if TYPE_CHECKING:  # pragma: no cover
    from .process import ProcessConfig
    from .schema import ValidationRules


ENCODINGS = ("utf-8", "gbk", "gb18030")
"""Encodings accepted for CSV input."""

INGEST_REASONS = ("line_too_long", "invalid_encoding", "malformed_row")
"""Quarantine reasons of CSV lines that cannot be read as a row (before validation): longer than
``max_line_bytes``, bytes that are not valid in the encoding, or a line that does not parse as a
row of the header's columns (too many or too few fields, a stray quote). Listed before
:data:`schema.REASONS` in ``quarantine_by_reason``."""

_REJECT_REASON = {"LINE SIZE OVER MAXIMUM": "line_too_long", "INVALID ENCODING": "invalid_encoding"}


def _norm_encoding(enc: str) -> str:
    e = str(enc).strip().lower().replace("_", "-")
    return {"utf8": "utf-8", "utf-8-sig": "utf-8", "gb2312": "gbk", "cp936": "gbk"}.get(e, e)


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


def _source_sql(con, files: list[Path], fmt: str, cfg: ProcessConfig, work: Path):
    """SELECT over the input with every schema column present (absent ones as NULL) plus
    ``source_file``, the column types, and the CSV lines that could not be read as rows (see
    :func:`_stage_csv`; empty for Parquet)."""
    import pandas as pd

    from .schema import check_columns

    if fmt == "csv":
        return _stage_csv(con, files, cfg, work)
    if _norm_encoding(cfg.encoding) != "utf-8":
        raise ConfigError(f"process: --encoding {cfg.encoding} applies to CSV input only (Parquet text is UTF-8)")
    flist = "[" + ", ".join(_sql_str(str(f)) for f in files) + "]"
    reader = f"read_parquet({flist}, union_by_name = true, filename = true)"
    present = {}
    for f in files:
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_sql_str(str(f))})").fetchall()]
        present[str(f)] = cols
    check_columns(present)
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()}
    sel = []
    for c in COLUMNS:
        sel.append(f'"{c}"' if c in types else f"CAST(NULL AS VARCHAR) AS \"{c}\"")
    sel.append("filename AS source_file")
    return f"SELECT {', '.join(sel)} FROM {reader}", {c: types.get(c, "VARCHAR") for c in COLUMNS}, pd.DataFrame(columns=_REJECT_COLS)


_REJECT_COLS = ["source_file", "source_line", "byte_offset", "reason", "reasons", "raw_line", "detail"]


def _escape_bytes(err: UnicodeDecodeError):
    """Decoding error handler: ASCII bytes stay themselves, others become lone surrogates, which
    encode back to the same bytes (``surrogateescape``), so a bad byte survives transcoding as an
    invalid UTF-8 byte on its own line and DuckDB rejects that line alone."""
    bad = err.object[err.start:err.end]
    return "".join(chr(b) if b < 128 else chr(0xDC00 + b) for b in bad), err.end


def _header(path: Path, enc: str, max_bytes: int) -> tuple[list[str], str]:
    """Column names of a CSV file's header line and its line ending (``\\n`` or ``\\r\\n``)."""
    import csv
    import io

    with open(path, "rb") as fh:
        line = fh.readline(max_bytes + 1)
    if len(line) > max_bytes:
        raise InputError(f"{path}: line 1 (the header) is longer than {max_bytes:,} bytes")
    crlf = line.endswith(b"\r\n")
    try:
        text = line.decode("utf-8-sig" if enc == "utf-8" else enc)
    except UnicodeDecodeError as e:
        hint = "; try --encoding gbk or gb18030" if enc == "utf-8" else ""
        raise InputError(f"{path}: line 1 (the header), byte {e.start}: not valid {enc}{hint}") from e
    names = next(csv.reader(io.StringIO(text.rstrip("\r\n"))), [])
    if not names or any(not n.strip() for n in names):
        raise InputError(f"{path}: line 1 (the header) has an empty column name: {names}")
    return names, ("\\r\\n" if crlf else "\\n")


def _transcode(src: Path, dst: Path, enc: str) -> None:
    """``src`` from ``enc`` to UTF-8, streamed; undecodable bytes pass through unchanged (see
    :func:`_escape_bytes`), so their lines are quarantined as ``invalid_encoding``."""
    import codecs

    codecs.register_error("postings_escape", _escape_bytes)
    dec = codecs.getincrementaldecoder(enc)(errors="postings_escape")
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        while True:
            chunk = fi.read(1 << 24)
            text = dec.decode(chunk, final=not chunk)
            fo.write(text.encode("utf-8", errors="surrogateescape"))
            if not chunk:
                break


def _stage_csv(con, files: list[Path], cfg: ProcessConfig, work: Path):
    """Read the CSV files once into the table ``csv_input`` (all columns as text), line errors
    aside: DuckDB's ``store_rejects`` keeps each line that cannot be read (too long, bad bytes,
    wrong number of fields) out of the table and records it, so one bad line costs that line only.
    Every later step reads the table, so the rows and the rejects come from this one scan.

    Files in another encoding are transcoded to UTF-8 in ``work`` first. The header is read here
    (so DuckDB's sniffer, which a very long line can stop, is not used). Returns the SELECT over
    the table, the column types and the rejected lines (one row per line, columns
    :data:`_REJECT_COLS`).
    """
    import pandas as pd

    from .schema import check_columns

    enc = _norm_encoding(cfg.encoding)
    heads = {}
    for f in files:
        heads[f] = _header(f, enc, cfg.max_line_bytes)
    check_columns({str(f): h[0] for f, h in heads.items()})
    allcols: list[str] = []
    for names, _ in heads.values():
        allcols += [n for n in names if n not in allcols]
    con.execute("CREATE TABLE csv_input (" + ", ".join(f'"{c}" VARCHAR' for c in allcols) + ", source_file VARCHAR)")
    for i, f in enumerate(files):
        names, nl = heads[f]
        path = f
        if enc != "utf-8":
            path = work / f"transcoded_{i:05d}.csv"
            _transcode(f, path, enc)
        colspec = "{" + ", ".join(f"{_sql_str(c)}: 'VARCHAR'" for c in names) + "}"
        con.execute(f"""INSERT INTO csv_input BY NAME
            SELECT *, {_sql_str(str(f))} AS source_file FROM read_csv({_sql_str(str(path))}, columns = {colspec}, auto_detect = false,
                header = true, delim = ',', quote = '"', escape = '"', new_line = '{nl}', max_line_size = {int(cfg.max_line_bytes)},
                store_rejects = true)""")
    paths = {str(work / f"transcoded_{i:05d}.csv") if enc != "utf-8" else str(f): str(f) for i, f in enumerate(files)}
    rej = con.execute("""SELECT s.file_path, e.line, min(e.line_byte_position) AS lb, min(e.byte_position) AS bp,
                                list(DISTINCT e.error_type ORDER BY e.error_type) AS types, first(e.csv_line ORDER BY e.byte_position) AS raw,
                                first(e.error_message ORDER BY e.byte_position) AS msg, first(e.column_name ORDER BY e.byte_position) AS col
                         FROM reject_errors e JOIN reject_scans s USING (scan_id, file_id) GROUP BY ALL ORDER BY 1, 2""").fetchall()
    rows = []
    for path, line, lb, bp, etypes, raw, msg, col in rej:
        reasons = sorted({_REJECT_REASON.get(t, "malformed_row") for t in etypes}, key=INGEST_REASONS.index)
        # DuckDB's positions count from 1 and point at the start of the field in error; the offset
        # reported is from 0 (bytes before it in the file), of the original file for UTF-8 input
        off = int(bp) - 1 if enc == "utf-8" and bp is not None else None
        where = f"line {line}" + (f", column {col}" if col else "") + (f", byte {off}" if off is not None else "")
        rows.append({"source_file": paths.get(path, path), "source_line": int(line), "byte_offset": off,
                     "reason": reasons[0], "reasons": ";".join(reasons), "raw_line": raw,
                     "detail": f"{paths.get(path, path)}: {where}: {msg.splitlines()[0] if msg else ''}"})
    types = {c: "VARCHAR" for c in allcols}
    sel = [f'"{c}"' if c in types else f"CAST(NULL AS VARCHAR) AS \"{c}\"" for c in COLUMNS]
    return (f"SELECT {', '.join(sel)}, source_file FROM csv_input", {c: "VARCHAR" for c in COLUMNS},
            pd.DataFrame(rows, columns=_REJECT_COLS))


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
        ("invalid_occupation_code", "_code IS NOT NULL AND NOT _known"),
        ("unknown_unit", "(_wmin IS NOT NULL OR _wmax IS NOT NULL) AND _fac IS NULL"),
        ("wage_min_gt_max", "_wmin IS NOT NULL AND _wmax IS NOT NULL AND _wmin > _wmax"),
        ("impossible_wage", f"{bad_bound} OR ({monthly}) < {floor_} OR ({monthly}) > {cap}"),
        ("invalid_recruits", f"_rec IS NOT NULL AND (NOT isfinite(_rec) OR _rec < 1 OR _rec > {rmax} OR _rec <> floor(_rec))"),
        ("invalid_experience", f"_x IS NOT NULL AND (NOT isfinite(_x) OR _x < 0 OR _x > {xmax})"),
        ("unmatched_title", "_code IS NULL AND _matched IS NULL"),
        ("duplicate_posting_id", "_piddup"),
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
        "(_code IS NULL OR _known)",
        "((_wmin IS NULL AND _wmax IS NULL) OR _fac IS NOT NULL)",
        "(_wmin IS NULL OR _wmax IS NULL OR _wmin <= _wmax)",
        f"{ok_bound} AND (_wmin IS NULL AND _wmax IS NULL OR {monthly} BETWEEN {floor_} AND {cap})",
        f"(_rec IS NULL OR (isfinite(_rec) AND _rec >= 1 AND _rec <= {rmax} AND _rec = floor(_rec)))",
        f"(_x IS NULL OR (isfinite(_x) AND _x >= 0 AND _x <= {xmax}))",
        "(_code IS NOT NULL OR _matched IS NOT NULL)",
        "NOT _piddup",
    ]
    return _Sql(", ".join(parsed), conds, valid, monthly)


def _with_pid_dups(checked_sql: str, q: _Sql, any_dups: bool) -> str:
    """The checked rows with ``_piddup``: true for every row of a duplicated ``posting_id`` but one.

    The row kept is the first in an order that depends on the rows' values only (not on file
    order or format, so that CSV and Parquet give the same result): rows passing every other rule
    first, then the parsed date, code, matched code, firm, title, city, description, unit and
    education text, recruits, wage bounds and experience as numbers (missing values last). Rows
    equal in all of these are interchangeable for every output. Rows with another ``posting_id``
    (or none) are not sorted at all; without duplicate ids nothing is added to the query.
    """
    if not any_dups:
        return f"SELECT *, FALSE AS _piddup FROM ({checked_sql})"
    ok = " AND ".join(q.valid[:-1])  # every rule but duplicate_posting_id
    order = ("ok_ DESC, _date, _code, _matched, firm, title, city, description, wage_unit, education, "
             "_rec, _wmin, _wmax, _x")
    return f"""SELECT b.*, FALSE AS _piddup FROM ({checked_sql}) b ANTI JOIN dup_ids d ON b.posting_id = d._did
               UNION ALL
               SELECT * EXCLUDE (ok_, rk_), rk_ > 1 AS _piddup FROM (
                   SELECT *, row_number() OVER (PARTITION BY posting_id ORDER BY {order}) AS rk_ FROM (
                       SELECT b.*, CASE WHEN {ok} THEN TRUE ELSE FALSE END AS ok_ FROM ({checked_sql}) b SEMI JOIN dup_ids d ON b.posting_id = d._did))"""
