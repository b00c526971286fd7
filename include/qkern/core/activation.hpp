// Fused-activation clamp ranges, derived as TFLite's CalculateActivationRangeQuantized does.
#pragma once

#include <cstdint>
#include <limits>

#include "qkern/core/quantization.hpp"
#include "qkern/core/status.hpp"

namespace qkern {

enum class fused_activation : std::uint8_t { none, relu, relu6, relu_n1_to_1 };

struct activation_range {
  std::int32_t min = 0;
  std::int32_t max = 0;
};

namespace detail {

// zero_point + round_half_away(real / scale), the quotient formed in float32 like TFLite.
// A quotient beyond the int32 range (tiny scales) is UB in TFLite; here it saturates, which is
// then clamped to the type's range anyway.
constexpr std::int64_t quantize_activation_bound(float real, const quantization_params& q) noexcept {
  const float quotient = real / q.scale;
  const float magnitude = quotient < 0 ? -quotient : quotient;
  std::int64_t rounded = 0;
  if (magnitude >= 4294967296.0f) {
    rounded = std::int64_t{1} << 32;
  } else {
    // magnitude < 2^32: its fractional part is exact in float, so this is round-half-away.
    const auto whole = static_cast<std::int64_t>(magnitude);
    rounded = whole + (magnitude - static_cast<float>(whole) >= 0.5f ? 1 : 0);
  }
  return q.zero_point + (quotient < 0 ? -rounded : rounded);
}

constexpr std::int32_t clamp_to(std::int64_t v, std::int32_t lo, std::int32_t hi) noexcept {
  return v < lo ? lo : (v > hi ? hi : static_cast<std::int32_t>(v));
}

}  // namespace detail

// Clamp range of an output of element type T with quantization `output`.
template <class T>
constexpr result<activation_range> make_activation_range(fused_activation activation,
                                                         const quantization_params& output) noexcept {
  QKERN_TRY(validate_quantization<T>(output, "output"));
  constexpr std::int32_t qmin = std::numeric_limits<T>::min();
  constexpr std::int32_t qmax = std::numeric_limits<T>::max();
  switch (activation) {
    case fused_activation::none:
      return activation_range{qmin, qmax};
    case fused_activation::relu:
      return activation_range{detail::clamp_to(detail::quantize_activation_bound(0.0f, output), qmin, qmax), qmax};
    case fused_activation::relu6:
      return activation_range{detail::clamp_to(detail::quantize_activation_bound(0.0f, output), qmin, qmax),
                              detail::clamp_to(detail::quantize_activation_bound(6.0f, output), qmin, qmax)};
    case fused_activation::relu_n1_to_1:
      return activation_range{detail::clamp_to(detail::quantize_activation_bound(-1.0f, output), qmin, qmax),
                              detail::clamp_to(detail::quantize_activation_bound(1.0f, output), qmin, qmax)};
  }
  return status(status_code::invalid_argument, "unknown fused activation");
}

}  // namespace qkern
