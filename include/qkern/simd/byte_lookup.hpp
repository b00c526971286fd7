// lookup_int8_table<A>(table, in, out, n): out[i] = table[static_cast<std::uint8_t>(in[i])], a
// 256-entry byte table read for every byte of a buffer. The table-driven activations use it;
// since each output is a copy of a table entry, every path here is exact by construction.
//
//   AVX-512 VBMI   two vpermt2b (128 entries each) and one byte blend on the index's top bit
//   AVX-512BW      the SSE4.1 scheme on 64 bytes, blend by mask
//   AVX2, SSE4.1   16 pshufb on 16-entry slices, telescoped: slice h is looked up at index
//                  x - 16h, which pshufb zeroes unless 0 <= x - 16h < 128 (its bit 7), and holds
//                  D_h = T_h ^ T_(h-1). For x < 128 the XOR over h = 0..7 keeps exactly
//                  h <= x/16 and telescopes to T_(x/16)[x % 16]; h = 8..15 do the same for
//                  x >= 128 (their index x - 16h is x - 128 - 16(h - 8)). A byte blend on x's
//                  bit 7 picks the half. 46 instructions per register.
//   NEON (aarch64) one tbl and three tbx over 64-entry quarters
//   otherwise      the scalar loop
#pragma once

#include <cstdint>

#include "qkern/simd/arch.hpp"

#if XSIMD_WITH_SSE4_1 || XSIMD_WITH_AVX2 || XSIMD_WITH_AVX512BW
#include <immintrin.h>
#endif
#if XSIMD_WITH_NEON64
#include <arm_neon.h>
#endif

namespace qkern {
namespace simd {
namespace detail {

// Templated on the arch, as every helper here, so that TUs built with different flags never
// share a definition.
template <class A>
void lookup_int8_table_scalar(const std::int8_t* table, const std::int8_t* in, std::int8_t* out,
                                     std::int64_t n) noexcept {
  for (std::int64_t i = 0; i < n; ++i) out[i] = table[static_cast<std::uint8_t>(in[i])];
}

template <class A>
void lookup_int8_table(const std::int8_t* table, const std::int8_t* in, std::int8_t* out, std::int64_t n,
                       xsimd::generic) noexcept {
  lookup_int8_table_scalar<A>(table, in, out, n);
}

// The telescoped slices D_0 = T_0, D_h = T_h ^ T_(h-1) for h = 1..7, and the same for the upper
// half: D_8 = T_8, D_h = T_h ^ T_(h-1) for h = 9..15 (T_h = table[16h .. 16h + 15]).
struct telescoped_slices {
  alignas(16) std::int8_t d[16][16];
};

template <class A>
telescoped_slices make_telescoped_slices(const std::int8_t* table) noexcept {
  telescoped_slices s;
  for (int h = 0; h < 16; ++h) {
    for (int j = 0; j < 16; ++j) {
      const int v = table[16 * h + j];
      const int previous = (h % 8 == 0) ? 0 : table[16 * (h - 1) + j];
      s.d[h][j] = static_cast<std::int8_t>(v ^ previous);
    }
  }
  return s;
}

#if XSIMD_WITH_SSE4_1
template <class A>
void lookup_int8_table(const std::int8_t* table, const std::int8_t* in, std::int8_t* out, std::int64_t n,
                       xsimd::sse4_1) noexcept {
  const telescoped_slices s = make_telescoped_slices<A>(table);
  __m128i d[16];
  for (int h = 0; h < 16; ++h) d[h] = _mm_load_si128(reinterpret_cast<const __m128i*>(s.d[h]));
  const __m128i step = _mm_set1_epi8(16);
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    __m128i index = x;
    __m128i low = _mm_shuffle_epi8(d[0], index);
    for (int h = 1; h < 8; ++h) {
      index = _mm_sub_epi8(index, step);
      low = _mm_xor_si128(low, _mm_shuffle_epi8(d[h], index));
    }
    index = _mm_sub_epi8(index, step);  // x - 128
    __m128i high = _mm_shuffle_epi8(d[8], index);
    for (int h = 9; h < 16; ++h) {
      index = _mm_sub_epi8(index, step);
      high = _mm_xor_si128(high, _mm_shuffle_epi8(d[h], index));
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_blendv_epi8(low, high, x));
  }
  lookup_int8_table_scalar<A>(table, in + i, out + i, n - i);
}
#endif

#if XSIMD_WITH_AVX2
template <class A>
void lookup_int8_table(const std::int8_t* table, const std::int8_t* in, std::int8_t* out, std::int64_t n,
                       xsimd::avx2) noexcept {
  const telescoped_slices s = make_telescoped_slices<A>(table);
  __m256i d[16];
  for (int h = 0; h < 16; ++h) {
    d[h] = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(s.d[h])));
  }
  const __m256i step = _mm256_set1_epi8(16);
  std::int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i));
    __m256i index = x;
    __m256i low = _mm256_shuffle_epi8(d[0], index);
    for (int h = 1; h < 8; ++h) {
      index = _mm256_sub_epi8(index, step);
      low = _mm256_xor_si256(low, _mm256_shuffle_epi8(d[h], index));
    }
    index = _mm256_sub_epi8(index, step);
    __m256i high = _mm256_shuffle_epi8(d[8], index);
    for (int h = 9; h < 16; ++h) {
      index = _mm256_sub_epi8(index, step);
      high = _mm256_xor_si256(high, _mm256_shuffle_epi8(d[h], index));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm256_blendv_epi8(low, high, x));
  }
  lookup_int8_table_scalar<A>(table, in + i, out + i, n - i);
}
#endif

