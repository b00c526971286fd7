// rotate_lanes<A>(x, n): the int8 batch whose lane i is lane (i + n) mod size of x, for
// 0 <= n < size (a rotation towards lane 0 by n lanes; rotating by size - n undoes it).
//
//   AVX-512 VBMI   one vpermb on the index i + n (vpermb reads its low six bits)
//   otherwise      through a buffer that holds x twice
#pragma once

#include <cstddef>
#include <cstdint>

#include "qkern/simd/arch.hpp"

#if XSIMD_WITH_AVX512BW
#include <immintrin.h>
#endif

namespace qkern {
namespace simd {
namespace detail {

template <class A, bool Vbmi>
xsimd::batch<std::int8_t, A> rotate_lanes(const xsimd::batch<std::int8_t, A>& x, std::size_t n, xsimd::generic) noexcept {
  constexpr std::size_t size = xsimd::batch<std::int8_t, A>::size;
  alignas(64) std::int8_t twice[2 * size];
  x.store_aligned(twice);
  x.store_aligned(twice + size);
  return xsimd::batch<std::int8_t, A>::load_unaligned(twice + n);
}

#if XSIMD_WITH_AVX512BW
// (Vbmi is a template parameter so that TUs built with and without VBMI instantiate different
// functions.)
template <class A, bool Vbmi>
xsimd::batch<std::int8_t, A> rotate_lanes(const xsimd::batch<std::int8_t, A>& x, std::size_t n, xsimd::avx512bw) noexcept {
#if defined(__AVX512VBMI__)
  if constexpr (Vbmi) {
    const __m512i iota = _mm512_set_epi64(0x3f3e3d3c3b3a3938, 0x3736353433323130, 0x2f2e2d2c2b2a2928, 0x2726252423222120,
                                          0x1f1e1d1c1b1a1918, 0x1716151413121110, 0x0f0e0d0c0b0a0908, 0x0706050403020100);
    const __m512i index = _mm512_add_epi8(iota, _mm512_set1_epi8(static_cast<char>(n)));
    // (the zero-masking form with every lane selected: g++ 12's plain vpermb intrinsic starts
    // from an undefined vector, which -Wuninitialized reports)
    return _mm512_maskz_permutexvar_epi8(~__mmask64{0}, index, x);
  }
#endif
  return rotate_lanes<A, Vbmi>(x, n, xsimd::generic{});
}
#endif

}  // namespace detail

template <class A, bool Vbmi = detail::has_avx512_vbmi>
xsimd::batch<std::int8_t, A> rotate_lanes(const xsimd::batch<std::int8_t, A>& x, std::size_t n) noexcept {
  return detail::rotate_lanes<A, Vbmi>(x, n, A{});
}

}  // namespace simd
}  // namespace qkern
