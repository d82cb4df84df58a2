#!/usr/bin/env bash
# The benchmark of BENCHMARKS.md: builds labc (release) and the `nickel` CLI
# built on the same Nickel as labc (nickel-lang-cli 1.18.0 = nickel-lang-core
# 0.19.0), then compares them. Arguments go to bench/run.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

NICKEL_CLI_VERSION=1.18.0
nickel=target/tools/nickel/bin/nickel
if ! "$nickel" --version 2>/dev/null | grep -q "$NICKEL_CLI_VERSION"; then
  echo "[bench] building nickel-lang-cli $NICKEL_CLI_VERSION (release, a few minutes)" >&2
  CARGO_TARGET_DIR=target/nickel-build cargo install --locked --quiet \
    "nickel-lang-cli@$NICKEL_CLI_VERSION" --no-default-features --features format --root target/tools/nickel
fi
echo "[bench] building labc (release)" >&2
cargo build --release --locked --quiet
python3 bench/run.py "$@"
