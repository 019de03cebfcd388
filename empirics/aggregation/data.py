"""Loaders for the bundled tables (``empirics/aggregation/data/``) and the shared reference data.

Bundled (see ``data/SOURCES.md``): the paper's Tables 2-5, English names of the OCD 2022 large
categories, the GB/T 4754-2017 section crosswalk to the paper's 15 industries, and NBS wages by
industry section. The OCD 2022 hierarchy comes from :mod:`empirics.ocd`. Larger US files (GPTs-are-GPTs, BLS OEWS) are
read from the shared data folder, found by :func:`shared_data_dir`.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import DataNotFoundError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

DATA_DIR = Path(__file__).resolve().parent / "data"
FONT_PATH = DATA_DIR / "fonts" / "wqy-microhei-subset.ttf"

LLM_MODELS = ("glm", "internlm", "gpt4")
"""The paper's three LLM scorers, in the order of its Table 1."""
COMBINED = "llm"
"""Model name of the mean of the three LLMs ("GLM + InternLM + GPT4" in Table 2)."""
EXPERT = "expert"
MODEL_LABELS = {
    "glm": "GLM",
    "internlm": "InternLM",
    "gpt4": "GPT-4",
    "llm": "GLM + InternLM + GPT4",
    "expert": "Expert",
}

TABLE2 = "table2_medium_scores.csv"
TABLE3 = "table3_industries.csv"
TABLE4 = "table4_occupation_shares_pct.csv"
TABLE5 = "table5_consistency.csv"
LARGE_EN = "large_categories_en.csv"
CROSSWALK = "industry_sections_crosswalk.csv"
NBS_WAGES = "nbs_avg_annual_wage_by_industry_2021_2022.csv"
NATIONAL_WAGES = "nbs_wage_by_post_group_national.csv"
BY_INDUSTRY_WAGES = "nbs_wage_by_industry_post_group_2017.csv"


def bundled_path(name: str) -> Path:
    """Path of a bundled data file; :class:`DataNotFoundError` if it is not there."""
    p = DATA_DIR / name
    if not p.is_file():
        raise DataNotFoundError(f"bundled data file {name!r} not found in {DATA_DIR}")
    return p


def _read(name: str, **kw) -> pd.DataFrame:
    import pandas as pd

    return pd.read_csv(bundled_path(name), **kw)


def load_table2() -> pd.DataFrame:
    """Table 2: 63 medium categories with Expert, GLM, GPT4, InternLM and combined scores."""
    return _read(TABLE2, dtype={"code": str})


def table2_scores(*, include_expert: bool = True, include_combined: bool = False) -> pd.DataFrame:
    """Table 2 as a tidy ``code, model, score`` table (model names as in :data:`MODEL_LABELS`)."""
    from .hierarchy import from_wide

    t = load_table2().rename(columns={"combined": COMBINED})
    models = list(LLM_MODELS) + ([EXPERT] if include_expert else []) + ([COMBINED] if include_combined else [])
    return from_wide(t, models, table=TABLE2)


def load_industries() -> pd.DataFrame:
    """Table 3: the paper's 15 industry IDs with English names and short labels."""
    return _read(TABLE3)


def load_table4(*, as_fraction: bool = True) -> pd.DataFrame:
    """Table 4: occupation (rows, medium code index) x industry (columns 1..15) shares.

    Each industry's column holds the shares of medium-category occupations in its employment
    (CLDS 2016), rounded to whole percent in the paper. ``as_fraction`` divides by 100.
    """
    t = _read(TABLE4, dtype={"code": str}).set_index("code")
    cols = [c for c in t.columns if c.startswith("ind_")]
    m = t[cols].copy()
    m.columns = [int(c.removeprefix("ind_")) for c in cols]
    m.columns.name = "industry_id"
    return m / 100.0 if as_fraction else m


def load_table5() -> pd.DataFrame:
    """Table 5: share of occupations whose repeated LLM labels agree more than 50% of the time."""
    return _read(TABLE5)


def load_ocd_hierarchy() -> pd.DataFrame:
    """The OCD 2022 hierarchy: ``level, code, parent, name_zh`` (8 large, 79 medium, 450 small,
    1,632 fine rows), built by :func:`empirics.ocd.hierarchy_frame` from the bundled OCD 2022 tables."""
    from empirics.ocd import hierarchy_frame

    return hierarchy_frame()


def ocd_codes(level: str = "fine") -> list[str]:
    """OCD 2022 codes of one level (short form for large/medium/small)."""
    h = load_ocd_hierarchy()
    return h.loc[h["level"] == level, "code"].tolist()


def load_large_names() -> pd.DataFrame:
    """English names of the eight OCD 2022 large categories."""
    return _read(LARGE_EN, dtype={"code": str})


def load_section_crosswalk() -> pd.DataFrame:
    """GB/T 4754-2017 section letter -> paper industry ID (nullable), with notes."""
    import pandas as pd

    c = _read(CROSSWALK, dtype={"section": str})
    c["industry_id"] = c["industry_id"].astype(pd.Int64Dtype())
    return c


def load_nbs_wages() -> pd.DataFrame:
    """NBS average annual wage by GB/T section, 2021 and 2022 (yuan), non-private and private units."""
    return _read(NBS_WAGES, dtype={"section": str})


def shared_data_dir(required: bool = True) -> Path | None:
    """The shared reference data folder.

    ``$LLM_LABOR_SHARED_DATA`` if set, else a ``shared/data`` folder next to or inside the
    repository checkout. Raises :class:`DataNotFoundError` (or returns ``None`` when not
    ``required``) if none exists.
    """
    from llm_labor.common.data import shared_data_dir as lookup

    return lookup(required, error=DataNotFoundError)
