#!/usr/bin/env bash
# The README's test command: installs what is missing, then runs the whole suite optimised
# (numeric tests are too slow unoptimised) with Swift Testing. First the suites that compare against fixtures made
# on other machines run with the CPU capped one level down, so that a test depending on this CPU's kernels fails
# here and not only on the next CPU kind; then the whole suite runs uncapped (its last line counts every test):
# - with AVX-512: our kernels, oneDNN and OpenBLAS capped to AVX2 (the EPYC machines' kernels);
# - with AVX2 only: our portable kernels, oneDNN capped to SSE4.1 and OpenBLAS's Nehalem kernels.
# Extra arguments go to the whole-suite `swift test` only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
source tools/blas-env.sh
swift build -c release -Xswiftc -enable-testing --build-tests

# Every suite that reads numbers or bytes made elsewhere (PyTorch/transformers references, the shipped models' check,
# the old-format run folder); the other suites compare runs made in the same test.
fixture_suites='LegacyRunTests|ShippedModelTests|PolicyParityTests|TransformerTests|CLIPModelTests|CLIPPreprocessingTests|OptimTests|SafetensorsTests|PNGTests|CLIPTokenizerTests'
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
if [[ $flags == *" avx512f"* ]]; then
    cap=(PARARL_ISA=avx2 ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell)
elif [[ $flags == *" avx2"* ]]; then
    cap=(PARARL_ISA=portable ONEDNN_MAX_CPU_ISA=SSE41 DNNL_MAX_CPU_ISA=SSE41 OPENBLAS_CORETYPE=Nehalem)
else
    cap=()
fi
if ((${#cap[@]})); then
    echo "test: the suites comparing against fixtures made elsewhere, with the CPU capped: ${cap[*]}"
    env "${cap[@]}" swift test -c release -Xswiftc -enable-testing --disable-xctest --skip-build --filter "$fixture_suites"
fi
swift test -c release -Xswiftc -enable-testing --disable-xctest --skip-build "$@"
