"""The postings input schema, wage units, education categories and validation rules.

One posting per row, in Parquet or CSV; see ``docs/postings.md``. Only ``posting_date`` and
``title`` must be present as columns; every other column may be absent (it is then read as all
missing) and every value may be missing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .errors import DataNotFoundError, InputError, SchemaError

COLUMNS: dict[str, str] = {
    "posting_id": "VARCHAR",
    "posting_date": "VARCHAR",
    "firm": "VARCHAR",
    "city": "VARCHAR",
    "title": "VARCHAR",
    "description": "VARCHAR",
    "occupation_code": "VARCHAR",
    "n_recruits": "DOUBLE",
    "wage_min": "DOUBLE",
    "wage_max": "DOUBLE",
    "wage_unit": "VARCHAR",
    "education": "VARCHAR",
    "experience_min_years": "DOUBLE",
}
"""Schema columns and the type each is read as (dates are parsed from text or taken as dates)."""

REQUIRED = ("posting_date", "title")
NUMERIC = ("n_recruits", "wage_min", "wage_max", "experience_min_years")

HOURS_PER_DAY = 8.0
DAYS_PER_MONTH = 21.75
"""Statutory average working days per month in China (MOHRSS, 2008)."""
UNIT_TO_MONTH: dict[str, float] = {
    "hour": HOURS_PER_DAY * DAYS_PER_MONTH,
    "day": DAYS_PER_MONTH,
    "month": 1.0,
    "year": 1.0 / 12.0,
}
"""Factor turning a wage per unit into a monthly wage."""
UNIT_ALIASES: dict[str, str] = {
    "hour": "hour", "hourly": "hour", "h": "hour", "小时": "hour", "时": "hour", "元/小时": "hour", "元/时": "hour",
    "day": "day", "daily": "day", "d": "day", "天": "day", "日": "day", "元/天": "day", "元/日": "day",
    "month": "month", "monthly": "month", "m": "month", "月": "month", "元/月": "month",
    "year": "year", "annual": "year", "yearly": "year", "y": "year", "年": "year", "元/年": "year",
}
"""Accepted spellings of the units (compared after trimming and lower-casing)."""

EDUCATION: tuple[str, ...] = ("none", "junior_high", "senior_high", "college", "bachelor", "master", "doctor")
"""Education categories, lowest first: no requirement (不限), junior high or less, senior high /
vocational school, 3-year college (大专), bachelor, master, doctor."""
EDUCATION_ALIASES: dict[str, str] = {
    "不限": "none", "学历不限": "none", "无": "none", "none": "none",
    "初中": "junior_high", "初中及以下": "junior_high", "小学": "junior_high", "junior_high": "junior_high",
    "高中": "senior_high", "中专": "senior_high", "中技": "senior_high", "高中/中专": "senior_high", "中专/中技": "senior_high",
    "高中/中专/中技": "senior_high", "senior_high": "senior_high",
    "大专": "college", "专科": "college", "college": "college",
    "本科": "bachelor", "学士": "bachelor", "bachelor": "bachelor",
    "硕士": "master", "研究生": "master", "master": "master",
    "博士": "doctor", "doctor": "doctor",
}
EDUCATION_MISSING = "missing"
EDUCATION_OTHER = "other"
EDU_KEYS = (*EDUCATION, EDUCATION_OTHER, EDUCATION_MISSING)
"""Education categories of the outputs (``edu_<key>`` columns): the ordered ones, then other and missing."""


@dataclass(frozen=True)
class ValidationRules:
    """Bounds used by validation; the defaults are documented in ``docs/postings.md``."""

    date_min: str = "2000-01-01"
    date_max: str = "2099-12-31"
    wage_floor_month: float = 300.0
    """Lowest plausible monthly wage (yuan) after unit normalisation."""
    wage_cap_month: float = 1_000_000.0
    """Highest plausible monthly wage (yuan) after unit normalisation."""
    recruits_max: float = 10_000.0
    experience_max: float = 50.0
    known_codes: tuple[str, ...] = field(default=(), repr=False)
    """Accepted occupation codes (fine OCD 2022 codes by default, filled by :func:`default_rules`)."""


REASONS: tuple[str, ...] = (
    "non_numeric_field",
    "unparseable_date",
    "date_out_of_range",
    "empty_title",
    "invalid_occupation_code",
    "unknown_unit",
    "wage_min_gt_max",
    "impossible_wage",
    "invalid_recruits",
    "invalid_experience",
    "unmatched_title",
    "duplicate_posting_id",
)
"""Quarantine reasons, in the order they are checked; a row's ``reason`` is the first that applies
and ``reasons`` lists all that apply (``unmatched_title`` is assigned after matching,
``duplicate_posting_id`` to all rows of a repeated id but the one kept). Lines of a CSV file that
cannot be read as rows have the reasons of ``ingest.INGEST_REASONS`` instead."""


def fine_codes() -> tuple[str, ...]:
    """The fine OCD 2022 codes of the bundled table (after its defects are handled)."""
    from empirics.scoring.occupations import load_ocd2022

    return tuple(o.code for o in load_ocd2022())


def default_rules(**overrides) -> ValidationRules:
    """:class:`ValidationRules` with the bundled fine OCD codes as the known codes."""
    kw = {"known_codes": fine_codes()}
    kw.update(overrides)
    return ValidationRules(**kw)


def resolve_inputs(paths: str | Path | Sequence[str | Path]) -> tuple[list[Path], str]:
    """Input files (Parquet or CSV, not mixed) from files, folders or glob patterns.

    A folder contributes its ``*.parquet`` files, or its ``*.csv`` files when it has no Parquet.
    Returns the sorted file list and the format (``"parquet"`` or ``"csv"``).
    """
    import glob

    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not items:
        raise InputError("postings input: no input path given")
    files: list[Path] = []
    for it in items:
        p = Path(it)
        if p.is_dir():
            found = sorted(p.glob("*.parquet")) or sorted(p.glob("*.csv"))
            if not found:
                raise DataNotFoundError(f"postings input: folder {p} has no .parquet or .csv file")
            files.extend(found)
        elif any(ch in str(it) for ch in "*?["):
            found = sorted(Path(x) for x in glob.glob(str(it)))
            if not found:
                raise DataNotFoundError(f"postings input: pattern {it!r} matches no file")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise DataNotFoundError(f"postings input: {p} does not exist")
    kinds = {f.suffix.lower() for f in files}
    if not kinds <= {".parquet", ".csv"}:
        raise InputError(f"postings input: unsupported file type(s) {sorted(kinds - {'.parquet', '.csv'})}; use .parquet or .csv")
    if len(kinds) > 1:
        raise InputError("postings input: mixes Parquet and CSV files; convert them to one format")
    return sorted(set(files)), ("parquet" if kinds == {".parquet"} else "csv")


def check_columns(present: dict[str, list[str]]) -> None:
    """Raise :class:`SchemaError` naming the file and column when a required column is absent.

    ``present`` maps each file to its column names.
    """
    for f, cols in present.items():
        missing = [c for c in REQUIRED if c not in cols]
        if missing:
            raise SchemaError(f"{f}: missing required column(s) {missing}; it has {cols}")
