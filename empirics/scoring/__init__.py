"""LLM exposure scoring with the E0-E3 rubric.

Modules: :mod:`.occupations` (tables), :mod:`.templates` (rubrics),
:mod:`.parsing`, :mod:`.config`, :mod:`.cache`, :mod:`.runner` (HTTP calls),
:mod:`.scores` and :mod:`.pipeline`.  Nothing heavy is imported here.
"""
from .errors import (
    AnswerParseError,
    ConfigError,
    DataError,
    EndpointError,
    MalformedResponseError,
    ScoringError,
    TemplateError,
)

__all__ = ["AnswerParseError", "ConfigError", "DataError", "EndpointError", "MalformedResponseError",
           "ScoringError", "TemplateError"]
