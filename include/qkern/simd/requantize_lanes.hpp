// Requantization with different constants in every lane: the output stage of the kernels with
// weights, whose lanes are output channels with their own multipliers.
//
//   requantize_fused_lanes(x, c, ...)   lane i: the scalar apply_fused_requantization(x[i], f_i)
//                                        (core/fused_requantization.hpp), i.e. Policy::multiply +
//                                        zero point for TFLite's two roundings, |x[i]| within
//                                        f_i's bound
//   requantize_fp32_lanes(x, scale, r)   lane i: round_half_even(float(x[i]) · scale[i]) clamped
//                                        to [lo, hi] - zero_point, + zero_point (fp32_scale)
//   store_int8_lanes(v, r, dst, n)       clamp to [lo, hi], narrow to int8, store the first n lanes
//   requantize_float_form_lanes(x, ...)  AVX-512: lane i is floor(x[i] f_i + c_i), the float form
//                                        packing proved equal to the fused form (conv, FC)
// where r is an int8_output_range: the clamp bounds and zero point, broadcast once per tile.
//
// The constants come as arrays in lane order (the packed block header of the conv kernels);
// the 64-bit constants of the fused form are split into even and odd lanes, the order the
// 32x32->64 multiplies produce. AVX-512, AVX2 and NEON64 have per-lane shifts and get vector
// code; other arches (SSE4.1 included: it has no per-lane shifts) use the scalar form per lane.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qkern/core/rounding_fp32.hpp"
#include "qkern/simd/arch.hpp"
#include "qkern/simd/lanewise.hpp"

#if XSIMD_WITH_SSE4_1 || XSIMD_WITH_AVX2 || XSIMD_WITH_AVX512BW
#include <immintrin.h>
#endif
#if XSIMD_WITH_NEON64
#include <arm_neon.h>
#endif

// The output stage runs once per output vector inside the kernels' tiles: keep it inlined.
#if defined(__GNUC__) || defined(__clang__)
#define QKERN_LANES_INLINE inline __attribute__((always_inline))
#else
#define QKERN_LANES_INLINE inline
#endif

namespace qkern {
namespace simd {

// Per-lane fused constants of `lanes` consecutive channels starting at an even channel:
// constant_even[i] belongs to lane 2i, constant_odd[i] to lane 2i + 1.
struct fused_lane_constants {
  const std::int32_t* multiplier;
  const std::int32_t* pre_shift;
  const std::int64_t* constant_even;
  const std::int64_t* constant_odd;
  const std::int32_t* final_shift;
  const std::int32_t* sign_mask;         // -1: subtract 1 where x < 0 (double rounding, right shift)
  const std::int32_t* zero_point_after;  // added last (the zero point when it was not folded)
};

// fused_lane_constants loaded into registers once (per tile and vector of channels) for a row
// loop: 8 vectors whose meaning is the backend's (multiplier, the multiplier of the odd lanes,
// pre-shift, even and odd 64-bit constants, final shift, sign mask, zero point). The generic
// backend keeps the pointers.
template <class A>
struct fused_lanes {
  xsimd::batch<std::int32_t, A> v[8];
  fused_lane_constants c;
};

// The output clamp range [lo, hi] (within int8) and zero point, broadcast once per tile.
template <class A>
struct int8_output_range {
  xsimd::batch<std::int32_t, A> lo;
  xsimd::batch<std::int32_t, A> hi;
  xsimd::batch<std::int32_t, A> zero_point;
  xsimd::batch<float, A> lo_less_zero_point;  // float(lo - zero_point), exact
  xsimd::batch<float, A> hi_less_zero_point;
  std::int32_t lo_value;
  std::int32_t hi_value;
  std::int32_t zero_point_value;

