"""Strict YAML loading with key locations: re-exported from :mod:`llm_labor.common.yamlmap`."""
from __future__ import annotations

from llm_labor.common.yamlmap import (  # noqa: F401
    DuplicateKeyError,
    StrictLoader,
    dotted,
    line_map,
    line_of,
    load_mapping,
    read_text,
    strict_load,
)

__all__ = ["DuplicateKeyError", "StrictLoader", "dotted", "line_map", "line_of", "load_mapping", "read_text", "strict_load"]
