// Kernels with weights: prepare rejects bad parameters with a clear message (scales, zero points,
// strides, shapes, groups, multiplier storage, accumulator overflow just inside and just outside
// the bound), and conv2d equals a naive reference written straight from the definition on random
// small shapes (the seed of the SIMD == scalar properties).
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "qkern/kernels/conv.hpp"
#include "support/property.hpp"
#include "support/status_text.hpp"

using qkern::double_rounding;
using qkern::fused_activation;
using qkern::padding_kind;
using qkern::per_channel_quantization;
using qkern::quantization_params;
using qkern::quantized_multiplier;
using qkern::shape;
using qkern::single_rounding;
using qkern::status_code;

using qkern_test::make;
using qkern_test::text;
using qkern_test::error_text;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

const float one_scale[1] = {0.01f};
constexpr per_channel_quantization per_tensor_weights{one_scale, 1, 0, 0};

// --- constant expressions -----------------------------------------------------------------------

constexpr std::array<std::int8_t, 4> conv_at_compile_time() {
  const float scales[1] = {0.5f};
  const per_channel_quantization filter{scales, 1, 0, 0};
  quantized_multiplier multipliers[1];
  const std::int32_t bias[1] = {-2};
  // s_in · s_w / s_out = 0.5 · 0.5 / 0.25 = 1: out = x · 3 - 2.
  const auto p = qkern::prepare_conv2d<std::int8_t>({0.5f, 0}, qkern::make_shape({1, 2, 2, 1}).value(), filter,
                                                    qkern::make_shape({1, 1, 1, 1}).value(), bias, {0.25f, 0}, {},
                                                    multipliers)
                     .value();
  const std::int8_t input[4] = {1, 2, 3, 50};
  const std::int8_t weights[1] = {3};
  std::array<std::int8_t, 4> out{};
  qkern::conv2d(p, input, weights, bias, out.data());
  return out;
}
static_assert(conv_at_compile_time()[0] == 1 && conv_at_compile_time()[2] == 7 && conv_at_compile_time()[3] == 127,
              "prepare and eval run in constant expressions");

static_assert(qkern::compute_axis_window(padding_kind::same, 5, 3, 2, 1, "w").value().output_size == 3, "");
static_assert(qkern::compute_axis_window(padding_kind::same, 5, 3, 2, 1, "w").value().padding == 1, "");
static_assert(qkern::compute_axis_window(padding_kind::same, 6, 3, 2, 1, "w").value().padding == 0, "");
static_assert(qkern::compute_axis_window(padding_kind::same, 6, 3, 2, 1, "w").value().padding_offset == 1, "");
static_assert(qkern::compute_axis_window(padding_kind::valid, 7, 3, 2, 2, "w").value().output_size == 2, "");
static_assert(qkern::compute_axis_window(padding_kind::same, 7, 3, 1, 2, "w").value().padding == 2, "");

}  // namespace

// --- padding ----------------------------------------------------------------------------------------

TEST_CASE("output sizes and padding follow TFLite's ComputeOutSize and ComputePaddingWithOffset") {
  struct row {
    padding_kind padding;
    std::int32_t in, k, stride, dilation, out, pad, offset;
  };
  const row rows[] = {
      {padding_kind::same, 12, 3, 2, 2, 6, 1, 1},   // eff 5: total (6-1)*2 + 5 - 12 = 3
      {padding_kind::same, 5, 3, 2, 2, 3, 2, 0},    // total 4
      {padding_kind::same, 4, 4, 1, 1, 4, 1, 1},    // even filter: the odd pixel goes after
      {padding_kind::same, 1, 5, 1, 1, 1, 2, 0},    // a window larger than the input
      {padding_kind::valid, 10, 3, 1, 1, 8, 0, 0},  //
      {padding_kind::valid, 10, 3, 3, 1, 3, 0, 0},  // ceil((10 - 3 + 1) / 3) = 3
      {padding_kind::valid, 9, 3, 2, 3, 2, 0, 0},   // eff 7: ceil(3 / 2) = 2
      {padding_kind::valid, 7, 7, 1, 1, 1, 0, 0},
  };
  for (const row& r : rows) {
    CAPTURE(r.in);
    CAPTURE(r.k);
    const auto w = qkern::compute_axis_window(r.padding, r.in, r.k, r.stride, r.dilation, "width");
    REQUIRE(w.ok());
    CHECK(w->output_size == r.out);
    CHECK(w->padding == r.pad);
    CHECK(w->padding_offset == r.offset);
  }
  CHECK(error_text(qkern::compute_axis_window(padding_kind::valid, 4, 3, 1, 2, "height")) ==
        "height: VALID padding leaves no output: the dilated filter is larger than the input (got 5)");
  CHECK(error_text(qkern::compute_axis_window(padding_kind::same, 4, 3, 0, 1, "height")) ==
        "height: stride must be positive (got 0)");
  CHECK(error_text(qkern::compute_axis_window(padding_kind::same, 4, 3, 1, -1, "width")) ==
        "width: dilation must be positive (got -1)");
}

// --- prepare: errors ---------------------------------------------------------------------------------

