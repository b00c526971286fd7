// Elementwise kernels: prepare rejects bad parameters with a clear message, and every binary op,
// on random broadcastable shapes of every broadcast kind, equals a naive reference that indexes
// its operands NumPy-style and applies the same per-element arithmetic (so the broadcast
// driver's fast paths are checked against the plainest possible loop).
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "qkern/kernels/elementwise.hpp"
#include "support/float_step_model.hpp"
#include "support/property.hpp"
#include "support/status_text.hpp"

using qkern::broadcast_kind;
using qkern::double_rounding;
using qkern::fused_activation;
using qkern::quantization_params;
using qkern::shape;
using qkern::single_rounding;
using qkern::status_code;

using qkern_test::make;
using qkern_test::text;
using qkern_test::error_text;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// --- constant expressions -----------------------------------------------------------------------

constexpr std::array<std::int8_t, 3> add_at_compile_time() {
  const auto p = qkern::prepare_add<std::int8_t>({0.5f, 0}, qkern::make_shape({3}).value(), {0.5f, 0},
                                                 qkern::make_shape({1}).value(), {1.0f, 0})
                     .value();
  const std::int8_t a[3] = {2, 4, -6};
  const std::int8_t b[1] = {2};
  std::array<std::int8_t, 3> out{};
  qkern::scalar::add(p, a, b, out.data());  // the reference is constexpr; the SIMD path is not
  return out;
}
static_assert(add_at_compile_time()[0] == 2 && add_at_compile_time()[1] == 3 && add_at_compile_time()[2] == -2,
              "prepare and the scalar eval run in constant expressions");
static_assert(qkern::prepare_mul<std::int8_t>({0.5f, 0}, qkern::make_shape({2}).value(), {0.25f, 0},
                                              qkern::make_shape({2}).value(), {0.125f, 0})
                      .value()
                      .output_multiplier == qkern::quantized_multiplier{1 << 30, 1},
              "mul's multiplier s1*s2/s_out = 1 is 2^30 * 2^1 / 2^31");

}  // namespace

// --- prepare: errors -------------------------------------------------------------------------------

TEST_CASE("binary prepares reject shapes that do not broadcast") {
  const shape a = make({2, 3});
  const shape b = make({4, 3});
  const quantization_params q{0.5f, 0};
  const std::string expected =
      "input1 and input2: shapes do not broadcast: extents differ and neither is 1 in output dimension (got 0)";
  CHECK(error_text(qkern::prepare_add<std::int8_t>(q, a, q, b, q)) == expected);
  CHECK(error_text(qkern::prepare_sub<std::int16_t>(q, a, q, b, q)) == expected);
  CHECK(error_text(qkern::prepare_mul<std::int8_t>(q, a, q, b, q)) == expected);
  CHECK(error_text(qkern::prepare_maximum<std::int8_t>(q, a, q, b, q)) == expected);
  CHECK(error_text(qkern::prepare_minimum<std::int16_t>(q, a, q, b, q)) == expected);
  CHECK(error_text(qkern::prepare_squared_difference<std::int8_t>(q, a, q, b, q)) == expected);
  CHECK(error_text(qkern::prepare_comparison<std::int8_t>(q, a, q, b)) == expected);
  CHECK(qkern::prepare_add<std::int8_t>(q, a, q, b, q).error().code() == status_code::not_broadcastable);

  shape seven;
  seven.rank = 7;
  const auto deep = qkern::prepare_mul<std::int8_t>(q, make({1}), q, seven, q);
  CHECK(deep.error().code() == status_code::rank_too_large);
  CHECK(error_text(deep) == "input2: rank is above 6 (got 7)");
  shape negative = make({2});
  negative.dims[0] = -2;
  CHECK(error_text(qkern::prepare_add<std::int8_t>(q, negative, q, make({2}), q)) ==
        "input1: extent is negative (got -2)");
}

TEST_CASE("prepares reject NaN infinite zero and negative scales naming the tensor") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const shape s = make({2, 2});
  const char* names[3] = {"input1", "input2", "output"};
  for (float bad : {nan, inf, -inf, 0.0f, -0.0f, -0.5f}) {
    for (int which = 0; which < 3; ++which) {
      CAPTURE(bad);
      CAPTURE(which);
      quantization_params q[3] = {{0.5f, 0}, {0.5f, 0}, {0.5f, 0}};
      q[which].scale = bad;
      const std::string prefix = std::string(names[which]) + ": scale";
      const auto expect_bad_scale = [&](const auto& r) {
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code() == status_code::invalid_scale);
        CHECK(starts_with(text(r.error()), prefix));
      };
      expect_bad_scale(qkern::prepare_add<std::int8_t>(q[0], s, q[1], s, q[2]));
      expect_bad_scale(qkern::prepare_sub<std::int8_t>(q[0], s, q[1], s, q[2]));
      expect_bad_scale(qkern::prepare_add<std::int16_t>(q[0], s, q[1], s, q[2]));
      expect_bad_scale(qkern::prepare_mul<std::int8_t>(q[0], s, q[1], s, q[2]));
      expect_bad_scale(qkern::prepare_mul<std::int16_t, single_rounding>(q[0], s, q[1], s, q[2]));
      expect_bad_scale(qkern::prepare_maximum<std::int8_t>(q[0], s, q[1], s, q[2]));
      expect_bad_scale(qkern::prepare_minimum<std::int16_t>(q[0], s, q[1], s, q[2]));
      expect_bad_scale(qkern::prepare_squared_difference<std::int8_t>(q[0], s, q[1], s, q[2]));
      if (which < 2) expect_bad_scale(qkern::prepare_comparison<std::int8_t>(q[0], s, q[1], s));
      if (which == 0) {
        CHECK(starts_with(error_text(qkern::prepare_dequantize<std::int8_t>({bad, 0}, s)), "input: scale"));
        CHECK(starts_with(error_text(qkern::prepare_requantize<std::int8_t, std::int16_t>({bad, 0}, {0.5f, 0}, s)),
                          "input: scale"));
      }
      if (which == 2) {
        CHECK(starts_with(error_text(qkern::prepare_quantize<std::int8_t>({bad, 0}, s)), "output: scale"));
        CHECK(starts_with(error_text(qkern::prepare_requantize<std::int8_t, std::int16_t>({0.5f, 0}, {bad, 0}, s)),
                          "output: scale"));
      }
    }
  }
}

