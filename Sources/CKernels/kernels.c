// Run-time dispatched kernels (see include/CKernels.h). Each kernel is written once as a macro-free template over a
// vector width: the AVX-512 variant (16 lanes), the AVX2+FMA one (8 lanes) and the portable scalar one.
#include "CKernels.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define PK_X86 1
#include <immintrin.h>
#endif

// Cephes expf constants (as VectorMath.exp in Swift): range reduction by ln 2, degree-6 polynomial, 2^n by exponent bits.
#define PK_EXP_HI 88.37626f
#define PK_EXP_LO (-87.33654f)
#define PK_LOG2E 1.44269504f
#define PK_C1 0.693359375f
#define PK_C2 (-2.12194440e-4f)
#define PK_MAGIC 12582912.0f

// ---------------------------------------------------------------------------------------------------------------------
// Portable scalar variant.

static inline float exp_scalar(float x) {
    if (x != x) return x;
    if (x < PK_EXP_LO) return 0.0f;
    if (x > PK_EXP_HI) return INFINITY;
    float shifted = x * PK_LOG2E + PK_MAGIC;
    float n = shifted - PK_MAGIC;
    float r = x - n * PK_C1;
    r = r - n * PK_C2;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t bits;
    memcpy(&bits, &shifted, 4);
    int32_t e = ((bits - 0x4B400000) + 127) << 23;
    float scale;
    memcpy(&scale, &e, 4);
    return p * scale;
}

static float exp_shifted_portable(float *out, const float *x, float shift, long n) {
    float sum = 0.0f;
    for (long j = 0; j < n; j++) {
        float e = exp_scalar(x[j] - shift);
        out[j] = e;
        sum += e;
    }
    return sum;
}

static void softmax_row_portable(float *p, const float *bias, long keys, long t) {
    if (bias) for (long j = 0; j < keys; j++) p[j] += bias[j];
    float m = -INFINITY;
    for (long j = 0; j < keys; j++) m = p[j] > m ? p[j] : m;
    if (!(m > -INFINITY)) { memset(p, 0, (size_t)t * sizeof(float)); return; }
    float sum = exp_shifted_portable(p, p, m, keys);
    float inv = 1.0f / sum;
    for (long j = 0; j < keys; j++) p[j] *= inv;
    if (t > keys) memset(p + keys, 0, (size_t)(t - keys) * sizeof(float));
}

static void swiglu_portable(float *out, const float *gate, const float *up, long n) {
    for (long i = 0; i < n; i++) out[i] = gate[i] / (1.0f + exp_scalar(-gate[i])) * up[i];
}

static void exp_portable(float *out, const float *x, long n) {
    for (long i = 0; i < n; i++) out[i] = exp_scalar(x[i]);
}

static void rmsnorm_portable(float *out, float *rstd, const float *inp, const float *weight, long rows, long c, float eps) {
    for (long i = 0; i < rows; i++) {
        const float *x = inp + i * c;
        float ss = 0.0f;
        for (long j = 0; j < c; j++) ss += x[j] * x[j];
        float r = 1.0f / sqrtf(ss / (float)c + eps);
        rstd[i] = r;
        for (long j = 0; j < c; j++) out[i * c + j] = (x[j] * r) * weight[j];
    }
}

static void add_portable(float *x, const float *y, long n) {
    for (long i = 0; i < n; i++) x[i] += y[i];
}

static void rope_portable(float *x, const float *cs, const float *sn, long heads, long hd, float sign) {
    long half = hd / 2;
    for (long h = 0; h < heads; h++) {
        float *x1 = x + h * hd, *x2 = x1 + half;
        for (long i = 0; i < half; i++) {
            float a = x1[i], b = x2[i], s = sign * sn[i];
            x1[i] = a * cs[i] - b * s;
            x2[i] = b * cs[i] + a * s;
        }
    }
}

#ifdef PK_X86
// ---------------------------------------------------------------------------------------------------------------------
// AVX2 + FMA variant (8 lanes).

#define PK_AVX2 __attribute__((target("avx2,fma")))

