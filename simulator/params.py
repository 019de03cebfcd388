"""Parameter objects: the economy and its automation technologies.

All objects are frozen dataclasses registered as JAX pytrees.  Numeric fields
are leaves (scalars, or arrays of one common shape for a batch), so a sweep is
``jax.vmap`` over them.  Callables (user profiles) are static metadata.

Every numeric field carries its description in its metadata: the paper's
symbol, long name, unit, one-line doc and admissibility constraint (see
:class:`ParameterInfo`); conditions between fields are :class:`Rule` lists on
the class.  :func:`fields`, :func:`parameter`, :func:`names` and
:func:`all_parameters` read this registry; validation (:func:`check`), the
masks (:func:`admissible`), scenario keys, NetCDF attributes and plot labels
are derived from it.

Validation runs when values are concrete; inside ``jit``/``vmap`` the solvers
report inadmissible points through a status code instead.
"""
from __future__ import annotations

import dataclasses
import functools
import numbers
import operator
from typing import Any, Callable, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from .errors import ParameterError
from .precision import float64

__all__ = [
    "Economy",
    "TraditionalAI",
    "ScalingLLM",
    "ProfileTechnology",
    "Technology",
    "scaling_divergence",
    "Constraint",
    "Rule",
    "ParameterInfo",
    "fields",
    "names",
    "parameter",
    "by_name",
    "rules",
    "joint_rules",
    "all_parameters",
    "check",
    "admissible",
    "joint_admissible",
    "check_arguments",
    "check_admissible",
]


# ----------------------------------------------------------------------------- the registry's vocabulary
_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _number(x: float) -> str:
    return f"{x:g}"


@dataclasses.dataclass(frozen=True)
class Constraint:
    """The interval a parameter must lie in: each bound None (unbounded), open or closed.

    ``note`` glosses the condition in error messages: ``L > 0 (labour supply)``.
    """

    lower: float | None = None
    upper: float | None = None
    lower_closed: bool = False
    upper_closed: bool = False
    note: str = ""

    def text(self, name: str) -> str:
        """The condition on ``name``: ``eta > 0``, ``C >= 0``, ``I_hi <= 1``, ``0 < x < 1``, with the note."""
        if self.lower is not None and self.upper is not None:
            low, high = ("<=" if self.lower_closed else "<"), ("<=" if self.upper_closed else "<")
            core = f"{_number(self.lower)} {low} {name} {high} {_number(self.upper)}"
        elif self.lower is None and self.upper is None:
            core = f"{name} is any real number"
        else:
            core = f"{name} {self.bound()}"
        return core + (f" ({self.note})" if self.note else "")

    def bound(self) -> str:
        """The condition without the name, for "must be ...": ``> 0``, ``<= 1``, ``in (0, 1)``."""
        if self.lower is not None and self.upper is not None:
            return f"in {self.interval}"
        if self.lower is not None:
            return f"{'>=' if self.lower_closed else '>'} {_number(self.lower)}"
        if self.upper is not None:
            return f"{'<=' if self.upper_closed else '<'} {_number(self.upper)}"
        return "any real number"

    @property
    def interval(self) -> str:
        """The admissible set in interval notation: ``(0, inf)``, ``[0, inf)``, ``(-inf, 1]``."""
        low = "(-inf" if self.lower is None else ("[" if self.lower_closed else "(") + _number(self.lower)
        high = "inf)" if self.upper is None else _number(self.upper) + ("]" if self.upper_closed else ")")
        return f"{low}, {high}"

    def holds(self, value):
        """Elementwise: whether ``value`` (a number, NumPy array or JAX array/tracer) satisfies the constraint."""
        ok = True
        if self.lower is not None:
            ok = value >= self.lower if self.lower_closed else value > self.lower
        if self.upper is not None:
            above = value <= self.upper if self.upper_closed else value < self.upper
            ok = above if self.lower is None else ok & above
        return ok


def positive(note: str = "") -> Constraint:
    return Constraint(lower=0.0, note=note)


def nonnegative(note: str = "") -> Constraint:
    return Constraint(lower=0.0, lower_closed=True, note=note)


def at_most(upper: float, note: str = "") -> Constraint:
    return Constraint(upper=upper, upper_closed=True, note=note)