TEST_CASE("prepares reject zero points outside the element type") {
  const shape s = make({3});
  const quantization_params ok{0.5f, 0};
  CHECK(error_text(qkern::prepare_add<std::int8_t>(ok, s, {0.5f, 128}, s, ok)) ==
        "input2: zero point is outside the range of the element type (got 128)");
  CHECK(error_text(qkern::prepare_sub<std::int8_t>({0.5f, -129}, s, ok, s, ok)) ==
        "input1: zero point is outside the range of the element type (got -129)");
  CHECK(error_text(qkern::prepare_mul<std::int8_t>(ok, s, ok, s, {0.5f, 300})) ==
        "output: zero point is outside the range of the element type (got 300)");
  CHECK(error_text(qkern::prepare_maximum<std::int16_t>(ok, s, ok, s, {0.5f, 40000})) ==
        "output: zero point is outside the range of the element type (got 40000)");
  CHECK(qkern::prepare_squared_difference<std::int8_t>(ok, s, {0.5f, 200}, s, ok).error().code() ==
        status_code::invalid_zero_point);
  CHECK(qkern::prepare_comparison<std::int8_t>({0.5f, -200}, s, ok, s).error().code() ==
        status_code::invalid_zero_point);
  CHECK(error_text(qkern::prepare_quantize<std::int8_t>({0.5f, 128}, s)) ==
        "output: zero point is outside the range of the element type (got 128)");
  CHECK(error_text(qkern::prepare_requantize<std::uint8_t, std::int8_t>({0.5f, -1}, ok, s)) ==
        "input: zero point is outside the range of the element type (got -1)");
  CHECK(qkern::prepare_requantize<std::int8_t, std::uint8_t>(ok, {0.5f, 256}, s).error().code() ==
        status_code::invalid_zero_point);
  CHECK(qkern::prepare_requantize<std::int8_t, std::uint8_t>(ok, {0.5f, 255}, s).ok());
  CHECK(qkern::prepare_dequantize<std::int16_t>({0.5f, -32768}, s).ok());
}

TEST_CASE("int16 add sub and mul require zero points of 0") {
  const shape s = make({4});
  const quantization_params sym{0.01f, 0};
  const quantization_params off{0.01f, 3};
  CHECK(error_text(qkern::prepare_add<std::int16_t>(off, s, sym, s, sym)) ==
        "input1: int16 tensors must have zero point 0 (got 3)");
  CHECK(error_text(qkern::prepare_sub<std::int16_t>(sym, s, off, s, sym)) ==
        "input2: int16 tensors must have zero point 0 (got 3)");
  CHECK(error_text(qkern::prepare_mul<std::int16_t>(sym, s, sym, s, off)) ==
        "output: int16 tensors must have zero point 0 (got 3)");
  CHECK(qkern::prepare_mul<std::int16_t>(sym, s, sym, s, off).error().code() == status_code::unsupported_parameter);
  // int8 takes any zero point; int16 maximum/minimum and dequantize have no such rule.
  CHECK(qkern::prepare_add<std::int8_t>(off, s, off, s, off).ok());
  CHECK(qkern::prepare_maximum<std::int16_t>(off, s, off, s, off).ok());
}

TEST_CASE("add and sub reject output scales that make the output multiplier 1 or more") {
  const shape s = make({4});
  const quantization_params in{1.0f, 0};  // 2 * max(input scales) = 2
  // int8: left shift 20, so the output scale must exceed 2 / 2^20 = 2^-19.
  const float limit8 = std::ldexp(1.0f, -19);
  for (const float bad : {limit8, limit8 / 2, std::nextafter(limit8, 0.0f)}) {
    CAPTURE(bad);
    const auto add = qkern::prepare_add<std::int8_t>(in, s, in, s, {bad, 0});
    CHECK(add.error().code() == status_code::invalid_multiplier);
    CHECK(starts_with(error_text(add), "output: scale is too small: it must exceed 2 * max(input scales)"));
    CHECK(starts_with(error_text(qkern::prepare_sub<std::int8_t, single_rounding>(in, s, in, s, {bad, 0})),
                      "output: scale is too small"));
  }
  CHECK(qkern::prepare_add<std::int8_t>(in, s, in, s, {std::nextafter(limit8, 1.0f), 0}).ok());
  CHECK(qkern::prepare_sub<std::int8_t>(in, s, in, s, {std::nextafter(limit8, 1.0f), 0}).ok());
  // int16: left shift 15, limit 2^-14.
  const float limit16 = std::ldexp(1.0f, -14);
  CHECK_FALSE(qkern::prepare_add<std::int16_t>(in, s, in, s, {limit16, 0}).ok());
  CHECK_FALSE(qkern::prepare_sub<std::int16_t>(in, s, in, s, {limit16, 0}).ok());
  CHECK(qkern::prepare_add<std::int16_t>(in, s, in, s, {std::nextafter(limit16, 1.0f), 0}).ok());
  // A real multiplier just below 1 that QuantizeMultiplier rounds up to 2^31 (shift +1) is
  // rejected too, like TFLite's CHECK on the shift.
  const auto rounds_up = qkern::detail::quantize_multiplier_below_one<double_rounding>(1.0 - 0x1p-40, "x", "output");
  CHECK_FALSE(rounds_up.ok());
  CHECK(qkern::detail::quantize_multiplier_below_one<double_rounding>(1.0 - 0x1p-30, "x", "output").ok());
}

