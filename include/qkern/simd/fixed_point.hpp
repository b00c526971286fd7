// Vector fixed-point primitives on xsimd::batch<int32_t, A>: each equals its scalar twin in
// qkern/core/ lane by lane, for every input the scalar one accepts.
//
//   saturating_rounding_doubling_high_mul(a, b)   core/fixed_point.hpp, per lane
//   rounding_divide_by_pot(x, exponent)           uniform exponent in [0, 31]
//   saturating_left_shift(x, exponent)            uniform exponent >= 0
//   multiply<Policy>(acc, m)                      Policy::multiply(int32 acc, m), shift >= -31
//   multiply_smaller_than_one_exp<Policy>(x, m)   Policy::multiply_smaller_than_one_exp, shift in [-31, 0]
//
// This file holds the public templates and the generic implementations (xsimd::generic tag);
// the backend files included below add overloads for the tags where they are faster.
#pragma once

#include <cstdint>
#include <limits>

#include "qkern/core/fixed_point.hpp"
#include "qkern/core/multiplier.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/simd/arch.hpp"
#include "qkern/simd/lanewise.hpp"

// Backend overloads: each file is empty unless its XSIMD_WITH_* macro is set. They come
// first so that the generic compositions below see them.
#include "qkern/simd/arm_neon.hpp"
#include "qkern/simd/x86_avx2.hpp"
#include "qkern/simd/x86_avx512.hpp"
#include "qkern/simd/x86_sse41.hpp"

