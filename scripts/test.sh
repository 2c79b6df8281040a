#!/usr/bin/env bash
# The tests, on a fresh machine: installs what the interop and store tests
# drive for real (see scripts/setup.sh), then runs every test of the
# workspace. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --all-features --locked "$@"