TEST_CASE("prepares reject bad scales naming the tensor") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const shape in = make({1, 4, 4, 2});
  const shape filter = make({3, 3, 3, 2});
  const shape dw_filter = make({1, 3, 3, 2});
  quantized_multiplier m[8];
  for (float bad : {nan, 0.0f, -0.5f, std::numeric_limits<float>::infinity()}) {
    CAPTURE(bad);
    const quantization_params ok{0.5f, 1};
    CHECK(starts_with(error_text(qkern::prepare_conv2d<std::int8_t>({bad, 0}, in, per_tensor_weights, filter, nullptr,
                                                                    ok, {}, m)),
                      "input: scale"));
    CHECK(starts_with(error_text(qkern::prepare_conv2d<std::int8_t>(ok, in, per_tensor_weights, filter, nullptr,
                                                                    {bad, 0}, {}, m)),
                      "output: scale"));
    CHECK(starts_with(error_text(qkern::prepare_depthwise_conv2d<std::int8_t>({bad, 0}, in, per_tensor_weights,
                                                                              dw_filter, nullptr, ok, {}, m)),
                      "input: scale"));
    CHECK(starts_with(error_text(qkern::prepare_fully_connected<std::int16_t>({bad, 0}, make({2, 8}),
                                                                              per_tensor_weights, make({3, 8}),
                                                                              nullptr, {0.5f, 0})),
                      "input: scale"));
    CHECK(starts_with(error_text(qkern::prepare_batch_matmul<std::int8_t>(ok, make({2, 3}), {bad, 0}, make({3, 2}),
                                                                          ok)),
                      "rhs: scale"));
    const float bad_scales[3] = {0.01f, bad, 0.02f};
    const per_channel_quantization bad_filter{bad_scales, 3, 0, 0};
    const auto r = qkern::prepare_conv2d<std::int8_t>(ok, in, bad_filter, filter, nullptr, ok, {}, m);
    CHECK(r.error().code() == status_code::invalid_scale);
    CHECK(starts_with(error_text(r), "filter: scale"));
  }
  const float two[2] = {0.1f, 0.2f};
  CHECK(error_text(qkern::prepare_conv2d<std::int8_t>({0.5f, 0}, in, {two, 2, 0, 0}, filter, nullptr, {0.5f, 0},
                                                      {}, m)) ==
        "filter: per-channel scale count differs from the channel count (got 2)");
  const float three[3] = {0.1f, 0.2f, 0.3f};
  CHECK(error_text(qkern::prepare_conv2d<std::int8_t>({0.5f, 0}, in, {three, 3, 0, 3}, filter, nullptr, {0.5f, 0},
                                                      {}, m)) ==
        "filter: per-channel scales must be along the output channel axis (got 3)");
}

TEST_CASE("prepares reject zero points: out of range, non-zero for int16 activations or for weights") {
  const shape in = make({1, 4, 4, 2});
  const shape filter = make({2, 1, 1, 2});
  quantized_multiplier m[4];
  CHECK(error_text(qkern::prepare_conv2d<std::int8_t>({0.5f, 128}, in, per_tensor_weights, filter, nullptr,
                                                      {0.5f, 0}, {}, m)) ==
        "input: zero point is outside the range of the element type (got 128)");
  CHECK(error_text(qkern::prepare_conv2d<std::int16_t>({0.5f, 3}, in, per_tensor_weights, filter, nullptr, {0.5f, 0},
                                                       {}, m)) == "input: int16 tensors must have zero point 0 (got 3)");
  CHECK(error_text(qkern::prepare_fully_connected<std::int16_t, single_rounding, std::int32_t>(
            {0.5f, 0}, make({1, 2}), per_tensor_weights, make({2, 2}), nullptr, {0.5f, -1})) ==
        "output: int16 tensors must have zero point 0 (got -1)");
  const per_channel_quantization asymmetric{one_scale, 1, 5, 0};
  const auto r = qkern::prepare_depthwise_conv2d<std::int8_t>({0.5f, 0}, in, asymmetric, make({1, 1, 1, 2}), nullptr,
                                                              {0.5f, 0}, {}, m);
  CHECK(r.error().code() == status_code::unsupported_parameter);
  CHECK(error_text(r) == "filter: weights must be symmetric (zero point 0) (got 5)");
  CHECK(error_text(qkern::prepare_transpose_conv2d<std::int8_t>({0.5f, 0}, in, {one_scale, 1, -1, 0},
                                                                make({2, 1, 1, 2}), nullptr, {0.5f, 0},
                                                                make({1, 4, 4, 2}), {}, m)) ==
        "filter: weights must be symmetric (zero point 0) (got -1)");
  CHECK(error_text(qkern::prepare_batch_matmul<std::int8_t>({0.5f, 0}, make({2, 2}), {0.5f, -129}, make({2, 2}),
                                                            {0.5f, 0})) ==
        "rhs: zero point is outside the range of the element type (got -129)");
  // int8 activations and batch_matmul operands take any zero point.
  CHECK(qkern::prepare_conv2d<std::int8_t>({0.5f, -128}, in, per_tensor_weights, filter, nullptr, {0.5f, 127}, {}, m)
            .ok());
  CHECK(qkern::prepare_batch_matmul<std::int8_t>({0.5f, 7}, make({2, 2}), {0.5f, -9}, make({2, 2}), {0.5f, 1}).ok());
}

