// qkern_demo: one output of a quantized Dense layer, derived step by step, under TFLite's
// double rounding and single rounding. docs/arithmetic.md walks through the same numbers.
#include <cstdio>
#include <string>

#include "dense_example.hpp"

namespace {
std::string shortest(double v) { return qkern_examples::shortest_decimal(v); }
}  // namespace

int main() {
  const qkern_examples::dense_walkthrough w = qkern_examples::walk_dense();
  const auto& p = w.p;
  std::printf("A quantized Dense output, by hand (real = scale * (q - zero_point))\n\n");
  std::printf("1. Parameters (from a real int8 TFLite model)\n");
  std::printf("   input  scale %s  zero point %d\n", shortest(p.input_scale).c_str(), int(p.input_zero_point));
  std::printf("   weight scale %s  zero point %d\n", shortest(p.weight_scale).c_str(), int(p.weight_zero_point));
  std::printf("   bias   scale %s  (= input scale * weight scale)\n", shortest(p.bias_scale).c_str());
  std::printf("   output scale %s  zero point %d\n\n", shortest(p.output_scale).c_str(), int(p.output_zero_point));

  std::printf("2. Effective scale = input_scale * weight_scale / output_scale (in double)\n");
  std::printf("   = %s\n", shortest(w.effective_scale).c_str());
  std::printf("   frexp: %s * 2^%d\n", shortest(w.frexp_mantissa).c_str(), w.frexp_exponent);
  std::printf("   Q31 multiplier = round(mantissa * 2^31) = %d, shift = %d\n", int(w.multiplier.multiplier),
              w.multiplier.shift);
  std::printf("   check: %d * 2^%d / 2^31 = %s\n\n", int(w.multiplier.multiplier), w.multiplier.shift,
              shortest(w.multiplier.real_value()).c_str());

  std::printf("3. Accumulate in int32: sum (input - input_zero_point) * weight, + bias\n");
  for (int i = 0; i < 4; ++i) {
    std::printf("   (%4d - (%d)) * %4d = %d\n", int(p.input[i]), int(p.input_zero_point), int(p.weights[i]),
                int(w.terms[i]));
  }
  std::printf("   + bias %d  => accumulator = %d\n\n", int(p.bias), int(w.accumulator));

  std::printf("4. Requantize: accumulator * multiplier * 2^shift / 2^31, + output zero point, clamp\n");
  std::printf("   double rounding: high multiply round(%d * %d / 2^31) = %d,\n", int(w.accumulator),
              int(w.multiplier.multiplier), int(w.high_product));
  std::printf("                    then divide by 2^%d rounding half away from zero = %d\n", -w.multiplier.shift,
              int(w.double_rounded.scaled));
  std::printf("                    output = %d + %d = %d\n", int(w.double_rounded.scaled), int(p.output_zero_point),
              int(w.double_rounded.output));
  std::printf("   single rounding: round(%d * %d / 2^%d) = %d, output = %d\n", int(w.accumulator),
              int(w.multiplier.multiplier), 31 - w.multiplier.shift, int(w.single_rounded.scaled),
              int(w.single_rounded.output));
  std::printf("   float reference: %.6f (in output units)\n\n", w.real_output);

  std::printf("5. Where the two policies differ: accumulator %d (real %.6f)\n", int(w.tie_accumulator),
              w.tie_accumulator * w.effective_scale);
  std::printf("   double: high multiply gives %d, exactly 1.5 * 2^%d: rounds away to %d\n", int(w.tie_high_product),
              -w.multiplier.shift, int(w.tie_double));
  std::printf("   single: one rounding of %.6f gives %d\n\n", w.tie_accumulator * w.effective_scale, int(w.tie_single));

  std::printf("6. Usual mistakes\n");
  std::printf("   adding the input zero point instead of subtracting it: accumulator %d, output %d\n",
              int(w.wrong_sign_accumulator), int(w.wrong_sign_output));
  std::printf("   taking the bias scale for the output scale: multiplier %s, output %d (saturated)\n",
              shortest(w.bias_as_output_scale).c_str(), int(w.bias_as_output_output));
  return 0;
}
