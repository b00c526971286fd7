// AVX-512 rows for int8 add/sub and mul (the generic xsimd rows in kernels/elementwise/add_sub.hpp
// and mul.hpp serve every other arch, and AVX-512 parameters these rows do not cover).
//
// Output stage (both ops), per 16 int32 lanes holding 2^pre_shift * x (the doubling folded into
// the operands): the fused requantization of core/fused_requantization.hpp, i.e. the high dwords
// of 2^pre_shift x m + constant (vpmuldq on even and odd lanes, one vpermt2d), the sign
// correction, the final arithmetic shift and the unfolded zero point; then vpackssdw/vpacksswb
// (the saturating narrow) and the activation clamp in int8.
//
// mul: the inputs widened to int16 with the zero points subtracted and a << pre_shift
//   (|a + o1| <= 255, so pre_shift <= 7 keeps it in int16); vpmaddwd of b with a's even or odd
//   words masked gives the exact products of even and odd elements. A final byte permute
//   restores element order. Where prepare found it exact for every input pair, the output
//   stage is instead the float form of kernels/elementwise/mul_float_form.hpp (3 instructions
//   per 16 lanes instead of ~9; no pre_shift).
// add/sub (needs VBMI): the sum X = H (y + o_h) + G(x) of add_sub.hpp's table form (y the
//   operand whose multiplier is exactly 1/2, x the other, G(x) = ±its rescaled value written as
//   beta x + gamma + r(x), r in a 256-byte table) is formed per lane from word pairs:
//     [256 x, 256 y] . [beta_hi, H / 256]  +  [x + 128, r(x) + 128] . [beta_lo, 1]  +  K
//   (all scaled by 2^pre_shift), one vpmaddwd/vpdpwssd each. The pairs are assembled with
//   zero-masked vpermt2b in the lane order that vpackssdw/vpacksswb turn back into element order.
//   Every step is exact integer arithmetic (wrapping partial sums, exact final int32), so each
//   lane equals the scalar spec; tests/elementwise_simd/test_exhaustive_int8.cpp checks all 65,536
//   input pairs for hundreds of parameter sets.
#pragma once

#include <cstdint>

#include "qkern/core/fused_requantization.hpp"
#include "qkern/kernels/elementwise/mul_float_form.hpp"
#include "qkern/simd/arch.hpp"
#include "qkern/simd/requantize_lanes.hpp"

#if XSIMD_WITH_AVX512BW
#include <immintrin.h>

#include "qkern/simd/byte_lookup.hpp"
#endif

// The rows' loops and per-block steps, forced inline. operator() runs the loop on a local copy
// of the row; left as a call, the loop reads every constant through `this` again after each
// store to `out` (int8 stores may alias the row), and a block left as a call passes its
// vectors through memory. GCC's inliner dropped both as these headers grew (same-shape add at
// half speed, then mul at two thirds).
#if defined(__GNUC__) || defined(__clang__)
#define QKERN_AVX512_INLINE inline __attribute__((always_inline))
#else
#define QKERN_AVX512_INLINE inline
#endif

namespace qkern {
namespace simd {
namespace detail {

#if XSIMD_WITH_AVX512BW

// What every output stage ends with: saturating narrow of four int32 vectors to bytes, then
// the activation clamp. Byte 16k + t of the result comes from r[t / 4], lane 4k + t % 4.
struct avx512_int8_narrowing {
  __m512i activation_min;
  __m512i activation_max;

  avx512_int8_narrowing(std::int32_t act_min, std::int32_t act_max) noexcept
      : activation_min(_mm512_set1_epi8(static_cast<char>(act_min))),
        activation_max(_mm512_set1_epi8(static_cast<char>(act_max))) {}