TEST_CASE("sub's float32 arithmetic rejects scales whose float32 products overflow or underflow") {
  const shape s = make({1});
  const float huge = std::numeric_limits<float>::max();
  CHECK(error_text(qkern::prepare_sub<std::int8_t>({huge, 0}, s, {1.0f, 0}, s, {1.0f, 0})) ==
        "input1: scale is too large: 2 * scale overflows float32");
  CHECK(starts_with(error_text(qkern::prepare_sub<std::int8_t>({1.0f, 0}, s, {1.0f, 0}, s, {huge, 0})),
                    "output: scale is too large"));
  const float tiny = std::numeric_limits<float>::denorm_min();
  CHECK(starts_with(error_text(qkern::prepare_sub<std::int8_t>({tiny, 0}, s, {1e30f, 0}, s, {1e30f, 0})),
                    "input1: scale is too small relative to the other input's"));
  // Add works in double, where the same scales stay representable.
  CHECK(qkern::prepare_add<std::int8_t>({tiny, 0}, s, {1e30f, 0}, s, {1e30f, 0}).ok());
}

TEST_CASE("other prepare rules: comparison scales below 1 and shared quantization for maximum and minimum") {
  const shape s = make({2});
  const quantization_params ok{0.5f, 1};
  CHECK(error_text(qkern::prepare_comparison<std::int8_t>({1.0f, 0}, s, ok, s)) ==
        "input1: scale must be below 1 for a quantized comparison (the scale is its multiplier)");
  CHECK(qkern::prepare_comparison<std::int8_t>(ok, s, {2.0f, 0}, s).error().code() ==
        status_code::invalid_multiplier);
  CHECK(qkern::prepare_comparison<std::int8_t>({std::nextafter(1.0f, 0.0f), 0}, s, ok, s).ok());

  CHECK(error_text(qkern::prepare_maximum<std::int8_t>(ok, s, {0.25f, 1}, s, ok)) ==
        "input2: must have the same scale and zero point as input1 (raw values are compared)");
  CHECK(error_text(qkern::prepare_minimum<std::int8_t>(ok, s, ok, s, {0.5f, 2})) ==
        "output: must have the same scale and zero point as input1 (raw values are compared)");

  CHECK(error_text(qkern::prepare_squared_difference<std::int8_t>(ok, s, ok, s,
                                                                  {std::numeric_limits<float>::max(), 0})) ==
        "output: scale is too large: 2^14 * scale overflows float32");

  shape seven;
  seven.rank = 7;
  CHECK(error_text(qkern::prepare_quantize<std::int8_t>(ok, seven)) == "input: rank is above 6 (got 7)");
}

// --- quantize, dequantize, requantize: edge values ------------------------------------------------

TEST_CASE("quantize rounds half away from zero in float32 and saturates out-of-contract inputs") {
  const auto p = qkern::prepare_quantize<std::int8_t>({0.5f, 10}, make({1})).value();
  CHECK(qkern::quantize_element(p, 1.25f) == 13);   // 2.5 -> 3
  CHECK(qkern::quantize_element(p, -1.25f) == 7);   // -2.5 -> -3
  CHECK(qkern::quantize_element(p, 1.2f) == 12);
  CHECK(qkern::quantize_element(p, 1000.0f) == 127);
  CHECK(qkern::quantize_element(p, -1000.0f) == -128);
  CHECK(qkern::quantize_element(p, std::numeric_limits<float>::infinity()) == 127);
  CHECK(qkern::quantize_element(p, -std::numeric_limits<float>::infinity()) == -128);
  CHECK(qkern::quantize_element(p, 3e38f) == 127);
  CHECK(qkern::quantize_element(p, std::numeric_limits<float>::quiet_NaN()) == 10);
  const auto p16 = qkern::prepare_quantize<std::int16_t>({1e-6f, 0}, make({1})).value();
  CHECK(qkern::quantize_element(p16, 1.0f) == 32767);
  CHECK(qkern::quantize_element(p16, -1.0f) == -32768);
}

TEST_CASE("dequantize multiplies in double and rounds once") {
  const auto p = qkern::prepare_dequantize<std::int16_t>({0.1f, -7}, make({1})).value();
  const double exact = static_cast<double>(0.1f) * (1000 + 7);
  CHECK(qkern::dequantize_element(p, std::int16_t{1000}) == static_cast<float>(exact));
}

TEST_CASE("requantize int8 and uint8 with equal scales and zero points 128 apart is a sign-bit flip") {
  const quantization_params in{0.25f, -5};
  const quantization_params out{0.25f, 123};
  const auto p = qkern::prepare_requantize<std::int8_t, std::uint8_t>(in, out, make({1})).value();
  CHECK(p.flip_sign_bit);
  auto general = p;
  general.flip_sign_bit = false;
  for (int q = -128; q <= 127; ++q) {
    const auto x = static_cast<std::int8_t>(q);
    CHECK(qkern::requantize_element(p, x) == static_cast<std::uint8_t>(static_cast<std::uint8_t>(x) ^ 0x80u));
    CHECK(qkern::requantize_element(p, x) == qkern::requantize_element(general, x));
  }
  const auto back = qkern::prepare_requantize<std::uint8_t, std::int8_t, single_rounding>(out, in, make({1})).value();
  CHECK(back.flip_sign_bit);
  auto back_general = back;
  back_general.flip_sign_bit = false;
  for (int q = 0; q <= 255; ++q) {
    const auto x = static_cast<std::uint8_t>(q);
    CHECK(qkern::requantize_element(back, x) == qkern::requantize_element(back_general, x));
  }
  CHECK_FALSE(qkern::prepare_requantize<std::int8_t, std::uint8_t>(in, {0.25f, 124}, make({1})).value().flip_sign_bit);
  CHECK_FALSE(qkern::prepare_requantize<std::int8_t, std::uint8_t>(in, {0.5f, 123}, make({1})).value().flip_sign_bit);
}

// mul's float form (kernels/elementwise/mul_float_form.hpp), evaluated here in integers from
// the floats chosen: f = F / 2^s, c = K / 2^s and floor(P f + c) = (P F + K) >> s must
// give the scalar spec's output for every input pair, for either sign's constant.
template <class Policy>
std::string float_form_mismatch(const qkern::mul_params<std::int8_t, Policy>& p) {
  const qkern_test::float_step_model model(p.float_output);
  if (!model.exact()) return "constant below 2^-s";
  for (int x1 = -128; x1 < 128; ++x1) {
    for (int x2 = -128; x2 < 128; ++x2) {
      const std::int32_t product = (x1 + p.input1_offset) * (x2 + p.input2_offset);
      const std::int64_t y = model.floor(product);
      const std::int64_t clamped = y < p.output_activation_min   ? p.output_activation_min
                                   : y > p.output_activation_max ? p.output_activation_max
                                                                 : y;
      const int want = qkern::mul_element(p, static_cast<std::int8_t>(x1), static_cast<std::int8_t>(x2));
      if (clamped != want) return "pair " + std::to_string(x1) + ", " + std::to_string(x2);
    }
  }
  return "";
}

