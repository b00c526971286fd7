// Tensor shapes up to rank 6 (TFLite Micro's limit for the ops qkern covers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "qkern/core/status.hpp"

namespace qkern {

inline constexpr int max_rank = 6;

// Extents are stored outermost first (row-major, NHWC for activations). A rank-0 shape is a
// scalar with one element.
struct shape {
  int rank = 0;
  std::int32_t dims[max_rank] = {};

  constexpr std::int32_t operator[](int i) const noexcept { return dims[i]; }
  constexpr std::int32_t& operator[](int i) noexcept { return dims[i]; }

  // Product of the extents; meaningful once validate_shape() has passed.
  constexpr std::int64_t element_count() const noexcept {
    std::int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= dims[i];
    return n;
  }

  friend constexpr bool operator==(const shape& a, const shape& b) noexcept {
    if (a.rank != b.rank) return false;
    for (int i = 0; i < a.rank; ++i) {
      if (a.dims[i] != b.dims[i]) return false;
    }
    return true;
  }
  friend constexpr bool operator!=(const shape& a, const shape& b) noexcept { return !(a == b); }
};

// Largest element count a tensor may have: indexes stay well inside int64 and sizes in bytes
// inside size_t on 32-bit targets.
inline constexpr std::int64_t max_element_count = std::int64_t{1} << 31;

// Rank in [0, max_rank], every extent >= 0, element count within max_element_count.
constexpr status validate_shape(const shape& s, const char* subject = nullptr) noexcept {
  if (s.rank < 0) return status(status_code::invalid_shape, "rank is negative", subject, s.rank);
  if (s.rank > max_rank) return status(status_code::rank_too_large, "rank is above 6", subject, s.rank);
  std::int64_t n = 1;
  for (int i = 0; i < s.rank; ++i) {
    if (s.dims[i] < 0) return status(status_code::invalid_shape, "extent is negative", subject, s.dims[i]);
    n *= s.dims[i];
    if (n > max_element_count) return status(status_code::invalid_shape, "element count exceeds 2^31", subject);
  }
  return {};
}

// Builds a shape from extents; fails for a rank above 6 or a negative extent.
constexpr result<shape> make_shape(std::initializer_list<std::int64_t> extents) noexcept {
  if (extents.size() > static_cast<std::size_t>(max_rank)) {
    return status(status_code::rank_too_large, "rank is above 6", nullptr, static_cast<std::int64_t>(extents.size()));
  }
  shape s;
  for (std::int64_t e : extents) {
    if (e < 0 || e > INT32_MAX) return status(status_code::invalid_shape, "extent is negative or above INT32_MAX", nullptr, e);
    s.dims[s.rank++] = static_cast<std::int32_t>(e);
  }
  QKERN_TRY(validate_shape(s));
  return s;
}

}  // namespace qkern
