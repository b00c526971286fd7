// load_int32_lanes<A>(p): batch<int32_t, A>::size consecutive values of an 8-, 16- or 32-bit
// integer type from p, sign- (uint8: zero-) extended to int32 lanes in order. The unary and
// int16 kernels read their inputs through this; int8 forwards to load_widened.
//
// Only the bytes of the batch's lanes are read (a quarter register for 8-bit inputs, half for
// int16), so a load never runs past the element count it was asked for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qkern/simd/arch.hpp"
#include "qkern/simd/load_widened.hpp"

#if XSIMD_WITH_SSE4_1 || XSIMD_WITH_AVX2 || XSIMD_WITH_AVX512BW
#include <immintrin.h>
#endif
#if XSIMD_WITH_NEON
#include <arm_neon.h>
#endif

namespace qkern {
namespace simd {
namespace detail {

template <class A, class T>
xsimd::batch<std::int32_t, A> load_int32_lanes(const T* p, xsimd::generic) noexcept {
  alignas(64) std::int32_t lanes[xsimd::batch<std::int32_t, A>::size];
  for (std::size_t i = 0; i < xsimd::batch<std::int32_t, A>::size; ++i) lanes[i] = p[i];
  return xsimd::batch<std::int32_t, A>::load_aligned(lanes);
}

#if XSIMD_WITH_SSE4_1
template <class A>
xsimd::batch<std::int32_t, A> load_int32_lanes(const std::uint8_t* p, xsimd::sse4_1) noexcept {
  std::int32_t four;
  std::memcpy(&four, p, sizeof four);
  return _mm_cvtepu8_epi32(_mm_cvtsi32_si128(four));
}
template <class A>
xsimd::batch<std::int32_t, A> load_int32_lanes(const std::int16_t* p, xsimd::sse4_1) noexcept {
  return _mm_cvtepi16_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
#endif

#if XSIMD_WITH_AVX2
template <class A>
xsimd::batch<std::int32_t, A> load_int32_lanes(const std::uint8_t* p, xsimd::avx2) noexcept {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
template <class A>
xsimd::batch<std::int32_t, A> load_int32_lanes(const std::int16_t* p, xsimd::avx2) noexcept {
  return _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
#endif

#if XSIMD_WITH_AVX512BW
template <class A>
xsimd::batch<std::int32_t, A> load_int32_lanes(const std::uint8_t* p, xsimd::avx512bw) noexcept {
  return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
template <class A>
xsimd::batch<std::int32_t, A> load_int32_lanes(const std::int16_t* p, xsimd::avx512bw) noexcept {
  return _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
#endif

#if XSIMD_WITH_NEON
template <class A>
xsimd::batch<std::int32_t, A> load_int32_lanes(const std::uint8_t* p, xsimd::neon) noexcept {
  std::uint32_t four;
  std::memcpy(&four, p, sizeof four);
  const uint16x8_t words = vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(four)));
  return vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(words)));
}
template <class A>
xsimd::batch<std::int32_t, A> load_int32_lanes(const std::int16_t* p, xsimd::neon) noexcept {
  return vmovl_s16(vld1_s16(p));
}
#endif

}  // namespace detail

template <class A>
xsimd::batch<std::int32_t, A> load_int32_lanes(const std::int8_t* p) noexcept {
  return load_widened<A>(p);
}
template <class A>
xsimd::batch<std::int32_t, A> load_int32_lanes(const std::uint8_t* p) noexcept {
  return detail::load_int32_lanes<A>(p, A{});
}
template <class A>
xsimd::batch<std::int32_t, A> load_int32_lanes(const std::int16_t* p) noexcept {
  return detail::load_int32_lanes<A>(p, A{});
}
template <class A>
xsimd::batch<std::int32_t, A> load_int32_lanes(const std::int32_t* p) noexcept {
  return xsimd::batch<std::int32_t, A>::load_unaligned(p);
}

}  // namespace simd
}  // namespace qkern
