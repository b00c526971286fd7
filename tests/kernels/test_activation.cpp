// Activation kernels: prepare rejects what TFLite rejects with a clear message; the float-built
// LUT dialect agrees with the float functions to within one output step; relu_n1_to_1 follows its
// formula; the 16-bit helpers hard_swish borrows from gemmlowp are gemmlowp's; and the shipped
// tables are proven: softmax_int16's two LUTs are regenerated from their float32 recipe, and the
// int16 sigmoid table is shown to be the only one the golden TFLite Micro outputs allow.
#include <doctest/doctest.h>
#include <fixedpoint/fixedpoint.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "qkern/kernels/activation.hpp"
#include "support/property.hpp"
#include "support/status_text.hpp"

using qkern::double_rounding;
using qkern::quantization_params;
using qkern::shape;
using qkern::single_rounding;
using qkern::status_code;

using qkern_test::make;
using qkern_test::text;
using qkern_test::error_text;

namespace {

constexpr quantization_params logistic_out{1.0f / 256.0f, -128};
constexpr quantization_params tanh_out{1.0f / 128.0f, 0};
constexpr quantization_params q15_out{1.0f / 32768.0f, 0};
const float not_a_number = std::numeric_limits<float>::quiet_NaN();

// --- constant expressions -----------------------------------------------------------------------

constexpr std::array<std::int8_t, 3> logistic_at_compile_time() {
  const auto p = qkern::prepare_logistic<std::int8_t>({0.05f, 0}, logistic_out, qkern::make_shape({3}).value()).value();
  const std::int8_t in[3] = {-128, 0, 127};
  std::array<std::int8_t, 3> out{};
  qkern::logistic(p, in, out.data());
  return out;
}
static_assert(logistic_at_compile_time()[1] == 0, "logistic(0) = 1/2 is 0 with zero point -128");
static_assert(logistic_at_compile_time()[0] < -100 && logistic_at_compile_time()[2] > 100);

constexpr std::array<std::int8_t, 4> softmax_at_compile_time() {
  const auto p = qkern::prepare_softmax<std::int8_t, std::int8_t>({0.1f, 0}, logistic_out, 1.0f,
                                                                   qkern::make_shape({2, 2}).value())
                     .value();
  const std::int8_t in[4] = {5, 5, 100, -100};
  std::array<std::int8_t, 4> out{};
  qkern::softmax(p, in, out.data());
  return out;
}
static_assert(softmax_at_compile_time()[0] == 0 && softmax_at_compile_time()[1] == 0, "two equal logits: 1/2 each");
static_assert(softmax_at_compile_time()[2] == 127 && softmax_at_compile_time()[3] == -128);

static_assert(qkern::prepare_relu<std::int8_t, single_rounding>({0.1f, -5}, {0.2f, 3}, qkern::make_shape({7}).value())
                  ->quantized_activation_min == 3);
static_assert(qkern::prepare_hard_swish<std::int8_t>({0.02f, 0}, {0.03f, -100}, qkern::make_shape({7}).value()).ok());

}  // namespace

// --- prepare errors -----------------------------------------------------------------------------