TEST_CASE("prepares reject strides, dilations and depth multipliers below 1") {
  const shape in = make({1, 5, 5, 2});
  quantized_multiplier m[4];
  const quantization_params q{0.5f, 0};
  qkern::conv2d_options options;
  options.stride_width = 0;
  const auto r = qkern::prepare_conv2d<std::int8_t>(q, in, per_tensor_weights, make({2, 3, 3, 2}), nullptr, q,
                                                    options, m);
  CHECK(r.error().code() == status_code::invalid_argument);
  CHECK(error_text(r) == "width: stride must be positive (got 0)");
  options = {};
  options.dilation_height = 0;
  CHECK(error_text(qkern::prepare_conv2d<std::int8_t>(q, in, per_tensor_weights, make({2, 3, 3, 2}), nullptr, q,
                                                      options, m)) == "height: dilation must be positive (got 0)");

  qkern::depthwise_conv2d_options dw;
  dw.stride_height = 0;
  CHECK(error_text(qkern::prepare_depthwise_conv2d<std::int8_t>(q, in, per_tensor_weights, make({1, 3, 3, 2}),
                                                                nullptr, q, dw, m)) ==
        "height: stride must be positive (got 0)");
  dw = {};
  dw.depth_multiplier = 0;
  CHECK(error_text(qkern::prepare_depthwise_conv2d<std::int8_t>(q, in, per_tensor_weights, make({1, 3, 3, 2}),
                                                                nullptr, q, dw, m)) ==
        "depth_multiplier: must be positive (got 0)");

  qkern::transpose_conv2d_options tc;
  tc.stride_width = 0;
  CHECK(error_text(qkern::prepare_transpose_conv2d<std::int8_t>(q, in, per_tensor_weights, make({2, 3, 3, 2}),
                                                                nullptr, q, make({1, 5, 5, 2}), tc, m)) ==
        "width: stride must be positive (got 0)");
}

