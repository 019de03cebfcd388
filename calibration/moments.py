"""The moment registry: each moment kind has a model counterpart and a data counterpart.

=========================  =====================================  ==========================================
kind                       model (``calibration.model``)          data
=========================  =====================================  ==========================================
wage_exposure_slope        slope of ln w(i) on e(i), benchmark    ``moments.log_wage.<weighted|unweighted>``
exposed_share              share of employment with e(i) > c      units: weighted share with exposure > c
skill_premium              ln(W_H / W_L), benchmark, eq. (15)     ``value`` and ``se`` in the config
employment_growth_slope    slope of post/pre employment share     ``moments.vacancy_share_growth.<...>``
                           growth on e(i) (post-LLM equilibrium)
custom                     a user function ``f(b: Benchmark)``    ``value`` and ``se`` in the config
=========================  =====================================  ==========================================

Kinds with no model counterpart (named so that a config asking for them gets a clear error):
``vacancy_share_slope`` (the level of an occupation's vacancy share depends on how finely the
classification cuts it; a task of the model has no size) and ``experience_premium_slope`` (the model
has no experience dimension).
"""
from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable

from . import model

#: moment kinds with a reason why the task model has no counterpart
NO_COUNTERPART = {
    "vacancy_share_slope": "an occupation's vacancy share depends on how finely the classification cuts it, "
    "and a task of the model has no size; use employment_growth_slope (a ratio, free of size) instead",
    "experience_premium_slope": "the task model has no experience or tenure dimension",
}
KINDS = ("wage_exposure_slope", "exposed_share", "skill_premium", "employment_growth_slope", "custom")


@dataclasses.dataclass(frozen=True)
class Moment:
    """One moment: a label, its model function ``f(b) -> scalar`` and how to read its data value."""

    label: str
    kind: str
    function: Callable[[model.Benchmark], Any]
    weighted: bool = True
    cutoff: float | None = None
    value: float | None = None
    se: float | None = None
    needs_post_llm: bool = False


def build_moment(kind: str, *, weighted: bool = True, cutoff: float | None = None, function: str | Callable | None = None,
                 value: float | None = None, se: float | None = None, label: str | None = None) -> Moment:
    """Make a :class:`Moment` (raises KeyError/ValueError with a reason; the config loader adds the location)."""
    if kind in NO_COUNTERPART:
        raise ValueError(f"moment '{kind}' has no model counterpart: {NO_COUNTERPART[kind]}")
    if kind not in KINDS:
        raise ValueError(f"unknown moment kind '{kind}'; known kinds: {', '.join(KINDS)}")
    w = "weighted" if weighted else "unweighted"
    if kind == "wage_exposure_slope":
        return Moment(label or f"wage_exposure_slope ({w})", kind, lambda b: model.wage_exposure_slope(b, weighted), weighted)
    if kind == "exposed_share":
        if cutoff is None or not (0.0 <= cutoff < 1.0):
            raise ValueError(f"exposed_share needs a cutoff with 0 <= cutoff < 1, got {cutoff!r}")
        return Moment(label or f"exposed_share > {cutoff:g} ({w})", kind, lambda b: model.exposed_share(b, cutoff, weighted), weighted, cutoff=cutoff)
    if kind == "skill_premium":
        return Moment(label or "skill_premium (log)", kind, model.skill_premium, value=value, se=se)
    if kind == "employment_growth_slope":
        return Moment(label or f"employment_growth_slope ({w})", kind, lambda b: model.employment_growth_slope(b, weighted), weighted,
                      needs_post_llm=True)
    fn = resolve_function(function)
    return Moment(label or f"custom: {getattr(fn, '__name__', 'function')}", kind, fn, value=value, se=se)


def resolve_function(spec: str | Callable | None) -> Callable:
    """A user moment: a callable, or ``"package.module:attribute"``."""
    if callable(spec):
        return spec
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(f"custom moment needs function: 'package.module:name', got {spec!r}")
    mod, _, attr = spec.partition(":")
    try:
        obj = getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"custom moment function {spec!r} cannot be imported: {exc}") from exc
    if not callable(obj):
        raise ValueError(f"custom moment function {spec!r} is not callable")
    return obj
