// diagnose: why does a device's int8 output differ from the interpreter's?
//
// Given an op (fully_connected, conv2d, depthwise_conv2d, add, mul, logistic, tanh), its
// float-level parameters and inputs (an op_case), and the observed output (optionally the
// expected one too), diagnose() recomputes the op in every form qkern knows and reports which
// one reproduces the observed tensor exactly:
//   - the arithmetic dialects: double rounding (TFLite's default, TFLite Micro's reference),
//     single rounding (TFLITE_SINGLE_ROUNDING), fp32 (XNNPACK's float-scale requantization);
//     for logistic/tanh TFLite Micro's fixed-point reference and TFLite's built-in float table;
//   - the usual porting mistakes, in each dialect: a zero point added instead of subtracted (input,
//     second input, or the output's subtracted instead of added), and NHWC/NCHW swaps (the output
//     written channel-major, the expected tensor saved channel-major, the input read channel-major).
// The verdict is the first that applies of: identical, layout swap (observed is the expected
// tensor in the other layout), rounding dialect, zero-point sign error, layout swap (of a
// recomputation, or of the input), "none: not a rounding difference" (or cannot_recompute when qkern rejects the
// parameters), with an explanation of what it means and what to do. Every recomputation uses
// qkern's scalar reference kernels (qkern::scalar::<op>), the ones that are bit-exact with TFLite
// Micro's golden data.
//
//   qkern::testing::op_case op;                 // op kind, quantizations, shapes, inputs
//   op.op = qkern::testing::op_kind::fully_connected;
//   ...
//   auto d = qkern::testing::diagnose(op, observed.data(), observed.size(), expected.data());
//   if (d) std::puts(qkern::testing::format(*d).c_str());   // d->kind == verdict::rounding_dialect ...
//
// int8 activations only (int16 ops are not diagnosed yet). Host-only: uses std::vector and std::string.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "qkern/core/activation.hpp"
#include "qkern/core/broadcast.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/rounding_fp32.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/activation/logistic.hpp"
#include "qkern/kernels/activation/lut.hpp"
#include "qkern/kernels/activation/tanh.hpp"
#include "qkern/kernels/conv/conv2d.hpp"
#include "qkern/kernels/conv/depthwise_conv2d.hpp"
#include "qkern/kernels/conv/fully_connected.hpp"
#include "qkern/kernels/elementwise/add_sub.hpp"
#include "qkern/kernels/elementwise/binary_loop.hpp"
#include "qkern/kernels/elementwise/mul.hpp"
#include "qkern/testing/compare.hpp"

namespace qkern {
namespace testing {

// --- the op to recompute --------------------------------------------------------------------

enum class op_kind : std::uint8_t { fully_connected, conv2d, depthwise_conv2d, add, mul, logistic, tanh };

inline const char* op_kind_name(op_kind k) noexcept {
  switch (k) {
    case op_kind::fully_connected: return "fully_connected";
    case op_kind::conv2d: return "conv2d";
    case op_kind::depthwise_conv2d: return "depthwise_conv2d";
    case op_kind::add: return "add";
    case op_kind::mul: return "mul";
    case op_kind::logistic: return "logistic";
    case op_kind::tanh: return "tanh";
  }
  return "unknown";
}

// The op named `name` (as op_kind_name spells it); false for an unknown name.
inline bool parse_op_kind(const std::string& name, op_kind& out) noexcept {
  for (op_kind k : {op_kind::fully_connected, op_kind::conv2d, op_kind::depthwise_conv2d, op_kind::add, op_kind::mul,
                    op_kind::logistic, op_kind::tanh}) {
    if (name == op_kind_name(k)) {
      out = k;
      return true;
    }
  }
  return false;
}

// One int8 op with its float-level parameters and its inputs. Fields an op does not use are
// ignored. Layouts as qkern's kernels: NHWC activations; fully connected weights [units, depth];
// conv filters OHWI [C_out, KH, KW, C_in / groups]; depthwise filters [1, KH, KW, C_out].
struct op_case {
  op_kind op = op_kind::fully_connected;

  quantization_params input{};   // input (input1 of add/mul)
  quantization_params input2{};  // add, mul
  quantization_params output{};
  std::vector<float> filter_scales;  // one (per-tensor) or one per output channel
  std::int32_t filter_zero_point = 0;

  fused_activation activation = fused_activation::none;
  padding_kind padding = padding_kind::valid;  // conv2d, depthwise_conv2d
  std::int32_t stride_height = 1;
  std::int32_t stride_width = 1;
  std::int32_t dilation_height = 1;
  std::int32_t dilation_width = 1;
  std::int32_t depth_multiplier = 1;  // depthwise_conv2d
  bool keep_num_dims = false;         // fully_connected