TEST_CASE("prepares reject inconsistent shapes: ranks, channels, groups, depth multiplier") {
  const quantization_params q{0.5f, 0};
  quantized_multiplier m[16];
  // rank 4 where required
  CHECK(error_text(qkern::prepare_conv2d<std::int8_t>(q, make({4, 4, 2}), per_tensor_weights, make({2, 1, 1, 2}),
                                                      nullptr, q, {}, m)) == "input: must have rank 4 (got 3)");
  CHECK(error_text(qkern::prepare_depthwise_conv2d<std::int8_t>(q, make({1, 4, 4, 2}), per_tensor_weights,
                                                                make({3, 3, 2}), nullptr, q, {}, m)) ==
        "filter: must have rank 4 (got 3)");
  CHECK(error_text(qkern::prepare_conv2d<std::int8_t>(q, make({1, 0, 4, 2}), per_tensor_weights, make({2, 1, 1, 2}),
                                                      nullptr, q, {}, m)) ==
        "input: every extent must be positive (got 0)");
  // groups: C_in = 6 with filter depth 4 is no whole number of groups
  const auto groups = qkern::prepare_conv2d<std::int8_t>(q, make({1, 4, 4, 6}), per_tensor_weights,
                                                         make({2, 1, 1, 4}), nullptr, q, {}, m);
  CHECK(groups.error().code() == status_code::invalid_shape);
  CHECK(error_text(groups) == "filter: input channels must be a multiple of the filter depth (C_in / groups) (got 4)");
  // 2 groups of 3 input channels, but 3 output channels do not split into 2 groups
  CHECK(error_text(qkern::prepare_conv2d<std::int8_t>(q, make({1, 4, 4, 6}), per_tensor_weights, make({3, 1, 1, 3}),
                                                      nullptr, q, {}, m)) ==
        "filter: output channels must be a multiple of the group count (got 3)");
  const auto grouped = qkern::prepare_conv2d<std::int8_t>(q, make({1, 4, 4, 6}), per_tensor_weights,
                                                          make({4, 1, 1, 3}), nullptr, q, {}, m);
  REQUIRE(grouped.ok());
  CHECK(grouped->groups == 2);
  // depthwise: filter [1, KH, KW, C_in * multiplier]
  qkern::depthwise_conv2d_options dw;
  dw.depth_multiplier = 2;
  CHECK(error_text(qkern::prepare_depthwise_conv2d<std::int8_t>(q, make({1, 4, 4, 3}), per_tensor_weights,
                                                                make({1, 3, 3, 5}), nullptr, q, dw, m)) ==
        "filter: filter depth must equal input channels * depth_multiplier (got 5)");
  CHECK(error_text(qkern::prepare_depthwise_conv2d<std::int8_t>(q, make({1, 4, 4, 3}), per_tensor_weights,
                                                                make({2, 3, 3, 6}), nullptr, q, dw, m)) ==
        "filter: depthwise filters are [1, KH, KW, C_in * depth_multiplier] (got 2)");
  CHECK(qkern::prepare_depthwise_conv2d<std::int8_t>(q, make({1, 4, 4, 3}), per_tensor_weights, make({1, 3, 3, 6}),
                                                     nullptr, q, dw, m)
            ->output_shape == make({1, 2, 2, 6}));
  // VALID with a window larger than the input
  CHECK(error_text(qkern::prepare_conv2d<std::int8_t>(q, make({1, 2, 8, 1}), per_tensor_weights, make({1, 3, 3, 1}),
                                                      nullptr, q, {}, m)) ==
        "height: VALID padding leaves no output: the dilated filter is larger than the input (got 3)");
  // fully connected
  CHECK(error_text(qkern::prepare_fully_connected<std::int8_t>(q, make({3, 7}), per_tensor_weights, make({4, 5}),
                                                               nullptr, q)) ==
        "input: element count must be a positive multiple of the weights' depth (got 21)");
  CHECK(error_text(qkern::prepare_fully_connected<std::int8_t>(q, make({3, 5}), per_tensor_weights, make({4, 5, 1}),
                                                               nullptr, q)) == "filter: must have rank 2 (got 3)");
  const auto fc = qkern::prepare_fully_connected<std::int8_t>(q, make({2, 3, 10}), per_tensor_weights, make({4, 5}),
                                                              nullptr, q);
  REQUIRE(fc.ok());
  CHECK(fc->output_shape == make({12, 4}));
  qkern::fully_connected_options keep;
  keep.keep_num_dims = true;
  CHECK(qkern::prepare_fully_connected<std::int8_t>(q, make({2, 3, 5}), per_tensor_weights, make({4, 5}), nullptr, q,
                                                    keep)
            ->output_shape == make({2, 3, 4}));
  CHECK(starts_with(error_text(qkern::prepare_fully_connected<std::int8_t>(q, make({2, 10}), per_tensor_weights,
                                                                           make({4, 5}), nullptr, q, keep)),
                    "input: with keep_num_dims the last extent must equal the weights' depth"));
  // transpose conv: a forward conv of the output must give back the input's H and W
  qkern::transpose_conv2d_options tc{padding_kind::same, 2, 2, fused_activation::none};
  CHECK(qkern::prepare_transpose_conv2d<std::int8_t>(q, make({1, 4, 4, 2}), per_tensor_weights, make({3, 3, 3, 2}),
                                                     nullptr, q, make({1, 8, 7, 3}), tc, m)
            .ok());  // ceil(7 / 2) = 4
  CHECK(error_text(qkern::prepare_transpose_conv2d<std::int8_t>(q, make({1, 4, 4, 2}), per_tensor_weights,
                                                                make({3, 3, 3, 2}), nullptr, q, make({1, 8, 10, 3}),
                                                                tc, m)) ==
        "output: a forward conv with this filter, stride and padding does not map the output's height and width "
        "back to the input's (got 10)");
  CHECK(error_text(qkern::prepare_transpose_conv2d<std::int8_t>(q, make({1, 4, 4, 2}), per_tensor_weights,
                                                                make({3, 3, 3, 2}), nullptr, q, make({1, 8, 8, 2}),
                                                                tc, m)) ==
        "output: output channels must equal the filter's output channels (got 2)");
  // batch matmul
  CHECK(error_text(qkern::prepare_batch_matmul<std::int8_t>(q, make({2, 3, 4}), q, make({5, 2}), q)) ==
        "rhs: depth (K) differs from lhs's (got 5)");
  CHECK(error_text(qkern::prepare_batch_matmul<std::int8_t>(q, make({2, 3, 4}), q, make({3, 4, 2}), q)) ==
        "lhs and rhs: batch extents differ and neither is 1 (got 3)");
  CHECK(error_text(qkern::prepare_batch_matmul<std::int8_t>(q, make({4}), q, make({4, 2}), q)) ==
        "lhs: rank must be at least 2 (got 1)");
  const auto bmm = qkern::prepare_batch_matmul<std::int8_t>(q, make({2, 1, 3, 4}), q, make({5, 2, 3}), q, {true, true});
  REQUIRE(bmm.ok());
  CHECK(bmm->output_shape == make({2, 5, 4, 2}));  // adj_x: M = 4; adj_y: N = 2, K = 3
}

TEST_CASE("multiplier storage must hold one entry per output channel") {
  const quantization_params q{0.5f, 0};
  quantized_multiplier three[3];
  const auto r = qkern::prepare_conv2d<std::int8_t>(q, make({1, 4, 4, 2}), per_tensor_weights, make({4, 1, 1, 2}),
                                                    nullptr, q, {}, three);
  CHECK(r.error().code() == status_code::buffer_too_small);
  CHECK(error_text(r) == "multipliers: multiplier storage needs one entry per output channel (got 4)");
  CHECK(qkern::prepare_conv2d<std::int8_t>(q, make({1, 4, 4, 2}), per_tensor_weights, make({3, 1, 1, 2}), nullptr, q,
                                           {}, three)
            .ok());
  // A per-tensor fully connected op keeps its one multiplier in the params: no storage needed.
  CHECK(qkern::prepare_fully_connected<std::int8_t>(q, make({1, 2}), per_tensor_weights, make({4, 2}), nullptr, q)
            .ok());
  const float scales[4] = {0.1f, 0.2f, 0.3f, 0.4f};
  CHECK(qkern::prepare_fully_connected<std::int8_t>(q, make({1, 2}), {scales, 4, 0, 0}, make({4, 2}), nullptr, q)
            .error()
            .code() == status_code::buffer_too_small);
}

