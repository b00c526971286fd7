// Output multipliers of the ops with weights: one per output channel, kept in caller memory.
//
// Kernels allocate nothing, and a params struct stays small and copyable whatever the channel
// count, so a prepare step that needs per-channel multipliers writes them into storage the
// caller owns (a static array, an arena slot, a member of the layer object) and the params
// point at it. The storage must hold at least the op's output channel count and must outlive
// every use of the params:
//
//   qkern::quantized_multiplier multipliers[64];               // one per output channel
//   auto p = qkern::prepare_conv2d<std::int8_t>(..., multipliers);  // fails if 64 is too few
//
// A failed prepare reports buffer_too_small with the required count as its value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/rounding_fp32.hpp"
#include "qkern/core/status.hpp"

namespace qkern {

// A view of caller storage for per-channel multipliers: a pointer and how many it holds.
template <class Multiplier>
struct multiplier_storage {
  Multiplier* data = nullptr;
  std::size_t capacity = 0;

  constexpr multiplier_storage() noexcept = default;
  constexpr multiplier_storage(Multiplier* storage, std::size_t count) noexcept : data(storage), capacity(count) {}
  template <std::size_t N>
  constexpr multiplier_storage(Multiplier (&array)[N]) noexcept : data(array), capacity(N) {}  // NOLINT: implicit
};

namespace detail {

constexpr status require_multiplier_capacity(std::size_t capacity, std::int64_t channels) noexcept {
  if (static_cast<std::int64_t>(capacity) < channels) {
    return status(status_code::buffer_too_small, "multiplier storage needs one entry per output channel",
                  "multipliers", channels);
  }
  return {};
}

// A policy that forms its multiplier from the three tensor scales itself (fp32_scale: XNNPACK's
// float32 formula) says so with `forms_scale_from_tensor_scales` and provides make_scale.
template <class Policy, class = void>
struct forms_scale_from_tensor_scales : std::false_type {};
template <class Policy>
struct forms_scale_from_tensor_scales<Policy, std::void_t<decltype(Policy::forms_scale_from_tensor_scales)>>
    : std::bool_constant<Policy::forms_scale_from_tensor_scales> {};

}  // namespace detail

// Writes QuantizeMultiplier(double(s_in) · double(s_w[c]) / double(s_out)) for every output
// channel c into storage (a single filter scale applies to every channel), as TFLite's
// PopulateConvolutionQuantizationParams does: the product and the quotient are double
// operations, left to right. A policy that forms its scale itself (fp32_scale) gets
// Policy::make_scale(s_in, s_w[c], s_out) instead. The scales must already be validated.
template <class Policy>
constexpr status derive_per_channel_multipliers(float input_scale, const per_channel_quantization& filter,
                                                float output_scale, std::int32_t channels,
                                                multiplier_storage<typename Policy::multiplier_type> storage) noexcept {
  QKERN_TRY(detail::require_multiplier_capacity(storage.capacity, channels));
  if (storage.data == nullptr) {
    return status(status_code::invalid_argument, "multiplier storage is null", "multipliers");
  }
  for (std::int32_t c = 0; c < channels; ++c) {
    if constexpr (detail::forms_scale_from_tensor_scales<Policy>::value) {
      const auto m = Policy::make_scale(input_scale, filter.scale(static_cast<std::size_t>(c)), output_scale);
      if (!m.ok()) return m.error().about("filter");
      storage.data[c] = *m;
      continue;
    }
    const double real = static_cast<double>(input_scale) * static_cast<double>(filter.scale(c)) /
                        static_cast<double>(output_scale);
    const auto m = Policy::quantize(real);
    if (!m.ok()) return m.error().about("filter");
    storage.data[c] = *m;
  }
  return {};
}

// The one multiplier TFLite's GetQuantizedConvolutionMultipler derives (per-tensor fully
// connected, batch matmul): double(float32(s_a · s_b)) / double(s_out). The product of the two
// scales is rounded to float32 first, unlike the per-channel derivation above. A policy that
// forms its scale itself (fp32_scale) gets Policy::make_scale(scale_a, scale_b, output_scale).
template <class Policy>
constexpr result<typename Policy::multiplier_type> derive_float_product_multiplier(float scale_a, float scale_b,
                                                                                   float output_scale) noexcept {
  if constexpr (detail::forms_scale_from_tensor_scales<Policy>::value) {
    return Policy::make_scale(scale_a, scale_b, output_scale);
  }
  const float product = scale_a * scale_b;
  const double real = static_cast<double>(product) / static_cast<double>(output_scale);
  return Policy::quantize(real);
}

}  // namespace qkern
