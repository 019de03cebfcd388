"""Aggregation of exposure scores over hierarchies, industries and age groups.

Modules (imported on demand to keep ``import empirics.aggregation`` light):
``hierarchy`` (code hierarchies and aggregation), ``stats`` (Table 1 statistics),
``experts`` (experts against LLMs), ``industry`` (industry exposure and wages), ``age``
(age-group exposure), ``us`` (GPTs-are-GPTs and BLS OEWS), ``plots``, ``report`` and ``data``
(bundled tables). See ``docs/aggregation.md``.
"""
