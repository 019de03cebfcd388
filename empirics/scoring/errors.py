"""Exceptions raised by the scoring subpackage."""
from __future__ import annotations

from llm_labor.common.errors import LLMLaborError


class ScoringError(LLMLaborError):
    """Base class of every error raised by :mod:`empirics.scoring`."""


class ConfigError(ScoringError):
    """A configuration file is missing, unreadable or violates a condition."""


class DataError(ScoringError):
    """An occupation table cannot be loaded or is inconsistent."""


class TemplateError(ScoringError):
    """A rubric template is malformed or cannot be rendered."""


class AnswerParseError(ScoringError):
    """A model answer does not follow the requested structure."""


class MalformedResponseError(AnswerParseError):
    """A response body is not a chat completion (not JSON, truncated, no choices, no message content).

    This is a transport failure, retried like a 5xx; only a well-formed completion whose
    text breaks the rubric is an invalid answer.
    """


class EndpointError(ScoringError):
    """An endpoint request failed in a way that retrying will not fix."""
