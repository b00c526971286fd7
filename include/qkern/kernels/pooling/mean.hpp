// mean (int8, int16) over any set of axes, with keep_dims; the usual case is a global average
// pool over H and W of an NHWC tensor. Follows TFLM: prepare derives s_in / s_out as a
// quantized multiplier, and the division by the number of reduced elements is folded into it.
//
//   const std::int32_t axes[2] = {1, 2};
//   auto p = qkern::prepare_mean<std::int8_t, qkern::double_rounding>(q_in, input_shape, axes, 2, q_out, true);
//   if (p) qkern::mean(*p, in, out);                     // out has p->output's shape
#pragma once

#include <cstdint>
#include <limits>

#include "qkern/core/fixed_point.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/elementwise/common.hpp"
#include "qkern/kernels/layout/common.hpp"
#include "qkern/kernels/layout/strided_view.hpp"

namespace qkern {

template <class T, class Policy = double_rounding>
struct mean_params {
  static_assert(detail::is_int8_or_int16<T>, "mean is defined for int8 and int16");
  using element_type = T;
  using policy = Policy;
  using multiplier_type = typename Policy::multiplier_type;

  multiplier_type multiplier{};       // s_in / s_out, as TFLM's Prepare derives it
  multiplier_type mean_multiplier{};  // multiplier / reduced_count, as TFLM's Eval folds it
  std::int32_t input_zero_point = 0;
  std::int32_t output_zero_point = 0;
  std::int64_t reduced_count = 0;  // input elements averaged into each output element
  std::int64_t output_count = 0;
  shape output;
  strided_view outer;    // the kept axes in output order: the first input element of each output
  strided_view reduced;  // the reduced axes, relative to that element
};

namespace detail {

constexpr int floor_log2(std::int64_t n) noexcept {
  int log = 0;
  while (n > 1) {
    n >>= 1;
    ++log;
  }
  return log;
}

// TFLM's folding of 1/count into (m, shift): k = min(floor(log2(count)), 32, 31 + shift) extra
// bits of precision, m' = (m << k) / count (truncating), shift' = shift - k. With 2^k <= count
// the new multiplier stays below 2^31, and shift' >= -31.
constexpr quantized_multiplier fold_count_into_multiplier(quantized_multiplier m, std::int64_t count) noexcept {
  int k = floor_log2(count);
  if (k > 32) k = 32;
  if (k > 31 + m.shift) k = 31 + m.shift;
  if (k < 0) k = 0;
  const std::int64_t folded = (static_cast<std::int64_t>(m.multiplier) << k) / count;
  return {static_cast<std::int32_t>(folded), m.shift - k};
}

}  // namespace detail

// axes holds axis_count entries in [-rank, rank), in any order; repeats count once. With
// keep_dims the reduced axes stay with extent 1, otherwise they are removed.
template <class T, class Policy = double_rounding>
constexpr result<mean_params<T, Policy>> prepare_mean(const quantization_params& input, const shape& input_shape,
                                                      const std::int32_t* axes, int axis_count,
                                                      const quantization_params& output, bool keep_dims) noexcept {
  QKERN_TRY(validate_quantization<T>(input, "input"));
  QKERN_TRY(validate_quantization<T>(output, "output"));
  QKERN_TRY(validate_shape(input_shape, "input"));
  if (axis_count < 0) return status(status_code::invalid_argument, "count is negative", "axis", axis_count);
  if (axes == nullptr && axis_count > 0) return status(status_code::invalid_argument, "is null", "axis");
  bool reduce[max_rank] = {};
  for (int i = 0; i < axis_count; ++i) {
    const auto a = detail::normalize_axis(axes[i], input_shape.rank, "axis");
    if (!a.ok()) return a.error();
    reduce[*a] = true;
  }

  mean_params<T, Policy> p;
  std::int64_t strides[max_rank] = {};
  detail::row_major_strides(input_shape, strides);
  p.reduced_count = 1;
  for (int d = 0; d < input_shape.rank; ++d) {
    if (reduce[d]) {
      p.reduced_count *= input_shape.dims[d];
      p.reduced.extent[p.reduced.rank] = input_shape.dims[d];
      p.reduced.stride[p.reduced.rank++] = strides[d];
      if (keep_dims) p.output.dims[p.output.rank++] = 1;
    } else {
      p.outer.extent[p.outer.rank] = input_shape.dims[d];
      p.outer.stride[p.outer.rank++] = strides[d];
      p.output.dims[p.output.rank++] = input_shape.dims[d];
    }
  }
  if (p.reduced_count == 0) return status(status_code::invalid_shape, "a reduced axis has extent 0", "input");
  p.output_count = p.output.element_count();

  const auto m = Policy::quantize(static_cast<double>(input.scale) / static_cast<double>(output.scale));
  if (!m.ok()) return m.error().about("output");
  p.multiplier = *m;
  p.mean_multiplier = detail::fold_count_into_multiplier(*m, p.reduced_count);
  p.input_zero_point = input.zero_point;
  p.output_zero_point = output.zero_point;
  return p;
}

// One output element from the sum of its reduced inputs: clamp(MBQM(sum - zp_in*count, m', shift')
// + zp_out). TFLM's sum is an int32; here it is exact in int64 and saturated to int32, which
// agrees wherever TFLM's does not overflow.
template <class T, class Policy>
constexpr T mean_element(const mean_params<T, Policy>& p, std::int64_t sum) noexcept {
  const std::int32_t centered = saturating_cast<std::int32_t>(sum - p.input_zero_point * p.reduced_count);
  return detail::saturate_narrow<T>(std::int64_t{Policy::multiply(centered, p.mean_multiplier)} + p.output_zero_point);
}

namespace scalar {

template <class T, class Policy>
constexpr void mean(const mean_params<T, Policy>& p, const T* input, T* output) noexcept {
  detail::for_each_offset(p.outer, [&](std::int64_t first) {
    strided_view window = p.reduced;
    window.offset = first;
    std::int64_t sum = 0;
    detail::for_each_offset(window, [&](std::int64_t offset) { sum += input[offset]; });
    *output++ = mean_element(p, sum);
  });
}

}  // namespace scalar

// output (p.output_count elements, shape p.output) = the requantized mean over the axes.
template <class T, class Policy>
constexpr void mean(const mean_params<T, Policy>& p, const T* input, T* output) noexcept {
  scalar::mean(p, input, output);
}

}  // namespace qkern