PK_AVX2 static inline __m256 exp8(__m256 x) {
    const __m256 hi = _mm256_set1_ps(PK_EXP_HI), lo = _mm256_set1_ps(PK_EXP_LO);
    __m256 xc = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    const __m256 magic = _mm256_set1_ps(PK_MAGIC);
    __m256 shifted = _mm256_fmadd_ps(xc, _mm256_set1_ps(PK_LOG2E), magic);
    __m256 n = _mm256_sub_ps(shifted, magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(PK_C1), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(PK_C2), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i bits = _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(0x4B400000));
    __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(127)), 23));
    __m256 y = _mm256_mul_ps(p, scale);
    y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, lo, _CMP_LT_OQ));
    y = _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(x, hi, _CMP_GT_OQ));
    y = _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    return y;
}

PK_AVX2 static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

PK_AVX2 static inline float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

PK_AVX2 static inline __m256i tail_mask8(long rest) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)rest), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

PK_AVX2 static float exp_shifted_avx2(float *out, const float *x, float shift, long n) {
    const __m256 s = _mm256_set1_ps(shift);
    __m256 acc = _mm256_setzero_ps();
    long j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j), s));
        _mm256_storeu_ps(out + j, e);
        acc = _mm256_add_ps(acc, e);
    }
    if (j < n) {
        __m256i m = tail_mask8(n - j);
        __m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(x + j, m), s));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(m));
        _mm256_maskstore_ps(out + j, m, e);
        acc = _mm256_add_ps(acc, e);
    }
    return hsum8(acc);
}

PK_AVX2 static void softmax_row_avx2(float *p, const float *bias, long keys, long t) {
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    long j = 0;
    for (; j + 8 <= keys; j += 8) {
        __m256 v = _mm256_loadu_ps(p + j);
        if (bias) { v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j)); _mm256_storeu_ps(p + j, v); }
        vmax = _mm256_max_ps(vmax, v);
    }
    float m = hmax8(vmax);
    for (; j < keys; j++) {
        if (bias) p[j] += bias[j];
        m = p[j] > m ? p[j] : m;
    }
    if (!(m > -INFINITY)) { memset(p, 0, (size_t)t * sizeof(float)); return; }
    float sum = exp_shifted_avx2(p, p, m, keys);
    const __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (j = 0; j + 8 <= keys; j += 8) _mm256_storeu_ps(p + j, _mm256_mul_ps(_mm256_loadu_ps(p + j), inv));
    for (; j < keys; j++) p[j] *= _mm256_cvtss_f32(inv);
    if (t > keys) memset(p + keys, 0, (size_t)(t - keys) * sizeof(float));
}

PK_AVX2 static void swiglu_avx2(float *out, const float *gate, const float *up, long n) {
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(gate + i);
        __m256 e = exp8(_mm256_sub_ps(zero, g));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)));
    }
    if (i < n) {
        __m256i m = tail_mask8(n - i);
        __m256 g = _mm256_maskload_ps(gate + i, m);
        __m256 e = exp8(_mm256_sub_ps(zero, g));
        _mm256_maskstore_ps(out + i, m, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_maskload_ps(up + i, m)));
    }
}

PK_AVX2 static void exp_avx2(float *out, const float *x, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, exp8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        __m256i m = tail_mask8(n - i);
        _mm256_maskstore_ps(out + i, m, exp8(_mm256_maskload_ps(x + i, m)));
    }
}

// ---------------------------------------------------------------------------------------------------------------------
// AVX-512 variant (16 lanes, masked tails).

#define PK_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))

PK_AVX512 static inline __m512 exp16(__m512 x) {
    const __m512 hi = _mm512_set1_ps(PK_EXP_HI), lo = _mm512_set1_ps(PK_EXP_LO);
    __m512 xc = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
    const __m512 magic = _mm512_set1_ps(PK_MAGIC);
    __m512 shifted = _mm512_fmadd_ps(xc, _mm512_set1_ps(PK_LOG2E), magic);
    __m512 n = _mm512_sub_ps(shifted, magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(PK_C1), xc);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(PK_C2), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i bits = _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(0x4B400000));
    __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(127)), 23));
    __m512 y = _mm512_mul_ps(p, scale);
    y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), _mm512_setzero_ps());
    y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ), _mm512_set1_ps(INFINITY));
    y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
    return y;
}