  int8_output_range(std::int32_t lo_, std::int32_t hi_, std::int32_t zero_point_) noexcept
      : lo(lo_),
        hi(hi_),
        zero_point(zero_point_),
        lo_less_zero_point(static_cast<float>(lo_ - zero_point_)),
        hi_less_zero_point(static_cast<float>(hi_ - zero_point_)),
        lo_value(lo_),
        hi_value(hi_),
        zero_point_value(zero_point_) {}
};

namespace detail {

inline std::int32_t fused_lane(std::int32_t x, const fused_lane_constants& c, std::size_t i) noexcept {
  const auto doubled = static_cast<std::int32_t>(static_cast<std::uint32_t>(x) << c.pre_shift[i]);
  const std::int64_t constant = i % 2 == 0 ? c.constant_even[i / 2] : c.constant_odd[i / 2];
  const std::int64_t sum = static_cast<std::int64_t>(doubled) * c.multiplier[i] + constant;
  auto high = static_cast<std::int32_t>(sum >> 32);
  if (c.sign_mask[i] != 0 && x < 0) high -= 1;
  return (high >> c.final_shift[i]) + c.zero_point_after[i];
}

template <class A>
QKERN_LANES_INLINE xsimd::batch<std::int32_t, A> requantize_fused_lanes(const xsimd::batch<std::int32_t, A>& x,
                                                     const fused_lane_constants& c, bool, bool,
                                                     xsimd::generic) noexcept {
  const auto in = lanes_of(x);
  alignas(64) std::array<std::int32_t, xsimd::batch<std::int32_t, A>::size> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = fused_lane(in[i], c, i);
  return xsimd::batch<std::int32_t, A>::load_aligned(out.data());
}

template <class A>
QKERN_LANES_INLINE fused_lanes<A> load_fused_lanes(const fused_lane_constants& c, xsimd::generic) noexcept {
  fused_lanes<A> f{};
  f.c = c;
  return f;
}
template <class A>
QKERN_LANES_INLINE xsimd::batch<std::int32_t, A> requantize_fused_lanes(const xsimd::batch<std::int32_t, A>& x,
                                                                       const fused_lanes<A>& f, bool sign, bool after,
                                                                       xsimd::generic) noexcept {
  return requantize_fused_lanes(x, f.c, sign, after, A{});
}

template <class A>
QKERN_LANES_INLINE xsimd::batch<std::int32_t, A> requantize_fp32_lanes(const xsimd::batch<std::int32_t, A>& x, const float* scale,
                                                    const int8_output_range<A>& range, xsimd::generic) noexcept {
  const auto in = lanes_of(x);
  const std::int32_t lo = range.lo_value;
  const std::int32_t hi = range.hi_value;
  alignas(64) std::array<std::int32_t, xsimd::batch<std::int32_t, A>::size> out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::int64_t r = std::int64_t{fp32_scale::multiply(in[i], scale[i])} + range.zero_point_value;
    out[i] = static_cast<std::int32_t>(r < lo ? lo : (r > hi ? hi : r));
  }
  return xsimd::batch<std::int32_t, A>::load_aligned(out.data());
}

template <class A>
QKERN_LANES_INLINE void store_int8_lanes(const xsimd::batch<std::int32_t, A>& v, const int8_output_range<A>& range, std::int8_t* dst,
                      std::size_t count, xsimd::generic) noexcept {
  const auto in = lanes_of(v);
  const std::int32_t lo = range.lo_value;
  const std::int32_t hi = range.hi_value;
  for (std::size_t i = 0; i < count; ++i) dst[i] = static_cast<std::int8_t>(in[i] < lo ? lo : (in[i] > hi ? hi : in[i]));
}

#if XSIMD_WITH_SSE4_1
template <class A>
QKERN_LANES_INLINE xsimd::batch<std::int32_t, A> requantize_fp32_lanes(const xsimd::batch<std::int32_t, A>& x, const float* scale,
                                                    const int8_output_range<A>& range, xsimd::sse4_1) noexcept {
  __m128 f = _mm_mul_ps(_mm_cvtepi32_ps(x), _mm_loadu_ps(scale));
  f = _mm_min_ps(_mm_max_ps(f, range.lo_less_zero_point), range.hi_less_zero_point);
  const __m128i r = _mm_cvttps_epi32(_mm_round_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  return _mm_add_epi32(r, range.zero_point);
}

template <class A>
QKERN_LANES_INLINE void store_int8_lanes(const xsimd::batch<std::int32_t, A>& v, const int8_output_range<A>& range, std::int8_t* dst,
                      std::size_t count, xsimd::sse4_1) noexcept {
  const __m128i clamped = _mm_min_epi32(_mm_max_epi32(v, range.lo), range.hi);
  const __m128i words = _mm_packs_epi32(clamped, clamped);
  const std::int32_t bytes = _mm_cvtsi128_si32(_mm_packs_epi16(words, words));
  std::memcpy(dst, &bytes, count);
}
#endif

#if XSIMD_WITH_AVX2
template <class A>
QKERN_LANES_INLINE xsimd::batch<std::int32_t, A> requantize_fused_lanes(const xsimd::batch<std::int32_t, A>& x,
                                                     const fused_lane_constants& c, bool sign_correction,
                                                     bool zero_point_after, xsimd::avx2) noexcept {
  const __m256i m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c.multiplier));
  const __m256i doubled =
      _mm256_sllv_epi32(x, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c.pre_shift)));
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(doubled, m),
                                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c.constant_even)));
  const __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(doubled, 32), _mm256_srli_epi64(m, 32)),
                                       _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c.constant_odd)));
  __m256i high = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  if (sign_correction) {
    high = _mm256_add_epi32(high, _mm256_and_si256(_mm256_srai_epi32(x, 31),
                                                   _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c.sign_mask))));
  }
  high = _mm256_srav_epi32(high, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c.final_shift)));
  if (zero_point_after) {
    high = _mm256_add_epi32(high, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c.zero_point_after)));
  }
  return high;
}

