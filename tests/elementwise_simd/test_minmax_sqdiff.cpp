// maximum, minimum (int8, int16) and squared_difference (int8): SIMD == scalar on random
// shapes of every broadcast kind, random quantizations and extreme data.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "cases.hpp"

namespace {

using namespace qkern_ew_test;

template <bool IsMaximum, class T, class Source>
std::string minmax_case(Source& src) {
  const binary_shapes shapes = draw_shapes(src);
  const qkern::quantization_params q{draw_scale(src, -12, 2), draw_zero_point<T>(src)};
  const std::string what = std::string(IsMaximum ? "maximum" : "minimum") + (sizeof(T) == 1 ? " int8" : " int16");
  if constexpr (IsMaximum) {
    const auto p = qkern::prepare_maximum<T>(q, shapes.first, q, shapes.second, q);
    if (!p.ok()) return skipped_case;
    return run_binary_case<T, T>(
        src, *p, shapes, q.zero_point, q.zero_point, what,
        [](const auto& pp, const T* x, const T* y, T* z) { qkern::scalar::maximum(pp, x, y, z); },
        [](const auto& pp, const T* x, const T* y, T* z) { qkern::simd::maximum<arch>(pp, x, y, z); });
  } else {
    const auto p = qkern::prepare_minimum<T>(q, shapes.first, q, shapes.second, q);
    if (!p.ok()) return skipped_case;
    return run_binary_case<T, T>(
        src, *p, shapes, q.zero_point, q.zero_point, what,
        [](const auto& pp, const T* x, const T* y, T* z) { qkern::scalar::minimum(pp, x, y, z); },
        [](const auto& pp, const T* x, const T* y, T* z) { qkern::simd::minimum<arch>(pp, x, y, z); });
  }
}

TEST_CASE("maximum: simd == scalar") {
  check_cases("maximum int8", [](auto& src) { return minmax_case<true, std::int8_t>(src); });
  check_cases("maximum int16", [](auto& src) { return minmax_case<true, std::int16_t>(src); });
}

TEST_CASE("minimum: simd == scalar") {
  check_cases("minimum int8", [](auto& src) { return minmax_case<false, std::int8_t>(src); });
  check_cases("minimum int16", [](auto& src) { return minmax_case<false, std::int16_t>(src); });
}

template <class Policy, class Source>
std::string squared_difference_case(Source& src) {
  using T = std::int8_t;
  const binary_shapes shapes = draw_shapes(src);
  const bool wide = src.in_range(0, 3) == 0;
  qkern::quantization_params q1{draw_scale(src, wide ? -24 : -10, wide ? 6 : -2), draw_zero_point<T>(src)};
  qkern::quantization_params q2{draw_scale(src, wide ? -24 : -10, wide ? 6 : -2), draw_zero_point<T>(src)};
  if (src.in_range(0, 3) == 0) q2.scale = q1.scale;
  // The output multiplier (2 max(s))^2 / (2^14 so): from 2^-34 up to 2^20 (left shifts put the
  // output outside the fused form).
  const double twice_max = 2.0 * (q1.scale > q2.scale ? q1.scale : q2.scale);
  const qkern::quantization_params qo{
      static_cast<float>(twice_max * twice_max / 16384.0 * static_cast<double>(draw_scale(src, -20, 34))),
      draw_zero_point<T>(src)};
  const auto p = qkern::prepare_squared_difference<T, Policy>(q1, shapes.first, q2, shapes.second, qo);
  if (!p.ok()) return skipped_case;
  const std::string what = std::string("squared_difference ") + Policy::name + ", q1 " + to_string(q1) + ", q2 " +
                           to_string(q2) + ", out " + to_string(qo) + (p->has_fused_output ? "" : " (not fused)");
  return run_binary_case<T, T>(
      src, *p, shapes, q1.zero_point, q2.zero_point, what,
      [](const auto& pp, const T* x, const T* y, T* z) { qkern::scalar::squared_difference(pp, x, y, z); },
      [](const auto& pp, const T* x, const T* y, T* z) { qkern::simd::squared_difference<arch>(pp, x, y, z); });
}

TEST_CASE("squared_difference int8: simd == scalar") {
  check_cases("squared_difference double",
              [](auto& src) { return squared_difference_case<qkern::double_rounding>(src); });
  check_cases("squared_difference single",
              [](auto& src) { return squared_difference_case<qkern::single_rounding>(src); });
}

// Both forms of the output requantization are reached.
TEST_CASE("squared_difference: fused and plain output forms both occur") {
  const auto s = qkern::make_shape({5}).value();
  const auto fused = qkern::prepare_squared_difference<std::int8_t>({0.02f, 3}, s, {0.03f, -7}, s, {0.05f, 1});
  const auto plain = qkern::prepare_squared_difference<std::int8_t>({1.0f, 127}, s, {1.0f, -128}, s, {1e-6f, 0});
  REQUIRE(fused.ok());
  REQUIRE(plain.ok());
  CHECK(fused->has_fused_output);
  CHECK_FALSE(plain->has_fused_output);
}

}  // namespace