PK_AVX512 static inline __mmask16 tail_mask16(long rest) { return (__mmask16)((1u << rest) - 1u); }

PK_AVX512 static float exp_shifted_avx512(float *out, const float *x, float shift, long n) {
    const __m512 s = _mm512_set1_ps(shift);
    __m512 acc = _mm512_setzero_ps();
    long j = 0;
    for (; j + 16 <= n; j += 16) {
        __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + j), s));
        _mm512_storeu_ps(out + j, e);
        acc = _mm512_add_ps(acc, e);
    }
    if (j < n) {
        __mmask16 m = tail_mask16(n - j);
        __m512 e = _mm512_maskz_mov_ps(m, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), s)));
        _mm512_mask_storeu_ps(out + j, m, e);
        acc = _mm512_add_ps(acc, e);
    }
    return _mm512_reduce_add_ps(acc);
}

PK_AVX512 static void softmax_row_avx512(float *p, const float *bias, long keys, long t) {
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    long j = 0;
    for (; j < keys; j += 16) {
        __mmask16 m = keys - j >= 16 ? (__mmask16)0xFFFF : tail_mask16(keys - j);
        __m512 v = _mm512_maskz_loadu_ps(m, p + j);
        if (bias) { v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + j)); _mm512_mask_storeu_ps(p + j, m, v); }
        vmax = _mm512_mask_max_ps(vmax, m, vmax, v);
    }
    float mx = _mm512_reduce_max_ps(vmax);
    if (!(mx > -INFINITY)) { memset(p, 0, (size_t)t * sizeof(float)); return; }
    float sum = exp_shifted_avx512(p, p, mx, keys);
    const __m512 inv = _mm512_set1_ps(1.0f / sum);
    for (j = 0; j < keys; j += 16) {
        __mmask16 m = keys - j >= 16 ? (__mmask16)0xFFFF : tail_mask16(keys - j);
        _mm512_mask_storeu_ps(p + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p + j), inv));
    }
    if (t > keys) memset(p + keys, 0, (size_t)(t - keys) * sizeof(float));
}

PK_AVX512 static void swiglu_avx512(float *out, const float *gate, const float *up, long n) {
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
    for (long i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask16(n - i);
        __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        __m512 e = exp16(_mm512_sub_ps(zero, g));
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(one, e)), _mm512_maskz_loadu_ps(m, up + i)));
    }
}

PK_AVX512 static void exp_avx512(float *out, const float *x, long n) {
    for (long i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask16(n - i);
        _mm512_mask_storeu_ps(out + i, m, exp16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

PK_AVX512 static void rmsnorm_avx512(float *out, float *rstd, const float *inp, const float *weight, long rows, long c, float eps) {
    for (long i = 0; i < rows; i++) {
        const float *x = inp + i * c;
        float *o = out + i * c;
        __m512 acc = _mm512_setzero_ps();
        for (long j = 0; j < c; j += 16) {
            __mmask16 m = c - j >= 16 ? (__mmask16)0xFFFF : tail_mask16(c - j);
            __m512 v = _mm512_maskz_loadu_ps(m, x + j);
            acc = _mm512_fmadd_ps(v, v, acc);
        }
        float r = 1.0f / sqrtf(_mm512_reduce_add_ps(acc) / (float)c + eps);
        rstd[i] = r;
        const __m512 vr = _mm512_set1_ps(r);
        for (long j = 0; j < c; j += 16) {
            __mmask16 m = c - j >= 16 ? (__mmask16)0xFFFF : tail_mask16(c - j);
            __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + j), vr), _mm512_maskz_loadu_ps(m, weight + j));
            _mm512_mask_storeu_ps(o + j, m, v);
        }
    }
}

