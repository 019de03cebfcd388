import pytest


@pytest.fixture(scope="session")
def shared_dir():
    from empirics.aggregation.data import shared_data_dir

    d = shared_data_dir(required=False)
    if d is None:
        pytest.skip("shared reference data (shared/data) not available")
    return d


@pytest.fixture(scope="session")
def table2():
    from empirics.aggregation.data import load_table2

    return load_table2()


@pytest.fixture(scope="session")
def paper_text(shared_dir):
    p = shared_dir.parent / "paper" / "llms-at-work-in-chinas-labor-market.txt"
    if not p.is_file():
        pytest.skip("paper text not available")
    return p.read_text(encoding="utf-8")
