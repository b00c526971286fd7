// Fixed-point transcendental functions: exp on negative values, logistic, tanh and the
// reciprocal, with gemmlowp's semantics (the ones TFLite's int8 logistic/tanh/softmax call).
//
// A fixed_point<Raw, IntegerBits> is a signed Q-format number: raw / 2^fractional_bits, with
// IntegerBits bits before the binary point besides the sign, so it covers
// [-2^IntegerBits, 2^IntegerBits). Raw is int32 (Q31 family) or int16 (Q15 family). The
// functions are bit-exact with gemmlowp, including its plain (wrapping) additions and the
// saturation of its rescales; every intermediate is written here as the integer operation
// that produces it.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "qkern/core/fixed_point.hpp"

namespace qkern {

template <class Raw, int IntegerBits>
struct fixed_point {
  static_assert(std::is_same<Raw, std::int32_t>::value || std::is_same<Raw, std::int16_t>::value,
                "fixed_point raw values are int32 or int16");
  static_assert(IntegerBits >= 0 && IntegerBits <= std::numeric_limits<Raw>::digits,
                "IntegerBits must leave room for the sign");

  using raw_type = Raw;
  static constexpr int integer_bits = IntegerBits;
  static constexpr int fractional_bits = std::numeric_limits<Raw>::digits - IntegerBits;

  Raw raw = 0;

