#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs unit tests (ASan+UBSan),
# integration tests (programs under LD_PRELOAD, asserting on the JSON report) and CLI tests.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
"$ROOT/scripts/install-deps.sh"
BUILD_DIR=$BUILD_DIR "$ROOT/scripts/build.sh"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$(nproc)"
