// The golden runner's framework. An op is one function that reads a case, runs qkern's
// prepare (comparing `derived`) and eval (comparing `output`) through a case_checker, and is
// registered for both rounding modes with QKERN_GOLDEN_OP.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <type_traits>
#include <string>
#include <vector>

#include "qkern/core/core.hpp"

namespace qkern_golden {

using json = nlohmann::json;

// Records the first mismatch of one case: the field and the values that differ.
class case_checker {
 public:
  bool failed() const { return !failure_.empty(); }
  const std::string& failure() const { return failure_; }

  template <class T>
  void expect(const std::string& field, const T& expected, const T& actual) {
    if (failed() || expected == actual) return;
    failure_ = field + ": expected " + to_text(expected) + ", got " + to_text(actual);
  }

  // Element-by-element comparison of a tensor; reports the first differing index.
  template <class T>
  void expect_tensor(const std::string& field, const std::vector<T>& expected, const std::vector<T>& actual) {
    if (failed()) return;
    if (expected.size() != actual.size()) {
      failure_ = field + ": expected " + std::to_string(expected.size()) + " elements, got " +
                 std::to_string(actual.size());
      return;
    }
    for (std::size_t i = 0; i < expected.size(); ++i) {
      if (!(expected[i] == actual[i])) {
        failure_ = field + "[" + std::to_string(i) + "]: expected " + to_text(expected[i]) + ", got " +
                   to_text(actual[i]);
        return;
      }
    }
  }

  // prepare failed where the reference succeeded.
  void prepare_failed(const qkern::status& s) {
    if (failed()) return;
    char text[256];
    s.format(text, sizeof text);
    failure_ = std::string("prepare: ") + text;
  }

 private:
  template <class T>
  static std::string to_text(const T& v) {
    if constexpr (std::is_floating_point<T>::value) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
      return buf;
    } else if constexpr (std::is_arithmetic<T>::value) {
      return std::to_string(v);
    } else {
      return std::string(v);
    }
  }
  std::string failure_;
};

// --- reading cases -----------------------------------------------------------------------

// A primitive case's named scalar input.
inline const json& input_value(const json& c, const char* name) {
  for (const json& in : c.at("inputs")) {
    if (in.at("name") == name) return in.at("value");
  }
  throw std::runtime_error(std::string("case has no input named ") + name);
}

// --- the registry --------------------------------------------------------------------------

using op_function = void (*)(const json& c, case_checker& check);

struct op_entry {
  std::string name;
  op_function double_mode;
  op_function single_mode;
};

std::vector<op_entry>& registry();

struct op_registration {
  op_registration(const char* name, op_function double_mode, op_function single_mode) {
    registry().push_back({name, double_mode, single_mode});
  }
};

}  // namespace qkern_golden

#define QKERN_GOLDEN_CONCAT_(a, b) a##b
#define QKERN_GOLDEN_CONCAT(a, b) QKERN_GOLDEN_CONCAT_(a, b)
// Registers `fn<qkern::double_rounding>` and `fn<qkern::single_rounding>` as the op `name`.
#define QKERN_GOLDEN_OP(name, fn)                                                         \
  static const ::qkern_golden::op_registration QKERN_GOLDEN_CONCAT(golden_op_, __LINE__)( \
      name, &fn<::qkern::double_rounding>, &fn<::qkern::single_rounding>)
