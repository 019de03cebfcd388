"""Parameter objects: the economy and its automation technologies.

All objects are frozen dataclasses registered as JAX pytrees.  Numeric fields
are leaves (scalars, or arrays of one common shape for a batch), so a sweep is
``jax.vmap`` over them.  Callables (user profiles) are static metadata.

Symbols (paper, section 5):

========  ==========  ==========================================================
field     paper       meaning
========  ==========  ==========================================================
eta       η           curvature of the skill profiles α_L=(1-i)^η, α_H=i^η
A_L, A_H  A_L, A_H    factor-augmenting productivities of low/high skill labour
L, H      L, H        supplies of low/high skill labour
A_bar     Ā           productivity upper bound of a model
mu        μ           curvature of traditional AI's profile α_M=(1-i)^μ
F         F           rental price of one unit of model, in final good
C         C           irreducible loss of the scaling law (eq. 17)
a, alpha  a, α        data term a/N^α of the scaling law
b, beta   b, β        parameter term b/G^β of the scaling law
G         G           parameter count
N_bar     N̄           data on the window [I_lo, I_hi] (zero elsewhere)
========  ==========  ==========================================================

Validation runs when values are concrete; inside ``jit``/``vmap`` the solvers
report inadmissible points through a status code instead.
"""
from __future__ import annotations

import dataclasses
import functools
import numbers
from typing import Any, Callable, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from .errors import ParameterError

__all__ = [
    "Economy",
    "TraditionalAI",
    "ScalingLLM",
    "ProfileTechnology",
    "Technology",
    "scaling_divergence",
]


def _is_concrete(value: Any) -> bool:
    return not isinstance(value, jax.core.Tracer)


def _describe(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return f"a boolean ({value!r})"
    if isinstance(value, (str, bytes)):
        return f"the string {value!r}"
    if isinstance(value, np.ndarray) and value.dtype.kind == "b":
        return f"a boolean array of shape {value.shape}"
    if isinstance(value, np.ndarray) and value.dtype.kind in "USO":
        return f"an array of {value.dtype} of shape {value.shape}"
    if value is None:
        return "None"
    if isinstance(value, _Validated):
        return f"a {type(value).__name__}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _non_number(value: Any) -> Any:
    """The first element of ``value`` (a list/tuple, possibly nested) that is not a real number, or None."""
    if isinstance(value, (list, tuple)):
        for item in value:
            bad = _non_number(item)
            if bad is not None:
                return bad
        return None
    if isinstance(value, (bool, np.bool_, str, bytes)):
        return value
    if isinstance(value, (numbers.Real, np.generic)) or hasattr(value, "__array__"):
        return None  # numpy and jax arrays: their dtype is checked by the caller
    return value


def as_real_array(qualname: str, value: Any) -> np.ndarray:
    """``value`` (a concrete number, or an array or nested list of them) as a float64 array.

    Strings, booleans (Python, numpy scalars and bool arrays), complex numbers, None and other
    objects are a :class:`ParameterError` whose message starts with ``qualname``.
    """
    bad = _non_number(value)
    if bad is not None:
        where = "" if bad is value else f" (an element is {_describe(bad)})"
        raise ParameterError(f"{qualname}: expected a real number or an array of them, got {_describe(value)}{where}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged lists, objects numpy cannot read
        raise ParameterError(f"{qualname}: expected a real number or an array of them, got {_describe(value)}") from exc
    kind = arr.dtype.kind
    if kind == "O" and all(isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_)) for x in arr.flat):
        kind = "f"
    if kind not in "iuf":
        what = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes"}.get(kind)
        got = f"an array of {what} of shape {arr.shape}" if what and arr.ndim else _describe(value)
        raise ParameterError(f"{qualname}: expected a real number or an array of them, got {got}")
    return np.asarray(arr, dtype=np.float64)  # no copy for float64 arrays