template <class A>
QKERN_LANES_INLINE fused_lanes<A> load_fused_lanes(const fused_lane_constants& c, xsimd::avx2) noexcept {
  fused_lanes<A> f;
  f.c = c;
  const __m256i m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c.multiplier));
  f.v[0] = m;
  f.v[1] = _mm256_srli_epi64(m, 32);
  f.v[2] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c.pre_shift));
  f.v[3] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c.constant_even));
  f.v[4] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c.constant_odd));
  f.v[5] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c.final_shift));
  f.v[6] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c.sign_mask));
  f.v[7] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c.zero_point_after));
  return f;
}
template <class A>
QKERN_LANES_INLINE xsimd::batch<std::int32_t, A> requantize_fused_lanes(const xsimd::batch<std::int32_t, A>& x,
                                                                       const fused_lanes<A>& f, bool sign_correction,
                                                                       bool zero_point_after, xsimd::avx2) noexcept {
  const __m256i doubled = _mm256_sllv_epi32(x, f.v[2]);
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(doubled, f.v[0]), f.v[3]);
  const __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(doubled, 32), f.v[1]), f.v[4]);
  __m256i high = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  if (sign_correction) high = _mm256_add_epi32(high, _mm256_and_si256(_mm256_srai_epi32(x, 31), f.v[6]));
  high = _mm256_srav_epi32(high, f.v[5]);
  if (zero_point_after) high = _mm256_add_epi32(high, f.v[7]);
  return high;
}

template <class A>
QKERN_LANES_INLINE xsimd::batch<std::int32_t, A> requantize_fp32_lanes(const xsimd::batch<std::int32_t, A>& x, const float* scale,
                                                    const int8_output_range<A>& range, xsimd::avx2) noexcept {
  __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(x), _mm256_loadu_ps(scale));
  f = _mm256_min_ps(_mm256_max_ps(f, range.lo_less_zero_point), range.hi_less_zero_point);
  const __m256i r = _mm256_cvttps_epi32(_mm256_round_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  return _mm256_add_epi32(r, range.zero_point);
}