  QKERN_AVX512_INLINE __m512i narrow(__m512i r0, __m512i r1, __m512i r2, __m512i r3) const noexcept {
    const __m512i bytes = _mm512_packs_epi16(_mm512_packs_epi32(r0, r1), _mm512_packs_epi32(r2, r3));
    return _mm512_min_epi8(_mm512_max_epi8(bytes, activation_min), activation_max);
  }
};

// The fused output requantization + saturating narrow + clamp, on doubled int32 lanes.
template <class A, bool SignCorrection, bool ZeroPointAfter>
struct avx512_int8_output_stage : avx512_int8_narrowing {
  static constexpr bool doubled_input = true;  // requantize takes 2^pre_shift x
  __m512i multiplier;
  __m512i constant;
  __m512i high_index;
  __m128i final_shift;
  __m512i zero_point;

  avx512_int8_output_stage(const fused_requantization& f, std::int32_t act_min, std::int32_t act_max) noexcept
      : avx512_int8_narrowing(act_min, act_max),
        multiplier(_mm512_set1_epi64(f.multiplier)),
        constant(_mm512_set1_epi64(f.constant)),
        // lane 2i: the even product's high dword (2i + 1); lane 2i + 1: the odd one's (16 + 2i + 1)
        high_index(_mm512_set_epi32(31, 15, 29, 13, 27, 11, 25, 9, 23, 7, 21, 5, 19, 3, 17, 1)),
        final_shift(_mm_cvtsi32_si128(f.final_shift)),
        zero_point(_mm512_set1_epi32(f.zero_point_after)) {}

  // x holds 2^pre_shift * (the value to requantize).
  QKERN_AVX512_INLINE __m512i requantize(__m512i x) const noexcept {
    const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(x, multiplier), constant);
    const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), multiplier), constant);
    __m512i high = _mm512_permutex2var_epi32(even, high_index, odd);
    if (SignCorrection) high = _mm512_add_epi32(high, _mm512_srai_epi32(x, 31));
    high = _mm512_sra_epi32(high, final_shift);
    if (ZeroPointAfter) high = _mm512_add_epi32(high, zero_point);
    return high;
  }
};

// mul's float output stage (kernels/elementwise/mul_float_form.hpp): floor(P f + c) per lane,
// c chosen by the sign of the exact product P, both roundings downward.
template <bool SplitSign>
struct avx512_mul_float_stage : avx512_int8_narrowing {
  static constexpr bool doubled_input = false;
  __m512 multiplier;
  __m512 constant_nonnegative;
  __m512 constant_negative;

  avx512_mul_float_stage(const int8_mul_float_form& f, std::int32_t act_min, std::int32_t act_max) noexcept
      : avx512_int8_narrowing(act_min, act_max),
        multiplier(_mm512_set1_ps(f.multiplier)),
        constant_nonnegative(_mm512_set1_ps(f.constant_nonnegative)),
        constant_negative(_mm512_set1_ps(f.constant_negative)) {}

  QKERN_AVX512_INLINE __m512i requantize(__m512i product) const noexcept {
    __m512 constant = constant_nonnegative;
    if (SplitSign) {
      constant = _mm512_mask_blend_ps(_mm512_cmplt_epi32_mask(product, _mm512_setzero_si512()), constant_nonnegative,
                                      constant_negative);
    }
    return ::qkern::simd::detail::floor_multiply_add_lanes(product, multiplier, constant);
  }
};

inline __mmask64 avx512_tail_mask(std::int64_t count) noexcept {
  return count >= 64 ? ~__mmask64{0} : (__mmask64{1} << count) - 1;
}

// ---- mul ----------------------------------------------------------------------------------

// Whether the AVX-512 mul row covers p (the fused output form exists and a << pre_shift fits int16).
template <class Params>
bool avx512_mul_int8_applies(const Params& p) noexcept {
  return p.has_fused_output && p.fused_output.pre_shift <= 7;
}

