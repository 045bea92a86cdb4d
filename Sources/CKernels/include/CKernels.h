// Element-wise and row kernels of the numerics core in C, each compiled for AVX-512, AVX2+FMA and plain x86-64 (or
// the host's baseline elsewhere) and chosen once at run time from the CPU's features (docs/design.md §7). The Swift layers
// call these; every variant uses the same exp polynomial (Cephes expf), so results differ between CPUs only by
// FMA rounding and summation lanes, and never depend on the thread count.
#ifndef PARARL_CKERNELS_H
#define PARARL_CKERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The instruction set the kernels run: 0 portable C, 1 AVX2+FMA, 2 AVX-512 (F/DQ/BW/VL).
int pk_isa(void);
/// The best instruction set this CPU runs (ignoring PARARL_ISA).
int pk_best_isa(void);
/// Forces the variant for the whole process; a value the CPU cannot run is lowered. Returns the one set.
int pk_set_isa(int isa);
/// The ISA's name: "portable", "avx2", "avx512".
const char *pk_isa_name(int isa);

/// Masked softmax of one attention score row in place: p[j] += bias[j] (bias may be NULL: 0 or -inf per key) for
/// j < keys, then max-subtracted exp and normalisation; p[keys..<t] = 0. A row whose keys are all -inf becomes 0.
void pk_softmax_row(float *p, const float *bias, long keys, long t);

/// out[j] = exp(x[j] - shift) for j < n; returns the sum (out may equal x).
float pk_exp_shifted(float *out, const float *x, float shift, long n);

/// out[i] = silu(gate[i]) * up[i] = gate[i] / (1 + exp(-gate[i])) * up[i].
void pk_swiglu(float *out, const float *gate, const float *up, long n);

/// exp of n values (out may equal x); the scalar reference of the vector paths.
void pk_exp(float *out, const float *x, long n);

/// RMSNorm of `rows` rows of `c`: rstd[i] = 1/sqrt(mean(x²) + eps), out = x·rstd·weight.
void pk_rmsnorm(float *out, float *rstd, const float *inp, const float *weight, long rows, long c, float eps);
/// x[i] += y[i].
void pk_add(float *x, const float *y, long n);
/// Rotary embedding of one token's `heads` heads of `hd` in place (half-split rotate_half): x1' = x1·cos − x2·sin,
/// x2' = x2·cos + x1·sin with sin scaled by `sign` (−1: the transposed rotation of a gradient).
void pk_rope(float *x, const float *cs, const float *sn, long heads, long hd, float sign);

/// The same kernels with the instruction set given (≤ pk_best_isa()): tests compare every variant on one machine.
void pk_softmax_row_with(int isa, float *p, const float *bias, long keys, long t);
float pk_exp_shifted_with(int isa, float *out, const float *x, float shift, long n);
void pk_swiglu_with(int isa, float *out, const float *gate, const float *up, long n);
void pk_exp_with(int isa, float *out, const float *x, long n);
void pk_rmsnorm_with(int isa, float *out, float *rstd, const float *inp, const float *weight, long rows, long c, float eps);
void pk_add_with(int isa, float *x, const float *y, long n);
void pk_rope_with(int isa, float *x, const float *cs, const float *sn, long heads, long hd, float sign);

#ifdef __cplusplus
}
#endif
#endif
