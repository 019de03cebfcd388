"""Aggregation of occupation scores over a code hierarchy (fine -> small -> medium -> large).

A hierarchy is described by a :class:`HierarchySpec`: a code template such as ``D-DD-DD-DD`` whose
``D`` positions hold digits, and a list of levels, each the number of leading digits that
identify a group at that level. The OCD 2022 spec (China), the SOC 2018 spec and the O*NET-SOC
spec (US) are provided.

Inputs are tidy tables with one row per (code, model) observation -- columns ``code``,
``model`` and ``score`` by default, plus an optional weight column -- so that repeated labels,
task-level labels or already averaged scores all go through the same path.

The paper scores a higher level as the mean of the fine occupations it encompasses
(``method="fine_mean"``, the default); ``method="child_mean"`` takes the mean of the children's
means level by level instead.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ._validate import preview, require_columns, require_numeric
from .errors import InputError, UnknownCodeError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

METHODS = ("fine_mean", "child_mean")


@dataclass(frozen=True)
class Level:
    """One level of a hierarchy.

    ``n_digits`` leading digits of a code identify its group at this level. ``overrides`` lists
    groups that use a different number of digits, as ``(digit prefix, n_digits)`` pairs; SOC 2018
    needs it for the minor groups 15-1200, 31-1100 and 51-5100. ``format_digits``, if set,
    writes this level's codes with that many digits of the template, zero padded (O*NET-SOC writes
    its SOC levels as six-digit SOC codes); otherwise the spec's ``short_codes`` decides.
    """

    name: str
    n_digits: int
    overrides: tuple[tuple[str, int], ...] = ()
    format_digits: int | None = None


@dataclass(frozen=True)
class HierarchySpec:
    """A code scheme: a digit template and its levels, coarse to fine.

    Parameters
    ----------
    name:
        Name used in messages and provenance.
    template:
        Code layout with ``D`` for each digit, e.g. ``"D-DD-DD-DD"``.
    levels:
        The levels from coarsest to finest; the finest must use all digits.
    short_codes:
        Write a coarser level's code truncated (OCD: ``"2-01"``) rather than zero-padded to full
        width (SOC: ``"11-1000"``). Parsing accepts both forms either way.
    default_exclude:
        Codes of the top level left out unless the caller says otherwise.
    """

    name: str
    template: str
    levels: tuple[Level, ...]
    short_codes: bool = False
    default_exclude: tuple[str, ...] = ()
    _digit_pos: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pos = tuple(i for i, ch in enumerate(self.template) if ch == "D")
        object.__setattr__(self, "_digit_pos", pos)
        if not self.levels:
            raise ValueError(f"hierarchy {self.name!r}: no levels")
        widths = [lv.n_digits for lv in self.levels]
        if widths != sorted(widths) or len(set(widths)) != len(widths):
            raise ValueError(f"hierarchy {self.name!r}: level digit counts must increase, got {widths}")
        if widths[-1] != len(pos):
            raise ValueError(
                f"hierarchy {self.name!r}: finest level uses {widths[-1]} digits but the template has {len(pos)}"
            )

    # ----------------------------------------------------------------- basics
    @property
    def width(self) -> int:
        """Number of digits in a full code."""
        return len(self._digit_pos)

    @property
    def level_names(self) -> tuple[str, ...]:
        return tuple(lv.name for lv in self.levels)

    def level(self, name: str) -> Level:
        for lv in self.levels:
            if lv.name == name:
                return lv
        raise InputError(f"hierarchy {self.name!r} has no level {name!r}; levels are {list(self.level_names)}")

    def level_index(self, name: str) -> int:
        return self.level_names.index(self.level(name).name)

    def _prefix_pattern(self, n_digits: int) -> str:
        """The template truncated right after its ``n_digits``-th digit."""
        return self.template[: self._digit_pos[n_digits - 1] + 1]

    def _regex(self) -> re.Pattern:
        forms = {self.template}
        for lv in self.levels:
            forms.add(self._prefix_pattern(lv.n_digits))
            for _, n in lv.overrides:
                forms.add(self._prefix_pattern(n))
        alts = "|".join(re.escape(f).replace("D", r"\d") for f in sorted(forms, key=len, reverse=True))
        return re.compile(rf"^(?:{alts})$")

    # ---------------------------------------------------------------- parsing
    def parse(self, codes, level: str | None = None, *, table: str = "codes") -> np.ndarray:
        """Codes -> integers holding all ``width`` digits, zero padded on the right.

        ``level`` (default: the finest) is the level the codes are at: digits beyond it must be
        zero. Short (``"2-01"``) and full (``"2-01-00-00"``) forms are both accepted.
        """
        import numpy as np
        import pandas as pd

        lv = self.level(level) if level is not None else self.levels[-1]
        s = pd.Series(codes, copy=False)
        # factorize first: string work is then done once per distinct code, not per row
        ids, uniques = pd.factorize(s, use_na_sentinel=True)
        if (ids < 0).any():
            raise InputError(f"{table}: {int((ids < 0).sum())} missing code(s)")
        uniq = pd.Series(np.asarray(uniques, dtype=object), dtype=object).astype(str).str.strip()
        ok = uniq.str.match(self._regex())
        if not ok.all():
            raise InputError(
                f"{table}: code(s) not in the {self.name} format {self.template!r}: {preview(uniq[~ok])}"
            )
        digits = uniq.str.replace(r"\D", "", regex=True)
        short = digits.str.len() < lv.n_digits
        if short.any():
            raise InputError(
                f"{table}: code(s) coarser than level {lv.name!r} of {self.name}: {preview(uniq[short])}"
            )
        padded = digits.str.ljust(self.width, "0").astype("int64").to_numpy()
        coarse = self.keys(padded, lv.name)
        finer = padded != coarse
        if finer.any():
            raise InputError(
                f"{table}: code(s) finer than level {lv.name!r} of {self.name}: {preview(uniq[finer])}"
            )
        return padded[ids] if len(ids) else np.zeros(0, dtype="int64")

    def keys(self, padded: np.ndarray, level: str) -> np.ndarray:
        """Full-width integer keys of the groups at ``level`` that the padded codes belong to."""
        import numpy as np

        lv = self.level(level)
        padded = np.asarray(padded, dtype="int64")
        scale = 10 ** (self.width - lv.n_digits)
        out = (padded // scale) * scale
        for prefix, n in lv.overrides:
            pscale = 10 ** (self.width - len(prefix))
            mask = (padded // pscale) == int(prefix)
            s2 = 10 ** (self.width - n)
            out[mask] = (padded[mask] // s2) * s2
        return out

    def _n_digits_of(self, keys: np.ndarray, level: str) -> np.ndarray:
        import numpy as np

        lv = self.level(level)
        n = np.full(len(keys), lv.n_digits, dtype="int64")
        for prefix, nd in lv.overrides:
            pscale = 10 ** (self.width - len(prefix))
            n[(np.asarray(keys) // pscale) == int(prefix)] = nd
        return n

    def format(self, keys, level: str) -> list[str]:
        """Integer keys at ``level`` -> code strings (short or padded per ``short_codes``)."""
        import numpy as np

        keys = np.asarray(keys, dtype="int64")
        lv = self.level(level)
        if lv.format_digits is not None:
            ndig = np.full(len(keys), lv.format_digits, dtype="int64")
        elif self.short_codes:
            ndig = self._n_digits_of(keys, level)
        else:
            ndig = np.full(len(keys), self.width, dtype="int64")
        out = []
        for k, n in zip(keys.tolist(), ndig.tolist()):
            ds = str(k).zfill(self.width)
            chars = list(self.template)
            for p, d in zip(self._digit_pos, ds):
                chars[p] = d
            out.append("".join(chars)[: self._digit_pos[n - 1] + 1])
        return out

    def code_at(self, codes, level: str, *, base_level: str | None = None) -> list[str]:
        """The code of the group at ``level`` for each code (given at ``base_level``)."""
        import numpy as np
        import pandas as pd

        padded = self.parse(codes, base_level)
        uniq, inv = np.unique(padded, return_inverse=True)
        fmt = np.asarray(self.format(self.keys(uniq, level), level), dtype=object)
        return pd.Index(fmt[inv]).tolist()


OCD_2022 = HierarchySpec(
    name="OCD 2022",
    template="D-DD-DD-DD",
    levels=(Level("large", 1), Level("medium", 3), Level("small", 5), Level("fine", 7)),
    short_codes=True,
    default_exclude=("1", "7", "8"),
)
"""China's Occupational Classification Dictionary 2022: 8 large, 79 medium, 449 small categories.
Large categories 1 (leaders), 7 (military) and 8 (not classified) are left out by default, as in
the paper (Section 4.1)."""

_SOC_MINOR = Level("minor", 3, overrides=(("151", 4), ("311", 4), ("515", 4)))

SOC_2018 = HierarchySpec(
    name="SOC 2018",
    template="DD-DDDD",
    levels=(Level("major", 2), _SOC_MINOR, Level("broad", 5), Level("detailed", 6)),
)
"""US Standard Occupational Classification 2018 (also fits SOC 2010 codes): major ``11-0000``,
minor ``11-1000`` (15-1200, 31-1100 and 51-5100 use two digits), broad ``11-1010``, detailed
``11-1011``."""

ONET_SOC = HierarchySpec(
    name="O*NET-SOC",
    template="DD-DDDD.DD",
    levels=(
        Level("major", 2, format_digits=6),
        Level("minor", 3, overrides=_SOC_MINOR.overrides, format_digits=6),
        Level("broad", 5, format_digits=6),
        Level("detailed", 6, format_digits=6),
        Level("onet", 8),
    ),
)
"""O*NET-SOC codes (``11-1011.03``): the SOC levels plus O*NET's own occupations."""

