"""Errors of the engine.

Every error raised on purpose derives from :class:`LLMLaborError` (defined in
:mod:`llm_labor.common.errors`, re-exported here), so callers can catch the
project's errors without catching programming mistakes.
"""
from __future__ import annotations

from llm_labor.common.errors import LLMLaborError

__all__ = ["LLMLaborError", "ParameterError", "ScenarioError", "FrontierError"]


class ParameterError(LLMLaborError, ValueError):
    """A model parameter is inadmissible.

    The message names the parameter and the condition it violates.
    """


class ScenarioError(LLMLaborError, ValueError):
    """A scenario file is malformed: the message gives file, line and key."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None, key: str | None = None):
        where = ""
        if file is not None:
            where = f"{file}"
            if line is not None:
                where += f":{line}"
            where += ": "
        if key is not None:
            where += f"key '{key}': "
        super().__init__(where + message)
        self.file, self.line, self.key = file, line, key


class FrontierError(LLMLaborError, ValueError):
    """A frontier path cannot be built: bad data in a path or model table, or bad options.

    The message gives the file, the 1-based line and the column when the
    problem is in a file, otherwise the option (``start``, ``region``...).
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None, column: str | None = None,
                 option: str | None = None):
        where = ""
        if file is not None:
            where = f"{file}" + (f":{line}" if line is not None else "") + ": "
        if column is not None:
            where += f"column '{column}': "
        elif option is not None:
            where += f"{option}: "
        super().__init__(where + message)
        self.file, self.line, self.column, self.option = file, line, column, option
