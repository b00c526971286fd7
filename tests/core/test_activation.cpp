// Fused-activation ranges against TFLite's recipe written with the C library: zero point plus
// std::round of the float32 quotient, clamped to the type.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "qkern/core/activation.hpp"
#include "support/property.hpp"

using qkern::fused_activation;

namespace {

template <class T>
qkern::activation_range reference_range(fused_activation act, float scale, std::int32_t zp) {
  const std::int32_t qmin = std::numeric_limits<T>::min();
  const std::int32_t qmax = std::numeric_limits<T>::max();
  const auto quantize = [&](float f) { return zp + static_cast<std::int64_t>(std::round(f / scale)); };
  const auto lo = [&](float f) { return static_cast<std::int32_t>(std::max<std::int64_t>(qmin, quantize(f))); };
  const auto hi = [&](float f) { return static_cast<std::int32_t>(std::min<std::int64_t>(qmax, quantize(f))); };
  switch (act) {
    case fused_activation::none: return {qmin, qmax};
    case fused_activation::relu: return {lo(0.0f), qmax};
    case fused_activation::relu6: return {lo(0.0f), hi(6.0f)};
    case fused_activation::relu_n1_to_1: return {lo(-1.0f), hi(1.0f)};
  }
  return {};
}

template <class T>
void check_type() {
  QKERN_PROPERTY("ranges equal TFLite's", [] {
    const auto act = *rc::gen::element(fused_activation::none, fused_activation::relu, fused_activation::relu6,
                                       fused_activation::relu_n1_to_1);
    // Scales from 2^-20 to 2^4, so 6/scale stays inside int64 for the reference.
    const float scale = std::ldexp(1.0f + static_cast<float>(*rc::gen::inRange(0, 1 << 20)) / float(1 << 20),
                                 *rc::gen::inRange(-20, 5));
    const std::int32_t zp = *rc::gen::inRange<std::int32_t>(std::numeric_limits<T>::min(),
                                                            std::int32_t{std::numeric_limits<T>::max()} + 1);
    const auto got = qkern::make_activation_range<T>(act, {scale, zp}).value();
    const auto want = reference_range<T>(act, scale, zp);
    RC_ASSERT(got.min == want.min);
    RC_ASSERT(got.max == want.max);
  });
}

}  // namespace

TEST_CASE("activation ranges: int8") { check_type<std::int8_t>(); }
TEST_CASE("activation ranges: uint8") { check_type<std::uint8_t>(); }
TEST_CASE("activation ranges: int16") { check_type<std::int16_t>(); }

TEST_CASE("activation ranges: ties and extremes") {
  // 6 / 0.25 = 24 exactly; 0.5 / 1 ties round away from zero.
  CHECK(qkern::make_activation_range<std::int8_t>(fused_activation::relu6, {0.25f, -128}).value().max == -104);
  const auto r = qkern::make_activation_range<std::int8_t>(fused_activation::relu_n1_to_1, {2.0f, 3}).value();
  CHECK(r.min == 2);  // 3 + round(-0.5) = 3 - 1
  CHECK(r.max == 4);  // 3 + round(0.5) = 3 + 1
  // A tiny scale puts 6/scale far beyond int32: TFLite's cast would be UB, qkern clamps.
  const auto tiny = qkern::make_activation_range<std::int8_t>(fused_activation::relu6, {1e-30f, 0}).value();
  CHECK(tiny.min == 0);
  CHECK(tiny.max == 127);
  CHECK_FALSE(qkern::make_activation_range<std::int8_t>(fused_activation::relu, {0.0f, 0}).ok());
  CHECK_FALSE(qkern::make_activation_range<std::int8_t>(fused_activation::relu, {1.0f, 200}).ok());
  static_assert(qkern::make_activation_range<std::int8_t>(fused_activation::relu, {0.5f, -5}).value().min == -5);
}
