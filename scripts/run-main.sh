#!/usr/bin/env bash
# Set up everything on a fresh machine and run the main job (examples/lps_miniature.py: active learning, diffusion,
# XAS, genetic sampling, export; about 15 minutes on 2 cores) on an embedded
# core.sqlite_dos profile (created if missing, no broker needed). Extra arguments go to the example script.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
. .venv/bin/activate
export AIIDA_PATH="${AIIDA_PATH:-$root/.aiida}"
profile="${AIIDA_LPS_PROFILE:-aiida-lps}"
if ! verdi profile show "$profile" >/dev/null 2>&1; then
    verdi presto --profile-name "$profile" --no-broker --non-interactive
fi
verdi profile set-default "$profile" >/dev/null
aiida-lps setup
python examples/lps_miniature.py "$@"