  static constexpr fixed_point from_raw(Raw r) noexcept { return fixed_point{r}; }
  static constexpr fixed_point zero() noexcept { return fixed_point{0}; }
  // 1.0, or the largest value below it when there are no integer bits (1.0 is not representable).
  static constexpr fixed_point one() noexcept {
    return fixed_point{IntegerBits == 0 ? std::numeric_limits<Raw>::max()
                                        : static_cast<Raw>(Raw{1} << (IntegerBits == 0 ? 0 : fractional_bits))};
  }
  // 2^Exponent, exactly representable in this format.
  template <int Exponent>
  static constexpr fixed_point power_of_two() noexcept {
    static_assert(fractional_bits + Exponent >= 0 && fractional_bits + Exponent < std::numeric_limits<Raw>::digits,
                  "2^Exponent is not representable in this format");
    return fixed_point{static_cast<Raw>(Raw{1} << (fractional_bits + Exponent))};
  }
};

template <int IntegerBits>
using q31 = fixed_point<std::int32_t, IntegerBits>;
template <int IntegerBits>
using q15 = fixed_point<std::int16_t, IntegerBits>;

namespace detail {

// gemmlowp's additions are plain integer additions; these wrap modulo 2^bits instead of being UB.
template <class Raw>
constexpr Raw wrapping_add(Raw a, Raw b) noexcept {
  return static_cast<Raw>(static_cast<std::uint32_t>(a) + static_cast<std::uint32_t>(b));
}
template <class Raw>
constexpr Raw wrapping_sub(Raw a, Raw b) noexcept {
  return static_cast<Raw>(static_cast<std::uint32_t>(a) - static_cast<std::uint32_t>(b));
}
template <class Raw>
constexpr Raw wrapping_neg(Raw a) noexcept {
  return static_cast<Raw>(0u - static_cast<std::uint32_t>(a));
}

// x * 2^Exponent keeping the format: saturating for a left shift, rounding to nearest (ties
// away from zero) for a right shift.
template <int Exponent, class Raw>
constexpr Raw saturating_rounding_multiply_by_pot(Raw x) noexcept {
  if constexpr (Exponent > 0) {
    return saturating_left_shift(x, Exponent);
  } else if constexpr (Exponent < 0) {
    return rounding_divide_by_pot(x, -Exponent);
  } else {
    return x;
  }
}

// A constant given as its int32 raw value in a format with the same integer bits; the int16
// format keeps the 16 high bits, rounded (gemmlowp's rule for its 16-bit constants).
template <class Raw>
constexpr Raw constant_from_int32(std::int32_t raw32) noexcept {
  if constexpr (std::is_same<Raw, std::int32_t>::value) {
    return raw32;
  } else {
    return static_cast<Raw>(rounding_divide_by_pot(raw32, 16));
  }
}

// a + b, saturating for int16 raws and wrapping for int32 ones (gemmlowp's AddSaturatingIf16Bit).
template <class Raw>
constexpr Raw add_saturating_if_16_bit(Raw a, Raw b) noexcept {
  if constexpr (std::is_same<Raw, std::int16_t>::value) {
    return saturating_add(a, b);
  } else {
    return wrapping_add(a, b);
  }
}

}  // namespace detail

// --- arithmetic -------------------------------------------------------------------------------

template <class Raw, int I>
constexpr fixed_point<Raw, I> operator+(fixed_point<Raw, I> a, fixed_point<Raw, I> b) noexcept {
  return fixed_point<Raw, I>::from_raw(detail::wrapping_add(a.raw, b.raw));
}
template <class Raw, int I>
constexpr fixed_point<Raw, I> operator-(fixed_point<Raw, I> a, fixed_point<Raw, I> b) noexcept {
  return fixed_point<Raw, I>::from_raw(detail::wrapping_sub(a.raw, b.raw));
}
template <class Raw, int I>
constexpr fixed_point<Raw, I> operator-(fixed_point<Raw, I> a) noexcept {
  return fixed_point<Raw, I>::from_raw(detail::wrapping_neg(a.raw));
}

// The product's integer bits are the sum of the factors': a doubling high multiply of the raws.
template <class Raw, int A, int B>
constexpr fixed_point<Raw, A + B> operator*(fixed_point<Raw, A> a, fixed_point<Raw, B> b) noexcept {
  return fixed_point<Raw, A + B>::from_raw(saturating_rounding_doubling_high_mul(a.raw, b.raw));
}

// The same raw read with Exponent more integer bits: an exact multiplication by 2^Exponent.
template <int Exponent, class Raw, int I>
constexpr fixed_point<Raw, I + Exponent> exact_mul_by_pot(fixed_point<Raw, I> x) noexcept {
  return fixed_point<Raw, I + Exponent>::from_raw(x.raw);
}

// The same value in a format with DstIntegerBits: saturates when fewer integer bits cannot hold
// it, rounds when more integer bits drop fractional ones.
template <int DstIntegerBits, class Raw, int I>
constexpr fixed_point<Raw, DstIntegerBits> rescale(fixed_point<Raw, I> x) noexcept {
  return fixed_point<Raw, DstIntegerBits>::from_raw(
      detail::saturating_rounding_multiply_by_pot<I - DstIntegerBits>(x.raw));
}

// (a + b) / 2 rounded to nearest, ties away from zero, computed without overflow.
template <class Raw, int I>
constexpr fixed_point<Raw, I> rounding_half_sum(fixed_point<Raw, I> a, fixed_point<Raw, I> b) noexcept {
  const std::int64_t sum = std::int64_t{a.raw} + b.raw;
  return fixed_point<Raw, I>::from_raw(static_cast<Raw>((sum + (sum >= 0 ? 1 : -1)) / 2));
}

// --- exp ----------------------------------------------------------------------------------------

// exp(a) for a in [-1/4, 0): a Taylor polynomial of degree 4 around -1/8,
// exp(a) = exp(-1/8) · (1 + x + x²/2 + x³/6 + x⁴/24) with x = a + 1/8.
template <class Raw>
constexpr fixed_point<Raw, 0> exp_on_interval_between_negative_one_quarter_and_0_excl(fixed_point<Raw, 0> a) noexcept {
  using f0 = fixed_point<Raw, 0>;
  const f0 exp_of_minus_one_eighth = f0::from_raw(detail::constant_from_int32<Raw>(1895147668));  // round(e^(-1/8)·2^31)
  const f0 one_third = f0::from_raw(detail::constant_from_int32<Raw>(715827883));                 // round(2^31 / 3)
  const f0 x = a + f0::template power_of_two<-3>();
  const f0 x2 = x * x;
  const f0 x3 = x2 * x;
  const f0 x4 = x2 * x2;
  const f0 x4_over_4 = f0::from_raw(detail::saturating_rounding_multiply_by_pot<-2>(x4.raw));
  // ((x⁴/4 + x³) / 3 + x²) / 2 = x⁴/24 + x³/6 + x²/2
  const f0 higher_terms = f0::from_raw(detail::saturating_rounding_multiply_by_pot<-1>(((x4_over_4 + x3) * one_third + x2).raw));
  return f0::from_raw(detail::add_saturating_if_16_bit(exp_of_minus_one_eighth.raw,
                                                       (exp_of_minus_one_eighth * (x + higher_terms)).raw));
}

// exp(a) for a <= 0, result in Q0 (exp(0) gives one()). a is split as a = r - k/4 with r in
// [-1/4, 0) and k >= 0 a whole number of quarters; exp(r) comes from the polynomial above and each
// set bit of k/4 (1/4, 1/2, 1, 2, 4, 8, 16) multiplies in the matching exp(-2^i). Inputs below -32
// (representable only with more than 5 integer bits) give 0.
template <class Raw, int IntegerBits>
constexpr fixed_point<Raw, 0> exp_on_negative_values(fixed_point<Raw, IntegerBits> a) noexcept {
  using input_type = fixed_point<Raw, IntegerBits>;
  using f0 = fixed_point<Raw, 0>;
  constexpr int fractional_bits = input_type::fractional_bits;
  static_assert(fractional_bits >= 2, "exp_on_negative_values needs a quarter to be representable");

  const Raw one_quarter = static_cast<Raw>(Raw{1} << (fractional_bits - 2));
  const Raw below_one_quarter = static_cast<Raw>(one_quarter - 1);
  const input_type r = input_type::from_raw(detail::wrapping_sub(static_cast<Raw>(a.raw & below_one_quarter), one_quarter));
  f0 result = exp_on_interval_between_negative_one_quarter_and_0_excl(rescale<0>(r));
  const Raw quarters = detail::wrapping_sub(r.raw, a.raw);  // k/4 >= 0, a multiple of 1/4

  // exp(-2^exponent) for exponent = -2..4, as round(value · 2^31).
  constexpr std::int32_t exp_of_minus_power_of_two[7] = {1672461947, 1302514674, 790015084, 290630308,
                                                         39332535,   720401,     242};
  for (int i = 0; i < 7; ++i) {
    const int exponent = i - 2;
    if (IntegerBits > exponent) {
      const int bit = fractional_bits + exponent;
      if ((quarters >> bit) & 1) {
        result = result * f0::from_raw(detail::constant_from_int32<Raw>(exp_of_minus_power_of_two[i]));
      }
    }
  }
  if constexpr (IntegerBits > 5) {
    const Raw minus_32 = static_cast<Raw>(-(Raw{1} << (fractional_bits + 5)));
    if (a.raw < minus_32) result = f0::zero();
  }
  if (a.raw == 0) result = f0::one();
  return result;
}

// --- reciprocals --------------------------------------------------------------------------------

namespace detail {

// 1/d for d = (1 + a)/2 in [1/2, 1), in Q2: Newton-Raphson x <- x + x·(1 - d·x), three steps
// from the linear start 48/17 - 32/17·d (the best linear fit of 1/d on [1/2, 1]).
template <class Raw>
constexpr fixed_point<Raw, 2> reciprocal_of_half_denominator(fixed_point<Raw, 0> half_denominator) noexcept {
  using f2 = fixed_point<Raw, 2>;
  const f2 forty_eight_seventeenths = f2::from_raw(constant_from_int32<Raw>(1515870810));   // round(48/17·2^29)
  const f2 minus_thirty_two_seventeenths = f2::from_raw(constant_from_int32<Raw>(-1010580540));  // round(-32/17·2^29)
  f2 x = forty_eight_seventeenths + half_denominator * minus_thirty_two_seventeenths;
  for (int i = 0; i < 3; ++i) {
    const f2 residual = f2::one() - half_denominator * x;
    x = x + rescale<2>(x * residual);
  }
  return x;
}

}  // namespace detail

// 1 / (1 + a) for a in [0, 1), in Q0.
template <class Raw>
constexpr fixed_point<Raw, 0> one_over_one_plus_x_for_x_in_0_1(fixed_point<Raw, 0> a) noexcept {
  using f0 = fixed_point<Raw, 0>;
  const auto inverse_half = detail::reciprocal_of_half_denominator(rounding_half_sum(a, f0::one()));
  return rescale<0>(exact_mul_by_pot<-1>(inverse_half));  // 1/(1+a) = (1/d) / 2
}

// (1 - a) / (1 + a) for a in [0, 1), in Q0.
template <class Raw>
constexpr fixed_point<Raw, 0> one_minus_x_over_one_plus_x_for_x_in_0_1(fixed_point<Raw, 0> a) noexcept {
  using f0 = fixed_point<Raw, 0>;
  const auto inverse_half = detail::reciprocal_of_half_denominator(rounding_half_sum(a, f0::one()));
  return rescale<0>(inverse_half - fixed_point<Raw, 2>::one());  // (1-a)/(1+a) = 1/d - 1
}

// count of leading zero bits of x; 32 for 0.
constexpr int count_leading_zeros(std::uint32_t x) noexcept {
  if (x == 0) return 32;
  int n = 0;
  while ((x & 0x80000000u) == 0) {
    x <<= 1;
    ++n;
  }
  return n;
}

// 1/x for a positive x in Q(x_integer_bits), as TFLite's GetReciprocal: x is normalised to
// 1 + f with f in [0, 1), and 1/x = scale · 2^-bits_over_unit with scale = 1/(1 + f) in Q0.
struct scaled_reciprocal {
  fixed_point<std::int32_t, 0> scale;
  int bits_over_unit = 0;
};

constexpr scaled_reciprocal reciprocal(std::int32_t x, int x_integer_bits) noexcept {
  const auto u = static_cast<std::uint32_t>(x);
  const int headroom_plus_one = count_leading_zeros(u);
  const std::uint32_t normalised = headroom_plus_one < 32 ? u << headroom_plus_one : 0u;  // 1.f · 2^32
  const auto fraction = static_cast<std::int32_t>(normalised - 0x80000000u);               // f in Q0.31
  return {one_over_one_plus_x_for_x_in_0_1(fixed_point<std::int32_t, 0>::from_raw(fraction)),
          x_integer_bits - headroom_plus_one};
}

// --- logistic and tanh ------------------------------------------------------------------------

// 1 / (1 + e^-a) for any a, in Q0; computed on -|a| and mirrored (logistic(-a) = 1 - logistic(a)).
template <class Raw, int IntegerBits>
constexpr fixed_point<Raw, 0> logistic(fixed_point<Raw, IntegerBits> a) noexcept {
  using f0 = fixed_point<Raw, 0>;
  if (a.raw == 0) return f0::template power_of_two<-1>();
  const fixed_point<Raw, IntegerBits> magnitude = a.raw > 0 ? a : -a;
  const f0 of_magnitude = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(-magnitude));
  return a.raw > 0 ? of_magnitude : f0::one() - of_magnitude;
}

// tanh(a) for any a, in Q0: tanh(|a|) = (1 - e^(-2|a|)) / (1 + e^(-2|a|)), sign restored after.
template <class Raw, int IntegerBits>
constexpr fixed_point<Raw, 0> tanh(fixed_point<Raw, IntegerBits> a) noexcept {
  using f0 = fixed_point<Raw, 0>;
  if (a.raw == 0) return f0::zero();
  const fixed_point<Raw, IntegerBits> negative = a.raw < 0 ? a : -a;
  const f0 of_magnitude =
      one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(exact_mul_by_pot<1>(negative)));
  return a.raw < 0 ? -of_magnitude : of_magnitude;
}

}  // namespace qkern
