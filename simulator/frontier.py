"""Dated frontier paths G(t), N(t) of released language models.

In the scaling law D = C + a/N^α + b/G^β (eq. 17) G is a model's parameter
count and N (``N_bar``) its training tokens, so every released model is a
point (G, N) at its publication date.  This module turns a table of released
models into a *frontier path*, a step function of time sampled on chosen
dates, which a scenario sweeps (``sweep: {mode: path}``, ``docs/scenarios.md``):

* ``running_max``: G(t) is the largest parameter count released up to t and
  N(t) the most training tokens, each separately;
* ``min_loss``: (G, N) of the model with the lowest scaling-law loss
  a/N^α + b/G^β released up to t.

The bundled table is Epoch AI's "Notable AI Models" (CC BY 4.0, "Data: Epoch
AI (epoch.ai)"; ``simulator/data/SOURCES.md``).  A path can also be read from
any CSV of ``date, G, N`` (:func:`read_path_csv`).

NumPy and pandas are imported inside the functions, so importing this module
is cheap.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import math
from pathlib import Path
from typing import Any

from .errors import FrontierError

#: The bundled Epoch AI table and its attribution.
DATA = Path(__file__).resolve().parent / "data" / "epoch_notable_ai_models.csv"
ATTRIBUTION = "Data: Epoch AI (epoch.ai)"
REGIONS = ("china", "world")
RULES = ("running_max", "min_loss")
FREQUENCIES = ("MS", "release")
#: (a, alpha, b, beta) of Hoffmann et al. (2022) in the paper's notation (scenarios/llm_scaling.yaml)
HOFFMANN = (410.7, 0.28, 406.4, 0.34)
#: columns of the Epoch AI table that :func:`load_models` reads
EPOCH_COLUMNS = {
    "model": "Model", "organization": "Organization", "date": "Publication date", "domain": "Domain",
    "G": "Parameters", "N": "Training dataset size (gradients)", "country": "Country (of organization)",
}
PATH_COLUMNS = ("date", "G", "N")
#: the numeric columns of a path (both tables) -> the ScalingLLM parameter each holds (its registry constraint applies)
PATH_PARAMETERS = {"G": "G", "N": "N_bar"}
LABEL_COLUMNS = ("model", "label")
SEPARATOR = "; "  # between the names of several models that moved the frontier at one date


@dataclasses.dataclass(frozen=True, eq=False)
class FrontierPath:
    """A path of (G, N) over dates, n points.

    ``dates`` (n,) datetime64[D], increasing; ``G`` (n,) parameters and
    ``N_bar`` (n,) training tokens, float64 > 0; ``models`` (n,) the model(s)
    that moved the frontier since the previous date ("; "-joined; "" where
    nothing moved); ``region``, ``rule`` ("" for a path read from a CSV) and
    ``source`` (where the numbers come from, with attribution) as text.
    """

    dates: Any
    G: Any
    N_bar: Any
    models: tuple[str, ...]
    region: str
    rule: str
    source: str

    def __len__(self) -> int:
        return len(self.models)

    @property
    def events(self) -> list[int]:
        """Indices of the dates at which the frontier moved."""
        return [k for k, m in enumerate(self.models) if m]


def file_sha256(path) -> str:
    """SHA-256 of a file's bytes (recorded in the provenance of path sweeps)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- the model table
