// Golden ops for the elementwise kernels: add, sub, mul (int8, int16), maximum, minimum,
// squared_difference, the six comparisons, quantize, dequantize and requantize. Each op runs
// prepare, compares every `derived` field qkern has, then runs eval and compares `output`.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "golden.hpp"
#include "qkern/kernels/elementwise.hpp"

namespace qkern_golden {
namespace {

struct binary_case {
  qkern::quantization_params input1;
  qkern::quantization_params input2;
  qkern::shape shape1;
  qkern::shape shape2;
  const json* tensor1;
  const json* tensor2;
};

binary_case read_binary(const json& c) {
  const json& params = c.at("params");
  const json& t1 = input_tensor(c, "input1");
  const json& t2 = input_tensor(c, "input2");
  return {read_quantization(params.at("input1")), read_quantization(params.at("input2")), tensor_shape(t1),
          tensor_shape(t2), &t1, &t2};
}

// Runs a binary eval on the case's inputs and compares shape and data with `output`.
template <class In, class Out, class Params, class Eval>
void run_binary(const json& c, case_checker& check, const binary_case& b, const Params& p, Eval eval) {
  const std::vector<In> a = tensor_data<In>(*b.tensor1);
  const std::vector<In> d = tensor_data<In>(*b.tensor2);
  std::vector<Out> out(static_cast<std::size_t>(p.broadcast.output_count));
  eval(p, a.data(), d.data(), out.data());
  check.expect_tensor("output.shape", shape_extents(c.at("output")), shape_extents(p.broadcast.output));
  check.expect_tensor("output", tensor_data<Out>(c.at("output")), out);
}

// --- add, sub ----------------------------------------------------------------------------------

template <class Params>
void expect_add_sub_derived(const json& c, case_checker& check, const Params& p) {
  expect_derived(check, c, "left_shift", p.left_shift);
  expect_derived(check, c, "input1_offset", p.input1_offset);
  expect_derived(check, c, "input2_offset", p.input2_offset);
  expect_derived_multiplier(check, c, "input1_multiplier", "input1_shift", p.input1_multiplier);
  expect_derived_multiplier(check, c, "input2_multiplier", "input2_shift", p.input2_multiplier);
  expect_derived(check, c, "output_offset", p.output_offset);
  expect_derived_multiplier(check, c, "output_multiplier", "output_shift", p.output_multiplier);
  expect_derived(check, c, "output_activation_min", p.output_activation_min);
  expect_derived(check, c, "output_activation_max", p.output_activation_max);
  expect_derived(check, c, "requires_broadcast", p.requires_broadcast);
}

template <class T, class Policy>
void run_add(const json& c, case_checker& check) {
  const binary_case b = read_binary(c);
  const auto p = qkern::prepare_add<T, Policy>(b.input1, b.shape1, b.input2, b.shape2,
                                               read_quantization(c.at("params").at("output")),
                                               read_activation(c.at("params")));
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_add_sub_derived(c, check, *p);
  run_binary<T, T>(c, check, b, *p, [](const auto& q, const T* x, const T* y, T* z) { qkern::add(q, x, y, z); });
}

template <class T, class Policy>
void run_sub(const json& c, case_checker& check) {
  const binary_case b = read_binary(c);
  const auto p = qkern::prepare_sub<T, Policy>(b.input1, b.shape1, b.input2, b.shape2,
                                               read_quantization(c.at("params").at("output")),
                                               read_activation(c.at("params")));
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_add_sub_derived(c, check, *p);
  run_binary<T, T>(c, check, b, *p, [](const auto& q, const T* x, const T* y, T* z) { qkern::sub(q, x, y, z); });
}

template <class Policy>
void add(const json& c, case_checker& check) { run_add<std::int8_t, Policy>(c, check); }
template <class Policy>
void add_int16(const json& c, case_checker& check) { run_add<std::int16_t, Policy>(c, check); }
template <class Policy>
void sub(const json& c, case_checker& check) { run_sub<std::int8_t, Policy>(c, check); }
template <class Policy>
void sub_int16(const json& c, case_checker& check) { run_sub<std::int16_t, Policy>(c, check); }

// --- mul ---------------------------------------------------------------------------------------

template <class T, class Policy>
void run_mul(const json& c, case_checker& check) {
  const binary_case b = read_binary(c);
  const auto p = qkern::prepare_mul<T, Policy>(b.input1, b.shape1, b.input2, b.shape2,
                                               read_quantization(c.at("params").at("output")),
                                               read_activation(c.at("params")));
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_derived(check, c, "input1_offset", p->input1_offset);
  expect_derived(check, c, "input2_offset", p->input2_offset);
  expect_derived(check, c, "output_offset", p->output_offset);
  expect_derived_multiplier(check, c, "output_multiplier", "output_shift", p->output_multiplier);
  expect_derived(check, c, "output_activation_min", p->output_activation_min);
  expect_derived(check, c, "output_activation_max", p->output_activation_max);
  run_binary<T, T>(c, check, b, *p, [](const auto& q, const T* x, const T* y, T* z) { qkern::mul(q, x, y, z); });
}

template <class Policy>
void mul(const json& c, case_checker& check) { run_mul<std::int8_t, Policy>(c, check); }
template <class Policy>
void mul_int16(const json& c, case_checker& check) { run_mul<std::int16_t, Policy>(c, check); }

// --- maximum, minimum (int8 and int16 cases in one file; rounding-independent) ------------------

template <class T, bool is_maximum>
void run_minmax_typed(const json& c, case_checker& check) {
  const binary_case b = read_binary(c);
  const auto output = read_quantization(c.at("params").at("output"));
  if constexpr (is_maximum) {
    const auto p = qkern::prepare_maximum<T>(b.input1, b.shape1, b.input2, b.shape2, output);
    if (!p.ok()) return check.prepare_failed(p.error());
    run_binary<T, T>(c, check, b, *p, [](const auto& q, const T* x, const T* y, T* z) { qkern::maximum(q, x, y, z); });
  } else {
    const auto p = qkern::prepare_minimum<T>(b.input1, b.shape1, b.input2, b.shape2, output);
    if (!p.ok()) return check.prepare_failed(p.error());
    run_binary<T, T>(c, check, b, *p, [](const auto& q, const T* x, const T* y, T* z) { qkern::minimum(q, x, y, z); });
  }
}

template <bool is_maximum>
void run_minmax(const json& c, case_checker& check) {
  const std::string dtype = c.at("dtype").get<std::string>();
  if (dtype == "int8") return run_minmax_typed<std::int8_t, is_maximum>(c, check);
  if (dtype == "int16") return run_minmax_typed<std::int16_t, is_maximum>(c, check);
  check.expect<std::string>("dtype", "int8 or int16", dtype);
}

template <class Policy>
void maximum(const json& c, case_checker& check) { run_minmax<true>(c, check); }
template <class Policy>
void minimum(const json& c, case_checker& check) { run_minmax<false>(c, check); }

// --- squared_difference --------------------------------------------------------------------------

template <class Policy>
void squared_difference(const json& c, case_checker& check) {
  using T = std::int8_t;
  const binary_case b = read_binary(c);
  const auto p = qkern::prepare_squared_difference<T, Policy>(b.input1, b.shape1, b.input2, b.shape2,
                                                              read_quantization(c.at("params").at("output")));
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_add_sub_derived(c, check, *p);  // the same ArithmeticParams fields
  run_binary<T, T>(c, check, b, *p,
                   [](const auto& q, const T* x, const T* y, T* z) { qkern::squared_difference(q, x, y, z); });
}

// --- comparisons -----------------------------------------------------------------------------------

// bool outputs are compared as 0/1 bytes (std::vector<bool> has no data()).
template <class Policy, class Eval>
void run_comparison(const json& c, case_checker& check, Eval eval) {
  using T = std::int8_t;
  const binary_case b = read_binary(c);
  const auto p = qkern::prepare_comparison<T, Policy>(b.input1, b.shape1, b.input2, b.shape2);
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_derived(check, c, "left_shift", p->left_shift);
  expect_derived(check, c, "input1_offset", p->input1_offset);
  expect_derived(check, c, "input2_offset", p->input2_offset);
  expect_derived_multiplier(check, c, "input1_multiplier", "input1_shift", p->input1_multiplier);
  expect_derived_multiplier(check, c, "input2_multiplier", "input2_shift", p->input2_multiplier);
  const std::vector<T> x = tensor_data<T>(*b.tensor1);
  const std::vector<T> y = tensor_data<T>(*b.tensor2);
  const auto count = static_cast<std::size_t>(p->broadcast.output_count);
  std::unique_ptr<bool[]> out(new bool[count]);
  eval(*p, x.data(), y.data(), out.get());
  check.expect_tensor("output.shape", shape_extents(c.at("output")), shape_extents(p->broadcast.output));
  check.expect_tensor("output", tensor_data<std::uint8_t>(c.at("output")),
                      std::vector<std::uint8_t>(out.get(), out.get() + count));
}

#define QKERN_GOLDEN_COMPARISON(op)                                                                     \
  template <class Policy>                                                                               \
  void op(const json& c, case_checker& check) {                                                         \
    run_comparison<Policy>(c, check, [](const auto& q, const std::int8_t* x, const std::int8_t* y, bool* z) { \
      qkern::op(q, x, y, z);                                                                            \
    });                                                                                                 \
  }
QKERN_GOLDEN_COMPARISON(equal)
QKERN_GOLDEN_COMPARISON(not_equal)
QKERN_GOLDEN_COMPARISON(less)
QKERN_GOLDEN_COMPARISON(less_equal)
QKERN_GOLDEN_COMPARISON(greater)
QKERN_GOLDEN_COMPARISON(greater_equal)
#undef QKERN_GOLDEN_COMPARISON

// --- quantize, dequantize, requantize ------------------------------------------------------------

template <class T>
void run_quantize(const json& c, case_checker& check) {
  const json& in = input_tensor(c, "input");
  const auto p = qkern::prepare_quantize<T>(read_quantization(c.at("params").at("output")), tensor_shape(in));
  if (!p.ok()) return check.prepare_failed(p.error());
  const std::vector<float> x = tensor_data<float>(in);
  std::vector<T> out(static_cast<std::size_t>(p->count));
  qkern::quantize(*p, x.data(), out.data());
  check.expect_tensor("output", tensor_data<T>(c.at("output")), out);
}

template <class Policy>
void quantize(const json& c, case_checker& check) {
  const std::string dtype = c.at("dtype").get<std::string>();
  if (dtype == "float32->int8") return run_quantize<std::int8_t>(c, check);
  if (dtype == "float32->int16") return run_quantize<std::int16_t>(c, check);
  check.expect<std::string>("dtype", "float32->int8 or float32->int16", dtype);
}

template <class T>
void run_dequantize(const json& c, case_checker& check) {
  const json& in = input_tensor(c, "input");
  const auto p = qkern::prepare_dequantize<T>(read_quantization(c.at("params").at("input")), tensor_shape(in));
  if (!p.ok()) return check.prepare_failed(p.error());
  const std::vector<T> x = tensor_data<T>(in);
  std::vector<float> out(static_cast<std::size_t>(p->count));
  qkern::dequantize(*p, x.data(), out.data());
  check.expect_tensor("output", tensor_data<float>(c.at("output")), out);
}

template <class Policy>
void dequantize(const json& c, case_checker& check) {
  const std::string dtype = c.at("dtype").get<std::string>();
  if (dtype == "int8->float32") return run_dequantize<std::int8_t>(c, check);
  if (dtype == "int16->float32") return run_dequantize<std::int16_t>(c, check);
  check.expect<std::string>("dtype", "int8->float32 or int16->float32", dtype);
}

template <class In, class Out, class Policy>
void run_requantize(const json& c, case_checker& check) {
  const json& params = c.at("params");
  const json& in = input_tensor(c, "input");
  const auto p = qkern::prepare_requantize<In, Out, Policy>(read_quantization(params.at("input")),
                                                            read_quantization(params.at("output")), tensor_shape(in));
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_derived(check, c, "input_zero_point", p->input_zero_point);
  expect_derived(check, c, "output_zero_point", p->output_zero_point);
  expect_derived_multiplier(check, c, "effective_scale_multiplier", "effective_scale_shift", p->effective_scale);
  const std::vector<In> x = tensor_data<In>(in);
  std::vector<Out> out(static_cast<std::size_t>(p->count));
  qkern::requantize(*p, x.data(), out.data());
  check.expect_tensor("output", tensor_data<Out>(c.at("output")), out);
}

template <class Policy>
void requantize(const json& c, case_checker& check) {
  const std::string dtype = c.at("dtype").get<std::string>();
  if (dtype == "int8->int8") return run_requantize<std::int8_t, std::int8_t, Policy>(c, check);
  if (dtype == "int8->uint8") return run_requantize<std::int8_t, std::uint8_t, Policy>(c, check);
  if (dtype == "uint8->int8") return run_requantize<std::uint8_t, std::int8_t, Policy>(c, check);
  if (dtype == "int8->int16") return run_requantize<std::int8_t, std::int16_t, Policy>(c, check);
  if (dtype == "int16->int8") return run_requantize<std::int16_t, std::int8_t, Policy>(c, check);
  if (dtype == "int16->int16") return run_requantize<std::int16_t, std::int16_t, Policy>(c, check);
  if (dtype == "int8->int32") return run_requantize<std::int8_t, std::int32_t, Policy>(c, check);
  check.expect<std::string>("dtype", "a supported requantize type pair", dtype);
}

}  // namespace

QKERN_GOLDEN_OP("add", add);
QKERN_GOLDEN_OP("add_int16", add_int16);
QKERN_GOLDEN_OP("sub", sub);
QKERN_GOLDEN_OP("sub_int16", sub_int16);
QKERN_GOLDEN_OP("mul", mul);
QKERN_GOLDEN_OP("mul_int16", mul_int16);
QKERN_GOLDEN_OP("maximum", maximum);
QKERN_GOLDEN_OP("minimum", minimum);
QKERN_GOLDEN_OP("squared_difference", squared_difference);
QKERN_GOLDEN_OP("equal", equal);
QKERN_GOLDEN_OP("not_equal", not_equal);
QKERN_GOLDEN_OP("less", less);
QKERN_GOLDEN_OP("less_equal", less_equal);
QKERN_GOLDEN_OP("greater", greater);
QKERN_GOLDEN_OP("greater_equal", greater_equal);
QKERN_GOLDEN_OP("quantize", quantize);
QKERN_GOLDEN_OP("dequantize", dequantize);
QKERN_GOLDEN_OP("requantize", requantize);

}  // namespace qkern_golden