TEST_CASE("logistic and tanh prepare: the fixed output quantizations and int16 conventions") {
  const shape s = make({2, 3});
  CHECK(qkern::prepare_logistic<std::int8_t>({0.1f, 3}, logistic_out, s).ok());
  CHECK(error_text(qkern::prepare_logistic<std::int8_t>({0.1f, 3}, {1.0f / 256.0f, 0}, s)) ==
        "output: logistic output zero point must be -128 (got 0)");
  CHECK(error_text(qkern::prepare_logistic<std::int8_t>({0.1f, 3}, {1.0f / 128.0f, -128}, s)) ==
        "output: logistic output scale must be 1/256");
  CHECK(error_text(qkern::prepare_tanh<std::int8_t>({0.1f, 3}, {1.0f / 128.0f, -128}, s)) ==
        "output: tanh output zero point must be 0 (got -128)");
  CHECK(error_text(qkern::prepare_tanh<std::int8_t>({0.1f, 3}, {1.0f / 256.0f, 0}, s)) ==
        "output: tanh output scale must be 1/128");
  CHECK(error_text(qkern::prepare_logistic<std::int8_t>({not_a_number, 0}, logistic_out, s)) == "input: scale is NaN");
  CHECK(qkern::prepare_tanh<std::int8_t>({-0.5f, 0}, tanh_out, s).error().code() == status_code::invalid_scale);
  CHECK(error_text(qkern::prepare_logistic<std::int8_t>({1e-9f, 0}, logistic_out, s)) ==
        "input: input scale below 2^-28: the Q4.27 rescale would need a right shift");
  CHECK(qkern::prepare_logistic<std::int8_t>({0.1f, 0}, logistic_out, shape{1, {-1}}).error().code() ==
        status_code::invalid_shape);

  // int16: zero points 0, output 2^-15, input scale small enough for the 15-bit multiplier.
  CHECK(qkern::prepare_logistic<std::int16_t>({1e-4f, 0}, q15_out, s).ok());
  CHECK(error_text(qkern::prepare_logistic<std::int16_t>({1e-4f, 4}, q15_out, s)) ==
        "input: int16 tensors must have zero point 0 (got 4)");
  CHECK(error_text(qkern::prepare_tanh<std::int16_t>({1e-4f, 0}, {1.0f / 32768.0f, -1}, s)) ==
        "output: int16 tensors must have zero point 0 (got -1)");
  CHECK(error_text(qkern::prepare_tanh<std::int16_t>({1e-4f, 0}, {1.0f / 16384.0f, 0}, s)) ==
        "output: output scale must be 2^-15");
  CHECK(error_text(qkern::prepare_logistic<std::int16_t>({3.0f, 0}, q15_out, s)) ==
        "input: input scale too large for the int16 table (s_in · 12288 must be below 32768)");
  // TFLite's CheckedLog2 tolerance: an output scale within 1e-3 (in log2) of 2^-15 is accepted.
  CHECK(qkern::prepare_tanh<std::int16_t>({1e-4f, 0}, {1.0f / 32768.0f * 1.0004f, 0}, s).ok());
}

TEST_CASE("int16 logistic/tanh: power-of-two input scales store multiplier 0") {
  const shape s = make({4});
  const auto logistic = qkern::prepare_logistic<std::int16_t>({1.0f / 4096.0f, 0}, q15_out, s);
  REQUIRE(logistic.ok());
  CHECK(logistic->input_multiplier == 0);
  CHECK(logistic->input_left_shift == 0);
  const auto tanh = qkern::prepare_tanh<std::int16_t>({1.0f / 2048.0f, 0}, q15_out, s);
  REQUIRE(tanh.ok());
  CHECK(tanh->input_multiplier == 0);
  CHECK(tanh->input_left_shift == 1);
  // Not a power of two (or not one of the accepted ones): the doubling search.
  const auto doubled = qkern::prepare_logistic<std::int16_t>({1.0f / 8192.0f, 0}, q15_out, s);
  REQUIRE(doubled.ok());
  CHECK(doubled->input_multiplier == 24576);
  CHECK(doubled->input_left_shift == 14);
  // Both forms describe the same grid, so a power-of-two scale gives the same outputs either way.
  const std::int16_t in[4] = {-32768, -1000, 77, 32767};
  std::int16_t a[4] = {};
  std::int16_t b[4] = {};
  auto forced = *logistic;
  forced.input_multiplier = 24576;
  forced.input_left_shift = 13;
  qkern::logistic(*logistic, in, a);
  qkern::logistic(forced, in, b);
  CHECK(std::equal(a, a + 4, b));
}

