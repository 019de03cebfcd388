"""Calibration of the task model to wage-exposure moments (``docs/calibration.md``).

Entry points: ``llm-labor calibrate CONFIG.yaml`` and :func:`calibration.run.calibrate`.
Submodules are imported on use so that importing the package stays light.
"""
