// Golden ops for the fixed-point primitives and quantize_multiplier.
#include "golden.hpp"

namespace qkern_golden {
namespace {

std::int32_t int32_input(const json& c, const char* name) { return input_value(c, name).get<std::int32_t>(); }
std::int32_t expected_value(const json& c) { return c.at("output").at("value").get<std::int32_t>(); }

template <class Policy>
void saturating_rounding_doubling_high_mul(const json& c, case_checker& check) {
  check.expect("output", expected_value(c),
               qkern::saturating_rounding_doubling_high_mul(int32_input(c, "a"), int32_input(c, "b")));
}

template <class Policy>
void rounding_divide_by_pot(const json& c, case_checker& check) {
  check.expect("output", expected_value(c), qkern::rounding_divide_by_pot(int32_input(c, "x"), int32_input(c, "exponent")));
}

template <class Policy>
void multiply_by_quantized_multiplier(const json& c, case_checker& check) {
  const qkern::quantized_multiplier m{int32_input(c, "quantized_multiplier"), int32_input(c, "shift")};
  check.expect("output", expected_value(c), Policy::multiply(int32_input(c, "x"), m));
}

template <class Policy>
void multiply_by_quantized_multiplier_int64(const json& c, case_checker& check) {
  const qkern::quantized_multiplier m{int32_input(c, "quantized_multiplier"), int32_input(c, "shift")};
  check.expect("output", expected_value(c), Policy::multiply(input_value(c, "x").get<std::int64_t>(), m));
}

template <class Policy>
void multiply_by_quantized_multiplier_smaller_than_one_exp(const json& c, case_checker& check) {
  const qkern::quantized_multiplier m{int32_input(c, "quantized_multiplier"), int32_input(c, "left_shift")};
  check.expect("output", expected_value(c), Policy::multiply_smaller_than_one_exp(int32_input(c, "x"), m));
}

template <class Policy>
void quantize_multiplier(const json& c, case_checker& check) {
  const auto q = qkern::quantize_multiplier<Policy>(input_value(c, "real_multiplier").get<double>());
  if (!q.ok()) return check.prepare_failed(q.error());
  const json& out = c.at("output");
  check.expect("quantized_multiplier", out.at("quantized_multiplier").get<std::int32_t>(), q->multiplier);
  check.expect("shift", out.at("shift").get<int>(), q->shift);
}

}  // namespace

QKERN_GOLDEN_OP("saturating_rounding_doubling_high_mul", saturating_rounding_doubling_high_mul);
QKERN_GOLDEN_OP("rounding_divide_by_pot", rounding_divide_by_pot);
QKERN_GOLDEN_OP("multiply_by_quantized_multiplier", multiply_by_quantized_multiplier);
QKERN_GOLDEN_OP("multiply_by_quantized_multiplier_int64", multiply_by_quantized_multiplier_int64);
QKERN_GOLDEN_OP("multiply_by_quantized_multiplier_smaller_than_one_exp",
                multiply_by_quantized_multiplier_smaller_than_one_exp);
QKERN_GOLDEN_OP("quantize_multiplier", quantize_multiplier);

}  // namespace qkern_golden