TEST_CASE("softmax prepare: fixed outputs, int16 zero points, rank and beta") {
  const shape s = make({2, 5});
  CHECK(qkern::prepare_softmax<std::int8_t, std::int8_t>({0.1f, 3}, logistic_out, 1.0f, s).ok());
  CHECK(error_text(qkern::prepare_softmax<std::int8_t, std::int8_t>({0.1f, 3}, {1.0f / 256.0f, 0}, 1.0f, s)) ==
        "output: softmax output zero point must be -128 (got 0)");
  CHECK(error_text(qkern::prepare_softmax<std::int8_t, std::int8_t>({0.1f, 3}, {1.0f / 255.0f, -128}, 1.0f, s)) ==
        "output: softmax output scale must be 1/256");
  CHECK(qkern::prepare_softmax<std::int8_t, std::int16_t>({0.1f, 3}, {1.0f / 65536.0f, -32768}, 1.0f, s).ok());
  CHECK(error_text(qkern::prepare_softmax<std::int8_t, std::int16_t>({0.1f, 3}, {1.0f / 65536.0f, 0}, 1.0f, s)) ==
        "output: softmax int16 output zero point must be -32768 (got 0)");
  CHECK(error_text(qkern::prepare_softmax<std::int8_t, std::int16_t>({0.1f, 3}, {1.0f / 60000.0f, -32768}, 1.0f, s)) ==
        "output: softmax int16 output scale must be 2^-16 (within 0.1%)");
  CHECK(qkern::prepare_softmax<std::int16_t, std::int16_t>({1e-3f, 0}, q15_out, 1.0f, s).ok());
  CHECK(error_text(qkern::prepare_softmax<std::int16_t, std::int16_t>({1e-3f, 2}, q15_out, 1.0f, s)) ==
        "input: int16 tensors must have zero point 0 (got 2)");
  CHECK(error_text(qkern::prepare_softmax<std::int16_t, std::int16_t>({1e-3f, 0}, {1.0f / 32768.0f, 5}, 1.0f, s)) ==
        "output: int16 tensors must have zero point 0 (got 5)");
  CHECK(error_text(qkern::prepare_softmax<std::int16_t, std::int16_t>({1e-3f, 0}, {1.0f / 30000.0f, 0}, 1.0f, s)) ==
        "output: softmax int16 output scale must be 2^-15 (within 0.1%)");
  CHECK(error_text(qkern::prepare_softmax<std::int8_t, std::int8_t>({0.1f, 0}, logistic_out, 1.0f, shape{})) ==
        "input: softmax needs rank >= 1 (it runs over the last axis)");
  CHECK(error_text(qkern::prepare_softmax<std::int8_t, std::int8_t>({1e-9f, 0}, logistic_out, 1.0f, s)) ==
        "beta: beta · input scale must exceed 2^-26");
  CHECK(qkern::prepare_softmax<std::int8_t, std::int8_t>({0.1f, 0}, logistic_out, not_a_number, s).error().code() ==
        status_code::invalid_multiplier);
  CHECK(qkern::prepare_softmax<std::int16_t, std::int16_t>({0.1f, 0}, q15_out, -1.0f, s).error().code() ==
        status_code::invalid_multiplier);
}

TEST_CASE("softmax: the beta cap follows the rounding policy") {
  // A huge beta · s_in is capped at the largest multiplier each build's multiply accepts.
  const auto d = qkern::prepare_softmax<std::int8_t, std::int8_t, double_rounding>({1.0f, 0}, logistic_out, 1e6f, make({3}));
  const auto s = qkern::prepare_softmax<std::int8_t, std::int8_t, single_rounding>({1.0f, 0}, logistic_out, 1e6f, make({3}));
  REQUIRE(d.ok());
  REQUIRE(s.ok());
  CHECK(d->input_multiplier == qkern::quantized_multiplier{2147483647, 31});
  CHECK(s->input_multiplier == qkern::quantized_multiplier{2147483646, 30});
  CHECK(d->diff_min == 0);   // floor(31 · 2^26 / 2^31)
  CHECK(s->diff_min == -1);  // floor(31 · 2^26 / 2^30)
  // Only the row maximum survives: every maximum gets 1/count.
  const std::int8_t in[3] = {4, 4, 3};
  std::int8_t out[3] = {};
  qkern::softmax(*d, in, out);
  CHECK(out[0] == 0);
  CHECK(out[1] == 0);
  CHECK(out[2] == -128);
}

