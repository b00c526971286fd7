// The rounding policies against independent formulations: gemmlowp's primitives composed as
// TFLite's double-rounding build composes them, and a direct "round half up" long division
// for the single-rounding build.
#include <doctest/doctest.h>
#include <fixedpoint/fixedpoint.h>

#include <cstdint>
#include <limits>

#include "qkern/core/rounding.hpp"
#include "support/generators.hpp"
#include "support/property.hpp"

using qkern::double_rounding;
using qkern::quantized_multiplier;
using qkern::single_rounding;
using qkern_test::any_int32;
using qkern_test::q31_multiplier;

namespace {

// floor(numerator / 2^k) + [remainder >= 2^(k-1)]: the value rounded half toward +infinity.
__int128 round_half_up_divide_by_pot(__int128 numerator, int k) {
  const __int128 divisor = static_cast<__int128>(1) << k;
  __int128 quotient = numerator / divisor;
  __int128 remainder = numerator - quotient * divisor;
  if (remainder < 0) {
    quotient -= 1;
    remainder += divisor;
  }
  return quotient + (2 * remainder >= divisor ? 1 : 0);
}

std::int32_t gemmlowp_double_rounding(std::int32_t x, std::int32_t m, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  return gemmlowp::RoundingDivideByPOT(gemmlowp::SaturatingRoundingDoublingHighMul(x * (1 << left), m), right);
}

// x whose product with 2^left_shift still fits int32: TFLite's input contract.
std::int32_t in_contract_input(int shift) {
  const int left = shift > 0 ? shift : 0;
  const std::int32_t bound = std::numeric_limits<std::int32_t>::max() >> left;
  return *rc::gen::weightedOneOf<std::int32_t>({
      {3, rc::gen::inRange<std::int32_t>(-bound - 1, bound)},
      {1, rc::gen::element<std::int32_t>(-bound - 1, -bound, -1, 0, 1, bound)},
  });
}

}  // namespace

TEST_CASE("double_rounding::multiply is gemmlowp's SRDHM followed by RoundingDivideByPOT") {
  QKERN_PROPERTY("int32 accumulator, shifts -31..30", [] {
    const int shift = *rc::gen::inRange(-31, 31);
    const std::int32_t x = in_contract_input(shift);
    const quantized_multiplier m{*q31_multiplier(), shift};
    RC_ASSERT(double_rounding::multiply(x, m) == gemmlowp_double_rounding(x, m.multiplier, shift));
  });
  QKERN_PROPERTY("smaller_than_one_exp, shifts -31..0", [] {
    const int shift = *rc::gen::inRange(-31, 1);
    const std::int32_t x = *any_int32();
    const quantized_multiplier m{*q31_multiplier(), shift};
    RC_ASSERT(double_rounding::multiply_smaller_than_one_exp(x, m) ==
              gemmlowp::RoundingDivideByPOT(gemmlowp::SaturatingRoundingDoublingHighMul(x, m.multiplier), -shift));
  });
}

TEST_CASE("single_rounding::multiply rounds x*m/2^(31-shift) once, half up") {
  QKERN_PROPERTY("int32 accumulator, shifts -31..30", [] {
    const int shift = *rc::gen::inRange(-31, 31);
    const std::int32_t x = in_contract_input(shift);
    const quantized_multiplier m{*q31_multiplier(), shift};
    const auto expected = static_cast<std::int64_t>(
        round_half_up_divide_by_pot(static_cast<__int128>(x) * m.multiplier, 31 - shift));
    RC_PRE(expected >= std::numeric_limits<std::int32_t>::min() && expected <= std::numeric_limits<std::int32_t>::max());
    RC_ASSERT(single_rounding::multiply(x, m) == expected);
  });
  QKERN_PROPERTY("smaller_than_one_exp is the same single rounding", [] {
    const int shift = *rc::gen::inRange(-31, 1);
    const std::int32_t x = *any_int32();
    const quantized_multiplier m{*q31_multiplier(), shift};
    RC_ASSERT(single_rounding::multiply_smaller_than_one_exp(x, m) ==
              static_cast<std::int64_t>(round_half_up_divide_by_pot(static_cast<__int128>(x) * m.multiplier, 31 - shift)));
  });
}

