// Lane-width conversions on xsimd::batch that xsimd 8.1 lacks: sign- (or zero-) extending
// widening and saturating narrowing. A batch always holds one register, so widening yields
// two batches (the low and the high half of the lanes) and narrowing takes two or four, in
// lane order: saturating_narrow(widen_low(x), widen_high(x)) == x.
//
//   widen_low / widen_high     int8 -> int16, uint8 -> int16 (zero-extended), int16 -> int32
//   saturating_narrow<To>      int32 -> int16, int16 -> int8 / uint8 (two batches),
//                              int32 -> int8 / uint8 (four batches); each lane clamped to To
//
// The public templates and the generic implementations (xsimd::generic tag) live here; the
// backend files add overloads for their tags.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qkern/core/fixed_point.hpp"
#include "qkern/simd/arch.hpp"
#include "qkern/simd/lanewise.hpp"

#include "qkern/simd/arm_neon.hpp"
#include "qkern/simd/x86_avx2.hpp"
#include "qkern/simd/x86_avx512.hpp"
#include "qkern/simd/x86_sse41.hpp"

namespace qkern {
namespace simd {

// The type each narrow lane type widens to.
template <class T>
struct widened;
template <>
struct widened<std::int8_t> { using type = std::int16_t; };
template <>
struct widened<std::uint8_t> { using type = std::int16_t; };
template <>
struct widened<std::int16_t> { using type = std::int32_t; };
template <class T>
using widened_t = typename widened<T>::type;

namespace detail {

template <class T, class A>
xsimd::batch<widened_t<T>, A> widen_low(const xsimd::batch<T, A>& x, xsimd::generic) noexcept {
  return map_lane_range<widened_t<T>>(x, 0, [](T v) { return static_cast<widened_t<T>>(v); });
}

template <class T, class A>
xsimd::batch<widened_t<T>, A> widen_high(const xsimd::batch<T, A>& x, xsimd::generic) noexcept {
  return map_lane_range<widened_t<T>>(x, xsimd::batch<T, A>::size / 2, [](T v) { return static_cast<widened_t<T>>(v); });
}

template <class To, class From, class A, std::size_t Parts>
xsimd::batch<To, A> narrow_lanewise(const std::array<xsimd::batch<From, A>, Parts>& parts) noexcept {
  return concat_lanes<To>(parts, [](From v) { return ::qkern::saturating_cast<To>(v); });
}

template <class A>
xsimd::batch<std::int16_t, A> narrow_int32_to_int16(const xsimd::batch<std::int32_t, A>& lo,
                                                    const xsimd::batch<std::int32_t, A>& hi, xsimd::generic) noexcept {
  return narrow_lanewise<std::int16_t>(std::array<xsimd::batch<std::int32_t, A>, 2>{lo, hi});
}
template <class A>
xsimd::batch<std::int8_t, A> narrow_int16_to_int8(const xsimd::batch<std::int16_t, A>& lo,
                                                  const xsimd::batch<std::int16_t, A>& hi, xsimd::generic) noexcept {
  return narrow_lanewise<std::int8_t>(std::array<xsimd::batch<std::int16_t, A>, 2>{lo, hi});
}
template <class A>
xsimd::batch<std::uint8_t, A> narrow_int16_to_uint8(const xsimd::batch<std::int16_t, A>& lo,
                                                    const xsimd::batch<std::int16_t, A>& hi, xsimd::generic) noexcept {
  return narrow_lanewise<std::uint8_t>(std::array<xsimd::batch<std::int16_t, A>, 2>{lo, hi});
}

// int32 -> 8 bits in two saturating steps: clamping to int16 first never changes where a
// value lands in the 8-bit range, so the result is the one-step clamp.
template <class A>
xsimd::batch<std::int8_t, A> narrow_int32_to_int8(const xsimd::batch<std::int32_t, A>& q0,
                                                  const xsimd::batch<std::int32_t, A>& q1,
                                                  const xsimd::batch<std::int32_t, A>& q2,
                                                  const xsimd::batch<std::int32_t, A>& q3, xsimd::generic) noexcept {
  return detail::narrow_int16_to_int8(detail::narrow_int32_to_int16(q0, q1, A{}),
                                      detail::narrow_int32_to_int16(q2, q3, A{}), A{});
}
template <class A>
xsimd::batch<std::uint8_t, A> narrow_int32_to_uint8(const xsimd::batch<std::int32_t, A>& q0,
                                                    const xsimd::batch<std::int32_t, A>& q1,
                                                    const xsimd::batch<std::int32_t, A>& q2,
                                                    const xsimd::batch<std::int32_t, A>& q3, xsimd::generic) noexcept {
  return detail::narrow_int16_to_uint8(detail::narrow_int32_to_int16(q0, q1, A{}),
                                       detail::narrow_int32_to_int16(q2, q3, A{}), A{});
}

}  // namespace detail

// Lanes [0, size/2) of x, widened.
template <class T, class A>
xsimd::batch<widened_t<T>, A> widen_low(const xsimd::batch<T, A>& x) noexcept {
  return detail::widen_low(x, A{});
}

// Lanes [size/2, size) of x, widened.
template <class T, class A>
xsimd::batch<widened_t<T>, A> widen_high(const xsimd::batch<T, A>& x) noexcept {
  return detail::widen_high(x, A{});
}

// The lanes of lo then hi, each clamped to To: int32 -> int16, int16 -> int8 or uint8.
template <class To, class From, class A>
xsimd::batch<To, A> saturating_narrow(const xsimd::batch<From, A>& lo, const xsimd::batch<From, A>& hi) noexcept {
  if constexpr (std::is_same<From, std::int32_t>::value) {
    static_assert(std::is_same<To, std::int16_t>::value, "int32 narrows to int16 from two batches (to 8 bits: four)");
    return detail::narrow_int32_to_int16(lo, hi, A{});
  } else {
    static_assert(std::is_same<From, std::int16_t>::value, "narrowing takes int32 or int16 lanes");
    static_assert(std::is_same<To, std::int8_t>::value || std::is_same<To, std::uint8_t>::value,
                  "int16 narrows to int8 or uint8");
    if constexpr (std::is_same<To, std::int8_t>::value) {
      return detail::narrow_int16_to_int8(lo, hi, A{});
    } else {
      return detail::narrow_int16_to_uint8(lo, hi, A{});
    }
  }
}

// The lanes of q0, q1, q2 then q3, each clamped to To (int8 or uint8).
template <class To, class A>
xsimd::batch<To, A> saturating_narrow(const xsimd::batch<std::int32_t, A>& q0, const xsimd::batch<std::int32_t, A>& q1,
                                      const xsimd::batch<std::int32_t, A>& q2,
                                      const xsimd::batch<std::int32_t, A>& q3) noexcept {
  static_assert(std::is_same<To, std::int8_t>::value || std::is_same<To, std::uint8_t>::value,
                "four int32 batches narrow to int8 or uint8");
  if constexpr (std::is_same<To, std::int8_t>::value) {
    return detail::narrow_int32_to_int8(q0, q1, q2, q3, A{});
  } else {
    return detail::narrow_int32_to_uint8(q0, q1, q2, q3, A{});
  }
}

}  // namespace simd
}  // namespace qkern
