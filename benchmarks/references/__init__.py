"""Plain reference implementations and a fake server, used by the tests and as benchmark baselines.

They run from the repository root (``python -m benchmarks``, ``pytest``) and are not part of the
installed packages:

* :mod:`.postings`: the postings pipeline in plain pandas, in memory;
* :mod:`.market`: one market period in numpy and a Python loop;
* :mod:`.aggregation`: synthetic task labels and a naive groupby aggregation over the OCD hierarchy;
* :mod:`.fakeserver`: a local OpenAI-compatible chat-completions server with injectable faults.
"""
