// strided_view: a tensor read (or written) in an order other than its own row-major order.
//
// Most layout ops are "walk the output row-major; each step moves the input pointer by a fixed
// stride per dimension": transpose permutes the input strides, strided_slice scales them and
// starts at an offset, depth_to_space splits the channel dimension into three. A view holds
// that loop nest, and gather_strided / scatter_strided run it. Up to max_rank dimensions;
// strides are in elements and may be zero or negative.
#pragma once

#include <cstdint>

#include "qkern/core/shape.hpp"

namespace qkern {

struct strided_view {
  int rank = 0;
  std::int64_t extent[max_rank] = {};
  std::int64_t stride[max_rank] = {};
  std::int64_t offset = 0;  // of the first element

  constexpr std::int64_t element_count() const noexcept {
    std::int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= extent[i];
    return n;
  }
};

namespace detail {

// strides[i] = elements between neighbours along dimension i of a row-major tensor of shape s.
constexpr void row_major_strides(const shape& s, std::int64_t* strides) noexcept {
  std::int64_t step = 1;
  for (int i = s.rank - 1; i >= 0; --i) {
    strides[i] = step;
    step *= s.dims[i];
  }
}

// A view that walks s in its own order: identity strides, offset 0.
constexpr strided_view row_major_view(const shape& s) noexcept {
  strided_view v;
  v.rank = s.rank;
  row_major_strides(s, v.stride);
  for (int i = 0; i < s.rank; ++i) v.extent[i] = s.dims[i];
  return v;
}

// Calls visit(offset) once per element of v, in row-major order of v's extents.
template <class Visit>
constexpr void for_each_offset(const strided_view& v, Visit&& visit) noexcept {
  for (int i = 0; i < v.rank; ++i) {
    if (v.extent[i] == 0) return;
  }
  std::int64_t index[max_rank] = {};
  std::int64_t offset = v.offset;
  for (;;) {
    visit(offset);
    // Odometer step: advance the innermost dimension, carrying into outer ones.
    int d = v.rank - 1;
    for (; d >= 0; --d) {
      offset += v.stride[d];
      if (++index[d] < v.extent[d]) break;
      offset -= v.stride[d] * v.extent[d];
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

}  // namespace detail

// output[i] = input[i-th offset of source]: a strided read into a contiguous output.
template <class T>
constexpr void gather_strided(const strided_view& source, const T* input, T* output) noexcept {
  detail::for_each_offset(source, [&](std::int64_t offset) { *output++ = input[offset]; });
}

// output[i-th offset of destination] = input[i]: a contiguous input into a strided write.
template <class T>
constexpr void scatter_strided(const strided_view& destination, const T* input, T* output) noexcept {
  detail::for_each_offset(destination, [&](std::int64_t offset) { output[offset] = *input++; });
}

}  // namespace qkern