// p with its float form built here, on any build (prepare builds it only where the AVX-512 rows
// that use it are compiled in).
template <class Policy>
qkern::mul_params<std::int8_t, Policy> with_float_form(qkern::mul_params<std::int8_t, Policy> p) {
  p.float_output = qkern::make_int8_mul_float_form(
      [&p](std::int32_t product) { return qkern::mul_unclamped(p, product); }, p.output_multiplier, p.input1_offset,
      p.input2_offset);
  return p;
}

// What prepare itself holds: the same form where the AVX-512 rows exist, none elsewhere.
template <class Policy>
bool prepared_as_built(const qkern::mul_params<std::int8_t, Policy>& prepared,
                       const qkern::mul_params<std::int8_t, Policy>& built) {
#if QKERN_SIMD && XSIMD_WITH_AVX512BW
  const auto& a = prepared.float_output;
  const auto& b = built.float_output;
  return a.valid == b.valid && a.split_sign == b.split_sign && a.multiplier == b.multiplier &&
         a.constant_negative == b.constant_negative && a.constant_nonnegative == b.constant_nonnegative;
#else
  (void)built;
  return !prepared.float_output.valid;
#endif
}

template <class Policy>
void check_mul_float_forms(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<std::int32_t> zero_point(-128, 127);
  int sets = 0, valid = 0, split = 0;
  for (int i = 0; i < 60; ++i) {
    const auto scale = [&](double lo, double hi) {
      return static_cast<float>(std::exp(std::log(lo) + (std::log(hi) - std::log(lo)) * unit(rng)));
    };
    const quantization_params q1{scale(0.002, 0.1), zero_point(rng)};
    const quantization_params q2{scale(0.002, 0.1), zero_point(rng)};
    const quantization_params qo{static_cast<float>(static_cast<double>(q1.scale) * q2.scale / scale(1e-4, 0.2)),
                                 zero_point(rng)};
    const auto activation = unit(rng) < 0.5 ? fused_activation::none : fused_activation::relu;
    const auto prepared = qkern::prepare_mul<std::int8_t, Policy>(q1, make({1}), q2, make({1}), qo, activation);
    if (!prepared.ok()) continue;
    ++sets;
    const auto p = with_float_form(*prepared);
    INFO(std::string(Policy::name) << " set " << i << ": " << q1.scale << "/" << q1.zero_point << " " << q2.scale << "/"
                      << q2.zero_point << " " << qo.scale << "/" << qo.zero_point);
    CHECK(prepared_as_built(*prepared, p));
    if (!p.float_output.valid) continue;
    ++valid;
    split += p.float_output.split_sign ? 1 : 0;
    CHECK(float_form_mismatch(p) == "");
  }
  MESSAGE(std::string(Policy::name) << ": the float form exists for " << valid << " of " << sets
                                    << " activation-like sets (" << split << " with a constant per sign)");
  CHECK(sets >= 50);
  CHECK(valid >= sets * 9 / 10);
}

TEST_CASE("mul's float form equals the scalar spec for every input pair where prepare keeps it") {
  check_mul_float_forms<double_rounding>(0xF10A7);
  check_mul_float_forms<single_rounding>(0xF10A8);
  // Multipliers of 2^7 or more (and below 2^-22) keep the integer rows.
  const auto large =
      with_float_form(qkern::prepare_mul<std::int8_t>({0.5f, 0}, make({1}), {0.5f, 0}, make({1}), {0.001f, 0}).value());
  CHECK(large.output_multiplier.shift == 8);
  CHECK_FALSE(large.float_output.valid);
  const auto tiny = with_float_form(
      qkern::prepare_mul<std::int8_t>({0.001f, 0}, make({1}), {0.001f, 0}, make({1}), {100.0f, 0}).value());
  CHECK(tiny.output_multiplier.shift < -21);
  CHECK_FALSE(tiny.float_output.valid);
}

TEST_CASE("requantize with scale ratios far above 1") {
  // Narrow outputs: every nonzero input saturates to the bound of its sign, in both policies.
  const auto narrow = qkern::prepare_requantize<std::int8_t, std::int8_t>({1e30f, 0}, {1e-30f, 5}, make({1})).value();
  const auto narrow_single =
      qkern::prepare_requantize<std::int8_t, std::int8_t, single_rounding>({1e30f, 0}, {1e-30f, 5}, make({1})).value();
  for (const std::int8_t q : {std::int8_t{127}, std::int8_t{1}, std::int8_t{-1}, std::int8_t{-128}}) {
    CHECK(qkern::requantize_element(narrow, q) == (q > 0 ? 127 : -128));
    CHECK(qkern::requantize_element(narrow_single, q) == (q > 0 ? 127 : -128));
  }
  CHECK(qkern::requantize_element(narrow, std::int8_t{0}) == 5);
  // int32 output: refused once (q - zp) * 2^shift could leave int32 (TFLite's contract).
  const auto wide = qkern::prepare_requantize<std::int8_t, std::int32_t>({1e30f, 0}, {1e-30f, 5}, make({1}));
  CHECK(wide.error().code() == status_code::overflow);
  CHECK(starts_with(error_text(wide), "output: scale ratio is too large for an int32 output"));
  // 2^23: 128 * 2^24 = 2^31 does not fit (shift 24); 2^22: shift 23, 128 * 2^23 fits.
  CHECK_FALSE(qkern::prepare_requantize<std::int8_t, std::int32_t>({0x1p23f, 0}, {1.0f, 0}, make({1})).ok());
  const auto fits = qkern::prepare_requantize<std::int8_t, std::int32_t>({0x1p22f, 0}, {1.0f, 7}, make({1})).value();
  CHECK(fits.effective_scale.shift == 23);
  CHECK(qkern::requantize_element(fits, std::int8_t{-128}) == -(1 << 29) + 7);
  CHECK(qkern::requantize_element(fits, std::int8_t{127}) == 127 * (1 << 22) + 7);
}

