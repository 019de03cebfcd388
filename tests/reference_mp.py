"""Extended-precision reference equilibria (mpmath, 60 digits), written for the tests only.

Independent of the engine: each regime is solved from its own conditions in ``docs/model.md``
with mpmath arithmetic, so that a float64 answer can be checked to the last digits even where
the problem is badly conditioned (near the unbounded frontier, or with a factor confined to a
sliver of tasks).

* :func:`benchmark`: Proposition 1, eqs. (14)-(15) and [M6], in closed form.
* :func:`traditional`: Proposition 2; given the L/H threshold Ĩ₂ everything is explicit ([M7]
  and M/L no-arbitrage), and [M4] is one increasing equation R(Ĩ₂) = 0, solved by bisection.
* :func:`llm_whole_window`: a scaling-law LLM whose data window is all of [0, 1], so that the
  assignment is L | M | H with c_L(s) = κ and c_H(t) = κ ([M9]); [M4] and [M5] are solved for
  (ln W_L, ln W_H) by Newton's method from a bracketed start.

Each returns a dict of mpf: W_L, W_H, premium, Y and the thresholds.
"""
from __future__ import annotations

import mpmath as mp

DPS = 60


def _int_log1m(a, b):
    """∫_a^b ln(1 - i) di."""
    F = lambda u: -(1 - u) * mp.log(1 - u) - u if u < 1 else mp.mpf(-1)  # noqa: E731
    return F(b) - F(a)


def _int_log(a, b):
    """∫_a^b ln i di."""
    F = lambda u: u * mp.log(u) - u if u > 0 else mp.mpf(0)  # noqa: E731
    return F(b) - F(a)


def _mp(*values):
    return [mp.mpf(repr(float(v))) if not isinstance(v, mp.mpf) else v for v in values]


def benchmark(eta, A_L, A_H, L, H) -> dict:
    with mp.workdps(DPS):
        eta, A_L, A_H, L, H = _mp(eta, A_L, A_H, L, H)
        I = 1 / (1 + (A_H * H / (A_L * L)) ** (1 / (1 + eta)))
        omega = (A_H / A_L) ** (1 / (1 + eta)) * (H / L) ** (-eta / (1 + eta))
        x = I * mp.log(A_L) + (1 - I) * (mp.log(A_H) - mp.log(omega)) + eta * (_int_log1m(0, I) + _int_log(I, 1))
        W_L = mp.exp(x)
        W_H = W_L * omega
        Y = W_L * L / I
        return {"W_L": W_L, "W_H": W_H, "premium": omega, "Y": Y, "I": I}


def traditional(eta, A_L, A_H, L, H, A_bar, mu, F) -> dict:
    """Traditional AI adopted: M on [0, Ĩ₁], L on [Ĩ₁, Ĩ₂], H on [Ĩ₂, 1]; needs F above Ā e^{-μ}."""
    with mp.workdps(DPS):
        eta, A_L, A_H, L, H, A_bar, mu, F = _mp(eta, A_L, A_H, L, H, A_bar, mu, F)
        if F <= A_bar * mp.exp(-mu):
            raise ValueError("no finite equilibrium: F <= A_bar exp(-mu)")
        I = benchmark(eta, A_L, A_H, L, H)["I"]

        def state(u):
            i1 = u - (A_L * L / (A_H * H)) * (1 - u) ** (1 + eta) / u**eta
            x = mp.log(F * A_L / A_bar) + (eta - mu) * mp.log(1 - i1)
            y = x + mp.log(A_H / A_L) + eta * (mp.log(u) - mp.log(1 - u))
            R = (i1 * (mp.log(F) - mp.log(A_bar)) - mu * _int_log1m(0, i1)
                 + (u - i1) * (x - mp.log(A_L)) - eta * _int_log1m(i1, u)
                 + (1 - u) * (y - mp.log(A_H)) - eta * _int_log(u, 1))
            return R, i1, x, y

        if state(I)[0] >= 0:
            raise ValueError("traditional AI is not adopted at these parameters")
        lo, hi = I, mp.mpf(1)
        for _ in range(400):  # bisection in u, then in 1 - u as u nears 1
            mid = (lo + hi) / 2
            if state(mid)[0] < 0:
                lo = mid
            else:
                hi = mid
            if hi - lo < mp.mpf(10) ** (-DPS + 5) * max(1 - hi, mp.mpf(10) ** -40):
                break
        u = (lo + hi) / 2
        _, i1, x, y = state(u)
        W_L, W_H = mp.exp(x), mp.exp(y)
        Y = W_L * L / (u - i1)
        return {"W_L": W_L, "W_H": W_H, "premium": W_H / W_L, "Y": Y, "I1": i1, "I2": u}


def llm_log_cost(eta, A_bar, F, C, a, alpha, b, beta, G, N_bar):
    """ln κ of [M8] (mpf)."""
    with mp.workdps(DPS):
        eta, A_bar, F, C, a, alpha, b, beta, G, N_bar = _mp(eta, A_bar, F, C, a, alpha, b, beta, G, N_bar)
        D = C + a / N_bar**alpha + b / G**beta
        return mp.log(F) - mp.log(A_bar) - eta * mp.log(1 - D)


def llm_whole_window(eta, A_L, A_H, L, H, log_kappa) -> dict:
    """A model with constant unit cost κ = exp(log_kappa) > 1 on all of [0, 1]: L | M | H."""
    with mp.workdps(DPS):
        eta, A_L, A_H, L, H = _mp(eta, A_L, A_H, L, H)
        lk = log_kappa if isinstance(log_kappa, mp.mpf) else mp.mpf(repr(float(log_kappa)))
        if lk <= 0:
            raise ValueError("no finite equilibrium: kappa <= 1 on the whole task line")

        def ends(x, y):
            # 1 - s and t, kept in logs: both slivers can be far below float64 resolution
            log_1ms = (x - mp.log(A_L) - lk) / eta
            log_t = (y - mp.log(A_H) - lk) / eta
            return log_1ms, log_t

        def conditions(x, y):
            log_1ms, log_t = ends(x, y)
            s, t = -mp.expm1(log_1ms), mp.exp(log_t)
            g = (y - x) - (mp.log(-mp.expm1(log_t)) - mp.log(s) + mp.log(L) - mp.log(H))
            phi = (s * (x - mp.log(A_L)) - eta * _int_log1m(0, s) + (t - s) * lk
                   + (1 - t) * (y - mp.log(A_H)) - eta * _int_log(t, 1))
            return phi, g

        # start: wages that put both switch points where the model is barely cheaper
        x0 = mp.log(A_L) + lk - mp.mpf("1e-3") * eta
        y0 = mp.log(A_H) + lk - mp.mpf("1e-3") * eta
        x, y = mp.findroot(lambda x, y: conditions(x, y), (x0, y0), tol=mp.mpf(10) ** (-DPS + 10), maxsteps=500)
        log_1ms, log_t = ends(x, y)
        s, t = -mp.expm1(log_1ms), mp.exp(log_t)
        if not 0 < s < t < 1:
            raise ValueError(f"the model is not adopted at this kappa (s = {mp.nstr(s, 5)}, t = {mp.nstr(t, 5)})")
        W_L, W_H = mp.exp(x), mp.exp(y)
        return {"W_L": W_L, "W_H": W_H, "premium": W_H / W_L, "Y": W_L * L / s, "s": s, "t": t}
