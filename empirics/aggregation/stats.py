"""Summary statistics as in the paper's Table 1, at any level of a hierarchy.

Count, mean, standard deviation (ddof=1), Pearson and Spearman correlation matrices with
significance stars (* p<.05, ** p<.01, *** p<.001, two-sided, the paper's convention), and
percentile bootstrap confidence intervals that resample occupations.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._validate import require_columns, require_numeric
from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

STAR_LEVELS = ((0.001, "***"), (0.01, "**"), (0.05, "*"))


def stars(p: float) -> str:
    """Significance stars for a two-sided p-value (``***`` < .001, ``**`` < .01, ``*`` < .05)."""
    for cut, s in STAR_LEVELS:
        if p < cut:
            return s
    return ""


def pearson(x, y) -> tuple[float, float]:
    """Pearson r and its two-sided p-value from the t distribution with n-2 degrees of freedom."""
    import numpy as np
    from scipy.special import stdtr

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(x)
    if n != len(y):
        raise InputError(f"pearson: x has {n} values, y has {len(y)}")
    if n < 3:
        raise InputError(f"pearson: need at least 3 observations, got {n}")
    xc, yc = x - x.mean(), y - y.mean()
    den = np.sqrt((xc @ xc) * (yc @ yc))
    if den == 0:
        raise InputError("pearson: a variable is constant, correlation undefined")
    r = float(np.clip((xc @ yc) / den, -1.0, 1.0))
    if abs(r) == 1.0:
        return r, 0.0
    t = r * np.sqrt((n - 2) / (1 - r * r))
    return r, float(2 * stdtr(n - 2, -abs(t)))


def _ranks(a: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean rank), as used by Spearman's rho."""
    import numpy as np

    order = np.argsort(a, kind="mergesort")
    s = a[order]
    ranks = np.empty(len(a), dtype=float)
    # boundaries of tie blocks in the sorted array
    change = np.flatnonzero(np.diff(s) != 0) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [len(a)]))
    avg = (starts + ends + 1) / 2.0  # mean of 1-based ranks start+1..end
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def spearman(x, y) -> tuple[float, float]:
    """Spearman's rho (Pearson r of average ranks) and its t-approximation p-value."""
    import numpy as np

    return pearson(_ranks(np.asarray(x, dtype=float)), _ranks(np.asarray(y, dtype=float)))


@dataclass(frozen=True)
class Correlation:
    """A correlation matrix with p-values."""

    method: str
    r: pd.DataFrame
    p: pd.DataFrame
    n: int

    def formatted(self, digits: int = 4) -> pd.DataFrame:
        """Cells like ``0.5938***`` as in the paper's Table 1."""
        out = self.r.copy().astype(object)
        for i in self.r.index:
            for j in self.r.columns:
                r, p = self.r.loc[i, j], self.p.loc[i, j]
                out.loc[i, j] = "n/a" if r != r else f"{r:.{digits}f}{stars(p)}"
        return out


def _complete(wide: pd.DataFrame, models: Sequence[str], table: str) -> pd.DataFrame:
    require_columns(wide, models, table)
    require_numeric(wide, list(models), table, allow_nan=True)
    return wide[list(models)].dropna()


def describe(wide: pd.DataFrame, models: Sequence[str], *, table: str = "scores") -> pd.DataFrame:
    """Rows ``count, mean, std`` (ddof=1) for each model column, over complete rows."""
    import pandas as pd

    d = _complete(wide, models, table)
    return pd.DataFrame({"count": d.count(), "mean": d.mean(), "std": d.std(ddof=1)}).T


def correlation(wide: pd.DataFrame, models: Sequence[str], *, method: str = "pearson", table: str = "scores") -> Correlation:
    """Correlation matrix between model columns over rows where all are present.

    Pairs with fewer than 3 rows or a constant column get NaN (shown as ``n/a``).
    """
    import pandas as pd

    funcs = {"pearson": pearson, "spearman": spearman}
    if method not in funcs:
        raise InputError(f"{table}: unknown correlation method {method!r}; use one of {sorted(funcs)}")
    d = _complete(wide, models, table)
    models = list(models)
    r = pd.DataFrame(1.0, index=models, columns=models)
    p = pd.DataFrame(0.0, index=models, columns=models)
    for a_i, a in enumerate(models):
        for b in models[a_i + 1 :]:
            if len(d) < 3 or d[a].nunique() < 2 or d[b].nunique() < 2:
                rv = pv = float("nan")  # undefined: too few units or a constant column
            else:
                rv, pv = funcs[method](d[a].to_numpy(), d[b].to_numpy())
            r.loc[a, b] = r.loc[b, a] = rv
            p.loc[a, b] = p.loc[b, a] = pv
    return Correlation(method=method, r=r, p=p, n=len(d))