// --- properties: every binary op equals a naive NumPy-indexed reference ---------------------------

namespace {

struct shape_pair {
  shape first;
  shape second;
};

// Broadcastable pairs drawn from families that between them produce every broadcast kind:
// identical shapes, a scalar (rank 0 or all ones), a trailing vector ([C] against [N,H,W,C]),
// a leading vector ([N,1] against [N,C]), complementary broadcasting ([1,W,1] against [H,1,C]),
// and random mixes; ranks 0..6, occasionally with an empty dimension.
rc::Gen<shape_pair> broadcastable_pair() {
  return rc::gen::exec([] {
    const int rank = *rc::gen::inRange(0, qkern::max_rank + 1);
    shape out;
    out.rank = rank;
    for (int d = 0; d < rank; ++d) out.dims[d] = *rc::gen::inRange(1, 6);
    if (rank > 0 && *rc::gen::inRange(0, 25) == 0) out.dims[*rc::gen::inRange(0, rank)] = 0;

    const auto ones = [](int r) {
      shape s;
      s.rank = r;
      for (int d = 0; d < r; ++d) s.dims[d] = 1;
      return s;
    };
    const auto suffix = [&](int r) {  // the last r dimensions of out
      shape s;
      s.rank = r;
      for (int d = 0; d < r; ++d) s.dims[d] = out.dims[d + rank - r];
      return s;
    };
    shape_pair pair{out, out};
    const int family = *rc::gen::inRange(0, 6);
    switch (family) {
      case 0:  // same shape
        break;
      case 1:  // scalar
        pair.second = ones(*rc::gen::inRange(0, rank + 1));
        break;
      case 2: {  // trailing vector, possibly with leading ones
        const int r = *rc::gen::inRange(rank > 0 ? 1 : 0, rank + 1);
        pair.second = suffix(r);
        for (int d = 0; d < r - 1; ++d) {
          if (*rc::gen::arbitrary<bool>()) pair.second.dims[d] = 1;
        }
        break;
      }
      case 3: {  // leading vector: trailing dimensions set to 1
        const int k = *rc::gen::inRange(rank > 0 ? 1 : 0, rank + 1);
        for (int d = rank - k; d < rank; ++d) pair.second.dims[d] = 1;
        break;
      }
      case 4: {  // complementary: each dimension is broadcast in one operand
        for (int d = 0; d < rank; ++d) {
          if (*rc::gen::arbitrary<bool>()) {
            pair.first.dims[d] = 1;
          } else {
            pair.second.dims[d] = 1;
          }
        }
        break;
      }
      default: {  // random ranks, each dimension 1 or the output's
        for (shape* s : {&pair.first, &pair.second}) {
          const int r = *rc::gen::inRange(0, rank + 1);
          *s = suffix(r);
          for (int d = 0; d < r; ++d) {
            if (*rc::gen::arbitrary<bool>()) s->dims[d] = 1;
          }
        }
        break;
      }
    }
    if (*rc::gen::arbitrary<bool>()) std::swap(pair.first, pair.second);
    return pair;
  });
}

// Independent of make_broadcast_plan: right-aligned, the larger extent of each pair.
shape numpy_broadcast(const shape& a, const shape& b) {
  shape out;
  out.rank = a.rank > b.rank ? a.rank : b.rank;
  for (int d = 0; d < out.rank; ++d) {
    const int da = d - (out.rank - a.rank);
    const int db = d - (out.rank - b.rank);
    const std::int32_t ea = da >= 0 ? a.dims[da] : 1;
    const std::int32_t eb = db >= 0 ? b.dims[db] : 1;
    out.dims[d] = ea == 1 ? eb : ea;
  }
  return out;
}

// Flat index into `operand` of output coordinate `coord`, by right-aligned broadcasting.
std::size_t numpy_index(const shape& operand, const shape& out, const std::vector<std::int64_t>& coord) {
  std::int64_t index = 0;
  const int offset = out.rank - operand.rank;
  for (int d = 0; d < operand.rank; ++d) {
    const std::int64_t c = operand.dims[d] == 1 ? 0 : coord[static_cast<std::size_t>(d + offset)];
    index = index * operand.dims[d] + c;
  }
  return static_cast<std::size_t>(index);
}

int kinds_seen[5] = {};

template <class T>
rc::Gen<T> any_value() {
  using lim = std::numeric_limits<T>;
  return rc::gen::weightedOneOf<T>({
      {6, rc::gen::cast<T>(rc::gen::inRange<int>(lim::min(), lim::max() + 1))},
      {1, rc::gen::element<T>(lim::min(), lim::max(), T{0})},
  });
}

template <class T>
std::vector<T> random_data(std::int64_t count) {
  return *rc::gen::container<std::vector<T>>(static_cast<std::size_t>(count), any_value<T>());
}

// A float32 scale 2^e · (1 + m/2^23) with e in [min_exp, max_exp].
float random_scale(int min_exp, int max_exp) {
  const int e = *rc::gen::inRange(min_exp, max_exp + 1);
  const int m = *rc::gen::inRange(0, 1 << 23);
  return std::ldexp(1.0f + static_cast<float>(m) / static_cast<float>(1 << 23), e);
}

template <class T>
quantization_params random_quantization(int min_exp, int max_exp) {
  const std::int32_t zp = std::is_same<T, std::int16_t>::value
                              ? 0
                              : *rc::gen::inRange<std::int32_t>(std::numeric_limits<T>::min(),
                                                                std::numeric_limits<T>::max() + 1);
  return {random_scale(min_exp, max_exp), zp};
}

fused_activation random_activation() {
  return *rc::gen::element(fused_activation::none, fused_activation::relu, fused_activation::relu6,
                           fused_activation::relu_n1_to_1);
}

// Runs `eval` on random data and compares each output element with `element` applied to the
// operands found by NumPy indexing.
template <class Out, class In, class Params, class Eval, class Element>
void check_against_naive(const shape_pair& s, const Params& p, Eval eval, Element element) {
  const shape out = numpy_broadcast(s.first, s.second);
  RC_ASSERT(p.broadcast.output == out);
  RC_ASSERT(p.broadcast.output_count == out.element_count());
  ++kinds_seen[static_cast<int>(p.broadcast.kind)];
  const std::vector<In> a = random_data<In>(s.first.element_count());
  const std::vector<In> b = random_data<In>(s.second.element_count());
  const auto n = static_cast<std::size_t>(out.element_count());
  std::unique_ptr<Out[]> got(new Out[n]());
  eval(p, a.data(), b.data(), got.get());
  std::vector<std::int64_t> coord(static_cast<std::size_t>(out.rank), 0);
  for (std::size_t i = 0; i < n; ++i) {
    const Out expected = element(p, a[numpy_index(s.first, out, coord)], b[numpy_index(s.second, out, coord)]);
    RC_ASSERT(got[i] == expected);
    for (int d = out.rank - 1; d >= 0; --d) {
      if (++coord[static_cast<std::size_t>(d)] < out.dims[d]) break;
      coord[static_cast<std::size_t>(d)] = 0;
    }
  }
}

template <class T, class Policy>
void add_sub_match_naive(const shape_pair& s) {
  // Input scales below 2, output scales from 2^-10: the output multiplier stays below 1.
  const auto q1 = random_quantization<T>(-12, 0);
  const auto q2 = random_quantization<T>(-12, 0);
  const auto qo = random_quantization<T>(-10, 1);
  const auto activation = random_activation();
  const auto add = qkern::prepare_add<T, Policy>(q1, s.first, q2, s.second, qo, activation);
  RC_ASSERT(add.ok());
  RC_ASSERT(add->requires_broadcast == (s.first != s.second));
  check_against_naive<T, T>(
      s, *add, [](const auto& p, const T* x, const T* y, T* z) { qkern::add(p, x, y, z); },
      [](const auto& p, T x, T y) { return qkern::add_element(p, x, y); });
  const auto sub = qkern::prepare_sub<T, Policy>(q1, s.first, q2, s.second, qo, activation);
  RC_ASSERT(sub.ok());
  check_against_naive<T, T>(
      s, *sub, [](const auto& p, const T* x, const T* y, T* z) { qkern::sub(p, x, y, z); },
      [](const auto& p, T x, T y) { return qkern::sub_element(p, x, y); });
}

template <class T, class Policy>
void mul_matches_naive(const shape_pair& s) {
  const auto p = qkern::prepare_mul<T, Policy>(random_quantization<T>(-12, 2), s.first, random_quantization<T>(-12, 2),
                                               s.second, random_quantization<T>(-12, 2), random_activation());
  RC_ASSERT(p.ok());
  check_against_naive<T, T>(
      s, *p, [](const auto& q, const T* x, const T* y, T* z) { qkern::mul(q, x, y, z); },
      [](const auto& q, T x, T y) { return qkern::mul_element(q, x, y); });
}

template <class T>
void minmax_match_naive(const shape_pair& s) {
  const auto q = random_quantization<T>(-12, 2);
  const auto max = qkern::prepare_maximum<T>(q, s.first, q, s.second, q);
  RC_ASSERT(max.ok());
  check_against_naive<T, T>(
      s, *max, [](const auto& p, const T* x, const T* y, T* z) { qkern::maximum(p, x, y, z); },
      [](const auto&, T x, T y) { return x > y ? x : y; });
  const auto min = qkern::prepare_minimum<T>(q, s.first, q, s.second, q);
  RC_ASSERT(min.ok());
  check_against_naive<T, T>(
      s, *min, [](const auto& p, const T* x, const T* y, T* z) { qkern::minimum(p, x, y, z); },
      [](const auto&, T x, T y) { return x < y ? x : y; });
}

template <class Policy>
void squared_difference_matches_naive(const shape_pair& s) {
  using T = std::int8_t;
  const auto p = qkern::prepare_squared_difference<T, Policy>(
      random_quantization<T>(-12, 2), s.first, random_quantization<T>(-12, 2), s.second, random_quantization<T>(-12, 4));
  RC_ASSERT(p.ok());
  RC_ASSERT(p->requires_broadcast == (s.first != s.second));
  check_against_naive<T, T>(
      s, *p, [](const auto& q, const T* x, const T* y, T* z) { qkern::squared_difference(q, x, y, z); },
      [](const auto& q, T x, T y) { return qkern::squared_difference_element(q, x, y); });
}

template <class Policy>
void comparisons_match_naive(const shape_pair& s) {
  using T = std::int8_t;
  using P = qkern::comparison_params<T, Policy>;
  const auto p = qkern::prepare_comparison<T, Policy>(random_quantization<T>(-12, -1), s.first,
                                                      random_quantization<T>(-12, -1), s.second);
  RC_ASSERT(p.ok());
  check_against_naive<bool, T>(
      s, *p, [](const P& q, const T* x, const T* y, bool* z) { qkern::equal(q, x, y, z); },
      [](const P& q, T x, T y) { return qkern::equal_element(q, x, y); });
  check_against_naive<bool, T>(
      s, *p, [](const P& q, const T* x, const T* y, bool* z) { qkern::not_equal(q, x, y, z); },
      [](const P& q, T x, T y) { return qkern::not_equal_element(q, x, y); });
  check_against_naive<bool, T>(
      s, *p, [](const P& q, const T* x, const T* y, bool* z) { qkern::less(q, x, y, z); },
      [](const P& q, T x, T y) { return qkern::less_element(q, x, y); });
  check_against_naive<bool, T>(
      s, *p, [](const P& q, const T* x, const T* y, bool* z) { qkern::less_equal(q, x, y, z); },
      [](const P& q, T x, T y) { return qkern::less_equal_element(q, x, y); });
  check_against_naive<bool, T>(
      s, *p, [](const P& q, const T* x, const T* y, bool* z) { qkern::greater(q, x, y, z); },
      [](const P& q, T x, T y) { return qkern::greater_element(q, x, y); });
  check_against_naive<bool, T>(
      s, *p, [](const P& q, const T* x, const T* y, bool* z) { qkern::greater_equal(q, x, y, z); },
      [](const P& q, T x, T y) { return qkern::greater_equal_element(q, x, y); });
}

// sub with its operands swapped (prepare_sub(q2, s2, q1, s1), eval on (b, a)) must compute
// b - a: written out here from the unswapped params, as the spec's arithmetic
// clamp(MBQM(v_b - v_a) + zp_out), and the forward direction as clamp(MBQM(v_a - v_b) + zp_out).
template <class T, class Policy>
void swapped_sub_matches_definition(const shape_pair& s) {
  const auto q1 = random_quantization<T>(-12, 0);
  const auto q2 = random_quantization<T>(-12, 0);
  const auto qo = random_quantization<T>(-10, 1);
  const auto activation = random_activation();
  const auto fwd = qkern::prepare_sub<T, Policy>(q1, s.first, q2, s.second, qo, activation);
  const auto rev = qkern::prepare_sub<T, Policy>(q2, s.second, q1, s.first, qo, activation);
  RC_ASSERT(fwd.ok());
  RC_ASSERT(rev.ok());
  RC_ASSERT(rev->input1_multiplier == fwd->input2_multiplier);
  RC_ASSERT(rev->input2_multiplier == fwd->input1_multiplier);
  RC_ASSERT(rev->input1_offset == fwd->input2_offset);
  RC_ASSERT(rev->output_multiplier == fwd->output_multiplier);

  const auto& p = *fwd;
  const auto scaled = [&p](T q, std::int32_t offset, const qkern::quantized_multiplier& m) {
    return Policy::multiply_smaller_than_one_exp((q + offset) * (1 << p.left_shift), m);
  };
  const auto finish = [&p](std::int32_t raw) {
    const std::int32_t v = Policy::multiply_smaller_than_one_exp(raw, p.output_multiplier) + p.output_offset;
    return static_cast<T>(v < p.output_activation_min ? p.output_activation_min
                                                       : (v > p.output_activation_max ? p.output_activation_max : v));
  };
  const shape out = numpy_broadcast(s.first, s.second);
  const std::vector<T> a = random_data<T>(s.first.element_count());
  const std::vector<T> b = random_data<T>(s.second.element_count());
  const auto n = static_cast<std::size_t>(out.element_count());
  std::vector<T> forward(n), backward(n);
  qkern::sub(*fwd, a.data(), b.data(), forward.data());
  qkern::sub(*rev, b.data(), a.data(), backward.data());
  std::vector<std::int64_t> coord(static_cast<std::size_t>(out.rank), 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t va = scaled(a[numpy_index(s.first, out, coord)], p.input1_offset, p.input1_multiplier);
    const std::int32_t vb = scaled(b[numpy_index(s.second, out, coord)], p.input2_offset, p.input2_multiplier);
    RC_ASSERT(forward[i] == finish(va - vb));
    RC_ASSERT(backward[i] == finish(vb - va));
    for (int d = out.rank - 1; d >= 0; --d) {
      if (++coord[static_cast<std::size_t>(d)] < out.dims[d]) break;
      coord[static_cast<std::size_t>(d)] = 0;
    }
  }
}

}  // namespace

