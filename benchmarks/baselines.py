"""Plain scipy.optimize solvers of the same equilibria, one point at a time.

These are the naive alternative the benchmarks measure the JAX engine
against, and an independent implementation the tests compare with: scalar
Python ``math`` and nested ``scipy.optimize.brentq`` on the conditions
[M4]-[M5] of docs/model.md.
"""
from __future__ import annotations

import math

from scipy.optimize import brentq


def _F1m(u):  # ∫_0^u ln(1-i) di
    return -(1 - u) * math.log(1 - u) - u if u < 1 else -1.0


def _Flog(u):  # ∫_0^u ln(i) di
    return u * math.log(u) - u if u > 0 else 0.0


def _root_increasing(f, lo, hi, xtol=1e-14):
    """brentq on an increasing function, widening [lo, hi] until it brackets the root."""
    for _ in range(60):
        if f(lo) < 0:
            break
        lo -= 2 * (hi - lo)
    for _ in range(60):
        if f(hi) > 0:
            break
        hi += 2 * (hi - lo)
    return brentq(f, lo, hi, xtol=xtol, rtol=1e-15)


def benchmark_point(eta, A_L, A_H, L, H):
    """(W_L, W_H): threshold by brentq on the L/H condition, level from the numeraire."""

    def excess(I):
        theta = math.log(A_H / A_L) + eta * math.log(I / (1 - I))
        return theta + math.log(H / L) + math.log(I) - math.log(1 - I)

    I = brentq(excess, 1e-15, 1 - 1e-15, xtol=1e-15, rtol=1e-15)
    theta = math.log(A_H / A_L) + eta * math.log(I / (1 - I))
    x = I * math.log(A_L) + (1 - I) * (math.log(A_H) - theta) + eta * (_F1m(I) + (-1.0 - _Flog(I)))
    return math.exp(x), math.exp(x + theta)


def traditional_point(eta, A_L, A_H, L, H, A_bar, mu, F):
    """(W_L, W_H) with traditional AI; None when output is unbounded."""
    if math.log(F / A_bar) + mu <= 0:
        return None
    W_L_b, W_H_b = benchmark_point(eta, A_L, A_H, L, H)
    if F >= A_bar * W_L_b / A_L:
        return W_L_b, W_H_b
    r = A_L * L / (A_H * H)

    def system(I2):
        I1 = max(I2 - r * (1 - I2) ** (1 + eta) / I2**eta, 0.0)
        x = math.log(F * A_L / A_bar) + (eta - mu) * math.log(1 - I1)
        y = x + math.log(A_H / A_L) + eta * math.log(I2 / (1 - I2))
        R = (I1 * math.log(F / A_bar) - mu * _F1m(I1) + (I2 - I1) * (x - math.log(A_L)) - eta * (_F1m(I2) - _F1m(I1))
             + (1 - I2) * (y - math.log(A_H)) - eta * (-1.0 - _Flog(I2)))
        return R, x, y

    I_b = 1 / (1 + (A_H * H / (A_L * L)) ** (1 / (1 + eta)))
    hi = 1 - 1e-12
    I2 = brentq(lambda v: system(v)[0], I_b, hi, xtol=1e-15, rtol=1e-15)
    _, x, y = system(I2)
    return math.exp(x), math.exp(y)


def llm_point(eta, A_L, A_H, L, H, A_bar, F, C, a, alpha, b, beta, G, N_bar, I_lo, I_hi):
    """(W_L, W_H) with a windowed scaling-law LLM; None when output is unbounded."""
    D = C + a / N_bar**alpha + b / G**beta
    W_L_b, W_H_b = benchmark_point(eta, A_L, A_H, L, H)
    if D >= 1:
        return W_L_b, W_H_b
    lk = math.log(F / A_bar) - eta * math.log1p(-D)
    if I_lo <= 0 and I_hi >= 1 and lk <= 0:
        return None
    I_b = 1 / (1 + (A_H * H / (A_L * L)) ** (1 / (1 + eta)))
    peak = min(max(I_b, I_lo), I_hi)
    p_peak = min(W_L_b / (A_L * (1 - peak) ** eta), W_H_b / (A_H * peak**eta))
    if lk >= math.log(p_peak):
        return W_L_b, W_H_b

    def measures(x, theta):
        z = (theta - math.log(A_H / A_L)) / eta
        I_star = 1 / (1 + math.exp(-z))
        a_ = 1 - math.exp((x - math.log(A_L) - lk) / eta)
        b_ = math.exp((x + theta - math.log(A_H) - lk) / eta)
        s, t = max(a_, I_lo), min(b_, I_hi)
        if s >= t:
            s = t = I_star
        return I_star, s, t

    def phi_and_shares(x, theta):
        I_star, s, t = measures(x, theta)
        lo_L, hi_L = min(s, I_star), min(t, I_star)
        lo_H, hi_H = max(s, I_star), max(t, I_star)
        s_L = I_star - (hi_L - lo_L)
        s_H = 1 - I_star - (hi_H - lo_H)
        phi = ((x - math.log(A_L)) * s_L - eta * (_F1m(I_star) - (_F1m(hi_L) - _F1m(lo_L)))
               + (x + theta - math.log(A_H)) * s_H - eta * ((-1.0 - _Flog(I_star)) - (_Flog(hi_H) - _Flog(lo_H)))
               + lk * (t - s))
        return phi, s_L, s_H

    def level(theta):
        return _root_increasing(lambda x: phi_and_shares(x, theta)[0], -5.0, 5.0)

    def g(theta):
        x = level(theta)
        _, s_L, s_H = phi_and_shares(x, theta)
        if s_L <= 0:
            return -1e300
        if s_H <= 0:
            return 1e300
        return theta + math.log(H / L) + math.log(s_L) - math.log(s_H)

    centre = math.log(A_H / A_L)
    theta = _root_increasing(g, centre - 5 * eta, centre + 5 * eta)
    x = level(theta)
    return math.exp(x), math.exp(x + theta)
