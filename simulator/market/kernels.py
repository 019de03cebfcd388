"""Numba kernels of the agent-based market.

Everything here works on flat arrays (see :class:`simulator.market.simulation.Market`
for their meaning).  No kernel draws random numbers: the caller draws them
from one numpy ``Generator`` and passes them in, so a path depends on the
seed alone.  Every loop runs in a fixed sequential order, which keeps paths
bit-identical on any machine and thread count: revisions are asynchronous
best responses (each mover sees the prices its predecessors left), which
is serial by nature, and the per-agent passes are memory-bound, where
threads did not pay on the two-core machine the benchmark was measured on.

Task-level quantities are densities on cells of width ``h``: a worker with
efficiency ``q·z`` in cell ``k`` adds ``q·z/h`` to ``E[f, k]`` and
``A_f α_f(i_k)·q·z/h`` to the cell's output density ``y[k]``.  With
Cobb-Douglas demand the price of cell ``k`` is ``Y / y[k]``, so a worker's
log return per unit of efficiency is ``ln Y + ℓ_f(k) - ln y[k]``; ``ln Y``
is common to every task and drops out of every comparison.
"""
from __future__ import annotations

import numpy as np
from numba import njit

BEST_RESPONSE, LOGIT = 0, 1
NEG_INF = -np.inf


# ----------------------------------------------------------------------------- max segment tree
@njit(cache=True)
def _leaf_value(lp, f, k, yhat, q, h):
    """Log return (less ln Y) of one more marginal worker of skill f joining cell k."""
    l = lp[f, k]
    if l == NEG_INF:
        return NEG_INF
    return l - np.log(yhat[k] + np.exp(l) * q[f] / h)


@njit(cache=True)
def tree_build(tv, ti, lp, yhat, q, h, P):
    """Build the two max-trees (one per skill): leaves at P + k, ``ti`` holds the argmax cell."""
    n = yhat.shape[0]
    for f in range(2):
        for k in range(P):
            if k < n:
                tv[f, P + k] = _leaf_value(lp, f, k, yhat, q, h)
            else:
                tv[f, P + k] = NEG_INF
            ti[f, P + k] = min(k, n - 1)
        for node in range(P - 1, 0, -1):
            a, b = 2 * node, 2 * node + 1
            if tv[f, b] > tv[f, a]:
                tv[f, node], ti[f, node] = tv[f, b], ti[f, b]
            else:
                tv[f, node], ti[f, node] = tv[f, a], ti[f, a]


@njit(cache=True)
def tree_update(tv, ti, lp, yhat, q, h, P, k):
    """Refresh both skills' leaves for cell k after y-hat[k] changed."""
    for f in range(2):
        node = P + k
        tv[f, node] = _leaf_value(lp, f, k, yhat, q, h)
        node //= 2
        while node >= 1:
            a, b = 2 * node, 2 * node + 1
            if tv[f, b] > tv[f, a]:
                tv[f, node], ti[f, node] = tv[f, b], ti[f, b]
            else:
                tv[f, node], ti[f, node] = tv[f, a], ti[f, a]
            node //= 2


# ----------------------------------------------------------------------------- task aggregates
@njit(cache=True)
def recount(skill, task, target, z, q, h, E, Ein):
    """Exact efficiency densities of employed (E) and incoming (Ein) workers, summed in agent order."""
    E[:, :] = 0.0
    Ein[:, :] = 0.0
    for w in range(skill.shape[0]):
        s = skill[w]
        if task[w] >= 0:
            E[s, task[w]] += q[s] * z[w] / h
        elif target[w] >= 0:
            Ein[s, target[w]] += q[s] * z[w] / h


@njit(cache=True)
def outputs(lp, E, Ein, M, y, yhat):
    """Output density y (producing now) and y-hat (including workers on their way)."""
    n = y.shape[0]
    J = M.shape[0]
    for k in range(n):
        v = 0.0
        for f in range(2):
            if lp[f, k] != NEG_INF:
                v += np.exp(lp[f, k]) * E[f, k]
        for j in range(J):
            if lp[2 + j, k] != NEG_INF:
                v += np.exp(lp[2 + j, k]) * M[j, k]
        y[k] = v
        w = 0.0
        for f in range(2):
            if lp[f, k] != NEG_INF:
                w += np.exp(lp[f, k]) * Ein[f, k]
        yhat[k] = v + w


@njit(cache=True)
def log_output(y, h, floor):
    """ln Y = h Σ ln y_k (an empty cell counts at ``floor``)."""
    s = 0.0
    for k in range(y.shape[0]):
        s += np.log(max(y[k], floor))
    return h * s


