// Scalar fixed-point primitives: the readable spec every SIMD path must reproduce.
//
// These follow gemmlowp's fixedpoint semantics (the ones TFLite and TFLite Micro call):
// a Q31 number q stands for q / 2^31, and "doubling high multiply" is the Q31 product.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

namespace qkern {

// Q31 product of a and b: round(a * b / 2^31), ties toward +infinity. The sign-dependent
// nudge followed by C's truncating division is exactly floor((a*b + 2^30) / 2^31).
// Only INT32_MIN * INT32_MIN leaves the int32 range; it saturates to INT32_MAX.
constexpr std::int32_t saturating_rounding_doubling_high_mul(std::int32_t a, std::int32_t b) noexcept {
  if (a == b && a == std::numeric_limits<std::int32_t>::min()) {
    return std::numeric_limits<std::int32_t>::max();
  }
  const std::int64_t product = static_cast<std::int64_t>(a) * b;
  const std::int64_t nudge = product >= 0 ? (std::int64_t{1} << 30) : (1 - (std::int64_t{1} << 30));
  return static_cast<std::int32_t>((product + nudge) / (std::int64_t{1} << 31));
}

// Q15 form, used by int16 activations: round(a * b / 2^15), ties toward +infinity. A template
// taking exactly int16_t, so that plain int arguments always pick the Q31 form (on targets where
// int32_t is long, two non-template overloads would make (int, int) ambiguous).
template <class T, std::enable_if_t<std::is_same<T, std::int16_t>::value, int> = 0>
constexpr std::int16_t saturating_rounding_doubling_high_mul(T a, T b) noexcept {
  if (a == b && a == std::numeric_limits<std::int16_t>::min()) {
    return std::numeric_limits<std::int16_t>::max();
  }
  const std::int32_t product = static_cast<std::int32_t>(a) * b;
  const std::int32_t nudge = product >= 0 ? (1 << 14) : (1 - (1 << 14));
  return static_cast<std::int16_t>((product + nudge) / (1 << 15));
}

// x / 2^exponent rounded to nearest, ties away from zero; exponent in [0, 31] for int32
// (the range gemmlowp accepts). The remainder is compared with half the divisor, and the
// threshold is raised by one for negative x so that negative ties round down in magnitude.
template <class T>
constexpr T rounding_divide_by_pot(T x, int exponent) noexcept {
  static_assert(std::is_integral<T>::value && std::is_signed<T>::value, "signed integers only");
  using wide = std::conditional_t<(sizeof(T) < sizeof(std::int64_t)), std::int64_t, T>;
  const wide mask = static_cast<wide>((static_cast<std::uint64_t>(1) << exponent) - 1);
  const wide remainder = static_cast<wide>(x) & mask;
  const wide threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return static_cast<T>((x >> exponent) + (remainder > threshold ? 1 : 0));
}

// Clamp-convert between integer types: values outside To's range go to its nearest bound.
template <class To, class From>
constexpr To saturating_cast(From x) noexcept {
  static_assert(std::is_integral<To>::value && std::is_integral<From>::value, "integers only");
  static_assert(sizeof(To) <= sizeof(std::int64_t) && sizeof(From) <= sizeof(std::int64_t), "up to 64 bits");
  constexpr To lo = std::numeric_limits<To>::min();
  constexpr To hi = std::numeric_limits<To>::max();
  if constexpr (std::is_signed<From>::value) {
    if (x < 0) {
      if constexpr (!std::is_signed<To>::value) {
        return lo;
      } else {
        return static_cast<std::int64_t>(x) < static_cast<std::int64_t>(lo) ? lo : static_cast<To>(x);
      }
    }
  }
  return static_cast<std::uint64_t>(x) > static_cast<std::uint64_t>(hi) ? hi : static_cast<To>(x);
}

// a + b and a - b clamped to T's range (no wrap-around, no UB).
template <class T>
constexpr T saturating_add(T a, T b) noexcept {
  static_assert(std::is_integral<T>::value && std::is_signed<T>::value, "signed integers only");
  if (b > 0 && a > std::numeric_limits<T>::max() - b) return std::numeric_limits<T>::max();
  if (b < 0 && a < std::numeric_limits<T>::min() - b) return std::numeric_limits<T>::min();
  return static_cast<T>(a + b);
}

template <class T>
constexpr T saturating_sub(T a, T b) noexcept {
  static_assert(std::is_integral<T>::value && std::is_signed<T>::value, "signed integers only");
  if (b < 0 && a > std::numeric_limits<T>::max() + b) return std::numeric_limits<T>::max();
  if (b > 0 && a < std::numeric_limits<T>::min() + b) return std::numeric_limits<T>::min();
  return static_cast<T>(a - b);
}

// x * 2^exponent (exponent >= 0) clamped to T's range, as gemmlowp's SaturatingRoundingMultiplyByPOT
// for a left shift.
template <class T>
constexpr T saturating_left_shift(T x, int exponent) noexcept {
  static_assert(std::is_integral<T>::value && std::is_signed<T>::value, "signed integers only");
  if (x == 0 || exponent == 0) return x;
  if (exponent >= std::numeric_limits<T>::digits) {
    return x > 0 ? std::numeric_limits<T>::max() : std::numeric_limits<T>::min();
  }
  const T limit = static_cast<T>(std::numeric_limits<T>::max() >> exponent);
  if (x > limit) return std::numeric_limits<T>::max();
  if (x < static_cast<T>(-limit - 1)) return std::numeric_limits<T>::min();
  return static_cast<T>(static_cast<std::make_unsigned_t<T>>(x) << exponent);
}

}  // namespace qkern
