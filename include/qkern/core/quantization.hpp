// Quantization parameters: real = scale * (q - zero_point).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "qkern/core/multiplier.hpp"
#include "qkern/core/status.hpp"

namespace qkern {

// One scale and zero point for a whole tensor. Scales are float32, as in a .tflite file.
struct quantization_params {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
};

// A scale per slice along quantized_dimension (weights of conv, depthwise, FC). The scales are
// a view of caller memory; a single scale means per-tensor and applies to every channel.
struct per_channel_quantization {
  const float* scales = nullptr;
  std::size_t count = 0;
  std::int32_t zero_point = 0;
  int quantized_dimension = 0;

  constexpr float scale(std::size_t channel) const noexcept { return count == 1 ? scales[0] : scales[channel]; }
};

constexpr status validate_scale(float scale) noexcept {
  if (scale != scale) return status(status_code::invalid_scale, "scale is NaN");
  if (scale > std::numeric_limits<float>::max()) return status(status_code::invalid_scale, "scale is infinite");
  if (!(scale > 0.0f)) return status(status_code::invalid_scale, "scale must be positive");
  return {};
}

template <class T>
constexpr status validate_zero_point(std::int32_t zero_point) noexcept {
  static_assert(std::is_integral<T>::value, "element types are integers");
  if (zero_point < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
      zero_point > static_cast<std::int64_t>(std::numeric_limits<T>::max())) {
    return status(status_code::invalid_zero_point, "zero point is outside the range of the element type", nullptr,
                  zero_point);
  }
  return {};
}

// A valid scale and a zero point that T can hold. `subject` names the tensor in the message.
template <class T>
constexpr status validate_quantization(const quantization_params& q, const char* subject = nullptr) noexcept {
  QKERN_TRY(validate_scale(q.scale).about(subject));
  QKERN_TRY(validate_zero_point<T>(q.zero_point).about(subject));
  return {};
}

// Per-channel weights: count is 1 or `channels`, every scale valid, zero point T-representable.
template <class T>
constexpr status validate_quantization(const per_channel_quantization& q, std::size_t channels,
                                       const char* subject = nullptr) noexcept {
  if (q.scales == nullptr || q.count == 0) {
    return status(status_code::invalid_scale, "per-channel quantization has no scales", subject);
  }
  if (q.count != 1 && q.count != channels) {
    return status(status_code::invalid_scale, "per-channel scale count differs from the channel count", subject,
                  static_cast<std::int64_t>(q.count));
  }
  for (std::size_t c = 0; c < q.count; ++c) QKERN_TRY(validate_scale(q.scales[c]).about(subject));
  QKERN_TRY(validate_zero_point<T>(q.zero_point).about(subject));
  return {};
}

}  // namespace qkern