#if XSIMD_WITH_AVX512BW
// 64 lookups. The VBMI form reads the table as four registers; the BW form as 16 telescoped
// slices broadcast to every 128-bit block. (Vbmi is a template parameter so that TUs built with
// and without VBMI instantiate different functions.)
template <class A, bool Vbmi>
struct avx512_byte_lookup;

template <class A>
struct avx512_byte_lookup<A, true> {
  __m512i t[4];
  explicit avx512_byte_lookup(const std::int8_t* table) noexcept {
    for (int k = 0; k < 4; ++k) t[k] = _mm512_loadu_si512(table + 64 * k);
  }
  __m512i operator()(__m512i x) const noexcept {
#if defined(__AVX512VBMI__)
    const __m512i low = _mm512_permutex2var_epi8(t[0], x, t[1]);   // index bits 0..6
    const __m512i high = _mm512_permutex2var_epi8(t[2], x, t[3]);
    return _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), low, high);
#else
    return x;  // never instantiated: Vbmi is true only with __AVX512VBMI__
#endif
  }
};

template <class A>
struct avx512_byte_lookup<A, false> {
  __m512i d[16];
  explicit avx512_byte_lookup(const std::int8_t* table) noexcept {
    const telescoped_slices s = make_telescoped_slices<A>(table);
    for (int h = 0; h < 16; ++h) {
      d[h] = _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(s.d[h])));
    }
  }
  __m512i operator()(__m512i x) const noexcept {
    const __m512i step = _mm512_set1_epi8(16);
    __m512i index = x;
    __m512i low = _mm512_shuffle_epi8(d[0], index);
    for (int h = 1; h < 8; ++h) {
      index = _mm512_sub_epi8(index, step);
      low = _mm512_xor_si512(low, _mm512_shuffle_epi8(d[h], index));
    }
    index = _mm512_sub_epi8(index, step);
    __m512i high = _mm512_shuffle_epi8(d[8], index);
    for (int h = 9; h < 16; ++h) {
      index = _mm512_sub_epi8(index, step);
      high = _mm512_xor_si512(high, _mm512_shuffle_epi8(d[h], index));
    }
    return _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), low, high);
  }
};

template <class A, bool Vbmi = has_avx512_vbmi>
void lookup_int8_table(const std::int8_t* table, const std::int8_t* in, std::int8_t* out, std::int64_t n,
                       xsimd::avx512bw) noexcept {
  const avx512_byte_lookup<A, Vbmi> lookup(table);
  std::int64_t i = 0;
  for (; i + 128 <= n; i += 128) {
    const __m512i x0 = _mm512_loadu_si512(in + i);
    const __m512i x1 = _mm512_loadu_si512(in + i + 64);
    _mm512_storeu_si512(out + i, lookup(x0));
    _mm512_storeu_si512(out + i + 64, lookup(x1));
  }
  for (; i + 64 <= n; i += 64) _mm512_storeu_si512(out + i, lookup(_mm512_loadu_si512(in + i)));
  if (i < n) {
    const __mmask64 rest = (std::uint64_t{1} << (n - i)) - 1;
    _mm512_mask_storeu_epi8(out + i, rest, lookup(_mm512_maskz_loadu_epi8(rest, in + i)));
  }
}
#endif

#if XSIMD_WITH_NEON64
template <class A>
void lookup_int8_table(const std::int8_t* table, const std::int8_t* in, std::int8_t* out, std::int64_t n,
                       xsimd::neon64) noexcept {
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(table);
  uint8x16x4_t quarter[4];
  for (int k = 0; k < 4; ++k) {
    quarter[k].val[0] = vld1q_u8(bytes + 64 * k);
    quarter[k].val[1] = vld1q_u8(bytes + 64 * k + 16);
    quarter[k].val[2] = vld1q_u8(bytes + 64 * k + 32);
    quarter[k].val[3] = vld1q_u8(bytes + 64 * k + 48);
  }
  const uint8x16_t step = vdupq_n_u8(64);
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    uint8x16_t index = vld1q_u8(reinterpret_cast<const std::uint8_t*>(in + i));
    uint8x16_t r = vqtbl4q_u8(quarter[0], index);  // indexes >= 64 give 0 here, kept below
    for (int k = 1; k < 4; ++k) {
      index = vsubq_u8(index, step);
      r = vqtbx4q_u8(r, quarter[k], index);  // out-of-range indexes leave r unchanged
    }
    vst1q_u8(reinterpret_cast<std::uint8_t*>(out + i), r);
  }
  lookup_int8_table_scalar<A>(table, in + i, out + i, n - i);
}
#endif

}  // namespace detail

// out[i] = table[static_cast<std::uint8_t>(in[i])] for i in [0, n); table has 256 entries.
// in and out may be the same buffer.
template <class A = default_arch>
void lookup_int8_table(const std::int8_t* table, const std::int8_t* in, std::int8_t* out, std::int64_t n) noexcept {
  detail::lookup_int8_table<A>(table, in, out, n, A{});
}

}  // namespace simd
}  // namespace qkern
