// Golden ops for the pooling and layout kernels: max_pool2d, average_pool2d (int8, int16), mean,
// pad, concatenation, transpose, strided_slice, depth_to_space, space_to_depth and
// resize_nearest_neighbor. Each op runs prepare, compares every `derived` field qkern has, then
// runs eval and compares the output's shape and data.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "golden.hpp"
#include "qkern/kernels/layout.hpp"
#include "qkern/kernels/pooling.hpp"

namespace qkern_golden {
namespace {

// Compares derived[object][key], e.g. derived.padding.width.
template <class T>
void expect_derived_field(case_checker& check, const json& c, const std::string& object, const std::string& key,
                          const T& actual) {
  check.expect("derived." + object + "." + key, c.at("derived").at(object).at(key).get<T>(), actual);
}

// Runs a one-input eval into a buffer of output_shape and compares shape and data with `output`.
template <class T, class Eval>
void run_unary(const json& c, case_checker& check, const std::vector<T>& input, const qkern::shape& output_shape,
               Eval eval) {
  std::vector<T> out(static_cast<std::size_t>(output_shape.element_count()));
  eval(input.data(), out.data());
  check.expect_tensor("output.shape", shape_extents(c.at("output")), shape_extents(output_shape));
  check.expect_tensor("output", tensor_data<T>(c.at("output")), out);
}

// The input and output quantizations every layout case carries.
qkern::quantization_params input_quantization(const json& c) { return read_quantization(c.at("params").at("input")); }
qkern::quantization_params output_quantization(const json& c) { return read_quantization(c.at("params").at("output")); }

// --- max_pool2d, average_pool2d ------------------------------------------------------------------

qkern::pool2d_window read_window(const json& params) {
  qkern::pool2d_window w;
  w.filter_height = params.at("filter_h").get<std::int32_t>();
  w.filter_width = params.at("filter_w").get<std::int32_t>();
  w.stride_height = params.at("stride_h").get<std::int32_t>();
  w.stride_width = params.at("stride_w").get<std::int32_t>();
  const std::string padding = params.at("padding").get<std::string>();
  if (padding != "SAME" && padding != "VALID") throw std::runtime_error("unknown padding " + padding);
  w.padding = padding == "SAME" ? qkern::pool_padding::same : qkern::pool_padding::valid;
  return w;
}

template <class T, bool is_max>
void run_pool(const json& c, case_checker& check) {
  const json& params = c.at("params");
  const json& in = input_tensor(c, "input");
  const auto prepare = is_max ? &qkern::prepare_max_pool2d<T> : &qkern::prepare_average_pool2d<T>;
  const auto p = prepare(input_quantization(c), tensor_shape(in), output_quantization(c), read_window(params),
                         read_activation(params));
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_derived_field(check, c, "padding", "width", p->padding.width);
  expect_derived_field(check, c, "padding", "height", p->padding.height);
  expect_derived_field(check, c, "padding", "width_offset", p->padding.width_offset);
  expect_derived_field(check, c, "padding", "height_offset", p->padding.height_offset);
  expect_derived(check, c, "quantized_activation_min", p->output_activation_min);
  expect_derived(check, c, "quantized_activation_max", p->output_activation_max);
  run_unary<T>(c, check, tensor_data<T>(in), p->output, [&](const T* x, T* y) {
    if constexpr (is_max) {
      qkern::max_pool2d(*p, x, y);
    } else {
      qkern::average_pool2d(*p, x, y);
    }
  });
}

template <class Policy>
void max_pool2d(const json& c, case_checker& check) {
  run_pool<std::int8_t, true>(c, check);
}
template <class Policy>
void max_pool2d_int16(const json& c, case_checker& check) {
  run_pool<std::int16_t, true>(c, check);
}
template <class Policy>
void average_pool2d(const json& c, case_checker& check) {
  run_pool<std::int8_t, false>(c, check);
}
template <class Policy>
void average_pool2d_int16(const json& c, case_checker& check) {
  run_pool<std::int16_t, false>(c, check);
}

// --- mean ----------------------------------------------------------------------------------------

template <class T, class Policy>
void run_mean(const json& c, case_checker& check) {
  const json& in = input_tensor(c, "input");
  const std::vector<std::int32_t> axes = tensor_data<std::int32_t>(input_tensor(c, "axis"));
  const auto p = qkern::prepare_mean<T, Policy>(input_quantization(c), tensor_shape(in), axes.data(),
                                                static_cast<int>(axes.size()), output_quantization(c),
                                                c.at("params").at("keep_dims").get<bool>());
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_derived_multiplier(check, c, "multiplier", "shift", p->multiplier);
  expect_derived(check, c, "input_zero_point", p->input_zero_point);
  expect_derived(check, c, "output_zero_point", p->output_zero_point);
  expect_derived(check, c, "num_output_elements", p->output_count);
  run_unary<T>(c, check, tensor_data<T>(in), p->output, [&](const T* x, T* y) { qkern::mean(*p, x, y); });
}

template <class Policy>
void mean(const json& c, case_checker& check) {
  const std::string dtype = c.at("dtype").get<std::string>();
  if (dtype == "int8") return run_mean<std::int8_t, Policy>(c, check);
  if (dtype == "int16") return run_mean<std::int16_t, Policy>(c, check);
  check.expect<std::string>("dtype", "int8 or int16", dtype);
}

// --- pad -----------------------------------------------------------------------------------------

template <class Policy>
void pad(const json& c, case_checker& check) {
  using T = std::int8_t;
  const json& in = input_tensor(c, "input");
  const std::vector<std::int32_t> paddings = tensor_data<std::int32_t>(input_tensor(c, "paddings"));
  const qkern::shape shape = tensor_shape(in);
  const int pairs = static_cast<int>(paddings.size() / 2);
  const std::string variant = c.at("params").at("variant").get<std::string>();
  qkern::result<qkern::pad_params<T>> p = qkern::status(qkern::status_code::invalid_argument, "unknown variant");
  if (variant == "PAD") {
    p = qkern::prepare_pad<T>(input_quantization(c), shape, paddings.data(), pairs, output_quantization(c));
  } else if (variant == "PADV2") {
    // The constant shares the output's quantization (the README's contract for these cases).
    const T constant = tensor_data<T>(input_tensor(c, "constant_values")).at(0);
    p = qkern::prepare_padv2<T>(input_quantization(c), shape, paddings.data(), pairs, output_quantization(c), constant,
                                output_quantization(c));
  }
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_derived(check, c, "pad_value", std::int32_t{p->pad_value});
  run_unary<T>(c, check, tensor_data<T>(in), p->output, [&](const T* x, T* y) { qkern::pad(*p, x, y); });
}

// --- concatenation -------------------------------------------------------------------------------

template <class Policy>
void concatenation(const json& c, case_checker& check) {
  using T = std::int8_t;
  const json& params = c.at("params");
  const int count = params.at("num_inputs").get<int>();
  std::vector<qkern::quantization_params> quantizations;
  std::vector<qkern::shape> shapes;
  std::vector<std::vector<T>> data;
  for (int i = 0; i < count; ++i) {
    const json& in = input_tensor(c, ("input" + std::to_string(i)).c_str());
    quantizations.push_back(read_quantization(params.at("inputs").at(static_cast<std::size_t>(i))));
    shapes.push_back(tensor_shape(in));
    data.push_back(tensor_data<T>(in));
  }
  const auto p = qkern::prepare_concatenation<T, Policy>(quantizations.data(), shapes.data(), count,
                                                         output_quantization(c), params.at("axis").get<int>());
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_derived(check, c, "axis", p->axis);
  expect_derived(check, c, "inputs_count", p->input_count);
  std::vector<const T*> inputs;
  for (const auto& d : data) inputs.push_back(d.data());
  std::vector<T> out(static_cast<std::size_t>(p->output.element_count()));
  qkern::concatenation(*p, inputs.data(), out.data());
  check.expect_tensor("output.shape", shape_extents(c.at("output")), shape_extents(p->output));
  check.expect_tensor("output", tensor_data<T>(c.at("output")), out);
}

// --- transpose -----------------------------------------------------------------------------------

template <class Policy>
void transpose(const json& c, case_checker& check) {
  using T = std::int8_t;
  const json& in = input_tensor(c, "input");
  const std::vector<std::int32_t> perm = tensor_data<std::int32_t>(input_tensor(c, "perm"));
  check.expect_tensor("params.perm", c.at("params").at("perm").get<std::vector<std::int32_t>>(), perm);
  const auto p = qkern::prepare_transpose<T>(input_quantization(c), tensor_shape(in), perm.data(),
                                             static_cast<int>(perm.size()), output_quantization(c));
  if (!p.ok()) return check.prepare_failed(p.error());
  run_unary<T>(c, check, tensor_data<T>(in), p->output, [&](const T* x, T* y) { qkern::transpose(*p, x, y); });
}

// --- strided_slice -------------------------------------------------------------------------------

template <class Policy>
void strided_slice(const json& c, case_checker& check) {
  using T = std::int8_t;
  const json& params = c.at("params");
  const json& in = input_tensor(c, "input");
  const std::vector<std::int32_t> begin = tensor_data<std::int32_t>(input_tensor(c, "begin"));
  const std::vector<std::int32_t> end = tensor_data<std::int32_t>(input_tensor(c, "end"));
  const std::vector<std::int32_t> strides = tensor_data<std::int32_t>(input_tensor(c, "strides"));
  if (begin.size() != end.size() || begin.size() != strides.size()) {
    throw std::runtime_error("begin, end and strides differ in length");
  }
  if (params.at("offset").get<bool>()) throw std::runtime_error("offset = true is not generated");
  qkern::strided_slice_masks masks;
  masks.begin = params.at("begin_mask").get<std::uint32_t>();
  masks.end = params.at("end_mask").get<std::uint32_t>();
  masks.shrink_axis = params.at("shrink_axis_mask").get<std::uint32_t>();
  masks.ellipsis = params.at("ellipsis_mask").get<std::uint32_t>();
  masks.new_axis = params.at("new_axis_mask").get<std::uint32_t>();
  const auto p =
      qkern::prepare_strided_slice<T>(input_quantization(c), tensor_shape(in), begin.data(), end.data(), strides.data(),
                                      static_cast<int>(begin.size()), masks, output_quantization(c));
  if (!p.ok()) return check.prepare_failed(p.error());
  run_unary<T>(c, check, tensor_data<T>(in), p->output, [&](const T* x, T* y) { qkern::strided_slice(*p, x, y); });
}

// --- depth_to_space, space_to_depth ----------------------------------------------------------------

template <class Policy>
void depth_to_space(const json& c, case_checker& check) {
  using T = std::int8_t;
  const json& in = input_tensor(c, "input");
  const auto p =
      qkern::prepare_depth_to_space<T>(input_quantization(c), tensor_shape(in),
                                       c.at("params").at("block_size").get<std::int32_t>(), output_quantization(c));
  if (!p.ok()) return check.prepare_failed(p.error());
  run_unary<T>(c, check, tensor_data<T>(in), p->output, [&](const T* x, T* y) { qkern::depth_to_space(*p, x, y); });
}

template <class Policy>
void space_to_depth(const json& c, case_checker& check) {
  using T = std::int8_t;
  const json& in = input_tensor(c, "input");
  const auto p =
      qkern::prepare_space_to_depth<T>(input_quantization(c), tensor_shape(in),
                                       c.at("params").at("block_size").get<std::int32_t>(), output_quantization(c));
  if (!p.ok()) return check.prepare_failed(p.error());
  run_unary<T>(c, check, tensor_data<T>(in), p->output, [&](const T* x, T* y) { qkern::space_to_depth(*p, x, y); });
}

// --- resize_nearest_neighbor ---------------------------------------------------------------------

template <class Policy>
void resize_nearest_neighbor(const json& c, case_checker& check) {
  using T = std::int8_t;
  const json& params = c.at("params");
  const json& in = input_tensor(c, "input");
  const std::vector<std::int32_t> size = tensor_data<std::int32_t>(input_tensor(c, "size"));
  if (size.size() != 2) throw std::runtime_error("size must hold [out_h, out_w]");
  qkern::resize_options options;
  options.align_corners = params.at("align_corners").get<bool>();
  options.half_pixel_centers = params.at("half_pixel_centers").get<bool>();
  const auto p = qkern::prepare_resize_nearest_neighbor<T>(input_quantization(c), tensor_shape(in), size[0], size[1],
                                                           options, output_quantization(c));
  if (!p.ok()) return check.prepare_failed(p.error());
  run_unary<T>(c, check, tensor_data<T>(in), p->output,
               [&](const T* x, T* y) { qkern::resize_nearest_neighbor(*p, x, y); });
}

}  // namespace

QKERN_GOLDEN_OP("max_pool2d", max_pool2d);
QKERN_GOLDEN_OP("max_pool2d_int16", max_pool2d_int16);
QKERN_GOLDEN_OP("average_pool2d", average_pool2d);
QKERN_GOLDEN_OP("average_pool2d_int16", average_pool2d_int16);
QKERN_GOLDEN_OP("mean", mean);
QKERN_GOLDEN_OP("pad", pad);
QKERN_GOLDEN_OP("concatenation", concatenation);
QKERN_GOLDEN_OP("transpose", transpose);
QKERN_GOLDEN_OP("strided_slice", strided_slice);
QKERN_GOLDEN_OP("depth_to_space", depth_to_space);
QKERN_GOLDEN_OP("space_to_depth", space_to_depth);
QKERN_GOLDEN_OP("resize_nearest_neighbor", resize_nearest_neighbor);

}  // namespace qkern_golden
