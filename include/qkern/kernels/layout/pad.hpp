// pad (TFLite's PAD and PADV2): constant padding before and after every dimension, ranks 0..6
// (TFLM stops at 5). Generic over the element type; the quantized overloads derive the pad
// value as TFLM does: PAD pads with the output zero point (real 0), PADV2 with its constant,
// which must be quantized like the output.
//
//   const std::int32_t paddings[4][2] = {{0, 0}, {1, 1}, {1, 1}, {0, 0}};   // [rank][before, after]
//   auto p = qkern::prepare_pad<std::int8_t>(q, input_shape, &paddings[0][0], 4, q);
//   if (p) qkern::pad(*p, in, out);                                        // out has p->output's shape
#pragma once

#include <cstdint>

#include "qkern/core/quantization.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/layout/common.hpp"
#include "qkern/kernels/layout/strided_view.hpp"

namespace qkern {

template <class T>
struct pad_params {
  using element_type = T;
  shape output;
  std::int64_t output_count = 0;
  T pad_value{};
  strided_view destination;  // where the input's elements land in the output, in input order
};

// paddings holds pair_count (= the input's rank) pairs {before, after}, row-major like TFLite's
// int32 [rank, 2] paddings tensor; every entry must be >= 0.
template <class T>
constexpr result<pad_params<T>> prepare_pad(const shape& input_shape, const std::int32_t* paddings, int pair_count,
                                            T pad_value) noexcept {
  QKERN_TRY(validate_shape(input_shape, "input"));
  if (pair_count != input_shape.rank) {
    return status(status_code::invalid_argument, "must hold one {before, after} pair per input dimension", "paddings",
                  pair_count);
  }
  if (paddings == nullptr && pair_count > 0) return status(status_code::invalid_argument, "is null", "paddings");
  pad_params<T> p;
  p.pad_value = pad_value;
  p.output.rank = input_shape.rank;
  for (int i = 0; i < pair_count; ++i) {
    const std::int32_t before = paddings[2 * i];
    const std::int32_t after = paddings[2 * i + 1];
    if (before < 0 || after < 0) {
      return status(status_code::invalid_argument, "padding is negative", "paddings", before < 0 ? before : after);
    }
    const auto extent = detail::checked_extent(std::int64_t{input_shape.dims[i]} + before + after, "output");
    if (!extent.ok()) return extent.error();
    p.output.dims[i] = *extent;
  }
  QKERN_TRY(validate_shape(p.output, "output"));
  p.output_count = p.output.element_count();

  // The input's element (i_0, ..., i_{r-1}) goes to output (i_0 + before_0, ...).
  p.destination = detail::row_major_view(input_shape);
  detail::row_major_strides(p.output, p.destination.stride);
  for (int i = 0; i < pair_count; ++i) p.destination.offset += paddings[2 * i] * p.destination.stride[i];
  return p;
}

// PAD: the pad value is the output zero point. The output keeps the input's quantization.
template <class T>
constexpr result<pad_params<T>> prepare_pad(const quantization_params& input, const shape& input_shape,
                                            const std::int32_t* paddings, int pair_count,
                                            const quantization_params& output) noexcept {
  QKERN_TRY(detail::require_same_quantization<T>(input, output));
  return prepare_pad<T>(input_shape, paddings, pair_count, static_cast<T>(output.zero_point));
}

// PADV2: pads with constant_value, a scalar tensor whose quantization must be the output's.
template <class T>
constexpr result<pad_params<T>> prepare_padv2(const quantization_params& input, const shape& input_shape,
                                              const std::int32_t* paddings, int pair_count,
                                              const quantization_params& output, T constant_value,
                                              const quantization_params& constant) noexcept {
  QKERN_TRY(detail::require_same_quantization<T>(input, output));
  QKERN_TRY(validate_quantization<T>(constant, "constant_values"));
  if (constant.scale != output.scale || constant.zero_point != output.zero_point) {
    return status(status_code::unsupported_parameter, "must have the output's scale and zero point", "constant_values");
  }
  return prepare_pad<T>(input_shape, paddings, pair_count, constant_value);
}

namespace scalar {

template <class T>
constexpr void pad(const pad_params<T>& p, const T* input, T* output) noexcept {
  for (std::int64_t i = 0; i < p.output_count; ++i) output[i] = p.pad_value;
  scatter_strided(p.destination, input, output);
}

}  // namespace scalar

// output (shape p.output) = input surrounded by p.pad_value.
template <class T>
constexpr void pad(const pad_params<T>& p, const T* input, T* output) noexcept {
  scalar::pad(p, input, output);
}

}  // namespace qkern
