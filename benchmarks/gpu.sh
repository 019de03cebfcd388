#!/usr/bin/env bash
# Rerun the engine benchmarks on a GPU and write benchmarks/results/gpu/ (README, "Performance").
# Uses $PYTHON where set (an environment whose JAX is built for the GPU), else the project's .venv,
# made as .ci/run makes it where there is none.  Arguments go to python -m benchmarks.gpu.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv && .venv/bin/pip install -q -e .
    fi
    PYTHON=.venv/bin/python
fi
exec "$PYTHON" -m benchmarks.gpu "$@"
