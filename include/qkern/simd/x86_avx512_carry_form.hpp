// The AVX-512 VBMI row for int8 add/sub in the carry form (kernels/elementwise/carry_form.hpp):
// per 64 outputs, five 256-entry byte lookups (two vpermt2b and a blend each), one unsigned
// byte compare for the carry, a masked increment, two saturating adds and the clamp. Each lane
// computes apply_carry_form exactly, so rows equal the scalar spec wherever the form exists.
#pragma once

#include <cstdint>

#include "qkern/kernels/elementwise/carry_form.hpp"
#include "qkern/simd/arch.hpp"

#if XSIMD_WITH_AVX512BW && defined(__AVX512VBMI__)
#include <immintrin.h>

#include "qkern/simd/byte_lookup.hpp"
#include "qkern/simd/x86_avx512_binary_int8.hpp"

namespace qkern {
namespace simd {
namespace detail {

// TwoParts: some a_second entry is not 0 (else its lookup and add are skipped).
template <class A, bool TwoParts>
struct avx512_carry_form_row {
  avx512_byte_lookup<A, true> a_first;
  avx512_byte_lookup<A, true> a_second;
  avx512_byte_lookup<A, true> a_rank;
  avx512_byte_lookup<A, true> b;
  avx512_byte_lookup<A, true> b_rank;
  __m512i activation_min;
  __m512i activation_max;
  __m512i minus_one;
  bool first_is_count;

  static const std::int8_t* bytes(const std::uint8_t* table) noexcept {
    return reinterpret_cast<const std::int8_t*>(table);
  }

  avx512_carry_form_row(const int8_carry_form& f, std::int32_t act_min, std::int32_t act_max) noexcept
      : a_first(f.a_first),
        a_second(f.a_second),
        a_rank(bytes(f.a_rank)),
        b(f.b),
        b_rank(bytes(f.b_rank)),
        activation_min(_mm512_set1_epi8(static_cast<char>(act_min))),
        activation_max(_mm512_set1_epi8(static_cast<char>(act_max))),
        minus_one(_mm512_set1_epi8(-1)),
        first_is_count(f.first_is_count) {}

  struct count_operand {
    __m512i first, second, rank;
  };
  struct index_operand {
    __m512i value, rank;
  };
  count_operand count(__m512i x) const noexcept {
    return {a_first(x), TwoParts ? a_second(x) : _mm512_setzero_si512(), a_rank(x)};
  }
  index_operand index(__m512i x) const noexcept { return {b(x), b_rank(x)}; }

  __m512i block(const count_operand& c, const index_operand& i) const noexcept {
    const __mmask64 carry = _mm512_cmplt_epu8_mask(i.rank, c.rank);
    const __m512i carried = _mm512_mask_sub_epi8(i.value, carry, i.value, minus_one);
    __m512i z = _mm512_adds_epi8(c.first, carried);
    if (TwoParts) z = _mm512_adds_epi8(z, c.second);
    return _mm512_min_epi8(_mm512_max_epi8(z, activation_min), activation_max);
  }

