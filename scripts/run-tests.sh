#!/usr/bin/env bash
# Set up everything on a fresh machine and run the whole test suite (what CI runs).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
bash scripts/start-services.sh
bash scripts/start-cluster.sh  # one-node SLURM + SSH server on localhost (tests/services/test_remote_scheduler.py)
. .venv/bin/activate
ruff check .
ruff format --check . || { echo "run 'ruff format .' to fix the formatting"; exit 1; }
lint-imports  # the layers of docs/architecture.md ([tool.importlinter] in pyproject.toml)
python -m pytest -n 2 --dist loadgroup "$@"
sphinx-build -q -W -b html docs docs/_build/html  # the documentation, warnings as errors