namespace qkern {
namespace simd {
namespace detail {

// xsimd has no high-half multiply, so the generic version is the scalar core per lane.
template <class A>
xsimd::batch<std::int32_t, A> saturating_rounding_doubling_high_mul(const xsimd::batch<std::int32_t, A>& a,
                                                                    const xsimd::batch<std::int32_t, A>& b,
                                                                    xsimd::generic) noexcept {
  return map_lanes<std::int32_t>(a, b, [](std::int32_t x, std::int32_t y) {
    return ::qkern::saturating_rounding_doubling_high_mul(x, y);
  });
}

template <class A>
xsimd::batch<std::int32_t, A> rounding_divide_by_pot(const xsimd::batch<std::int32_t, A>& x, int exponent,
                                                     xsimd::generic) noexcept {
  using batch = xsimd::batch<std::int32_t, A>;
  const auto mask = static_cast<std::int32_t>((std::int64_t{1} << exponent) - 1);
  // Round up when the remainder passes half the divisor; for negative x the bar is one
  // higher, so that ties round away from zero. (x >> 31 is -1 for negative x.)
  const batch remainder = x & batch(mask);
  const batch threshold = batch(mask >> 1) - (x >> 31);
  // remainder > threshold iff threshold - remainder < 0 (both lie in [0, 2^31): no overflow),
  // and that difference's sign, shifted down, is the -1 that rounds up.
  return (x >> exponent) - ((threshold - remainder) >> 31);
}

template <class A>
xsimd::batch<std::int32_t, A> saturating_left_shift(const xsimd::batch<std::int32_t, A>& x, int exponent,
                                                    xsimd::generic) noexcept {
  using batch = xsimd::batch<std::int32_t, A>;
  // A shift by 31 already saturates every x other than 0 (and -1 lands on INT32_MIN), so
  // larger exponents give the same lanes.
  const int e = exponent < 31 ? exponent : 31;
  const batch shifted = x << e;
  // The shift overflowed iff shifting back does not restore x; then saturate toward x's sign.
  const batch saturated = (x >> 31) ^ batch(std::numeric_limits<std::int32_t>::max());
  return xsimd::select((shifted >> e) == x, shifted, saturated);
}

// Any policy: its scalar multiply per lane.
template <class A, class Policy, class Multiplier>
xsimd::batch<std::int32_t, A> multiply(const xsimd::batch<std::int32_t, A>& x, const Multiplier& m, Policy,
                                       xsimd::generic) noexcept {
  return map_lanes<std::int32_t>(x, [&m](std::int32_t v) { return Policy::multiply(v, m); });
}

// double_rounding is built from the other primitives, each at its best backend. A left shift
// leaves one rounding, round(x * m * 2^shift / 2^31) saturated, which is single rounding's
// formula; shifts above 30 (reals of 2^30 and more) go to the scalar core.
template <class A>
xsimd::batch<std::int32_t, A> multiply(const xsimd::batch<std::int32_t, A>& x, const quantized_multiplier& m,
                                       double_rounding, xsimd::generic) noexcept {
  using batch = xsimd::batch<std::int32_t, A>;
  if (m.shift > 30) return map_lanes<std::int32_t>(x, [&m](std::int32_t v) { return double_rounding::multiply(v, m); });
  if (m.shift > 0) return detail::multiply(x, m, single_rounding{}, A{});
  const batch product = detail::saturating_rounding_doubling_high_mul(x, batch(m.multiplier), A{});
  return m.shift < 0 ? detail::rounding_divide_by_pot(product, -m.shift, A{}) : product;
}

template <class A, class Policy, class Multiplier>
xsimd::batch<std::int32_t, A> multiply_smaller_than_one_exp(const xsimd::batch<std::int32_t, A>& x,
                                                            const Multiplier& m, Policy, xsimd::generic) noexcept {
  return map_lanes<std::int32_t>(x, [&m](std::int32_t v) { return Policy::multiply_smaller_than_one_exp(v, m); });
}

// For both TFLite policies the smaller-than-one variant is multiply() itself once shift <= 0:
// double rounding's left shift is then by zero, single rounding defines it that way.
template <class A>
xsimd::batch<std::int32_t, A> multiply_smaller_than_one_exp(const xsimd::batch<std::int32_t, A>& x,
                                                            const quantized_multiplier& m, double_rounding,
                                                            xsimd::generic) noexcept {
  return detail::multiply(x, m, double_rounding{}, A{});
}

template <class A>
xsimd::batch<std::int32_t, A> multiply_smaller_than_one_exp(const xsimd::batch<std::int32_t, A>& x,
                                                            const quantized_multiplier& m, single_rounding,
                                                            xsimd::generic) noexcept {
  return detail::multiply(x, m, single_rounding{}, A{});
}

}  // namespace detail

// round(a * b / 2^31) per lane, ties toward +infinity; INT32_MIN * INT32_MIN saturates.
template <class A>
xsimd::batch<std::int32_t, A> saturating_rounding_doubling_high_mul(const xsimd::batch<std::int32_t, A>& a,
                                                                    const xsimd::batch<std::int32_t, A>& b) noexcept {
  return detail::saturating_rounding_doubling_high_mul(a, b, A{});
}

// x / 2^exponent per lane, ties away from zero. Precondition: exponent in [0, 31].
template <class A>
xsimd::batch<std::int32_t, A> rounding_divide_by_pot(const xsimd::batch<std::int32_t, A>& x, int exponent) noexcept {
  return detail::rounding_divide_by_pot(x, exponent, A{});
}

// x * 2^exponent per lane, clamped to the int32 range. Precondition: exponent >= 0.
template <class A>
xsimd::batch<std::int32_t, A> saturating_left_shift(const xsimd::batch<std::int32_t, A>& x, int exponent) noexcept {
  return detail::saturating_left_shift(x, exponent, A{});
}

// Policy::multiply(acc[i], m) per lane: the requantization of int32 accumulators.
// Precondition: m.shift >= -31 (single_rounding: m.shift in [-31, 30]), as for the scalar one.
template <class Policy, class A>
xsimd::batch<std::int32_t, A> multiply(const xsimd::batch<std::int32_t, A>& acc,
                                       const typename Policy::multiplier_type& m) noexcept {
  return detail::multiply(acc, m, Policy{}, A{});
}

// Policy::multiply_smaller_than_one_exp(x[i], m) per lane. Precondition: m.shift in [-31, 0].
template <class Policy, class A>
xsimd::batch<std::int32_t, A> multiply_smaller_than_one_exp(const xsimd::batch<std::int32_t, A>& x,
                                                            const typename Policy::multiplier_type& m) noexcept {
  return detail::multiply_smaller_than_one_exp(x, m, Policy{}, A{});
}

}  // namespace simd
}  // namespace qkern