TEST_CASE("transpose_conv2d reports its scratch size and refuses a smaller buffer") {
  const quantization_params q{0.5f, 0};
  quantized_multiplier m[3];
  qkern::transpose_conv2d_options tc{padding_kind::valid, 2, 2, fused_activation::none};
  const auto p = qkern::prepare_transpose_conv2d<std::int8_t>(q, make({2, 2, 2, 1}), per_tensor_weights,
                                                              make({3, 3, 3, 1}), nullptr, q, make({2, 5, 5, 3}), tc,
                                                              m);
  REQUIRE(p.ok());
  CHECK(p->scratch_count == 5 * 5 * 3);  // one batch of int32 accumulators
  std::vector<std::int8_t> input(8, 1);
  std::vector<std::int8_t> filter(27, 1);
  std::vector<std::int8_t> output(150, 0);
  std::vector<std::int32_t> scratch(p->scratch_count - 1);
  const auto s = qkern::transpose_conv2d(*p, input.data(), filter.data(), nullptr, output.data(),
                                         {scratch.data(), scratch.size()});
  CHECK(s.code() == status_code::buffer_too_small);
  CHECK(text(s) == "scratch: transpose_conv2d needs params.scratch_count int32 values (got 74)");
  scratch.resize(p->scratch_count);
  CHECK(qkern::transpose_conv2d(*p, input.data(), filter.data(), nullptr, output.data(),
                                {scratch.data(), scratch.size()})
            .ok());
  // real multiplier 0.5 · 0.01 / 0.5 = 0.01: the centre pixel of a 2x2 -> 5x5 stride-2 scatter
  // with a 3x3 all-ones filter gathers 4 inputs, so 4 · 0.01 rounds to 0, never above 1.
  for (std::int8_t v : output) CHECK(v == 0);
}

// --- accumulator overflow ------------------------------------------------------------------------------

TEST_CASE("int8 fully_connected: taps * 255 * 128 + max|bias| <= 2^31 - 1, just inside and just outside") {
  // Input zero point -128 gives max|x + input_offset| = 255; 65793 taps · 255 · 128 = 2^31 - 1 - 127.
  const quantization_params in{0.5f, -128};
  const quantization_params out{0.5f, 0};
  const shape input = make({1, 65793});
  const shape weights = make({1, 65793});
  const std::int32_t inside[1] = {127};
  const std::int32_t outside[1] = {128};
  const std::int32_t outside_negative[1] = {-128};
  CHECK(qkern::prepare_fully_connected<std::int8_t>(in, input, per_tensor_weights, weights, inside, out).ok());
  const auto r = qkern::prepare_fully_connected<std::int8_t>(in, input, per_tensor_weights, weights, outside, out);
  CHECK(r.error().code() == status_code::overflow);
  CHECK(error_text(r) ==
        "accumulator: could overflow: taps * max|input + input_offset| * max|weight| + max|bias| must not exceed "
        "2^31 - 1 for the int32 accumulator (got 2147483648)");
  CHECK_FALSE(
      qkern::prepare_fully_connected<std::int8_t>(in, input, per_tensor_weights, weights, outside_negative, out).ok());
  // The bound follows the zero point: with zero point 0, max|x| is 128 and far more taps fit.
  CHECK(qkern::prepare_fully_connected<std::int8_t>({0.5f, 0}, make({1, 131071}), per_tensor_weights,
                                                    make({1, 131071}), nullptr, out)
            .ok());  // 131071 · 128 · 128 = 2^31 - 2^14
  CHECK_FALSE(qkern::prepare_fully_connected<std::int8_t>({0.5f, 0}, make({1, 131072}), per_tensor_weights,
                                                          make({1, 131072}), nullptr, out)
                  .ok());
}

TEST_CASE("int8 conv2d, depthwise and transpose conv count their taps") {
  const quantization_params in{0.5f, -128};
  const quantization_params out{0.5f, 0};
  quantized_multiplier m[1];
  const std::int32_t inside[1] = {127};
  const std::int32_t outside[1] = {128};
  // conv2d: 3 · 3 · 7311 = 65799 taps is over; 1 · 1 · 65793 is the edge.
  CHECK(qkern::prepare_conv2d<std::int8_t>(in, make({1, 2, 2, 65793}), per_tensor_weights, make({1, 1, 1, 65793}),
                                           inside, out, {}, m)
            .ok());
  CHECK(qkern::prepare_conv2d<std::int8_t>(in, make({1, 2, 2, 65793}), per_tensor_weights, make({1, 1, 1, 65793}),
                                           outside, out, {}, m)
            .error()
            .code() == status_code::overflow);
  CHECK(qkern::prepare_conv2d<std::int8_t>(in, make({1, 3, 3, 7311}), per_tensor_weights, make({1, 3, 3, 7311}),
                                           nullptr, out, {}, m)
            .error()
            .code() == status_code::overflow);
  // depthwise: taps = KH · KW only.
  CHECK(qkern::prepare_depthwise_conv2d<std::int8_t>(in, make({1, 1, 65793, 1}), per_tensor_weights,
                                                     make({1, 1, 65793, 1}), inside, out, {}, m)
            .ok());
  CHECK(qkern::prepare_depthwise_conv2d<std::int8_t>(in, make({1, 1, 65793, 1}), per_tensor_weights,
                                                     make({1, 1, 65793, 1}), outside, out, {}, m)
            .error()
            .code() == status_code::overflow);
  // transpose conv: an output element gathers ceil(KH / stride) · ceil(KW / stride) · C_in inputs;
  // 3x3 stride 2 -> 4 · C_in, and 4 · 16448 = 65792 taps leaves room for a bias of 32767.
  qkern::transpose_conv2d_options tc{padding_kind::valid, 2, 2, fused_activation::none};
  const std::int32_t bias_inside[1] = {32767};
  const std::int32_t bias_outside[1] = {32768};
  CHECK(qkern::prepare_transpose_conv2d<std::int8_t>(in, make({1, 2, 2, 16448}), per_tensor_weights,
                                                     make({1, 3, 3, 16448}), bias_inside, out, make({1, 5, 5, 1}),
                                                     tc, m)
            .ok());
  CHECK(qkern::prepare_transpose_conv2d<std::int8_t>(in, make({1, 2, 2, 16448}), per_tensor_weights,
                                                     make({1, 3, 3, 16448}), bias_outside, out, make({1, 5, 5, 1}),
                                                     tc, m)
            .error()
            .code() == status_code::overflow);
}

