import pytest

import simulator  # noqa: F401  (float64)


@pytest.fixture(scope="session")
def base():
    from pathlib import Path

    from simulator.scenario import load_scenario

    s = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "llm_scaling.yaml")
    return s.economy, s.technologies[0]