// Stage: avx512_int8_output_stage (pre_shift from p.fused_output) or avx512_mul_float_stage
// (pre_shift 0).
template <class A, class Params, class Stage>
struct avx512_mul_int8_row {
  Stage out_stage;
  __m128i pre_shift;
  __m512i offset1;  // o1 << pre_shift, words
  __m512i offset2;  // words
  __m512i even_words;
  __m512i order;  // VBMI: the byte permute back to element order

  avx512_mul_int8_row(const Params& p, const Stage& stage, int shift) noexcept
      : out_stage(stage),
        pre_shift(_mm_cvtsi32_si128(shift)),
        offset1(_mm512_set1_epi16(static_cast<short>(p.input1_offset * (1 << shift)))),
        offset2(_mm512_set1_epi16(static_cast<short>(p.input2_offset))),
        even_words(_mm512_set1_epi32(0xFFFF)),
        order(make_order()) {}

  // After the packs, byte 16k + t holds element: t < 4: 8k + 2t; t < 8: 8k + 2(t - 4) + 1;
  // t < 12: 32 + 8k + 2(t - 8); else 32 + 8k + 2(t - 12) + 1. `order` is the inverse map.
  static int packed_element(int position) noexcept {
    const int k = position / 16;
    const int t = position % 16;
    const int base = (t < 8 ? 0 : 32) + 8 * k;
    const int u = t % 8;
    return base + (u < 4 ? 2 * u : 2 * (u - 4) + 1);
  }
  static __m512i make_order() noexcept {
    alignas(64) std::int8_t index[64] = {};
    for (int position = 0; position < 64; ++position) index[packed_element(position)] = static_cast<std::int8_t>(position);
    return _mm512_load_si512(index);
  }
  QKERN_AVX512_INLINE __m512i restore_order(__m512i bytes) const noexcept {
#if defined(__AVX512VBMI__)
    return _mm512_permutexvar_epi8(order, bytes);
#else
    // Within each 128-bit lane k: [8k..8k+7 | 32+8k..32+8k+7] (one pshufb), then the qwords in order.
    const __m512i in_lane = _mm512_shuffle_epi8(
        bytes, _mm512_set4_epi32(0x0F0B0E0A, 0x0D090C08, 0x07030602, 0x05010400));
    return _mm512_permutexvar_epi64(_mm512_set_epi64(7, 5, 3, 1, 6, 4, 2, 0), in_lane);
#endif
  }

