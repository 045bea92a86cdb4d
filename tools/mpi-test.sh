#!/usr/bin/env bash
# Runs only the MPI tests (Tests/ParaRLDistributedTests: collectives, SFT and ParaRL over `mpirun --oversubscribe
# -np 2`, rank failures). They are also part of `bash tools/test.sh`; this is the quick loop for distributed work.
# Needs openmpi-bin and libopenmpi-dev (tools/setup.sh installs them); as root the tests add --allow-run-as-root.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/blas-env.sh
scratch=${SCRATCH:-.build}
swift build -c release -Xswiftc -enable-testing --build-tests --scratch-path "$scratch"
swift test -c release -Xswiftc -enable-testing --disable-xctest --skip-build --scratch-path "$scratch" --filter ParaRLDistributedTests "$@"
