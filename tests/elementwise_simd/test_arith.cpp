// add, sub and mul (int8, int16): the SIMD path equals the scalar reference on random shapes of
// every broadcast kind, random quantizations (including ones outside the fused forms), extreme
// data, both rounding policies and every fused activation.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cases.hpp"

namespace {

using namespace qkern_ew_test;

enum class arith { add, sub, mul };

constexpr const char* arith_name(arith op) {
  return op == arith::add ? "add" : op == arith::sub ? "sub" : "mul";
}

// A scale relative to `base`: base * 2^[lo, hi] * (1 + m / 2^20).
template <class Source>
float relative_scale(Source& src, double base, int lo, int hi) {
  return static_cast<float>(base * static_cast<double>(draw_scale(src, lo, hi)));
}

template <arith Op, class T, class Policy, class Source>
std::string arith_case(Source& src) {
  const binary_shapes shapes = draw_shapes(src);
  // Input scales: activation-like, sometimes far apart.
  const bool wide = src.in_range(0, 3) == 0;
  qkern::quantization_params q1{draw_scale(src, wide ? -24 : -10, wide ? 6 : -2), draw_zero_point<T>(src)};
  qkern::quantization_params q2{draw_scale(src, wide ? -24 : -10, wide ? 6 : -2), draw_zero_point<T>(src)};
  if (src.in_range(0, 3) == 0) q2.scale = q1.scale;  // equal scales: both multipliers are 1/2
  qkern::quantization_params qo{1.0f, draw_zero_point<T>(src)};
  if constexpr (Op == arith::mul) {
    // real multiplier s1 s2 / so from 2^-34 (flushed to 0) up to 2^20 (left shifts, outside
    // the fused form from 2^14 on)
    qo.scale = relative_scale(src, static_cast<double>(q1.scale) * q2.scale, -20, 34);
  } else {
    // the output multiplier 2 max(s) / (2^left_shift so) must stay below 1
    const double larger = q1.scale > q2.scale ? q1.scale : q2.scale;
    qo.scale = relative_scale(src, larger, std::is_same<T, std::int8_t>::value ? -19 : -14, 8);
  }
  const qkern::fused_activation act = draw_activation(src);
  const std::string what = std::string(arith_name(Op)) + (sizeof(T) == 1 ? " int8 " : " int16 ") + Policy::name +
                           ", q1 " + to_string(q1) + ", q2 " + to_string(q2) + ", out " + to_string(qo) +
                           ", activation " + std::to_string(static_cast<int>(act));
  if constexpr (Op == arith::add) {
    const auto p = qkern::prepare_add<T, Policy>(q1, shapes.first, q2, shapes.second, qo, act);
    if (!p.ok()) return skipped_case;
    return run_binary_case<T, T>(
        src, *p, shapes, q1.zero_point, q2.zero_point, what,
        [](const auto& pp, const T* x, const T* y, T* z) { qkern::scalar::add(pp, x, y, z); },
        [](const auto& pp, const T* x, const T* y, T* z) { qkern::simd::add<arch>(pp, x, y, z); });
  } else if constexpr (Op == arith::sub) {
    const auto p = qkern::prepare_sub<T, Policy>(q1, shapes.first, q2, shapes.second, qo, act);
    if (!p.ok()) return skipped_case;
    return run_binary_case<T, T>(
        src, *p, shapes, q1.zero_point, q2.zero_point, what,
        [](const auto& pp, const T* x, const T* y, T* z) { qkern::scalar::sub(pp, x, y, z); },
        [](const auto& pp, const T* x, const T* y, T* z) { qkern::simd::sub<arch>(pp, x, y, z); });
  } else {
    const auto p = qkern::prepare_mul<T, Policy>(q1, shapes.first, q2, shapes.second, qo, act);
    if (!p.ok()) return skipped_case;
    return run_binary_case<T, T>(
        src, *p, shapes, q1.zero_point, q2.zero_point, what,
        [](const auto& pp, const T* x, const T* y, T* z) { qkern::scalar::mul(pp, x, y, z); },
        [](const auto& pp, const T* x, const T* y, T* z) { qkern::simd::mul<arch>(pp, x, y, z); });
  }
}

template <arith Op, class T>
void check_both_policies() {
  const std::string name = std::string(arith_name(Op)) + (sizeof(T) == 1 ? " int8" : " int16");
  check_cases(name + " double: simd == scalar",
              [](auto& src) { return arith_case<Op, T, qkern::double_rounding>(src); });
  check_cases(name + " single: simd == scalar",
              [](auto& src) { return arith_case<Op, T, qkern::single_rounding>(src); });
}

TEST_CASE("add int8: simd == scalar") { check_both_policies<arith::add, std::int8_t>(); }
TEST_CASE("add int16: simd == scalar") { check_both_policies<arith::add, std::int16_t>(); }
TEST_CASE("sub int8: simd == scalar") { check_both_policies<arith::sub, std::int8_t>(); }
TEST_CASE("sub int16: simd == scalar") { check_both_policies<arith::sub, std::int16_t>(); }
TEST_CASE("mul int8: simd == scalar") { check_both_policies<arith::mul, std::int8_t>(); }
TEST_CASE("mul int16: simd == scalar") { check_both_policies<arith::mul, std::int16_t>(); }

// |product| reaches 255 * 129 = 32895 with zero points 127 and 1 (inputs -128) or -128 and -2
// (inputs 127): a real multiplier in [2^14, 2^15) makes the fused form shift it left by 16,
// just past int32, so the fused form must not be chosen there.
template <class Policy>
std::string mul_widest_products(std::int32_t zp1, std::int32_t zp2, std::int8_t value) {
  const qkern::shape s = qkern::make_shape({3 * byte_lanes + 5}).value();
  const qkern::quantization_params q1{1.0f, zp1};
  const qkern::quantization_params q2{1.0f, zp2};
  const qkern::quantization_params qo{1.0f / (1.5f * 16384.0f), 0};
  const auto p = qkern::prepare_mul<std::int8_t, Policy>(q1, s, q2, s, qo).value();
  const std::vector<std::int8_t> a(static_cast<std::size_t>(s.element_count()), value);
  guarded_output<std::int8_t> expected(s.element_count());
  guarded_output<std::int8_t> got(s.element_count());
  qkern::scalar::mul(p, a.data(), a.data(), expected.get());
  qkern::simd::mul<arch>(p, a.data(), a.data(), got.get());
  return compare_outputs(expected, got);
}

TEST_CASE("mul int8: widest products at the fused form's bound") {
  for (const auto& zps : {std::pair<int, int>{127, 1}, std::pair<int, int>{-128, -2}, std::pair<int, int>{127, 127}}) {
    const std::int8_t value = zps.first > 0 ? -128 : 127;
    INFO("zero points " << zps.first << ", " << zps.second);
    CHECK(mul_widest_products<qkern::double_rounding>(zps.first, zps.second, value) == "");
    CHECK(mul_widest_products<qkern::single_rounding>(zps.first, zps.second, value) == "");
  }
}

// The shape generator reaches every broadcast kind, both operand orders, and ranks 0 to 6.
TEST_CASE("case generator covers every broadcast kind") {
  seeded_source src(12345);
  int kinds[5][3] = {};
  int ranks[qkern::max_rank + 1] = {};
  for (int i = 0; i < 3000; ++i) {
    const binary_shapes s = draw_shapes(src);
    const auto plan = qkern::make_broadcast_plan(s.first, s.second);
    REQUIRE(plan.ok());
    ++kinds[static_cast<int>(plan->kind)][static_cast<int>(plan->operand)];
    ++ranks[plan->output.rank];
    CHECK(plan->output_count <= 50000);
  }
  CHECK(kinds[static_cast<int>(qkern::broadcast_kind::same_shape)][0] > 0);
  for (const auto kind : {qkern::broadcast_kind::scalar, qkern::broadcast_kind::inner_vector,
                          qkern::broadcast_kind::outer_vector}) {
    INFO(qkern::broadcast_kind_name(kind));
    CHECK(kinds[static_cast<int>(kind)][static_cast<int>(qkern::broadcast_operand::first)] > 0);
    CHECK(kinds[static_cast<int>(kind)][static_cast<int>(qkern::broadcast_operand::second)] > 0);
  }
  CHECK(kinds[static_cast<int>(qkern::broadcast_kind::general)][0] > 0);
  for (int r = 0; r <= qkern::max_rank; ++r) CHECK(ranks[r] > 0);
}

}  // namespace