template <class A>
QKERN_LANES_INLINE void store_int8_lanes(const xsimd::batch<std::int32_t, A>& v, const int8_output_range<A>& range, std::int8_t* dst,
                      std::size_t count, xsimd::avx2) noexcept {
  const __m256i clamped = _mm256_min_epi32(_mm256_max_epi32(v, range.lo), range.hi);
  const __m256i words = _mm256_packs_epi32(clamped, clamped);  // [0-3 0-3 | 4-7 4-7]
  const __m256i bytes = _mm256_packs_epi16(words, words);
  const __m128i eight =
      _mm_unpacklo_epi32(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1));  // lanes 0-7
  if (count == 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), eight);
  } else {
    alignas(16) std::int8_t tmp[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(tmp), eight);
    std::memcpy(dst, tmp, count);
  }
}
#endif

#if XSIMD_WITH_AVX512BW
// floor(x f + c) per lane: the float form's arithmetic (core/float_step_form.hpp). x converts
// exactly while |x| <= 2^24 (monotonically beyond); the multiply-add and the conversion back
// both round down.
QKERN_LANES_INLINE __m512i floor_multiply_add_lanes(__m512i x, __m512 f, __m512 c) noexcept {
  const __m512 y = _mm512_fmadd_round_ps(_mm512_cvtepi32_ps(x), f, c, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  return _mm512_cvt_roundps_epi32(y, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
}

// The float form of a conv / fully connected block (kernels/conv/accumulator_float_form.hpp):
// lane i is floor(x[i] f[i] + c[i]), c[i] chosen by the sign of x[i].
QKERN_LANES_INLINE __m512i requantize_float_form_lanes(__m512i x, __m512 f, __m512 c_negative,
                                                       __m512 c_nonnegative) noexcept {
  return floor_multiply_add_lanes(x, f, _mm512_mask_blend_ps(_mm512_movepi32_mask(x), c_nonnegative, c_negative));
}

template <class A>
QKERN_LANES_INLINE xsimd::batch<std::int32_t, A> requantize_fused_lanes(const xsimd::batch<std::int32_t, A>& x,
                                                     const fused_lane_constants& c, bool sign_correction,
                                                     bool zero_point_after, xsimd::avx512bw) noexcept {
  const __m512i m = _mm512_loadu_si512(c.multiplier);
  const __m512i doubled = _mm512_sllv_epi32(x, _mm512_loadu_si512(c.pre_shift));
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(doubled, m), _mm512_loadu_si512(c.constant_even));
  const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(doubled, 32), _mm512_srli_epi64(m, 32)),
                                       _mm512_loadu_si512(c.constant_odd));
  __m512i high = _mm512_mask_mov_epi32(_mm512_srli_epi64(even, 32), 0xAAAA, odd);
  if (sign_correction) {
    // -1 in the lanes where x < 0 and the form asks for it
    const __mmask16 negative = _mm512_movepi32_mask(x);
    high = _mm512_mask_add_epi32(high, negative, high, _mm512_loadu_si512(c.sign_mask));
  }
  high = _mm512_srav_epi32(high, _mm512_loadu_si512(c.final_shift));
  if (zero_point_after) high = _mm512_add_epi32(high, _mm512_loadu_si512(c.zero_point_after));
  return high;
}

template <class A>
QKERN_LANES_INLINE fused_lanes<A> load_fused_lanes(const fused_lane_constants& c, xsimd::avx512bw) noexcept {
  fused_lanes<A> f;
  f.c = c;
  const __m512i m = _mm512_loadu_si512(c.multiplier);
  f.v[0] = m;
  f.v[1] = _mm512_srli_epi64(m, 32);
  f.v[2] = _mm512_loadu_si512(c.pre_shift);
  f.v[3] = _mm512_loadu_si512(c.constant_even);
  f.v[4] = _mm512_loadu_si512(c.constant_odd);
  f.v[5] = _mm512_loadu_si512(c.final_shift);
  f.v[6] = _mm512_loadu_si512(c.sign_mask);
  f.v[7] = _mm512_loadu_si512(c.zero_point_after);
  return f;
}
template <class A>
QKERN_LANES_INLINE xsimd::batch<std::int32_t, A> requantize_fused_lanes(const xsimd::batch<std::int32_t, A>& x,
                                                                       const fused_lanes<A>& f, bool sign_correction,
                                                                       bool zero_point_after, xsimd::avx512bw) noexcept {
  const __m512i doubled = _mm512_sllv_epi32(x, f.v[2]);
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(doubled, f.v[0]), f.v[3]);
  const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(doubled, 32), f.v[1]), f.v[4]);
  // the high dword of every 64-bit sum, in lane order
  const __m512i high_dwords = _mm512_set_epi32(31, 15, 29, 13, 27, 11, 25, 9, 23, 7, 21, 5, 19, 3, 17, 1);
  __m512i high = _mm512_permutex2var_epi32(even, high_dwords, odd);
  if (sign_correction) high = _mm512_mask_add_epi32(high, _mm512_movepi32_mask(x), high, f.v[6]);
  high = _mm512_srav_epi32(high, f.v[5]);
  if (zero_point_after) high = _mm512_add_epi32(high, f.v[7]);
  return high;
}

