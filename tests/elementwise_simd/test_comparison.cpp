// equal, not_equal, less, less_equal, greater, greater_equal (int8 -> bool): SIMD == scalar on
// random shapes of every broadcast kind and random quantizations, covering the three SIMD forms
// (thresholds for a broadcast operand, raw compares for identical strictly increasing
// rescales, and the rescaled int32 values).
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "cases.hpp"

namespace {

using namespace qkern_ew_test;

enum class cmp { equal, not_equal, less, less_equal, greater, greater_equal };

constexpr const char* cmp_name(cmp op) {
  switch (op) {
    case cmp::equal: return "equal";
    case cmp::not_equal: return "not_equal";
    case cmp::less: return "less";
    case cmp::less_equal: return "less_equal";
    case cmp::greater: return "greater";
    case cmp::greater_equal: break;
  }
  return "greater_equal";
}

template <cmp Op, class P>
void scalar_eval(const P& p, const std::int8_t* x, const std::int8_t* y, bool* z) {
  switch (Op) {
    case cmp::equal: return qkern::scalar::equal(p, x, y, z);
    case cmp::not_equal: return qkern::scalar::not_equal(p, x, y, z);
    case cmp::less: return qkern::scalar::less(p, x, y, z);
    case cmp::less_equal: return qkern::scalar::less_equal(p, x, y, z);
    case cmp::greater: return qkern::scalar::greater(p, x, y, z);
    case cmp::greater_equal: return qkern::scalar::greater_equal(p, x, y, z);
  }
}

template <cmp Op, class P>
void simd_eval(const P& p, const std::int8_t* x, const std::int8_t* y, bool* z) {
  switch (Op) {
    case cmp::equal: return qkern::simd::equal<arch>(p, x, y, z);
    case cmp::not_equal: return qkern::simd::not_equal<arch>(p, x, y, z);
    case cmp::less: return qkern::simd::less<arch>(p, x, y, z);
    case cmp::less_equal: return qkern::simd::less_equal<arch>(p, x, y, z);
    case cmp::greater: return qkern::simd::greater<arch>(p, x, y, z);
    case cmp::greater_equal: return qkern::simd::greater_equal<arch>(p, x, y, z);
  }
}

template <cmp Op, class Policy, class Source>
std::string comparison_case(Source& src) {
  using T = std::int8_t;
  const binary_shapes shapes = draw_shapes(src);
  // Scales below 1 (the scale is the multiplier); below 2^-8 neighbouring values can compare
  // equal, above it the rescale is strictly increasing.
  qkern::quantization_params q1{draw_scale(src, -16, -1), draw_zero_point<T>(src)};
  qkern::quantization_params q2{draw_scale(src, -16, -1), draw_zero_point<T>(src)};
  switch (src.in_range(0, 3)) {
    case 0: q2 = q1; break;                  // identical quantizations
    case 1: q2.scale = q1.scale; break;      // equal scales
    case 2: q2.zero_point = q1.zero_point; break;
    default: break;
  }
  const auto p = qkern::prepare_comparison<T, Policy>(q1, shapes.first, q2, shapes.second);
  if (!p.ok()) return skipped_case;
  const std::string what = std::string(cmp_name(Op)) + " " + Policy::name + ", q1 " + to_string(q1) + ", q2 " +
                           to_string(q2) + (p->raw_order ? " (raw order)" : "");
  return run_binary_case<T, bool>(src, *p, shapes, q1.zero_point, q2.zero_point, what,
                                  [](const auto& pp, const T* x, const T* y, bool* z) { scalar_eval<Op>(pp, x, y, z); },
                                  [](const auto& pp, const T* x, const T* y, bool* z) { simd_eval<Op>(pp, x, y, z); });
}

template <cmp Op>
void check_both_policies() {
  const std::string name = cmp_name(Op);
  check_cases(name + " double: simd == scalar",
              [](auto& src) { return comparison_case<Op, qkern::double_rounding>(src); });
  check_cases(name + " single: simd == scalar",
              [](auto& src) { return comparison_case<Op, qkern::single_rounding>(src); });
}

TEST_CASE("equal: simd == scalar") { check_both_policies<cmp::equal>(); }
TEST_CASE("not_equal: simd == scalar") { check_both_policies<cmp::not_equal>(); }
TEST_CASE("less: simd == scalar") { check_both_policies<cmp::less>(); }
TEST_CASE("less_equal: simd == scalar") { check_both_policies<cmp::less_equal>(); }
TEST_CASE("greater: simd == scalar") { check_both_policies<cmp::greater>(); }
TEST_CASE("greater_equal: simd == scalar") { check_both_policies<cmp::greater_equal>(); }

// Every pair of int8 values against a broadcast operand (the threshold form) and same-shape
// (raw or rescaled form), for quantizations around the 2^-8 boundary of strict increase.
template <class Policy>
void all_pairs(const qkern::quantization_params& q1, const qkern::quantization_params& q2) {
  const auto row = qkern::make_shape({256}).value();
  const auto one = qkern::make_shape({1}).value();
  std::vector<std::int8_t> all(256);
  for (int i = 0; i < 256; ++i) all[static_cast<std::size_t>(i)] = static_cast<std::int8_t>(i - 128);
  for (int c = -128; c < 128; ++c) {
    const std::vector<std::int8_t> constant(256, static_cast<std::int8_t>(c));
    const std::int8_t scalar_value[1] = {static_cast<std::int8_t>(c)};
    for (int order = 0; order < 3; ++order) {
      // order 0: all x broadcast c; 1: broadcast c x all; 2: same shape, all x constant
      const auto& s1 = order == 1 ? one : row;
      const auto& s2 = order == 0 ? one : row;
      const auto p = qkern::prepare_comparison<std::int8_t, Policy>(q1, s1, q2, s2).value();
      const std::int8_t* x = order == 1 ? scalar_value : all.data();
      const std::int8_t* y = order == 0 ? scalar_value : (order == 1 ? all.data() : constant.data());
      std::string failure;
      const auto check = [&](auto eval_scalar, auto eval_simd, const char* name) {
        guarded_output<bool> expected(256);
        guarded_output<bool> got(256);
        eval_scalar(p, x, y, expected.get());
        eval_simd(p, x, y, got.get());
        const std::string diff = compare_outputs(expected, got);
        if (!diff.empty() && failure.empty()) failure = std::string(name) + ": " + diff;
      };
      check([](const auto&... a) { qkern::scalar::equal(a...); },
            [](const auto&... a) { qkern::simd::equal<arch>(a...); }, "equal");
      check([](const auto&... a) { qkern::scalar::not_equal(a...); },
            [](const auto&... a) { qkern::simd::not_equal<arch>(a...); }, "not_equal");
      check([](const auto&... a) { qkern::scalar::less(a...); },
            [](const auto&... a) { qkern::simd::less<arch>(a...); }, "less");
      check([](const auto&... a) { qkern::scalar::less_equal(a...); },
            [](const auto&... a) { qkern::simd::less_equal<arch>(a...); }, "less_equal");
      check([](const auto&... a) { qkern::scalar::greater(a...); },
            [](const auto&... a) { qkern::simd::greater<arch>(a...); }, "greater");
      check([](const auto&... a) { qkern::scalar::greater_equal(a...); },
            [](const auto&... a) { qkern::simd::greater_equal<arch>(a...); }, "greater_equal");
      INFO("q1 " << to_string(q1) << ", q2 " << to_string(q2) << ", order " << order << ", c " << c);
      REQUIRE_MESSAGE(failure.empty(), failure);
    }
  }
}

TEST_CASE("comparisons: every int8 pair, thresholds and raw order") {
  const qkern::quantization_params cases[][2] = {
      {{1.0f / 256, 0}, {1.0f / 256, 0}},        // raw order at the boundary
      {{1.0f / 257, 5}, {1.0f / 257, 5}},        // just below: neighbours may tie
      {{0.0001f, -128}, {0.0001f, -128}},        // many ties
      {{0.5f, 127}, {0.25f, -128}},              // different rescales
      {{0.0039f, 17}, {0.0041f, -3}},
      {{0.9999999f, -1}, {0.00001f, 1}},
  };
  for (const auto& q : cases) {
    all_pairs<qkern::double_rounding>(q[0], q[1]);
    all_pairs<qkern::single_rounding>(q[0], q[1]);
  }
}

}  // namespace
