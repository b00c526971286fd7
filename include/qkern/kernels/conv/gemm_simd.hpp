// The SIMD evaluation of the GEMM form (gemm.hpp) over packed weights (packed_weights.hpp),
// shared by conv2d and fully connected (int8).
//
// A tile is MR rows x NB blocks (16 output channels each). Its accumulators stay in registers
// for the whole reduction: for every tap, for every k-group of 4 input values, the NB·16
// channels' weights are loaded once and every row's 4 inputs are broadcast and multiplied in
// (simd/dot_product.hpp). Then each accumulator gets its block's bias (input offset folded in,
// in the form the dot product needs), is requantized with its lanes' constants
// (simd/requantize_lanes.hpp), clamped, narrowed and stored. Rows past the end repeat the last
// row and are not stored; channels past a group's end have zero weights and are not stored.
// Blocks whose requantization has no vector form (packed_requantization::scalar) go through
// the op's scalar step per element, so every output equals the scalar reference.
//
// Where the taps read:
//   direct rows (FC, 1x1 stride-1 conv)   one tap, the row itself
//   rows whose window is inside the input  the row's window origin + a per-tap offset
//   tiles near padding, whole pixels        the tile's window rows copied with the padding
//                                          (zero point) into a stack buffer, then as inside
//   other rows (near padding)              per tap: the input pixel or the zero-point row
//   small segments (C_in / groups not a multiple of 4, e.g. a first layer's 3 channels):
//     segments of 1-3 values in tiles whose windows are all inside: each tap is one k-group,
//     read in place as the 4 bytes at the tap (the extra bytes meet zero weights)
//     otherwise the tile's rows are first gathered into a stack buffer in the packed k-group
//     order (im2col for MR rows), so that the reduction runs over whole k-groups
//
// Loops run block tiles outermost: a tile's weights stay in L1 while the rows stream by.
#pragma once

#include "qkern/core/config.hpp"

#if QKERN_SIMD

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qkern/kernels/conv/gemm.hpp"
#include "qkern/kernels/conv/packed_weights.hpp"
#include "qkern/simd/arch.hpp"
#include "qkern/simd/dot_product.hpp"
#include "qkern/simd/lanewise.hpp"
#include "qkern/simd/requantize_lanes.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define QKERN_CONV_ALWAYS_INLINE __attribute__((always_inline))
#else
#define QKERN_CONV_ALWAYS_INLINE
#endif
#if defined(__clang__)
#define QKERN_CONV_UNROLL _Pragma("unroll")
#define QKERN_CONV_UNROLL_K_GROUPS _Pragma("unroll 4")
#elif defined(__GNUC__)
#define QKERN_CONV_UNROLL _Pragma("GCC unroll 16")
#define QKERN_CONV_UNROLL_K_GROUPS _Pragma("GCC unroll 4")
#else
#define QKERN_CONV_UNROLL
#define QKERN_CONV_UNROLL_K_GROUPS
#endif

