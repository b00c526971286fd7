// depth_to_space (NHWC, TFLite's DCR order): [N, H, W, bs*bs*C] -> [N, H*bs, W*bs, C]. Output
// pixel (y, x) takes channels ((y % bs)*bs + x % bs)*C ... + C - 1 of input pixel (y/bs, x/bs).
// Generic over the element type.
//
//   auto p = qkern::prepare_depth_to_space<std::int8_t>(input_shape, 2);
//   if (p) qkern::depth_to_space(*p, in, out);
#pragma once

#include <cstdint>

#include "qkern/core/quantization.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/layout/common.hpp"
#include "qkern/kernels/layout/strided_view.hpp"

#if QKERN_SIMD
#include "qkern/simd/arch.hpp"
#include "qkern/simd/constant_evaluation.hpp"
#include "qkern/simd/strided_copy.hpp"
#endif

namespace qkern {

template <class T>
struct depth_to_space_params {
  using element_type = T;
  std::int32_t block_size = 0;
  shape output;
  strided_view source;  // the input, read in the output's row-major order
};

template <class T>
constexpr result<depth_to_space_params<T>> prepare_depth_to_space(const shape& input_shape,
                                                                  std::int32_t block_size) noexcept {
  QKERN_TRY(validate_shape(input_shape, "input"));
  if (input_shape.rank != 4) {
    return status(status_code::invalid_shape, "must have rank 4 (NHWC)", "input", input_shape.rank);
  }
  if (block_size < 1) return status(status_code::invalid_argument, "must be positive", "block_size", block_size);
  const std::int64_t bs = block_size;
  const std::int64_t n = input_shape[0], h = input_shape[1], w = input_shape[2], c = input_shape[3];
  if (c % (bs * bs) != 0) {
    return status(status_code::invalid_shape, "channel count is not a multiple of block_size squared", "input", c);
  }
  const std::int64_t depth = c / (bs * bs);
  depth_to_space_params<T> p;
  p.block_size = block_size;
  p.output.rank = 4;
  p.output.dims[0] = input_shape[0];
  const auto height = detail::checked_extent(h * bs, "output");
  if (!height.ok()) return height.error();
  const auto width = detail::checked_extent(w * bs, "output");
  if (!width.ok()) return width.error();
  p.output.dims[1] = *height;
  p.output.dims[2] = *width;
  p.output.dims[3] = static_cast<std::int32_t>(depth);

  // The output walked row-major as [N, H, by, W, bx, C] is [N, H*bs, W*bs, C]; input pixel
  // (h, w) holds block position (by, bx) at channel offset (by*bs + bx)*C.
  p.source.rank = 6;
  const std::int64_t extents[6] = {n, h, bs, w, bs, depth};
  const std::int64_t strides[6] = {h * w * c, w * c, bs * depth, c, depth, 1};
  for (int i = 0; i < 6; ++i) {
    p.source.extent[i] = extents[i];
    p.source.stride[i] = strides[i];
  }
  return p;
}

template <class T>
constexpr result<depth_to_space_params<T>> prepare_depth_to_space(const quantization_params& input,
                                                                  const shape& input_shape, std::int32_t block_size,
                                                                  const quantization_params& output) noexcept {
  QKERN_TRY(detail::require_same_quantization<T>(input, output));
  return prepare_depth_to_space<T>(input_shape, block_size);
}

namespace scalar {

template <class T>
constexpr void depth_to_space(const depth_to_space_params<T>& p, const T* input, T* output) noexcept {
  gather_strided(p.source, input, output);
}

}  // namespace scalar

// --- the SIMD path ---------------------------------------------------------------------------

#if QKERN_SIMD
namespace simd {

// The block copy (simd/strided_copy.hpp): each output row is block_size · depth contiguous
// input elements per input pixel, one memcpy each; the same elements as the scalar walk.
template <class A = default_arch, class T>
void depth_to_space(const depth_to_space_params<T>& p, const T* input, T* output) noexcept {
  simd::gather_strided<A>(p.source, input, output);
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public eval -------------------------------------------------------------------------

// output (shape p.output) = the input's channel blocks moved into space. The block copy when
// qkern is built with SIMD (the scalar reference in constant expressions); both give the same
// elements.
template <class T>
constexpr void depth_to_space(const depth_to_space_params<T>& p, const T* input, T* output) noexcept {
#if QKERN_SIMD
  if (!simd::in_constant_evaluation()) {
    simd::depth_to_space(p, input, output);
    return;
  }
#endif
  scalar::depth_to_space(p, input, output);
}

}  // namespace qkern