  struct prepared {  // a's words, << pre_shift, offset, split into even and odd words
    __m512i even0, odd0, even1, odd1;
  };
  QKERN_AVX512_INLINE prepared prepare_first(__m512i lo, __m512i hi) const noexcept {
    if (Stage::doubled_input) {
      lo = _mm512_sll_epi16(lo, pre_shift);
      hi = _mm512_sll_epi16(hi, pre_shift);
    }
    lo = _mm512_add_epi16(lo, offset1);
    hi = _mm512_add_epi16(hi, offset1);
    return {_mm512_and_si512(lo, even_words), _mm512_andnot_si512(even_words, lo), _mm512_and_si512(hi, even_words),
            _mm512_andnot_si512(even_words, hi)};
  }
  QKERN_AVX512_INLINE static __m512i widen_low(__m512i v) noexcept {
    return _mm512_cvtepi8_epi16(_mm512_castsi512_si256(v));
  }
  QKERN_AVX512_INLINE static __m512i widen_high(__m512i v) noexcept {
    return _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(v, 1));
  }
  QKERN_AVX512_INLINE prepared load_first(const std::int8_t* a, __mmask64 mask) const noexcept {
    const __m512i v = _mm512_maskz_loadu_epi8(mask, a);
    return prepare_first(widen_low(v), widen_high(v));
  }
  QKERN_AVX512_INLINE prepared load_first(const std::int8_t* a) const noexcept {
    return prepare_first(_mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a))),
                         _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 32))));
  }
  struct second {
    __m512i lo, hi;
  };
  QKERN_AVX512_INLINE second prepare_second(__m512i lo, __m512i hi) const noexcept {
    return {_mm512_add_epi16(lo, offset2), _mm512_add_epi16(hi, offset2)};
  }
  QKERN_AVX512_INLINE second load_second(const std::int8_t* b, __mmask64 mask) const noexcept {
    const __m512i v = _mm512_maskz_loadu_epi8(mask, b);
    return prepare_second(widen_low(v), widen_high(v));
  }
  QKERN_AVX512_INLINE second load_second(const std::int8_t* b) const noexcept {
    return prepare_second(_mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b))),
                          _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 32))));
  }
  QKERN_AVX512_INLINE __m512i block(const prepared& a, const second& b) const noexcept {
    const auto& s = out_stage;
    const __m512i r0 = s.requantize(_mm512_madd_epi16(a.even0, b.lo));
    const __m512i r1 = s.requantize(_mm512_madd_epi16(a.odd0, b.lo));
    const __m512i r2 = s.requantize(_mm512_madd_epi16(a.even1, b.hi));
    const __m512i r3 = s.requantize(_mm512_madd_epi16(a.odd1, b.hi));
    return restore_order(s.narrow(r0, r1, r2, r3));
  }

  // The constants copied to a local: stores through `out` (int8) could alias *this, which would
  // reload every constant in every iteration.
  void operator()(const std::int8_t* a, int a_step, const std::int8_t* b, int b_step, std::int8_t* out,
                  std::int64_t n) const noexcept {
    if (n < 1024) return run(a, a_step, b, b_step, out, n);  // short rows: the copy would dominate
    const avx512_mul_int8_row self = *this;
    self.run(a, a_step, b, b_step, out, n);
  }

  // The inner-vector broadcast (SE blocks, binary_rows_repeating): `vector` (inner elements)
  // is widened and offset once, then multiplied into each of `rows` rows of `big`.
  static constexpr std::int64_t max_vector = 1024;
  void run_repeated(const std::int8_t* vector, bool vector_is_first, const std::int8_t* big, std::int8_t* out,
                    std::int64_t inner, std::int64_t rows) const noexcept {
    const avx512_mul_int8_row k = *this;
    const std::int64_t blocks = (inner + 63) / 64;
    const __mmask64 last = avx512_tail_mask(inner - 64 * (blocks - 1));
    if (vector_is_first) {
      prepared cached[max_vector / 64];
      for (std::int64_t j = 0; j < blocks; ++j) {
        cached[j] = k.load_first(vector + 64 * j, j + 1 < blocks ? ~__mmask64{0} : last);
      }
      for (std::int64_t r = 0; r < rows; ++r, big += inner, out += inner) {
        std::int64_t j = 0;
        for (; j + 1 < blocks; ++j) _mm512_storeu_si512(out + 64 * j, k.block(cached[j], k.load_second(big + 64 * j)));
        _mm512_mask_storeu_epi8(out + 64 * j, last, k.block(cached[j], k.load_second(big + 64 * j, last)));
      }
    } else {
      second cached[max_vector / 64];
      for (std::int64_t j = 0; j < blocks; ++j) {
        cached[j] = k.load_second(vector + 64 * j, j + 1 < blocks ? ~__mmask64{0} : last);
      }
      for (std::int64_t r = 0; r < rows; ++r, big += inner, out += inner) {
        std::int64_t j = 0;
        for (; j + 1 < blocks; ++j) _mm512_storeu_si512(out + 64 * j, k.block(k.load_first(big + 64 * j), cached[j]));
        _mm512_mask_storeu_epi8(out + 64 * j, last, k.block(k.load_first(big + 64 * j, last), cached[j]));
      }
    }
  }
  QKERN_AVX512_INLINE void run(const std::int8_t* a, int a_step, const std::int8_t* b, int b_step, std::int8_t* out,
                               std::int64_t n) const noexcept {
    std::int64_t i = 0;
    if (a_step == 0) {
      const prepared pa = prepare_first(_mm512_set1_epi16(a[0]), _mm512_set1_epi16(a[0]));
      for (; i + 64 <= n; i += 64) _mm512_storeu_si512(out + i, block(pa, load_second(b + i)));
      if (i < n) {
        const __mmask64 m = avx512_tail_mask(n - i);
        _mm512_mask_storeu_epi8(out + i, m, block(pa, load_second(b + i, m)));
      }
    } else if (b_step == 0) {
      const second pb = prepare_second(_mm512_set1_epi16(b[0]), _mm512_set1_epi16(b[0]));
      for (; i + 64 <= n; i += 64) _mm512_storeu_si512(out + i, block(load_first(a + i), pb));
      if (i < n) {
        const __mmask64 m = avx512_tail_mask(n - i);
        _mm512_mask_storeu_epi8(out + i, m, block(load_first(a + i, m), pb));
      }
    } else {
      for (; i + 64 <= n; i += 64) _mm512_storeu_si512(out + i, block(load_first(a + i), load_second(b + i)));
      if (i < n) {
        const __mmask64 m = avx512_tail_mask(n - i);
        _mm512_mask_storeu_epi8(out + i, m, block(load_first(a + i, m), load_second(b + i, m)));
      }
    }
  }
};