// Four vectors (64 outputs) or two (32): two rounds of saturating packs, one lane permute,
// one clamp and one store, instead of a narrowing and a store per vector.
template <class A, std::size_t N>
QKERN_LANES_INLINE void store_int8_vectors(const xsimd::batch<std::int32_t, A> (&v)[N], const int8_output_range<A>& range,
                                           std::int8_t* dst, xsimd::avx512bw) noexcept {
  if constexpr (N != 2 && N != 4) {
    for (std::size_t i = 0; i < N; ++i) {
      const __m512i clamped = _mm512_min_epi32(_mm512_max_epi32(v[i], range.lo), range.hi);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 16 * i), _mm512_cvtepi32_epi8(clamped));
    }
    return;
  }
  const __m512i lo = _mm512_set1_epi8(static_cast<char>(range.lo_value));
  const __m512i hi = _mm512_set1_epi8(static_cast<char>(range.hi_value));
  // After the packs, 128-bit lane k holds 4 lanes of each vector: dword j of lane k is vector j's
  // lanes 4k..4k+3.
  if constexpr (N == 4) {
    const __m512i words01 = _mm512_packs_epi32(v[0], v[1]);
    const __m512i words23 = _mm512_packs_epi32(v[2], v[3]);
    const __m512i bytes = _mm512_packs_epi16(words01, words23);
    const __m512i order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
    const __m512i out = _mm512_min_epi8(_mm512_max_epi8(_mm512_permutexvar_epi32(order, bytes), lo), hi);
    _mm512_storeu_si512(dst, out);
  } else if constexpr (N == 2) {
    const __m512i words = _mm512_packs_epi32(v[0], v[1]);
    const __m512i bytes = _mm512_packs_epi16(words, words);
    const __m512i order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
    const __m512i out = _mm512_min_epi8(_mm512_max_epi8(_mm512_permutexvar_epi32(order, bytes), lo), hi);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm512_castsi512_si256(out));
  }
}

template <class A>
QKERN_LANES_INLINE xsimd::batch<std::int32_t, A> requantize_fp32_lanes(const xsimd::batch<std::int32_t, A>& x, const float* scale,
                                                    const int8_output_range<A>& range, xsimd::avx512bw) noexcept {
  __m512 f = _mm512_mul_ps(_mm512_cvt_roundepi32_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                           _mm512_loadu_ps(scale));
  f = _mm512_min_ps(_mm512_max_ps(f, range.lo_less_zero_point), range.hi_less_zero_point);
  const __m512i r = _mm512_cvt_roundps_epi32(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return _mm512_add_epi32(r, range.zero_point);
}

template <class A>
QKERN_LANES_INLINE void store_int8_lanes(const xsimd::batch<std::int32_t, A>& v, const int8_output_range<A>& range, std::int8_t* dst,
                      std::size_t count, xsimd::avx512bw) noexcept {
  const __m512i clamped = _mm512_min_epi32(_mm512_max_epi32(v, range.lo), range.hi);
  const __m128i bytes = _mm512_cvtepi32_epi8(clamped);
  if (count == 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), bytes);
  } else {
    _mm_mask_storeu_epi8(dst, static_cast<__mmask16>((1u << count) - 1u), bytes);
  }
}
#endif