@njit(cache=True)
def update_models(lp, M, y, log_Y, F, speed):
    """Model units in each cell move a fraction ``speed`` towards zero profit, given Y and the other factors.

    Zero profit for model j in cell k means p_k = F_j / (A_j α_j), i.e. y_k = Y A_j α_j / F_j.
    """
    Y = np.exp(log_Y)
    n = y.shape[0]
    for j in range(M.shape[0]):
        for k in range(n):
            l = lp[2 + j, k]
            if l == NEG_INF:
                M[j, k] = 0.0
                continue
            a = np.exp(l)
            others = y[k] - a * M[j, k]
            goal = (Y * a / F[j] - others) / a
            if goal < 0.0:
                goal = 0.0
            M[j, k] += speed * (goal - M[j, k])


@njit(cache=True)
def regions(lp, E, M, region):
    """Dominant factor of each cell (largest contribution to its output), -1 where nothing is produced."""
    n = region.shape[0]
    for k in range(n):
        best, arg = 0.0, -1
        for f in range(2):
            if lp[f, k] != NEG_INF:
                c = np.exp(lp[f, k]) * E[f, k]
                if c > best:
                    best, arg = c, f
        for j in range(M.shape[0]):
            if lp[2 + j, k] != NEG_INF:
                c = np.exp(lp[2 + j, k]) * M[j, k]
                if c > best:
                    best, arg = c, 2 + j
        region[k] = arg


# ----------------------------------------------------------------------------- moves
@njit(cache=True)
def _leave(w, s, k, z, q, h, lp, E, y, yhat):
    d = q[s] * z[w] / h
    E[s, k] -= d
    a = np.exp(lp[s, k]) * d
    y[k] = max(y[k] - a, 0.0)
    yhat[k] = max(yhat[k] - a, 0.0)


@njit(cache=True)
def _move(w, dest, t, skill, task, target, z, origin, qbuf, qarr, qptr, q, h, lp, E, Ein, y, yhat,
          region, tv, ti, P, move_cost, flows):
    """Move worker w from its cell to ``dest``: at once, or via ``move_cost`` periods out of work."""
    s = skill[w]
    k = task[w]
    _leave(w, s, k, z, q, h, lp, E, y, yhat)
    tree_update(tv, ti, lp, yhat, q, h, P, k)
    origin[w] = max(region[k], 0)
    d = q[s] * z[w] / h
    a = np.exp(lp[s, dest]) * d
    if move_cost == 0:
        task[w] = dest
        E[s, dest] += d
        y[dest] += a
        yhat[dest] += a
        flows[s, origin[w], max(region[dest], 0)] += q[s]
    else:
        task[w] = -1
        target[w] = dest
        Ein[s, dest] += d
        yhat[dest] += a
        n_q = qbuf.shape[0]
        slot = (qptr[0] + qptr[1]) % n_q
        qbuf[slot] = w
        qarr[slot] = t + move_cost
        qptr[1] += 1
    tree_update(tv, ti, lp, yhat, q, h, P, dest)


@njit(cache=True)
def _best_move(w, skill, task, z, q, h, lp, yhat, tv, ti, tol):
    """Best cell for worker w and whether moving there strictly raises its return (-1: stay)."""
    s = skill[w]
    k = task[w]
    dest = ti[s, 1]
    if dest == k or tv[s, 1] == NEG_INF:
        return -1
    current = lp[s, k] - np.log(yhat[k]) if yhat[k] > 0.0 else NEG_INF
    l = lp[s, dest]
    join = l - np.log(yhat[dest] + np.exp(l) * q[s] * z[w] / h)
    if join > current + tol:
        return dest
    return -1


@njit(cache=True)
def _logit_pick(cdf, s, u):
    """Cell drawn from skill s's logit distribution with uniform u (binary search on the CDF)."""
    n = cdf.shape[1]
    x = u * cdf[s, n - 1]
    lo, hi = 0, n - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cdf[s, mid] > x:
            hi = mid
        else:
            lo = mid + 1
    return lo


