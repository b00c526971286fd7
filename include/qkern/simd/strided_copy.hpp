// gather_strided<A>(source, input, output): the layout ops' strided read (qkern::gather_strided,
// kernels/layout/strided_view.hpp) in blocks instead of one element at a time. Every output
// element is a copy of the input element the scalar walk reads, so the result is identical.
//
//   1. The view is simplified: extent-1 dimensions dropped, neighbours that walk memory as one
//      merged (stride[d] = stride[d+1] · extent[d+1]). Same offsets, same order.
//   2. If the innermost dimension is contiguous (stride 1), each run is one memcpy: transposes
//      that keep the last axis, depth_to_space (runs of block_size · depth elements), ...
//   3. Otherwise, if an outer dimension j is the contiguous one, the copy is a set of 2D
//      transposes between dimension j and the innermost one: out[a][b] = in[b][a]. One-byte
//      elements go through 16x16 tiles transposed in SSE2 registers on x86 (four rounds of
//      unpacks); other tiles and the edges are copied element by element, tile by tile.
//   4. Anything else runs the scalar walk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qkern/core/shape.hpp"
#include "qkern/kernels/layout/strided_view.hpp"
#include "qkern/simd/arch.hpp"

#if XSIMD_WITH_SSE2
#include <emmintrin.h>
#endif

namespace qkern {
namespace simd {
namespace detail {

// Step 1: the same walk with extent-1 dimensions dropped and contiguous neighbours merged.
// (Templated on the arch, as every helper here, so that TUs built with different flags never
// share a definition.)
template <class A>
strided_view simplify_view(const strided_view& v) noexcept {
  strided_view m;
  m.offset = v.offset;
  for (int d = 0; d < v.rank; ++d) {
    if (v.extent[d] == 1) continue;
    if (m.rank > 0 && m.stride[m.rank - 1] == v.stride[d] * v.extent[d]) {
      m.extent[m.rank - 1] *= v.extent[d];
      m.stride[m.rank - 1] = v.stride[d];
    } else {
      m.extent[m.rank] = v.extent[d];
      m.stride[m.rank] = v.stride[d];
      ++m.rank;
    }
  }
  return m;
}

// out[a * out_stride + b] = in[a + b * in_stride] for a < rows, b < columns, element by element
// in 16x16 tiles (both sides stay within a few cache lines per tile).
template <class A, class T>
void transpose_plane_scalar(const T* in, std::int64_t in_stride, T* out, std::int64_t out_stride, std::int64_t rows,
                            std::int64_t columns) noexcept {
  constexpr std::int64_t tile = 16;
  for (std::int64_t a0 = 0; a0 < rows; a0 += tile) {
    const std::int64_t a1 = a0 + tile < rows ? a0 + tile : rows;
    for (std::int64_t b0 = 0; b0 < columns; b0 += tile) {
      const std::int64_t b1 = b0 + tile < columns ? b0 + tile : columns;
      for (std::int64_t a = a0; a < a1; ++a) {
        for (std::int64_t b = b0; b < b1; ++b) out[a * out_stride + b] = in[a + b * in_stride];
      }
    }
  }
}

#if XSIMD_WITH_SSE2
// One 16x16 byte tile: out row a (16 bytes at out + a*out_stride) = column a of the 16 input rows
// (16 bytes each at in + b*in_stride). After four unpack rounds register i holds column
// bit_reverse_4(i).
template <class A>
void transpose_tile_16x16(const std::int8_t* in, std::int64_t in_stride, std::int8_t* out,
                          std::int64_t out_stride) noexcept {
  __m128i x[16];
  for (int b = 0; b < 16; ++b) x[b] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + b * in_stride));
  __m128i y[16];
  for (int i = 0; i < 8; ++i) {
    y[i] = _mm_unpacklo_epi8(x[2 * i], x[2 * i + 1]);
    y[i + 8] = _mm_unpackhi_epi8(x[2 * i], x[2 * i + 1]);
  }
  for (int i = 0; i < 8; ++i) {
    x[i] = _mm_unpacklo_epi16(y[2 * i], y[2 * i + 1]);
    x[i + 8] = _mm_unpackhi_epi16(y[2 * i], y[2 * i + 1]);
  }
  for (int i = 0; i < 8; ++i) {
    y[i] = _mm_unpacklo_epi32(x[2 * i], x[2 * i + 1]);
    y[i + 8] = _mm_unpackhi_epi32(x[2 * i], x[2 * i + 1]);
  }
  for (int i = 0; i < 8; ++i) {
    x[i] = _mm_unpacklo_epi64(y[2 * i], y[2 * i + 1]);
    x[i + 8] = _mm_unpackhi_epi64(y[2 * i], y[2 * i + 1]);
  }
  constexpr int bit_reverse_4[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
  for (int i = 0; i < 16; ++i) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + bit_reverse_4[i] * out_stride), x[i]);
  }
}
#endif