// ---- add / sub ------------------------------------------------------------------------------

#if defined(__AVX512VBMI__)
// Params: add_sub_fields with has_table_form (see add_sub.hpp). FirstIsHalf: y = input1.
template <class A, class Params, bool FirstIsHalf, bool SignCorrection, bool ZeroPointAfter>
struct avx512_add_sub_int8_row {
  avx512_int8_output_stage<A, SignCorrection, ZeroPointAfter> out_stage;
  avx512_byte_lookup<A, true> residual;
  __m512i coefficients1;  // words [beta_hi, H / 256] << pre_shift
  __m512i coefficients2;  // words [beta_lo, 1] << pre_shift
  __m512i constant;       // K << pre_shift
  __m512i flip;
  __m512i index1[4];
  __m512i index2[4];

  static std::int32_t word_pair(std::int32_t low, std::int32_t high) noexcept {
    return static_cast<std::int32_t>((static_cast<std::uint32_t>(high) << 16) | (static_cast<std::uint32_t>(low) & 0xFFFFu));
  }

  explicit avx512_add_sub_int8_row(const Params& p) noexcept
      : out_stage(p.fused_output, p.output_activation_min, p.output_activation_max),
        residual(reinterpret_cast<const std::int8_t*>(p.table_residual)),
        coefficients1(_mm512_set1_epi32(word_pair(p.table_coefficients[0], p.table_coefficients[1]))),
        coefficients2(_mm512_set1_epi32(word_pair(p.table_coefficients[2], p.table_coefficients[3]))),
        constant(_mm512_set1_epi32(p.table_constant)),
        flip(_mm512_set1_epi8(static_cast<char>(0x80))) {
    // Vector j, lane d holds element e = 16 (d / 4) + 4 j + d % 4.
    for (int j = 0; j < 4; ++j) {
      alignas(64) std::int8_t i1[64] = {};
      alignas(64) std::int8_t i2[64] = {};
      for (int d = 0; d < 16; ++d) {
        const int e = 16 * (d / 4) + 4 * j + d % 4;
        i1[4 * d + 1] = static_cast<std::int8_t>(e);       // x
        i1[4 * d + 3] = static_cast<std::int8_t>(64 + e);  // y
        i2[4 * d] = static_cast<std::int8_t>(e);           // x + 128
        i2[4 * d + 2] = static_cast<std::int8_t>(64 + e);  // r(x) + 128
      }
      index1[j] = _mm512_load_si512(i1);
      index2[j] = _mm512_load_si512(i2);
    }
  }

