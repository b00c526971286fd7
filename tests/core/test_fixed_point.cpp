// The fixed-point primitives against gemmlowp's fixedpoint.h, an independent implementation
// (the one TFLite calls), over the whole int32 range with extremes and ties forced in.
#include <doctest/doctest.h>
#include <fixedpoint/fixedpoint.h>

#include <cstdint>
#include <limits>

#include "qkern/core/fixed_point.hpp"
#include "support/generators.hpp"
#include "support/property.hpp"

using qkern_test::any_int32;

namespace {
constexpr std::int32_t int32_min = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t int32_max = std::numeric_limits<std::int32_t>::max();
}  // namespace

TEST_CASE("saturating_rounding_doubling_high_mul matches gemmlowp") {
  QKERN_PROPERTY("int32 over the whole range", [] {
    const std::int32_t a = *any_int32();
    const std::int32_t b = *any_int32();
    RC_ASSERT(qkern::saturating_rounding_doubling_high_mul(a, b) == gemmlowp::SaturatingRoundingDoublingHighMul(a, b));
  });
  QKERN_PROPERTY("int16 over the whole range", [](std::int16_t a, std::int16_t b) {
    RC_ASSERT(qkern::saturating_rounding_doubling_high_mul(a, b) == gemmlowp::SaturatingRoundingDoublingHighMul(a, b));
  });
  // The one saturating product and the ties (products that are odd multiples of 2^30).
  CHECK(qkern::saturating_rounding_doubling_high_mul(int32_min, int32_min) == int32_max);
  CHECK(qkern::saturating_rounding_doubling_high_mul(int32_min, int32_max) ==
        gemmlowp::SaturatingRoundingDoublingHighMul(int32_min, int32_max));
  for (std::int32_t a : {1, -1, 3, -3, 5, -5, 1 << 20, -(1 << 20)}) {
    for (std::int32_t b : {1 << 30, -(1 << 30)}) {
      CHECK(qkern::saturating_rounding_doubling_high_mul(a, b) == gemmlowp::SaturatingRoundingDoublingHighMul(a, b));
    }
  }
  static_assert(qkern::saturating_rounding_doubling_high_mul(int32_min, int32_min) == int32_max);
  static_assert(qkern::saturating_rounding_doubling_high_mul(1 << 30, 1 << 30) == 1 << 29);
}

TEST_CASE("rounding_divide_by_pot matches gemmlowp") {
  QKERN_PROPERTY("int32, exponents 0..31", [] {
    const std::int32_t x = *any_int32();
    const int exponent = *rc::gen::inRange(0, 32);
    RC_ASSERT(qkern::rounding_divide_by_pot(x, exponent) == gemmlowp::RoundingDivideByPOT(x, exponent));
  });
  QKERN_PROPERTY("exact ties: (2k+1) * 2^(e-1)", [] {
    const int exponent = *rc::gen::inRange(1, 31);
    const std::int64_t half = std::int64_t{1} << (exponent - 1);
    const std::int64_t k = *rc::gen::inRange<std::int64_t>(-(std::int64_t{1} << (31 - exponent)),
                                                          std::int64_t{1} << (31 - exponent));
    const std::int64_t tie = (2 * k + 1) * half;
    RC_PRE(tie >= int32_min && tie <= int32_max);
    const auto x = static_cast<std::int32_t>(tie);
    RC_ASSERT(qkern::rounding_divide_by_pot(x, exponent) == gemmlowp::RoundingDivideByPOT(x, exponent));
  });
  QKERN_PROPERTY("int16, exponents 0..15", [](std::int16_t x) {
    const int exponent = *rc::gen::inRange(0, 16);
    RC_ASSERT(qkern::rounding_divide_by_pot(x, exponent) == gemmlowp::RoundingDivideByPOT(x, exponent));
  });
  for (int e = 0; e < 32; ++e) {
    for (std::int32_t x : {int32_min, int32_min + 1, -1, 0, 1, int32_max}) {
      CHECK(qkern::rounding_divide_by_pot(x, e) == gemmlowp::RoundingDivideByPOT(x, e));
    }
  }
  static_assert(qkern::rounding_divide_by_pot(5, 1) == 3);
  static_assert(qkern::rounding_divide_by_pot(-5, 1) == -3);
}