TEST_CASE("hard_swish, leaky_relu, prelu, relu and relu6 prepare errors") {
  const shape s = make({6});
  CHECK(error_text(qkern::prepare_hard_swish<std::int8_t>({1.0f, 0}, {0.001f, 0}, s)) ==
        "output: input scale / (128 · output scale) must be below 1 (the output multiplier is a right shift) (got 3)");
  CHECK(qkern::prepare_hard_swish<std::int8_t>({0.1f, 0}, {not_a_number, 0}, s).error().code() == status_code::invalid_scale);

  CHECK(qkern::prepare_leaky_relu<std::int8_t>({0.1f, 0}, {0.1f, 0}, 0.2f, s).ok());
  CHECK(error_text(qkern::prepare_leaky_relu<std::int8_t>({0.1f, 0}, {0.1f, 0}, not_a_number, s)) ==
        "alpha: alpha is NaN or infinite");
  CHECK(error_text(qkern::prepare_leaky_relu<std::int16_t>({0.1f, 0}, {0.1f, 0},
                                                          std::numeric_limits<float>::infinity(), s)) ==
        "alpha: alpha is NaN or infinite");
  CHECK(error_text(qkern::prepare_leaky_relu<std::int8_t>({0.1f, 300}, {0.1f, 0}, 0.2f, s)) ==
        "input: zero point is outside the range of the element type (got 300)");

  const shape nhwc = make({1, 2, 3, 4});
  CHECK(qkern::prepare_prelu<std::int8_t>({0.1f, 0}, nhwc, {0.01f, 5}, make({4}), {0.1f, 0}).ok());
  CHECK(qkern::prepare_prelu<std::int8_t>({0.1f, 0}, nhwc, {0.01f, 5}, make({2, 1, 4}), {0.1f, 0}).ok());
  CHECK(error_text(qkern::prepare_prelu<std::int8_t>({0.1f, 0}, nhwc, {0.01f, 5}, make({3}), {0.1f, 0})) ==
        "input and alpha: shapes do not broadcast: extents differ and neither is 1 in output dimension (got 3)");
  CHECK(error_text(qkern::prepare_prelu<std::int8_t>({0.1f, 0}, make({1, 3, 1}), {0.01f, 5}, make({2, 1, 4}),
                                                     {0.1f, 0})) == "alpha: alpha must broadcast to the input's shape");
  CHECK(error_text(qkern::prepare_prelu<std::int8_t>({0.1f, 0}, nhwc, {0.0f, 5}, make({4}), {0.1f, 0})) ==
        "alpha: scale must be positive");

  CHECK(error_text(qkern::prepare_relu<std::int16_t>({0.1f, 1}, {0.1f, 0}, s)) ==
        "input: int16 tensors must have zero point 0 (got 1)");
  CHECK(error_text(qkern::prepare_relu_n1_to_1<std::int16_t>({0.1f, 0}, {0.1f, -2}, s)) ==
        "output: int16 tensors must have zero point 0 (got -2)");
  CHECK(qkern::prepare_relu<std::int8_t>({0.1f, 0}, {not_a_number, 0}, s).error().code() == status_code::invalid_scale);
  CHECK(qkern::prepare_relu6<std::int8_t>({not_a_number, 0}, {0.1f, 0}, s).error().code() == status_code::invalid_scale);
}

// --- behaviour ----------------------------------------------------------------------------------

TEST_CASE("leaky_relu with a negative alpha negates the multiplier") {
  const auto p = qkern::prepare_leaky_relu<std::int8_t>({0.1f, 0}, {0.1f, 0}, -0.5f, make({4}));
  REQUIRE(p.ok());
  CHECK(p->output_multiplier_alpha.multiplier == -(1 << 30));
  CHECK(p->output_multiplier_alpha.shift == 0);
  const std::int8_t in[4] = {-100, -3, 0, 50};
  std::int8_t out[4] = {};
  qkern::leaky_relu(*p, in, out);
  CHECK(out[0] == 50);
  CHECK(out[1] == 2);  // -3 · -0.5 = 1.5 rounds half up
  CHECK(out[2] == 0);
  CHECK(out[3] == 50);
}

TEST_CASE("relu6 ignores the output quantization and clamps to the input's image of [0, 6]") {
  const auto p = qkern::prepare_relu6<std::int8_t>({0.05f, -10}, {7.0f, 99}, make({5}));
  REQUIRE(p.ok());
  CHECK(p->zero == -10);
  CHECK(p->six == 110);  // -10 + 6 / 0.05
  const std::int8_t in[5] = {-128, -10, 0, 110, 127};
  std::int8_t out[5] = {};
  qkern::relu6(*p, in, out);
  CHECK(out[0] == -10);
  CHECK(out[1] == -10);
  CHECK(out[2] == 0);
  CHECK(out[3] == 110);
  CHECK(out[4] == 110);
  const auto int16 = qkern::prepare_relu6<std::int16_t>({1e-4f, 0}, {1e-4f, 0}, make({1}));
  REQUIRE(int16.ok());
  CHECK(int16->six == 32767);  // 6 / 1e-4 = 60000 saturates
}