namespace {

// add and sub in the carry form (kernels/elementwise/carry_form.hpp) through every broadcast
// kind the SIMD drivers treat apart: same shape, a scalar operand, inner vectors (SE blocks,
// whose vector is looked up once per call) of lengths around the vector width and around the
// stack cache limit of 1024, outer vectors and a general case; each operand order.
qkern::shape shape_of(const std::vector<std::int32_t>& extents) {
  qkern::shape s;
  s.rank = static_cast<int>(extents.size());
  for (std::size_t d = 0; d < extents.size(); ++d) s.dims[d] = extents[d];
  return s;
}

// Runs check(s1, s2, a, b) (failure text, empty when it passes) on every layout below, in each
// operand order, with data drawn from `seed` around the zero points; returns the first failure,
// prefixed with the two operands' element counts.
template <class Check>
std::string over_broadcast_layouts(std::uint64_t seed, std::int32_t zero_point1, std::int32_t zero_point2,
                                   const Check& check) {
  using extents = std::vector<std::int32_t>;
  static const std::vector<std::pair<extents, extents>> layouts = {
      {{3, 5, 67}, {3, 5, 67}},     {{1}, {7, 131}},           {{1, 1, 1, 64}, {1, 9, 7, 64}},
      {{63}, {5, 63}},              {{65}, {3, 65}},           {{1024}, {2, 1024}},
      {{1025}, {2, 1025}},          {{1, 1, 200}, {2, 3, 200}}, {{6, 1}, {6, 150}},
      {{2, 1, 70}, {2, 3, 70}},
  };
  for (const auto& [small, big] : layouts) {
    for (const bool swap : {false, true}) {
      const qkern::shape s1 = shape_of(swap ? big : small);
      const qkern::shape s2 = shape_of(swap ? small : big);
      const std::vector<std::int8_t> a = make_data<std::int8_t>(s1.element_count(), seed * 7 + 1, zero_point1);
      const std::vector<std::int8_t> b = make_data<std::int8_t>(s2.element_count(), seed * 7 + 2, zero_point2);
      const std::string failure = check(s1, s2, a, b);
      if (!failure.empty()) {
        return std::to_string(s1.element_count()) + " x " + std::to_string(s2.element_count()) + ": " + failure;
      }
    }
  }
  return "";
}

// The scalar reference and the SIMD path of one op into guarded outputs of n elements.
template <class Reference, class Simd>
std::string compare_paths(std::int64_t n, const Reference& reference, const Simd& simd) {
  guarded_output<std::int8_t> want(n), got(n);
  reference(want.get());
  simd(got.get());
  return compare_outputs(want, got);
}

template <class Policy>
std::string carry_form_broadcasts(std::uint64_t seed) {
  const qkern::quantization_params q1{0.0235f, -7};
  const qkern::quantization_params q2{0.0172f, 12};
  const qkern::quantization_params qo{0.0391f, -3};
  return over_broadcast_layouts(seed, q1.zero_point, q2.zero_point, [&](const qkern::shape& s1, const qkern::shape& s2,
                                                                        const std::vector<std::int8_t>& a,
                                                                        const std::vector<std::int8_t>& b) {
    const auto add = qkern::prepare_add<std::int8_t, Policy>(q1, s1, q2, s2, qo, qkern::fused_activation::relu6);
    const auto sub = qkern::prepare_sub<std::int8_t, Policy>(q1, s1, q2, s2, qo);
    if (!add.ok() || !sub.ok() || !add->carry_form.valid || !sub->carry_form.valid) {
      return std::string("carry form expected");
    }
    const std::int64_t n = add->broadcast.output_count;
    std::string failure = compare_paths(
        n, [&](std::int8_t* o) { qkern::scalar::add(*add, a.data(), b.data(), o); },
        [&](std::int8_t* o) { qkern::simd::add<arch>(*add, a.data(), b.data(), o); });
    if (!failure.empty()) return "add: " + failure;
    failure = compare_paths(
        n, [&](std::int8_t* o) { qkern::scalar::sub(*sub, a.data(), b.data(), o); },
        [&](std::int8_t* o) { qkern::simd::sub<arch>(*sub, a.data(), b.data(), o); });
    return failure.empty() ? failure : "sub: " + failure;
  });
}

TEST_CASE("add/sub int8 carry form: every broadcast kind") {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    CHECK(carry_form_broadcasts<qkern::double_rounding>(seed) == "");
    CHECK(carry_form_broadcasts<qkern::single_rounding>(seed) == "");
  }
}

