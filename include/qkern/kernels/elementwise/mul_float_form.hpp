// The float form of int8 mul's output step (core/float_step_form.hpp): the AVX-512 rows'
// exact shortcut.
//
// mul's unclamped output t(P) = Policy::multiply(P, m) + zero point is a non-decreasing step
// function of the product P = (x1 + o1)(x2 + o2), |P| <= 255^2, which is exact in float.
// Prepare evaluates t for all 65,536 input pairs and keeps the form only if every pair's
// bounds on the constant hold together.
#pragma once

#include <cstdint>

#include "qkern/core/float_step_form.hpp"
#include "qkern/core/multiplier.hpp"

namespace qkern {

using int8_mul_float_form = float_step_form;

// The float form of `raw_output(P)` (the scalar spec's Policy::multiply(P, m) + zero point) for
// the multiplier m and the input offsets; .valid is false where it does not exist. Multipliers
// outside [2^-22, 2^7) are left to the integer rows: the integer arithmetic needs s <= 45,
// and |P f + c| stays below 2^24.
template <class RawOutput>
int8_mul_float_form make_int8_mul_float_form(const RawOutput& raw_output, quantized_multiplier m,
                                             std::int32_t input1_offset, std::int32_t input2_offset) noexcept {
  if (m.multiplier < (std::int32_t{1} << 30) || m.shift < -21 || m.shift > 7) return {};
  return detail::fit_float_step_form(
      m, [&](const detail::float_step_point& point, detail::integer_interval& negative,
             detail::integer_interval& nonnegative) {
        for (int x1 = -128; x1 < 128; ++x1) {
          const std::int32_t a = x1 + input1_offset;
          for (int x2 = -128; x2 < 128; ++x2) {
            const std::int32_t product = a * (x2 + input2_offset);
            point.exact(product, raw_output(product), product < 0 ? negative : nonnegative);
          }
        }
      });
}

}  // namespace qkern
