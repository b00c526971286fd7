// The GEMM form shared by conv2d and fully connected (int8): which input values each output row
// reads (its "taps"), and the scalar evaluation of packed weights (packed_weights.hpp), which
// is the packed path when there is no SIMD and the model the SIMD driver (gemm_simd.hpp)
// follows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qkern/kernels/conv/packed_weights.hpp"
#include "qkern/simd/constant_evaluation.hpp"

namespace qkern {
namespace detail {

// Packed storage must hold int64 constants at their natural alignment.
inline constexpr std::size_t packed_storage_alignment = alignof(packed_block_header);

// The rows of a GEMM-form op and where their taps read. Row r of group g, tap t reads
// `segment` int8 values starting at tap_pointer(origin(r, g), t), or the zero-point row where
// the tap falls into padding.
struct gemm_rows {
  const std::int8_t* input = nullptr;
  const std::int8_t* input_end = nullptr;  // loads never reach past this
  std::int32_t rows = 0;
  // direct rows (fully connected; conv 1x1, stride 1): row r, group g starts at
  // input + r·row_stride + g·segment, and there is one tap
  bool direct = true;
  std::size_t row_stride = 0;
  // conv rows: NHWC input [batch, in_h, in_w, in_c], output pixels [batch, out_h, out_w]
  std::int32_t in_h = 1, in_w = 1, in_c = 1, out_h = 1, out_w = 1;
  std::int32_t kernel_w = 1;
  std::int32_t stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1, pad_h = 0, pad_w = 0;
  std::int32_t segment = 0;  // input channels per group
};

// One row's position: its first input value (batch and group applied) and, for conv, the
// input coordinates its filter window starts at.
struct row_origin {
  const std::int8_t* base = nullptr;
  std::int32_t iy = 0;
  std::int32_t ix = 0;
};

inline row_origin origin_of(const gemm_rows& g, std::int32_t r, std::int32_t group) noexcept {
  const std::size_t channel = static_cast<std::size_t>(group) * static_cast<std::size_t>(g.segment);
  if (g.direct) return {g.input + static_cast<std::size_t>(r) * g.row_stride + channel, 0, 0};
  const std::int32_t per_image = g.out_h * g.out_w;
  const std::int32_t b = r / per_image;
  const std::int32_t pixel = r - b * per_image;
  const std::int32_t oy = pixel / g.out_w;
  const std::int32_t ox = pixel - oy * g.out_w;
  const std::size_t image = static_cast<std::size_t>(b) * static_cast<std::size_t>(g.in_h) *
                            static_cast<std::size_t>(g.in_w) * static_cast<std::size_t>(g.in_c);
  return {g.input + image + channel, oy * g.stride_h - g.pad_h, ox * g.stride_w - g.pad_w};
}

// Pixel (iy, ix), inside the input, of the image (batch and group applied) at `image`.
inline const std::int8_t* pixel_pointer(const gemm_rows& g, const std::int8_t* image, std::int32_t iy,
                                        std::int32_t ix) noexcept {
  return image + (static_cast<std::size_t>(iy) * static_cast<std::size_t>(g.in_w) + static_cast<std::size_t>(ix)) *
                     static_cast<std::size_t>(g.in_c);
}

// Where the tap at filter row fy, column fx of a row starts; `zero_row` where it is padding.
inline const std::int8_t* tap_pointer_at(const gemm_rows& g, const row_origin& o, std::int32_t fy, std::int32_t fx,
                                         const std::int8_t* zero_row) noexcept {
  if (g.direct) return o.base;
  const std::int32_t iy = o.iy + fy * g.dilation_h;
  const std::int32_t ix = o.ix + fx * g.dilation_w;
  if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) return zero_row;
  return pixel_pointer(g, o.base, iy, ix);
}

// Where tap t = fy·kernel_w + fx of a row starts; `zero_row` where the tap is padding.
inline const std::int8_t* tap_pointer(const gemm_rows& g, const row_origin& o, std::int32_t t,
                                      const std::int8_t* zero_row) noexcept {
  if (g.direct) return o.base;
  const std::int32_t fy = t / g.kernel_w;
  return tap_pointer_at(g, o, fy, t - fy * g.kernel_w, zero_row);
}

// Output rows: row r, group g, channel c of the group at output[r·stride + g·group_outputs + c].
struct gemm_output {
  std::int8_t* data = nullptr;
  std::size_t row_stride = 0;
};

// The packed weights evaluated one element at a time: acc = the header's signed-input bias +
// Σ x·w over the packed k-groups, then requantize(acc, channel) for each real channel.
// Requantize is the op's scalar step (Policy::multiply + offset + clamp), so this equals the
// scalar reference for any packed block kind.
template <class Requantize>
void packed_gemm_scalar(const packed_weights& w, const gemm_rows& rows, const gemm_output& out,
                        Requantize requantize) noexcept {
  for (std::int32_t group = 0; group < w.groups; ++group) {
    for (std::int32_t r = 0; r < rows.rows; ++r) {
      const row_origin origin = origin_of(rows, r, group);
      for (std::int32_t blk = 0; blk < w.blocks_per_group; ++blk) {
        const unsigned char* block = w.block(group, blk);
        const packed_block_header h = read_block_header(block);
        std::int32_t acc[packed_block_channels];
        for (std::int32_t l = 0; l < packed_block_channels; ++l) acc[l] = h.bias_signed[l];
        const unsigned char* k_groups = block + sizeof(packed_block_header);
        for (std::int32_t t = 0; t < w.taps; ++t) {
          const std::int8_t* x = tap_pointer(rows, origin, t, w.zero_row());
          for (std::int32_t i = 0; i < w.segment; ++i) {
            const std::size_t group_index =
                static_cast<std::size_t>(t) * static_cast<std::size_t>(w.segment_groups) + static_cast<std::size_t>(i / 4);
            const unsigned char* lane0 = k_groups + group_index * packed_k_group_bytes + static_cast<std::size_t>(i % 4);
            for (std::int32_t l = 0; l < packed_block_channels; ++l) {
              std::int8_t weight;
              std::memcpy(&weight, lane0 + 4 * l, 1);
              // Wrapping sum: the true total fits int32, so the wrapped one lands on it.
              acc[l] = static_cast<std::int32_t>(static_cast<std::uint32_t>(acc[l]) +
                                                 static_cast<std::uint32_t>(std::int32_t{x[i]} * weight));
            }
          }
        }
        const std::int32_t first = blk * packed_block_channels;
        for (std::int32_t l = 0; l < packed_block_channels && first + l < w.group_outputs; ++l) {
          const std::int32_t channel = group * w.group_outputs + first + l;
          out.data[static_cast<std::size_t>(r) * out.row_stride + static_cast<std::size_t>(channel)] =
              requantize(acc[l], channel);
        }
      }
    }
  }
}

}  // namespace detail
}  // namespace qkern