// mul through the same broadcast kinds (SE vectors are widened once per call, up to 1024
// elements), in its float form and with that form turned off (the fused rows).
template <class Policy>
std::string mul_broadcasts(std::uint64_t seed, bool float_form) {
  const qkern::quantization_params q1{0.0235f, -7};
  const qkern::quantization_params q2{0.0172f, 12};
  const qkern::quantization_params qo{0.00391f, -3};
  return over_broadcast_layouts(seed, q1.zero_point, q2.zero_point, [&](const qkern::shape& s1, const qkern::shape& s2,
                                                                        const std::vector<std::int8_t>& a,
                                                                        const std::vector<std::int8_t>& b) {
    auto p = qkern::prepare_mul<std::int8_t, Policy>(q1, s1, q2, s2, qo, qkern::fused_activation::relu6).value();
#if XSIMD_WITH_AVX512BW
    if (!p.float_output.valid) return std::string("float form expected");
#endif
    p.float_output.valid = p.float_output.valid && float_form;
    const std::string failure = compare_paths(
        p.broadcast.output_count, [&](std::int8_t* o) { qkern::scalar::mul(p, a.data(), b.data(), o); },
        [&](std::int8_t* o) { qkern::simd::mul<arch>(p, a.data(), b.data(), o); });
    return failure.empty() ? failure : "mul: " + failure;
  });
}

