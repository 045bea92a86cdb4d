# Sourced by the scripts: the BLAS/OpenMP environment the pararl executable sets for itself (see
# Sources/ParaRLCLI/BLASEnvironment.swift); test binaries need it set before they load the libraries.
# - OpenBLAS's AVX-512 kernels on CPUs with AVX-512 F/BW/DQ/VL (Debian's OpenBLAS otherwise runs its
#   AVX2 kernels on AMD Zen 4/5, docs/design.md §7);
# - passive OpenMP waiting, so idle oneDNN workers do not spin on the cores the other kernels use.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -r /proc/cpuinfo ]; then
    flags=$(grep -m1 '^flags' /proc/cpuinfo)
    if [[ $flags == *" avx512f"* && $flags == *" avx512bw"* && $flags == *" avx512dq"* && $flags == *" avx512vl"* ]]; then
        export OPENBLAS_CORETYPE=SkylakeX
    fi
fi
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