def load_models(path=None):
    """Language models with both a parameter count and a training-set size.

    Reads the bundled Epoch AI table, or a file with its columns.  Returns a
    DataFrame sorted by date with columns ``date`` (datetime64), ``model``,
    ``organization``, ``country`` (text), ``G`` (parameters), ``N`` (training
    tokens) and ``china`` (bool: any listed country of the organization is
    China).  A model is a language model when its ``Domain`` lists
    "Language".  Rows whose date, parameter count or training-set size is
    missing or not a single positive number are left out.
    """
    import numpy as np
    import pandas as pd

    path = Path(path) if path is not None else DATA
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise FrontierError(f"cannot read the model table: {exc}", file=str(path)) from exc
    missing = [c for c in EPOCH_COLUMNS.values() if c not in raw.columns]
    if missing:
        raise FrontierError(f"the model table lacks the columns {missing}", file=str(path), line=1)
    col = {k: raw[v].astype(str) for k, v in EPOCH_COLUMNS.items()}
    language = col["domain"].map(lambda s: "Language" in [p.strip() for p in s.split(",")])
    G = pd.to_numeric(col["G"].str.strip(), errors="coerce")
    N = pd.to_numeric(col["N"].str.strip(), errors="coerce")
    date = pd.to_datetime(col["date"].str.strip(), format="%Y-%m-%d", errors="coerce")
    keep = (language & np.isfinite(G) & np.isfinite(N) & _constraint("G").holds(G) & _constraint("N").holds(N)
            & date.notna()).to_numpy(dtype=bool)
    out = pd.DataFrame({
        "date": date[keep].to_numpy(dtype="datetime64[D]"),
        "model": col["model"][keep].map(lambda s: " ".join(s.split())).to_numpy(dtype=object),
        "organization": col["organization"][keep].map(lambda s: " ".join(s.split())).to_numpy(dtype=object),
        "country": col["country"][keep].to_numpy(dtype=object),
        "G": G[keep].to_numpy(dtype=np.float64),
        "N": N[keep].to_numpy(dtype=np.float64),
        "china": col["country"][keep].map(lambda s: "China" in [p.strip() for p in s.split(",")]).to_numpy(dtype=bool),
    })
    out = out.sort_values("date", kind="mergesort").reset_index(drop=True)
    out.attrs["source"] = str(path)
    return out


def parse_day(value, option: str = "date"):
    """A date given as text ('2018-01-01'), datetime.date or numpy/pandas datetime -> datetime64[D].

    Raises :class:`FrontierError` naming ``option`` when ``value`` is not a date.
    """
    import numpy as np

    if isinstance(value, str):
        try:
            return np.datetime64(_dt.date.fromisoformat(value.strip()), "D")
        except ValueError:
            raise FrontierError(f"not a date (YYYY-MM-DD): {value!r}", option=option) from None
    if isinstance(value, (_dt.date, np.datetime64)) or hasattr(value, "to_datetime64"):
        day = np.datetime64(value, "D") if not hasattr(value, "to_datetime64") else value.to_datetime64().astype("datetime64[D]")
        if not np.isnat(day):
            return day
    raise FrontierError(f"not a date (YYYY-MM-DD): {value!r}", option=option)


def _events(models, rule: str, constants):
    """Per distinct release date: the frontier (G, N) after it and the model(s) that moved it.

    Returns (days (k,) datetime64[D], G (k,), N (k,), names: list of k strings).
    """
    import numpy as np

    a, alpha, b, beta = (float(c) for c in constants)
    days = models["date"].to_numpy(dtype="datetime64[D]")
    G, N = models["G"].to_numpy(np.float64), models["N"].to_numpy(np.float64)
    names = models["model"].to_numpy(dtype=object)
    loss = a / N**alpha + b / G**beta
    out_days, out_G, out_N, out_names = [], [], [], []
    g, n, best = 0.0, 0.0, math.inf
    for day in np.unique(days):
        rows = np.flatnonzero(days == day)
        moved: list[str] = []
        if rule == "running_max":
            g_new, n_new = max(g, G[rows].max()), max(n, N[rows].max())
            if g_new > g:
                moved += [names[r] for r in rows if G[r] == g_new]
            if n_new > n:
                moved += [names[r] for r in rows if N[r] == n_new]
            g, n = g_new, n_new
        else:
            r = rows[np.argmin(loss[rows])]  # first of equal losses, in table order
            if loss[r] < best:
                best, g, n = loss[r], G[r], N[r]
                moved.append(names[r])
        out_days.append(day)
        out_G.append(g)
        out_N.append(n)
        out_names.append(SEPARATOR.join(dict.fromkeys(moved)))
    return np.asarray(out_days, dtype="datetime64[D]"), np.asarray(out_G), np.asarray(out_N), out_names


