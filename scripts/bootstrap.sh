#!/usr/bin/env bash
# Create the project's virtual environment (.venv) and install aiida-lps with its test tools, GPAW and Sphinx.
# Idempotent: system packages are installed only when missing, Python packages only when pyproject.toml changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# GPAW builds from source against libxc and BLAS (Debian packages).
missing=()
for pkg in libxc-dev libopenblas-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
stamp=.venv/.aiida-lps-install-stamp
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    # CC=g++: GPAW's C extension includes C++ headers and fails to build with gcc.
    CC=g++ .venv/bin/python -m pip install --quiet -e ".[dev,gpaw,docs]"
    echo "$want" > "$stamp"
fi
