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

// A tensor case's input tensor `{"name", "dtype", "shape", "data"}` by name.
inline const json& input_tensor(const json& c, const char* name) {
  for (const json& in : c.at("inputs")) {
    if (in.at("name") == name) return in;
  }
  throw std::runtime_error(std::string("case has no input tensor named ") + name);
}

// A tensor's "shape" as a qkern::shape (throws above rank 6 or for extents out of int32).
inline qkern::shape tensor_shape(const json& tensor) {
  const json& dims = tensor.at("shape");
  if (dims.size() > static_cast<std::size_t>(qkern::max_rank)) {
    throw std::runtime_error("tensor rank above qkern::max_rank");
  }
  qkern::shape s;
  for (const json& d : dims) s.dims[s.rank++] = d.get<std::int32_t>();
  return s;
}

// A shape's extents, for comparing an output shape with check.expect_tensor.
inline std::vector<std::int32_t> shape_extents(const qkern::shape& s) {
  return std::vector<std::int32_t>(s.dims, s.dims + s.rank);
}
inline std::vector<std::int32_t> shape_extents(const json& tensor) {
  return tensor.at("shape").get<std::vector<std::int32_t>>();
}

// A tensor's "data" as std::vector<T>. Floats are read as double and narrowed (exact: the files
// hold float32 values with 17 digits); booleans (written 0/1 or true/false) go to 0/1. Throws if
// the element count differs from the shape's, so kernels never read past a short buffer.
template <class T>
std::vector<T> tensor_data(const json& tensor) {
  const json& data = tensor.at("data");
  std::size_t expected = 1;
  for (const json& d : tensor.at("shape")) expected *= d.get<std::size_t>();
  if (data.size() != expected) {
    throw std::runtime_error("tensor data has " + std::to_string(data.size()) + " elements, its shape " +
                             std::to_string(expected));
  }
  std::vector<T> out;
  out.reserve(data.size());
  for (const json& v : data) {
    if constexpr (std::is_floating_point<T>::value) {
      out.push_back(static_cast<T>(v.get<double>()));
    } else {
      out.push_back(v.is_boolean() ? static_cast<T>(v.get<bool>() ? 1 : 0) : v.get<T>());
    }
  }
  return out;
}

// `{"scale", "zero_point"}` as qkern::quantization_params (the scale is a float32 value).
inline qkern::quantization_params read_quantization(const json& q) {
  return {static_cast<float>(q.at("scale").get<double>()), q.at("zero_point").get<std::int32_t>()};
}

// params["activation"] (NONE, RELU, RELU6, RELU_N1_TO_1); none when the key is absent.
inline qkern::fused_activation read_activation(const json& params) {
  if (!params.contains("activation")) return qkern::fused_activation::none;
  const std::string a = params.at("activation").get<std::string>();
  if (a == "NONE") return qkern::fused_activation::none;
  if (a == "RELU") return qkern::fused_activation::relu;
  if (a == "RELU6") return qkern::fused_activation::relu6;
  if (a == "RELU_N1_TO_1") return qkern::fused_activation::relu_n1_to_1;
  throw std::runtime_error("unknown activation " + a);
}

// Compares derived[key] (read as T) with a value qkern's prepare produced.
template <class T>
void expect_derived(case_checker& check, const json& c, const std::string& key, const T& actual) {
  check.expect("derived." + key, c.at("derived").at(key).get<T>(), actual);
}

// Compares derived[multiplier_key] and derived[shift_key] with a quantized_multiplier.
inline void expect_derived_multiplier(case_checker& check, const json& c, const std::string& multiplier_key,
                                      const std::string& shift_key, const qkern::quantized_multiplier& m) {
  expect_derived(check, c, multiplier_key, m.multiplier);
  expect_derived(check, c, shift_key, m.shift);
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