TEST_CASE("int16x8: the int32 accumulator allows taps * 32768 * 128 + max|bias|, the int64 one 2^47") {
  const quantization_params q{0.5f, 0};
  quantized_multiplier m[2];
  // 511 taps · 2^22 = 2^31 - 1 - 4194303.
  const std::int32_t inside[2] = {-5, 4194303};
  const std::int32_t outside[2] = {-4194304, 5};
  const shape input = make({1, 1, 1, 511});
  const shape filter = make({2, 1, 1, 511});
  CHECK(qkern::prepare_conv2d<std::int16_t, double_rounding, std::int32_t>(q, input, per_tensor_weights, filter, inside,
                                                                           q, {}, m)
            .ok());
  const auto r = qkern::prepare_conv2d<std::int16_t, double_rounding, std::int32_t>(q, input, per_tensor_weights,
                                                                                    filter, outside, q, {}, m);
  CHECK(r.error().code() == status_code::overflow);
  CHECK(error_text(r) ==
        "accumulator: could overflow: taps * max|input + input_offset| * max|weight| + max|bias| must not exceed "
        "2^31 - 1 for the int32 accumulator (got 2147483648)");
  // The same filter with an int64 bias (or none: the default) is far inside 2^47.
  CHECK(qkern::prepare_conv2d<std::int16_t>(q, input, per_tensor_weights, filter, nullptr, q, {}, m).ok());
  const std::int64_t edge = (std::int64_t{1} << 47) - 1 - 511 * (std::int64_t{1} << 22);
  const std::int64_t inside64[2] = {edge, 0};
  const std::int64_t outside64[2] = {0, -(edge + 1)};
  CHECK(qkern::prepare_conv2d<std::int16_t>(q, input, per_tensor_weights, filter, inside64, q, {}, m).ok());
  const auto r64 = qkern::prepare_conv2d<std::int16_t>(q, input, per_tensor_weights, filter, outside64, q, {}, m);
  CHECK(r64.error().code() == status_code::overflow);
  CHECK(starts_with(error_text(r64), "accumulator: could overflow: taps * max|input + input_offset| * max|weight| + "
                                     "max|bias| must be below 2^47 for the int64 accumulator"));
  const std::int64_t extreme[2] = {std::numeric_limits<std::int64_t>::min(), 0};
  CHECK(qkern::prepare_fully_connected<std::int16_t>(q, make({1, 4}), per_tensor_weights, make({2, 4}), extreme, q)
            .error()
            .code() == status_code::overflow);
}

TEST_CASE("batch_matmul: K * max|lhs + lhs_offset| * max|rhs + rhs_offset| <= 2^31 - 1") {
  const quantization_params edge{0.5f, -128};  // max |q + 128| = 255
  CHECK(qkern::prepare_batch_matmul<std::int8_t>(edge, make({1, 33025}), edge, make({33025, 1}), edge).ok());
  const auto r = qkern::prepare_batch_matmul<std::int8_t>(edge, make({1, 33026}), edge, make({33026, 1}), edge);
  CHECK(r.error().code() == status_code::overflow);
  CHECK(error_text(r) ==
        "accumulator: could overflow: K * max|lhs + lhs_offset| * max|rhs + rhs_offset| must not exceed 2^31 - 1 "
        "(got 2147515650)");
}

// --- multipliers ---------------------------------------------------------------------------------------

TEST_CASE("per-channel multipliers are formed in double, per-tensor fully connected ones from a float32 product") {
  const float filter_scales[2] = {0.3f, 0.7f};
  const quantization_params in{0.1f, 0};
  const quantization_params out{0.9f, 0};
  quantized_multiplier m[2];
  const auto conv = qkern::prepare_conv2d<std::int8_t>(in, make({1, 1, 1, 1}), {filter_scales, 2, 0, 0},
                                                       make({2, 1, 1, 1}), nullptr, out, {}, m);
  REQUIRE(conv.ok());
  for (int c = 0; c < 2; ++c) {
    const double real = static_cast<double>(0.1f) * static_cast<double>(filter_scales[c]) / static_cast<double>(0.9f);
    CHECK(conv->output_multipliers[c] == qkern::quantize_multiplier(real).value());
  }
  const auto fc = qkern::prepare_fully_connected<std::int8_t>(in, make({1, 1}), {filter_scales, 1, 0, 0},
                                                              make({2, 1}), nullptr, out);
  REQUIRE(fc.ok());
  CHECK_FALSE(fc->is_per_channel);
  const double from_float = static_cast<double>(0.1f * 0.3f) / static_cast<double>(0.9f);
  CHECK(fc->output_multiplier == qkern::quantize_multiplier(from_float).value());
}

