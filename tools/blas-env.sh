# Sourced by the scripts: picks OpenBLAS's AVX-512 kernels on CPUs that have AVX-512 F/BW/DQ/VL
# (Debian's OpenBLAS otherwise runs its AVX2 kernels on AMD Zen 4/5, DESIGN §7). The pararl
# executable does the same by itself; test binaries need it set before they load OpenBLAS.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -r /proc/cpuinfo ]; then
    flags=$(grep -m1 '^flags' /proc/cpuinfo)
    if [[ $flags == *" avx512f"* && $flags == *" avx512bw"* && $flags == *" avx512dq"* && $flags == *" avx512vl"* ]]; then
        export OPENBLAS_CORETYPE=SkylakeX
    fi
fi