PK_AVX512 static void add_avx512(float *x, const float *y, long n) {
    for (long i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask16(n - i);
        _mm512_mask_storeu_ps(x + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
    }
}

PK_AVX512 static void rope_avx512(float *x, const float *cs, const float *sn, long heads, long hd, float sign) {
    long half = hd / 2;
    for (long h = 0; h < heads; h++) {
        float *x1 = x + h * hd, *x2 = x1 + half;
        for (long i = 0; i < half; i += 16) {
            __mmask16 m = half - i >= 16 ? (__mmask16)0xFFFF : tail_mask16(half - i);
            __m512 a = _mm512_maskz_loadu_ps(m, x1 + i), b = _mm512_maskz_loadu_ps(m, x2 + i);
            __m512 c = _mm512_maskz_loadu_ps(m, cs + i), s = _mm512_mul_ps(_mm512_set1_ps(sign), _mm512_maskz_loadu_ps(m, sn + i));
            _mm512_mask_storeu_ps(x1 + i, m, _mm512_sub_ps(_mm512_mul_ps(a, c), _mm512_mul_ps(b, s)));
            _mm512_mask_storeu_ps(x2 + i, m, _mm512_add_ps(_mm512_mul_ps(b, c), _mm512_mul_ps(a, s)));
        }
    }
}

PK_AVX2 static void rmsnorm_avx2(float *out, float *rstd, const float *inp, const float *weight, long rows, long c, float eps) {
    for (long i = 0; i < rows; i++) {
        const float *x = inp + i * c;
        float *o = out + i * c;
        __m256 acc = _mm256_setzero_ps();
        long j = 0;
        for (; j + 8 <= c; j += 8) { __m256 v = _mm256_loadu_ps(x + j); acc = _mm256_fmadd_ps(v, v, acc); }
        float ss = hsum8(acc);
        for (; j < c; j++) ss += x[j] * x[j];
        float r = 1.0f / sqrtf(ss / (float)c + eps);
        rstd[i] = r;
        const __m256 vr = _mm256_set1_ps(r);
        for (j = 0; j + 8 <= c; j += 8)
            _mm256_storeu_ps(o + j, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + j), vr), _mm256_loadu_ps(weight + j)));
        for (; j < c; j++) o[j] = (x[j] * r) * weight[j];
    }
}

PK_AVX2 static void add_avx2(float *x, const float *y, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_add_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) x[i] += y[i];
}

PK_AVX2 static void rope_avx2(float *x, const float *cs, const float *sn, long heads, long hd, float sign) {
    long half = hd / 2;
    const __m256 vsign = _mm256_set1_ps(sign);
    for (long h = 0; h < heads; h++) {
        float *x1 = x + h * hd, *x2 = x1 + half;
        long i = 0;
        for (; i + 8 <= half; i += 8) {
            __m256 a = _mm256_loadu_ps(x1 + i), b = _mm256_loadu_ps(x2 + i);
            __m256 c = _mm256_loadu_ps(cs + i), s = _mm256_mul_ps(vsign, _mm256_loadu_ps(sn + i));
            _mm256_storeu_ps(x1 + i, _mm256_sub_ps(_mm256_mul_ps(a, c), _mm256_mul_ps(b, s)));
            _mm256_storeu_ps(x2 + i, _mm256_add_ps(_mm256_mul_ps(b, c), _mm256_mul_ps(a, s)));
        }
        for (; i < half; i++) {
            float a = x1[i], b = x2[i], s = sign * sn[i];
            x1[i] = a * cs[i] - b * s;
            x2[i] = b * cs[i] + a * s;
        }
    }
}
#endif

// ---------------------------------------------------------------------------------------------------------------------
// Dispatch.

