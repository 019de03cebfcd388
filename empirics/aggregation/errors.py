"""Exceptions raised by :mod:`empirics.aggregation`.

Every error of the subpackage derives from :class:`AggregationError`; the ones caused by
bad input also derive from :class:`ValueError` so that callers catching that keep working.
"""
from __future__ import annotations

from llm_labor.common.errors import LLMLaborError


class AggregationError(LLMLaborError):
    """Base class of every error raised by this subpackage."""


class InputError(AggregationError, ValueError):
    """A table given to a function is malformed: a column is missing, a value is invalid."""


class MissingColumnsError(InputError):
    """A table lacks columns a function needs."""


class UnknownCodeError(InputError):
    """Codes (occupations, industries, age groups) that a lookup does not know."""


class SharesError(InputError):
    """Shares that are negative or do not sum to one within the allowed tolerance."""


class DataNotFoundError(AggregationError, FileNotFoundError):
    """A reference data file (bundled or shared) could not be found."""


class EncodingError(InputError):
    """A file is not text in the expected encoding (or not text at all)."""


class IncompleteScoresError(InputError):
    """Scores leave categories unscored where complete coverage was required (``--require-complete``)."""