@dataclasses.dataclass(frozen=True)
class Rule:
    """A condition between two fields, ``left op right``, reported on ``left``.

    ``of`` is None for two fields of one object, or the class that holds
    ``right`` (``TraditionalAI.mu > Economy.eta``).
    """

    left: str
    op: str
    right: str
    of: type | None = None
    note: str = ""

    @property
    def text(self) -> str:
        return f"{self.left} {self.op} {self.right}"

    def holds(self, left, right):
        return _OPS[self.op](left, right)


@dataclasses.dataclass(frozen=True)
class ParameterInfo:
    """What the registry knows of one parameter field.

    ``owner``: the class name; ``symbol``: the paper's symbol; ``unit``: the
    CF unit ("1" dimensionless); ``optional``: a scenario file may leave it
    out (``default`` applies).
    """

    owner: str
    name: str
    symbol: str
    long_name: str
    unit: str
    doc: str
    constraint: Constraint
    default: float
    optional: bool = False

    @property
    def qualname(self) -> str:
        return f"{self.owner}.{self.name}"

    @property
    def condition(self) -> str:
        return self.constraint.text(self.name)


#: metadata keys every parameter field carries
METADATA = ("symbol", "long_name", "unit", "doc", "constraint", "optional")


def _parameter(default: float, symbol: str, long_name: str, doc: str, constraint: Constraint, *,
               unit: str = "1", optional: bool = False):
    """A numeric field of a parameter class, with its registry metadata."""
    return dataclasses.field(default=default, metadata={
        "symbol": symbol, "long_name": long_name, "unit": unit, "doc": doc, "constraint": constraint,
        "optional": optional})


def _class(cls_or_obj) -> type:
    return cls_or_obj if isinstance(cls_or_obj, type) else type(cls_or_obj)


@functools.cache
def _fields(cls: type) -> tuple[ParameterInfo, ...]:
    return tuple(
        ParameterInfo(owner=cls.__name__, name=f.name, default=f.default, **{k: f.metadata[k] for k in METADATA})
        for f in dataclasses.fields(cls) if not f.metadata.get("static", False)
    )


def fields(cls) -> tuple[ParameterInfo, ...]:
    """The parameters of a class (or of an object's class), in field order."""
    return _fields(_class(cls))


def names(*classes) -> tuple[str, ...]:
    """Parameter names of one or more classes, in order, each once: ``names(Economy, ScalingLLM)``."""
    out: dict[str, None] = {}
    for cls in classes:
        out.update(dict.fromkeys(p.name for p in fields(cls)))
    return tuple(out)


def parameter(cls, name: str) -> ParameterInfo:
    """The :class:`ParameterInfo` of ``cls.name``; a :class:`ParameterError` naming the known ones otherwise."""
    cls = _class(cls)
    for p in fields(cls):
        if p.name == name:
            return p
    raise ParameterError(f"{cls.__name__}.{name}: no such parameter; {cls.__name__} takes {', '.join(names(cls))}")


def rules(cls) -> tuple[Rule, ...]:
    """Conditions between two fields of one object of ``cls`` (e.g. ``I_lo < I_hi``)."""
    return _class(cls)._rules


def joint_rules(cls) -> tuple[Rule, ...]:
    """Conditions between a technology of ``cls`` and the economy (e.g. ``mu > eta``)."""
    return _class(cls)._joint


def _conditions(cls: type):
    """(reported field, condition text, holds, argument fields) of every condition of ``cls``, in checking order."""
    out = [(p.name, p.condition, p.constraint.holds, (p.name,)) for p in fields(cls)]
    out += [(r.left, r.text, r.holds, (r.left, r.right)) for r in rules(cls)]
    return out


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


def _concrete_arrays(owner: str, values: dict) -> dict[str, np.ndarray]:
    """Concrete values as float64 arrays (tracers left out); wrong types and non-finite values are errors."""
    arrays = {}
    for name, v in values.items():
        if not _is_concrete(v):
            continue
        arr = as_real_array(f"{owner}.{name}", v)
        if not np.all(np.isfinite(arr)):
            raise ParameterError(f"{owner}.{name}: must be finite, got {np.ravel(arr)[:5].tolist()}")
        arrays[name] = arr
    return arrays