TEST_CASE("saturating casts, adds and left shifts clamp instead of wrapping") {
  QKERN_PROPERTY("saturating_cast<int8_t> of int32 is a clamp", [](std::int32_t x) {
    const std::int32_t clamped = x < -128 ? -128 : (x > 127 ? 127 : x);
    RC_ASSERT(qkern::saturating_cast<std::int8_t>(x) == clamped);
  });
  QKERN_PROPERTY("saturating_cast<uint8_t> of int64 is a clamp", [](std::int64_t x) {
    const std::int64_t clamped = x < 0 ? 0 : (x > 255 ? 255 : x);
    RC_ASSERT(qkern::saturating_cast<std::uint8_t>(x) == clamped);
  });
  QKERN_PROPERTY("saturating_cast<int16_t> of uint32 is a clamp", [](std::uint32_t x) {
    const std::uint32_t clamped = x > 32767u ? 32767u : x;
    RC_ASSERT(static_cast<std::uint32_t>(qkern::saturating_cast<std::int16_t>(x)) == clamped);
  });
  QKERN_PROPERTY("saturating_add/sub on int32 equal the clamped wide result", [] {
    const std::int32_t a = *any_int32();
    const std::int32_t b = *any_int32();
    const auto clamp = [](std::int64_t v) { return v < int32_min ? int32_min : (v > int32_max ? int32_max : v); };
    RC_ASSERT(qkern::saturating_add(a, b) == clamp(std::int64_t{a} + b));
    RC_ASSERT(qkern::saturating_sub(a, b) == clamp(std::int64_t{a} - b));
  });
  QKERN_PROPERTY("saturating_add on int8 is the clamped wide sum", [](std::int8_t a, std::int8_t b) {
    const std::int32_t wide = std::int32_t{a} + b;
    RC_ASSERT(qkern::saturating_add(a, b) == (wide < -128 ? -128 : (wide > 127 ? 127 : wide)));
  });
  QKERN_PROPERTY("saturating_add on int16 matches gemmlowp", [](std::int16_t a, std::int16_t b) {
    RC_ASSERT(qkern::saturating_add(a, b) == gemmlowp::SaturatingAdd(a, b));
  });
  QKERN_PROPERTY("saturating_left_shift matches gemmlowp's SaturatingRoundingMultiplyByPOT", [] {
    const std::int32_t x = *any_int32();
    const int exponent = *rc::gen::inRange(0, 31);
    // gemmlowp's exponent is a template parameter; compare with the clamped wide shift instead,
    // and with gemmlowp at a few fixed exponents below.
    const std::int64_t wide = static_cast<std::int64_t>(x) * (std::int64_t{1} << exponent);
    const std::int64_t expected = wide < int32_min ? int32_min : (wide > int32_max ? int32_max : wide);
    RC_ASSERT(qkern::saturating_left_shift(x, exponent) == expected);
  });
  for (std::int32_t x : {int32_min, -65537, -1, 0, 1, 65535, 1 << 24, int32_max}) {
    CHECK(qkern::saturating_left_shift(x, 3) == gemmlowp::SaturatingRoundingMultiplyByPOT<3>(x));
    CHECK(qkern::saturating_left_shift(x, 17) == gemmlowp::SaturatingRoundingMultiplyByPOT<17>(x));
    CHECK(qkern::saturating_left_shift(x, 30) == gemmlowp::SaturatingRoundingMultiplyByPOT<30>(x));
  }
  CHECK(qkern::saturating_left_shift(1, 31) == int32_max);
  CHECK(qkern::saturating_left_shift(-1, 31) == int32_min);
  CHECK(qkern::saturating_left_shift(-1, 40) == int32_min);
}
