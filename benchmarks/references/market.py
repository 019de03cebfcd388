"""A plain numpy/Python version of one market period, for checking and timing the Numba kernel.

It follows :func:`simulator.market.kernels.step` rule for rule, with numpy
for the vector parts and a Python loop over the workers who move; a best
response scans every cell with ``numpy.argmax`` instead of a max-tree.
It is the baseline of ``benchmarks/bench_market.py``.
"""
from __future__ import annotations

import numpy as np


def _leaves(lp, yhat, q, h):
    a = np.exp(lp[:2])
    with np.errstate(divide="ignore", invalid="ignore"):
        v = lp[:2] - np.log(yhat[None, :] + a * (q[:, None] / h))
    return np.where(np.isneginf(lp[:2]), -np.inf, v)


def step(m, revisers, uniforms) -> None:
    """Advance a :class:`~simulator.market.simulation.Market` ``m`` by one period, in numpy/Python."""
    lp, h, q = m.lp, m.h, m.q
    t = m.t
    m.displaced[:] = 0.0
    m.flows[:] = 0.0
    # arrivals
    while m.qptr[1] > 0 and m.qarr[m.qptr[0]] <= t:
        w = m.qbuf[m.qptr[0]]
        m.task[w], m.target[w] = m.target[w], -1
        s = m.skill[w]
        m.flows[s, m.origin[w], max(m.region[m.task[w]], 0)] += q[s]
        m.qptr[0] = (m.qptr[0] + 1) % m.qbuf.size
        m.qptr[1] -= 1
    # aggregates (vectorised)
    a = np.where(np.isneginf(lp), 0.0, np.exp(lp))
    units = q[m.skill] * m.z / h
    on = m.task >= 0
    m.E[:] = 0.0
    m.Ein[:] = 0.0
    for s in range(2):
        sel = on & (m.skill == s)
        m.E[s] = np.bincount(m.task[sel], weights=units[sel], minlength=m.n)
        sel = (~on) & (m.skill == s)
        m.Ein[s] = np.bincount(m.target[sel], weights=units[sel], minlength=m.n)

    def totals():
        y = (a[:2] * m.E).sum(axis=0) + (a[2:] * m.M).sum(axis=0)
        return y, y + (a[:2] * m.Ein).sum(axis=0)

    y, yhat = totals()
    if m.J:
        Y = np.exp(h * np.log(np.maximum(y, m.FLOOR)).sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            goal = np.where(a[2:] > 0, np.maximum((Y * a[2:] / m.F[:, None] - (y - a[2:] * m.M)) / a[2:], 0.0), 0.0)
        m.M += m.options.model_entry_speed * (goal - m.M)
        m.M[a[2:] == 0] = 0.0
        y, yhat = totals()
    contrib = np.concatenate([a[:2] * m.E, a[2:] * m.M])
    m.region[:] = np.where(contrib.max(axis=0) > 0, contrib.argmax(axis=0), -1)
    leaves = _leaves(lp, yhat, q, h)

    def relocate(w):
        s, k = m.skill[w], m.task[w]
        dest = int(np.argmax(leaves[s]))
        if dest == k:
            return -1
        current = lp[s, k] - np.log(yhat[k])
        join = lp[s, dest] - np.log(yhat[dest] + a[s, dest] * q[s] * m.z[w] / h)
        return dest if join > current + m.TOL else -1

    def move(w, dest):
        s, k = m.skill[w], m.task[w]
        d = q[s] * m.z[w] / h
        m.E[s, k] -= d
        y[k] = max(y[k] - a[s, k] * d, 0.0)
        yhat[k] = max(yhat[k] - a[s, k] * d, 0.0)
        m.origin[w] = max(m.region[k], 0)
        if m.options.move_cost == 0:
            m.task[w] = dest
            m.E[s, dest] += d
            y[dest] += a[s, dest] * d
            m.flows[s, m.origin[w], max(m.region[dest], 0)] += q[s]
        else:
            m.task[w], m.target[w] = -1, dest
            m.Ein[s, dest] += d
            slot = (m.qptr[0] + m.qptr[1]) % m.qbuf.size
            m.qbuf[slot], m.qarr[slot] = w, t + m.options.move_cost
            m.qptr[1] += 1
        yhat[dest] += a[s, dest] * d
        leaves[:, [k, dest]] = _leaves(lp[:, [k, dest]], yhat[[k, dest]], q, h)

    moves = 0
    model_there = (a[2:] * m.M > 1e-9 * y).any(axis=0) if m.J else np.zeros(m.n, dtype=bool)
    with np.errstate(divide="ignore"):
        flag = model_there[None, :] & (m.E > 0) & (lp[:2] - np.log(yhat)[None, :] < leaves.max(axis=1)[:, None] - m.TOL)
    if flag.any():
        for w in np.flatnonzero(on & flag[m.skill, np.maximum(m.task, 0)]):
            if m.task[w] >= 0:
                dest = relocate(w)
                if dest >= 0:
                    m.displaced[m.skill[w]] += q[m.skill[w]]
                    move(w, dest)
                    moves += 1
    if m.choice == 1:
        cdf = np.cumsum(np.exp((leaves - leaves.max(axis=1, keepdims=True)) / m.temperature), axis=1)
    for r, w in enumerate(revisers):
        if m.task[w] < 0:
            continue
        if m.choice == 0:
            dest = relocate(w)
        else:
            s = m.skill[w]
            dest = int(np.searchsorted(cdf[s], uniforms[r] * cdf[s, -1], side="right"))
            dest = -1 if dest == m.task[w] else min(dest, m.n - 1)
        if dest >= 0:
            move(w, dest)
            moves += 1
    m.y[:], m.yhat[:] = y, yhat
    m.log_Y = h * np.log(np.maximum(y, m.FLOOR)).sum()
    m.moves = moves
    m.t += 1