template <class Policy>
void check_relu_n1_to_1_formula() {
  QKERN_PROPERTY(std::string("relu_n1_to_1 is the clamped rescale (") + Policy::name + ")", [] {
    const float s_in = std::ldexp(static_cast<float>(*rc::gen::inRange(1000, 30000)) / 1000.0f, -*rc::gen::inRange(3, 10));
    const float s_out = std::ldexp(static_cast<float>(*rc::gen::inRange(1000, 30000)) / 1000.0f, -*rc::gen::inRange(3, 10));
    const std::int32_t zp_in = *rc::gen::inRange(-128, 128);
    const std::int32_t zp_out = *rc::gen::inRange(-128, 128);
    const auto p = qkern::prepare_relu_n1_to_1<std::int8_t, Policy>({s_in, zp_in}, {s_out, zp_out}, make({256}));
    RC_ASSERT(p.ok());
    // The bounds: the output's quantized -1 and 1 (float32 quotients rounded half away from zero).
    const long lo = std::max(-128L, zp_out + std::lround(-1.0f / s_out));
    const long hi = std::min(127L, zp_out + std::lround(1.0f / s_out));
    RC_ASSERT(p->quantized_activation_min == lo);
    RC_ASSERT(p->quantized_activation_max == hi);
    for (int q = -128; q <= 127; ++q) {
      const double real = (q - zp_in) * static_cast<double>(s_in) / static_cast<double>(s_out);
      const long rescaled = zp_out + std::lround(real);
      const long expected = std::min(hi, std::max(lo, rescaled));
      const auto got = qkern::relu_element(*p, static_cast<std::int8_t>(q));
      // Ties round half up in TFLite, not away from zero; and with double rounding a right shift
      // by n first rounds to 2^-n, so values within 2^-(n+1) of a tie may go either way.
      const double window = std::is_same<Policy, double_rounding>::value && p->output_multiplier.shift < 0
                                ? std::ldexp(1.0, p->output_multiplier.shift - 1)
                                : 0.0;
      const bool near_tie = std::fabs(std::fabs(real - std::trunc(real)) - 0.5) <= window + 1e-5;
      if (near_tie) {
        RC_ASSERT(std::abs(got - expected) <= 1);
      } else {
        RC_ASSERT(got == expected);
      }
    }
  });
}

TEST_CASE("relu_n1_to_1 against its formula") {
  check_relu_n1_to_1_formula<double_rounding>();
  check_relu_n1_to_1_formula<single_rounding>();
  // Same scales: the identity clamped to [zp - round(1/s), zp + round(1/s)].
  const auto p = qkern::prepare_relu_n1_to_1<std::int8_t>({0.02f, 10}, {0.02f, 10}, make({5}));
  REQUIRE(p.ok());
  CHECK(p->quantized_activation_min == -40);
  CHECK(p->quantized_activation_max == 60);
  const std::int8_t in[5] = {-128, -40, 10, 59, 127};
  std::int8_t out[5] = {};
  qkern::relu_n1_to_1(*p, in, out);
  CHECK(out[0] == -40);
  CHECK(out[1] == -40);
  CHECK(out[2] == 10);
  CHECK(out[3] == 59);
  CHECK(out[4] == 60);
}

// --- the LUT dialect ----------------------------------------------------------------------------

TEST_CASE("logistic_lut and tanh_lut agree with the float functions to within one step") {
  QKERN_PROPERTY("every int8 input, random input quantizations", [] {
    const float s_in = std::ldexp(static_cast<float>(*rc::gen::inRange(1000, 30000)) / 1000.0f, -*rc::gen::inRange(2, 12));
    const std::int32_t zp_in = *rc::gen::inRange(-128, 128);
    const shape s = make({256});
    const auto logistic = qkern::prepare_logistic_lut({s_in, zp_in}, logistic_out, s);
    const auto tanh = qkern::prepare_tanh_lut({s_in, zp_in}, tanh_out, s);
    RC_ASSERT(logistic.ok());
    RC_ASSERT(tanh.ok());
    std::int8_t in[256];
    for (int i = 0; i < 256; ++i) in[i] = static_cast<std::int8_t>(i - 128);
    std::int8_t out_logistic[256];
    std::int8_t out_tanh[256];
    qkern::logistic_lut(*logistic, in, out_logistic);
    qkern::tanh_lut(*tanh, in, out_tanh);
    for (int i = 0; i < 256; ++i) {
      const double x = static_cast<double>(s_in) * (in[i] - zp_in);
      const double logistic_steps = 256.0 / (1.0 + std::exp(-x)) - 128.0;  // in output units
      const double tanh_steps = 128.0 * std::tanh(x);
      RC_ASSERT(std::fabs(out_logistic[i] - logistic_steps) <= 1.0);
      RC_ASSERT(std::fabs(out_tanh[i] - tanh_steps) <= 1.0);
    }
  });
}