namespace qkern {
namespace simd {
namespace detail {

// Rows per full tile for tiles of 4, 2 and 1 blocks (0: that width is not used), sized so that
// the accumulators, one k-group of weights and a broadcast input fit the register file.
template <dot_method M>
struct gemm_tiling {
  static constexpr int rows4 = 0, rows2 = 0, rows1 = 4;
};
template <>
struct gemm_tiling<dot_method::avx512_vnni> {
  static constexpr int rows4 = 6, rows2 = 14, rows1 = 8;
};
template <>
struct gemm_tiling<dot_method::avx512_madd> {
  static constexpr int rows4 = 0, rows2 = 6, rows1 = 8;
};
template <>
struct gemm_tiling<dot_method::avx_vnni> {
  static constexpr int rows4 = 0, rows2 = 3, rows1 = 6;
};
template <>
struct gemm_tiling<dot_method::avx2_madd> {
  static constexpr int rows4 = 0, rows2 = 0, rows1 = 2;
};
template <>
struct gemm_tiling<dot_method::sse41_madd> {
  static constexpr int rows4 = 0, rows2 = 0, rows1 = 1;
};
template <>
struct gemm_tiling<dot_method::neon_sdot> {
  static constexpr int rows4 = 0, rows2 = 3, rows1 = 6;
};
template <>
struct gemm_tiling<dot_method::neon_mull> {
  static constexpr int rows4 = 0, rows2 = 0, rows1 = 3;
};

// The op's scalar output step for one element (Policy::multiply + offset + clamp), for blocks
// without a vector requantization. Type-erased: the tiles do not depend on the op or policy.
struct scalar_requantizer {
  const void* context;
  std::int8_t (*function)(const void* context, std::int32_t acc, std::int32_t channel) noexcept;
};

template <class F>
scalar_requantizer make_scalar_requantizer(const F& f) noexcept {
  return {&f, [](const void* context, std::int32_t acc, std::int32_t channel) noexcept -> std::int8_t {
            return (*static_cast<const F*>(context))(acc, channel);
          }};
}

// Filter taps whose offsets gemm_context keeps (larger filters take the general tap path).
inline constexpr std::int32_t gemm_max_tap_offsets = 64;
// Rows gathered into a stack buffer when a tap's segment is not a whole number of k-groups
// and a gathered row takes at most this many bytes.
inline constexpr std::size_t gemm_max_gathered_row = 512;
// Bytes of stack a tile near padding may copy its input window into (see padded_window).
inline constexpr std::size_t gemm_max_padded_window = 4096;

// What every tile of one evaluation shares.
struct gemm_context {
  const packed_weights* geometry;  // block layout (its data is not used: tiles get block pointers)
  const ::qkern::detail::gemm_rows* rows;
  ::qkern::detail::gemm_output out;
  const std::int8_t* zero_row;
  std::int32_t output_offset;
  std::int32_t activation_min;
  std::int32_t activation_max;
  scalar_requantizer requantize;
  // conv rows: input offset of tap t from its window's origin, when taps <= gemm_max_tap_offsets
  const std::ptrdiff_t* tap_offset;
};

// Fills `offsets` (gemm_max_tap_offsets entries) for conv rows; returns it, or nullptr when
// the rows are direct or the filter has more taps.
inline const std::ptrdiff_t* make_tap_offsets(const packed_weights& g, const ::qkern::detail::gemm_rows& rows,
                                              std::ptrdiff_t* offsets) noexcept {
  if (rows.direct || g.taps > gemm_max_tap_offsets) return nullptr;
  for (std::int32_t t = 0; t < g.taps; ++t) {
    const std::int32_t fy = t / rows.kernel_w;
    const std::int32_t fx = t - fy * rows.kernel_w;
    offsets[t] = (static_cast<std::ptrdiff_t>(fy) * rows.dilation_h * rows.in_w +
                  static_cast<std::ptrdiff_t>(fx) * rows.dilation_w) *
                 rows.in_c;
  }
  return offsets;
}

// 4 bytes from src to dst as one scalar word. The empty asm keeps the compiler from turning a
// loop of these into a vector gather, far slower than the scalar loads for a few words.
inline void copy_word(std::int8_t* dst, const std::int8_t* src) noexcept {
  std::uint32_t word;
  std::memcpy(&word, src, 4);
#if defined(__GNUC__) || defined(__clang__)
  __asm__("" : "+r"(word));
#endif
  std::memcpy(dst, &word, 4);
}

// The weights of one k-group: vector v from its block's k_group pointer.
template <class dot, int NV, int per_block>
QKERN_CONV_ALWAYS_INLINE inline void load_k_group(typename dot::weights (&w)[NV], const unsigned char* k_group,
                                                  std::size_t block_stride) noexcept {
  constexpr std::size_t vector_bytes = dot::lanes * 4;
  QKERN_CONV_UNROLL
  for (int v = 0; v < NV; ++v) {
    w[v] = dot::load(k_group + static_cast<std::size_t>(v / per_block) * block_stride +
                     static_cast<std::size_t>(v % per_block) * vector_bytes);
  }
}

// acc[m][v] += row m's 4 inputs at a[m] + offset, broadcast, times weight vector v.
template <class dot, int MR, int NV>
QKERN_CONV_ALWAYS_INLINE inline void multiply_k_group(typename dot::accumulator (&acc)[MR][NV],
                                                      const std::int8_t* const (&a)[MR], std::ptrdiff_t offset,
                                                      const typename dot::weights (&w)[NV]) noexcept {
  QKERN_CONV_UNROLL
  for (int m = 0; m < MR; ++m) {
    const typename dot::input x = dot::broadcast(a[m] + offset);
    QKERN_CONV_UNROLL
    for (int v = 0; v < NV; ++v) acc[m][v] = dot::dot(acc[m][v], x, w[v]);
  }
}

// acc[m][v] += the products of `groups` consecutive k-groups: row m's inputs from a[m] (4 bytes
// per k-group), vector v's weights from its block's k_group pointer.
template <class dot, int MR, int NV, int per_block>
inline void accumulate_k_groups(typename dot::accumulator (&acc)[MR][NV], const std::int8_t* const (&a)[MR],
                                const unsigned char* k_group, std::size_t block_stride, std::int32_t groups) noexcept {
  QKERN_CONV_UNROLL_K_GROUPS
  for (std::int32_t j = 0; j < groups; ++j, k_group += packed_k_group_bytes) {
    typename dot::weights w[NV];
    load_k_group<dot, NV, per_block>(w, k_group, block_stride);
    multiply_k_group<dot>(acc, a, static_cast<std::ptrdiff_t>(j) * packed_k_group, w);
  }
}

// acc[m][v] += the products of `taps` one-k-group taps: row m's 4 inputs of tap t read in place
// at a[m] + offsets[t].
template <class dot, int MR, int NV, int per_block>
inline void accumulate_tap_words(typename dot::accumulator (&acc)[MR][NV], const std::int8_t* const (&a)[MR],
                                 const std::ptrdiff_t* offsets, const unsigned char* k_group, std::size_t block_stride,
                                 std::int32_t taps) noexcept {
  for (std::int32_t t = 0; t < taps; ++t, k_group += packed_k_group_bytes) {
    typename dot::weights w[NV];
    load_k_group<dot, NV, per_block>(w, k_group, block_stride);
    multiply_k_group<dot>(acc, a, offsets[t], w);
  }
}

// A tile whose rows lie in one output row, read whole pixels (C_in a multiple of 4, one group)
// and reach padding: copies the kernel_h input rows its windows cover, pixels
// [ix0, ix0 + span) of each, into `local`, the zero point standing for the padding. Then its
// windows are inside `local` (pixel pitch C_in, row pitch span·C_in) and the tile takes the
// contiguous path like an interior one. Returns the row pitch, or 0 (nothing copied) when the
// window does not fit `local`.
inline std::ptrdiff_t padded_window(const ::qkern::detail::gemm_rows& rows, const std::int8_t* image,
                                    std::int32_t kernel_h, std::int32_t iy, std::int32_t ix0, std::int32_t span,
                                    std::int8_t zero_point, std::int8_t* local) noexcept {
  const auto pixel = static_cast<std::size_t>(rows.in_c);
  const std::size_t pitch = static_cast<std::size_t>(span) * pixel;
  if (pitch * static_cast<std::size_t>(kernel_h) > gemm_max_padded_window) return 0;
  const std::int32_t first = ix0 >= 0 ? 0 : (-ix0 < span ? -ix0 : span);  // pixels of left padding
  const std::int32_t end = rows.in_w - ix0 < span ? rows.in_w - ix0 : span;  // past the last input pixel
  const auto fill = static_cast<unsigned char>(zero_point);
  for (std::int32_t fy = 0; fy < kernel_h; ++fy) {
    std::int8_t* dst = local + static_cast<std::size_t>(fy) * pitch;
    const std::int32_t y = iy + fy * rows.dilation_h;
    if (y < 0 || y >= rows.in_h || end <= first) {
      std::memset(dst, fill, pitch);
      continue;
    }
    const std::int8_t* src = ::qkern::detail::pixel_pointer(rows, image, y, ix0 + first);
    std::memset(dst, fill, static_cast<std::size_t>(first) * pixel);
    std::memcpy(dst + static_cast<std::size_t>(first) * pixel, src, static_cast<std::size_t>(end - first) * pixel);
    std::memset(dst + static_cast<std::size_t>(end) * pixel, fill, static_cast<std::size_t>(span - end) * pixel);
  }
  return static_cast<std::ptrdiff_t>(pitch);
}

// One tile: rows [row0, row0 + row_count) (row_count <= MR) of `group`, blocks
// first_block + b·block_stride for b < NB, whose first channel is first_channel (in the group).
template <class A, int MR, int NB>
void gemm_tile(const gemm_context& ctx, std::int32_t group, const unsigned char* first_block, std::size_t block_stride,
               std::int32_t first_channel, std::int32_t row0, std::int32_t row_count) noexcept {
  using dot = int8_dot<A>;
  using dwords = xsimd::batch<std::int32_t, A>;
  constexpr int lanes = static_cast<int>(dot::lanes);
  static_assert(packed_block_channels % lanes == 0, "a block is a whole number of vectors");
  constexpr int per_block = packed_block_channels / lanes;
  constexpr int NV = NB * per_block;
  const packed_weights& g = *ctx.geometry;
  const ::qkern::detail::gemm_rows& rows = *ctx.rows;
  const std::int8_t* const zero_row = ctx.zero_row;
  const std::int32_t taps = g.taps;
  const std::int32_t segment = g.segment;
  const std::size_t channel_offset = static_cast<std::size_t>(group) * static_cast<std::size_t>(segment);

  // Where each row's window starts. Conv rows are walked from row0's position without division.
  ::qkern::detail::row_origin origin[MR];
  const std::int8_t* window[MR] = {};  // row's window origin, for rows whose window is inside the input
  bool inside = true;
  // Whole pixels of one group, no horizontal dilation: a filter row's taps are one contiguous
  // run from its window's origin, the next filter row `filter_row_pitch` bytes on.
  const bool contiguous_runs =
      !rows.direct && segment == rows.in_c && segment % packed_k_group == 0 && rows.dilation_w == 1;
  std::ptrdiff_t filter_row_pitch = static_cast<std::ptrdiff_t>(rows.dilation_h) * rows.in_w * rows.in_c;
  alignas(64) std::int8_t local[gemm_max_padded_window];
  if (rows.direct) {
    QKERN_CONV_UNROLL
    for (int m = 0; m < MR; ++m) {
      const std::int32_t r = row0 + (m < row_count ? m : row_count - 1);
      window[m] = rows.input + static_cast<std::size_t>(r) * rows.row_stride + channel_offset;
      origin[m] = {window[m], 0, 0};
    }
  } else {
    const std::int32_t per_image = rows.out_h * rows.out_w;
    std::int32_t b = row0 / per_image;
    std::int32_t oy = (row0 - b * per_image) / rows.out_w;
    std::int32_t ox = row0 - b * per_image - oy * rows.out_w;
    const std::size_t image_size = static_cast<std::size_t>(rows.in_h) * static_cast<std::size_t>(rows.in_w) *
                                   static_cast<std::size_t>(rows.in_c);
    const std::int32_t window_h = (g.taps / rows.kernel_w - 1) * rows.dilation_h;
    const std::int32_t window_w = (rows.kernel_w - 1) * rows.dilation_w;
    const bool one_output_row = ox + row_count <= rows.out_w;
    if (one_output_row) {
      // The usual tile: every row in one output row, so one vertical test and a walk along x.
      const std::int32_t iy = oy * rows.stride_h - rows.pad_h;
      const std::int32_t ix0 = ox * rows.stride_w - rows.pad_w;
      const std::int8_t* const base = rows.input + static_cast<std::size_t>(b) * image_size + channel_offset;
      const bool rows_in = iy >= 0 && iy + window_h < rows.in_h;
      const std::int32_t ix_last = ix0 + (row_count - 1) * rows.stride_w;
      // Tiles that take the contiguous path: their windows are stride_w pixels apart from the
      // first, in the input or in the padded copy (no origins needed).
      const std::int8_t* first = nullptr;
      if (contiguous_runs && rows_in && ix0 >= 0 && ix_last + window_w < rows.in_w) {
        first = ::qkern::detail::pixel_pointer(rows, base, iy, ix0);
      } else {
        QKERN_CONV_UNROLL
        for (int m = 0; m < MR; ++m) {
          const std::int32_t ix = ix0 + (m < row_count ? m : row_count - 1) * rows.stride_w;
          origin[m] = {base, iy, ix};
          const bool in = rows_in && ix >= 0 && ix + window_w < rows.in_w;
          inside = inside && in;
          window[m] = in ? ::qkern::detail::pixel_pointer(rows, base, iy, ix) : zero_row;
        }
        if (!inside && contiguous_runs) {
          const std::int32_t span = (row_count - 1) * rows.stride_w + rows.kernel_w;
          const std::ptrdiff_t pitch =
              padded_window(rows, base, g.taps / rows.kernel_w, iy, ix0, span, zero_row[0], local);
          if (pitch != 0) {
            first = local;
            filter_row_pitch = pitch;
            inside = true;
          }
        }
      }
      if (first != nullptr) {
        const auto pixel_step = static_cast<std::size_t>(rows.stride_w) * static_cast<std::size_t>(rows.in_c);
        QKERN_CONV_UNROLL
        for (int m = 0; m < MR; ++m) {
          window[m] = first + static_cast<std::size_t>(m < row_count ? m : row_count - 1) * pixel_step;
        }
      }
    }
    QKERN_CONV_UNROLL
    for (int m = 0; m < MR && !one_output_row; ++m) {
      const std::int32_t iy = oy * rows.stride_h - rows.pad_h;
      const std::int32_t ix = ox * rows.stride_w - rows.pad_w;
      origin[m] = {rows.input + static_cast<std::size_t>(b) * image_size + channel_offset, iy, ix};
      const bool in = iy >= 0 && iy + window_h < rows.in_h && ix >= 0 && ix + window_w < rows.in_w;
      inside = inside && in;
      window[m] = in ? ::qkern::detail::pixel_pointer(rows, origin[m].base, iy, ix) : zero_row;
      if (m + 1 < row_count && ++ox == rows.out_w) {
        ox = 0;
        if (++oy == rows.out_h) {
          oy = 0;
          ++b;
        }
      }
    }
  }
  // Tap t = fy·kernel_w + fx of row m (the callers walk fy, fx along with t: no division).
  auto tap_row = [&](int m, std::int32_t t, std::int32_t fy, std::int32_t fx) -> const std::int8_t* {
    if (rows.direct) return window[m];
    // a row whose own window is inside the input (window[m] is the zero row otherwise)
    if (ctx.tap_offset != nullptr && window[m] != zero_row) return window[m] + ctx.tap_offset[t];
    return ::qkern::detail::tap_pointer_at(rows, origin[m], fy, fx, zero_row);
  };
  const auto next_tap = [&rows](std::int32_t& fy, std::int32_t& fx) {
    if (++fx == rows.kernel_w) {
      fx = 0;
      ++fy;
    }
  };

  typename dot::accumulator acc[MR][NV];
  QKERN_CONV_UNROLL
  for (int m = 0; m < MR; ++m) {
    QKERN_CONV_UNROLL
    for (int v = 0; v < NV; ++v) acc[m][v] = dot::zero();
  }

  const std::int32_t full_groups = segment / packed_k_group;
  const int remainder = static_cast<int>(segment % packed_k_group);
  const std::size_t tap_bytes = static_cast<std::size_t>(g.segment_groups) * packed_k_group_bytes;
  const unsigned char* weights = first_block + sizeof(packed_block_header);
  const std::size_t gathered_row = static_cast<std::size_t>(taps) * static_cast<std::size_t>(g.segment_groups) * 4;

  // Pixels of 1 to 3 channels (a first layer's RGB) whose windows are inside the input: each
  // tap is one k-group, read in place as the 4 bytes at its position (the bytes past the
  // segment meet zero weights) where that word ends inside the input buffer.
  // (Rows inside the input start further on with each row: the last row's last tap is the
  // furthest read.)
  const bool taps_in_place = remainder != 0 && g.segment_groups == 1 && inside && ctx.tap_offset != nullptr &&
                             rows.input_end - (window[MR - 1] + ctx.tap_offset[taps - 1]) >= 4;

  if (taps_in_place) {
    accumulate_tap_words<dot, MR, NV, per_block>(acc, window, ctx.tap_offset, weights, block_stride, taps);
  } else if (remainder != 0 && !rows.direct && gathered_row <= gemm_max_gathered_row) {
    // Gather the rows in k-group order: each tap's segment in whole 4-byte words. The bytes
    // past a segment's end meet zero weights, so a word may take them from the next pixel; it
    // is copied byte by byte only where it would leave the input buffer.
    alignas(64) std::int8_t gathered[MR][gemm_max_gathered_row];
    const std::size_t tap_stride = static_cast<std::size_t>(g.segment_groups) * 4;
    const std::int8_t* a[MR];
    for (int m = 0; m < MR; ++m) {
      std::int8_t* dst = gathered[m];
      a[m] = gathered[m];
      if (window[m] != zero_row && ctx.tap_offset != nullptr &&
          rows.input_end - (window[m] + ctx.tap_offset[taps - 1]) >= static_cast<std::ptrdiff_t>(tap_stride)) {
        // The row's window is inside the input and its last tap's words end inside the buffer
        // (tap offsets grow with the tap): whole words, no per-tap checks.
        const std::int8_t* const base = window[m];
        if (tap_stride == 4) {
          for (std::int32_t t = 0; t < taps; ++t) copy_word(dst + 4 * t, base + ctx.tap_offset[t]);
        } else {
          for (std::int32_t t = 0; t < taps; ++t, dst += tap_stride) {
            const std::int8_t* src = base + ctx.tap_offset[t];
            for (std::size_t i = 0; i < tap_stride; i += 4) copy_word(dst + i, src + i);
          }
        }
        continue;
      }
      for (std::int32_t t = 0, fy = 0, fx = 0; t < taps; ++t, dst += tap_stride, next_tap(fy, fx)) {
        const std::int8_t* src = tap_row(m, t, fy, fx);
        if (src == zero_row || rows.input_end - src >= static_cast<std::ptrdiff_t>(tap_stride)) {
          for (std::size_t i = 0; i < tap_stride; i += 4) std::memcpy(dst + i, src + i, 4);
        } else {
          std::memcpy(dst, src, static_cast<std::size_t>(segment));
          std::memset(dst + segment, 0, tap_stride - static_cast<std::size_t>(segment));
        }
      }
    }
    accumulate_k_groups<dot, MR, NV, per_block>(acc, a, weights, block_stride, taps * g.segment_groups);
  } else if (inside && contiguous_runs) {
    // Windows inside the input (or its padded copy), all channels of a pixel, no horizontal
    // dilation: the taps of a filter row are one contiguous run of kernel_w·C_in values, and
    // so are their k-groups.
    const std::int32_t run_taps = rows.kernel_w;
    for (std::int32_t t = 0, fy = 0; t < taps; t += run_taps, ++fy) {
      const std::int8_t* a[MR];
      QKERN_CONV_UNROLL
      for (int m = 0; m < MR; ++m) a[m] = window[m] + fy * filter_row_pitch;
      accumulate_k_groups<dot, MR, NV, per_block>(acc, a, weights + static_cast<std::size_t>(t) * tap_bytes, block_stride,
                                                  run_taps * full_groups);
    }
  } else {
    for (std::int32_t t = 0, fy = 0, fx = 0; t < taps; ++t, next_tap(fy, fx)) {
      const std::int8_t* a[MR];
      QKERN_CONV_UNROLL
      for (int m = 0; m < MR; ++m) a[m] = tap_row(m, t, fy, fx);
      const unsigned char* k_group = weights + static_cast<std::size_t>(t) * tap_bytes;
      accumulate_k_groups<dot, MR, NV, per_block>(acc, a, k_group, block_stride, full_groups);
      if (remainder != 0) {
        // The last k-group holds 1..3 real values. A full 4-byte load is fine (the weights
        // past the segment are 0) unless it could leave the input buffer.
        const std::size_t offset = static_cast<std::size_t>(full_groups) * packed_k_group;
        const std::int8_t* tail[MR];
        alignas(4) std::int8_t copies[MR][4];
        QKERN_CONV_UNROLL
        for (int m = 0; m < MR; ++m) {
          const std::int8_t* p = a[m] + offset;
          if (a[m] == zero_row || rows.input_end - p >= 4) {
            tail[m] = p;
          } else {
            std::memset(copies[m], 0, 4);
            std::memcpy(copies[m], p, static_cast<std::size_t>(remainder));
            tail[m] = copies[m];
          }
        }
        accumulate_k_groups<dot, MR, NV, per_block>(acc, tail, k_group + static_cast<std::size_t>(full_groups) *
                                                                             packed_k_group_bytes,
                                                    block_stride, 1);
      }
    }
  }

  // Epilogue: bias, requantization, clamp, narrow, store.
  const int8_output_range<A> range(ctx.activation_min, ctx.activation_max, ctx.output_offset);
  std::int8_t* const out_base = ctx.out.data;
  const std::size_t out_stride = ctx.out.row_stride;
  const std::int32_t group_first = group * g.group_outputs;
  const std::int32_t group_outputs = g.group_outputs;
  const packed_block_header* headers[NB];
  bool uniform = true;  // every block requantized by the same vector form
  QKERN_CONV_UNROLL
  for (int b = 0; b < NB; ++b) {
    headers[b] = reinterpret_cast<const packed_block_header*>(first_block + static_cast<std::size_t>(b) * block_stride);
    uniform = uniform && headers[b]->requantization == headers[0]->requantization &&
              headers[b]->requantization != static_cast<std::int32_t>(packed_requantization::scalar);
  }
  std::int8_t* const tile_out =
      out_base + static_cast<std::size_t>(row0) * out_stride + static_cast<std::size_t>(group_first + first_channel);

  if (uniform && first_channel + NB * packed_block_channels <= group_outputs) {
    // Every channel real: requantize vector by vector, then narrow and store each row's NB·16
    // outputs together. Fused blocks with a float form take it on AVX-512.
    const bool fp32 = headers[0]->requantization == static_cast<std::int32_t>(packed_requantization::fp32);
    dwords y[MR][NV];
    QKERN_CONV_UNROLL
    for (int v = 0; v < NV; ++v) {
      const packed_block_header* h = headers[v / per_block];
      const int lane0 = (v % per_block) * lanes;
      const dwords bias_lanes = dwords::load_unaligned((dot::input_bias == 128 ? h->bias_unsigned : h->bias_signed) + lane0);
      if (fp32) {
        QKERN_CONV_UNROLL
        for (int m = 0; m < MR; ++m) {
          y[m][v] = ::qkern::simd::requantize_fp32_lanes(dot::finish(acc[m][v]) + bias_lanes, h->scale + lane0, range);
        }
      } else {
#if XSIMD_WITH_AVX512BW
        constexpr bool float_form_lanes =
            dot_method_of<A>() == dot_method::avx512_vnni || dot_method_of<A>() == dot_method::avx512_madd;
        if constexpr (float_form_lanes) {
          if (h->has_float_form != 0) {
            const __m512 f = _mm512_loadu_ps(h->float_multiplier + lane0);
            const __m512 c_negative = _mm512_loadu_ps(h->float_constant_negative + lane0);
            const __m512 c_nonnegative = _mm512_loadu_ps(h->float_constant_nonnegative + lane0);
            QKERN_CONV_UNROLL
            for (int m = 0; m < MR; ++m) {
              y[m][v] = requantize_float_form_lanes(dot::finish(acc[m][v]) + bias_lanes, f, c_negative, c_nonnegative);
            }
            continue;
          }
        }
#endif
        const fused_lanes<A> f = ::qkern::simd::load_fused_lanes<A>(
            {h->multiplier + lane0, h->pre_shift + lane0, h->constant_even + lane0 / 2, h->constant_odd + lane0 / 2,
             h->final_shift + lane0, h->sign_mask + lane0, h->zero_point_after + lane0});
        const bool sign = h->has_sign_correction != 0;
        const bool after = h->has_zero_point_after != 0;
        QKERN_CONV_UNROLL
        for (int m = 0; m < MR; ++m) {
          y[m][v] = ::qkern::simd::requantize_fused_lanes(dot::finish(acc[m][v]) + bias_lanes, f, sign, after);
        }
      }
    }
    QKERN_CONV_UNROLL
    for (int m = 0; m < MR; ++m) {
      if (m >= row_count) break;
      ::qkern::simd::store_int8_vectors(y[m], range, tile_out + static_cast<std::size_t>(m) * out_stride);
    }
    return;
  }

  const scalar_requantizer requantize = ctx.requantize;
  QKERN_CONV_UNROLL
  for (int b = 0; b < NB; ++b) {
    const packed_block_header* h = headers[b];
    const auto kind = static_cast<packed_requantization>(h->requantization);
    const std::int32_t* bias = dot::input_bias == 128 ? h->bias_unsigned : h->bias_signed;
    const bool sign = h->has_sign_correction != 0;
    const bool after = h->has_zero_point_after != 0;
    QKERN_CONV_UNROLL
    for (int q = 0; q < per_block; ++q) {
      const int v = b * per_block + q;
      const int lane0 = q * lanes;
      const std::int32_t channel = first_channel + b * packed_block_channels + lane0;
      const std::int32_t left = group_outputs - channel;
      if (left <= 0) continue;
      const auto count = static_cast<std::size_t>(left < lanes ? left : lanes);
      const dwords bias_lanes = dwords::load_unaligned(bias + lane0);
      const fused_lane_constants fused{h->multiplier + lane0,      h->pre_shift + lane0,   h->constant_even + lane0 / 2,
                                       h->constant_odd + lane0 / 2, h->final_shift + lane0, h->sign_mask + lane0,
                                       h->zero_point_after + lane0};
      std::int8_t* dst = tile_out + static_cast<std::size_t>(b * packed_block_channels + lane0);
      QKERN_CONV_UNROLL
      for (int m = 0; m < MR; ++m, dst += out_stride) {
        if (m >= row_count) break;
        const dwords x = dot::finish(acc[m][v]) + bias_lanes;
        if (kind == packed_requantization::fused) {
          ::qkern::simd::store_int8_lanes(::qkern::simd::requantize_fused_lanes(x, fused, sign, after), range, dst,
                                          count);
        } else if (kind == packed_requantization::fp32) {
          ::qkern::simd::store_int8_lanes(::qkern::simd::requantize_fp32_lanes(x, h->scale + lane0, range), range,
                                          dst, count);
        } else {
          const auto values = lanes_of(x);
          for (std::size_t i = 0; i < count; ++i) {
            dst[i] = requantize.function(requantize.context, values[i],
                                         group_first + channel + static_cast<std::int32_t>(i));
          }
        }
      }
    }
  }
}

// Every row of `group` through tiles of NB blocks starting at first_block: full tiles of MR
// rows, the remainder with the smallest of 1, 2, 4, 8 or MR rows that covers it.
template <class A, int MR, int NB>
void gemm_rows_of_tile(const gemm_context& ctx, std::int32_t group, const unsigned char* first_block,
                       std::size_t block_stride, std::int32_t first_channel) noexcept {
  const std::int32_t n = ctx.rows->rows;
  std::int32_t row0 = 0;
  for (; row0 + MR <= n; row0 += MR) gemm_tile<A, MR, NB>(ctx, group, first_block, block_stride, first_channel, row0, MR);
  const std::int32_t left = n - row0;
  if (left == 0) return;
  if (left == 1) return gemm_tile<A, 1, NB>(ctx, group, first_block, block_stride, first_channel, row0, 1);
  if (left == 2 && MR > 2) return gemm_tile<A, 2, NB>(ctx, group, first_block, block_stride, first_channel, row0, 2);
  if constexpr (MR > 4) {
    if (left <= 4) return gemm_tile<A, 4, NB>(ctx, group, first_block, block_stride, first_channel, row0, left);
  }
  if constexpr (MR > 8) {
    if (left <= 8) return gemm_tile<A, 8, NB>(ctx, group, first_block, block_stride, first_channel, row0, left);
  }
  gemm_tile<A, MR, NB>(ctx, group, first_block, block_stride, first_channel, row0, left);
}

// The widest tile (in blocks, at most `max_blocks`) this arch uses for `remaining` blocks.
template <class A>
constexpr int gemm_tile_blocks(std::int32_t remaining, std::int32_t max_blocks) noexcept {
  using tiling = gemm_tiling<dot_method_of<A>()>;
  if (tiling::rows4 > 0 && remaining >= 4 && max_blocks >= 4) return 4;
  if (tiling::rows2 > 0 && remaining >= 2 && max_blocks >= 2) return 2;
  return 1;
}

// Tiles of `blocks` blocks over every row.
template <class A>
void gemm_block_tile(const gemm_context& ctx, std::int32_t group, int blocks, const unsigned char* first_block,
                     std::size_t block_stride, std::int32_t first_channel) noexcept {
  using tiling = gemm_tiling<dot_method_of<A>()>;
  if constexpr (tiling::rows4 > 0) {
    if (blocks == 4) return gemm_rows_of_tile<A, tiling::rows4, 4>(ctx, group, first_block, block_stride, first_channel);
  }
  if constexpr (tiling::rows2 > 0) {
    if (blocks == 2) return gemm_rows_of_tile<A, tiling::rows2, 2>(ctx, group, first_block, block_stride, first_channel);
  }
  gemm_rows_of_tile<A, tiling::rows1, 1>(ctx, group, first_block, block_stride, first_channel);
}

// The packed path: every group, every block tile, every row.
template <class A, class Requantize>
void packed_gemm(const packed_weights& w, const ::qkern::detail::gemm_rows& rows,
                 const ::qkern::detail::gemm_output& out, std::int32_t output_offset, std::int32_t activation_min,
                 std::int32_t activation_max, const Requantize& requantize) noexcept {
  std::ptrdiff_t offsets[gemm_max_tap_offsets];
  const gemm_context ctx{&w,           &rows,          out, w.zero_row(), output_offset, activation_min,
                         activation_max, make_scalar_requantizer(requantize), make_tap_offsets(w, rows, offsets)};
  for (std::int32_t group = 0; group < w.groups; ++group) {
    for (std::int32_t blk = 0; blk < w.blocks_per_group;) {
      const int blocks = gemm_tile_blocks<A>(w.blocks_per_group - blk, 4);
      gemm_block_tile<A>(ctx, group, blocks, w.block(group, blk), w.block_bytes, blk * packed_block_channels);
      blk += blocks;
    }
  }
}

// Without packed weights, packing 16 output channels at a time costs more than the product
// when there are few rows (a fully connected layer at batch 1, a 1x1 conv on a 1x1 map), and
// does not fit the stack when the reduction is long. With AVX-512 VNNI each output is then a
// dot product along its row instead, 64 values per vpdpbusd, tap by tap (a tap's segment is
// contiguous in the input and in the OHWI / [units][depth] weights), for 4 rows x 4 outputs at
// a time; the inputs go in as x + 128 and the weights' sums (one more vpdpbusd with ones) fold
// the +128 back out.
inline constexpr std::int32_t row_dot_max_rows = 16;

template <class A>
constexpr bool has_row_dot() noexcept {
  return dot_method_of<A>() == dot_method::avx512_vnni;
}

#if XSIMD_WITH_AVX512BW && defined(__AVX512VNNI__)
// Where the row dot products read: the rows, the group's weights (output channel c of the
// group, tap t at weights + c·row_stride + t·segment), its bias and the zero-point row.
struct row_dot_source {
  const ::qkern::detail::gemm_rows* rows;
  std::int32_t group;
  std::int32_t taps;
  std::int32_t outputs;  // of the group
  const std::int8_t* weights;
  std::size_t row_stride;
  const std::int32_t* bias;
  std::int32_t input_offset;
  const std::int8_t* zero_row;  // at least `segment` bytes of the input zero point
};

// R rows from row0, 4 outputs at a time.
template <class A, int R, class Requantize>
void row_dot_rows(const row_dot_source& src, std::int32_t row0, const ::qkern::detail::gemm_output& out,
                  const Requantize& requantize) noexcept {
  const ::qkern::detail::gemm_rows& rows = *src.rows;
  const std::int32_t segment = rows.segment;
  const std::int32_t chunks = segment / 64;
  const auto tail = static_cast<std::uint32_t>(segment % 64);
  const __mmask64 tail_mask = tail == 0 ? 0 : static_cast<__mmask64>(~std::uint64_t{0} >> (64 - tail));
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i ones = _mm512_set1_epi8(1);
  ::qkern::detail::row_origin origin[R];
  QKERN_CONV_UNROLL
  for (int r = 0; r < R; ++r) origin[r] = ::qkern::detail::origin_of(rows, row0 + r, src.group);
  const std::int32_t channel0 = src.group * src.outputs;
  for (std::int32_t u0 = 0; u0 < src.outputs; u0 += 4) {
    const std::int32_t unit_count = src.outputs - u0 < 4 ? src.outputs - u0 : 4;
    const std::int8_t* w0[4];
    QKERN_CONV_UNROLL
    for (int u = 0; u < 4; ++u) {
      w0[u] = src.weights + static_cast<std::size_t>(u0 + (u < unit_count ? u : unit_count - 1)) * src.row_stride;
    }
    __m512i acc[R][4];
    __m512i sums[4];
    QKERN_CONV_UNROLL
    for (int u = 0; u < 4; ++u) {
      sums[u] = _mm512_setzero_si512();
      QKERN_CONV_UNROLL
      for (int r = 0; r < R; ++r) acc[r][u] = _mm512_setzero_si512();
    }
    for (std::int32_t t = 0; t < src.taps; ++t) {
      const std::int8_t* x[R];
      QKERN_CONV_UNROLL
      for (int r = 0; r < R; ++r) x[r] = ::qkern::detail::tap_pointer(rows, origin[r], t, src.zero_row);
      const std::size_t tap_offset = static_cast<std::size_t>(t) * static_cast<std::size_t>(segment);
      auto step = [&](std::size_t offset, __mmask64 mask) QKERN_CONV_ALWAYS_INLINE {
        __m512i xv[R];
        QKERN_CONV_UNROLL
        for (int r = 0; r < R; ++r) xv[r] = _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, x[r] + offset), flip);
        QKERN_CONV_UNROLL
        for (int u = 0; u < 4; ++u) {
          const __m512i wv = _mm512_maskz_loadu_epi8(mask, w0[u] + tap_offset + offset);
          sums[u] = _mm512_dpbusd_epi32(sums[u], ones, wv);
          QKERN_CONV_UNROLL
          for (int r = 0; r < R; ++r) acc[r][u] = _mm512_dpbusd_epi32(acc[r][u], xv[r], wv);
        }
      };
      for (std::int32_t c = 0; c < chunks; ++c) step(static_cast<std::size_t>(c) * 64, ~__mmask64{0});
      if (tail != 0) step(static_cast<std::size_t>(chunks) * 64, tail_mask);
    }
    // Σ (x + 128)·w + (input_offset - 128)·Σw + bias, modulo 2^32 (the true sum fits int32)
    std::uint32_t totals[R][4];
    QKERN_CONV_UNROLL
    for (int u = 0; u < 4; ++u) {
      const std::uint32_t correction =
          static_cast<std::uint32_t>(src.input_offset - 128) *
              static_cast<std::uint32_t>(_mm512_reduce_add_epi32(sums[u])) +
          static_cast<std::uint32_t>(src.bias != nullptr ? src.bias[u0 + (u < unit_count ? u : 0)] : 0);
      QKERN_CONV_UNROLL
      for (int r = 0; r < R; ++r) totals[r][u] = static_cast<std::uint32_t>(_mm512_reduce_add_epi32(acc[r][u])) + correction;
    }
    for (int r = 0; r < R; ++r) {
      for (int u = 0; u < unit_count; ++u) {
        const std::int32_t channel = channel0 + u0 + u;
        out.data[static_cast<std::size_t>(row0 + r) * out.row_stride + static_cast<std::size_t>(channel)] =
            requantize(static_cast<std::int32_t>(totals[r][u]), channel);
      }
    }
  }
}

template <class A, class Requantize>
void row_dot_gemm(const row_dot_source& src, const ::qkern::detail::gemm_output& out,
                  const Requantize& requantize) noexcept {
  const std::int32_t n = src.rows->rows;
  std::int32_t row0 = 0;
  for (; row0 + 4 <= n; row0 += 4) row_dot_rows<A, 4>(src, row0, out, requantize);
  if (row0 + 2 <= n) {
    row_dot_rows<A, 2>(src, row0, out, requantize);
    row0 += 2;
  }
  if (row0 < n) row_dot_rows<A, 1>(src, row0, out, requantize);
}
#endif

// Bytes of stack the unpacked path packs into (one to four blocks and the zero-point row).
inline constexpr std::size_t gemm_workspace_bytes = 32768;

// The unpacked path: packs a block tile at a time into a stack workspace and runs it over
// every row. `source(group)` gives the block_source of a group. Returns false, having done
// nothing, when even one block does not fit the workspace (the caller then runs the scalar
// reference).
template <class A, class Policy, class Source, class Requantize>
bool unpacked_gemm(const packed_weights& geometry, const Source& source, std::int32_t input_zero_point,
                   const ::qkern::detail::gemm_rows& rows, const ::qkern::detail::gemm_output& out,
                   std::int32_t output_offset, std::int32_t activation_min, std::int32_t activation_max,
                   const Requantize& requantize) noexcept {
#if XSIMD_WITH_AVX512BW && defined(__AVX512VNNI__)
  if constexpr (has_row_dot<A>()) {
    // Few rows, or 16 channels' weights too large for the workspace: row dot products.
    const bool few_rows = rows.direct && geometry.groups == 1 && rows.rows <= row_dot_max_rows;
    const bool too_large = ::qkern::detail::zero_row_bytes(geometry.segment_groups) + geometry.block_bytes >
                           gemm_workspace_bytes;
    constexpr std::size_t max_zero_row = 4096;
    if ((few_rows || too_large) && static_cast<std::size_t>(rows.segment) <= max_zero_row) {
      alignas(64) std::int8_t zero_row[max_zero_row];
      if (!rows.direct) std::memset(zero_row, static_cast<std::uint8_t>(static_cast<std::int8_t>(input_zero_point)), static_cast<std::size_t>(rows.segment));
      for (std::int32_t group = 0; group < geometry.groups; ++group) {
        const auto src = source(group);
        const row_dot_source dot_source{&rows,    group,           geometry.taps,     geometry.group_outputs,
                                        src.weights, src.row_stride, src.bias, src.input_offset, zero_row};
        row_dot_gemm<A>(dot_source, out, requantize);
      }
      return true;
    }
  }
#endif
  const std::size_t zero_bytes = ::qkern::detail::zero_row_bytes(geometry.segment_groups);
  if (zero_bytes + geometry.block_bytes > gemm_workspace_bytes) return false;
  alignas(64) unsigned char workspace[gemm_workspace_bytes];
  const auto fit = static_cast<std::int32_t>((gemm_workspace_bytes - zero_bytes) / geometry.block_bytes);
  unsigned char* zero_row = workspace + gemm_workspace_bytes - zero_bytes;
  ::qkern::detail::pack_zero_row(geometry, input_zero_point, zero_row);
  std::ptrdiff_t offsets[gemm_max_tap_offsets];
  const gemm_context ctx{&geometry,
                         &rows,
                         out,
                         reinterpret_cast<const std::int8_t*>(zero_row),
                         output_offset,
                         activation_min,
                         activation_max,
                         make_scalar_requantizer(requantize),
                         make_tap_offsets(geometry, rows, offsets)};
  for (std::int32_t group = 0; group < geometry.groups; ++group) {
    const auto src = source(group);
    for (std::int32_t blk = 0; blk < geometry.blocks_per_group;) {
      const int blocks = gemm_tile_blocks<A>(geometry.blocks_per_group - blk, fit);
      for (int b = 0; b < blocks; ++b) {
        ::qkern::detail::pack_block<Policy>(geometry, src, (blk + b) * packed_block_channels,
                                            workspace + static_cast<std::size_t>(b) * geometry.block_bytes, false);
      }
      gemm_block_tile<A>(ctx, group, blocks, workspace, geometry.block_bytes, blk * packed_block_channels);
      blk += blocks;
    }
  }
  return true;
}

}  // namespace detail
}  // namespace simd
}  // namespace qkern

#endif  // QKERN_SIMD