TEST_CASE("the policies agree on left shifts and differ only on right shifts") {
  QKERN_PROPERTY("identical for shift >= 0", [] {
    const int shift = *rc::gen::inRange(0, 31);
    const std::int32_t x = in_contract_input(shift);
    const quantized_multiplier m{*q31_multiplier(), shift};
    RC_ASSERT(double_rounding::multiply(x, m) == single_rounding::multiply(x, m));
  });
  // A worked case where they differ (docs/arithmetic.md): 3 * 0.5 / 4 = 0.375.
  // Double: the high multiply gives round(1.5) = 2, then 2 / 4 = 0.5 rounds away from zero to 1.
  // Single: round(0.375) = 0.
  const quantized_multiplier half_over_four{1 << 30, -2};
  CHECK(double_rounding::multiply(3, half_over_four) == 1);
  CHECK(single_rounding::multiply(3, half_over_four) == 0);
  CHECK(gemmlowp_double_rounding(3, 1 << 30, -2) == 1);
}

TEST_CASE("int64 accumulator: 16-bit reduced multiplier and one round-half-up shift, both policies") {
  QKERN_PROPERTY("|x| < 2^47, shift -31..7", [] {
    const std::int64_t x = *rc::gen::inRange<std::int64_t>(-(std::int64_t{1} << 47) + 1, std::int64_t{1} << 47);
    const int shift = *rc::gen::inRange(-31, 8);
    const quantized_multiplier m{*q31_multiplier(), shift};
    const std::int64_t reduced = m.multiplier >= 0x7FFF0000 ? 0x7FFF : (std::int64_t{m.multiplier} + 32768) / 65536;
    const auto expected = static_cast<std::int64_t>(round_half_up_divide_by_pot(static_cast<__int128>(x) * reduced, 15 - shift));
    RC_PRE(expected >= std::numeric_limits<std::int32_t>::min() && expected <= std::numeric_limits<std::int32_t>::max());
    RC_ASSERT(double_rounding::multiply(x, m) == expected);
    RC_ASSERT(single_rounding::multiply(x, m) == expected);
  });
}

TEST_CASE("out-of-contract inputs saturate the exact result, not UB") {
  // TFLite leaves x * 2^shift overflow undefined; qkern rounds the exact product and saturates.
  constexpr std::int32_t max = std::numeric_limits<std::int32_t>::max();
  constexpr std::int32_t min = std::numeric_limits<std::int32_t>::min();
  QKERN_PROPERTY("positive shifts: round(x * m * 2^shift / 2^31), half up, clamped to int32", [] {
    const int shift = *rc::gen::inRange(1, 45);
    const std::int32_t x = *any_int32();
    const quantized_multiplier m{*q31_multiplier(), shift};
    const __int128 exact = static_cast<__int128>(x) * m.multiplier * (static_cast<__int128>(1) << shift);
    const __int128 rounded = round_half_up_divide_by_pot(exact, 31);
    const std::int64_t expected = rounded > max ? max : (rounded < min ? min : static_cast<std::int64_t>(rounded));
    RC_ASSERT(double_rounding::multiply(x, m) == expected);
  });
  CHECK(double_rounding::multiply(max, quantized_multiplier{1 << 30, 4}) == max);
  CHECK(double_rounding::multiply(min, quantized_multiplier{1 << 30, 4}) == min);
  CHECK(double_rounding::multiply(1, quantized_multiplier{1 << 30, 41}) == max);
  CHECK(double_rounding::multiply(-1, quantized_multiplier{1 << 30, 41}) == min);
  CHECK(double_rounding::multiply(0, quantized_multiplier{1 << 30, 41}) == 0);
  // 2^31 * 0.5 = 2^30: the pre-shifted value overflows int32 but the result does not.
  CHECK(double_rounding::multiply(1 << 30, quantized_multiplier{1 << 30, 1}) == 1 << 30);
}