def broadcast_shape(caller: str, shapes: dict[str, tuple]) -> tuple:
    """The common shape of named arrays; a :class:`ParameterError` naming the first that does not fit."""
    shape, owner = (), None
    for name, s in shapes.items():
        try:
            common = np.broadcast_shapes(shape, tuple(s))
        except ValueError:
            raise ParameterError(
                f"{caller}{name}: shape {tuple(s)} does not broadcast with shape {shape} (from {owner}); "
                "a batch's arrays must all broadcast to one shape"
            ) from None
        if common != shape:
            shape, owner = common, name
    return shape


def _pytree(cls):
    """Register a frozen dataclass as a pytree; fields with metadata static=True are aux data."""
    fields = dataclasses.fields(cls)
    leaves = [f.name for f in fields if not f.metadata.get("static", False)]
    static = [f.name for f in fields if f.metadata.get("static", False)]

    def flatten(obj):
        return [getattr(obj, n) for n in leaves], tuple(getattr(obj, n) for n in static)

    def unflatten(aux, children):
        obj = object.__new__(cls)
        for n, v in zip(leaves, children):
            object.__setattr__(obj, n, v)
        for n, v in zip(static, aux):
            object.__setattr__(obj, n, v)
        return obj

    jax.tree_util.register_pytree_node(cls, flatten, unflatten)
    cls._leaf_names = tuple(leaves)
    if hasattr(cls, "_wrap_init"):
        cls._wrap_init()
    return cls


def _static(default=None):
    return dataclasses.field(default=default, metadata={"static": True})


class _Validated:
    """Mixin: run ``_checks`` on concrete values after construction."""

    _leaf_names: ClassVar[tuple[str, ...]]
    _checks: ClassVar[tuple[tuple[str, str, Callable[..., Any]], ...]] = ()

    @classmethod
    def _wrap_init(cls):
        """Make unknown or extra arguments a :class:`ParameterError` naming them (called by :func:`_pytree`)."""
        init = cls.__init__
        if getattr(init, "_checks_arguments", False):
            return

        @functools.wraps(init)
        def __init__(self, *args, **kwargs):
            cls._check_names(args, kwargs)
            init(self, *args, **kwargs)

        __init__._checks_arguments = True
        cls.__init__ = __init__

    @classmethod
    def _check_names(cls, args=(), kwargs=None):
        names = [f.name for f in dataclasses.fields(cls) if f.init]
        for key in kwargs or {}:
            if key not in names:
                raise ParameterError(f"{cls.__name__}.{key}: no such parameter; {cls.__name__} takes {', '.join(names)}")
        if len(args) > len(names):
            raise ParameterError(f"{cls.__name__}: takes at most {len(names)} positional values ({', '.join(names)}), "
                                 f"got {len(args)}")
        for name in names[: len(args)]:
            if name in (kwargs or {}):
                raise ParameterError(f"{cls.__name__}.{name}: given twice (by position and by name)")

    def __post_init__(self):
        cls = type(self).__name__
        values = {n: getattr(self, n) for n in self._leaf_names}
        arrays = {}
        for name, v in values.items():
            if not _is_concrete(v):  # a tracer inside jit/vmap: the solvers report bad points by status
                continue
            arr = as_real_array(f"{cls}.{name}", v)
            if not np.all(np.isfinite(arr)):
                raise ParameterError(f"{cls}.{name}: must be finite, got {np.ravel(arr)[:5].tolist()}")
            if isinstance(v, (list, tuple)):  # one leaf, not a pytree of numbers
                object.__setattr__(self, name, arr)
            arrays[name] = arr
        if len(arrays) < len(values):
            return
        broadcast_shape(f"{cls}.", {n: a.shape for n, a in arrays.items()})
        for name, condition, check in self._checks:
            ok = np.asarray(check(**{k: arrays[k] for k in check.__code__.co_varnames[: check.__code__.co_argcount]}))
            if not np.all(ok):
                bad = arrays[name][~ok] if arrays[name].shape == ok.shape else arrays[name]
                raise ParameterError(
                    f"{cls}.{name}: violates {condition} (got {np.ravel(bad)[:5].tolist()})"
                )

    def replace(self, **changes):
        """Return a copy with some fields changed (validated again)."""
        type(self)._check_names((), changes)
        return dataclasses.replace(self, **changes)


