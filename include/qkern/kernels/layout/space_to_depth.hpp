// space_to_depth (NHWC, TFLite's DCR order): [N, H, W, C] -> [N, H/bs, W/bs, bs*bs*C], the
// inverse of depth_to_space. Output channel (by*bs + bx)*C + c of pixel (y, x) is channel c of
// input pixel (y*bs + by, x*bs + bx). Generic over the element type.
//
//   auto p = qkern::prepare_space_to_depth<std::int8_t>(input_shape, 2);
//   if (p) qkern::space_to_depth(*p, in, out);
#pragma once

#include <cstdint>

#include "qkern/core/quantization.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/layout/common.hpp"
#include "qkern/kernels/layout/strided_view.hpp"

namespace qkern {

template <class T>
struct space_to_depth_params {
  using element_type = T;
  std::int32_t block_size = 0;
  shape output;
  strided_view source;  // the input, read in the output's row-major order
};

template <class T>
constexpr result<space_to_depth_params<T>> prepare_space_to_depth(const shape& input_shape,
                                                                  std::int32_t block_size) noexcept {
  QKERN_TRY(validate_shape(input_shape, "input"));
  if (input_shape.rank != 4) {
    return status(status_code::invalid_shape, "must have rank 4 (NHWC)", "input", input_shape.rank);
  }
  if (block_size < 1) return status(status_code::invalid_argument, "must be positive", "block_size", block_size);
  const std::int64_t bs = block_size;
  const std::int64_t n = input_shape[0], h = input_shape[1], w = input_shape[2], c = input_shape[3];
  if (h % bs != 0) return status(status_code::invalid_shape, "height is not a multiple of block_size", "input", h);
  if (w % bs != 0) return status(status_code::invalid_shape, "width is not a multiple of block_size", "input", w);
  space_to_depth_params<T> p;
  p.block_size = block_size;
  p.output.rank = 4;
  p.output.dims[0] = input_shape[0];
  p.output.dims[1] = static_cast<std::int32_t>(h / bs);
  p.output.dims[2] = static_cast<std::int32_t>(w / bs);
  const auto block_area = detail::checked_extent(bs * bs, "block_size squared");
  if (!block_area.ok()) return block_area.error();
  const auto depth = detail::checked_extent(c * *block_area, "output");
  if (!depth.ok()) return depth.error();
  p.output.dims[3] = *depth;

  // The output walked row-major as [N, H/bs, W/bs, by, bx, C]: block position (by, bx) of
  // output pixel (y, x) is input pixel (y*bs + by, x*bs + bx).
  p.source.rank = 6;
  const std::int64_t extents[6] = {n, h / bs, w / bs, bs, bs, c};
  const std::int64_t strides[6] = {h * w * c, bs * w * c, bs * c, w * c, c, 1};
  for (int i = 0; i < 6; ++i) {
    p.source.extent[i] = extents[i];
    p.source.stride[i] = strides[i];
  }
  return p;
}

template <class T>
constexpr result<space_to_depth_params<T>> prepare_space_to_depth(const quantization_params& input,
                                                                  const shape& input_shape, std::int32_t block_size,
                                                                  const quantization_params& output) noexcept {
  QKERN_TRY(detail::require_same_quantization<T>(input, output));
  return prepare_space_to_depth<T>(input_shape, block_size);
}

namespace scalar {

template <class T>
constexpr void space_to_depth(const space_to_depth_params<T>& p, const T* input, T* output) noexcept {
  gather_strided(p.source, input, output);
}

}  // namespace scalar

template <class T>
constexpr void space_to_depth(const space_to_depth_params<T>& p, const T* input, T* output) noexcept {
  scalar::space_to_depth(p, input, output);
}

}  // namespace qkern
