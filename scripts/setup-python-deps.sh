#!/usr/bin/env bash
# Installs what the Python package's tests need (python/tests, run by
# .ci/run): maturin, pytest, pyarrow, pandas, duckdb and dask[distributed]
# from the package registry where they are missing, then builds and
# installs the package itself with `pip install ./python` (pyo3 + maturin).
#
# The wheel is built in the main build's target directory ($CARGO_TARGET_DIR,
# else ./target), so after `cargo test --release` only pyo3 and the two
# crates of the package compile. Quick when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

pip_install() {
  python3 -m pip install -q "$@" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "$@"
}

missing=()
python3 -c 'import maturin' >/dev/null 2>&1 || command -v maturin >/dev/null 2>&1 || missing+=('maturin>=1.5,<2')
python3 -c 'import pytest' >/dev/null 2>&1 || missing+=(pytest)
python3 -c 'import pyarrow' >/dev/null 2>&1 || missing+=('pyarrow>=14')
python3 -c 'import pandas' >/dev/null 2>&1 || missing+=(pandas)
python3 -c 'import duckdb' >/dev/null 2>&1 || missing+=(duckdb)
python3 -c 'import dask.distributed' >/dev/null 2>&1 || missing+=('dask[distributed]')
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-python-deps: installing ${missing[*]}" >&2
  pip_install "${missing[@]}"
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
start=$(date +%s)
# --no-build-isolation: the maturin just installed builds it (no second download).
pip_install --no-build-isolation --force-reinstall --no-deps ./python
echo "setup-python-deps: built and installed the wsdissect package in $(( $(date +%s) - start )) s" >&2
