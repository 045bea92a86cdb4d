#!/usr/bin/env bash
# The README's test command: installs what is missing, then runs the whole suite optimised
# (numeric tests are too slow unoptimised) with Swift Testing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
source tools/blas-env.sh
swift build -c release -Xswiftc -enable-testing --build-tests
swift test -c release -Xswiftc -enable-testing --disable-xctest --skip-build "$@"