static int detect_isa(void) {
#ifdef PK_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma")) return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}

static int chosen = -1, best = -1;

/// The best ISA, detected once.
static int best_isa(void) {
    int b = __atomic_load_n(&best, __ATOMIC_RELAXED);
    if (b < 0) {
        b = detect_isa();
        __atomic_store_n(&best, b, __ATOMIC_RELAXED);
    }
    return b;
}

/// `isa` lowered to what this CPU runs.
static inline int runnable(int isa) {
    int b = best_isa();
    return isa > b ? b : isa;
}

static int current(void) {
    int isa = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (isa < 0) {
        isa = best_isa();
        const char *env = getenv("PARARL_ISA");
        if (env) {
            int want = strcmp(env, "portable") == 0 ? 0 : strcmp(env, "avx2") == 0 ? 1 : strcmp(env, "avx512") == 0 ? 2 : isa;
            if (want < isa) isa = want;
        }
        __atomic_store_n(&chosen, isa, __ATOMIC_RELAXED);
    }
    return isa;
}

int pk_isa(void) { return current(); }

int pk_best_isa(void) { return best_isa(); }

int pk_set_isa(int isa) {
    isa = runnable(isa);
    if (isa < 0) isa = 0;
    __atomic_store_n(&chosen, isa, __ATOMIC_RELAXED);
    return isa;
}

const char *pk_isa_name(int isa) { return isa == 2 ? "avx512" : isa == 1 ? "avx2" : "portable"; }

void pk_softmax_row_with(int isa, float *p, const float *bias, long keys, long t) {
#ifdef PK_X86
    switch (runnable(isa)) {
    case 2: softmax_row_avx512(p, bias, keys, t); return;
    case 1: softmax_row_avx2(p, bias, keys, t); return;
    default: break;
    }
#endif
    softmax_row_portable(p, bias, keys, t);
}

float pk_exp_shifted_with(int isa, float *out, const float *x, float shift, long n) {
#ifdef PK_X86
    switch (runnable(isa)) {
    case 2: return exp_shifted_avx512(out, x, shift, n);
    case 1: return exp_shifted_avx2(out, x, shift, n);
    default: break;
    }
#endif
    return exp_shifted_portable(out, x, shift, n);
}

void pk_swiglu_with(int isa, float *out, const float *gate, const float *up, long n) {
#ifdef PK_X86
    switch (runnable(isa)) {
    case 2: swiglu_avx512(out, gate, up, n); return;
    case 1: swiglu_avx2(out, gate, up, n); return;
    default: break;
    }
#endif
    swiglu_portable(out, gate, up, n);
}

void pk_exp_with(int isa, float *out, const float *x, long n) {
#ifdef PK_X86
    switch (runnable(isa)) {
    case 2: exp_avx512(out, x, n); return;
    case 1: exp_avx2(out, x, n); return;
    default: break;
    }
#endif
    exp_portable(out, x, n);
}

void pk_softmax_row(float *p, const float *bias, long keys, long t) { pk_softmax_row_with(current(), p, bias, keys, t); }
float pk_exp_shifted(float *out, const float *x, float shift, long n) { return pk_exp_shifted_with(current(), out, x, shift, n); }
void pk_swiglu(float *out, const float *gate, const float *up, long n) { pk_swiglu_with(current(), out, gate, up, n); }
void pk_exp(float *out, const float *x, long n) { pk_exp_with(current(), out, x, n); }

void pk_rmsnorm_with(int isa, float *out, float *rstd, const float *inp, const float *weight, long rows, long c, float eps) {
#ifdef PK_X86
    switch (runnable(isa)) {
    case 2: rmsnorm_avx512(out, rstd, inp, weight, rows, c, eps); return;
    case 1: rmsnorm_avx2(out, rstd, inp, weight, rows, c, eps); return;
    default: break;
    }
#endif
    rmsnorm_portable(out, rstd, inp, weight, rows, c, eps);
}

void pk_add_with(int isa, float *x, const float *y, long n) {
#ifdef PK_X86
    switch (runnable(isa)) {
    case 2: add_avx512(x, y, n); return;
    case 1: add_avx2(x, y, n); return;
    default: break;
    }
#endif
    add_portable(x, y, n);
}

void pk_rope_with(int isa, float *x, const float *cs, const float *sn, long heads, long hd, float sign) {
#ifdef PK_X86
    switch (runnable(isa)) {
    case 2: rope_avx512(x, cs, sn, heads, hd, sign); return;
    case 1: rope_avx2(x, cs, sn, heads, hd, sign); return;
    default: break;
    }
#endif
    rope_portable(x, cs, sn, heads, hd, sign);
}

void pk_rmsnorm(float *out, float *rstd, const float *inp, const float *weight, long rows, long c, float eps) {
    pk_rmsnorm_with(current(), out, rstd, inp, weight, rows, c, eps);
}
void pk_add(float *x, const float *y, long n) { pk_add_with(current(), x, y, n); }
void pk_rope(float *x, const float *cs, const float *sn, long heads, long hd, float sign) {
    pk_rope_with(current(), x, cs, sn, heads, hd, sign);
}