  shape input_shape{};
  std::vector<std::int8_t> input_data;
  shape input2_shape{};
  std::vector<std::int8_t> input2_data;
  shape filter_shape{};
  std::vector<std::int8_t> filter_data;
  std::vector<std::int32_t> bias;  // one per output channel, or empty for none
};

// --- dialects and mistakes ------------------------------------------------------------------

enum class dialect : std::uint8_t {
  double_rounding,  // qkern::double_rounding: TFLite's default build, TFLite Micro's reference kernels
  single_rounding,  // qkern::single_rounding: TFLite built with TFLITE_SINGLE_ROUNDING
  fp32,             // qkern::fp32_scale: XNNPACK's float32 requantization
  fixed_point,      // logistic/tanh: TFLite Micro's fixed-point reference (qkern::logistic / tanh)
  lut,              // logistic/tanh: TFLite's built-in float table (qkern::logistic_lut / tanh_lut)
};

inline const char* dialect_name(dialect d) noexcept {
  switch (d) {
    case dialect::double_rounding: return "double rounding";
    case dialect::single_rounding: return "single rounding";
    case dialect::fp32: return "fp32 (XNNPACK)";
    case dialect::fixed_point: return "fixed point (TFLite Micro)";
    case dialect::lut: return "lookup table (TFLite built-in)";
  }
  return "unknown";
}

// Where the dialect comes from, for explanations.
inline const char* dialect_origin(dialect d, op_kind op) noexcept {
  switch (d) {
    case dialect::double_rounding:
      return "TFLite's default build and TFLite Micro's reference kernels (a doubling high multiply, then a "
             "rounding right shift)";
    case dialect::single_rounding:
      return "TFLite or TFLite Micro built with TFLITE_SINGLE_ROUNDING (one 64-bit multiply and one rounding shift)";
    case dialect::fp32:
      if (op == op_kind::add) {
        return "a float-scale add: both inputs rescaled in float32 and rounded to nearest even once (an "
               "XNNPACK-style form; XNNPACK's own add kernels use an integer formulation qkern does not model)";
      }
      if (op == op_kind::mul) {
        return "a float-scale mul: the product of the offsets times the float32 scale s1*s2/s_out, rounded to "
               "nearest even (XNNPACK-style fp32 requantization; not checked against XNNPACK's mul kernels)";
      }
      return "XNNPACK's fp32 requantization, as in TFLite with the XNNPACK delegate: the accumulator times a "
             "float32 scale, rounded to nearest even";
    case dialect::fixed_point:
      return "TFLite Micro's reference kernel (and TFLite's reference kernel): gemmlowp-style fixed-point arithmetic";
    case dialect::lut:
      return "TFLite's built-in optimized int8 kernel: a 256-entry table of the function computed in float";
  }
  return "";
}

// What to run to reproduce the dialect with qkern.
inline const char* dialect_remedy(dialect d, op_kind op) noexcept {
  switch (d) {
    case dialect::double_rounding: return "qkern's kernels with qkern::double_rounding (the default Policy)";
    case dialect::single_rounding: return "qkern's kernels with qkern::single_rounding";
    case dialect::fp32:
      return op == op_kind::add || op == op_kind::mul
                 ? "the float-scale form in qkern/testing/diagnose.hpp (recompute(op, dialect::fp32))"
                 : "qkern's kernels with qkern::fp32_scale";
    case dialect::fixed_point: return op == op_kind::tanh ? "qkern::tanh" : "qkern::logistic";
    case dialect::lut: return op == op_kind::tanh ? "qkern::tanh_lut" : "qkern::logistic_lut";
  }
  return "";
}

enum class mistake : std::uint8_t {
  none,
  input_zero_point_added,        // x + zp instead of x - zp (input, input1 of add/mul)
  input2_zero_point_added,       // add, mul
  input_zero_points_added,       // add, mul: both inputs
  output_zero_point_subtracted,  // r - zp instead of r + zp
  input_nchw,                    // the input was read in NCHW order (fc, conv, depthwise)
  output_nchw,                   // the output was written in NCHW order
  expected_nchw,                 // the expected tensor was saved in NCHW order (observed is NHWC)
};

inline const char* mistake_name(mistake m) noexcept {
  switch (m) {
    case mistake::none: return "none";
    case mistake::input_zero_point_added: return "input zero point added instead of subtracted";
    case mistake::input2_zero_point_added: return "input2 zero point added instead of subtracted";
    case mistake::input_zero_points_added: return "both input zero points added instead of subtracted";
    case mistake::output_zero_point_subtracted: return "output zero point subtracted instead of added";
    case mistake::input_nchw: return "input read in NCHW order";
    case mistake::output_nchw: return "output written in NCHW order";
    case mistake::expected_nchw: return "expected tensor saved in NCHW order";
  }
  return "unknown";
}

constexpr bool is_zero_point_mistake(mistake m) noexcept {
  return m == mistake::input_zero_point_added || m == mistake::input2_zero_point_added ||
         m == mistake::input_zero_points_added || m == mistake::output_zero_point_subtracted;
}
constexpr bool is_layout_mistake(mistake m) noexcept {
  return m == mistake::input_nchw || m == mistake::output_nchw || m == mistake::expected_nchw;
}

constexpr bool is_activation_op(op_kind op) noexcept { return op == op_kind::logistic || op == op_kind::tanh; }
constexpr bool is_binary_op(op_kind op) noexcept { return op == op_kind::add || op == op_kind::mul; }

// The dialects that apply to an op, the reference (TFLite Micro's) first.
inline std::vector<dialect> dialects_for(op_kind op) {
  if (is_activation_op(op)) return {dialect::fixed_point, dialect::lut};
  return {dialect::double_rounding, dialect::single_rounding, dialect::fp32};
}
inline dialect reference_dialect(op_kind op) noexcept { return dialects_for(op).front(); }

// --- NHWC <-> NCHW --------------------------------------------------------------------------

// The [N, H, W, C] extents of a rank-4 shape (rank 3 reads as [H, W, C] with N = 1). False for
// other ranks.
struct nhwc_extents {
  std::int64_t n = 1, h = 1, w = 1, c = 1;
};
inline bool to_nhwc_extents(const shape& s, nhwc_extents& e) noexcept {
  if (s.rank == 4) {
    e = {s[0], s[1], s[2], s[3]};
  } else if (s.rank == 3) {
    e = {1, s[0], s[1], s[2]};
  } else {
    return false;
  }
  return true;
}

// True when NHWC and NCHW orders of shape s differ (rank 3 or 4, C > 1 and H·W > 1).
inline bool layout_swap_possible(const shape& s) noexcept {
  nhwc_extents e;
  return to_nhwc_extents(s, e) && e.c > 1 && e.h * e.w > 1;
}

// The NHWC tensor `data` of shape s (rank 3 or 4) rewritten in NCHW order.
template <class T>
std::vector<T> nhwc_to_nchw(const T* data, const shape& s) {
  nhwc_extents e;
  if (!to_nhwc_extents(s, e)) return std::vector<T>(data, data + s.element_count());
  std::vector<T> out(static_cast<std::size_t>(s.element_count()));
  for (std::int64_t n = 0; n < e.n; ++n)
    for (std::int64_t h = 0; h < e.h; ++h)
      for (std::int64_t w = 0; w < e.w; ++w)
        for (std::int64_t c = 0; c < e.c; ++c)
          out[static_cast<std::size_t>(((n * e.c + c) * e.h + h) * e.w + w)] =
              data[((n * e.h + h) * e.w + w) * e.c + c];
  return out;
}

// The inverse: `data` holds the tensor of NHWC shape s in NCHW order; returns it in NHWC order.
template <class T>
std::vector<T> nchw_to_nhwc(const T* data, const shape& s) {
  nhwc_extents e;
  if (!to_nhwc_extents(s, e)) return std::vector<T>(data, data + s.element_count());
  std::vector<T> out(static_cast<std::size_t>(s.element_count()));
  for (std::int64_t n = 0; n < e.n; ++n)
    for (std::int64_t h = 0; h < e.h; ++h)
      for (std::int64_t w = 0; w < e.w; ++w)
        for (std::int64_t c = 0; c < e.c; ++c)
          out[static_cast<std::size_t>(((n * e.h + h) * e.w + w) * e.c + c)] =
              data[((n * e.c + c) * e.h + h) * e.w + w];
  return out;
}

// --- recomputation --------------------------------------------------------------------------

struct int8_tensor {
  shape tensor_shape{};
  std::vector<std::int8_t> data;
};

namespace detail {

inline status require_data(const std::vector<std::int8_t>& data, const shape& s, const char* subject) {
  QKERN_TRY(validate_shape(s, subject));
  if (static_cast<std::int64_t>(data.size()) != s.element_count()) {
    return status(status_code::invalid_shape, "holds a different number of values than its shape has elements",
                  subject, static_cast<std::int64_t>(data.size()));
  }
  return {};
}

// Output channels of an op with weights (0 when the filter shape is unusable; prepare says why).
inline std::int32_t output_channels(const op_case& c) noexcept {
  if (c.op == op_kind::fully_connected) return c.filter_shape.rank == 2 ? c.filter_shape[0] : 0;
  if (c.op == op_kind::conv2d) return c.filter_shape.rank == 4 ? c.filter_shape[0] : 0;
  return c.filter_shape.rank == 4 ? c.filter_shape[3] : 0;
}

constexpr bool has_weights(op_kind op) noexcept {
  return op == op_kind::fully_connected || op == op_kind::conv2d || op == op_kind::depthwise_conv2d;
}

inline const std::int32_t* bias_or_null(const op_case& c) noexcept { return c.bias.empty() ? nullptr : c.bias.data(); }

inline std::vector<std::int8_t> input_for(const op_case& c, mistake m) {
  if (m == mistake::input_nchw) return nhwc_to_nchw(c.input_data.data(), c.input_shape);
  return c.input_data;
}

// Taps one output element sums (the accumulator bound's `taps`).
inline std::int64_t taps(const op_case& c) noexcept {
  const shape& f = c.filter_shape;
  if (c.op == op_kind::fully_connected) return f.rank == 2 ? f[1] : 0;
  if (c.op == op_kind::conv2d) return f.rank == 4 ? std::int64_t{f[1]} * f[2] * f[3] : 0;
  return f.rank == 4 ? std::int64_t{f[1]} * f[2] : 0;
}

// With the input zero point added, |x + zp| reaches 128 + |zp|: prepare's bound (for x - zp) may
// be one too small per tap, so check the accumulator again before running that variant.
inline status check_flipped_accumulator(const op_case& c) noexcept {
  std::int64_t max_bias = 0;
  for (std::int32_t b : c.bias) max_bias = std::max<std::int64_t>(max_bias, b < 0 ? -std::int64_t{b} : b);
  const std::int64_t zp = c.input.zero_point < 0 ? -std::int64_t{c.input.zero_point} : c.input.zero_point;
  if (taps(c) * (128 + zp) * 128 + max_bias > INT32_MAX) {
    return status(status_code::overflow, "with the zero point added, the accumulator could overflow int32", "input");
  }
  return {};
}

// Applies a zero-point mistake to params with input_offset / output_offset fields.
template <class Params>
status apply_zero_point_mistake(Params& p, const op_case& c, mistake m) {
  if (m == mistake::input_zero_point_added) {
    QKERN_TRY(check_flipped_accumulator(c));
    p.input_offset = c.input.zero_point;
  } else if (m == mistake::output_zero_point_subtracted) {
    p.output_offset = -c.output.zero_point;
  }
  return {};
}

template <class Params>
void apply_binary_zero_point_mistake(Params& p, const op_case& c, mistake m) noexcept {
  if (m == mistake::input_zero_point_added || m == mistake::input_zero_points_added) p.input1_offset = c.input.zero_point;
  if (m == mistake::input2_zero_point_added || m == mistake::input_zero_points_added) p.input2_offset = c.input2.zero_point;
  if (m == mistake::output_zero_point_subtracted) p.output_offset = -c.output.zero_point;
}

inline int8_tensor make_output(const shape& s) {
  return int8_tensor{s, std::vector<std::int8_t>(static_cast<std::size_t>(s.element_count()))};
}

template <class Policy>
result<int8_tensor> run_fully_connected(const op_case& c, mistake m) {
  const per_channel_quantization filter{c.filter_scales.data(), c.filter_scales.size(), c.filter_zero_point, 0};
  std::vector<typename Policy::multiplier_type> multipliers(static_cast<std::size_t>(std::max<std::int32_t>(output_channels(c), 1)));
  fully_connected_options options;
  options.activation = c.activation;
  options.keep_num_dims = c.keep_num_dims;
  const auto prepared = prepare_fully_connected<std::int8_t, Policy>(
      c.input, c.input_shape, filter, c.filter_shape, bias_or_null(c), c.output, options,
      {multipliers.data(), multipliers.size()});
  if (!prepared.ok()) return prepared.error();
  auto p = *prepared;
  QKERN_TRY(apply_zero_point_mistake(p, c, m));
  const std::vector<std::int8_t> input = input_for(c, m);
  int8_tensor out = make_output(p.output_shape);
  scalar::fully_connected(p, input.data(), c.filter_data.data(), bias_or_null(c), out.data.data());
  return out;
}

template <class Policy>
result<int8_tensor> run_conv2d(const op_case& c, mistake m) {
  const per_channel_quantization filter{c.filter_scales.data(), c.filter_scales.size(), c.filter_zero_point, 0};
  std::vector<typename Policy::multiplier_type> multipliers(static_cast<std::size_t>(std::max<std::int32_t>(output_channels(c), 1)));
  conv2d_options options;
  options.padding = c.padding;
  options.stride_height = c.stride_height;
  options.stride_width = c.stride_width;
  options.dilation_height = c.dilation_height;
  options.dilation_width = c.dilation_width;
  options.activation = c.activation;
  const auto prepared = prepare_conv2d<std::int8_t, Policy>(c.input, c.input_shape, filter, c.filter_shape,
                                                            bias_or_null(c), c.output, options,
                                                            {multipliers.data(), multipliers.size()});
  if (!prepared.ok()) return prepared.error();
  auto p = *prepared;
  QKERN_TRY(apply_zero_point_mistake(p, c, m));
  const std::vector<std::int8_t> input = input_for(c, m);
  int8_tensor out = make_output(p.output_shape);
  scalar::conv2d(p, input.data(), c.filter_data.data(), bias_or_null(c), out.data.data());
  return out;
}

template <class Policy>
result<int8_tensor> run_depthwise_conv2d(const op_case& c, mistake m) {
  const per_channel_quantization filter{c.filter_scales.data(), c.filter_scales.size(), c.filter_zero_point, 3};
  std::vector<typename Policy::multiplier_type> multipliers(static_cast<std::size_t>(std::max<std::int32_t>(output_channels(c), 1)));
  depthwise_conv2d_options options;
  options.padding = c.padding;
  options.stride_height = c.stride_height;
  options.stride_width = c.stride_width;
  options.dilation_height = c.dilation_height;
  options.dilation_width = c.dilation_width;
  options.depth_multiplier = c.depth_multiplier;
  options.activation = c.activation;
  const auto prepared = prepare_depthwise_conv2d<std::int8_t, Policy>(c.input, c.input_shape, filter, c.filter_shape,
                                                                      bias_or_null(c), c.output, options,
                                                                      {multipliers.data(), multipliers.size()});
  if (!prepared.ok()) return prepared.error();
  auto p = *prepared;
  QKERN_TRY(apply_zero_point_mistake(p, c, m));
  const std::vector<std::int8_t> input = input_for(c, m);
  int8_tensor out = make_output(p.output_shape);
  scalar::depthwise_conv2d(p, input.data(), c.filter_data.data(), bias_or_null(c), out.data.data());
  return out;
}

template <class Policy>
result<int8_tensor> run_add(const op_case& c, mistake m) {
  const auto prepared =
      prepare_add<std::int8_t, Policy>(c.input, c.input_shape, c.input2, c.input2_shape, c.output, c.activation);
  if (!prepared.ok()) return prepared.error();
  auto p = *prepared;
  apply_binary_zero_point_mistake(p, c, m);  // |q ± zp| <= 256: (q + offset) << 20 stays below 2^29
  int8_tensor out = make_output(p.broadcast.output);
  scalar::add(p, c.input_data.data(), c.input2_data.data(), out.data.data());
  return out;
}

template <class Policy>
result<int8_tensor> run_mul(const op_case& c, mistake m) {
  const auto prepared =
      prepare_mul<std::int8_t, Policy>(c.input, c.input_shape, c.input2, c.input2_shape, c.output, c.activation);
  if (!prepared.ok()) return prepared.error();
  auto p = *prepared;
  apply_binary_zero_point_mistake(p, c, m);  // |product| <= 256^2
  int8_tensor out = make_output(p.broadcast.output);
  scalar::mul(p, c.input_data.data(), c.input2_data.data(), out.data.data());
  return out;
}

// The fp32 forms of add and mul (qkern's elementwise kernels take integer multipliers only):
//   mul: round_half_even(float(q1 - zp1) · (q2 - zp2) · scale) + zp_out, scale = s1 · s2 / s_out in
//        float32 left to right, as XNNPACK forms its product scale;
//   add: round_half_even(float(q1 - zp1) · (s1 / s_out) + float(q2 - zp2) · (s2 / s_out)) + zp_out,
//        every step in float32;
// then clamped to the fused activation's range. Rounding is environment-independent.
inline result<int8_tensor> run_binary_fp32(const op_case& c, mistake m) {
  QKERN_TRY(validate_quantization<std::int8_t>(c.input, "input1"));
  QKERN_TRY(validate_quantization<std::int8_t>(c.input2, "input2"));
  QKERN_TRY(validate_quantization<std::int8_t>(c.output, "output"));
  const auto plan = make_broadcast_plan(c.input_shape, c.input2_shape);
  if (!plan.ok()) return plan.error().about("input1 and input2");
  const auto range = make_activation_range<std::int8_t>(c.activation, c.output);
  if (!range.ok()) return range.error();
  const bool flip1 = m == mistake::input_zero_point_added || m == mistake::input_zero_points_added;
  const bool flip2 = m == mistake::input2_zero_point_added || m == mistake::input_zero_points_added;
  const std::int32_t offset1 = flip1 ? c.input.zero_point : -c.input.zero_point;
  const std::int32_t offset2 = flip2 ? c.input2.zero_point : -c.input2.zero_point;
  const std::int32_t output_offset = m == mistake::output_zero_point_subtracted ? -c.output.zero_point : c.output.zero_point;
  const std::int32_t lo = range->min;
  const std::int32_t hi = range->max;
  const auto finish = [&](std::int32_t rounded) {
    const std::int64_t v = std::int64_t{rounded} + output_offset;
    return static_cast<std::int8_t>(v < lo ? lo : (v > hi ? hi : v));
  };
  int8_tensor out = make_output(plan->output);
  if (c.op == op_kind::mul) {
    const float scale = c.input.scale * c.input2.scale / c.output.scale;
    binary_loop(*plan, c.input_data.data(), c.input2_data.data(), out.data.data(), [&](std::int8_t a, std::int8_t b) {
      return finish(fp32_scale::multiply((a + offset1) * (b + offset2), scale));
    });
  } else {
    const float scale1 = c.input.scale / c.output.scale;
    const float scale2 = c.input2.scale / c.output.scale;
    binary_loop(*plan, c.input_data.data(), c.input2_data.data(), out.data.data(), [&](std::int8_t a, std::int8_t b) {
      const float v = static_cast<float>(a + offset1) * scale1 + static_cast<float>(b + offset2) * scale2;
      return finish(::qkern::detail::round_half_even_saturated(v));
    });
  }
  return out;
}

inline result<int8_tensor> run_activation(const op_case& c, dialect d, mistake m) {
  const bool logistic = c.op == op_kind::logistic;
  int8_tensor out = make_output(c.input_shape);
  if (d == dialect::fixed_point) {
    if (logistic) {
      auto p = prepare_logistic<std::int8_t>(c.input, c.output, c.input_shape);
      if (!p.ok()) return p.error();
      auto params = *p;
      if (m == mistake::input_zero_point_added) params.input_zero_point = -c.input.zero_point;
      scalar::logistic(params, c.input_data.data(), out.data.data());
    } else {
      auto p = prepare_tanh<std::int8_t>(c.input, c.output, c.input_shape);
      if (!p.ok()) return p.error();
      auto params = *p;
      if (m == mistake::input_zero_point_added) params.input_zero_point = -c.input.zero_point;
      scalar::tanh(params, c.input_data.data(), out.data.data());
    }
    return out;
  }
  // The table is built from the quantization, so the zero-point mistake is a table built with -zp.
  quantization_params input = c.input;
  if (m == mistake::input_zero_point_added) {
    if (-c.input.zero_point > 127) {
      return status(status_code::unsupported_parameter, "the negated zero point (128) does not fit int8 for a table",
                    "input");
    }
    input.zero_point = -c.input.zero_point;
  }
  const auto p = logistic ? prepare_logistic_lut(input, c.output, c.input_shape)
                          : prepare_tanh_lut(input, c.output, c.input_shape);
  if (!p.ok()) return p.error();
  scalar::int8_lut(*p, c.input_data.data(), out.data.data());
  return out;
}

template <class Policy>
result<int8_tensor> run_with_policy(const op_case& c, mistake m) {
  switch (c.op) {
    case op_kind::fully_connected: return run_fully_connected<Policy>(c, m);
    case op_kind::conv2d: return run_conv2d<Policy>(c, m);
    case op_kind::depthwise_conv2d: return run_depthwise_conv2d<Policy>(c, m);
    case op_kind::add:
    case op_kind::mul:
      // qkern's add and mul take integer (Q31) multipliers only; fp32 goes through run_binary_fp32.
      if constexpr (std::is_same<typename Policy::multiplier_type, quantized_multiplier>::value) {
        return c.op == op_kind::add ? run_add<Policy>(c, m) : run_mul<Policy>(c, m);
      }
      break;
    case op_kind::logistic:
    case op_kind::tanh: break;
  }
  return status(status_code::unsupported_parameter, "this dialect does not apply to the op");
}

}  // namespace detail

// The tensors an op_case holds agree with their shapes, and the op has what it needs.
inline status validate_case(const op_case& c) {
  QKERN_TRY(detail::require_data(c.input_data, c.input_shape, "input"));
  if (is_binary_op(c.op)) QKERN_TRY(detail::require_data(c.input2_data, c.input2_shape, "input2"));
  if (detail::has_weights(c.op)) {
    QKERN_TRY(detail::require_data(c.filter_data, c.filter_shape, "filter"));
    if (c.filter_scales.empty()) return status(status_code::invalid_scale, "has no scales", "filter");
    const std::int32_t channels = detail::output_channels(c);
    if (!c.bias.empty() && static_cast<std::int64_t>(c.bias.size()) != channels) {
      return status(status_code::invalid_shape, "needs one value per output channel", "bias",
                    static_cast<std::int64_t>(c.bias.size()));
    }
  }
  return {};
}

// Whether recompute(c, d, m) is meaningful: the dialect belongs to the op, a zero-point mistake
// needs a non-zero zero point (and an op that has that input), input_nchw a rank-3/4 input of an
// op with weights whose NCHW order differs. output_nchw and expected_nchw are not recomputations
// (diagnose permutes tensors for them) and answer false.
inline bool applies(const op_case& c, dialect d, mistake m) noexcept {
  bool dialect_ok = false;
  for (dialect x : dialects_for(c.op)) dialect_ok = dialect_ok || x == d;
  if (!dialect_ok) return false;
  switch (m) {
    case mistake::none: return true;
    case mistake::input_zero_point_added: return c.input.zero_point != 0;
    case mistake::input2_zero_point_added: return is_binary_op(c.op) && c.input2.zero_point != 0;
    case mistake::input_zero_points_added:
      return is_binary_op(c.op) && c.input.zero_point != 0 && c.input2.zero_point != 0;
    case mistake::output_zero_point_subtracted: return !is_activation_op(c.op) && c.output.zero_point != 0;
    case mistake::input_nchw: return detail::has_weights(c.op) && layout_swap_possible(c.input_shape);
    case mistake::output_nchw:
    case mistake::expected_nchw: return false;
  }
  return false;
}

// The op's output under dialect d, with mistake m made (mistake::none: the correct output).
// Fails when the case is inconsistent, the combination does not apply, or qkern's prepare step
// rejects the parameters (its message says why).
inline result<int8_tensor> recompute(const op_case& c, dialect d, mistake m = mistake::none) {
  QKERN_TRY(validate_case(c));
  if (!applies(c, d, m)) {
    return status(status_code::unsupported_parameter, "this dialect or mistake does not apply to the op");
  }
  switch (d) {
    case dialect::double_rounding: return detail::run_with_policy<double_rounding>(c, m);
    case dialect::single_rounding: return detail::run_with_policy<single_rounding>(c, m);
    case dialect::fp32:
      if (is_binary_op(c.op)) return detail::run_binary_fp32(c, m);
      return detail::run_with_policy<fp32_scale>(c, m);
    case dialect::fixed_point:
    case dialect::lut: return detail::run_activation(c, d, m);
  }
  return status(status_code::invalid_argument, "unknown dialect");
}

// --- the diagnosis --------------------------------------------------------------------------

// One hypothesis: the op under `rounding` with `variant` made, compared with the observed tensor.
// For expected_nchw (and output_nchw with from_expected) the hypothesis is built from the
// expected tensor instead of a recomputation.
struct candidate {
  dialect rounding = dialect::double_rounding;
  mistake variant = mistake::none;
  bool from_expected = false;
  bool available = false;        // computed (false: prepare rejected it; see note)
  std::string note;              // why it is unavailable
  std::int64_t mismatches = 0;   // elements differing from the observed tensor
  std::int32_t max_abs_diff = 0;
  bool reproduces_expected = false;  // variant none: this dialect's output equals the expected tensor

