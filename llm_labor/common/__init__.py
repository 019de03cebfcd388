"""Foundation of the project: imported by every package, imports none of them.

- :mod:`~llm_labor.common.errors`: the error root :class:`LLMLaborError`;
- :mod:`~llm_labor.common.yamlmap`: strict YAML loading with the line of every key;
- :mod:`~llm_labor.common.provenance`: the provenance record of every output;
- :mod:`~llm_labor.common.data`: where the shared reference data lives;
- :mod:`~llm_labor.common.cli`: Typer helpers for the packages' ``register`` functions.
"""
from .errors import LLMLaborError

__all__ = ["LLMLaborError"]