def frontier_path(models, *, region: str = "china", rule: str = "running_max", start=None, end=None,
                  frequency: str = "MS", constants=HOFFMANN, exclude=(), source: str | None = None) -> FrontierPath:
    """The frontier of ``models`` (a :func:`load_models` table) as a dated step path.

    ``region``: "china" (models with China among the organization's
    countries) or "world" (all).  ``rule``: "running_max" or "min_loss" (see
    the module docstring), with ``constants`` = (a, alpha, b, beta) of the
    loss for min_loss.  The frontier at a date includes every model released
    on or before it.  ``frequency``: "MS" samples the path on the first of
    every month from ``start`` (the first of a month on or after it) to
    ``end``; "release" gives ``start`` and then one point per date after it
    at which the frontier moved, up to ``end``.  ``start`` defaults to the
    region's first release and may not be earlier; ``end`` defaults to the
    last release in ``models`` (any region), so regions share their dates.
    ``models`` of the returned path name the model(s) that moved the
    frontier after the previous point and on or before this one (for the
    first point: on ``start`` itself).  ``exclude``: names of models to
    leave out (e.g. n-gram models whose "parameters" are n-gram counts); a
    name not in ``models`` is an error.
    """
    import numpy as np

    if region not in REGIONS:
        raise FrontierError(f"must be one of {list(REGIONS)}, got {region!r}", option="region")
    if rule not in RULES:
        raise FrontierError(f"must be one of {list(RULES)}, got {rule!r}", option="rule")
    if frequency not in FREQUENCIES:
        raise FrontierError(f"must be one of {list(FREQUENCIES)}, got {frequency!r}", option="frequency")
    if len(models) == 0:
        raise FrontierError("the model table has no language model with both a parameter count and a training-set size",
                            option="models")
    exclude = (exclude,) if isinstance(exclude, str) else tuple(exclude)
    unknown = sorted(set(exclude) - set(models["model"]))
    if unknown:
        raise FrontierError(f"no model named {unknown[0]!r} in the table (names as in its 'model' column)", option="exclude")
    models_kept = models[~models["model"].isin(list(exclude)).to_numpy(dtype=bool)]
    chosen = models_kept[models_kept["china"].to_numpy(dtype=bool)] if region == "china" else models_kept
    if len(chosen) == 0:
        raise FrontierError(f"no model of region {region!r} in the table", option="region")
    days, G, N, names = _events(chosen, rule, constants)
    first = days[0]
    start = first if start is None else parse_day(start, "start")
    end = models["date"].to_numpy(dtype="datetime64[D]").max() if end is None else parse_day(end, "end")
    if start < first:
        who = SEPARATOR.join(chosen["model"][chosen["date"].to_numpy(dtype="datetime64[D]") == first])
        raise FrontierError(f"{start} is before the first release of region {region!r} ({first}, {who}); "
                            "the frontier is not defined there", option="start")
    if end < start:
        raise FrontierError(f"{end} is before start {start}", option="end")
    if frequency == "MS":
        month = start.astype("datetime64[M]")
        if month.astype("datetime64[D]") < start:
            month = month + 1
        samples = np.arange(month, end.astype("datetime64[M]") + 1, dtype="datetime64[M]").astype("datetime64[D]")
        if samples.size == 0:
            raise FrontierError(f"no first of a month between start {start} and end {end}", option="end")
    else:
        moved = days[[bool(n) for n in names]]
        samples = np.concatenate([[start], moved[(moved > start) & (moved <= end)]]).astype("datetime64[D]")
    at = np.searchsorted(days, samples, side="right") - 1  # last release date on or before each sample
    labels = []
    previous = samples[0] - 1
    for t in samples:
        window = [names[k] for k in np.flatnonzero((days > previous) & (days <= t)) if names[k]]
        labels.append(SEPARATOR.join(window))
        previous = t
    if source is None:
        source = str(models.attrs.get("source", "")) or "model table"
        if Path(source).resolve() == DATA:
            source = f"Epoch AI, Notable AI Models ({DATA.name}, CC BY 4.0); {ATTRIBUTION}"
    return FrontierPath(dates=samples, G=G[at].astype(np.float64), N_bar=N[at].astype(np.float64), models=tuple(labels),
                        region=region, rule=rule, source=source)