@_pytree
@dataclasses.dataclass(frozen=True)
class Economy(_Validated):
    """The benchmark economy (section 5.1): skill profiles, productivities and supplies."""

    eta: Any = 1.0
    A_L: Any = 1.0
    A_H: Any = 1.0
    L: Any = 1.0
    H: Any = 1.0

    _checks = (
        ("eta", "eta > 0", lambda eta: eta > 0),
        ("A_L", "A_L > 0", lambda A_L: A_L > 0),
        ("A_H", "A_H > 0", lambda A_H: A_H > 0),
        ("L", "L > 0 (labour supply)", lambda L: L > 0),
        ("H", "H > 0 (labour supply)", lambda H: H > 0),
    )


@_pytree
@dataclasses.dataclass(frozen=True)
class TraditionalAI(_Validated):
    """Rule-based AI (section 5.2.1): α_M(i) = (1-i)^μ, A_M = Ā, rental price F."""

    A_bar: Any = 1.0
    mu: Any = 2.0
    F: Any = 1.0
    name: str = _static("traditional")

    _checks = (
        ("A_bar", "A_bar > 0", lambda A_bar: A_bar > 0),
        ("mu", "mu > 0", lambda mu: mu > 0),
        ("F", "F > 0 (rental price)", lambda F: F > 0),
    )

    def __post_init__(self):
        super().__post_init__()
        _check_name(self)

    def log_productivity(self, i, eta):
        """ln(Ā α_M(i)), shape of ``i``; -inf at i = 1."""
        return jnp.log(self.A_bar) + self.mu * jnp.log1p(-i)

    def breakpoints(self):
        return ()


def _check_name(tech) -> None:
    if not isinstance(tech.name, str) or not tech.name:
        raise ParameterError(f"{type(tech).__name__}.name: expected a non-empty string, got {_describe(tech.name)}")


def scaling_divergence(C, a, alpha, b, beta, G, N):
    """KL divergence of the scaling law, eq. (17): D = C + a/N^α + b/G^β (inf where N = 0)."""
    N = jnp.asarray(N, dtype=jnp.float64)
    safe_N = jnp.where(N > 0, N, 1.0)
    data_term = jnp.where(N > 0, a * safe_N ** (-alpha), jnp.inf)
    return C + data_term + b * G ** (-beta)


