// One output of a quantized Dense (fully connected) layer, computed step by step with qkern's
// primitives. The quantization parameters come from a real TFLite model; the four inputs,
// weights and the bias are a small made-up row. docs/arithmetic.md shows these numbers and a
// test checks them; the demo prints them.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "qkern/core/core.hpp"

namespace qkern_examples {

// The shortest decimal that reads back as the same double: how a model's scales are usually
// printed (0.003921568859368563 rather than 0.0039215688593685627).
inline std::string shortest_decimal(double v) {
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

struct dense_parameters {
  float input_scale = 0.003921568859368563f;  // 1/255: an image in [0, 1]
  std::int32_t input_zero_point = -128;
  float weight_scale = 0.01087072491645813f;
  std::int32_t weight_zero_point = 0;
  float bias_scale = 4.263029768480919e-05f;  // input_scale * weight_scale, rounded to float32
  float output_scale = 0.22868551313877106f;
  std::int32_t output_zero_point = 49;
  std::int8_t input[4] = {127, 100, -50, 90};
  std::int8_t weights[4] = {127, 98, -60, 110};
  std::int32_t bias = 2000;
};

template <class Policy>
struct requantized {
  std::int32_t scaled = 0;  // accumulator times the effective scale, rounded by Policy
  std::int32_t output = 0;  // + output zero point, clamped to int8
};

struct dense_walkthrough {
  dense_parameters p;
  double effective_scale = 0;  // input_scale * weight_scale / output_scale, in double
  double frexp_mantissa = 0;
  int frexp_exponent = 0;
  qkern::quantized_multiplier multiplier;
  std::int32_t terms[4] = {};       // (input - input_zero_point) * (weight - weight_zero_point)
  std::int32_t accumulator = 0;     // sum of terms + bias
  std::int32_t high_product = 0;    // doubling high multiply: round(acc * q / 2^31)
  requantized<qkern::double_rounding> double_rounded;
  requantized<qkern::single_rounding> single_rounded;
  double real_output = 0;           // the float Dense on the dequantized values, in output units

  // Mistake 1: adding the input zero point instead of subtracting it.
  std::int32_t wrong_sign_accumulator = 0;
  std::int32_t wrong_sign_output = 0;
  // Mistake 2: taking the bias scale for the output scale.
  double bias_as_output_scale = 0;
  std::int32_t bias_as_output_output = 0;

  // Single vs double rounding differ on this accumulator (an exact tie after the first rounding).
  std::int32_t tie_accumulator = 8046;
  std::int32_t tie_high_product = 0;
  std::int32_t tie_double = 0;
  std::int32_t tie_single = 0;
};

inline dense_walkthrough walk_dense() {
  dense_walkthrough w;
  const dense_parameters& p = w.p;
  w.effective_scale = static_cast<double>(p.input_scale) * static_cast<double>(p.weight_scale) /
                      static_cast<double>(p.output_scale);
  w.frexp_mantissa = std::frexp(w.effective_scale, &w.frexp_exponent);
  w.multiplier = qkern::quantize_multiplier<qkern::double_rounding>(w.effective_scale).value();

  const auto accumulate = [&](std::int32_t input_offset, std::int32_t* terms) {
    std::int32_t acc = p.bias;
    for (int i = 0; i < 4; ++i) {
      const std::int32_t t = (p.input[i] + input_offset) * (p.weights[i] - p.weight_zero_point);
      if (terms != nullptr) terms[i] = t;
      acc += t;
    }
    return acc;
  };
  const auto to_int8 = [&](std::int32_t scaled) {
    return static_cast<std::int32_t>(qkern::saturating_cast<std::int8_t>(scaled + p.output_zero_point));
  };

  w.accumulator = accumulate(-p.input_zero_point, w.terms);
  w.high_product = qkern::saturating_rounding_doubling_high_mul(w.accumulator, w.multiplier.multiplier);
  w.double_rounded.scaled = qkern::double_rounding::multiply(w.accumulator, w.multiplier);
  w.double_rounded.output = to_int8(w.double_rounded.scaled);
  w.single_rounded.scaled = qkern::single_rounding::multiply(w.accumulator, w.multiplier);
  w.single_rounded.output = to_int8(w.single_rounded.scaled);

  double real = static_cast<double>(p.bias) * static_cast<double>(p.bias_scale);
  for (int i = 0; i < 4; ++i) {
    real += static_cast<double>(p.input_scale) * (p.input[i] - p.input_zero_point) *
            static_cast<double>(p.weight_scale) * p.weights[i];
  }
  w.real_output = real / static_cast<double>(p.output_scale) + p.output_zero_point;

  w.wrong_sign_accumulator = accumulate(p.input_zero_point, nullptr);
  w.wrong_sign_output = to_int8(qkern::double_rounding::multiply(w.wrong_sign_accumulator, w.multiplier));
  w.bias_as_output_scale = static_cast<double>(p.input_scale) * static_cast<double>(p.weight_scale) /
                           static_cast<double>(p.bias_scale);
  w.bias_as_output_output = to_int8(qkern::double_rounding::multiply(
      w.accumulator, qkern::quantize_multiplier<qkern::double_rounding>(w.bias_as_output_scale).value()));

  w.tie_high_product = qkern::saturating_rounding_doubling_high_mul(w.tie_accumulator, w.multiplier.multiplier);
  w.tie_double = qkern::double_rounding::multiply(w.tie_accumulator, w.multiplier);
  w.tie_single = qkern::single_rounding::multiply(w.tie_accumulator, w.multiplier);
  return w;
}

}  // namespace qkern_examples