  struct table_operand {
    __m512i x, x_plus_128, r_plus_128;
  };
  QKERN_AVX512_INLINE table_operand prepare_x(__m512i x) const noexcept {
    return {x, _mm512_xor_si512(x, flip), residual(x)};
  }

  QKERN_AVX512_INLINE __m512i block(const table_operand& x, __m512i y) const noexcept {
    constexpr __mmask64 odd_bytes = 0xAAAAAAAAAAAAAAAAull;
    constexpr __mmask64 even_bytes = 0x5555555555555555ull;
    __m512i r[4];
    for (int j = 0; j < 4; ++j) {
      const __m512i pair1 = _mm512_maskz_permutex2var_epi8(odd_bytes, x.x, index1[j], y);
      const __m512i pair2 = _mm512_maskz_permutex2var_epi8(even_bytes, x.x_plus_128, index2[j], x.r_plus_128);
#if defined(__AVX512VNNI__)
      const __m512i sum = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(constant, pair1, coefficients1), pair2, coefficients2);
#else
      const __m512i sum = _mm512_add_epi32(_mm512_add_epi32(constant, _mm512_madd_epi16(pair1, coefficients1)),
                                           _mm512_madd_epi16(pair2, coefficients2));
#endif
      r[j] = out_stage.requantize(sum);
    }
    return out_stage.narrow(r[0], r[1], r[2], r[3]);
  }

  void operator()(const std::int8_t* a, int a_step, const std::int8_t* b, int b_step, std::int8_t* out,
                  std::int64_t n) const noexcept {
    if (n < 1024) return run(a, a_step, b, b_step, out, n);  // see avx512_mul_int8_row
    const avx512_add_sub_int8_row self = *this;
    self.run(a, a_step, b, b_step, out, n);
  }
  QKERN_AVX512_INLINE void run(const std::int8_t* a, int a_step, const std::int8_t* b, int b_step, std::int8_t* out,
                               std::int64_t n) const noexcept {
    const std::int8_t* y = FirstIsHalf ? a : b;
    const std::int8_t* x = FirstIsHalf ? b : a;
    const int y_step = FirstIsHalf ? a_step : b_step;
    const int x_step = FirstIsHalf ? b_step : a_step;
    std::int64_t i = 0;
    if (x_step == 0) {
      const table_operand tx = prepare_x(_mm512_set1_epi8(x[0]));
      for (; i + 64 <= n; i += 64) _mm512_storeu_si512(out + i, block(tx, _mm512_loadu_si512(y + i)));
      if (i < n) {
        const __mmask64 m = avx512_tail_mask(n - i);
        _mm512_mask_storeu_epi8(out + i, m, block(tx, _mm512_maskz_loadu_epi8(m, y + i)));
      }
    } else if (y_step == 0) {
      const __m512i vy = _mm512_set1_epi8(y[0]);
      for (; i + 64 <= n; i += 64) _mm512_storeu_si512(out + i, block(prepare_x(_mm512_loadu_si512(x + i)), vy));
      if (i < n) {
        const __mmask64 m = avx512_tail_mask(n - i);
        _mm512_mask_storeu_epi8(out + i, m, block(prepare_x(_mm512_maskz_loadu_epi8(m, x + i)), vy));
      }
    } else {
      for (; i + 64 <= n; i += 64) {
        _mm512_storeu_si512(out + i, block(prepare_x(_mm512_loadu_si512(x + i)), _mm512_loadu_si512(y + i)));
      }
      if (i < n) {
        const __mmask64 m = avx512_tail_mask(n - i);
        _mm512_mask_storeu_epi8(out + i, m,
                                block(prepare_x(_mm512_maskz_loadu_epi8(m, x + i)), _mm512_maskz_loadu_epi8(m, y + i)));
      }
    }
  }
};
#endif  // __AVX512VBMI__

#endif  // XSIMD_WITH_AVX512BW

}  // namespace detail
}  // namespace simd
}  // namespace qkern