# ----------------------------------------------------------------------------- a path from a CSV file
def read_path_csv(path) -> FrontierPath:
    """Read a path from a CSV file with columns ``date, G, N`` and optionally ``model`` or ``label``.

    Strict: a missing or unknown column, a date that is not YYYY-MM-DD, a G
    or N that is not a finite number > 0, a row with the wrong number of
    fields and two rows with the same date each raise
    :class:`~simulator.errors.FrontierError` naming the file, the 1-based
    line and the column.  Rows are sorted by date; blank lines are skipped.
    """
    import csv

    import numpy as np

    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FrontierError(f"cannot read the path CSV: {getattr(exc, 'strerror', None) or exc}", file=where) from exc
    reader = csv.reader(text.splitlines(keepends=True))
    header, rows = None, []
    line = 1
    try:
        for fields in reader:
            row_line, line = line, reader.line_num + 1  # a quoted field may span lines: a row starts after the last one
            if not fields or all(not f.strip() for f in fields):
                continue
            if header is None:
                header = _header(fields, where, row_line)
                continue
            if len(fields) != len(header):
                raise FrontierError(f"expected {len(header)} fields ({', '.join(header)}), got {len(fields)}", file=where, line=row_line)
            rows.append((row_line, dict(zip(header, (f.strip() for f in fields)))))
    except csv.Error as exc:
        raise FrontierError(f"malformed CSV: {exc}", file=where, line=line) from exc
    if header is None:
        raise FrontierError("the file is empty; expected a header 'date,G,N'", file=where, line=1)
    if not rows:
        raise FrontierError("no data rows after the header", file=where, line=2)
    label = next((c for c in LABEL_COLUMNS if c in header), None)
    records = []
    for row_line, row in rows:
        try:
            day = np.datetime64(_dt.date.fromisoformat(row["date"]), "D")
        except ValueError:
            raise FrontierError(f"not a date (YYYY-MM-DD): {row['date']!r}", file=where, line=row_line, column="date") from None
        values = [_admissible(row[c], where, row_line, c) for c in PATH_PARAMETERS]
        records.append((day, *values, row[label] if label else "", row_line))
    records.sort(key=lambda r: r[0])
    for prev, cur in zip(records, records[1:]):
        if prev[0] == cur[0]:
            lo, hi = sorted((prev[4], cur[4]))
            raise FrontierError(f"duplicate date {cur[0]} (also on line {lo})", file=where, line=hi, column="date")
    return FrontierPath(dates=np.asarray([r[0] for r in records], dtype="datetime64[D]"),
                        G=np.asarray([r[1] for r in records], dtype=np.float64),
                        N_bar=np.asarray([r[2] for r in records], dtype=np.float64),
                        models=tuple(r[3] for r in records), region="", rule="", source=where)


def _header(fields: list[str], where: str, line: int) -> list[str]:
    names = [f.strip() for f in fields]
    allowed = PATH_COLUMNS + LABEL_COLUMNS
    for name in names:
        if name not in allowed:
            raise FrontierError(f"unknown column; allowed columns are {list(allowed)}", file=where, line=line, column=name)
        if names.count(name) > 1:
            raise FrontierError("the column appears twice", file=where, line=line, column=name)
    for name in PATH_COLUMNS:
        if name not in names:
            raise FrontierError(f"missing column; a path CSV has the columns {list(PATH_COLUMNS)}", file=where, line=line, column=name)
    if all(c in names for c in LABEL_COLUMNS):
        raise FrontierError("give either 'model' or 'label', not both", file=where, line=line, column="label")
    return names


def _admissible(text: str, where: str, line: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FrontierError(f"not a number: {text!r}", file=where, line=line, column=column) from None
    if not math.isfinite(value):
        raise FrontierError(f"must be finite (got {text!r})", file=where, line=line, column=column)
    constraint = _constraint(column)
    if not constraint.holds(value):
        raise FrontierError(f"must be {constraint.bound()} (got {text!r})", file=where, line=line, column=column)
    return value


def _constraint(column: str):
    """The registry's constraint on the ScalingLLM parameter a path column holds."""
    from .params import ScalingLLM, parameter

    return parameter(ScalingLLM, PATH_PARAMETERS[column]).constraint


__all__ = ["FrontierPath", "load_models", "frontier_path", "read_path_csv", "parse_day", "file_sha256", "DATA", "ATTRIBUTION", "HOFFMANN"]
