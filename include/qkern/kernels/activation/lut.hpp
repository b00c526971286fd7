// logistic_lut and tanh_lut (int8): the lookup-table dialect of TFLite's built-in int8 kernels.
//
// A different formulation from qkern::logistic / qkern::tanh (TFLite Micro's fixed-point
// reference, the one the golden data holds): prepare evaluates the float function once per
// possible input value,
//   table[q] = clamp(round(f(s_in · (q - zp_in)) · (1 / s_out)) + zp_out),
// all in float32 with std::exp / std::tanh (TFLite's LUTPopulate), and eval is a table read.
// The two dialects agree to within one output step; they are not bit-identical, and which one a
// model was validated against decides which to run. The table depends on the C library's float
// functions, so prepare is not constexpr. Output quantizations are fixed as for the fixed-point
// ops (logistic 1/256 and -128, tanh 1/128 and 0).
//
//   auto p = qkern::prepare_logistic_lut(q_in, q_out, shape);
//   if (p) qkern::logistic_lut(*p, in, out);
#pragma once

#include <cmath>
#include <cstdint>

#include "qkern/core/quantization.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/activation/common.hpp"

#if QKERN_SIMD
#include "qkern/simd/arch.hpp"
#include "qkern/simd/byte_lookup.hpp"
#include "qkern/simd/constant_evaluation.hpp"
#endif

namespace qkern {

// 256 outputs indexed by the input's bit pattern (static_cast<std::uint8_t>(q)).
struct int8_lut_params {
  std::int8_t table[256] = {};
  std::int64_t count = 0;
};

namespace detail {

template <class Function>
inline int8_lut_params make_int8_lut(const quantization_params& input, const quantization_params& output,
                                     std::int64_t count, Function f) noexcept {
  int8_lut_params p;
  p.count = count;
  const float inverse_output_scale = 1.0f / output.scale;
  for (int q = -128; q <= 127; ++q) {
    const float real = input.scale * static_cast<float>(q - input.zero_point);
    const float rescaled = std::round(f(real) * inverse_output_scale);
    const float shifted = rescaled + static_cast<float>(output.zero_point);
    const float clamped = shifted < -128.0f ? -128.0f : (shifted > 127.0f ? 127.0f : shifted);
    p.table[static_cast<std::uint8_t>(q)] = static_cast<std::int8_t>(clamped);
  }
  return p;
}

}  // namespace detail

// TFLite's int8 logistic LUT. Fails for invalid quantizations and an output other than (1/256, -128).
inline result<int8_lut_params> prepare_logistic_lut(const quantization_params& input, const quantization_params& output,
                                                    const shape& input_shape) noexcept {
  QKERN_TRY(validate_quantization<std::int8_t>(input, "input"));
  QKERN_TRY(validate_quantization<std::int8_t>(output, "output"));
  QKERN_TRY(detail::require_output_quantization(output, 1.0f / 256.0f, -128, "logistic output scale must be 1/256",
                                                "logistic output zero point must be -128"));
  const auto count = detail::activation_element_count(input_shape);
  if (!count.ok()) return count.error();
  return detail::make_int8_lut(input, output, *count, [](float x) { return 1.0f / (1.0f + std::exp(-x)); });
}

// TFLite's int8 tanh LUT. Fails for invalid quantizations and an output other than (1/128, 0).
inline result<int8_lut_params> prepare_tanh_lut(const quantization_params& input, const quantization_params& output,
                                                const shape& input_shape) noexcept {
  QKERN_TRY(validate_quantization<std::int8_t>(input, "input"));
  QKERN_TRY(validate_quantization<std::int8_t>(output, "output"));
  QKERN_TRY(detail::require_output_quantization(output, 1.0f / 128.0f, 0, "tanh output scale must be 1/128",
                                                "tanh output zero point must be 0"));
  const auto count = detail::activation_element_count(input_shape);
  if (!count.ok()) return count.error();
  return detail::make_int8_lut(input, output, *count, [](float x) { return std::tanh(x); });
}

constexpr std::int8_t int8_lut_element(const int8_lut_params& p, std::int8_t q) noexcept {
  return p.table[static_cast<std::uint8_t>(q)];
}

namespace scalar {

constexpr void int8_lut(const int8_lut_params& p, const std::int8_t* input, std::int8_t* output) noexcept {
  for (std::int64_t i = 0; i < p.count; ++i) output[i] = int8_lut_element(p, input[i]);
}

}  // namespace scalar

// --- the SIMD path ---------------------------------------------------------------------------

#if QKERN_SIMD
namespace simd {

// The table read on vectors (simd/byte_lookup.hpp): the same entries, so bit-identical to
// scalar::int8_lut.
template <class A = default_arch>
void int8_lut(const int8_lut_params& p, const std::int8_t* input, std::int8_t* output) noexcept {
  simd::lookup_int8_table<A>(p.table, input, output, p.count);
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public evals ------------------------------------------------------------------------

// output[i] = table[input[i]] for p.count elements (p from prepare_logistic_lut). The SIMD path
// when qkern is built with it (the scalar reference in constant expressions).
constexpr void logistic_lut(const int8_lut_params& p, const std::int8_t* input, std::int8_t* output) noexcept {
#if QKERN_SIMD
  if (!simd::in_constant_evaluation()) {
    simd::int8_lut(p, input, output);
    return;
  }
#endif
  scalar::int8_lut(p, input, output);
}

// output[i] = table[input[i]] for p.count elements (p from prepare_tanh_lut). The SIMD path
// when qkern is built with it (the scalar reference in constant expressions).
constexpr void tanh_lut(const int8_lut_params& p, const std::int8_t* input, std::int8_t* output) noexcept {
#if QKERN_SIMD
  if (!simd::in_constant_evaluation()) {
    simd::int8_lut(p, input, output);
    return;
  }
#endif
  scalar::int8_lut(p, input, output);
}

}  // namespace qkern
