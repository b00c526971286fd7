// docs/arithmetic.md shows its worked numbers in ```qkern-check blocks of `name = value`
// lines. This test recomputes every one of them and fails on any number the doc shows that
// is wrong, unknown, or missing.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "../../examples/dense_example.hpp"

namespace {

std::string g17(double v) { return qkern_examples::shortest_decimal(v); }

std::map<std::string, std::string> computed_numbers() {
  const auto w = qkern_examples::walk_dense();
  const auto& p = w.p;
  std::map<std::string, std::string> n;
  n["input_scale"] = g17(p.input_scale);
  n["input_zero_point"] = std::to_string(p.input_zero_point);
  n["weight_scale"] = g17(p.weight_scale);
  n["weight_zero_point"] = std::to_string(p.weight_zero_point);
  n["bias_scale"] = g17(p.bias_scale);
  n["output_scale"] = g17(p.output_scale);
  n["output_zero_point"] = std::to_string(p.output_zero_point);
  n["effective_scale"] = g17(w.effective_scale);
  n["frexp_mantissa"] = g17(w.frexp_mantissa);
  n["frexp_exponent"] = std::to_string(w.frexp_exponent);
  n["quantized_multiplier"] = std::to_string(w.multiplier.multiplier);
  n["shift"] = std::to_string(w.multiplier.shift);
  n["multiplier_value"] = g17(w.multiplier.real_value());
  for (int i = 0; i < 4; ++i) {
    n["input[" + std::to_string(i) + "]"] = std::to_string(p.input[i]);
    n["weight[" + std::to_string(i) + "]"] = std::to_string(p.weights[i]);
    n["term[" + std::to_string(i) + "]"] = std::to_string(w.terms[i]);
  }
  n["bias"] = std::to_string(p.bias);
  n["accumulator"] = std::to_string(w.accumulator);
  n["high_product"] = std::to_string(w.high_product);
  n["double_scaled"] = std::to_string(w.double_rounded.scaled);
  n["double_output"] = std::to_string(w.double_rounded.output);
  n["single_scaled"] = std::to_string(w.single_rounded.scaled);
  n["single_output"] = std::to_string(w.single_rounded.output);
  n["float_output"] = g17(w.real_output);
  n["wrong_sign_accumulator"] = std::to_string(w.wrong_sign_accumulator);
  n["wrong_sign_output"] = std::to_string(w.wrong_sign_output);
  n["bias_as_output_multiplier"] = g17(w.bias_as_output_scale);
  n["bias_as_output_output"] = std::to_string(w.bias_as_output_output);
  n["tie_accumulator"] = std::to_string(w.tie_accumulator);
  n["tie_real"] = g17(w.tie_accumulator * w.effective_scale);
  n["tie_high_product"] = std::to_string(w.tie_high_product);
  n["tie_double"] = std::to_string(w.tie_double);
  n["tie_single"] = std::to_string(w.tie_single);
  return n;
}

// `name = value` lines of every ```qkern-check block, in order.
std::map<std::string, std::string> documented_numbers(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::map<std::string, std::string> n;
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("```", 0) == 0) {
      inside = !inside && line == "```qkern-check";
      continue;
    }
    if (!inside) continue;
    const auto eq = line.find(" = ");
    REQUIRE_MESSAGE(eq != std::string::npos, "unparsable line in a qkern-check block: " << line);
    std::string name = line.substr(0, eq);
    name.erase(name.find_last_not_of(' ') + 1);
    std::string value = line.substr(eq + 3);
    const auto comment = value.find("  #");
    if (comment != std::string::npos) value.erase(comment);
    value.erase(value.find_last_not_of(' ') + 1);
    n[name] = value;
  }
  return n;
}

}  // namespace

TEST_CASE("docs/arithmetic.md: every number in its checked blocks is what qkern computes") {
  const auto computed = computed_numbers();
  const auto documented = documented_numbers(std::string(QKERN_DOCS_DIR) + "/arithmetic.md");
  std::ostringstream expected_block;
  for (const auto& [name, value] : computed) expected_block << name << " = " << value << "\n";
  INFO("computed values:\n" << expected_block.str());
  for (const auto& [name, value] : documented) {
    const auto it = computed.find(name);
    CHECK_MESSAGE(it != computed.end(), "the doc shows an unchecked number: " << name);
    if (it != computed.end()) CHECK_MESSAGE(it->second == value, name << ": doc says " << value << ", computed " << it->second);
  }
  for (const auto& [name, value] : computed) {
    CHECK_MESSAGE(documented.count(name) == 1, "the doc does not show " << name << " = " << value);
  }
}

TEST_CASE("the worked Dense example agrees with float arithmetic") {
  const auto w = qkern_examples::walk_dense();
  // The requantized output is within one step of the float Dense on the same dequantized values.
  CHECK(std::abs(w.double_rounded.output - w.real_output) <= 1.0);
  CHECK(std::abs(w.single_rounded.output - w.real_output) <= 1.0);
  // The multiplier represents the effective scale to 31 bits.
  CHECK(std::abs(w.multiplier.real_value() / w.effective_scale - 1.0) < std::ldexp(1.0, -30));
  // Single rounding is the nearest integer to the exact product; double rounding is not, here.
  const long double exact = static_cast<long double>(w.tie_accumulator) * w.multiplier.multiplier /
                            std::ldexp(1.0L, 31 - w.multiplier.shift);
  CHECK(w.tie_single == std::lround(exact));
  CHECK(w.tie_double == w.tie_single + 1);
}
