"""Project-wide test settings: float64 JAX and deterministic hypothesis runs."""
import os

import jax
from hypothesis import HealthCheck, settings

# float64 for the whole test process, before any test module is imported (importing simulator does not switch it on)
jax.config.update("jax_enable_x64", True)

# Deterministic example generation, so a CI failure reproduces locally.
settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile("dev", deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
