// Flat offsets into rank-4 row-major tensors: NHWC activations, OHWI and 1HWO filters.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qkern/core/shape.hpp"

namespace qkern {
namespace detail {

// Offset of element [i0, i1, i2, i3] of a rank-4 tensor with shape s. Validated shapes hold at
// most 2^31 elements, so every offset fits std::size_t even on 32-bit targets.
constexpr std::size_t offset4(const shape& s, std::int32_t i0, std::int32_t i1, std::int32_t i2,
                              std::int32_t i3) noexcept {
  return ((static_cast<std::size_t>(i0) * static_cast<std::size_t>(s[1]) + static_cast<std::size_t>(i1)) *
              static_cast<std::size_t>(s[2]) +
          static_cast<std::size_t>(i2)) *
             static_cast<std::size_t>(s[3]) +
         static_cast<std::size_t>(i3);
}

// A rank-4 shape, not validated (prepare validates what it builds).
constexpr shape shape4(std::int32_t d0, std::int32_t d1, std::int32_t d2, std::int32_t d3) noexcept {
  shape s;
  s.rank = 4;
  s.dims[0] = d0;
  s.dims[1] = d1;
  s.dims[2] = d2;
  s.dims[3] = d3;
  return s;
}

// Every extent of a rank-4 shape is positive.
constexpr status require_positive_extents(const shape& s, const char* subject) noexcept {
  for (int i = 0; i < s.rank; ++i) {
    if (s[i] <= 0) return status(status_code::invalid_shape, "every extent must be positive", subject, s[i]);
  }
  return {};
}

}  // namespace detail
}  // namespace qkern
