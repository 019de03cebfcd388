"""The root of the project's exceptions.

Every error raised on purpose, in every package, derives from
:class:`LLMLaborError`, so callers can catch the project's errors without
catching programming mistakes.  Packages keep their own classes
(``simulator.errors``, ``calibration.errors``, ``empirics.*.errors``) below it.
"""
from __future__ import annotations


class LLMLaborError(Exception):
    """Base class of all errors raised by this project."""