TEST_CASE("binary ops on random broadcastable shapes equal a naive NumPy-indexed reference") {
  QKERN_PROPERTY("add and sub int8", [] {
    const shape_pair s = *broadcastable_pair();
    add_sub_match_naive<std::int8_t, double_rounding>(s);
    add_sub_match_naive<std::int8_t, single_rounding>(s);
  });
  QKERN_PROPERTY("add and sub int16", [] {
    const shape_pair s = *broadcastable_pair();
    add_sub_match_naive<std::int16_t, double_rounding>(s);
    add_sub_match_naive<std::int16_t, single_rounding>(s);
  });
  QKERN_PROPERTY("mul int8 and int16", [] {
    const shape_pair s = *broadcastable_pair();
    mul_matches_naive<std::int8_t, double_rounding>(s);
    mul_matches_naive<std::int8_t, single_rounding>(s);
    mul_matches_naive<std::int16_t, double_rounding>(s);
    mul_matches_naive<std::int16_t, single_rounding>(s);
  });
  QKERN_PROPERTY("maximum and minimum int8 and int16", [] {
    const shape_pair s = *broadcastable_pair();
    minmax_match_naive<std::int8_t>(s);
    minmax_match_naive<std::int16_t>(s);
  });
  QKERN_PROPERTY("squared_difference", [] {
    const shape_pair s = *broadcastable_pair();
    squared_difference_matches_naive<double_rounding>(s);
    squared_difference_matches_naive<single_rounding>(s);
  });
  QKERN_PROPERTY("comparisons", [] {
    const shape_pair s = *broadcastable_pair();
    comparisons_match_naive<double_rounding>(s);
    comparisons_match_naive<single_rounding>(s);
  });
  // How often each broadcast kind (each loop of binary_loop) came up. The draws are random
  // (rapidcheck's seed changes per run), so a kind missing from one run is reported, not
  // failed: "each broadcast kind on a fixed example" covers every kind deterministically.
  for (int k = 0; k < 5; ++k) {
    const std::string kind = qkern::broadcast_kind_name(static_cast<broadcast_kind>(k));
    MESSAGE(kind << ": " << kinds_seen[k] << " draws");
    WARN_MESSAGE(kinds_seen[k] > 0, kind << " was not drawn in this run");
  }
}

