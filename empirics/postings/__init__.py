"""Online job postings: schema, synthetic postings with known truth, processing and relations to exposure.

Modules (imported on demand to keep ``import empirics.postings`` light): ``schema`` (input schema and
validation rules), ``synth`` (seeded generator streaming to Parquet), ``titles`` (offline title ->
OCD 2022 matcher), ``process`` (DuckDB pipeline in stages: validation, quarantine, dedup, aggregation),
with ``ingest`` (reading the input, the validation SQL), ``matching`` (title-matching tables) and
``levels`` (aggregation to levels and periods), ``relate`` (regressions on exposure, bootstrap, plots,
moments file) and ``cli``. The same pipeline in plain pandas, for checks and benchmarks, is
``benchmarks/references/postings.py``. See ``docs/postings.md``.
"""