TEST_CASE("mul int8, float form and fused rows: every broadcast kind") {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    for (const bool float_form : {true, false}) {
      CHECK(mul_broadcasts<qkern::double_rounding>(seed, float_form) == "");
      CHECK(mul_broadcasts<qkern::single_rounding>(seed, float_form) == "");
    }
  }
}

}  // namespace

namespace {

// A scalar operand and at least scalar_operand_table_min_count outputs: with AVX-512 VBMI the op
// runs once on all 256 values into a table that is then read (elsewhere the usual rows).
// Random quantizations (as arith_case draws them), each operand order, both policies.
template <arith Op, class Policy>
std::string scalar_operand_case(seeded_source& src) {
  const std::int64_t n = qkern::simd::detail::scalar_operand_table_min_count + src.in_range(-1, 300);
  const bool scalar_first = src.in_range(0, 1) == 0;
  binary_shapes shapes;
  shapes.first = shape_of({static_cast<std::int32_t>(scalar_first ? 1 : n)});
  shapes.second = shape_of({static_cast<std::int32_t>(scalar_first ? n : 1)});
  qkern::quantization_params q1{draw_scale(src, -10, -2), draw_zero_point<std::int8_t>(src)};
  qkern::quantization_params q2{draw_scale(src, -10, -2), draw_zero_point<std::int8_t>(src)};
  qkern::quantization_params qo{1.0f, draw_zero_point<std::int8_t>(src)};
  const double larger = q1.scale > q2.scale ? q1.scale : q2.scale;
  qo.scale = Op == arith::mul ? relative_scale(src, static_cast<double>(q1.scale) * q2.scale, -20, 20)
                              : relative_scale(src, larger, -19, 8);
  const auto act = draw_activation(src);
  const std::string what = std::string(arith_name(Op)) + " " + Policy::name + ", q1 " + to_string(q1) + ", q2 " +
                           to_string(q2) + ", out " + to_string(qo);
  using T = std::int8_t;
  if constexpr (Op == arith::add) {
    const auto p = qkern::prepare_add<T, Policy>(q1, shapes.first, q2, shapes.second, qo, act);
    if (!p.ok()) return "";
    return run_binary_case<T, T>(
        src, *p, shapes, q1.zero_point, q2.zero_point, what,
        [](const auto& pp, const T* x, const T* y, T* z) { qkern::scalar::add(pp, x, y, z); },
        [](const auto& pp, const T* x, const T* y, T* z) { qkern::simd::add<arch>(pp, x, y, z); });
  } else if constexpr (Op == arith::sub) {
    const auto p = qkern::prepare_sub<T, Policy>(q1, shapes.first, q2, shapes.second, qo, act);
    if (!p.ok()) return "";
    return run_binary_case<T, T>(
        src, *p, shapes, q1.zero_point, q2.zero_point, what,
        [](const auto& pp, const T* x, const T* y, T* z) { qkern::scalar::sub(pp, x, y, z); },
        [](const auto& pp, const T* x, const T* y, T* z) { qkern::simd::sub<arch>(pp, x, y, z); });
  } else {
    const auto p = qkern::prepare_mul<T, Policy>(q1, shapes.first, q2, shapes.second, qo, act);
    if (!p.ok()) return "";
    return run_binary_case<T, T>(
        src, *p, shapes, q1.zero_point, q2.zero_point, what,
        [](const auto& pp, const T* x, const T* y, T* z) { qkern::scalar::mul(pp, x, y, z); },
        [](const auto& pp, const T* x, const T* y, T* z) { qkern::simd::mul<arch>(pp, x, y, z); });
  }
}

TEST_CASE("add, sub, mul int8 with a scalar operand over many elements (the table path)") {
  seeded_source src(4242);
  for (int i = 0; i < 40; ++i) {
    CHECK(scalar_operand_case<arith::add, qkern::double_rounding>(src) == "");
    CHECK(scalar_operand_case<arith::add, qkern::single_rounding>(src) == "");
    CHECK(scalar_operand_case<arith::sub, qkern::double_rounding>(src) == "");
    CHECK(scalar_operand_case<arith::sub, qkern::single_rounding>(src) == "");
    CHECK(scalar_operand_case<arith::mul, qkern::double_rounding>(src) == "");
    CHECK(scalar_operand_case<arith::mul, qkern::single_rounding>(src) == "");
  }
}

}  // namespace