@_pytree
@dataclasses.dataclass(frozen=True)
class ScalingLLM(_Validated):
    """Scaling-law LLM (section 5.2.2): α_M(i) = (1 - D(i))^η with D from eq. (17).

    The data profile is the paper's window by default: N(i) = N_bar on
    [I_lo, I_hi] and 0 elsewhere.  ``data`` may instead be a callable
    ``N(i)`` (static) or a 1-d array of N on ``len(data)`` equal cells of
    [0, 1]; the semi-analytic solver needs the window, the discretised solver
    takes any.  Productivity is zero where N(i) = 0 or D(i) >= 1.
    """

    A_bar: Any = 1.0
    F: Any = 1.0
    C: Any = 0.0
    a: Any = 0.0
    alpha: Any = 0.3
    b: Any = 0.0
    beta: Any = 0.3
    G: Any = 1.0
    N_bar: Any = 1.0
    I_lo: Any = 0.0
    I_hi: Any = 1.0
    data: Any = _static(None)
    name: str = _static("llm")

    _checks = (
        ("A_bar", "A_bar > 0", lambda A_bar: A_bar > 0),
        ("F", "F > 0 (rental price)", lambda F: F > 0),
        ("C", "C >= 0", lambda C: C >= 0),
        ("a", "a >= 0", lambda a: a >= 0),
        ("alpha", "alpha > 0", lambda alpha: alpha > 0),
        ("b", "b >= 0", lambda b: b >= 0),
        ("beta", "beta > 0", lambda beta: beta > 0),
        ("G", "G > 0 (parameter count)", lambda G: G > 0),
        ("N_bar", "N_bar > 0 (data on the window)", lambda N_bar: N_bar > 0),
        ("I_lo", "0 <= I_lo", lambda I_lo: I_lo >= 0),
        ("I_hi", "I_hi <= 1", lambda I_hi: I_hi <= 1),
        ("I_lo", "I_lo < I_hi", lambda I_lo, I_hi: I_lo < I_hi),
    )

    def __post_init__(self):
        super().__post_init__()
        _check_name(self)
        if self.data is not None and not callable(self.data):
            arr = as_real_array("ScalingLLM.data", self.data)
            if arr.ndim != 1 or arr.size < 1 or np.any(arr < 0) or not np.all(np.isfinite(arr)):
                raise ParameterError("ScalingLLM.data: must be a callable N(i) or a 1-d array of finite N >= 0")
            object.__setattr__(self, "data", tuple(arr.tolist()))

    @property
    def uses_window(self) -> bool:
        return self.data is None

    @property
    def divergence_on_window(self):
        """D on the data window (scalar or batch)."""
        return scaling_divergence(self.C, self.a, self.alpha, self.b, self.beta, self.G, self.N_bar)

    def data_profile(self, i):
        """N(i) at task points ``i``."""
        i = jnp.asarray(i, dtype=jnp.float64)
        if self.data is None:
            return jnp.where((i >= self.I_lo) & (i <= self.I_hi), self.N_bar, 0.0)
        if callable(self.data):
            return jnp.asarray(self.data(i), dtype=jnp.float64) * jnp.ones_like(i)
        values = jnp.asarray(self.data)
        cell = jnp.clip(jnp.floor(i * values.size).astype(jnp.int32), 0, values.size - 1)
        return values[cell]

    def log_productivity(self, i, eta):
        """ln(Ā α_M(i)) = ln Ā + η ln(1 - D(i)); -inf where N(i) = 0 or D(i) >= 1."""
        if self.data is None:  # constant on the window: one divergence, not one per task
            i = jnp.asarray(i, dtype=jnp.float64)
            D = self.divergence_on_window
            level = jnp.where(D < 1, jnp.log(self.A_bar) + eta * jnp.log1p(-jnp.where(D < 1, D, 0.0)), -jnp.inf)
            return jnp.where((i >= self.I_lo) & (i <= self.I_hi), level, -jnp.inf)
        D = scaling_divergence(self.C, self.a, self.alpha, self.b, self.beta, self.G, self.data_profile(i))
        usable = D < 1
        return jnp.where(usable, jnp.log(self.A_bar) + eta * jnp.log1p(-jnp.where(usable, D, 0.0)), -jnp.inf)

    def breakpoints(self):
        if self.data is None:
            return (self.I_lo, self.I_hi)
        if callable(self.data):
            return ()
        n = len(self.data)
        return tuple(k / n for k in range(1, n))


@_pytree
@dataclasses.dataclass(frozen=True)
class ProfileTechnology(_Validated):
    """A technology with any user-given productivity profile α(i) >= 0 and price F.

    ``profile`` maps an array of tasks to α(i) (jnp-traceable); ``breakpoints``
    lists the tasks where it jumps, so the discretised solver can put a node there.
    """

    A: Any = 1.0
    F: Any = 1.0
    profile: Callable[[Any], Any] = _static(None)
    breakpoints_: tuple = _static(())
    name: str = _static("profile")

    _checks = (
        ("A", "A > 0", lambda A: A > 0),
        ("F", "F > 0 (rental price)", lambda F: F > 0),
    )

    def __post_init__(self):
        super().__post_init__()
        _check_name(self)
        if not callable(self.profile):
            raise ParameterError(f"ProfileTechnology.profile: must be a callable alpha(i), got {_describe(self.profile)}")
        try:
            points = tuple(self.breakpoints_)
        except TypeError:
            raise ParameterError(f"ProfileTechnology.breakpoints_: expected a tuple of tasks in [0, 1], "
                                 f"got {_describe(self.breakpoints_)}") from None
        arr = as_real_array("ProfileTechnology.breakpoints_", points)
        if arr.ndim != 1 or np.any(~(arr >= 0) | ~(arr <= 1)):
            raise ParameterError(f"ProfileTechnology.breakpoints_: expected a tuple of tasks in [0, 1], got {points!r}")

    def log_productivity(self, i, eta):
        alpha = jnp.asarray(self.profile(i), dtype=jnp.float64) * jnp.ones_like(i)
        return jnp.where(alpha > 0, jnp.log(self.A) + jnp.log(jnp.where(alpha > 0, alpha, 1.0)), -jnp.inf)

    def breakpoints(self):
        return tuple(self.breakpoints_)


