// concatenation: up to max_concatenation_inputs tensors laid one after another along `axis`
// (negative counts from the end), ranks 1..6.
//
// Generic over the element type as pure data movement. The quantized overload (int8, int16)
// also accepts inputs whose quantization differs from the output's: those are requantized
// element by element with requantize's arithmetic (clamp(MBQM(q - zp_in, s_in/s_out) + zp_out)),
// which is what a converter's explicit requantize op in front of TFLM's concatenation (it
// requires equal quantizations) computes. Inputs already in the output's quantization are copied.
//
//   const qkern::shape shapes[2] = {a_shape, b_shape};
//   const qkern::quantization_params quants[2] = {qa, qb};
//   auto p = qkern::prepare_concatenation<std::int8_t, qkern::double_rounding>(quants, shapes, 2, q_out, -1);
//   const std::int8_t* inputs[2] = {a, b};
//   if (p) qkern::concatenation(*p, inputs, out);
#pragma once

#include <cstdint>

#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/elementwise/common.hpp"
#include "qkern/kernels/elementwise/quantize.hpp"
#include "qkern/kernels/layout/common.hpp"

namespace qkern {

inline constexpr int max_concatenation_inputs = 16;

namespace detail {

// How one input reaches the output: copied, or (quantized types only) requantized.
template <class T, class Policy, bool quantized = is_int8_or_int16<T>>
struct concatenation_rescale {
  bool active = false;
  requantize_params<T, T, Policy> requantize{};
};
template <class T, class Policy>
struct concatenation_rescale<T, Policy, false> {
  static constexpr bool active = false;
};

// "input0" ... "input15", the names TFLite's converter gives, for error messages.
constexpr const char* concatenation_input_name(int i) noexcept {
  constexpr const char* names[max_concatenation_inputs] = {
      "input0", "input1", "input2",  "input3",  "input4",  "input5",  "input6",  "input7",
      "input8", "input9", "input10", "input11", "input12", "input13", "input14", "input15"};
  return i >= 0 && i < max_concatenation_inputs ? names[i] : "input";
}

}  // namespace detail

template <class T, class Policy = double_rounding>
struct concatenation_params {
  using element_type = T;
  using policy = Policy;
  int axis = 0;  // non-negative
  int input_count = 0;
  shape output;
  std::int64_t outer_count = 0;  // product of the extents before axis
  // Elements each input contributes per outer step: its extent along axis times the product
  // of the extents after axis.
  std::int64_t chunk[max_concatenation_inputs] = {};
  detail::concatenation_rescale<T, Policy> rescale[max_concatenation_inputs] = {};
};

// Shapes agree in every dimension except axis, in [-rank, rank).
template <class T, class Policy = double_rounding>
constexpr result<concatenation_params<T, Policy>> prepare_concatenation(const shape* input_shapes, int input_count,
                                                                        int axis) noexcept {
  if (input_count < 1 || input_count > max_concatenation_inputs) {
    return status(status_code::invalid_argument, "count must lie in [1, 16]", "inputs", input_count);
  }
  if (input_shapes == nullptr) return status(status_code::invalid_argument, "is null", "input shapes");
  const shape& first = input_shapes[0];
  QKERN_TRY(validate_shape(first, "input0"));
  if (first.rank < 1) return status(status_code::invalid_shape, "rank must be at least 1", "input0");
  const auto resolved = detail::normalize_axis(axis, first.rank, "axis");
  if (!resolved.ok()) return resolved.error();

  concatenation_params<T, Policy> p;
  p.axis = *resolved;
  p.input_count = input_count;
  p.output = first;
  std::int64_t axis_total = 0;
  for (int i = 0; i < input_count; ++i) {
    const shape& s = input_shapes[i];
    const char* name = detail::concatenation_input_name(i);
    QKERN_TRY(validate_shape(s, name));
    if (s.rank != first.rank) return status(status_code::invalid_shape, "rank differs from input0's", name, s.rank);
    for (int d = 0; d < s.rank; ++d) {
      if (d != p.axis && s.dims[d] != first.dims[d]) {
        return status(status_code::invalid_shape, "extent off the concatenation axis differs from input0's", name,
                      s.dims[d]);
      }
    }
    axis_total += s.dims[p.axis];
  }
  const auto extent = detail::checked_extent(axis_total, "output");
  if (!extent.ok()) return extent.error();
  p.output.dims[p.axis] = *extent;
  QKERN_TRY(validate_shape(p.output, "output"));

  std::int64_t inner = 1;
  for (int d = p.axis + 1; d < first.rank; ++d) inner *= first.dims[d];
  p.outer_count = 1;
  for (int d = 0; d < p.axis; ++d) p.outer_count *= first.dims[d];
  for (int i = 0; i < input_count; ++i) p.chunk[i] = input_shapes[i].dims[p.axis] * inner;
  return p;
}

// int8 / int16: each input has its own quantization; those that differ from the output's are
// requantized with Policy.
template <class T, class Policy = double_rounding>
constexpr result<concatenation_params<T, Policy>> prepare_concatenation(const quantization_params* input_quantizations,
                                                                        const shape* input_shapes, int input_count,
                                                                        const quantization_params& output,
                                                                        int axis) noexcept {
  static_assert(detail::is_int8_or_int16<T>, "quantized concatenation is defined for int8 and int16");
  auto p = prepare_concatenation<T, Policy>(input_shapes, input_count, axis);
  if (!p.ok()) return p;
  if (input_quantizations == nullptr) return status(status_code::invalid_argument, "is null", "input quantizations");
  QKERN_TRY(validate_quantization<T>(output, "output"));
  concatenation_params<T, Policy> params = *p;
  for (int i = 0; i < input_count; ++i) {
    const quantization_params& q = input_quantizations[i];
    const char* name = detail::concatenation_input_name(i);
    QKERN_TRY(validate_quantization<T>(q, name));
    if (q.scale == output.scale && q.zero_point == output.zero_point) continue;
    const auto r = prepare_requantize<T, T, Policy>(q, output, input_shapes[i]);
    if (!r.ok()) return r.error().about(name);
    params.rescale[i].active = true;
    params.rescale[i].requantize = *r;
  }
  return params;
}

namespace scalar {

template <class T, class Policy>
constexpr void concatenation(const concatenation_params<T, Policy>& p, const T* const* inputs, T* output) noexcept {
  for (std::int64_t outer = 0; outer < p.outer_count; ++outer) {
    for (int i = 0; i < p.input_count; ++i) {
      const std::int64_t n = p.chunk[i];
      const T* from = inputs[i] + outer * n;
      if constexpr (detail::is_int8_or_int16<T>) {
        if (p.rescale[i].active) {
          for (std::int64_t j = 0; j < n; ++j) output[j] = requantize_element(p.rescale[i].requantize, from[j]);
          output += n;
          continue;
        }
      }
      for (std::int64_t j = 0; j < n; ++j) output[j] = from[j];
      output += n;
    }
  }
}

}  // namespace scalar

// inputs[i] points at input i (p.input_count of them); output has p.output's shape.
template <class T, class Policy>
constexpr void concatenation(const concatenation_params<T, Policy>& p, const T* const* inputs, T* output) noexcept {
  scalar::concatenation(p, inputs, output);
}

}  // namespace qkern