def _check_conditions(cls: type, arrays: dict[str, np.ndarray]) -> None:
    """Shapes broadcast, then every condition whose fields are all in ``arrays``, in registry order."""
    owner = cls.__name__
    broadcast_shape(f"{owner}.", {n: a.shape for n, a in arrays.items()})
    for name, condition, holds, args in _conditions(cls):
        if not all(a in arrays for a in args):
            continue
        ok = np.asarray(holds(*(arrays[a] for a in args)))
        if not np.all(ok):
            bad = arrays[name][~ok] if arrays[name].shape == ok.shape else arrays[name]
            raise ParameterError(f"{owner}.{name}: violates {condition} (got {np.ravel(bad)[:5].tolist()})")


def check(cls, **values) -> None:
    """Validate some parameters of ``cls`` against the registry, without building an object.

    Each value is a number or an array of them (a batch).  Checks, in order:
    the names, real-number types, finiteness, that the arrays broadcast, each
    field's :class:`Constraint`, and each :class:`Rule` whose two fields are
    both given.  A failure is a :class:`ParameterError` naming the parameter
    and the condition, e.g. ``Economy.eta: violates eta > 0 (got [-1.0])``.
    """
    cls = _class(cls)
    for name in values:
        parameter(cls, name)
    arrays = _concrete_arrays(cls.__name__, values)
    _check_conditions(cls, arrays)


def admissible(obj, only: tuple[str, ...] | None = None):
    """Elementwise mask: ``obj``'s values satisfy its constraints and rules (NumPy, JAX arrays and tracers).

    ``only`` restricts it to the constraints of those fields and the rules among them.
    """
    ok = True
    for _, _, holds, args in _conditions(type(obj)):
        if only is not None and not all(a in only for a in args):
            continue
        cond = holds(*(getattr(obj, a) for a in args))
        ok = cond if ok is True else ok & cond
    return ok


def joint_admissible(economy, tech):
    """Elementwise mask: the technology's joint rules with the economy hold (True when it has none)."""
    ok = True
    for rule in joint_rules(tech):
        cond = rule.holds(getattr(tech, rule.left), getattr(economy, rule.right))
        ok = cond if ok is True else ok & cond
    return ok


class _Validated:
    """Mixin: check concrete values against the registry after construction."""

    _leaf_names: ClassVar[tuple[str, ...]]
    #: conditions between two fields of one object
    _rules: ClassVar[tuple[Rule, ...]] = ()
    #: conditions between a technology and the economy
    _joint: ClassVar[tuple[Rule, ...]] = ()

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
        values = {n: getattr(self, n) for n in self._leaf_names}
        arrays = _concrete_arrays(type(self).__name__, values)
        for name, v in values.items():
            if isinstance(v, (list, tuple)):  # one leaf, not a pytree of numbers
                object.__setattr__(self, name, arrays[name])
        if len(arrays) == len(values):  # a tracer inside jit/vmap: the solvers report bad points by status
            _check_conditions(type(self), arrays)

    def replace(self, **changes):
        """Return a copy with some fields changed (validated again)."""
        type(self)._check_names((), changes)
        return dataclasses.replace(self, **changes)


@_pytree
@dataclasses.dataclass(frozen=True)
class Economy(_Validated):
    """The benchmark economy (section 5.1): skill profiles, productivities and supplies."""

    eta: Any = _parameter(1.0, "η", "skill-profile curvature η",
                          "curvature of the skill profiles α_L = (1-i)^η, α_H = i^η", positive())
    A_L: Any = _parameter(1.0, "A_L", "productivity of low-skill labour A_L",
                          "factor-augmenting productivity of low-skill labour", positive())
    A_H: Any = _parameter(1.0, "A_H", "productivity of high-skill labour A_H",
                          "factor-augmenting productivity of high-skill labour", positive())
    L: Any = _parameter(1.0, "L", "supply of low-skill labour L", "supply of low-skill labour",
                        positive("labour supply"))
    H: Any = _parameter(1.0, "H", "supply of high-skill labour H", "supply of high-skill labour",
                        positive("labour supply"))


def _A_bar():
    return _parameter(1.0, "Ā", "model productivity Ā", "productivity upper bound of a model", positive())


def _F():
    return _parameter(1.0, "F", "rental price F of a model unit", "rental price of one unit of model, in final good",
                      positive("rental price"))