def bootstrap_ci(
    wide: pd.DataFrame,
    models: Sequence[str],
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    table: str = "scores",
) -> pd.DataFrame:
    """Percentile bootstrap intervals for each model's mean and std and each pairwise Pearson r.

    Occupations (rows) are resampled with replacement, ``n_boot`` times, with a
    :class:`numpy.random.Generator` seeded by ``seed``.

    Returns a tidy table ``statistic, model, estimate, lo, hi``; ``model`` is ``"a~b"`` for
    correlations.
    """
    import numpy as np
    import pandas as pd

    if not 0 < level < 1:
        raise InputError(f"{table}: confidence level must be in (0, 1), got {level}")
    if n_boot < 10:
        raise InputError(f"{table}: n_boot must be at least 10, got {n_boot}")
    d = _complete(wide, models, table)
    X = d.to_numpy(dtype=float)
    n, k = X.shape
    if n < 3:
        raise InputError(f"{table}: need at least 3 complete rows for a bootstrap, got {n}")
    rng = np.random.default_rng(seed)
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    means = np.empty((n_boot, k))
    sds = np.empty((n_boot, k))
    rs = np.empty((n_boot, len(pairs)))
    chunk = max(1, min(n_boot, 4_000_000 // max(n * k, 1)))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        S = X[rng.integers(0, n, size=(b, n))]  # (b, n, k)
        m = S.mean(axis=1)
        C = S - m[:, None, :]
        ss = np.einsum("bnk,bnk->bk", C, C)
        means[start : start + b] = m
        sds[start : start + b] = np.sqrt(ss / (n - 1))
        for c, (i, j) in enumerate(pairs):
            cov = np.einsum("bn,bn->b", C[:, :, i], C[:, :, j])
            with np.errstate(invalid="ignore", divide="ignore"):
                rs[start : start + b, c] = cov / np.sqrt(ss[:, i] * ss[:, j])
    alpha = (1 - level) / 2
    rows = []
    names = list(models)
    for i, mname in enumerate(names):
        rows.append(("mean", mname, X[:, i].mean(), *np.nanquantile(means[:, i], [alpha, 1 - alpha])))
        rows.append(("std", mname, X[:, i].std(ddof=1), *np.nanquantile(sds[:, i], [alpha, 1 - alpha])))
    for c, (i, j) in enumerate(pairs):
        est = np.corrcoef(X[:, i], X[:, j])[0, 1]
        rows.append(("pearson_r", f"{names[i]}~{names[j]}", est, *np.nanquantile(rs[:, c], [alpha, 1 - alpha])))
    return pd.DataFrame(rows, columns=["statistic", "model", "estimate", "lo", "hi"])


@dataclass(frozen=True)
class LevelSummary:
    """Table 1 statistics of one hierarchy level."""

    level: str
    describe: pd.DataFrame
    pearson: Correlation
    spearman: Correlation


def summarize_levels(aggregated: pd.DataFrame, models: Sequence[str], *, levels: Sequence[str] | None = None) -> dict[str, LevelSummary]:
    """Table 1 statistics at each level of an :func:`~empirics.aggregation.hierarchy.aggregate` result."""
    from .hierarchy import to_wide

    require_columns(aggregated, ["level", "code", "model", "score"], "aggregated scores")
    present = list(dict.fromkeys(aggregated["level"]))
    out = {}
    for lv in levels or present:
        if lv not in present:
            raise InputError(f"aggregated scores: level {lv!r} absent; present: {present}")
        w = to_wide(aggregated, level=lv, models=models)
        out[lv] = LevelSummary(
            level=lv,
            describe=describe(w, models, table=f"{lv}-level scores"),
            pearson=correlation(w, models, method="pearson", table=f"{lv}-level scores"),
            spearman=correlation(w, models, method="spearman", table=f"{lv}-level scores"),
        )
    return out