// --- property: conv2d equals the direct formula ---------------------------------------------------------

namespace {

struct conv_case {
  std::int32_t batch, height, width, groups, depth_per_group, filters_per_group;
  std::int32_t kh, kw, stride_h, stride_w, dilation_h, dilation_w;
  padding_kind padding;
  fused_activation activation;
  quantization_params input, output;
  std::vector<float> filter_scales;
  bool has_bias;
};

std::string describe(const conv_case& k) {
  std::ostringstream s;
  s << "N" << k.batch << " H" << k.height << " W" << k.width << " groups " << k.groups << " x " << k.depth_per_group
    << " in, " << k.filters_per_group << " out; filter " << k.kh << "x" << k.kw << " stride " << k.stride_h << ","
    << k.stride_w << " dilation " << k.dilation_h << "," << k.dilation_w
    << (k.padding == padding_kind::same ? " SAME" : " VALID") << " act " << static_cast<int>(k.activation)
    << " zp_in " << k.input.zero_point << " zp_out " << k.output.zero_point << " scales " << k.filter_scales.size()
    << (k.has_bias ? " bias" : " no bias");
  return s.str();
}

template <class T>
rc::Gen<conv_case> conv_cases() {
  return rc::gen::exec([] {
    conv_case k{};
    k.batch = *rc::gen::inRange(1, 4);
    k.kh = *rc::gen::element(1, 1, 3, 3, 5, 2);
    k.kw = *rc::gen::oneOf(rc::gen::just(k.kh), rc::gen::element(1, 3, 5, 2));
    k.stride_h = *rc::gen::inRange(1, 3);
    k.stride_w = *rc::gen::inRange(1, 3);
    k.dilation_h = *rc::gen::element(1, 1, 2);
    k.dilation_w = *rc::gen::element(1, 1, 2);
    k.padding = *rc::gen::element(padding_kind::same, padding_kind::valid);
    // VALID needs the dilated filter to fit the input.
    const std::int32_t min_h = k.padding == padding_kind::valid ? (k.kh - 1) * k.dilation_h + 1 : 1;
    const std::int32_t min_w = k.padding == padding_kind::valid ? (k.kw - 1) * k.dilation_w + 1 : 1;
    k.height = *rc::gen::inRange(min_h, min_h + 8);
    k.width = *rc::gen::inRange(min_w, min_w + 8);
    k.groups = *rc::gen::element(1, 1, 1, 2, 3);
    k.depth_per_group = *rc::gen::element(1, 2, 3, 5, 7);
    k.filters_per_group = *rc::gen::element(1, 2, 3, 5);
    k.activation = *rc::gen::element(fused_activation::none, fused_activation::relu, fused_activation::relu6,
                                     fused_activation::relu_n1_to_1);
    constexpr bool is_int16 = std::is_same<T, std::int16_t>::value;
    const std::int32_t zp_in = is_int16 ? 0 : *rc::gen::inRange(-128, 128);
    const std::int32_t zp_out = is_int16 ? 0 : *rc::gen::inRange(-128, 128);
    k.input = {*rc::gen::element(0.5f, 0.05f, 0.0123f, 3.0e-4f), zp_in};
    k.output = {*rc::gen::element(1.0f, 0.1f, 0.02f, 1.0e-3f, 2.5e-5f), zp_out};
    const std::int32_t channels = k.groups * k.filters_per_group;
    const bool per_channel = *rc::gen::arbitrary<bool>();
    const std::size_t scale_count = per_channel ? static_cast<std::size_t>(channels) : 1;
    for (std::size_t c = 0; c < scale_count; ++c) {
      k.filter_scales.push_back(*rc::gen::element(0.01f, 0.0031f, 4.7e-4f, 1.9e-5f));
    }
    k.has_bias = *rc::gen::element(true, true, true, false);
    return k;
  });
}

// The direct formula, independent of qkern's params: output size and padding from their
// definitions, every tap tested against the input bounds, the sum in int64.
template <class T, class Policy, class Bias>
std::vector<T> naive_conv2d(const conv_case& k, const std::vector<T>& x, const std::vector<std::int8_t>& w,
                            const std::vector<Bias>& bias) {
  const std::int32_t in_depth = k.groups * k.depth_per_group;
  const std::int32_t out_depth = k.groups * k.filters_per_group;
  const auto out_size = [&](std::int32_t in, std::int32_t f, std::int32_t s, std::int32_t d) {
    const std::int32_t eff = (f - 1) * d + 1;
    return k.padding == padding_kind::same ? (in + s - 1) / s : (in - eff) / s + 1;
  };
  const auto pad_before = [&](std::int32_t in, std::int32_t out, std::int32_t f, std::int32_t s, std::int32_t d) {
    const std::int32_t total = (out - 1) * s + (f - 1) * d + 1 - in;
    return total > 0 ? total / 2 : 0;
  };
  const std::int32_t oh = out_size(k.height, k.kh, k.stride_h, k.dilation_h);
  const std::int32_t ow = out_size(k.width, k.kw, k.stride_w, k.dilation_w);
  const std::int32_t pad_h = pad_before(k.height, oh, k.kh, k.stride_h, k.dilation_h);
  const std::int32_t pad_w = pad_before(k.width, ow, k.kw, k.stride_w, k.dilation_w);
  const auto range = qkern::make_activation_range<T>(k.activation, k.output).value();
  std::vector<T> out;
  for (std::int32_t b = 0; b < k.batch; ++b) {
    for (std::int32_t oy = 0; oy < oh; ++oy) {
      for (std::int32_t ox = 0; ox < ow; ++ox) {
        for (std::int32_t oc = 0; oc < out_depth; ++oc) {
          const std::int32_t group = oc / k.filters_per_group;
          std::int64_t acc = 0;
          for (std::int32_t fy = 0; fy < k.kh; ++fy) {
            for (std::int32_t fx = 0; fx < k.kw; ++fx) {
              for (std::int32_t ic = 0; ic < k.depth_per_group; ++ic) {
                const std::int32_t iy = oy * k.stride_h + fy * k.dilation_h - pad_h;
                const std::int32_t ix = ox * k.stride_w + fx * k.dilation_w - pad_w;
                if (iy < 0 || ix < 0 || iy >= k.height || ix >= k.width) continue;
                const std::int64_t xv =
                    x[static_cast<std::size_t>(((b * k.height + iy) * k.width + ix) * in_depth +
                                               group * k.depth_per_group + ic)];
                const std::int64_t wv =
                    w[static_cast<std::size_t>(((oc * k.kh + fy) * k.kw + fx) * k.depth_per_group + ic)];
                acc += (xv - k.input.zero_point) * wv;
              }
            }
          }
          if (!bias.empty()) acc += bias[static_cast<std::size_t>(oc)];
          const float ws = k.filter_scales.size() == 1 ? k.filter_scales[0] : k.filter_scales[static_cast<std::size_t>(oc)];
          const auto m = qkern::quantize_multiplier<Policy>(static_cast<double>(k.input.scale) *
                                                            static_cast<double>(ws) /
                                                            static_cast<double>(k.output.scale))
                             .value();
          std::int64_t v = Policy::multiply(static_cast<qkern::accumulator_t<T, Bias>>(acc), m);
          v += k.output.zero_point;
          v = v < range.min ? range.min : (v > range.max ? range.max : v);
          out.push_back(static_cast<T>(v));
        }
      }
    }
  }
  return out;
}

template <class T, class Policy, class Bias>
void conv2d_matches_naive() {
  const conv_case k = *conv_cases<T>();
  RC_LOG() << describe(k) << "\n";
  const std::int32_t in_depth = k.groups * k.depth_per_group;
  const std::int32_t out_depth = k.groups * k.filters_per_group;
  const auto input_count = static_cast<std::size_t>(k.batch * k.height * k.width * in_depth);
  const auto filter_count = static_cast<std::size_t>(out_depth * k.kh * k.kw * k.depth_per_group);
  const auto x = *rc::gen::container<std::vector<T>>(input_count, rc::gen::arbitrary<T>());
  const auto w = *rc::gen::container<std::vector<std::int8_t>>(filter_count, rc::gen::arbitrary<std::int8_t>());
  std::vector<Bias> bias;
  if (k.has_bias) {
    const Bias limit = sizeof(Bias) == 8 ? Bias{1} << 36 : Bias{1} << 20;
    bias = *rc::gen::container<std::vector<Bias>>(static_cast<std::size_t>(out_depth),
                                                  rc::gen::inRange<Bias>(-limit, limit));
  }

  qkern::conv2d_options options;
  options.padding = k.padding;
  options.stride_height = k.stride_h;
  options.stride_width = k.stride_w;
  options.dilation_height = k.dilation_h;
  options.dilation_width = k.dilation_w;
  options.activation = k.activation;
  const per_channel_quantization filter{k.filter_scales.data(), k.filter_scales.size(), 0, 0};
  std::vector<quantized_multiplier> multipliers(static_cast<std::size_t>(out_depth));
  const auto p = qkern::prepare_conv2d<T, Policy, Bias>(
      k.input, make({k.batch, k.height, k.width, in_depth}), filter,
      make({out_depth, k.kh, k.kw, k.depth_per_group}), bias.empty() ? nullptr : bias.data(), k.output, options,
      {multipliers.data(), multipliers.size()});
  RC_ASSERT(p.ok());
  RC_ASSERT(p->groups == k.groups);

  std::vector<T> out(static_cast<std::size_t>(p->output_shape.element_count()));
  qkern::conv2d(*p, x.data(), w.data(), bias.empty() ? nullptr : bias.data(), out.data());
  RC_ASSERT(out == (naive_conv2d<T, Policy, Bias>(k, x, w, bias)));
}

}  // namespace

TEST_CASE("conv2d equals the direct formula on random small shapes") {
  QKERN_PROPERTY("int8, double rounding", [] { conv2d_matches_naive<std::int8_t, double_rounding, std::int32_t>(); });
  QKERN_PROPERTY("int8, single rounding", [] { conv2d_matches_naive<std::int8_t, single_rounding, std::int32_t>(); });
  QKERN_PROPERTY("int16x8, int64 bias",
                 [] { conv2d_matches_naive<std::int16_t, double_rounding, std::int64_t>(); });
  QKERN_PROPERTY("int16x8, int32 bias, single rounding",
                 [] { conv2d_matches_naive<std::int16_t, single_rounding, std::int32_t>(); });
}