@_pytree
@dataclasses.dataclass(frozen=True)
class TraditionalAI(_Validated):
    """Rule-based AI (section 5.2.1): α_M(i) = (1-i)^μ, A_M = Ā, rental price F."""

    A_bar: Any = _A_bar()
    mu: Any = _parameter(2.0, "μ", "task-profile exponent μ of traditional AI",
                         "curvature of traditional AI's profile α_M = (1-i)^μ", positive())
    F: Any = _F()
    name: str = _static("traditional")

    _joint = (Rule("mu", ">", "eta", of=Economy, note="the model's comparative advantage must be in low tasks"),)

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


@float64
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

    A_bar: Any = _A_bar()
    F: Any = _F()
    C: Any = _parameter(0.0, "C", "irreducible loss C of the scaling law", "irreducible loss of the scaling law (eq. 17)",
                        nonnegative(), optional=True)
    a: Any = _parameter(0.0, "a", "data coefficient a of the scaling law", "coefficient of the data term a/N^α",
                        nonnegative())
    alpha: Any = _parameter(0.3, "α", "data exponent α of the scaling law", "exponent of the data term a/N^α",
                            positive())
    b: Any = _parameter(0.0, "b", "parameter coefficient b of the scaling law",
                        "coefficient of the parameter term b/G^β", nonnegative())
    beta: Any = _parameter(0.3, "β", "parameter exponent β of the scaling law", "exponent of the parameter term b/G^β",
                           positive())
    G: Any = _parameter(1.0, "G", "parameter count G", "parameter count of the model",
                        positive("parameter count"), unit="parameters")
    N_bar: Any = _parameter(1.0, "N̄", "training tokens N̄", "training data N on the window [I_lo, I_hi] (zero elsewhere)",
                            positive("data on the window"), unit="tokens")
    I_lo: Any = _parameter(0.0, "I_lo", "start I_lo of the LLM's data window (task)", "first task of the data window",
                           Constraint(lower=0.0, lower_closed=True))
    I_hi: Any = _parameter(1.0, "I_hi", "end I_hi of the LLM's data window (task)", "last task of the data window",
                           at_most(1.0))
    data: Any = _static(None)
    name: str = _static("llm")

    _rules = (Rule("I_lo", "<", "I_hi"),)

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

    A: Any = _parameter(1.0, "A", "productivity A of a profile technology", "productivity level multiplying α(i)",
                        positive())
    F: Any = _F()
    profile: Callable[[Any], Any] = _static(None)
    breakpoints_: tuple = _static(())
    name: str = _static("profile")

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
                             f"({', '.join(c.__name__ for c in _TECHNOLOGIES)}), got {_describe(technologies)}{hint}")
    techs = tuple(technologies)
    for k, tech in enumerate(techs):
        if not isinstance(tech, _TECHNOLOGIES):
            kinds = [c.__name__ for c in _TECHNOLOGIES]
            raise ParameterError(f"{caller}: technologies[{k}]: expected a {', '.join(kinds[:-1])} or {kinds[-1]}, "
                                 f"got {_describe(tech)}")
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
    """Joint conditions that involve more than one object (concrete values only): each technology's
    :func:`joint_rules` against the economy."""
    for tech in technologies:
        for rule in joint_rules(tech):
            left, right = getattr(tech, rule.left), getattr(economy, rule.right)
            if not (_is_concrete(left) and _is_concrete(right)):
                continue
            owner, other = type(tech).__name__, rule.of.__name__
            try:
                ok = rule.holds(np.asarray(left), np.asarray(right))
            except ValueError:
                raise ParameterError(f"{owner}.{rule.left}: shape {np.shape(left)} does not broadcast with the shape "
                                     f"{np.shape(right)} of {other}.{rule.right}") from None
            if not np.all(ok):
                raise ParameterError(
                    f"{owner}.{rule.left}: violates {rule.text} ({rule.left}={np.ravel(left)[:5].tolist()}, "
                    f"{rule.right}={np.ravel(right)[:5].tolist()})" + (f"; {rule.note}" if rule.note else "")
                )


#: every parameter class, in the order of :func:`all_parameters`
CLASSES = (Economy,) + _TECHNOLOGIES


def all_parameters() -> tuple[ParameterInfo, ...]:
    """Every parameter of every class (a name shared by several classes appears once per class)."""
    return tuple(p for cls in CLASSES for p in fields(cls))


def by_name(name: str) -> ParameterInfo | None:
    """The first parameter called ``name`` in :data:`CLASSES` order, or None.

    A name shared by several classes (``A_bar``, ``F``) has one symbol, long name and unit in all of them.
    """
    return next((p for p in all_parameters() if p.name == name), None)
