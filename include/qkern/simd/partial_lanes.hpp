// load_partial / store_partial: the first n lanes of a batch (n < batch size), for the channel
// remainders of the pooling kernels. Lanes at and past n load as zero and are never stored;
// no byte outside [p, p + n) is read or written.
//
// AVX-512BW uses masked loads and stores; other arches copy through a lane buffer.
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

template <class A, class T>
xsimd::batch<T, A> load_partial(const T* p, std::size_t n, xsimd::generic) noexcept {
  alignas(64) T lanes[xsimd::batch<T, A>::size] = {};
  for (std::size_t i = 0; i < n; ++i) lanes[i] = p[i];
  return xsimd::batch<T, A>::load_aligned(lanes);
}

template <class A, class T>
void store_partial(T* p, const xsimd::batch<T, A>& v, std::size_t n, xsimd::generic) noexcept {
  alignas(64) T lanes[xsimd::batch<T, A>::size];
  v.store_aligned(lanes);
  for (std::size_t i = 0; i < n; ++i) p[i] = lanes[i];
}

#if XSIMD_WITH_AVX512BW
template <class A>
xsimd::batch<std::int8_t, A> load_partial(const std::int8_t* p, std::size_t n, xsimd::avx512bw) noexcept {
  return _mm512_maskz_loadu_epi8((std::uint64_t{1} << n) - 1, p);
}
template <class A>
void store_partial(std::int8_t* p, const xsimd::batch<std::int8_t, A>& v, std::size_t n, xsimd::avx512bw) noexcept {
  _mm512_mask_storeu_epi8(p, (std::uint64_t{1} << n) - 1, v);
}
template <class A>
xsimd::batch<std::int16_t, A> load_partial(const std::int16_t* p, std::size_t n, xsimd::avx512bw) noexcept {
  return _mm512_maskz_loadu_epi16(static_cast<__mmask32>((std::uint64_t{1} << n) - 1), p);
}
template <class A>
void store_partial(std::int16_t* p, const xsimd::batch<std::int16_t, A>& v, std::size_t n, xsimd::avx512bw) noexcept {
  _mm512_mask_storeu_epi16(p, static_cast<__mmask32>((std::uint64_t{1} << n) - 1), v);
}
#endif

}  // namespace detail

// Lanes [0, n) from p, the others zero. Precondition: n < batch<T, A>::size.
template <class A, class T>
xsimd::batch<T, A> load_partial(const T* p, std::size_t n) noexcept {
  return detail::load_partial<A>(p, n, A{});
}

// Lanes [0, n) of v to p. Precondition: n < batch<T, A>::size.
template <class A, class T>
void store_partial(T* p, const xsimd::batch<T, A>& v, std::size_t n) noexcept {
  detail::store_partial<A>(p, v, n, A{});
}

}  // namespace simd
}  // namespace qkern
