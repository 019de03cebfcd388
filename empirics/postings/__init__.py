"""Online job postings: schema, synthetic postings with known truth, processing and relations to exposure.

Modules (imported on demand to keep ``import empirics.postings`` light): ``schema`` (input schema and
validation rules), ``synth`` (seeded generator streaming to Parquet), ``titles`` (offline title ->
OCD 2022 matcher), ``process`` (DuckDB pipeline: validation, quarantine, dedup, aggregation),
``reference`` (the same pipeline in plain pandas, for checks and benchmarks), ``relate``
(regressions on exposure, bootstrap, plots, moments file) and ``cli``. See ``docs/postings.md``.
"""
