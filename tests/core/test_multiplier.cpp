// quantize_multiplier against TFLite's recipe written with the C library (std::frexp,
// std::round), edge cases named in the issue, and constant evaluation.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "qkern/core/rounding.hpp"
#include "support/property.hpp"

using qkern::double_rounding;
using qkern::quantize_multiplier;
using qkern::quantized_multiplier;
using qkern::single_rounding;

namespace {

// The reference recipe, with library frexp/round, run at run time only.
quantized_multiplier reference_quantize(double real, bool single) {
  if (real == 0.0) return {0, 0};
  int shift = 0;
  const double mantissa = std::frexp(real, &shift);
  auto q = static_cast<std::int64_t>(std::round(mantissa * static_cast<double>(std::int64_t{1} << 31)));
  if (q == (std::int64_t{1} << 31)) {
    q /= 2;
    ++shift;
  }
  if (shift < -31) return {0, 0};
  if (single && shift > 30) return {std::numeric_limits<std::int32_t>::max(), 30};
  return {static_cast<std::int32_t>(q), shift};
}

double from_bits(std::uint64_t bits) {
  double d = 0;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

}  // namespace

// The requirement: a computed multiplier in a static_assert.
static_assert(quantize_multiplier(0.5).value() == quantized_multiplier{1 << 30, 0});
static_assert(quantize_multiplier(1.0).value() == quantized_multiplier{1 << 30, 1});
static_assert(quantize_multiplier(0.003921568859368563 * 0.01087072491645813 / 0.22868551313877106).value().shift == -12);
static_assert(quantize_multiplier<single_rounding>(4294967296.0).value() ==
              quantized_multiplier{std::numeric_limits<std::int32_t>::max(), 30});
static_assert(!quantize_multiplier(-1.0).ok());

TEST_CASE("quantize_multiplier equals the frexp/round recipe") {
  QKERN_PROPERTY("any positive finite double (random bit patterns)", [] {
    const std::uint64_t bits = *rc::gen::inRange<std::uint64_t>(1, 0x7FF0000000000000ull);
    const double real = from_bits(bits);
    RC_ASSERT(quantize_multiplier<double_rounding>(real).value() == reference_quantize(real, false));
    RC_ASSERT(quantize_multiplier<single_rounding>(real).value() == reference_quantize(real, true));
  });
  QKERN_PROPERTY("scale ratios between 2^-40 and 2^45", [] {
    const double mantissa = *rc::gen::inRange(0, 1 << 30) / static_cast<double>(1 << 30);
    const int exponent = *rc::gen::inRange(-40, 46);
    const double real = std::ldexp(0.5 + mantissa / 2, exponent);
    RC_ASSERT(quantize_multiplier<double_rounding>(real).value() == reference_quantize(real, false));
    RC_ASSERT(quantize_multiplier<single_rounding>(real).value() == reference_quantize(real, true));
  });
}

TEST_CASE("quantize_multiplier edge cases") {
  SUBCASE("the mantissa rounding up to 2^31 renormalises") {
    const double real = 1.0 - std::ldexp(1.0, -34);  // mantissa * 2^31 = 2^31 - 1/8
    CHECK(quantize_multiplier(real).value() == quantized_multiplier{1 << 30, 1});
    CHECK(quantize_multiplier(std::ldexp(real, -10)).value() == quantized_multiplier{1 << 30, -9});
  }
  SUBCASE("exact halves round away from zero") {
    const double real = std::ldexp((1 << 30) + 0.5, -31);  // mantissa * 2^31 = 2^30 + 0.5
    CHECK(quantize_multiplier(real).value() == quantized_multiplier{(1 << 30) + 1, 0});
  }
  SUBCASE("multipliers below 2^-32 flush to zero") {
    CHECK(quantize_multiplier(std::ldexp(1.0, -32)).value() == quantized_multiplier{1 << 30, -31});
    CHECK(quantize_multiplier(std::ldexp(1.0, -33)).value() == quantized_multiplier{0, 0});
    CHECK(quantize_multiplier(std::numeric_limits<double>::denorm_min()).value() == quantized_multiplier{0, 0});
    CHECK(quantize_multiplier(0.0).value() == quantized_multiplier{0, 0});
  }
  SUBCASE("single rounding caps the shift at 30; double rounding does not") {
    const double real = std::ldexp(0.75, 32);
    CHECK(quantize_multiplier<double_rounding>(real).value() == quantized_multiplier{3 << 29, 32});
    CHECK(quantize_multiplier<single_rounding>(real).value() ==
          quantized_multiplier{std::numeric_limits<std::int32_t>::max(), 30});
    CHECK(quantize_multiplier<single_rounding>(std::ldexp(0.75, 30)).value() == quantized_multiplier{3 << 29, 30});
  }
  SUBCASE("NaN, infinities and negative values are errors") {
    for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                       -std::numeric_limits<double>::infinity(), -0.5, -std::numeric_limits<double>::denorm_min()}) {
      const auto r = quantize_multiplier(bad);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code() == qkern::status_code::invalid_multiplier);
    }
  }
  SUBCASE("the smaller-than-one and greater-than-one forms check their range") {
    CHECK(qkern::quantize_multiplier_smaller_than_one(0.25).value() == quantized_multiplier{1 << 30, -1});
    CHECK_FALSE(qkern::quantize_multiplier_smaller_than_one(1.0).ok());
    CHECK_FALSE(qkern::quantize_multiplier_smaller_than_one(0.0).ok());
    CHECK_FALSE(qkern::quantize_multiplier_smaller_than_one(1.0 - std::ldexp(1.0, -34)).ok());  // rounds up to 1
    CHECK(qkern::quantize_multiplier_greater_than_one(3.0).value() == quantized_multiplier{3 << 29, 2});
    CHECK_FALSE(qkern::quantize_multiplier_greater_than_one(1.0).ok());
    CHECK_FALSE(qkern::quantize_multiplier_greater_than_one(std::numeric_limits<double>::infinity()).ok());
  }
  SUBCASE("real_value inverts the representation") {
    CHECK(quantized_multiplier{3 << 29, 2}.real_value() == 3.0);
    CHECK(quantized_multiplier{1 << 30, -31}.real_value() == std::ldexp(1.0, -32));
  }
}
