// Golden ops for the kernels with weights: conv2d, depthwise_conv2d, fully_connected (int8 and
// int16x8), transpose_conv2d and batch_matmul. Each op runs prepare, compares every `derived`
// field (padding, offsets, multipliers and shifts, activation range), then runs eval and
// compares the output's shape and data.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "golden.hpp"
#include "qkern/kernels/conv.hpp"

namespace qkern_golden {
namespace {

// --- reading helpers ---------------------------------------------------------------------------

// A filter's `{"scales", "zero_point", "quantized_dimension"}`; owns the scales the
// per_channel_quantization view points at (keep it alive while the view is used).
struct filter_quantization {
  std::vector<float> scales;
  qkern::per_channel_quantization view;
};

filter_quantization read_filter_quantization(const json& q) {
  filter_quantization f;
  for (const json& s : q.at("scales")) f.scales.push_back(static_cast<float>(s.get<double>()));
  f.view.scales = f.scales.data();
  f.view.count = f.scales.size();
  f.view.zero_point = q.at("zero_point").get<std::int32_t>();
  f.view.quantized_dimension = q.at("quantized_dimension").get<int>();
  return f;
}

qkern::padding_kind read_padding(const json& params) {
  const std::string p = params.at("padding").get<std::string>();
  if (p == "SAME") return qkern::padding_kind::same;
  if (p == "VALID") return qkern::padding_kind::valid;
  throw std::runtime_error("unknown padding " + p);
}

bool has_input(const json& c, const char* name) {
  for (const json& in : c.at("inputs")) {
    if (in.at("name") == name) return true;
  }
  return false;
}

// The case's bias as Bias values (empty without a bias tensor); throws if its dtype differs.
template <class Bias>
std::vector<Bias> read_bias(const json& c) {
  if (!has_input(c, "bias")) return {};
  const json& t = input_tensor(c, "bias");
  const std::string expected = sizeof(Bias) == 8 ? "int64" : "int32";
  if (t.at("dtype") != expected) throw std::runtime_error("bias dtype is not " + expected);
  return tensor_data<Bias>(t);
}

template <class Bias>
const Bias* data_or_null(const std::vector<Bias>& v) {
  return v.empty() ? nullptr : v.data();
}

template <class Params>
void expect_activation_range(const json& c, case_checker& check, const Params& p) {
  expect_derived(check, c, "output_activation_min", p.output_activation_min);
  expect_derived(check, c, "output_activation_max", p.output_activation_max);
}

void expect_per_channel(const json& c, case_checker& check, const qkern::quantized_multiplier* m,
                        std::int32_t channels) {
  std::vector<std::int32_t> multipliers;
  std::vector<std::int32_t> shifts;
  for (std::int32_t i = 0; i < channels; ++i) {
    multipliers.push_back(m[i].multiplier);
    shifts.push_back(m[i].shift);
  }
  const json& d = c.at("derived");
  check.expect_tensor("derived.per_channel_output_multiplier",
                      d.at("per_channel_output_multiplier").get<std::vector<std::int32_t>>(), multipliers);
  check.expect_tensor("derived.per_channel_output_shift", d.at("per_channel_output_shift").get<std::vector<std::int32_t>>(),
                      shifts);
}

// The ConvParams / DepthwiseParams fields conv2d, depthwise and transpose conv share.
template <class Params>
void expect_conv_derived(const json& c, case_checker& check, const Params& p, bool padding_offsets) {
  const json& padding = c.at("derived").at("padding");
  check.expect("derived.padding.width", padding.at("width").get<std::int32_t>(), p.padding.width);
  check.expect("derived.padding.height", padding.at("height").get<std::int32_t>(), p.padding.height);
  if (padding_offsets) {
    check.expect("derived.padding.width_offset", padding.at("width_offset").get<std::int32_t>(),
                 p.padding.width_offset);
    check.expect("derived.padding.height_offset", padding.at("height_offset").get<std::int32_t>(),
                 p.padding.height_offset);
  }
  expect_derived(check, c, "input_offset", p.input_offset);
  expect_derived(check, c, "weights_offset", std::int32_t{0});  // weights are symmetric
  expect_derived(check, c, "output_offset", p.output_offset);
  expect_per_channel(c, check, p.output_multipliers, p.output_shape[3]);
  expect_activation_range(c, check, p);
}

template <class T>
void expect_output(const json& c, case_checker& check, const qkern::shape& shape, const std::vector<T>& out) {
  check.expect_tensor("output.shape", shape_extents(c.at("output")), shape_extents(shape));
  check.expect_tensor("output", tensor_data<T>(c.at("output")), out);
}

std::size_t element_count(const qkern::shape& s) { return static_cast<std::size_t>(s.element_count()); }

// int16x8 cases pick the accumulator by the bias dtype; TFLM takes the int64 path without a bias.
template <template <class, class, class> class Run, class Policy>
void run_int16x8(const json& c, case_checker& check) {
  const std::string bias = c.at("params").at("bias_dtype").get<std::string>();
  if (bias == "int32") return Run<std::int16_t, Policy, std::int32_t>::run(c, check);
  return Run<std::int16_t, Policy, std::int64_t>::run(c, check);
}

// --- conv2d ------------------------------------------------------------------------------------

template <class T, class Policy, class Bias>
struct conv2d_case {
  static void run(const json& c, case_checker& check) {
    const json& params = c.at("params");
    const json& input = input_tensor(c, "input");
    const json& filter = input_tensor(c, "filter");
    const filter_quantization fq = read_filter_quantization(params.at("filter"));
    const std::vector<Bias> bias = read_bias<Bias>(c);
    qkern::conv2d_options options;
    options.padding = read_padding(params);
    options.stride_height = params.at("stride_h").get<std::int32_t>();
    options.stride_width = params.at("stride_w").get<std::int32_t>();
    options.dilation_height = params.at("dilation_h").get<std::int32_t>();
    options.dilation_width = params.at("dilation_w").get<std::int32_t>();
    options.activation = read_activation(params);
    const qkern::shape filter_shape = tensor_shape(filter);
    std::vector<qkern::quantized_multiplier> multipliers(static_cast<std::size_t>(filter_shape[0]));

    const auto p = qkern::prepare_conv2d<T, Policy, Bias>(
        read_quantization(params.at("input")), tensor_shape(input), fq.view, filter_shape, data_or_null(bias),
        read_quantization(params.at("output")), options, {multipliers.data(), multipliers.size()});
    if (!p.ok()) return check.prepare_failed(p.error());
    expect_conv_derived(c, check, *p, true);
    check.expect("groups", params.at("groups").get<std::int32_t>(), p->groups);

    const std::vector<T> x = tensor_data<T>(input);
    const std::vector<std::int8_t> w = tensor_data<std::int8_t>(filter);
    std::vector<T> out(element_count(p->output_shape));
    qkern::conv2d(*p, x.data(), w.data(), data_or_null(bias), out.data());
    expect_output(c, check, p->output_shape, out);
  }
};

template <class Policy>
void conv2d(const json& c, case_checker& check) {
  conv2d_case<std::int8_t, Policy, std::int32_t>::run(c, check);
}
template <class Policy>
void conv2d_int16x8(const json& c, case_checker& check) {
  run_int16x8<conv2d_case, Policy>(c, check);
}

// --- depthwise_conv2d --------------------------------------------------------------------------

template <class T, class Policy, class Bias>
struct depthwise_case {
  static void run(const json& c, case_checker& check) {
    const json& params = c.at("params");
    const json& input = input_tensor(c, "input");
    const json& filter = input_tensor(c, "filter");
    const filter_quantization fq = read_filter_quantization(params.at("filter"));
    const std::vector<Bias> bias = read_bias<Bias>(c);
    qkern::depthwise_conv2d_options options;
    options.padding = read_padding(params);
    options.stride_height = params.at("stride_h").get<std::int32_t>();
    options.stride_width = params.at("stride_w").get<std::int32_t>();
    options.dilation_height = params.at("dilation_h").get<std::int32_t>();
    options.dilation_width = params.at("dilation_w").get<std::int32_t>();
    options.depth_multiplier = params.at("depth_multiplier").get<std::int32_t>();
    options.activation = read_activation(params);
    const qkern::shape filter_shape = tensor_shape(filter);
    std::vector<qkern::quantized_multiplier> multipliers(static_cast<std::size_t>(filter_shape[3]));

    const auto p = qkern::prepare_depthwise_conv2d<T, Policy, Bias>(
        read_quantization(params.at("input")), tensor_shape(input), fq.view, filter_shape, data_or_null(bias),
        read_quantization(params.at("output")), options, {multipliers.data(), multipliers.size()});
    if (!p.ok()) return check.prepare_failed(p.error());
    expect_conv_derived(c, check, *p, true);

    const std::vector<T> x = tensor_data<T>(input);
    const std::vector<std::int8_t> w = tensor_data<std::int8_t>(filter);
    std::vector<T> out(element_count(p->output_shape));
    qkern::depthwise_conv2d(*p, x.data(), w.data(), data_or_null(bias), out.data());
    expect_output(c, check, p->output_shape, out);
  }
};

template <class Policy>
void depthwise_conv2d(const json& c, case_checker& check) {
  depthwise_case<std::int8_t, Policy, std::int32_t>::run(c, check);
}
template <class Policy>
void depthwise_conv2d_int16x8(const json& c, case_checker& check) {
  depthwise_case<std::int16_t, Policy, std::int64_t>::run(c, check);  // TFLM reads an int64 bias
}

// --- fully_connected ---------------------------------------------------------------------------

template <class T, class Policy, class Bias>
struct fully_connected_case {
  static void run(const json& c, case_checker& check) {
    const json& params = c.at("params");
    const json& input = input_tensor(c, "input");
    const json& filter = input_tensor(c, "filter");
    const filter_quantization fq = read_filter_quantization(params.at("filter"));
    const std::vector<Bias> bias = read_bias<Bias>(c);
    qkern::fully_connected_options options;
    options.activation = read_activation(params);
    const qkern::shape filter_shape = tensor_shape(filter);
    std::vector<qkern::quantized_multiplier> multipliers(static_cast<std::size_t>(filter_shape[0]));

    const auto p = qkern::prepare_fully_connected<T, Policy, Bias>(
        read_quantization(params.at("input")), tensor_shape(input), fq.view, filter_shape, data_or_null(bias),
        read_quantization(params.at("output")), options, {multipliers.data(), multipliers.size()});
    if (!p.ok()) return check.prepare_failed(p.error());
    expect_derived(check, c, "input_offset", p->input_offset);
    expect_derived(check, c, "weights_offset", std::int32_t{0});
    expect_derived(check, c, "output_offset", p->output_offset);
    expect_derived(check, c, "is_per_channel", p->is_per_channel);
    if (p->is_per_channel) {
      // TFLM leaves the per-tensor output_multiplier/shift unset here (stale values), so only
      // the per-channel arrays are compared.
      expect_per_channel(c, check, p->per_channel_multipliers, p->units);
    } else {
      expect_derived_multiplier(check, c, "output_multiplier", "output_shift", p->output_multiplier);
    }
    expect_activation_range(c, check, *p);

    const std::vector<T> x = tensor_data<T>(input);
    const std::vector<std::int8_t> w = tensor_data<std::int8_t>(filter);
    std::vector<T> out(element_count(p->output_shape));
    qkern::fully_connected(*p, x.data(), w.data(), data_or_null(bias), out.data());
    expect_output(c, check, p->output_shape, out);
  }
};

template <class Policy>
void fully_connected(const json& c, case_checker& check) {
  fully_connected_case<std::int8_t, Policy, std::int32_t>::run(c, check);
}
template <class Policy>
void fully_connected_int16x8(const json& c, case_checker& check) {
  run_int16x8<fully_connected_case, Policy>(c, check);
}

// --- transpose_conv2d --------------------------------------------------------------------------

template <class Policy>
void transpose_conv2d(const json& c, case_checker& check) {
  using T = std::int8_t;
  const json& params = c.at("params");
  const json& input = input_tensor(c, "input");
  const json& filter = input_tensor(c, "filter");
  const filter_quantization fq = read_filter_quantization(params.at("filter"));
  const std::vector<std::int32_t> bias = read_bias<std::int32_t>(c);
  const std::vector<std::int32_t> output_extents = tensor_data<std::int32_t>(input_tensor(c, "output_shape"));
  qkern::shape output_shape;
  for (std::int32_t e : output_extents) output_shape[output_shape.rank++] = e;
  qkern::transpose_conv2d_options options;
  options.padding = read_padding(params);
  options.stride_height = params.at("stride_h").get<std::int32_t>();
  options.stride_width = params.at("stride_w").get<std::int32_t>();
  options.activation = read_activation(params);
  const qkern::shape filter_shape = tensor_shape(filter);
  std::vector<qkern::quantized_multiplier> multipliers(static_cast<std::size_t>(filter_shape[0]));

  const auto p = qkern::prepare_transpose_conv2d<T, Policy>(
      read_quantization(params.at("input")), tensor_shape(input), fq.view, filter_shape, data_or_null(bias),
      read_quantization(params.at("output")), output_shape, options, {multipliers.data(), multipliers.size()});
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_conv_derived(c, check, *p, false);  // TFLM reports only width and height here

  const std::vector<T> x = tensor_data<T>(input);
  const std::vector<std::int8_t> w = tensor_data<std::int8_t>(filter);
  std::vector<T> out(element_count(p->output_shape));
  std::vector<std::int32_t> scratch(p->scratch_count);
  const qkern::status s =
      qkern::transpose_conv2d(*p, x.data(), w.data(), data_or_null(bias), out.data(), {scratch.data(), scratch.size()});
  if (!s.ok()) return check.prepare_failed(s);
  expect_output(c, check, p->output_shape, out);
}

// --- batch_matmul ------------------------------------------------------------------------------

template <class Policy>
void batch_matmul(const json& c, case_checker& check) {
  using T = std::int8_t;
  const json& params = c.at("params");
  const json& lhs = input_tensor(c, "lhs");
  const json& rhs = input_tensor(c, "rhs");
  qkern::batch_matmul_options options;
  options.adj_x = params.at("adj_x").get<bool>();
  options.adj_y = params.at("adj_y").get<bool>();
  const auto p = qkern::prepare_batch_matmul<T, Policy>(read_quantization(params.at("lhs")), tensor_shape(lhs),
                                                        read_quantization(params.at("rhs")), tensor_shape(rhs),
                                                        read_quantization(params.at("output")), options);
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_derived_multiplier(check, c, "output_multiplier", "output_shift", p->output_multiplier);
  expect_derived(check, c, "lhs_zero_point", -p->lhs_offset);
  expect_derived(check, c, "rhs_zero_point", -p->rhs_offset);
  expect_derived(check, c, "output_zero_point", p->output_offset);
  expect_activation_range(c, check, *p);

  const std::vector<T> a = tensor_data<T>(lhs);
  const std::vector<T> b = tensor_data<T>(rhs);
  std::vector<T> out(element_count(p->output_shape));
  qkern::batch_matmul(*p, a.data(), b.data(), out.data());
  expect_output(c, check, p->output_shape, out);
}

}  // namespace

QKERN_GOLDEN_OP("conv2d", conv2d);
QKERN_GOLDEN_OP("conv2d_int16x8", conv2d_int16x8);
QKERN_GOLDEN_OP("depthwise_conv2d", depthwise_conv2d);
QKERN_GOLDEN_OP("depthwise_conv2d_int16x8", depthwise_conv2d_int16x8);
QKERN_GOLDEN_OP("fully_connected", fully_connected);
QKERN_GOLDEN_OP("fully_connected_int16x8", fully_connected_int16x8);
QKERN_GOLDEN_OP("transpose_conv2d", transpose_conv2d);
QKERN_GOLDEN_OP("batch_matmul", batch_matmul);

}  // namespace qkern_golden
