// strided_slice with begin/end/shrink-axis masks and negative strides, as TFLite resolves
// them, for ranks 0..6 (TFLM stops at 4). Generic over the element type.
//
// Per axis of extent d and stride s != 0:
//   start = begin (+ d if negative), clamped to [0, d] (s > 0) or [-1, d - 1] (s < 0);
//           with the begin_mask bit: 0 (s > 0) or d - 1 (s < 0);
//   stop  = the same from end, or with the end_mask bit d (s > 0) or -1 (s < 0);
//   the axis takes start, start + s, ... while < stop (s > 0) or > stop (s < 0).
// A shrink_axis_mask bit takes the single index start and removes the axis; it needs a
// positive stride and an index inside [0, d) (TFLite leaves other cases unspecified).
// ellipsis_mask and new_axis_mask are not supported (TFLM ignores them; here they are refused);
// mask bits at or above the rank are ignored, as in TFLite.
//
//   const std::int32_t begin[2] = {0, -1}, end[2] = {4, 0}, strides[2] = {2, -1};
//   auto p = qkern::prepare_strided_slice<std::int8_t>(input_shape, begin, end, strides, 2, {});
//   if (p) qkern::strided_slice(*p, in, out);
#pragma once

#include <cstdint>

#include "qkern/core/quantization.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/layout/common.hpp"
#include "qkern/kernels/layout/strided_view.hpp"

namespace qkern {

// Bit k refers to axis k.
struct strided_slice_masks {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  std::uint32_t shrink_axis = 0;
  std::uint32_t ellipsis = 0;  // must be 0
  std::uint32_t new_axis = 0;  // must be 0
};

template <class T>
struct strided_slice_params {
  using element_type = T;
  shape output;         // shrunk axes removed
  strided_view source;  // the input, read in the output's row-major order
};

namespace detail {

constexpr std::int64_t clamp_index(std::int64_t v, std::int64_t lo, std::int64_t hi) noexcept {
  return v < lo ? lo : (v > hi ? hi : v);
}

// TFLite's start (masked) or stop (masked) index of one axis, before the direction's clamp.
constexpr std::int64_t resolve_slice_index(std::int32_t index, bool masked, std::int64_t masked_value,
                                           std::int64_t extent, std::int32_t stride) noexcept {
  if (masked) return masked_value;
  const std::int64_t v = index < 0 ? std::int64_t{index} + extent : index;
  return stride > 0 ? clamp_index(v, 0, extent) : clamp_index(v, -1, extent - 1);
}

}  // namespace detail

// begin, end and strides hold count (= the input's rank) entries each.
template <class T>
constexpr result<strided_slice_params<T>> prepare_strided_slice(const shape& input_shape, const std::int32_t* begin,
                                                                const std::int32_t* end, const std::int32_t* strides,
                                                                int count, const strided_slice_masks& masks) noexcept {
  QKERN_TRY(validate_shape(input_shape, "input"));
  if (count != input_shape.rank) {
    return status(status_code::invalid_argument, "must hold one entry per input dimension", "begin, end and strides",
                  count);
  }
  if (count > 0 && (begin == nullptr || end == nullptr || strides == nullptr)) {
    return status(status_code::invalid_argument, "is null", "begin, end or strides");
  }
  if (masks.ellipsis != 0) return status(status_code::unsupported_parameter, "is not supported", "ellipsis_mask");
  if (masks.new_axis != 0) return status(status_code::unsupported_parameter, "is not supported", "new_axis_mask");

  std::int64_t input_strides[max_rank] = {};
  detail::row_major_strides(input_shape, input_strides);
  strided_slice_params<T> p;
  bool empty = false;
  for (int k = 0; k < count; ++k) {
    const std::int64_t d = input_shape.dims[k];
    const std::int32_t s = strides[k];
    const std::uint32_t bit = std::uint32_t{1} << k;
    if (s == 0) return status(status_code::invalid_argument, "stride is 0", "strides");

    if ((masks.shrink_axis & bit) != 0) {
      if (s < 0) {
        return status(status_code::unsupported_parameter, "a shrunk axis needs a positive stride", "strides", s);
      }
      const std::int64_t index = (masks.begin & bit) != 0 ? 0 : (begin[k] < 0 ? std::int64_t{begin[k]} + d : begin[k]);
      if (index < 0 || index >= d) {
        return status(status_code::invalid_argument, "index of a shrunk axis is outside the axis", "begin", begin[k]);
      }
      p.source.offset += index * input_strides[k];
      continue;
    }

    const std::int64_t start = detail::resolve_slice_index(begin[k], (masks.begin & bit) != 0, s > 0 ? 0 : d - 1, d, s);
    const std::int64_t stop = detail::resolve_slice_index(end[k], (masks.end & bit) != 0, s > 0 ? d : -1, d, s);
    const std::int64_t distance = s > 0 ? stop - start : start - stop;
    const std::int64_t step = s > 0 ? s : -std::int64_t{s};
    const std::int64_t taken = distance > 0 ? (distance + step - 1) / step : 0;
    if (taken == 0) {
      empty = true;
    } else {
      p.source.offset += start * input_strides[k];
    }
    p.output.dims[p.output.rank++] = static_cast<std::int32_t>(taken);
    p.source.extent[p.source.rank] = taken;
    p.source.stride[p.source.rank++] = std::int64_t{s} * input_strides[k];
  }
  if (empty) p.source.offset = 0;  // nothing is read
  return p;
}

template <class T>
constexpr result<strided_slice_params<T>> prepare_strided_slice(const quantization_params& input,
                                                                const shape& input_shape, const std::int32_t* begin,
                                                                const std::int32_t* end, const std::int32_t* strides,
                                                                int count, const strided_slice_masks& masks,
                                                                const quantization_params& output) noexcept {
  QKERN_TRY(detail::require_same_quantization<T>(input, output));
  return prepare_strided_slice<T>(input_shape, begin, end, strides, count, masks);
}

namespace scalar {

template <class T>
constexpr void strided_slice(const strided_slice_params<T>& p, const T* input, T* output) noexcept {
  gather_strided(p.source, input, output);
}

}  // namespace scalar

// output (shape p.output) = the selected elements of input, in order.
template <class T>
constexpr void strided_slice(const strided_slice_params<T>& p, const T* input, T* output) noexcept {
  scalar::strided_slice(p, input, output);
}

}  // namespace qkern
