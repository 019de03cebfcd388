"""Data moments: read a ``llm-labor/moments`` file and resample its units for the bootstrap.

Every moment computed from the per-unit table is recomputed on the same resampled units in each
bootstrap draw, so the draws carry the moments' joint covariance.  Moments given in the config
(``value``, ``se``) are drawn independently from N(value, se²).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from .errors import CalibrationError
from .moments import Moment

MOMENTS_FORMAT = "llm-labor/moments"
# file moment and outcome column that feed each moment kind
SOURCES = {"wage_exposure_slope": ("log_wage", "mean_log_wage"), "employment_growth_slope": ("vacancy_share_growth", "growth")}


@dataclasses.dataclass
class DataMoments:
    """Data values, standard errors, bootstrap draws (B, k) and notes on how each was obtained."""

    values: np.ndarray
    se: np.ndarray
    draws: np.ndarray
    notes: list[str]
    n_units: int | None

    @property
    def covariance(self) -> np.ndarray:
        """diag(se) R diag(se), with R the correlation of the bootstrap draws (zero where drawn apart)."""
        k = len(self.values)
        R = np.eye(k)
        d = self.draws
        ok = np.all(np.isfinite(d), axis=1)
        if k > 1 and ok.sum() > 2:
            sd = d[ok].std(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                C = np.corrcoef(d[ok].T) if np.all(sd > 0) else np.eye(k)
            R = np.where(np.isfinite(C), C, 0.0)
            np.fill_diagonal(R, 1.0)
        return np.outer(self.se, self.se) * R


def load_moments_file(path: str | Path) -> dict:
    """Read and check a ``llm-labor/moments`` file: every slope and se a moment can use, and every
    unit row, is validated here, so that a bad value is a located :class:`CalibrationError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text)
    except OSError as exc:
        raise CalibrationError(f"cannot read moments file: {exc.strerror}", file=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise CalibrationError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=str(path)) from exc
    except json.JSONDecodeError as exc:
        raise CalibrationError(f"invalid JSON at line {exc.lineno}: {exc.msg}", file=str(path), line=exc.lineno) from exc
    if not isinstance(doc, dict) or doc.get("format") != MOMENTS_FORMAT:
        raise CalibrationError(f"not a moments file: key 'format' must be {MOMENTS_FORMAT!r}", file=str(path), key="format")
    if doc.get("version") != 1:
        raise CalibrationError(f"unsupported moments version {doc.get('version')!r} (this reader takes 1)", file=str(path), key="version")
    _check_document(doc, text, str(path))
    return doc


def _json_line(text: str, path: list) -> int | None:
    """Line of the value at key ``path`` in pretty-printed JSON text: each key (or list index,
    counted in objects opened after the list) is looked for after the previous one."""
    pos = 0
    for part in path:
        if isinstance(part, int):
            for _ in range(part + 1):
                nxt = text.find("{", pos + 1)
                if nxt < 0:
                    return None
                pos = nxt
        else:
            nxt = text.find(f'"{part}"', pos)
            if nxt < 0:
                return None
            pos = nxt
    return text.count("\n", 0, pos) + 1


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)


def _check_document(doc: dict, text: str, source: str) -> None:
    def fail(msg, *keys):
        raise CalibrationError(msg, file=source, line=_json_line(text, list(keys)),
                               key=".".join(f"[{k}]" if isinstance(k, int) else str(k) for k in keys).replace(".[", "["))

    moments = doc.get("moments", {})
    if not isinstance(moments, dict):
        fail("must be an object of moments", "moments")
    for name, sides in moments.items():
        if not isinstance(sides, dict):
            fail("must be an object with 'weighted' and/or 'unweighted' entries", "moments", name)
        for side, entry in sides.items():
            if not isinstance(entry, dict):
                fail("must be an object with 'slope' and 'se'", "moments", name, side)
            for key in ("slope", "se"):
                if key not in entry:
                    fail(f"'{key}' is missing", "moments", name, side)
                if not _number(entry[key]):
                    fail(f"must be a finite number, got {entry[key]!r}", "moments", name, side, key)
            if not entry["se"] > 0:
                fail(f"a standard error must be > 0, got {entry['se']!r}", "moments", name, side, "se")
            draws = entry.get("bootstrap_draws")
            if draws is not None and (not isinstance(draws, list) or not all(d is None or (isinstance(d, (int, float)) and not isinstance(d, bool)
                                                                                         and not np.isinf(d)) for d in draws)):
                fail("must be a list of numbers (NaN or null for a failed resample)", "moments", name, side, "bootstrap_draws")
    units = doc.get("units")
    if units is None:
        return
    if not isinstance(units, list):
        fail("must be a list of unit rows", "units")
    for i, u in enumerate(units):
        if not isinstance(u, dict):
            fail("must be an object", "units", i)
        for key, v in u.items():
            if key == "code":
                continue
            if v is not None and not _number(v):
                fail(f"must be a finite number or null, got {v!r}", "units", i, key)
        for key in ("vacancies", "vacancies_early", "weight"):
            if _number(u.get(key)) and u[key] < 0:
                fail(f"weights must be >= 0, got {u[key]!r}", "units", i, key)


def _wls(x, y, w):
    """Weighted slope and HC1 se (the formula of ``empirics.postings.relate.wls``)."""
    W = w.sum()
    dx = x - (w * x).sum() / W
    dy = y - (w * y).sum() / W
    sxx = (w * dx * dx).sum()
    b = (w * dx * dy).sum() / sxx
    e = dy - b * dx
    n = len(x)
    return b, float(np.sqrt((w * w * dx * dx * e * e).sum() / sxx**2 * n / (n - 2)))


def _batch_slopes(x, y, w):
    """Weighted slopes along the last axis."""
    W = w.sum(axis=-1, keepdims=True)
    dx = x - (w * x).sum(axis=-1, keepdims=True) / W
    dy = y - (w * y).sum(axis=-1, keepdims=True) / W
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w * dx * dy).sum(axis=-1) / (w * dx * dx).sum(axis=-1)


def _unit_arrays(doc: dict, columns: list[str]) -> dict[str, np.ndarray]:
    units = doc.get("units") or []
    out = {}
    for c in columns:
        out[c] = np.array([np.nan if (u.get(c) is None) else float(u[c]) for u in units], dtype=float)
    return out


def _weight_column(doc: dict, kind: str) -> str | None:
    units = doc.get("units") or []
    keys = set(units[0]) if units else set()
    if kind == "employment_growth_slope":
        return "vacancies_early" if "vacancies_early" in keys else None
    for c in ("vacancies", "weight"):
        if c in keys:
            return c
    return None


def data_moments(moments: list[Moment], doc: dict | None, *, draws: int, rng: np.random.Generator, source: str = "moments file") -> DataMoments:
    """Values, standard errors and ``draws`` joint bootstrap draws of every moment."""
    k = len(moments)
    values, se = np.full(k, np.nan), np.full(k, np.nan)
    out = np.full((draws, k), np.nan)
    notes = [""] * k
    unit_based: list[tuple[int, np.ndarray, np.ndarray, np.ndarray | None, str, Moment]] = []
    n_units = None
    for j, m in enumerate(moments):
        if m.kind in ("skill_premium", "custom"):
            if m.value is None or m.se is None or not m.se > 0:
                raise CalibrationError(f"moment '{m.label}' needs 'value' and 'se' > 0 in the config")
            values[j], se[j] = m.value, m.se
            notes[j] = "from the config; bootstrap draws from N(value, se^2), independent of the other moments"
            continue
        if doc is None:
            raise CalibrationError(f"moment '{m.label}' needs a moments file (key 'moments_file')")
        units = doc.get("units") or []
        if m.kind in SOURCES:
            name, col = SOURCES[m.kind]
            side = "weighted" if m.weighted else "unweighted"
            entry = (doc.get("moments") or {}).get(name, {}).get(side)
            if entry is None:
                raise CalibrationError(f"moment '{m.label}' needs moments.{name}.{side}, which the file lacks", file=source, key=f"moments.{name}.{side}")
            values[j], se[j] = float(entry["slope"]), float(entry["se"])
            notes[j] = f"moments.{name}.{side}: slope and HC1 se from the file"
        else:  # exposed_share
            col = None
        wcol = _weight_column(doc, m.kind) if m.weighted else None
        if m.weighted and wcol is None:
            if m.kind in SOURCES and not units:
                pass
            else:
                raise CalibrationError(f"moment '{m.label}' is weighted but the file's units carry no weights (set weighted: false)", file=source, key="units")
        if not units:
            if m.kind not in SOURCES:
                raise CalibrationError(f"moment '{m.label}' needs the per-unit table, which the file lacks", file=source, key="units")
            drawn = np.asarray(entry.get("bootstrap_draws") or [], dtype=float)
            if drawn.size == 0:
                raise CalibrationError(f"moment '{m.label}': the file has neither units nor bootstrap draws", file=source, key=f"moments.{name}.{side}")
            out[:, j] = rng.choice(drawn, size=draws, replace=True)
            notes[j] += "; bootstrap: the file's draws, resampled (no units table)"
            continue
        cols = ["exposure"] + ([col] if col else []) + ([wcol] if wcol else [])
        arr = _unit_arrays(doc, cols)
        keep = np.all([np.isfinite(arr[c]) for c in cols], axis=0)
        x = arr["exposure"][keep]
        y = arr[col][keep] if col else None
        w = arr[wcol][keep] if wcol else np.ones_like(x)
        n_units = int(keep.sum()) if n_units is None else n_units
        if m.kind == "exposed_share":
            values[j] = float((w * (x > m.cutoff)).sum() / w.sum())
            notes[j] = f"units: {'weight ' + wcol if wcol else 'unweighted'} share with exposure > {m.cutoff:g}; se = bootstrap sd"
        else:
            b, _ = _wls(x, y, w)
            if abs(b - values[j]) > 1e-6 * max(1.0, abs(b)):
                notes[j] += f"; the units table gives slope {b:.6g} (the file's sample differs), bootstrap uses the units"
        unit_based.append((j, x, y, w, m.kind, m))
    # joint resampling: one index matrix per group of units of equal length
    groups: dict[int, np.ndarray] = {}
    for j, x, y, w, kind, m in unit_based:
        n = len(x)
        if n < 3:
            raise CalibrationError(f"moment '{m.label}' has {n} usable units; at least 3 are needed", file=source, key="units")
        if n not in groups:
            groups[n] = rng.integers(0, n, size=(draws, n))
        idx = groups[n]
        for s in range(0, draws, 250):
            sl = slice(s, min(draws, s + 250))
            ib = idx[sl]
            if kind == "exposed_share":
                out[sl, j] = (w[ib] * (x[ib] > m.cutoff)).sum(axis=1) / w[ib].sum(axis=1)
            else:
                out[sl, j] = _batch_slopes(x[ib], y[ib], w[ib])
        if kind == "exposed_share":
            se[j] = float(np.nanstd(out[:, j], ddof=1))
            if not se[j] > 0:
                raise CalibrationError(f"moment '{m.label}' does not vary across bootstrap draws (se = 0); choose another cutoff", file=source)
        notes[j] += f"; bootstrap: {draws} resamples of {n} units"
    for j, m in enumerate(moments):
        if m.kind in ("skill_premium", "custom"):
            out[:, j] = values[j] + se[j] * rng.standard_normal(draws)
    return DataMoments(values, se, out, notes, n_units)
