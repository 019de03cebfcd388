"""The ``llm-labor empirics report`` output folder: markdown tables, PNG figures and ``report.md``."""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .china import SlopeTest
    from .experts import ExpertComparison
    from .industry import WageRelation
    from .provenance import Provenance


@dataclass(frozen=True)
class ReportConfig:
    """Parameters of :func:`build_report`."""

    out_dir: str = "empirics-report"
    scores: str | None = None
    scores_level: str = "fine"
    method: str = "fine_mean"
    lang: str = "en"
    n_boot: int = 2000
    seed: int = 0
    tolerance: float = 0.2
    age_table: str | None = None
    us: bool = True
    us_measure: str = "dv_rating_beta"
    wage_column: str = "nonprivate_2022"
    encoding: str = "utf-8"
    """Encoding of ``scores`` and ``age_table``: utf-8, gbk or gb18030."""
    require_complete: bool = False
    """Every medium category of the paper scored by every model, else :class:`IncompleteScoresError`."""


@dataclass(frozen=True)
class ReportResult:
    """What :func:`build_report` wrote and the headline numbers."""

    out_dir: Path
    files: tuple[Path, ...]
    headline: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    """Sections left out (partial coverage), with the reason."""


def md_table(df: pd.DataFrame, *, digits: int = 4, index: bool = True) -> str:
    """A GitHub-flavoured markdown table (no extra dependency)."""
    import numbers

    cols = ([df.index.name or ""] if index else []) + [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for idx, row in df.iterrows():
        cells = [str(idx)] if index else []
        for v in row.tolist():
            if isinstance(v, numbers.Real) and not isinstance(v, bool) and v != v:
                cells.append("")
            elif isinstance(v, numbers.Real) and not isinstance(v, bool) and abs(v) >= 1000:
                cells.append(f"{v:,.0f}")
            elif isinstance(v, numbers.Real) and not isinstance(v, bool) and not float(v).is_integer():
                cells.append(f"{v:.{digits}f}")
            elif isinstance(v, numbers.Real) and not isinstance(v, bool):
                cells.append(f"{int(v)}" if abs(v) < 1e15 else str(v))
            else:
                cells.append(str(v).replace("|", "/"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


PAPER_MODELS = ("glm", "internlm", "gpt4", "expert", "llm")
"""Model names of the paper's tables (``llm`` is the mean of the three LLMs)."""
SCORING_MODELS = ("gpt-4", "glm-4", "internlm2.5-latest")
"""Model ids of the scoring step's example endpoints (``empirics/scoring/endpoints.example.yaml``)."""
KNOWN_MODELS = PAPER_MODELS + SCORING_MODELS
SCORE_LEVELS = ("fine", "small", "medium")
SCORE_RANGE = (0.0, 1.0)
"""E0-E3 rubric scores (and ``share`` answers) lie in [0, 1]; see ``empirics.scoring.scores``."""
_MISSING = {"", "nan", "na", "n/a", "null", "none"}
_EXAMPLE_CODE = {"fine": "2-01-01-01", "small": "2-01-01", "medium": "2-01"}


def _model_key(name: str) -> str:
    """A model name without case, whitespace or punctuation: near-misses share their key."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


@dataclass(frozen=True)
class ScoreFile:
    """A validated tidy score file and what reading it left out."""

    table: pd.DataFrame
    """``code, model, score`` (and ``weight``) plus ``line``, the row's line in the file."""
    path: str
    n_rows: int
    """Data rows in the file."""
    missing_score_lines: tuple[int, ...]
    """Lines with an empty score (invalid LLM answers), left out."""
    new_models: tuple[str, ...]
    """Model names that are not among :data:`KNOWN_MODELS` (accepted)."""
    encoding: str = "utf-8"


def _model_problems(models, name: str, first_line: dict) -> None:
    """Raise :class:`InputError` for unclean names, near-misses of a known name and near-duplicates in the file."""
    import difflib

    known_txt = (f"known names: {', '.join(PAPER_MODELS)} (the paper) and {', '.join(SCORING_MODELS)} (the scoring step's "
                 "example endpoints); other names without stray whitespace are accepted as new models")
    keys = {k: _model_key(k) for k in KNOWN_MODELS}
    for m in models:
        if m in KNOWN_MODELS:
            continue
        same = [k for k, v in keys.items() if v == _model_key(m)]
        close = same or difflib.get_close_matches(m.strip().casefold(), KNOWN_MODELS, n=2, cutoff=0.6)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        if same:
            cond = f"model {m!r} differs from the known name {same[0]!r} only in case, whitespace or punctuation{hint}"
        elif m != m.strip():
            cond = f"model {m!r} has leading or trailing whitespace{hint}"
        elif not m.isprintable():
            cond = f"model {m!r} holds control characters"
        elif not _model_key(m):
            cond = f"model {m!r} has no letter or digit"
        else:
            continue
        raise InputError(f"{name}, line {first_line[m]}, column 'model': {cond} ({known_txt})")
    seen: dict[str, str] = {}
    for m in models:
        k = _model_key(m)
        if k in seen and seen[k] != m:
            a = seen[k]
            raise InputError(f"{name}, line {first_line[m]}, column 'model': model {m!r} differs from {a!r} (line {first_line[a]}) "
                             "only in case, whitespace or punctuation; write one name for one model")
        seen[k] = m


def _check_codes(df, name: str, level: str, col: str) -> None:
    """Raise :class:`UnknownCodeError` at the first row whose code is not an OCD 2022 code at ``level``."""
    import numpy as np
    import pandas as pd

    from ._validate import located
    from .data import ocd_codes
    from .errors import UnknownCodeError
    from .hierarchy import OCD_2022

    known = ocd_codes(level)
    known_keys = set(OCD_2022.parse(pd.Series(known, dtype=object), level, table="known codes").tolist())
    uniq = pd.unique(df["code"].to_numpy())
    bad: dict[str, str] = {}
    try:
        keys = OCD_2022.parse(pd.Series(uniq, dtype=object), level, table=name)
    except InputError:
        keys = None
        for c in uniq:
            try:
                OCD_2022.parse(pd.Series([c], dtype=object), level, table=name)
            except InputError:
                bad[c] = f"{c!r} is not an OCD 2022 {level} code (expected the form {_EXAMPLE_CODE[level]!r}; is --level {level} right?)"
    if keys is not None:
        for c, k in zip(uniq, keys.tolist()):
            if k not in known_keys:
                bad[c] = f"{c!r} is not in the OCD 2022 list of {len(known):,} {level} codes"
    if bad:
        rows = df["code"].isin(list(bad)).to_numpy()
        first = df["code"].to_numpy()[np.flatnonzero(rows)[0]]
        extra = f"; {len(bad)} distinct unknown code(s)" if len(bad) > 1 else ""
        raise UnknownCodeError(located(name, df["line"][rows], col, bad[first] + extra))


def load_scores(path: str | Path, *, level: str = "fine", encoding: str = "utf-8") -> ScoreFile:
    """Read and validate a tidy score CSV: ``code, model, score`` (and optionally ``weight``).

    ``occupation_code`` is accepted for ``code`` (the scoring step's tables); other columns are
    ignored. Errors name the file, the line (the header is line 1), the column and the condition.
    A row with an empty score (an invalid LLM answer) is left out and counted.
    """
    import numpy as np
    import pandas as pd

    from ._validate import read_csv_records, located

    if level not in SCORE_LEVELS:
        raise InputError(f"scores: --level must be one of {list(SCORE_LEVELS)}, got {level!r}")
    recs = read_csv_records(path, what="scores file", encoding=encoding)
    name = recs.name
    header = list(recs.header)
    code_col = "code" if "code" in header else "occupation_code" if "occupation_code" in header else "code"
    need = [code_col, "model", "score"]
    missing = [c for c in need if c not in header]
    if missing:
        import difflib

        hints = [f"{c!r} (close: {close[0]!r})" for c in missing if (close := difflib.get_close_matches(c, header, n=1, cutoff=0.6))]
        from .errors import MissingColumnsError

        raise MissingColumnsError(f"{name}, line {recs.header_line}: missing column(s) {missing}; it has {header}"
                                  + (f"; near misses: {', '.join(hints)}" if hints else "")
                                  + "; a score file has columns code (or occupation_code), model, score and optionally weight")
    df = recs.frame()
    if df.empty:
        raise InputError(f"{name}: no data rows after the header (line {recs.header_line})")
    keep = [code_col, "model", "score"] + (["weight"] if "weight" in header else [])
    df = df[keep + ["line"]].rename(columns={code_col: "code"})
    for c in ["code", *keep[1:]]:
        df[c] = df[c].astype(str)
    code = df["code"].str.strip()
    blank = code.eq("")
    if blank.any():
        raise InputError(located(name, df["line"][blank], code_col, "missing occupation code"))
    df["code"] = code
    blank = df["model"].str.strip().eq("")
    if blank.any():
        raise InputError(located(name, df["line"][blank], "model", "missing model name"))
    first_line = df.groupby("model", sort=False)["line"].min().to_dict()
    _model_problems(list(first_line), name, first_line)

    raw = df["score"].str.strip()
    empty = raw.str.casefold().isin(_MISSING)
    num = pd.to_numeric(raw.where(~empty), errors="coerce")
    bad = ~empty & num.isna()
    if bad.any():
        v = raw[bad].iloc[0]
        raise InputError(located(name, df["line"][bad], "score", f"{v!r} is not a number"))
    lo, hi = SCORE_RANGE
    out = ~empty & ~((num >= lo) & (num <= hi))
    if out.any():
        v = num[out].iloc[0]
        raise InputError(located(name, df["line"][out], "score", f"score {v:g} is outside [{lo:g}, {hi:g}], the range of the "
                                 "E0-E3 rubric score (E1 = 1, E2 = E3 = 0.5, E0 = 0)"))
    df["score"] = num.astype(float)
    if "weight" in df.columns:
        wr = df["weight"].str.strip()
        wnum = pd.to_numeric(wr.where(~wr.str.casefold().isin(_MISSING)), errors="coerce")
        wbad = ~empty & ~(np.isfinite(wnum.to_numpy(dtype=float)) & (wnum.to_numpy(dtype=float) >= 0))
        if wbad.any():
            v = wr[wbad].iloc[0]
            raise InputError(located(name, df["line"][wbad], "weight", f"weight {v!r} is not a finite non-negative number"))
        df["weight"] = wnum.astype(float)
    _check_codes(df, name, level, code_col)
    missing_lines = tuple(int(x) for x in df["line"][empty])
    df = df[~empty].reset_index(drop=True)
    if df.empty:
        raise InputError(f"{name}: column 'score' has no values: all {len(missing_lines)} row(s) are empty (invalid answers)")
    new = tuple(m for m in dict.fromkeys(df["model"]) if m not in KNOWN_MODELS)
    return ScoreFile(df, name, len(recs.rows), missing_lines, new, encoding)


def read_scores(path: str | Path, *, level: str = "fine", encoding: str = "utf-8") -> pd.DataFrame:
    """The table of :func:`load_scores` (rows with an empty score left out)."""
    return load_scores(path, level=level, encoding=encoding).table


@dataclass(frozen=True)
class Coverage:
    """Which of the paper's medium categories (Table 2) the scores reach."""

    expected: tuple[str, ...]
    """The paper's medium categories (large categories 2-6)."""
    missing_medium: tuple[str, ...]
    """Expected medium categories with no score at all."""
    partial_medium: tuple[tuple[str, tuple[str, ...]], ...]
    """Expected medium categories scored by some models only: ``(code, models lacking)``."""
    missing_large: tuple[str, ...]
    """Large categories 2-6 without any scored medium category."""
    base_level: str = "medium"
    n_base: int = 0
    """Scored codes at the input level (large categories 1, 7, 8 left out)."""
    n_base_total: int = 0
    """Codes of that level in the OCD 2022 hierarchy, large categories 2-6."""

    @property
    def complete(self) -> bool:
        return not self.missing_medium and not self.partial_medium

    def message(self, names: dict | None = None) -> str:
        """What is missing, in one line."""
        names = names or {}
        parts = []
        if self.missing_large:
            parts.append(f"large categories {list(self.missing_large)} have no scored medium category")
        if self.missing_medium:
            shown = ", ".join(f"{c} {names.get(c, '')}".strip() for c in self.missing_medium[:12])
            parts.append(f"{len(self.missing_medium)} of the {len(self.expected)} medium categories have no score ({shown}"
                         + (", ..." if len(self.missing_medium) > 12 else "") + ")")
        if self.partial_medium:
            shown = "; ".join(f"{c}: {', '.join(ms)}" for c, ms in self.partial_medium[:8])
            parts.append(f"{len(self.partial_medium)} medium categories lack some models ({shown}"
                         + ("; ..." if len(self.partial_medium) > 8 else "") + ")")
        return "; ".join(parts) or "complete"


def _coverage(agg, medium, models, base_level: str) -> Coverage:
    from .data import COMBINED, load_ocd_hierarchy, load_table2

    expected = tuple(load_table2()["code"])
    scored = medium[COMBINED].dropna().index
    missing = tuple(c for c in expected if c not in scored)
    partial = tuple((c, tuple(m for m in models if medium[m].isna().get(c, True))) for c in expected if c in scored)
    partial = tuple(p for p in partial if p[1])
    large = ("2", "3", "4", "5", "6")
    have = {c.split("-")[0] for c in scored}
    h = load_ocd_hierarchy()
    base = h[(h["level"] == base_level) & h["code"].str[0].isin(large)]
    n_base = agg.loc[agg["level"] == base_level, "code"].nunique()
    return Coverage(expected, missing, partial, tuple(g for g in large if g not in have), base_level, int(n_base), len(base))


def _china_tables(cfg: ReportConfig):
    """Aggregated long table (levels medium+), the medium wide table, models, source, inputs and the score file."""

    from .data import COMBINED, EXPERT, LLM_MODELS, TABLE2, bundled_path, load_table2, table2_scores
    from .hierarchy import OCD_2022, aggregate, to_wide

    t2 = load_table2()
    inputs = {"table2": bundled_path(TABLE2)}
    sf = None
    if cfg.scores is None:
        long = table2_scores(include_expert=False)
        agg = aggregate(long, OCD_2022, base_level="medium", method="child_mean")
        models = list(LLM_MODELS)
        medium = to_wide(agg, level="medium", models=models)
        medium[COMBINED] = t2.set_index("code")["combined"].reindex(medium.index)
        source = "the paper's Table 2 (medium categories)"
    else:
        inputs["scores"] = Path(cfg.scores)
        sf = load_scores(cfg.scores, level=cfg.scores_level, encoding=cfg.encoding)
        long = sf.table
        agg = aggregate(long, OCD_2022, base_level=cfg.scores_level, method=cfg.method, weight_col="weight" if "weight" in long.columns else None, table=str(cfg.scores))
        present = list(dict.fromkeys(agg["model"]))
        models = [m for m in LLM_MODELS if m in present] + [m for m in present if m not in LLM_MODELS and m not in (EXPERT, COMBINED)]
        if not models:
            raise InputError(f"{cfg.scores}: no LLM scores in large categories 2-6 (models there: {present}); rows of 'expert' and 'llm' "
                             "are not used: the expert scores are the paper's Table 2 and 'llm' is the mean of the LLMs")
        medium = to_wide(agg, level="medium", models=models)
        medium[COMBINED] = medium[models].mean(axis=1)
        source = f"scores file {cfg.scores} ({cfg.scores_level} level, {cfg.method})"
    expert = t2.set_index("code")["expert"]
    medium[EXPERT] = expert.reindex(medium.index)
    # large level: LLMs from the aggregation, combined and expert as means of medium scores
    large = to_wide(agg, level="large", models=models)
    large_ce = medium[[COMBINED, EXPERT]].groupby(OCD_2022.code_at(medium.index, "large", base_level="medium")).mean()
    large = large.join(large_ce)
    return agg, medium, large, models, source, inputs, sf


def _industry_table(shares, medium, cols, models, complete: bool):
    """Industry x source exposure; with partial coverage each source over its scored categories.

    Returns the table (``coverage`` from the combined score, ``coverage <model>`` where a model's
    differs) and the industries left out because none of their employment is scored.
    """
    import pandas as pd

    from .data import COMBINED
    from .industry import industry_exposure

    if complete:
        return industry_exposure(shares, medium[cols], normalize=True), ()
    parts, covs, dropped = [], {}, []
    idx = shares.index.astype(str)
    for c in cols:
        sc = medium[[c]].dropna()
        tot = shares[idx.isin(sc.index.astype(str))].sum(axis=0)
        keep = tot.index[tot > 0]
        dropped += [i for i in tot.index[tot <= 0] if i not in dropped]
        if len(keep) == 0:
            continue
        r = industry_exposure(shares[keep], sc, normalize=True, missing="drop")
        parts.append(r[[c]])
        covs[c] = r["coverage"]
    if not parts or COMBINED not in covs:
        return pd.DataFrame(columns=[*cols, "coverage"]), tuple(shares.columns)
    out = pd.concat(parts, axis=1).reindex(columns=cols)
    out = out.loc[[i for i in shares.columns if i in out.index]]
    out["coverage"] = covs[COMBINED].reindex(out.index)
    for m in models:
        cm = covs.get(m)
        if cm is not None and not cm.reindex(out.index).round(12).equals(out["coverage"].round(12)):
            out[f"coverage {m}"] = cm.reindex(out.index)
    out.index.name = shares.columns.name or "industry_id"
    return out, tuple(i for i in shares.columns if i not in out.index)


def _read_age_table(path: str, encoding: str) -> pd.DataFrame:
    """The ``--age-table`` CSV, read strictly (located errors)."""
    import pandas as pd

    from ._validate import located, read_csv_records, require_columns
    from .age import AGE_COLUMNS

    recs = read_csv_records(path, what="age table", encoding=encoding)
    df = recs.frame()
    require_columns(df, AGE_COLUMNS, f"{recs.name}, line {recs.header_line}")
    if df.empty:
        raise InputError(f"{recs.name}: no data rows after the header")
    for c in ("age_group", "industry"):
        df[c] = df[c].astype(str).str.strip()
        blank = df[c].eq("")
        if blank.any():
            raise InputError(located(recs.name, df["line"][blank], c, "missing value"))
    raw = df["employment"].astype(str).str.strip()
    num = pd.to_numeric(raw, errors="coerce")
    bad = num.isna() | ~num.between(0, float("inf"))
    if bad.any():
        raise InputError(located(recs.name, df["line"][bad], "employment", f"{raw[bad].iloc[0]!r} is not a non-negative number"))
    df["employment"] = num.astype(float)
    return df[list(AGE_COLUMNS)]


# ---- the stages of :func:`build_report`, each with a typed result


@dataclass(frozen=True)
class Labels:
    """Names of models and categories for tables and figures."""

    lang: str
    names_en: dict
    """Medium category code -> English title (Table 2)."""
    names_zh: dict
    large_en: dict
    large_zh: dict

    @staticmethod
    def model(m: str) -> str:
        from .data import MODEL_LABELS

        return MODEL_LABELS.get(m, m)

    def medium(self, c: str) -> str:
        from . import plots

        return plots.label(c, self.names_en.get(c), self.names_zh.get(c), self.lang)

    def large(self, c: str) -> str:
        from . import plots

        return plots.label(c, self.large_en.get(c), self.large_zh.get(c), self.lang)


@dataclass(frozen=True)
class ReportInputs:
    """Stage 1 (read): the scores aggregated over the hierarchy, the tables built from them and their coverage."""

    agg: pd.DataFrame
    """Long table of every level (medium and up; finer levels too with a scores file)."""
    medium: pd.DataFrame
    """Medium categories x (models, combined, expert)."""
    large: pd.DataFrame
    models: tuple[str, ...]
    """The LLMs scored (without combined and expert)."""
    source: str
    """The scores' source, in words."""
    inputs: dict
    """Input files for provenance."""
    scores_file: ScoreFile | None
    age_table: pd.DataFrame | None
    coverage: Coverage
    labels: Labels


@dataclass
class ReportWriter:
    """The output folder: files written with provenance, in order, and the sections skipped with their reason."""

    out: Path
    prov: Provenance
    complete: bool
    """Coverage is complete (or required): then an input error in a section is raised, not a skip."""
    files: list = field(default_factory=list)
    skipped: dict = field(default_factory=dict)

    def attempt(self, section: str, fn):
        """Run ``fn``; with incomplete scores an input error skips the section with its reason."""
        from .errors import AggregationError

        try:
            return fn()
        except AggregationError as exc:
            if self.complete:
                raise
            self.skipped[section] = str(exc)
            return None

    def write(self, name: str, text: str) -> Path:
        p = self.out / name
        p.write_text(self.prov.markdown_comment() + "\n\n" + text.rstrip() + "\n", encoding="utf-8")
        self.files.append(p)
        return p

    def fig(self, name: str, figure) -> str:
        from . import plots

        self.files.append(plots.save(figure, self.out / "figures" / name, self.prov))
        return f"figures/{name}"


@dataclass(frozen=True)
class ExpertSection:
    """Experts against LLMs (Figure 1)."""

    comparison: ExpertComparison | None
    markdown: str


@dataclass(frozen=True)
class IndustrySection:
    """Industry exposure (Figures 6 and 15) and its relation to wages."""

    scores: pd.DataFrame
    wage_relation: WageRelation | None
    markdown: str


@dataclass(frozen=True)
class ChinaSection:
    """NBS wages of post groups against exposure."""

    within: SlopeTest | None
    """Within industries, combined exposure, weighted."""
    national: SlopeTest | None
    """Across the four post groups, 2017."""
    markdown: str


@dataclass(frozen=True)
class UsSection:
    markdown: str
    headline: dict


def read_report_inputs(cfg: ReportConfig) -> ReportInputs:
    """Check the language, read the age table and the scores, and work out their coverage."""
    from . import plots
    from .data import load_large_names, load_ocd_hierarchy, load_table2
    from .errors import IncompleteScoresError

    if cfg.lang not in plots.LANGS:
        raise InputError(f"report: lang must be one of {plots.LANGS}, got {cfg.lang!r}")
    at = _read_age_table(cfg.age_table, cfg.encoding) if cfg.age_table else None
    agg, medium, large, models, source, inputs, sf = _china_tables(cfg)
    t2 = load_table2().set_index("code")
    names_en = t2["title_en"].to_dict()
    cov = _coverage(agg, medium, models, cfg.scores_level if cfg.scores else "medium")
    if cfg.require_complete and not cov.complete:
        raise IncompleteScoresError(f"{cfg.scores}: scores are incomplete (--require-complete): {cov.message(names_en)}")
    h = load_ocd_hierarchy()
    labels = Labels(cfg.lang, names_en, t2["title_zh"].to_dict(), load_large_names().set_index("code")["name_en"].to_dict(),
                    h[h["level"] == "large"].set_index("code")["name_zh"].to_dict())
    return ReportInputs(agg, medium, large, tuple(models), source, inputs, sf, at, cov, labels)


def open_report(cfg: ReportConfig, inp: ReportInputs) -> ReportWriter:
    """Make the output folder and the provenance stamped on every file."""
    from .data import TABLE4, bundled_path
    from .provenance import Provenance

    out = Path(cfg.out_dir)
    try:
        (out / "figures").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"report: cannot create the output folder {out}: {exc.strerror or exc}") from exc
    inp.inputs["table4"] = bundled_path(TABLE4)
    params = {k: v for k, v in cfg.__dict__.items()}
    prov = Provenance.build("llm-labor empirics report", params, inp.inputs)
    return ReportWriter(out, prov, inp.coverage.complete or cfg.require_complete)


def coverage_markdown(inp: ReportInputs) -> str:
    """The coverage section of ``report.md`` (empty for the paper's Table 2)."""
    from .data import COMBINED, EXPERT

    sf, cov, models = inp.scores_file, inp.coverage, inp.models
    lab, names_en, large_names = Labels.model, inp.labels.names_en, inp.labels.large_en
    if sf is None:
        return ""
    lines = [f"Scores file `{sf.path}` ({sf.encoding}): {sf.n_rows:,} data rows; {len(sf.missing_score_lines):,} with an empty score "
             "(invalid LLM answers) left out" + (f" (lines {', '.join(map(str, sf.missing_score_lines[:10]))}"
                                                + (", ..." if len(sf.missing_score_lines) > 10 else "") + ")" if sf.missing_score_lines else "") + "."]
    lines.append(f"Models: {', '.join(lab(m) for m in models)}" + (f" (not among the known names, accepted as new models: {', '.join(sf.new_models)})" if sf.new_models else "") + ".")
    unused = sorted(set(sf.table["model"]) & {EXPERT, COMBINED})
    if unused:
        lines.append(f"Rows of model(s) {unused} are not used: the expert scores are the paper's Table 2 and `llm` is the mean of the LLMs.")
    lines.append(f"Scored {cov.base_level} codes in large categories 2-6: {cov.n_base:,} of {cov.n_base_total:,} in OCD 2022 (large categories 1, 7 and 8 are left out, as in the paper).")
    if cov.complete:
        lines.append(f"Every one of the paper's {len(cov.expected)} medium categories has a score from every model.")
    else:
        lines.append(f"**Partial coverage.** {len(cov.expected) - len(cov.missing_medium)} of the paper's {len(cov.expected)} medium categories have a score. "
                     "Results below are over the scored categories only; industry shares are rescaled over them and `coverage` in "
                     "[industry_scores.md](industry_scores.md) is the share of each industry's employment they hold. "
                     "`--require-complete` makes this an error instead.")
        if cov.missing_large:
            lines.append("Large categories with no scored medium category: " + ", ".join(f"{g} {large_names.get(g, '')}".strip() for g in cov.missing_large) + ".")
        if cov.missing_medium:
            lines.append("Medium categories with no score:\n\n" + "\n".join(f"- {c} {names_en.get(c, '')}".rstrip() for c in cov.missing_medium))
        if cov.partial_medium:
            lines.append("Medium categories scored by some models only:\n\n" + "\n".join(f"- {c} {names_en.get(c, '')}: no score from {', '.join(map(lab, ms))}" for c, ms in cov.partial_medium))
    return "\n## Coverage of the scores\n\n" + "\n\n".join(lines) + "\n"


def table1_section(w: ReportWriter, inp: ReportInputs, cfg: ReportConfig) -> dict:
    """Write ``table1.md`` (statistics and correlations at every level, bootstrap intervals); returns the
    summaries per level."""
    from .stats import bootstrap_ci, summarize_levels

    models, cov, lab = list(inp.models), inp.coverage, Labels.model
    summaries = summarize_levels(inp.agg, models)
    with warnings.catch_warnings():  # resamples of few categories can be constant: their r is NaN, shown blank
        warnings.simplefilter("ignore", RuntimeWarning)
        boot = w.attempt("bootstrap intervals", lambda: bootstrap_ci(inp.medium, models, n_boot=cfg.n_boot, seed=cfg.seed))
    cov_note = "" if cov.complete else f" Partial coverage: {cov.message(inp.labels.names_en)} (see report.md)."
    parts = [f"# Table 1: summary statistics of LLM exposure\n\nSource: {inp.source}. Std uses ddof=1; stars: * p<.05, ** p<.01, *** p<.001 (two-sided).{cov_note}"]
    for lv, s in summaries.items():
        d = s.describe.rename(columns=lab)
        parts.append(f"## {lv.capitalize()} categories occupation level exposure\n\n" + md_table(d, digits=4))
        parts.append(f"### {lv.capitalize()} level, Pearson correlation (n = {s.pearson.n})\n\n" + md_table(s.pearson.formatted().rename(index=lab, columns=lab)))
        parts.append(f"### {lv.capitalize()} level, Spearman correlation\n\n" + md_table(s.spearman.formatted().rename(index=lab, columns=lab)))
    if boot is not None:
        parts.append(
            f"## Bootstrap 95% intervals, medium level ({cfg.n_boot} resamples of occupations, seed {cfg.seed})\n\n"
            + md_table(boot, index=False)
        )
    else:
        parts.append(f"## Bootstrap 95% intervals, medium level\n\nSkipped: {w.skipped['bootstrap intervals']}")
    w.write("table1.md", "\n\n".join(parts))
    return summaries


def expert_section(w: ReportWriter, inp: ReportInputs, cfg: ReportConfig) -> ExpertSection:
    """Figure 1 and its text."""
    from . import plots
    from .data import COMBINED, EXPERT
    from .experts import compare_expert

    medium, lab = inp.medium, Labels.model
    comp = w.attempt("Figure 1", lambda: compare_expert(medium, expert=EXPERT, llm=COMBINED, tolerance=cfg.tolerance))
    if comp is None:
        return ExpertSection(None, f"Skipped: {w.skipped['Figure 1']}")
    f1 = w.fig(
        "figure01_expert_vs_llm.png",
        plots.scatter_fit(medium[EXPERT], medium[COMBINED], xlabel="Expert score", ylabel="LLM score (mean of " + ", ".join(map(lab, inp.models)) + ")", title="Figure 1: exposure of LLMs and experts, medium categories", r=comp.pearson_r),
    )
    md = f"""Over {comp.n} medium categories the expert and combined LLM scores correlate at r = {comp.pearson_r:.3f}
(p = {comp.pearson_p:.2g}; Spearman {comp.spearman_r:.3f}). The fit line is LLM = {comp.intercept:.3f} + {comp.slope:.3f} x expert.
Mean absolute difference {comp.mean_abs_diff:.3f}; {comp.disagreement_share:.0%} of categories differ by more than
{comp.tolerance}; {comp.median_split_disagreement:.0%} fall on opposite sides of the two medians.

![Figure 1]({f1})"""
    return ExpertSection(comp, md)


def occupation_figures(w: ReportWriter, inp: ReportInputs) -> str:
    """Figures 2, 12 (medium categories) and 10, 11 (large categories); returns their markdown."""
    from . import plots
    from .data import COMBINED, EXPERT, MODEL_LABELS

    medium, large, lb = inp.medium, inp.large, inp.labels
    mc = medium[COMBINED].dropna()
    me = medium[EXPERT].dropna()
    f2 = w.fig("figure02_medium_llm.png", plots.bar_chart(mc, [lb.medium(c) for c in mc.index], title="Figure 2: exposure by medium category, LLMs"))
    f12 = w.fig("figure12_medium_expert.png", plots.bar_chart(me, [lb.medium(c) for c in me.index], title="Figure 12: exposure by medium category, experts", color="#7d5ba6")) if len(me) else None
    lcols = [*inp.models, COMBINED]
    f10 = w.fig("figure10_large_llm.png", plots.grouped_bar_chart(large[lcols], [lb.large(c) for c in large.index], title="Figure 10: exposure by large category, LLMs", legend=MODEL_LABELS))
    le = large[EXPERT].dropna()
    f11 = w.fig("figure11_large_expert.png", plots.bar_chart(le, [lb.large(c) for c in le.index], title="Figure 11: exposure by large category, experts", sort=False, color="#7d5ba6")) if len(le) else None
    return "\n\n".join(f"![{n}]({f})" for n, f in (("Figure 2", f2), ("Figure 12", f12), ("Figure 10", f10), ("Figure 11", f11)) if f)


def industry_section(w: ReportWriter, inp: ReportInputs, cfg: ReportConfig) -> IndustrySection:
    """Industry exposure from Table 4's shares, Figures 6 and 15, the relation to wages, ``industry_scores.md``."""
    from . import plots
    from .data import COMBINED, EXPERT, load_industries
    from .industry import exposure_wage_relation, industry_wages, table4_shares

    models, cov, lab, skipped = list(inp.models), inp.coverage, Labels.model, w.skipped
    shares = table4_shares()
    inds = load_industries().set_index("industry_id")
    ind_scores, ind_dropped = _industry_table(shares, inp.medium, [*models, COMBINED, EXPERT], models, cov.complete)
    wrel = None
    ind_figs: list[str] = []
    dropped_md = ""
    if ind_dropped:
        dropped_md = ("\n\nLeft out, no scored employment: " + ", ".join(f"{i} {inds.loc[i, 'label_en']}" for i in ind_dropped) + ".")
    if not len(ind_scores):
        skipped["industries"] = "no industry has scored employment"
        return IndustrySection(ind_scores, None, "Skipped: no industry of Table 4 has employment in a scored medium category.")
    ind_scores.insert(0, "industry", inds["industry_en"].reindex(ind_scores.index))
    wages = industry_wages(column=cfg.wage_column).set_index("industry_id")
    ind_scores["wage"] = wages["wage"].reindex(ind_scores.index)
    ind_scores["sections"] = wages["sections"].reindex(ind_scores.index)
    ic = ind_scores[COMBINED].dropna()
    ind_figs.append(w.fig("figure06_industry_llm.png", plots.bar_chart(ic, [f"{i} {inds.loc[i, 'label_en']}" for i in ic.index], title="Figure 6: industry exposure, LLMs")))
    ie = ind_scores[EXPERT].dropna()
    if len(ie):
        ind_figs.append(w.fig("figure15_industry_expert.png", plots.bar_chart(ie, [f"{i} {inds.loc[i, 'label_en']}" for i in ie.index], title="Figure 15: industry exposure, experts", color="#7d5ba6")))
    wv = ind_scores.dropna(subset=["wage", COMBINED])
    wrel = w.attempt("industry wages", lambda: exposure_wage_relation(wv[COMBINED], wv["wage"], table="industries"))
    if wrel is not None:
        ind_figs.append(w.fig(
            "industry_exposure_vs_wage.png",
            plots.scatter_fit(wv[COMBINED], wv["wage"], xlabel="Industry exposure (LLMs)", ylabel=f"Average annual wage, yuan ({cfg.wage_column})", title="Industry exposure and wages", r=wrel.pearson_r, annotate=[inds.loc[i, "label_en"] for i in wv.index], logy=True),
        ))
    show = ind_scores.rename(columns=lab).sort_values(lab(COMBINED), ascending=False)
    rel_md = (f"\n\nExposure (LLMs) against log wage over {wrel.n} industries: Pearson r = {wrel.pearson_r:.3f} (p = {wrel.pearson_p:.3g}), "
              f"Spearman rho = {wrel.spearman_r:.3f}; slope of log wage on exposure = {wrel.slope:.3f}.") if wrel is not None else f"\n\nExposure against wages skipped: {skipped['industry wages']}"
    w.write(
        "industry_scores.md",
        "# Industry exposure (Figures 6 and 15)\n\nIndustry score = sum over occupations of share x exposure, with the paper's Table 4 "
        "shares (CLDS 2016) rescaled to sum to one over the scored medium categories; `coverage` is the unrescaled sum"
        + ("" if cov.complete else " (partial coverage: each source over the categories it scores; `coverage <model>` where a model's differs)")
        + f". Wages: NBS {cfg.wage_column}, unweighted mean over the GB/T 4754-2017 sections mapped to each industry.{dropped_md}\n\n"
        + md_table(show, digits=3)
        + rel_md,
    )
    cvg = ind_scores["coverage"]
    md = ("[industry_scores.md](industry_scores.md)."
          + (f" Exposure against log wage across {wrel.n} industries: r = {wrel.pearson_r:.3f}." if wrel is not None else f" Exposure against wages skipped: {skipped['industry wages']}")
          + ("" if cov.complete else f" Partial coverage: the scored categories hold {cvg.min():.0%}-{cvg.max():.0%} (median {cvg.median():.0%}) of each industry's employment.{dropped_md}")
          + "\n\n" + "\n\n".join(f"![{n}]({f})" for n, f in zip(["Figure 6", "Figure 15", "Industry exposure and wages"] if len(ie) else ["Figure 6", "Industry exposure and wages"], ind_figs)))
    return IndustrySection(ind_scores, wrel, md)


def age_section(w: ReportWriter, inp: ReportInputs, cfg: ReportConfig, industries: IndustrySection) -> str:
    """Figure 7 and ``age_groups.md`` from ``--age-table`` (empty without one)."""
    from . import plots
    from .age import age_group_exposure, sections_to_industries
    from .data import COMBINED, EXPERT

    at = inp.age_table
    if at is None:
        return ""
    if not at["industry"].astype(str).str.fullmatch(r"\d+").all():
        at = sections_to_industries(at, unmapped="drop", table=str(cfg.age_table))
    at = at.assign(industry=at["industry"].astype(int))
    age = w.attempt("age groups", lambda: age_group_exposure(at, industries.scores[[*inp.models, COMBINED, EXPERT]], table=str(cfg.age_table)))
    if age is None:
        return f"\n## Age groups\n\nSkipped: {w.skipped['age groups']}\n"
    f7 = w.fig("figure07_age_groups.png", plots.bar_chart(age[COMBINED], list(age.index), title="Figure 7: exposure by age group, LLMs", sort=False))
    w.write("age_groups.md", "# Age-group exposure (Figure 7)\n\n" + md_table(age.rename(columns=Labels.model), digits=3))
    return f"\n## Age groups\n\n[age_groups.md](age_groups.md)\n\n![Figure 7]({f7})\n"


def china_section(w: ReportWriter, inp: ReportInputs, cfg: ReportConfig) -> ChinaSection:
    """NBS 2017 wages of post groups against the combined exposure; writes ``china/``."""
    from .china import GROUPS, china_relation
    from .china import write_outputs as write_china
    from .data import COMBINED, EXPERT

    cov = inp.coverage
    cmed = inp.medium[[*inp.models, COMBINED, EXPERT]].dropna()
    lacking = [g for g in GROUPS if g not in {c.split("-")[0] for c in cmed.index}]
    rel = None
    if lacking and not cov.complete:
        w.skipped["China"] = (f"large categories {lacking} have no medium category scored by every model and the experts; the China section needs "
                              f"each NBS post group ({', '.join(GROUPS)}) to have at least one")
    else:
        rel = w.attempt("China", lambda: china_relation(cmed, n_boot=cfg.n_boot, n_perm=cfg.n_boot, seed=cfg.seed))
    if rel is None:
        return ChinaSection(None, None, f"\n## China: official wages of post groups\n\nSkipped: {w.skipped['China']}.\n")
    w.files.extend(write_china(rel, w.out / "china", source=COMBINED, provenance=w.prov))
    cst = rel.within[(COMBINED, "weighted")]
    cnat = rel.national[(2017, COMBINED)]
    md = (
        "\n## China: official wages of post groups\n\n"
        f"[china/china_slopes.md](china/china_slopes.md): NBS 2017 wages of post groups (OCD large categories 2, 3, 4, 6) in "
        f"{rel.cells.table['section'].nunique()} industry sections against the combined LLM exposure. Within industries the slope of log wage "
        f"on exposure is {cst.slope:.2f} (CR1 se {cst.se:.2f}, {cst.n} cells, {cst.clusters} sections, df {cst.df}; wild cluster bootstrap "
        f"p = {cst.p_boot:.2g}, permutation p = {cst.p_perm:.2g}): {cst.verdict()}. Nationally, across the four groups, it is {cnat.slope:.2f} "
        f"(se {cnat.se:.2f}, df {cnat.df}, exact permutation p = {cnat.p_perm:.2g}). Six of the survey's sixteen sections (M, N, O, P, Q, R) "
        "are missing from the published copies. Moments files for `llm-labor calibrate` are in `china/`.\n\n"
        + ("" if cov.complete else "Partial coverage: group exposures are means over the scored medium categories only.\n\n")
        + "![China within industries](china/figures/china_within_industry_scatter.png)\n\n![China nationally](china/figures/china_national_groups.png)\n"
    )
    return ChinaSection(cst, cnat, md)


def us_section(w: ReportWriter, cfg: ReportConfig) -> UsSection:
    """The US replication path when the shared data folder is found; writes ``us_summary.md``."""
    import pandas as pd

    from . import plots
    from .data import shared_data_dir
    from .stats import summarize_levels

    if not (cfg.us and shared_data_dir(required=False) is not None):
        return UsSection("\n## United States\n\nSkipped: shared data not found (set LLM_LABOR_SHARED_DATA).\n", {})
    from .us import run_us_path

    us = run_us_path(measure=cfg.us_measure)
    soc_sum = summarize_levels(us.soc, ["dv_rating_beta", "human_rating_beta"], levels=["major", "minor", "broad", "detailed", "onet"])
    rows = []
    for lv, s in soc_sum.items():
        d = s.describe
        rows.append({"level": lv, "count": int(d.loc["count", "dv_rating_beta"]), "mean GPT-4": d.loc["mean", "dv_rating_beta"], "mean human": d.loc["mean", "human_rating_beta"], "std GPT-4": d.loc["std", "dv_rating_beta"], "std human": d.loc["std", "human_rating_beta"], "Pearson r": s.pearson.formatted().iloc[0, 1], "Spearman rho": s.spearman.formatted().iloc[0, 1]})
    occ = us.occupations
    fu = w.fig("us_exposure_vs_wage.png", plots.scatter_fit(occ[cfg.us_measure], occ["a_median"], xlabel=f"Exposure ({cfg.us_measure})", ylabel="Median annual wage, USD (OEWS May 2025)", title="US occupations: exposure and wages", r=us.wage_relation["unweighted"].pearson_r, logy=True))
    sec = us.sectors.sort_values(cfg.us_measure, ascending=False)
    fs = w.fig("us_sector_exposure.png", plots.bar_chart(us.sectors[cfg.us_measure], list(us.sectors["sector_title"]), title=f"US sector exposure ({cfg.us_measure})"))
    wr = us.wage_relation
    w.write(
        "us_summary.md",
        "# US replication path\n\n"
        f"GPTs-are-GPTs `occ_level.csv` rebuilt from `full_labelset.tsv` (core tasks weight 2, others 1): {len(us.occ_level)} occupations x 6 measures, "
        f"max |difference| = {us.max_abs_diff:.3g}.\n\n## Beta exposure over the SOC hierarchy (GPT-4 vs human)\n\n"
        + md_table(pd.DataFrame(rows), index=False, digits=4)
        + f"\n\n## Exposure and wages, detailed occupations (SOC 2018, OEWS May 2025)\n\n{wr['unweighted'].n} occupations matched. "
        f"Join: {us.join.summary()}.\n\n"
        f"Pearson r (exposure, log median wage) = {wr['unweighted'].pearson_r:.3f} (p = {wr['unweighted'].pearson_p:.3g}); Spearman rho = {wr['unweighted'].spearman_r:.3f}. "
        f"Slope of log wage on exposure: {wr['unweighted'].slope:.3f} (HC1 se {wr['unweighted'].se:.3f}) unweighted, "
        f"{wr['employment_weighted'].slope:.3f} (HC1 se {wr['employment_weighted'].se:.3f}) employment-weighted.\n\n"
        "## Sector exposure (OEWS sector x occupation employment)\n\n"
        + md_table(sec[["sector_title", cfg.us_measure, "coverage", "a_mean", "tot_emp"]], digits=3)
        + f"\n\nSector exposure against log mean wage over {us.sector_relation.n} sectors: Pearson r = {us.sector_relation.pearson_r:.3f} (p = {us.sector_relation.pearson_p:.3g}); slope {us.sector_relation.slope:.3f} (HC1 se {us.sector_relation.se:.3f}).",
    )
    md = f"\n## United States\n\n[us_summary.md](us_summary.md): GPTs-are-GPTs occupation scores rebuilt (max |diff| {us.max_abs_diff:.2g}), aggregated over SOC, joined to OEWS wages.\n\n![US exposure and wages]({fu})\n\n![US sectors]({fs})\n"
    return UsSection(md, {"us_occ_level_max_abs_diff": us.max_abs_diff, "us_wage_pearson_r": wr["unweighted"].pearson_r, "us_sector_wage_pearson_r": us.sector_relation.pearson_r})


def report_headline(inp: ReportInputs, summaries: dict, expert: ExpertSection, industries: IndustrySection, china: ChinaSection,
                    us: UsSection, skipped: dict) -> dict:
    """The headline numbers (in ``provenance.json`` and the result)."""
    med, models, cov, sf = summaries["medium"], inp.models, inp.coverage, inp.scores_file
    comp, wrel, cst, cnat = expert.comparison, industries.wage_relation, china.within, china.national
    headline = {
        "medium_mean": {m: float(med.describe.loc["mean", m]) for m in models},
        "medium_std": {m: float(med.describe.loc["std", m]) for m in models},
        "expert_vs_llm_r": comp.pearson_r if comp is not None else None,
        "industry_wage_r": wrel.pearson_r if wrel is not None else None,
        "china_within_slope": cst.slope if cst is not None else None,
        "china_within_se": cst.se if cst is not None else None,
        "china_national_slope_2017": cnat.slope if cnat is not None else None,
        "complete": cov.complete,
        "skipped": dict(skipped),
        **us.headline,
    }
    if sf is not None:
        headline["coverage"] = {"missing_medium": list(cov.missing_medium), "missing_large": list(cov.missing_large),
                                "partial_medium": {c: list(ms) for c, ms in cov.partial_medium}, "n_scored": cov.n_base,
                                "n_total": cov.n_base_total, "level": cov.base_level, "empty_scores_dropped": len(sf.missing_score_lines)}
    return headline


def report_markdown(inp: ReportInputs, summaries: dict, coverage_md: str, expert: ExpertSection, figures_md: str,
                    industries: IndustrySection, age_md: str, china: ChinaSection, us: UsSection) -> str:
    """``report.md``: every section, linking the tables and figures."""
    from .data import load_table5

    med = summaries["medium"]
    fmt_means = ", ".join(f"{Labels.model(m)} {med.describe.loc['mean', m]:.2f}" for m in inp.models)
    t5 = load_table5()
    return f"""# Exposure of occupations in China to LLMs: results

Inputs: {inp.source}; industry shares from the paper's Table 4. All numbers below are recomputed by
`llm-labor empirics report`; provenance (package version, input hashes, parameters) is in
`provenance.json` and at the top of every markdown file and in each PNG's metadata.
{coverage_md}
## Table 1 at the medium level

Means: {fmt_means}. Full statistics, correlations with stars, Spearman and bootstrap intervals:
[table1.md](table1.md).

## Experts against LLMs (Figure 1)

{expert.markdown}

## Occupational exposure (Figures 2, 10, 11, 12)

{figures_md}

Large-category scores here are means of the medium-category scores (the paper averages fine
occupations, which Table 2 does not list).

## Industries (Figures 6 and 15)

{industries.markdown}
{age_md}{china.markdown}
## Consistency of repeated LLM labels (Table 5, as published)

{md_table(t5.set_index('model'), digits=1)}
{us.markdown}"""


def finish_report(w: ReportWriter, report: str, headline: dict) -> ReportResult:
    """Write ``report.md`` and ``provenance.json`` (provenance with the headline numbers)."""
    w.write("report.md", report)
    pj = w.out / "provenance.json"
    pj.write_text(json.dumps({**w.prov.to_dict(), "headline": headline}, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    w.files.append(pj)
    return ReportResult(out_dir=w.out, files=tuple(w.files), headline=headline, skipped=dict(w.skipped))


def build_report(cfg: ReportConfig = ReportConfig()) -> ReportResult:
    """Write the report folder described in ``docs/aggregation.md``.

    With partial scores the report covers what it can and says what is missing (see
    :class:`Coverage`); ``cfg.require_complete`` makes missing categories an error instead.
    """
    inp = read_report_inputs(cfg)
    w = open_report(cfg, inp)
    coverage_md = coverage_markdown(inp)
    summaries = table1_section(w, inp, cfg)
    expert = expert_section(w, inp, cfg)
    figures_md = occupation_figures(w, inp)
    industries = industry_section(w, inp, cfg)
    age_md = age_section(w, inp, cfg, industries)
    china = china_section(w, inp, cfg)
    us = us_section(w, cfg)
    headline = report_headline(inp, summaries, expert, industries, china, us, w.skipped)
    report = report_markdown(inp, summaries, coverage_md, expert, figures_md, industries, age_md, china, us)
    return finish_report(w, report, headline)
