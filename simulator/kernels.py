"""Named CPU kernels of the engine, each with a plain reference implementation beside it.

The model modules (:mod:`simulator.discretized`, :mod:`simulator.rootfind`,
:mod:`simulator.equilibrium`) call these kernels; the tricks that make them
fast on XLA's CPU backend live here, and ``tests/engine/test_kernels.py``
checks every kernel against its reference (values, and derivatives where a
kernel has its own derivative rule).

==========================  ==========================================  =================================
kernel                      computes                                    reference
==========================  ==========================================  =================================
:func:`sums_before`         Σ_{c < index} column[c] (blocked sums)      :func:`sums_before_reference`
:func:`paired_sums_before`  the same for pairs of columns, packed as    :func:`paired_sums_before_reference`
                            the two parts of one complex column
:func:`sums`                several sums over the last axis as one      :func:`sums_reference`
                            reduction (custom jvp: the sum is linear)
:func:`divided_pair`        (p/d, q/d) as one complex quotient          :func:`divided_pair_reference`
:func:`argmin`              elementwise index of the smallest of K      :func:`argmin_reference`
                            arrays (first on ties)
:func:`pick`                ``columns[f]`` elementwise                  :func:`pick_reference`
:func:`merged_nodes`        uniform nodes and breakpoints merged by     :func:`merged_nodes_reference`
                            counting, profiles from shifted tables
:func:`cell_of`             a point's cell by counting nodes            :func:`cell_of_reference`
==========================  ==========================================  =================================

Module constants are Python numbers (no ``jnp`` arrays are built at import).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

#: Cells per block in :func:`sums_before`.
BLOCK = 32
#: Up to this many breakpoints are merged into the uniform nodes by counting; more are sorted.
MERGE_BY_COUNTING = 32
#: Up to this many breakpoints, profiles at the nodes come from tables at the uniform nodes.
SHIFTED_TABLES = 4


# --------------------------------------------------------------------------- sums before an index
def sums_before(index, *columns):
    """Σ_{c < index} column[c] for each column (C,) and each entry of ``index`` (P,): a list of one array (P,) per column.

    In blocks of :data:`BLOCK` cells: the sums of the whole blocks before each index, then the
    cells of its own block.  A full running sum over the cells (an associative scan) costs far
    more on XLA's CPU backend, which computes the columns again at each of its log2(C) levels.
    """
    C = columns[0].shape[0]
    if C == 0:
        return [jnp.zeros(index.shape, c.dtype) for c in columns]
    n_blocks = C // BLOCK
    index = jnp.clip(index, 0, C)
    block = index // BLOCK
    cells = block[:, None] * BLOCK + jnp.arange(BLOCK)
    inside = cells < index[:, None]
    earlier = jnp.arange(n_blocks) < block[:, None]
    cells = jnp.minimum(cells, C - 1)
    out = []
    for column in columns:
        totals = jnp.sum(column[:n_blocks * BLOCK].reshape(n_blocks, BLOCK), axis=1)
        out.append(jnp.sum(jnp.where(earlier, totals, 0), axis=1) + jnp.sum(jnp.where(inside, column[cells], 0), axis=1))
    return out


def sums_before_reference(index, *columns):
    """:func:`sums_before` as an exclusive running sum and a gather."""
    out = []
    for column in columns:
        running = jnp.concatenate([jnp.zeros((1,), column.dtype), jnp.cumsum(column)])
        out.append(running[jnp.clip(index, 0, column.shape[0])])
    return out


def paired_sums_before(index, pairs):
    """:func:`sums_before` of real column pairs [(a, b), ...]: a list of (Σ a, Σ b) per pair.

    Each pair is carried as the real and imaginary parts of one complex column, which halves the
    passes over the cells (about 10% of the general route's time).
    """
    sums_ = sums_before(index, *[jax.lax.complex(a, b) for a, b in pairs])
    return [(jnp.real(v), jnp.imag(v)) for v in sums_]


def paired_sums_before_reference(index, pairs):
    return [tuple(sums_before_reference(index, a, b)) for a, b in pairs]


# --------------------------------------------------------------------------- several sums at once
@jax.custom_jvp
def sums(*columns):
    """The sums of several arrays of one shape over their last axis, as one reduction: XLA's CPU
    backend then computes them in one pass over the cells, where separate sums would each
    recompute their shared inputs (about 5% of the general route's time)."""
    zeros = tuple(jnp.zeros((), c.dtype) for c in columns)
    return tuple(jax.lax.reduce(columns, zeros, lambda a, b: tuple(u + v for u, v in zip(a, b)), (columns[0].ndim - 1,)))


def sums_reference(*columns):
    return tuple(jnp.sum(c, axis=-1) for c in columns)


@sums.defjvp
def _sums_jvp(primals, tangents):
    # the sum is linear; JAX has no derivative rule for a reduction of several operands, so the
    # tangents are summed one by one (which reverse mode can also transpose)
    return sums(*primals), sums_reference(*tangents)


# --------------------------------------------------------------------------- two quotients at once
def divided_pair(p, q, d):
    """(p / d, q / d) as the two parts of one complex quotient: bit for bit the real quotients
    for finite nonzero d (for d = 0 both are NaN, where the real ones would be infinite or NaN).

    XLA's CPU backend does not fuse two outputs that share their inputs: for p/d and q/d it would
    compute the whole evaluation behind p, q and d once for each.  One complex division (Smith's
    algorithm, exact here: the divisor's imaginary part is 0) puts it all in one loop.
    """
    z = jax.lax.complex(p, q) / jax.lax.complex(d, jnp.zeros_like(d))
    return jnp.real(z), jnp.imag(z)


def divided_pair_reference(p, q, d):
    return p / d, q / d


# --------------------------------------------------------------------------- selection over K columns
def argmin(columns):
    """Index of the smallest of K arrays, elementwise; the first one on ties (no stack, no gather)."""
    best, index = columns[0], jnp.zeros(columns[0].shape, dtype=jnp.int32)
    for k in range(1, len(columns)):
        better = columns[k] < best
        best = jnp.where(better, columns[k], best)
        index = jnp.where(better, k, index)
    return index


def argmin_reference(columns):
    return jnp.argmin(jnp.stack(columns), axis=0).astype(jnp.int32)


def pick(columns, f):
    """``columns[f]`` elementwise, for a static list of K arrays and an index array ``f`` (index < 0 -> 0)."""
    out = columns[0]
    for k in range(1, len(columns)):
        out = jnp.where(f == k, columns[k], out)
    return out


def pick_reference(columns, f):
    stacked = jnp.stack(jnp.broadcast_arrays(*columns))
    f = jnp.clip(jnp.broadcast_to(f, stacked.shape[1:]), 0, len(columns) - 1)
    return jnp.take_along_axis(stacked, f[None], axis=0)[0]


# --------------------------------------------------------------------------- nodes of the task grid
def merged_nodes(n: int, breaks: list, profile=None):
    """The nodes k/n (k = 0..n) and the breakpoints (sorted, in [0, 1]) in increasing order, shape
    (n + 1 + len(breaks),), followed by each array of ``profile(nodes, xp)`` (elementwise functions
    of the nodes, written for the array module ``xp``) on them.

    The profiles at the uniform nodes are tabulated once, in numpy, so that per point only the
    breakpoints are evaluated; a breakpoint's slot is found by counting, and the tables are
    shifted into place by selection rather than gathered.
    """
    uniform = np.arange(n + 1, dtype=np.float64) / n
    tables = [uniform] + (list(profile(uniform, np)) if profile else [])
    if not breaks:
        return [jnp.asarray(t) for t in tables]
    b = jnp.stack(breaks)
    m = b.shape[0]
    if m > MERGE_BY_COUNTING:
        nodes = jnp.sort(jnp.concatenate([jnp.asarray(uniform), b]))
        return [nodes] + (list(profile(nodes, jnp)) if profile else [])
    at_breaks = [b] + (list(profile(b, jnp)) if profile else [])
    # break j lands after j breaks and after the uniform nodes below it, counted exactly; as a
    # reduction it is computed once, where a closed form would be inlined into every consumer
    below = jnp.sum(jnp.asarray(uniform) < b[:, None], axis=1, dtype=jnp.int32)
    position = jnp.arange(m, dtype=jnp.int32) + below
    slots = jnp.arange(n + 1 + m, dtype=jnp.int32)
    if m > SHIFTED_TABLES:  # many breakpoints: the profiles are evaluated at every node instead
        before = functools.reduce(jnp.add, [(position[j] < slots).astype(jnp.int32) for j in range(m)])
        nodes = (slots - before).astype(jnp.float64) / n
        for j in range(m):
            nodes = jnp.where(slots == position[j], b[j], nodes)
        return [nodes] + (list(profile(nodes, jnp)) if profile else [])
    merged = []
    for table, values in zip(tables, at_breaks):
        # the uniform node at a slot is shifted by the number of breaks before it: select among
        # shifted copies of the table (a gather would cost more than the profile itself)
        column = jnp.asarray(np.concatenate([table, np.zeros(m)]))
        for j in range(m):
            shifted = jnp.asarray(np.concatenate([np.zeros(j + 1), table, np.zeros(m - j - 1)]))
            column = jnp.where(slots > position[j], shifted, column)
        for j in range(m):
            column = jnp.where(slots == position[j], values[j], column)
        merged.append(column)
    return merged


def merged_nodes_reference(n: int, breaks: list, profile=None):
    """:func:`merged_nodes` by sorting and evaluating the profiles at every node."""
    nodes = jnp.asarray(np.arange(n + 1, dtype=np.float64) / n)
    if breaks:
        nodes = jnp.sort(jnp.concatenate([nodes, jnp.stack(breaks)]))
    return [nodes] + (list(profile(nodes, jnp)) if profile else [])


# --------------------------------------------------------------------------- a point's cell
def cell_of(points, n: int, breaks: list, cuts=None):
    """Index of the cell holding each point (the last one whose left node is <= the point), on the
    grid of :func:`merged_nodes` (``n`` uniform steps plus the sorted ``breaks``), each cell cut in
    two at ``cuts`` (C0,) if given.  Clipped to the valid cells.

    Counted directly: the uniform nodes k/n <= p, plus the breakpoints <= p, plus, where cells
    were cut, whether p is past the cut (a binary search would be a loop of about log2(n) steps
    for every call, and the verification makes dozens of calls).
    """
    n_cells = n + len(breaks)
    u = jnp.floor(points * n)
    u = u + ((u + 1) / n <= points) - (u / n > points)  # k/n <= p exactly for k <= u, as the nodes are rounded
    count = jnp.clip(u, -1, n).astype(jnp.int32) + 1
    for b in breaks:
        count = count + (b <= points)
    j = count - 1
    if cuts is not None:
        j = jnp.clip(j, 0, cuts.shape[0] - 1)
        j = 2 * j + (cuts[j] <= points)
        n_cells = 2 * n_cells
    return jnp.clip(j, 0, n_cells - 1)


def cell_of_reference(points, nodes):
    """The same by binary search over the grid's ``nodes`` (C+1,)."""
    return jnp.clip(jnp.searchsorted(nodes, points, side="right") - 1, 0, nodes.shape[0] - 2)
