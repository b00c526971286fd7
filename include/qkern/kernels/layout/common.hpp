// Checks the layout ops share: the quantization rule of pure data movement, axis
// normalisation and extent arithmetic that must stay inside int32.
#pragma once

#include <cstdint>
#include <limits>

#include "qkern/core/quantization.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"

namespace qkern {
namespace detail {

// A layout op copies raw values, so its output must use the input's quantization (converters
// always give them one); anything else would silently change the real values.
template <class T>
constexpr status require_same_quantization(const quantization_params& input, const quantization_params& output,
                                           const char* subject = "output") noexcept {
  QKERN_TRY(validate_quantization<T>(input, "input"));
  QKERN_TRY(validate_quantization<T>(output, subject));
  if (output.scale != input.scale || output.zero_point != input.zero_point) {
    return status(status_code::unsupported_parameter,
                  "must have the input's scale and zero point (values are copied, not rescaled)", subject);
  }
  return {};
}

// axis in [-rank, rank), made non-negative by adding the rank.
constexpr result<int> normalize_axis(std::int64_t axis, int rank, const char* subject) noexcept {
  if (axis < -rank || axis >= rank) {
    return status(status_code::invalid_argument, "is outside [-rank, rank)", subject, axis);
  }
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

// An extent computed in 64 bits, checked to fit a shape's int32 extent.
constexpr result<std::int32_t> checked_extent(std::int64_t extent, const char* subject) noexcept {
  if (extent < 0) return status(status_code::invalid_shape, "extent is negative", subject, extent);
  if (extent > std::numeric_limits<std::int32_t>::max()) {
    return status(status_code::invalid_shape, "extent is above INT32_MAX", subject, extent);
  }
  return static_cast<std::int32_t>(extent);
}

}  // namespace detail
}  // namespace qkern