template <class A, class T>
void transpose_plane(const T* in, std::int64_t in_stride, T* out, std::int64_t out_stride, std::int64_t rows,
                     std::int64_t columns) noexcept {
#if XSIMD_WITH_SSE2
  if constexpr (sizeof(T) == 1) {
    const auto* in8 = reinterpret_cast<const std::int8_t*>(in);
    auto* out8 = reinterpret_cast<std::int8_t*>(out);
    const std::int64_t full_rows = rows - rows % 16;
    const std::int64_t full_columns = columns - columns % 16;
    for (std::int64_t a0 = 0; a0 < full_rows; a0 += 16) {
      for (std::int64_t b0 = 0; b0 < full_columns; b0 += 16) {
        transpose_tile_16x16<A>(in8 + a0 + b0 * in_stride, in_stride, out8 + a0 * out_stride + b0, out_stride);
      }
    }
    // The edges: the columns past the last full tile for every row, then the rows past it.
    if (full_columns < columns) {
      transpose_plane_scalar<A>(in + full_columns * in_stride, in_stride, out + full_columns, out_stride, full_rows,
                                columns - full_columns);
    }
    if (full_rows < rows) {
      transpose_plane_scalar<A>(in + full_rows, in_stride, out + full_rows * out_stride, out_stride, rows - full_rows,
                                columns);
    }
    return;
  }
#endif
  transpose_plane_scalar<A>(in, in_stride, out, out_stride, rows, columns);
}

}  // namespace detail

// output[i] = input[i-th offset of source], as qkern::gather_strided.
template <class A = default_arch, class T>
void gather_strided(const strided_view& source, const T* input, T* output) noexcept {
  for (int d = 0; d < source.rank; ++d) {
    if (source.extent[d] == 0) return;
  }
  const strided_view v = detail::simplify_view<A>(source);
  if (v.rank == 0) {
    output[0] = input[v.offset];
    return;
  }
  const int last = v.rank - 1;
  if (v.stride[last] == 1) {
    const std::int64_t run = v.extent[last];
    strided_view runs = v;
    runs.rank = last;
    ::qkern::detail::for_each_offset(runs, [&](std::int64_t offset) {
      std::memcpy(output, input + offset, static_cast<std::size_t>(run) * sizeof(T));
      output += run;
    });
    return;
  }
  int j = -1;
  for (int d = 0; d < last; ++d) {
    if (v.stride[d] == 1) j = d;
  }
  // A plane needs a few tiles to pay; tiny or degenerate ones take the scalar walk.
  if (j < 0 || v.extent[j] < 4 || v.extent[last] < 4) {
    ::qkern::gather_strided(v, input, output);
    return;
  }
  // Output strides (row-major over the view's extents) and the walk over every dimension but
  // j and the innermost one: each step is one plane.
  std::int64_t out_stride[max_rank] = {};
  std::int64_t step = 1;
  for (int d = last; d >= 0; --d) {
    out_stride[d] = step;
    step *= v.extent[d];
  }
  strided_view planes;  // offsets into the input
  strided_view planes_out;  // the matching offsets into the output
  for (int d = 0; d < last; ++d) {
    if (d == j) continue;
    planes.extent[planes.rank] = v.extent[d];
    planes.stride[planes.rank++] = v.stride[d];
    planes_out.extent[planes_out.rank] = v.extent[d];
    planes_out.stride[planes_out.rank++] = out_stride[d];
  }
  planes.offset = v.offset;
  // Both walks visit their dimensions in the same order: advance the output one in step.
  std::int64_t index[max_rank] = {};
  std::int64_t out_offset = 0;
  ::qkern::detail::for_each_offset(planes, [&](std::int64_t offset) {
    detail::transpose_plane<A>(input + offset, v.stride[last], output + out_offset, out_stride[j], v.extent[j],
                               v.extent[last]);
    // Odometer step of the output offset, mirroring for_each_offset's.
    for (int d = planes_out.rank - 1; d >= 0; --d) {
      out_offset += planes_out.stride[d];
      if (++index[d] < planes_out.extent[d]) break;
      out_offset -= planes_out.stride[d] * planes_out.extent[d];
      index[d] = 0;
    }
  });
}

}  // namespace simd
}  // namespace qkern