TEST_CASE("the LUT dialect and TFLite Micro's fixed-point dialect differ by at most one step") {
  QKERN_PROPERTY("every int8 input, input scales up to 1", [] {
    const float s_in = std::ldexp(static_cast<float>(*rc::gen::inRange(1000, 30000)) / 1000.0f, -*rc::gen::inRange(5, 12));
    const std::int32_t zp_in = *rc::gen::inRange(-128, 128);
    const shape s = make({1});
    const auto lut_logistic = qkern::prepare_logistic_lut({s_in, zp_in}, logistic_out, s).value();
    const auto lut_tanh = qkern::prepare_tanh_lut({s_in, zp_in}, tanh_out, s).value();
    const auto fixed_logistic = qkern::prepare_logistic<std::int8_t>({s_in, zp_in}, logistic_out, s).value();
    const auto fixed_tanh = qkern::prepare_tanh<std::int8_t>({s_in, zp_in}, tanh_out, s).value();
    for (int q = -128; q <= 127; ++q) {
      const auto x = static_cast<std::int8_t>(q);
      RC_ASSERT(std::abs(qkern::int8_lut_element(lut_logistic, x) - qkern::logistic_element(fixed_logistic, x)) <= 1);
      RC_ASSERT(std::abs(qkern::int8_lut_element(lut_tanh, x) - qkern::tanh_element(fixed_tanh, x)) <= 1);
    }
  });
  // Coarse input scales are where they part: the fixed-point kernel saturates from
  // |q - zp| >= floor(15 · mantissa / s_in), real values from about 7.5 - s_in up. With s_in = 4 the
  // first step (real 4.0, logistic 0.982) already saturates; the LUT gives round(0.982 · 256).
  const auto lut = qkern::prepare_logistic_lut({4.0f, 0}, logistic_out, make({1})).value();
  const auto fixed = qkern::prepare_logistic<std::int8_t>({4.0f, 0}, logistic_out, make({1})).value();
  CHECK(fixed.input_range_radius == 1);
  CHECK(qkern::logistic_element(fixed, std::int8_t{1}) == 127);
  CHECK(qkern::int8_lut_element(lut, std::int8_t{1}) == 123);
}

TEST_CASE("LUT prepare requires the fixed output quantizations") {
  CHECK(error_text(qkern::prepare_logistic_lut({0.1f, 0}, {1.0f / 256.0f, 0}, make({1}))) ==
        "output: logistic output zero point must be -128 (got 0)");
  CHECK(error_text(qkern::prepare_tanh_lut({0.1f, 0}, {1.0f / 64.0f, 0}, make({1}))) ==
        "output: tanh output scale must be 1/128");
  CHECK(qkern::prepare_tanh_lut({not_a_number, 0}, tanh_out, make({1})).error().code() == status_code::invalid_scale);
}

// --- hard_swish's 16-bit helpers are gemmlowp's -------------------------------------------------

TEST_CASE("hard_swish's int16 helpers match gemmlowp and TFLite") {
  int failures = 0;
  for (int x = -32768; x <= 32767; ++x) {
    const auto v = static_cast<std::int16_t>(x);
    for (int e = 0; e <= 31; ++e) {
      failures += qkern::detail::rounding_divide_by_pot_as_gemmlowp_int16(v, e) == gemmlowp::RoundingDivideByPOT(v, e) ? 0 : 1;
    }
    for (int e = 0; e <= 14; ++e) {
      failures += qkern::detail::shift_left_saturating(v, e) == gemmlowp::ShiftLeft(v, e) ? 0 : 1;
    }
  }
  CHECK(failures == 0);
  QKERN_PROPERTY("the truncating doubling high multiply", [](std::int16_t a, std::int16_t b) {
    const std::int32_t expected = (a == -32768 && b == -32768) ? 32767 : (std::int32_t{a} * b) / 32768;
    RC_ASSERT(qkern::detail::saturating_doubling_high_mul(a, b) == expected);
  });
  CHECK(qkern::detail::downscale_multiplier_to_int16(std::numeric_limits<std::int32_t>::max()) == 32767);
  CHECK(qkern::detail::downscale_multiplier_to_int16(1 << 30) == 16384);
  CHECK(qkern::detail::downscale_multiplier_to_int16((1 << 30) + (1 << 15)) == 16385);
}