  // The constants copied to a local for long rows: see avx512_mul_int8_row.
  void operator()(const std::int8_t* a, int a_step, const std::int8_t* b_in, int b_step, std::int8_t* out,
                  std::int64_t n) const noexcept {
    if (n < 1024) return run(a, a_step, b_in, b_step, out, n);
    const avx512_carry_form_row self = *this;
    self.run(a, a_step, b_in, b_step, out, n);
  }
  QKERN_AVX512_INLINE void run(const std::int8_t* a, int a_step, const std::int8_t* b_in, int b_step,
                               std::int8_t* out, std::int64_t n) const noexcept {
    const std::int8_t* xc = first_is_count ? a : b_in;
    const std::int8_t* xi = first_is_count ? b_in : a;
    const int c_step = first_is_count ? a_step : b_step;
    const int i_step = first_is_count ? b_step : a_step;
    std::int64_t k = 0;
    if (c_step == 0) {
      const count_operand c = count(_mm512_set1_epi8(xc[0]));
      for (; k + 64 <= n; k += 64) _mm512_storeu_si512(out + k, block(c, index(_mm512_loadu_si512(xi + k))));
      if (k < n) {
        const __mmask64 m = avx512_tail_mask(n - k);
        _mm512_mask_storeu_epi8(out + k, m, block(c, index(_mm512_maskz_loadu_epi8(m, xi + k))));
      }
    } else if (i_step == 0) {
      const index_operand i = index(_mm512_set1_epi8(xi[0]));
      for (; k + 64 <= n; k += 64) _mm512_storeu_si512(out + k, block(count(_mm512_loadu_si512(xc + k)), i));
      if (k < n) {
        const __mmask64 m = avx512_tail_mask(n - k);
        _mm512_mask_storeu_epi8(out + k, m, block(count(_mm512_maskz_loadu_epi8(m, xc + k)), i));
      }
    } else {
      for (; k + 64 <= n; k += 64) {
        _mm512_storeu_si512(out + k, block(count(_mm512_loadu_si512(xc + k)), index(_mm512_loadu_si512(xi + k))));
      }
      if (k < n) {
        const __mmask64 m = avx512_tail_mask(n - k);
        _mm512_mask_storeu_epi8(out + k, m,
                                block(count(_mm512_maskz_loadu_epi8(m, xc + k)), index(_mm512_maskz_loadu_epi8(m, xi + k))));
      }
    }
  }

  // The inner-vector broadcast (SE blocks): `vector` (inner <= max_vector elements) is the same
  // for each of `rows` rows of `big`. Its lookups are made once, into a stack buffer.
  static constexpr std::int64_t max_vector = 1024;
  void run_repeated(const std::int8_t* vector, bool vector_is_first, const std::int8_t* big, std::int8_t* out,
                    std::int64_t inner, std::int64_t rows) const noexcept {
    const avx512_carry_form_row k = *this;
    alignas(64) std::int8_t cached[3][max_vector];
    const bool vector_is_count = vector_is_first == first_is_count;
    for (std::int64_t j = 0; j < inner; j += 64) {
      const __mmask64 m = avx512_tail_mask(inner - j);
      const __m512i x = _mm512_maskz_loadu_epi8(m, vector + j);
      if (vector_is_count) {
        const count_operand c = k.count(x);
        _mm512_mask_storeu_epi8(cached[0] + j, m, c.first);
        _mm512_mask_storeu_epi8(cached[1] + j, m, c.second);
        _mm512_mask_storeu_epi8(cached[2] + j, m, c.rank);
      } else {
        const index_operand i = k.index(x);
        _mm512_mask_storeu_epi8(cached[0] + j, m, i.value);
        _mm512_mask_storeu_epi8(cached[1] + j, m, i.rank);
      }
    }
    for (std::int64_t r = 0; r < rows; ++r, big += inner, out += inner) {
      for (std::int64_t j = 0; j < inner; j += 64) {
        const __mmask64 m = avx512_tail_mask(inner - j);
        const __m512i x = _mm512_maskz_loadu_epi8(m, big + j);
        __m512i z;
        if (vector_is_count) {
          const count_operand c{_mm512_maskz_loadu_epi8(m, cached[0] + j), _mm512_maskz_loadu_epi8(m, cached[1] + j),
                                _mm512_maskz_loadu_epi8(m, cached[2] + j)};
          z = k.block(c, k.index(x));
        } else {
          const index_operand i{_mm512_maskz_loadu_epi8(m, cached[0] + j), _mm512_maskz_loadu_epi8(m, cached[1] + j)};
          z = k.block(k.count(x), i);
        }
        _mm512_mask_storeu_epi8(out + j, m, z);
      }
    }
  }
};

}  // namespace detail
}  // namespace simd
}  // namespace qkern

#endif  // XSIMD_WITH_AVX512BW && __AVX512VBMI__