#if XSIMD_WITH_NEON64
template <class A>
QKERN_LANES_INLINE xsimd::batch<std::int32_t, A> requantize_fused_lanes(const xsimd::batch<std::int32_t, A>& x,
                                                     const fused_lane_constants& c, bool sign_correction,
                                                     bool zero_point_after, xsimd::neon64) noexcept {
  const int32x4_t m = vld1q_s32(c.multiplier);
  const int32x4_t doubled = vshlq_s32(x, vld1q_s32(c.pre_shift));
  // lanes 0, 1 and 2, 3 with their constants (even[0], odd[0]) and (even[1], odd[1])
  const int64x2_t c01 = vcombine_s64(vld1_s64(c.constant_even), vld1_s64(c.constant_odd));
  const int64x2_t c23 = vcombine_s64(vld1_s64(c.constant_even + 1), vld1_s64(c.constant_odd + 1));
  const int64x2_t low = vmlal_s32(c01, vget_low_s32(doubled), vget_low_s32(m));
  const int64x2_t high_half = vmlal_high_s32(c23, doubled, m);
  int32x4_t high = vcombine_s32(vshrn_n_s64(low, 32), vshrn_n_s64(high_half, 32));
  if (sign_correction) high = vaddq_s32(high, vandq_s32(vshrq_n_s32(x, 31), vld1q_s32(c.sign_mask)));
  high = vshlq_s32(high, vnegq_s32(vld1q_s32(c.final_shift)));  // a negative count shifts right
  if (zero_point_after) high = vaddq_s32(high, vld1q_s32(c.zero_point_after));
  return high;
}

template <class A>
QKERN_LANES_INLINE fused_lanes<A> load_fused_lanes(const fused_lane_constants& c, xsimd::neon64) noexcept {
  fused_lanes<A> f;
  f.c = c;
  f.v[0] = vld1q_s32(c.multiplier);
  f.v[2] = vld1q_s32(c.pre_shift);
  f.v[3] = vreinterpretq_s32_s64(vcombine_s64(vld1_s64(c.constant_even), vld1_s64(c.constant_odd)));
  f.v[4] = vreinterpretq_s32_s64(vcombine_s64(vld1_s64(c.constant_even + 1), vld1_s64(c.constant_odd + 1)));
  f.v[5] = vnegq_s32(vld1q_s32(c.final_shift));
  f.v[6] = vld1q_s32(c.sign_mask);
  f.v[7] = vld1q_s32(c.zero_point_after);
  return f;
}
template <class A>
QKERN_LANES_INLINE xsimd::batch<std::int32_t, A> requantize_fused_lanes(const xsimd::batch<std::int32_t, A>& x,
                                                                       const fused_lanes<A>& f, bool sign_correction,
                                                                       bool zero_point_after, xsimd::neon64) noexcept {
  const int32x4_t m = f.v[0];
  const int32x4_t doubled = vshlq_s32(x, f.v[2]);
  const int64x2_t low = vmlal_s32(vreinterpretq_s64_s32(f.v[3]), vget_low_s32(doubled), vget_low_s32(m));
  const int64x2_t high_half = vmlal_high_s32(vreinterpretq_s64_s32(f.v[4]), doubled, m);
  int32x4_t high = vcombine_s32(vshrn_n_s64(low, 32), vshrn_n_s64(high_half, 32));
  if (sign_correction) high = vaddq_s32(high, vandq_s32(vshrq_n_s32(x, 31), f.v[6]));
  high = vshlq_s32(high, f.v[5]);  // the negated final shift: a right shift
  if (zero_point_after) high = vaddq_s32(high, f.v[7]);
  return high;
}

template <class A>
QKERN_LANES_INLINE xsimd::batch<std::int32_t, A> requantize_fp32_lanes(const xsimd::batch<std::int32_t, A>& x, const float* scale,
                                                    const int8_output_range<A>& range, xsimd::neon64) noexcept {
  float32x4_t f = vmulq_f32(vcvtq_f32_s32(x), vld1q_f32(scale));
  f = vminq_f32(vmaxq_f32(f, range.lo_less_zero_point), range.hi_less_zero_point);
  return vaddq_s32(vcvtnq_s32_f32(f), range.zero_point);
}

