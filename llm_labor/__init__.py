"""The ``llm-labor`` application and the foundation shared by every package.

``llm_labor.common`` holds what every package may import (errors, YAML loading,
provenance, data lookup, command-line helpers); ``llm_labor.cli`` assembles the
``llm-labor`` command from the packages' ``register`` functions.  This module
imports nothing, so importing ``llm_labor.common`` stays cheap.
"""

__version__ = "0.1.0"