TEST_CASE("sub with swapped operands computes the swapped difference") {
  QKERN_PROPERTY("sub(b, a) is clamp(MBQM(v_b - v_a) + zp)", [] {
    const shape_pair s = *broadcastable_pair();
    swapped_sub_matches_definition<std::int8_t, double_rounding>(s);
    swapped_sub_matches_definition<std::int8_t, single_rounding>(s);
    swapped_sub_matches_definition<std::int16_t, double_rounding>(s);
    swapped_sub_matches_definition<std::int16_t, single_rounding>(s);
  });
}

TEST_CASE("each broadcast kind on a fixed example") {
  // One hand-picked pair per kind, both operand orders, checked like the property.
  const std::pair<shape, shape> pairs[] = {
      {make({2, 3, 4}), make({2, 3, 4})},        // same_shape
      {make({}), make({2, 3})},                  // scalar
      {make({1, 1, 1, 5}), make({1, 3, 3, 5})},  // inner_vector (squeeze-excitation)
      {make({4, 1}), make({4, 6})},              // outer_vector
      {make({1, 5, 1}), make({4, 1, 3})},        // general
      {make({2, 1, 1, 8}), make({2, 3, 3, 8})},  // general (batched SE)
  };
  const broadcast_kind kinds[] = {broadcast_kind::same_shape,   broadcast_kind::scalar,  broadcast_kind::inner_vector,
                                  broadcast_kind::outer_vector, broadcast_kind::general, broadcast_kind::general};
  const quantization_params q1{0.02f, -3};
  const quantization_params q2{0.05f, 7};
  const quantization_params qo{0.07f, 1};
  for (std::size_t i = 0; i < std::size(pairs); ++i) {
    for (const bool swapped : {false, true}) {
      const shape& a = swapped ? pairs[i].second : pairs[i].first;
      const shape& b = swapped ? pairs[i].first : pairs[i].second;
      const auto p = qkern::prepare_sub<std::int8_t>(q1, a, q2, b, qo).value();
      CHECK(p.broadcast.kind == kinds[i]);
      const shape out = numpy_broadcast(a, b);
      std::vector<std::int8_t> x(static_cast<std::size_t>(a.element_count()));
      std::vector<std::int8_t> y(static_cast<std::size_t>(b.element_count()));
      for (std::size_t k = 0; k < x.size(); ++k) x[k] = static_cast<std::int8_t>(static_cast<int>(k * 37 % 256) - 128);
      for (std::size_t k = 0; k < y.size(); ++k) y[k] = static_cast<std::int8_t>(static_cast<int>(k * 91 % 256) - 128);
      std::vector<std::int8_t> got(static_cast<std::size_t>(out.element_count()));
      qkern::sub(p, x.data(), y.data(), got.data());
      std::vector<std::int64_t> coord(static_cast<std::size_t>(out.rank), 0);
      for (std::size_t k = 0; k < got.size(); ++k) {
        CHECK(got[k] == qkern::sub_element(p, x[numpy_index(a, out, coord)], y[numpy_index(b, out, coord)]));
        for (int d = out.rank - 1; d >= 0; --d) {
          if (++coord[static_cast<std::size_t>(d)] < out.dims[d]) break;
          coord[static_cast<std::size_t>(d)] = 0;
        }
      }
    }
  }
}