  bool matches() const noexcept { return available && mismatches == 0; }
};

inline std::string describe(const candidate& k) {
  if (k.from_expected) {
    return k.variant == mistake::expected_nchw ? "the expected tensor is the observed one in NCHW order"
                                               : "the observed tensor is the expected one in NCHW order";
  }
  std::string s = dialect_name(k.rounding);
  if (k.variant != mistake::none) s += std::string(", ") + mistake_name(k.variant);
  return s;
}

enum class verdict : std::uint8_t {
  identical,                  // observed == expected
  rounding_dialect,           // a dialect reproduces the observed tensor exactly
  zero_point_sign_error,      // a dialect with a zero point's sign flipped reproduces it
  layout_swap,                // an NHWC/NCHW swap reproduces it
  not_a_rounding_difference,  // nothing qkern knows reproduces it
  cannot_recompute,           // qkern rejected the op's parameters in every dialect
};

inline const char* verdict_name(verdict v) noexcept {
  switch (v) {
    case verdict::identical: return "identical";
    case verdict::rounding_dialect: return "rounding dialect";
    case verdict::zero_point_sign_error: return "zero-point sign error";
    case verdict::layout_swap: return "NHWC/NCHW layout swap";
    case verdict::not_a_rounding_difference: return "none: not a rounding difference";
    case verdict::cannot_recompute: return "cannot recompute the op";
  }
  return "unknown";
}

struct diagnosis {
  verdict kind = verdict::cannot_recompute;
  op_kind op = op_kind::fully_connected;
  bool has_expected = false;
  shape output_shape{};
  // The observed tensor against the expected one (or, without one, against the reference
  // dialect's recomputation): the same statistics compare() gives.
  comparison observed_vs_reference{};
  std::vector<dialect> observed_dialects;  // dialects whose correct output equals the observed tensor
  std::vector<dialect> expected_dialects;  // ... equals the expected tensor
  std::vector<candidate> candidates;       // every hypothesis, in the order tried
  std::vector<std::size_t> matching;       // indexes of the candidates that reproduce the observed tensor
  int8_tensor reference_output{};          // the reference dialect's correct output (when computable)
  std::string summary;                     // one line
  std::string explanation;                 // what it means and what to do