TEST_CASE("hard_swish follows x · relu6(x + 3) / 6 to within a few steps") {
  QKERN_PROPERTY("every int8 input", [] {
    const float s_in = std::ldexp(static_cast<float>(*rc::gen::inRange(1000, 30000)) / 1000.0f, -*rc::gen::inRange(3, 8));
    const std::int32_t zp_in = *rc::gen::inRange(-128, 128);
    const float s_out = s_in * (static_cast<float>(*rc::gen::inRange(500, 2000)) / 1000.0f);
    const std::int32_t zp_out = *rc::gen::inRange(-128, 128);
    const auto p = qkern::prepare_hard_swish<std::int8_t>({s_in, zp_in}, {s_out, zp_out}, make({1}));
    RC_ASSERT(p.ok());
    for (int q = -128; q <= 127; ++q) {
      const double x = static_cast<double>(s_in) * (q - zp_in);
      const double y = x * std::min(6.0, std::max(0.0, x + 3.0)) / 6.0;
      const double expected = std::min(127.0, std::max(-128.0, zp_out + y / s_out));
      RC_ASSERT(std::fabs(qkern::hard_swish_element(*p, static_cast<std::int8_t>(q)) - expected) <= 3.0);
    }
  });
}

// --- the shipped tables -------------------------------------------------------------------------

namespace {

// The float32 recipe of softmax_int16_luts.hpp, written out.
template <class Function>
std::vector<std::int16_t> int16_lut_from_recipe(Function f, float lo, float hi) {
  std::vector<std::int16_t> lut(513);
  const float step = (hi - lo) / 512.0f;
  const float half_step = step / 2.0f;
  const auto q15 = [](float v) { return std::min(std::max(v, -32768.0f), 32767.0f); };
  for (int i = 0; i < 512; ++i) {
    const float x = lo + static_cast<float>(i) * step;
    const float sample = std::round(f(x) * 32768.0f);
    const float midpoint = std::round(f(x + half_step) * 32768.0f);
    const float next = f(lo + static_cast<float>(i + 1) * step) * 32768.0f;
    const float interpolated = std::round((next + sample) / 2.0f);
    const float bias = std::round((interpolated - midpoint) / 2.0f);
    lut[static_cast<std::size_t>(i)] = static_cast<std::int16_t>(q15(sample - bias));
  }
  lut[512] = static_cast<std::int16_t>(q15(std::round(f(hi) * 32768.0f)));
  return lut;
}

}  // namespace

TEST_CASE("softmax_int16's LUTs are their float32 recipe") {
#if defined(__GLIBC__)
  const auto exp_lut = int16_lut_from_recipe([](float x) { return std::exp(x); }, -10.0f, 0.0f);
  const auto reciprocal_lut = int16_lut_from_recipe([](float x) { return 1.0f / (1.0f + x); }, 0.0f, 1.0f);
  CHECK(std::equal(exp_lut.begin(), exp_lut.end(), qkern::softmax_int16_exp_lut));
  CHECK(std::equal(reciprocal_lut.begin(), reciprocal_lut.end(), qkern::softmax_int16_one_over_one_plus_x_lut));
#else
  MESSAGE("not glibc: expf may differ in the last bit, the recipe is not compared");
#endif
  // Whatever the C library, the tables are what they say to within a step or two.
  for (int i = 0; i <= 512; ++i) {
    const double exp = std::exp(-10.0 + i * 10.0 / 512.0) * 32768.0;
    const double reciprocal = 1.0 / (1.0 + i / 512.0) * 32768.0;
    CHECK(std::fabs(qkern::softmax_int16_exp_lut[i] - std::min(exp, 32767.0)) <= 2.0);
    CHECK(std::fabs(qkern::softmax_int16_one_over_one_plus_x_lut[i] - std::min(reciprocal, 32767.0)) <= 2.0);
  }
}

