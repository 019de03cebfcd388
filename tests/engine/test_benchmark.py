"""The benchmark economy (Proposition 1) against its closed form and hand-derived values."""
import math

import numpy as np
import pytest

from simulator import Economy, SolverOptions, Status, solve, solve_batch
from simulator.analytic import benchmark_threshold


def eq14(e):
    return 1.0 / (1.0 + (e.A_H * e.H / (e.A_L * e.L)) ** (1.0 / (1.0 + e.eta)))


def eq15(e):
    return (e.A_H / e.A_L) ** (1.0 / (1.0 + e.eta)) * (e.H / e.L) ** (-e.eta / (1.0 + e.eta))


# Symmetric economies (A_L = A_H = 1, L = H = 1): I = 1/2 and, from the numeraire,
# ln W = η (2 ∫_0^{1/2} ln(1-i) di) = η (ln 2 - 1), so W_L = W_H = (2/e)^η and Y = W L / I = 2 (2/e)^η.
@pytest.mark.parametrize("eta", [0.25, 0.5, 1.0, 2.0, 4.0])
def test_symmetric_economy_hand_derived(eta):
    eq = solve(Economy(eta=eta, A_L=1.0, A_H=1.0, L=1.0, H=1.0))
    assert int(eq.status) == Status.OK
    assert eq.segments() == [{"factor": "L", "start": 0.0, "end": 0.5}, {"factor": "H", "start": 0.5, "end": 1.0}]
    assert float(eq.W_L) == pytest.approx((2 / math.e) ** eta, rel=1e-14)
    assert float(eq.W_H) == pytest.approx((2 / math.e) ** eta, rel=1e-14)
    assert float(eq.Y) == pytest.approx(2 * (2 / math.e) ** eta, rel=1e-13)


TABLE = [
    # eta, A_L, A_H, L, H
    (1.0, 1.0, 1.5, 1.0, 0.6),
    (0.5, 2.0, 1.0, 3.0, 1.0),
    (3.0, 1.0, 4.0, 1.0, 0.2),
    (1.7, 0.3, 0.9, 0.5, 2.0),
]


@pytest.mark.parametrize("eta,A_L,A_H,L,H", TABLE)
def test_threshold_and_premium_match_eqs_14_15(eta, A_L, A_H, L, H):
    e = Economy(eta=eta, A_L=A_L, A_H=A_H, L=L, H=H)
    eq = solve(e)
    I = eq.segments()[0]["end"]
    assert I == pytest.approx(eq14(e), rel=1e-13)
    assert float(eq.premium) == pytest.approx(eq15(e), rel=1e-13)
    # wage premium equals relative productivity at the threshold (eq. 9 / eq. 15 derivation)
    assert float(eq.premium) == pytest.approx(A_H * I**eta / (A_L * (1 - I) ** eta), rel=1e-12)
    # labour demand per task: L/I and H/(1-I) (eqs. 12-13) -> income shares equal task measures
    assert float(eq.W_L) * L / float(eq.Y) == pytest.approx(I, rel=1e-12)
    assert np.max(np.abs(eq.residuals)) <= 1e-10


@pytest.mark.parametrize("eta,A_L,A_H,L,H", TABLE)
def test_general_solver_converges_to_closed_form(eta, A_L, A_H, L, H):
    e = Economy(eta=eta, A_L=A_L, A_H=A_H, L=L, H=H)
    exact = solve(e, method="analytic")
    errors = []
    for n in (128, 256, 512, 1024):
        d = solve(e, options=SolverOptions(method="discretized", n_tasks=n))
        assert int(d.status) in (Status.OK, Status.ILL_CONDITIONED)  # ill_conditioned where the O(h²) error exceeds 1e-8
        errors.append(abs(float(d.premium) - float(exact.premium)) / float(exact.premium))
    assert errors[-1] < 5e-6
    assert errors[-1] < errors[0] / 20  # second order: 8x finer grid, ~64x smaller error


def test_batch_equals_pointwise():
    H = np.linspace(0.2, 3.0, 7)
    batch = solve_batch(Economy(eta=1.2, A_L=1.0, A_H=1.5, L=1.0, H=H))
    for k, h in enumerate(H):
        single = solve(Economy(eta=1.2, A_L=1.0, A_H=1.5, L=1.0, H=float(h)))
        assert float(batch.premium[k]) == pytest.approx(float(single.premium), rel=1e-14)
        assert float(batch.Y[k]) == pytest.approx(float(single.Y), rel=1e-14)


def test_threshold_helper_matches_eq14():
    e = Economy(eta=2.0, A_L=1.0, A_H=3.0, L=2.0, H=1.0)
    I, log_premium = benchmark_threshold(e)
    assert float(I) == pytest.approx(eq14(e), rel=1e-14)
    assert math.exp(float(log_premium)) == pytest.approx(eq15(e), rel=1e-14)