  const candidate* cause() const noexcept {
    if (kind == verdict::layout_swap) {  // the expected tensor permuted explains the pair directly
      for (std::size_t i : matching) {
        if (candidates[i].from_expected) return &candidates[i];
      }
    }
    for (std::size_t i : matching) {
      const candidate& k = candidates[i];
      if ((kind == verdict::rounding_dialect && k.variant == mistake::none) ||
          (kind == verdict::zero_point_sign_error && is_zero_point_mistake(k.variant)) ||
          (kind == verdict::layout_swap && is_layout_mistake(k.variant))) {
        return &k;
      }
    }
    return nullptr;
  }
  bool observed_is(dialect d) const noexcept {
    for (dialect x : observed_dialects) {
      if (x == d) return true;
    }
    return false;
  }
};

namespace detail {

inline std::string status_text(const status& s) {
  char buffer[256];
  s.format(buffer, sizeof buffer);
  return buffer;
}

inline void count_differences(candidate& k, const std::int8_t* observed, const std::vector<std::int8_t>& values) {
  k.available = true;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::int32_t d = observed[i] - values[i];
    if (d != 0) ++k.mismatches;
    const std::int32_t magnitude = d < 0 ? -d : d;
    if (magnitude > k.max_abs_diff) k.max_abs_diff = magnitude;
  }
}

inline std::string dialect_list(const std::vector<dialect>& ds) {
  std::string s;
  for (std::size_t i = 0; i < ds.size(); ++i) {
    if (i > 0) s += i + 1 == ds.size() ? " and " : ", ";
    s += dialect_name(ds[i]);
  }
  return s;
}

inline std::string percent(std::int64_t part, std::int64_t whole) {
  std::string out;
  append_format(out, "%.2f%%", whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return out;
}

inline void explain(diagnosis& d, const std::int8_t* observed, std::int64_t count) {
  const comparison& cmp = d.observed_vs_reference;
  const std::string against = d.has_expected ? std::string("the expected tensor")
                                             : std::string("the ") + dialect_name(reference_dialect(d.op)) + " recomputation";
  std::string differ;
  append_format(differ, "%lld of %lld elements (%s) differ from %s, by at most %d", static_cast<long long>(cmp.total.mismatches),
                static_cast<long long>(count), percent(cmp.total.mismatches, count).c_str(), against.c_str(),
                cmp.total.max_abs_diff);
  std::string expected_note;
  if (d.has_expected) {
    if (!d.expected_dialects.empty()) {
      expected_note = "The expected tensor is exactly " + dialect_list(d.expected_dialects) + ": " +
                      dialect_origin(d.expected_dialects.front(), d.op) + ".";
    } else {
      expected_note =
          "No dialect reproduces the expected tensor itself: check that the parameters and inputs given are the "
          "layer's, and how the expected tensor was produced, before trusting this diagnosis.";
    }
  }
  const candidate* cause = d.cause();
  std::string& e = d.explanation;
  switch (d.kind) {
    case verdict::identical:
      d.summary = d.has_expected ? "identical: the observed tensor equals the expected one"
                                 : std::string("identical: the observed tensor equals the ") +
                                       dialect_name(reference_dialect(d.op)) + " recomputation";
      e = "No discrepancy. ";
      if (!d.observed_dialects.empty()) {
        e += "Both are " + dialect_list(d.observed_dialects) + ": " + dialect_origin(d.observed_dialects.front(), d.op) + ".";
      } else {
        e += "Neither is reproduced by qkern under any dialect, so the parameters or inputs given are probably not "
             "the layer's.";
      }
      break;
    case verdict::rounding_dialect: {
      const dialect first = d.observed_dialects.front();
      d.summary = "rounding dialect: the observed tensor is " + dialect_list(d.observed_dialects);
      if (d.has_expected) {
        d.summary += d.expected_dialects.empty() ? ", the expected tensor is not reproduced by any dialect"
                                                 : ", the expected tensor " + dialect_list(d.expected_dialects);
      }
      e = "The observed tensor is exactly what " + dialect_list(d.observed_dialects) + " computes: " +
          dialect_origin(first, d.op) + ". ";
      if (d.observed_dialects.size() > 1) {
        e += "These dialects give the same values on every element of this tensor, so it cannot tell them apart: "
             "they differ only near rounding ties (single rounding and fp32 both round the exact product once and "
             "differ only at exact ties; TFLite's int8 logistic/tanh table and the fixed-point reference differ in "
             "one or two entries for a rare input quantization). More elements or other inputs may separate them. ";
      }
      if (d.has_expected) {
        e += expected_note + " " + differ + ". ";
        e += "This is a difference of arithmetic dialect, not a bug in the device: both are legitimate "
             "implementations of the same quantized op. ";
        e += "To check the device bit for bit, take the reference from " + std::string(dialect_remedy(first, d.op)) +
             "; to make the device match the interpreter instead, its kernels must use the interpreter's dialect";
        if (!d.expected_dialects.empty()) e += std::string(" (") + dialect_name(d.expected_dialects.front()) + ")";
        e += ". Otherwise compare with a tolerance of " + std::to_string(cmp.total.max_abs_diff) + ".";
      } else {
        e += differ + ". To reproduce it bit for bit, run " + std::string(dialect_remedy(first, d.op)) + ".";
      }
      break;
    }
    case verdict::zero_point_sign_error: {
      const bool output = cause->variant == mistake::output_zero_point_subtracted;
      d.summary = std::string("zero-point sign error: ") + mistake_name(cause->variant) + " (" +
                  dialect_name(cause->rounding) + ")";
      e = "The observed tensor is exactly " + std::string(dialect_name(cause->rounding)) + " computed with the " +
          mistake_name(cause->variant) + ". ";
      if (output) {
        e += "The device computes r - zero_point where r + zero_point is meant (TFLite's output_offset is +zero_point). ";
      } else {
        e += "The device computes x + zero_point where x - zero_point is meant: TFLite's kernels store "
             "input_offset = -zero_point and add it, so passing the zero point where the offset is expected (or the "
             "reverse) flips its sign. ";
      }
      e += "The outputs look plausible and rarely saturate, so nothing else warns. Fix the sign in the port "
           "(docs/arithmetic.md, \"The usual mistakes\"). " + differ + ".";
      break;
    }
    case verdict::layout_swap: {
      d.summary = std::string("layout swap: ") + describe(*cause);
      if (cause->variant == mistake::expected_nchw) {
        e = "The observed tensor is the expected one read in NHWC order from NCHW storage: the expected tensor was "
            "saved channel-major (NCHW, as PyTorch/ONNX pipelines do) while the device writes NHWC. The values are "
            "right; transpose one of the two before comparing.";
      } else if (cause->variant == mistake::output_nchw) {
        e = "The observed tensor holds the right values in NCHW (channel-major) order, where NHWC is expected: the "
            "device, or the code that saved its tensor, writes channels first. Transpose it (NCHW -> NHWC) or fix the "
            "output indexing.";
        if (!cause->from_expected) e += std::string(" The arithmetic itself is ") + dialect_name(cause->rounding) + ".";
      } else {
        e = "The observed tensor is what " + std::string(dialect_name(cause->rounding)) +
            " computes when the input is read in NCHW (channel-major) order: the device received its input "
            "channel-major (for a fully connected layer after a flatten, the flatten order differs between NCHW and "
            "NHWC). Transpose the input to NHWC.";
      }
      e += " " + differ + ".";
      break;
    }
    case verdict::not_a_rounding_difference: {
      d.summary = "none: not a rounding difference";
      const candidate* closest = nullptr;
      for (const candidate& k : d.candidates) {
        if (k.available && (closest == nullptr || k.mismatches < closest->mismatches)) closest = &k;
      }
      e = "No dialect qkern knows (";
      e += dialect_list(dialects_for(d.op)) + "), no zero-point sign error and no NHWC/NCHW swap reproduces the observed "
           "tensor. " + differ + ".";
      if (closest != nullptr) {
        append_format(e, " Closest hypothesis: %s, %lld mismatches, max |diff| %d.", describe(*closest).c_str(),
                      static_cast<long long>(closest->mismatches), closest->max_abs_diff);
      }
      if (d.has_expected && d.expected_dialects.empty()) e += " " + expected_note;
      std::int64_t saturated = 0;
      for (std::int64_t i = 0; i < count; ++i) saturated += (observed[i] == -128 || observed[i] == 127) ? 1 : 0;
      if (count > 0 && saturated * 2 > count) {
        e += " " + percent(saturated, count) +
             " of the observed outputs sit at the int8 limits: a wrong scale or multiplier saturates them (for "
             "example the bias scale taken as the output scale).";
      }
      if (cmp.total.max_abs_diff == 1) {
        e += " Every difference is +/-1: a requantization qkern does not model (another rounding, a multiplier formed "
             "in another precision, or a float path with another order of operations).";
      } else if (!cmp.channels.empty() && cmp.mismatching_channels() * 4 <= static_cast<std::int64_t>(cmp.channels.size())) {
        append_format(e, " Only %lld of %zu channels differ: check those channels' weights, biases and per-channel "
                      "scales (order and count).", static_cast<long long>(cmp.mismatching_channels()), cmp.channels.size());
      } else {
        e += " Look for a logic error: weights, bias, padding, strides or a stale buffer.";
      }
      break;
    }
    case verdict::cannot_recompute: {
      d.summary = "cannot recompute the op";
      e = "qkern rejected the op's parameters in every dialect:";
      for (const candidate& k : d.candidates) {
        if (k.variant == mistake::none && !k.from_expected) e += std::string(" ") + dialect_name(k.rounding) + ": " + k.note + ";";
      }
      e += " fix the parameters given (they must be the layer's float-level quantization and options).";
      break;
    }
  }
}

}  // namespace detail

// Diagnoses the observed output of op `c` (observed_count int8 values in the op's output shape,
// NHWC). `expected` (the same count) is the interpreter's output, or nullptr to diagnose the
// observed tensor alone. Fails when the case is inconsistent or observed_count is not the op's
// output element count; parameters qkern rejects give verdict::cannot_recompute.
inline result<diagnosis> diagnose(const op_case& c, const std::int8_t* observed, std::int64_t observed_count,
                                  const std::int8_t* expected = nullptr) {
  QKERN_TRY(validate_case(c));
  if (observed == nullptr) return status(status_code::invalid_argument, "tensor data is null", "observed");
  diagnosis d;
  d.op = c.op;
  d.has_expected = expected != nullptr;

  // The correct output in every dialect.
  std::vector<result<int8_tensor>> outputs;
  const std::vector<dialect> dialects = dialects_for(c.op);
  for (dialect x : dialects) outputs.push_back(recompute(c, x));
  const int8_tensor* any_output = nullptr;
  for (const auto& o : outputs) {
    if (o.ok() && any_output == nullptr) any_output = &*o;
  }
  if (any_output != nullptr) {
    d.output_shape = any_output->tensor_shape;
    if (static_cast<std::int64_t>(any_output->data.size()) != observed_count) {
      return status(status_code::invalid_shape,
                    "has a different number of elements than the op's output (the value is the observed count)",
                    "observed", observed_count);
    }
  }
  if (outputs.front().ok()) d.reference_output = *outputs.front();

  for (std::size_t i = 0; i < dialects.size(); ++i) {
    candidate k;
    k.rounding = dialects[i];
    if (outputs[i].ok()) {
      detail::count_differences(k, observed, outputs[i]->data);
      if (k.mismatches == 0) d.observed_dialects.push_back(dialects[i]);
      if (expected != nullptr) {
        const std::vector<std::int8_t>& v = outputs[i]->data;
        k.reproduces_expected = difference_statistics(expected, v.data(), static_cast<std::int64_t>(v.size())).identical();
        if (k.reproduces_expected) d.expected_dialects.push_back(dialects[i]);
      }
    } else {
      k.note = detail::status_text(outputs[i].error());
    }
    d.candidates.push_back(k);
  }

  if (any_output == nullptr) {
    d.kind = verdict::cannot_recompute;
    detail::explain(d, observed, observed_count);
    return d;
  }

  // Zero-point mistakes and an NCHW input, in every dialect.
  for (mistake m : {mistake::input_zero_point_added, mistake::input2_zero_point_added, mistake::input_zero_points_added,
                    mistake::output_zero_point_subtracted, mistake::input_nchw}) {
    for (dialect x : dialects) {
      if (!applies(c, x, m)) continue;
      candidate k;
      k.rounding = x;
      k.variant = m;
      const auto o = recompute(c, x, m);
      if (o.ok()) {
        detail::count_differences(k, observed, o->data);
      } else {
        k.note = detail::status_text(o.error());
      }
      d.candidates.push_back(k);
    }
  }

  // The output in NCHW order: of the expected tensor, and of every dialect's output that is not
  // already the expected tensor; and the expected tensor saved in NCHW order.
  if (layout_swap_possible(d.output_shape)) {
    if (expected != nullptr) {
      candidate k;
      k.from_expected = true;
      k.variant = mistake::output_nchw;
      detail::count_differences(k, observed, nhwc_to_nchw(expected, d.output_shape));
      d.candidates.push_back(k);
      candidate back;
      back.from_expected = true;
      back.variant = mistake::expected_nchw;
      detail::count_differences(back, observed, nchw_to_nhwc(expected, d.output_shape));
      d.candidates.push_back(back);
    }
    for (std::size_t i = 0; i < dialects.size(); ++i) {
      if (!outputs[i].ok() || (expected != nullptr && d.candidates[i].reproduces_expected)) continue;
      candidate k;
      k.rounding = dialects[i];
      k.variant = mistake::output_nchw;
      detail::count_differences(k, observed, nhwc_to_nchw(outputs[i]->data.data(), d.output_shape));
      d.candidates.push_back(k);
    }
  }

  for (std::size_t i = 0; i < d.candidates.size(); ++i) {
    if (d.candidates[i].matches()) d.matching.push_back(i);
  }

  // The statistics: against the expected tensor, or the reference recomputation.
  const std::int8_t* reference = expected;
  if (reference == nullptr) reference = outputs.front().ok() ? outputs.front()->data.data() : any_output->data.data();
  const auto cmp = compare(observed, reference, d.output_shape);
  if (cmp.ok()) d.observed_vs_reference = *cmp;

  const auto any_match = [&](bool (*kind)(mistake)) {
    for (std::size_t i : d.matching) {
      if (kind(d.candidates[i].variant)) return true;
    }
    return false;
  };
  const bool reference_is_meaningful = expected != nullptr || outputs.front().ok();
  bool permuted_expected = false;  // observed is the expected tensor in the other layout
  for (std::size_t i : d.matching) permuted_expected = permuted_expected || d.candidates[i].from_expected;
  if (reference_is_meaningful && d.observed_vs_reference.identical()) {
    d.kind = verdict::identical;
  } else if (permuted_expected) {
    d.kind = verdict::layout_swap;
  } else if (!d.observed_dialects.empty()) {
    d.kind = verdict::rounding_dialect;
  } else if (any_match([](mistake m) { return is_zero_point_mistake(m); })) {
    d.kind = verdict::zero_point_sign_error;
  } else if (any_match([](mistake m) { return is_layout_mistake(m); })) {
    d.kind = verdict::layout_swap;
  } else {
    d.kind = verdict::not_a_rounding_difference;
  }
  detail::explain(d, observed, observed_count);
  return d;
}

inline result<diagnosis> diagnose(const op_case& c, const std::vector<std::int8_t>& observed,
                                  const std::vector<std::int8_t>* expected = nullptr) {
  if (expected != nullptr && expected->size() != observed.size()) {
    return status(status_code::invalid_shape, "has a different number of elements than the observed tensor",
                  "expected", static_cast<std::int64_t>(expected->size()));
  }
  return diagnose(c, observed.data(), static_cast<std::int64_t>(observed.size()),
                  expected != nullptr ? expected->data() : nullptr);
}

// The diagnosis as text: the verdict, the explanation and every hypothesis tried.
inline std::string format(const diagnosis& d) {
  std::string out = "verdict: " + d.summary + "\n\n" + d.explanation + "\n\nhypotheses (mismatches against the observed tensor):\n";
  for (const candidate& k : d.candidates) {
    std::string line = "  " + describe(k);
    if (line.size() < 72) line.append(72 - line.size(), ' ');
    if (!k.available) {
      line += "  n/a: " + k.note;
    } else {
      detail::append_format(line, "  %8lld  max |diff| %3d%s", static_cast<long long>(k.mismatches), k.max_abs_diff,
                            k.matches() ? "  <- reproduces the observed tensor" : "");
      if (k.variant == mistake::none && !k.from_expected && k.reproduces_expected) line += "  (= expected)";
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace testing
}  // namespace qkern