namespace {

std::string golden_folder() {
  if (const char* env = std::getenv("QKERN_GOLDEN_DIR"); env != nullptr && *env != '\0') return env;
  const std::string here = __FILE__;  // <repo>/tests/kernels/test_activation.cpp
  const std::string repo = here.substr(0, here.rfind("/tests/kernels/"));
  return repo + "/../shared/golden";
}

// One golden output of the int16 logistic/tanh: the rescaled input and the expected output.
struct table_sample {
  bool is_tanh;
  std::int32_t x;
  std::int16_t expected;
};

std::int16_t evaluate(const table_sample& s, const std::uint16_t* table) {
  return s.is_tanh ? qkern::detail::tanh_from_sigmoid_table(table, s.x)
                   : qkern::detail::logistic_from_sigmoid_table(table, s.x);
}

// Which table entries an output reads (index and index + 1), or none when it saturates.
int first_entry(const table_sample& s) {
  const auto magnitude = static_cast<std::uint32_t>(s.x < 0 ? -s.x : s.x);
  const std::uint32_t index = magnitude >> (s.is_tanh ? 8 : 9);
  return index >= 255 ? -1 : static_cast<int>(index);
}

bool read_table_samples(std::vector<table_sample>& samples) {
  for (const char* op : {"logistic_int16", "tanh_int16"}) {
    std::ifstream file(golden_folder() + "/" + op + ".double.jsonl");
    if (!file) return false;
    const bool is_tanh = std::string(op) == "tanh_int16";
    std::string line;
    while (std::getline(file, line)) {
      const auto c = nlohmann::json::parse(line);
      const qkern::detail::sigmoid_table_input_rescale derived{c.at("derived").at("input_multiplier").get<std::int32_t>(),
                                                               c.at("derived").at("input_left_shift").get<int>()};
      const auto r = qkern::detail::effective_sigmoid_table_rescale(derived);
      const auto in = c.at("inputs").at(0).at("data").get<std::vector<std::int16_t>>();
      const auto out = c.at("output").at("data").get<std::vector<std::int16_t>>();
      for (std::size_t i = 0; i < in.size(); ++i) {
        samples.push_back({is_tanh, qkern::detail::sigmoid_table_rescaled_input(in[i], r.input_multiplier, r.input_left_shift),
                           out[i]});
      }
    }
  }
  return true;
}

}  // namespace

// The table is not a plain rounding of sigmoid(i/24), so it is shipped as constants. This shows
// they are forced by TFLite Micro's outputs: with the shipped table every golden output of
// logistic_int16 and tanh_int16 is reproduced, and changing any single entry by +1 or -1 breaks
// at least one of them. An output is non-decreasing in each entry it reads (for x >= 0; the
// mirror for x < 0), so a change by more than one breaks that output too: every entry is the
// only value consistent with the golden data, given the others.
TEST_CASE("int16 sigmoid table is what the golden data implies") {
  std::vector<table_sample> samples;
  if (!read_table_samples(samples)) {
    MESSAGE("golden folder " << golden_folder() << " not found: table proof skipped");
    return;
  }
  std::vector<std::vector<std::size_t>> readers(256);  // samples reading each entry
  int mismatches = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    mismatches += evaluate(samples[i], qkern::sigmoid_table_q0_16) == samples[i].expected ? 0 : 1;
    const int k = first_entry(samples[i]);
    if (k >= 0) {
      readers[static_cast<std::size_t>(k)].push_back(i);
      readers[static_cast<std::size_t>(k) + 1].push_back(i);
    }
  }
  CHECK(samples.size() > 50000);
  CHECK(mismatches == 0);

  int free_entries = 0;
  std::array<std::uint16_t, 256> table{};
  std::copy(qkern::sigmoid_table_q0_16, qkern::sigmoid_table_q0_16 + 256, table.begin());
  for (std::size_t k = 0; k < 256; ++k) {
    for (int delta : {-1, +1}) {
      const std::uint16_t kept = table[k];
      if (kept + delta < 0 || kept + delta > 65535) continue;
      table[k] = static_cast<std::uint16_t>(kept + delta);
      const bool contradicted = std::any_of(readers[k].begin(), readers[k].end(), [&](std::size_t i) {
        return evaluate(samples[i], table.data()) != samples[i].expected;
      });
      table[k] = kept;
      if (!contradicted) {
        ++free_entries;
        MESSAGE("entry " << k << " could be " << kept + delta);
      }
    }
  }
  CHECK(free_entries == 0);
}