Technology = TraditionalAI | ScalingLLM | ProfileTechnology


_TECHNOLOGIES = (TraditionalAI, ScalingLLM, ProfileTechnology)


def check_arguments(caller: str, economy, technologies, *, batch: bool) -> tuple:
    """Check the arguments of ``solve`` (``batch=False``: every parameter a scalar) or ``solve_batch``
    (all parameters broadcast to one shape); return ``technologies`` as a tuple.

    Errors are :class:`ParameterError` whose message starts with the caller and the argument,
    e.g. ``solve: technologies[0]: ...`` or ``solve_batch: technologies[0].G: ...``.
    """
    if not isinstance(economy, Economy):
        raise ParameterError(f"{caller}: economy: expected an Economy, got {_describe(economy)}")
    if isinstance(technologies, (str, bytes, dict) + _TECHNOLOGIES) or not hasattr(technologies, "__iter__"):
        hint = "; wrap a single technology in a list: [technology]" if isinstance(technologies, _TECHNOLOGIES) else ""
        raise ParameterError(f"{caller}: technologies: expected a sequence of technologies "
                             f"(TraditionalAI, ScalingLLM, ProfileTechnology), got {_describe(technologies)}{hint}")
    techs = tuple(technologies)
    for k, tech in enumerate(techs):
        if not isinstance(tech, _TECHNOLOGIES):
            raise ParameterError(f"{caller}: technologies[{k}]: expected a TraditionalAI, ScalingLLM or "
                                 f"ProfileTechnology, got {_describe(tech)}")
    leaves = {f"economy.{n}": getattr(economy, n) for n in Economy._leaf_names}
    for k, tech in enumerate(techs):
        leaves.update({f"technologies[{k}].{n}": getattr(tech, n) for n in type(tech)._leaf_names})
    shapes = {}
    for name, value in leaves.items():
        # objects rebuilt from leaves (tree_map, tree_unflatten) skip construction's checks: type-check again
        shapes[name] = np.shape(as_real_array(f"{caller}: {name}", value) if _is_concrete(value) else value)
    if batch:
        broadcast_shape(f"{caller}: ", shapes)
        return techs
    for name, shape in shapes.items():
        if shape != ():
            raise ParameterError(f"{caller}: {name}: takes one point, so a scalar, but got an array of shape {shape}; "
                                 f"use solve_batch for a batch")
    return techs


def check_admissible(economy: Economy, technologies: tuple = ()) -> None:
    """Joint conditions that involve more than one object (concrete values only)."""
    for tech in technologies:
        if isinstance(tech, TraditionalAI) and _is_concrete(tech.mu) and _is_concrete(economy.eta):
            try:
                ok = np.asarray(tech.mu) > np.asarray(economy.eta)
            except ValueError:
                raise ParameterError(f"TraditionalAI.mu: shape {np.shape(tech.mu)} does not broadcast with the shape "
                                     f"{np.shape(economy.eta)} of Economy.eta") from None
            if not np.all(ok):
                raise ParameterError(
                    f"TraditionalAI.mu: violates mu > eta (mu={np.ravel(tech.mu)[:5].tolist()}, "
                    f"eta={np.ravel(economy.eta)[:5].tolist()}); the model's comparative advantage must be in low tasks"
                )
