"""Errors of the calibration package; messages name the file, line, key and the violated condition."""
from __future__ import annotations

from llm_labor.common.errors import LLMLaborError


class CalibrationError(LLMLaborError, ValueError):
    """A calibration config or its inputs are invalid."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None, key: str | None = None):
        where = ""
        if file is not None:
            where = str(file) + (f":{line}" if line is not None else "") + ": "
        if key is not None:
            where += f"key '{key}': "
        super().__init__(where + message)
        self.file, self.line, self.key = file, line, key
