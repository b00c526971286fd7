// The fused requantization identity against the policies' own multiply: exhaustively over a
// 17-bit input range (every int8 product) for many multipliers, with tie-heavy power-of-two
// multipliers forced in, and by properties over the widest input range each form accepts.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "qkern/core/fused_requantization.hpp"
#include "support/generators.hpp"
#include "support/property.hpp"

using qkern::quantized_multiplier;

namespace {

template <class Policy>
std::int32_t reference(std::int32_t x, quantized_multiplier m, std::int32_t zero_point) {
  return Policy::multiply(x, m) + zero_point;
}

rc::Gen<std::int32_t> multiplier_with_ties() {
  return rc::gen::weightedOneOf<std::int32_t>({
      {4, qkern_test::q31_multiplier()},
      {1, rc::gen::element<std::int32_t>(1 << 30, (1 << 30) + 1, 3 << 29, (1 << 30) + (1 << 20), INT32_MAX)},
  });
}

// 240 parameter sets (every shift the 17-bit range allows, tie-heavy multipliers included),
// each over all 130,051 inputs. A fixed sweep rather than a property, so that its cost does not
// grow with RC_PARAMS.
template <class Policy>
void exhaustive_17_bit() {
  std::mt19937 rng(2026);
  const std::int32_t tie_multipliers[] = {1 << 30, (1 << 30) + 1, 3 << 29, (1 << 30) + (1 << 20), INT32_MAX};
  int sets = 0;
  for (int shift = -31; shift <= 14; ++shift) {
    for (int k = 0; k < 5; ++k) {
      const std::int32_t multiplier =
          k < 2 ? tie_multipliers[(shift + 31 + k) % 5]
                : static_cast<std::int32_t>((1u << 30) + rng() % (1u << 30));
      const quantized_multiplier m{multiplier, shift};
      const auto zp = static_cast<std::int32_t>(rng() % 65536) - 32768;
      const auto f = qkern::make_fused_requantization<Policy>(m, zp, 65025);
      if (!f.ok()) continue;  // shifts whose pre-shifted range leaves int32
      ++sets;
      std::int32_t first_mismatch = 0;
      bool mismatch = false;
      for (std::int32_t x = -65025; x <= 65025 && !mismatch; ++x) {
        if (qkern::apply_fused_requantization(x, *f) != reference<Policy>(x, m, zp)) {
          mismatch = true;
          first_mismatch = x;
        }
      }
      CHECK_MESSAGE(!mismatch, "multiplier " << multiplier << " shift " << shift << " zp " << zp << ": x = "
                                             << first_mismatch);
    }
  }
  CHECK(sets >= 200);
}

template <class Policy>
void wide_inputs() {
  QKERN_PROPERTY("random x within the accepted range, any shift", [] {
    const int shift = *rc::gen::inRange(-31, 31);
    const quantized_multiplier m{*multiplier_with_ties(), shift};
    const std::int32_t zp = *rc::gen::inRange(-32768, 32768);
    const int pre_shift = 1 + (shift > 0 ? shift : 0);
    const std::int32_t max_abs = INT32_MAX >> pre_shift;
    const auto f = qkern::make_fused_requantization<Policy>(m, zp, max_abs);
    RC_ASSERT(f.ok());
    const std::int32_t x = *rc::gen::weightedOneOf<std::int32_t>({
        {4, rc::gen::inRange<std::int32_t>(-max_abs, max_abs + 1)},
        // (-1 and 1 only where the range holds them: with shift 30 it is {0})
        {1, rc::gen::element<std::int32_t>(-max_abs, max_abs, max_abs > 0 ? -1 : 0, 0, max_abs > 0 ? 1 : 0)},
        // Multiples of a power of two land on ties of the rounding divide.
        {2, rc::gen::map(rc::gen::inRange(-1024, 1025), [max_abs, shift](int k) {
           const int r = shift < 0 ? -shift : 0;
           const std::int64_t v = std::int64_t{k} * (std::int64_t{1} << (r > 20 ? 20 : r));
           return static_cast<std::int32_t>(v > max_abs ? max_abs : (v < -max_abs ? -max_abs : v));
         })},
    });
    RC_ASSERT(qkern::apply_fused_requantization(x, *f) == reference<Policy>(x, m, zp));
  });
}

}  // namespace

TEST_CASE("fused requantization equals double_rounding::multiply + zero point") {
  exhaustive_17_bit<qkern::double_rounding>();
  wide_inputs<qkern::double_rounding>();
}

TEST_CASE("fused requantization equals single_rounding::multiply + zero point") {
  exhaustive_17_bit<qkern::single_rounding>();
  wide_inputs<qkern::single_rounding>();
}

TEST_CASE("fused requantization refuses what it cannot represent") {
  using qkern::double_rounding;
  CHECK_FALSE(qkern::make_fused_requantization<double_rounding>({1 << 30, 0}, 0, 1 << 30).ok());
  CHECK(qkern::make_fused_requantization<double_rounding>({1 << 30, 0}, 0, (1 << 30) - 1).ok());
  CHECK_FALSE(qkern::make_fused_requantization<double_rounding>({1 << 30, 10}, 0, 1 << 20).ok());
  CHECK_FALSE(qkern::make_fused_requantization<double_rounding>({1 << 30, 31}, 0, 1).ok());
  CHECK_FALSE(qkern::make_fused_requantization<double_rounding>({-5, 0}, 0, 1).ok());
  // A zero point too large to fold at a deep right shift is added afterwards instead.
  const auto f = qkern::make_fused_requantization<double_rounding>({1 << 30, -31}, 32767, 1000).value();
  CHECK(f.zero_point_after == 32767);
  CHECK(qkern::apply_fused_requantization(1000, f) == double_rounding::multiply(1000, {1 << 30, -31}) + 32767);
  static_assert(qkern::apply_fused_requantization(
                    3, qkern::make_fused_requantization<double_rounding>({1 << 30, -2}, 0, 100).value()) == 1);
  static_assert(qkern::apply_fused_requantization(
                    3, qkern::make_fused_requantization<qkern::single_rounding>({1 << 30, -2}, 0, 100).value()) == 0);
}
