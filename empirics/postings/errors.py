"""Exceptions raised by :mod:`empirics.postings`.

Every error of the subpackage derives from :class:`PostingsError`. Errors caused by bad input also
derive from :class:`ValueError`; missing files also derive from :class:`FileNotFoundError`.
"""
from __future__ import annotations

from llm_labor.common.errors import LLMLaborError


class PostingsError(LLMLaborError):
    """Base class of every error raised by this subpackage."""


class InputError(PostingsError, ValueError):
    """An input table or file is malformed: a column is missing, has the wrong type or a bad value."""


class SchemaError(InputError):
    """A postings file does not follow the documented schema (missing or mistyped columns)."""


class ConfigError(PostingsError, ValueError):
    """A parameter given to a function or command is invalid."""


class DataNotFoundError(PostingsError, FileNotFoundError):
    """An input or reference data file could not be found."""


class AccountingError(PostingsError, RuntimeError):
    """Rows in and rows out do not balance (rows in = rows kept + rows quarantined): a bug, never
    passed silently."""