# ----------------------------------------------------------------------------- one period
@njit(cache=True)
def step(t, lp, skill, task, target, z, origin, qbuf, qarr, qptr, E, Ein, M, y, yhat, region, tv, ti, P,
         q, h, F, speed, move_cost, choice, temperature, revisers, uniforms, floor, tol, flag, cdf,
         displaced, flows):
    """Advance the market by one period; returns (ln Y, number of moves).

    Order: arrivals of workers whose move ends now; exact recount of the
    cells; model entry and exit; layoffs in cells that models have taken;
    revisions, in the order drawn.  ``displaced[s]`` and ``flows[s, from, to]``
    accumulate labour units (they are reset by the caller).
    """
    n = y.shape[0]
    N = skill.shape[0]
    # 1. arrivals (first in, first out: every move lasts move_cost periods)
    n_q = qbuf.shape[0]
    while qptr[1] > 0 and qarr[qptr[0]] <= t:
        w = qbuf[qptr[0]]
        task[w] = target[w]
        target[w] = -1
        s = skill[w]
        flows[s, origin[w], max(region[task[w]], 0)] += q[s]
        qptr[0] = (qptr[0] + 1) % n_q
        qptr[1] -= 1
    # 2. exact aggregates, then models move towards zero profit
    recount(skill, task, target, z, q, h, E, Ein)
    outputs(lp, E, Ein, M, y, yhat)
    if M.shape[0] > 0:
        update_models(lp, M, y, log_output(y, h, floor), F, speed)
        outputs(lp, E, Ein, M, y, yhat)
    regions(lp, E, M, region)
    tree_build(tv, ti, lp, yhat, q, h, P)
    # 3. layoffs: workers in a cell where models produce, whose return there is below their best alternative
    any_flag = False
    for k in range(n):
        model_there = False
        for j in range(M.shape[0]):
            if M[j, k] > 0.0 and lp[2 + j, k] != NEG_INF and np.exp(lp[2 + j, k]) * M[j, k] > 1e-9 * y[k]:
                model_there = True
        for s in range(2):
            flag[s, k] = False
            if model_there and E[s, k] > 0.0 and yhat[k] > 0.0:
                if lp[s, k] - np.log(yhat[k]) < tv[s, 1] - tol:
                    flag[s, k] = True
                    any_flag = True
    moves = 0
    if any_flag:
        for w in range(N):
            k = task[w]
            if k >= 0 and flag[skill[w], k]:
                dest = _best_move(w, skill, task, z, q, h, lp, yhat, tv, ti, tol)
                if dest >= 0:
                    displaced[skill[w]] += q[skill[w]]
                    _move(w, dest, t, skill, task, target, z, origin, qbuf, qarr, qptr, q, h, lp, E, Ein, y,
                          yhat, region, tv, ti, P, move_cost, flows)
                    moves += 1
    # 4. revisions
    if choice == LOGIT:
        for s in range(2):
            top = tv[s, 1]
            acc = 0.0
            for k in range(n):
                v = _leaf_value(lp, s, k, yhat, q, h)
                if v != NEG_INF:
                    acc += np.exp((v - top) / temperature)
                cdf[s, k] = acc
    for r in range(revisers.shape[0]):
        w = revisers[r]
        if task[w] < 0:
            continue
        if choice == BEST_RESPONSE:
            dest = _best_move(w, skill, task, z, q, h, lp, yhat, tv, ti, tol)
        else:
            dest = _logit_pick(cdf, skill[w], uniforms[r])
            if dest == task[w]:
                dest = -1
        if dest >= 0:
            _move(w, dest, t, skill, task, target, z, origin, qbuf, qarr, qptr, q, h, lp, E, Ein, y, yhat,
                  region, tv, ti, P, move_cost, flows)
            moves += 1
    return log_output(y, h, floor), moves


@njit(cache=True)
def earnings(lp, skill, task, z, y, log_Y, out):
    """Each worker's earnings per unit of labour, p_k A_f α_f(i_k) z (NaN while out of work)."""
    for w in range(skill.shape[0]):
        k = task[w]
        if k < 0:
            out[w] = np.nan
        else:
            out[w] = np.exp(log_Y + lp[skill[w], k] - np.log(y[k])) * z[w]


@njit(cache=True)
def switch_points(dominant, shares, h, out_b, out_f):
    """Segments from each cell's dominant factor, with boundaries placed inside mixed cells.

    Between cells k (factor a) and k+1 (factor b) the boundary sits at
    (k+1)h - h·share_b(k) + h·share_a(k+1), which is exact when only one of
    the two cells is mixed.  ``out_b`` gets S+1 boundaries, ``out_f`` S factors
    (padding: NaN and -1); returns the number of segments found (may exceed S).
    """
    n = dominant.shape[0]
    S = out_f.shape[0]
    out_b[:] = np.nan
    out_f[:] = -1
    seg = 0
    out_b[0] = 0.0
    out_f[0] = dominant[0]
    for k in range(n - 1):
        a, b = dominant[k], dominant[k + 1]
        if a != b and a >= 0 and b >= 0:
            pos = (k + 1) * h - h * shares[k, b] + h * shares[k + 1, a]
            seg += 1
            if seg < S:
                out_b[seg] = pos
                out_f[seg] = b
    if seg + 1 <= S:
        out_b[seg + 1] = 1.0
    return seg + 1