template <class A>
QKERN_LANES_INLINE void store_int8_lanes(const xsimd::batch<std::int32_t, A>& v, const int8_output_range<A>& range, std::int8_t* dst,
                      std::size_t count, xsimd::neon64) noexcept {
  const int32x4_t clamped = vminq_s32(vmaxq_s32(v, range.lo), range.hi);
  const int16x4_t words = vmovn_s32(clamped);
  const int8x8_t bytes = vmovn_s16(vcombine_s16(words, words));
  const std::int32_t four = vget_lane_s32(vreinterpret_s32_s8(bytes), 0);
  std::memcpy(dst, &four, count);
}
#endif

// Narrows and stores N vectors of int32 lanes (N·lanes consecutive int8 outputs), clamped.
template <class A, std::size_t N>
QKERN_LANES_INLINE void store_int8_vectors(const xsimd::batch<std::int32_t, A> (&v)[N], const int8_output_range<A>& range,
                                           std::int8_t* dst, xsimd::generic) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    ::qkern::simd::detail::store_int8_lanes(v[i], range, dst + i * xsimd::batch<std::int32_t, A>::size,
                                            xsimd::batch<std::int32_t, A>::size, A{});
  }
}

}  // namespace detail

// Lane i: the fused requantization with the constants of lane i (see the file comment).
// sign_correction / zero_point_after: whether any lane needs those steps (false skips them).
template <class A>
QKERN_LANES_INLINE xsimd::batch<std::int32_t, A> requantize_fused_lanes(const xsimd::batch<std::int32_t, A>& x,
                                                     const fused_lane_constants& c, bool sign_correction,
                                                     bool zero_point_after) noexcept {
  return detail::requantize_fused_lanes(x, c, sign_correction, zero_point_after, A{});
}

// The constants of `lanes` channels loaded for a row loop.
template <class A>
QKERN_LANES_INLINE fused_lanes<A> load_fused_lanes(const fused_lane_constants& c) noexcept {
  return detail::load_fused_lanes<A>(c, A{});
}

// As requantize_fused_lanes above, with constants from load_fused_lanes.
template <class A>
QKERN_LANES_INLINE xsimd::batch<std::int32_t, A> requantize_fused_lanes(const xsimd::batch<std::int32_t, A>& x,
                                                                       const fused_lanes<A>& f, bool sign_correction,
                                                                       bool zero_point_after) noexcept {
  return detail::requantize_fused_lanes(x, f, sign_correction, zero_point_after, A{});
}

// dst[0 .. N·lanes) = the lanes of v[0], ..., v[N - 1], each clamped to [lo, hi].
template <class A, std::size_t N>
QKERN_LANES_INLINE void store_int8_vectors(const xsimd::batch<std::int32_t, A> (&v)[N], const int8_output_range<A>& range,
                                           std::int8_t* dst) noexcept {
  detail::store_int8_vectors(v, range, dst, A{});
}

// Lane i: clamp(round_half_even(float(x[i]) · scale[i]) + zero_point, lo, hi).
template <class A>
QKERN_LANES_INLINE xsimd::batch<std::int32_t, A> requantize_fp32_lanes(const xsimd::batch<std::int32_t, A>& x, const float* scale,
                                                    const int8_output_range<A>& range) noexcept {
  return detail::requantize_fp32_lanes(x, scale, range, A{});
}

// dst[i] = clamp(v[i], lo, hi) for i < count (count <= lanes).
template <class A>
QKERN_LANES_INLINE void store_int8_lanes(const xsimd::batch<std::int32_t, A>& v, const int8_output_range<A>& range, std::int8_t* dst,
                      std::size_t count) noexcept {
  detail::store_int8_lanes(v, range, dst, count, A{});
}

}  // namespace simd
}  // namespace qkern