SPECS = {"ocd2022": OCD_2022, "soc2018": SOC_2018, "onet-soc": ONET_SOC}


# ---------------------------------------------------------------------------------------------
def group_weighted_mean(keys: Sequence, values, weights=None):
    """Weighted mean of ``values`` within groups of ``keys`` (vectorised, any hashable keys).

    Returns ``(unique_keys, means, weight_sums, counts)``. Zero-weight groups get NaN.
    """
    import numpy as np
    import pandas as pd

    ids, uniq = pd.factorize(pd.Series(keys, copy=False) if not isinstance(keys, np.ndarray) else keys)
    x = np.asarray(values, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    g = len(uniq)
    wsum = np.bincount(ids, weights=w, minlength=g)
    xsum = np.bincount(ids, weights=w * x, minlength=g)
    cnt = np.bincount(ids, minlength=g)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = xsum / wsum
    mean[wsum == 0] = np.nan
    return uniq, mean, wsum, cnt


@dataclass(frozen=True)
class AggregationConfig:
    """Parameters of :func:`aggregate`, kept with results for provenance."""

    spec: str = OCD_2022.name
    base_level: str = "fine"
    levels: tuple[str, ...] = ()
    method: str = "fine_mean"
    exclude: tuple[str, ...] = ()
    weight_col: str | None = None


def aggregate(
    scores: pd.DataFrame,
    spec: HierarchySpec = OCD_2022,
    *,
    levels: str | Sequence[str] | None = None,
    base_level: str | None = None,
    method: str = "fine_mean",
    exclude: Collection[str] | None = None,
    known_codes: Collection[str] | None = None,
    code_col: str = "code",
    model_col: str = "model",
    score_col: str = "score",
    weight_col: str | None = None,
    table: str = "scores",
) -> pd.DataFrame:
    """Aggregate a tidy score table to one or more levels of ``spec``.

    Rows are first averaged (weighted by ``weight_col`` when given) within each
    (base-level code, model): repeated labels or tasks become one score per occupation. Each
    higher level is then the mean of the base-level occupations it encompasses
    (``method="fine_mean"``) or the mean of its children's means (``"child_mean"``).

    Parameters
    ----------
    levels:
        Target level name(s); default all levels from ``base_level`` up.
    base_level:
        Level of the input codes; default the finest level of ``spec``.
    exclude:
        Top-level codes to drop; ``None`` uses ``spec.default_exclude``, ``()`` keeps everything.
    known_codes:
        If given, every input code must be in it (after normalisation to the spec's format);
        otherwise :class:`UnknownCodeError` is raised.

    Returns
    -------
    DataFrame with columns ``level, code, model, score, n`` where ``n`` counts the base-level
    occupations behind each score, ordered by level (coarse first), code and model.
    """
    import numpy as np
    import pandas as pd

    if method not in METHODS:
        raise InputError(f"{table}: unknown aggregation method {method!r}; use one of {METHODS}")
    cols = [code_col, model_col, score_col] + ([weight_col] if weight_col else [])
    require_columns(scores, cols, table)
    require_numeric(scores, [score_col] + ([weight_col] if weight_col else []), table)
    base = spec.level(base_level).name if base_level else spec.levels[-1].name
    base_idx = spec.level_index(base)
    if levels is None:
        targets = list(spec.level_names[: base_idx + 1])
    else:
        targets = [levels] if isinstance(levels, str) else list(levels)
        for t in targets:
            if spec.level_index(t) > base_idx:
                raise InputError(f"{table}: level {t!r} is finer than the input level {base!r}")
    if weight_col is not None and (scores[weight_col].to_numpy(dtype=float) < 0).any():
        raise InputError(f"{table}: column {weight_col!r} has negative weights")

    padded = spec.parse(scores[code_col], base, table=table)
    if known_codes is not None:
        known = set(spec.parse(pd.Series(list(known_codes), dtype=object), base, table="known codes").tolist())
        unknown = ~pd.Series(padded).isin(known).to_numpy()
        if unknown.any():
            bad = pd.unique(scores[code_col].astype(str).to_numpy()[unknown])
            raise UnknownCodeError(f"{table}: column {code_col!r} has code(s) not in the {spec.name} list: {preview(bad)}")
    excl = spec.default_exclude if exclude is None else tuple(exclude)
    keep = np.ones(len(padded), dtype=bool)
    if excl:
        top = spec.levels[0].name
        ex_keys = spec.parse(pd.Series(list(excl), dtype=object), top, table="exclude")
        keep = ~np.isin(spec.keys(padded, top), ex_keys)

    model_ids, models = pd.factorize(scores[model_col].to_numpy()[keep])
    code_ids, code_keys = pd.factorize(padded[keep])
    x = scores[score_col].to_numpy(dtype=float)[keep]
    w = None if weight_col is None else scores[weight_col].to_numpy(dtype=float)[keep]
    n_models = max(len(models), 1)

    # step 1: one score per (base code, model)
    # (code id, model id) pairs are dense in [0, n_codes * n_models): bincount needs no factorize
    cell = code_ids.astype("int64") * n_models + model_ids
    size = len(code_keys) * n_models
    wsum = np.bincount(cell, weights=w, minlength=size)
    xsum = np.bincount(cell, weights=x if w is None else w * x, minlength=size)
    cells = np.flatnonzero(wsum > 0)
    base_mean = xsum[cells] / wsum[cells]
    cell_code = np.asarray(code_keys, dtype="int64")[cells // n_models]
    cell_model = cells % n_models

    out = []
    results: dict[str, tuple] = {base: (cell_code, cell_model, base_mean, np.ones(len(base_mean), dtype="int64"))}
    order = list(spec.level_names[: base_idx + 1])
    for name in reversed(order[:-1]):
        if method == "child_mean":
            ccode, cmodel, cmean, cn = results[order[order.index(name) + 1]]
            vals, nfine = cmean, cn
        else:
            ccode, cmodel, vals, nfine = results[base]
        parent = spec.keys(ccode, name)
        pair = pd.MultiIndex.from_arrays([parent, cmodel])
        pid, puniq = pd.factorize(pair)
        g = len(puniq)
        sums = np.bincount(pid, weights=vals, minlength=g)
        cnt = np.bincount(pid, minlength=g)
        nsum = np.bincount(pid, weights=nfine, minlength=g).astype("int64")
        pk = np.asarray(puniq.get_level_values(0), dtype="int64")
        pm = np.asarray(puniq.get_level_values(1), dtype="int64")
        results[name] = (pk, pm, sums / cnt, nsum)
    for name in order:
        if name not in targets:
            continue
        k, m, v, n = results[name]
        df = pd.DataFrame(
            {
                "level": name,
                "code": spec.format(k, name),
                "model": np.asarray(models, dtype=object)[m] if len(models) else [],
                "score": v,
                "n": n,
                "_key": k,
            }
        )
        out.append(df.sort_values(["_key", "model"], kind="stable").drop(columns="_key"))
    if not out:
        return pd.DataFrame(columns=["level", "code", "model", "score", "n"])
    return pd.concat(out, ignore_index=True)


def to_wide(long: pd.DataFrame, *, level: str | None = None, models: Sequence[str] | None = None) -> pd.DataFrame:
    """Pivot an :func:`aggregate` result (or any ``code, model, score`` table) to code x model."""
    require_columns(long, ["code", "model", "score"], "long score table")
    df = long if level is None else long[long["level"] == level]
    wide = df.pivot_table(index="code", columns="model", values="score", aggfunc="first", sort=False)
    wide.columns.name = None
    if models is not None:
        missing = [m for m in models if m not in wide.columns]
        if missing:
            raise InputError(f"long score table: model(s) {missing} absent; present: {list(wide.columns)}")
        wide = wide[list(models)]
    return wide


def from_wide(wide: pd.DataFrame, models: Sequence[str], *, code_col: str = "code", table: str = "wide scores") -> pd.DataFrame:
    """A code x model table (models as columns) -> tidy ``code, model, score``."""
    require_columns(wide, [code_col, *models], table)
    require_numeric(wide, list(models), table, allow_nan=True)
    long = wide.melt(id_vars=[code_col], value_vars=list(models), var_name="model", value_name="score")
    long = long.rename(columns={code_col: "code"})
    return long.dropna(subset=["score"]).reset_index(drop=True)