TEST_CASE("every broadcastable pair of small shapes equals the naive reference") {
  // Exhaustive over ranks 0..3 with extents 1..3: every broadcast kind with either operand as
  // the broadcast one, deterministically (the property above samples the same space at random).
  std::vector<shape> shapes;
  for (int rank = 0; rank <= 3; ++rank) {
    int total = 1;
    for (int d = 0; d < rank; ++d) total *= 3;
    for (int code = 0; code < total; ++code) {
      shape s;
      s.rank = rank;
      int c = code;
      for (int d = 0; d < rank; ++d, c /= 3) s.dims[d] = 1 + c % 3;
      shapes.push_back(s);
    }
  }
  const quantization_params q1{0.02f, -3};
  const quantization_params q2{0.05f, 7};
  int kinds[5] = {};
  int pairs = 0;
  for (const shape& a : shapes) {
    for (const shape& b : shapes) {
      const auto sub = qkern::prepare_sub<std::int8_t>(q1, a, q2, b, {0.07f, 1});
      if (!sub.ok()) {
        CHECK(sub.error().code() == status_code::not_broadcastable);
        continue;
      }
      const auto less = qkern::prepare_comparison<std::int8_t>(q1, a, q2, b).value();
      ++pairs;
      ++kinds[static_cast<int>(sub->broadcast.kind)];
      const shape out = numpy_broadcast(a, b);
      REQUIRE(sub->broadcast.output == out);
      std::vector<std::int8_t> x(static_cast<std::size_t>(a.element_count()));
      std::vector<std::int8_t> y(static_cast<std::size_t>(b.element_count()));
      for (std::size_t k = 0; k < x.size(); ++k) x[k] = static_cast<std::int8_t>(static_cast<int>(k * 37 % 256) - 128);
      for (std::size_t k = 0; k < y.size(); ++k) y[k] = static_cast<std::int8_t>(static_cast<int>(k * 91 % 256) - 100);
      const auto n = static_cast<std::size_t>(out.element_count());
      std::vector<std::int8_t> got(n);
      std::unique_ptr<bool[]> got_less(new bool[n]());
      qkern::sub(*sub, x.data(), y.data(), got.data());
      qkern::less(less, x.data(), y.data(), got_less.get());
      std::vector<std::int64_t> coord(static_cast<std::size_t>(out.rank), 0);
      bool all_match = true;
      for (std::size_t k = 0; k < n; ++k) {
        const std::int8_t xa = x[numpy_index(a, out, coord)];
        const std::int8_t yb = y[numpy_index(b, out, coord)];
        all_match = all_match && got[k] == qkern::sub_element(*sub, xa, yb) &&
                    got_less[k] == qkern::less_element(less, xa, yb);
        for (int d = out.rank - 1; d >= 0; --d) {
          if (++coord[static_cast<std::size_t>(d)] < out.dims[d]) break;
          coord[static_cast<std::size_t>(d)] = 0;
        }
      }
      if (!all_match) {
        CAPTURE(qkern::broadcast_kind_name(sub->broadcast.kind));
        FAIL_CHECK("mismatch for a pair of rank " << a.rank << " and " << b.rank);
      }
    }
  }
  CHECK(pairs == 940);  // of the 40 x 40 pairs
  for (int k = 0; k < 5; ++k) {
    CAPTURE(qkern::broadcast_kind_name(static_cast<broadcast_kind>(k)));
    CHECK(kinds[k] > 10);
  }
}
