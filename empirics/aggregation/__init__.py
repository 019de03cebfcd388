"""Aggregation of exposure scores over hierarchies, industries and age groups."""
