// Golden ops for the activation kernels: logistic, tanh (int8, int16), softmax (int8->int8,
// int8->int16, int16->int16), hard_swish, leaky_relu (int8, int16), prelu, relu (int8, int16)
// and relu6. Each op runs prepare, compares every `derived` field (softmax_int16's two LUTs
// included), then runs eval and compares `output`.
#include <cstdint>
#include <string>
#include <vector>

#include "golden.hpp"
#include "qkern/kernels/activation.hpp"

namespace qkern_golden {
namespace {

qkern::quantization_params param_quantization(const json& c, const char* name) {
  return read_quantization(c.at("params").at(name));
}

// Runs a unary eval on the case's "input" tensor and compares shape and data with `output`.
template <class In, class Out, class Params, class Eval>
void run_unary(const json& c, case_checker& check, const Params& p, Eval eval) {
  const json& tensor = input_tensor(c, "input");
  const std::vector<In> in = tensor_data<In>(tensor);
  std::vector<Out> out(in.size());
  eval(p, in.data(), out.data());
  check.expect_tensor("output.shape", shape_extents(c.at("output")), shape_extents(tensor));
  check.expect_tensor("output", tensor_data<Out>(c.at("output")), out);
}

// --- logistic, tanh -----------------------------------------------------------------------------

template <class Params>
void expect_q4_27_rescale(const json& c, case_checker& check, const Params& p) {
  expect_derived(check, c, "input_zero_point", p.input_zero_point);
  expect_derived(check, c, "input_range_radius", p.input_range_radius);
  expect_derived_multiplier(check, c, "input_multiplier", "input_left_shift", p.input_multiplier);
}

template <class Params>
void expect_table_rescale(const json& c, case_checker& check, const Params& p) {
  expect_derived(check, c, "input_multiplier", p.input_multiplier);
  expect_derived(check, c, "input_left_shift", p.input_left_shift);
}

template <class T, class Policy>
void run_logistic(const json& c, case_checker& check) {
  const auto p = qkern::prepare_logistic<T, Policy>(param_quantization(c, "input"), param_quantization(c, "output"),
                                                   tensor_shape(input_tensor(c, "input")));
  if (!p.ok()) return check.prepare_failed(p.error());
  if constexpr (std::is_same<T, std::int8_t>::value) {
    expect_q4_27_rescale(c, check, *p);
  } else {
    expect_table_rescale(c, check, *p);
  }
  run_unary<T, T>(c, check, *p, [](const auto& q, const T* x, T* y) { qkern::logistic(q, x, y); });
}

template <class T, class Policy>
void run_tanh(const json& c, case_checker& check) {
  const auto p = qkern::prepare_tanh<T, Policy>(param_quantization(c, "input"), param_quantization(c, "output"),
                                               tensor_shape(input_tensor(c, "input")));
  if (!p.ok()) return check.prepare_failed(p.error());
  if constexpr (std::is_same<T, std::int8_t>::value) {
    expect_q4_27_rescale(c, check, *p);
  } else {
    expect_table_rescale(c, check, *p);
  }
  run_unary<T, T>(c, check, *p, [](const auto& q, const T* x, T* y) { qkern::tanh(q, x, y); });
}

template <class Policy>
void logistic(const json& c, case_checker& check) { run_logistic<std::int8_t, Policy>(c, check); }
template <class Policy>
void logistic_int16(const json& c, case_checker& check) { run_logistic<std::int16_t, Policy>(c, check); }
template <class Policy>
void tanh(const json& c, case_checker& check) { run_tanh<std::int8_t, Policy>(c, check); }
template <class Policy>
void tanh_int16(const json& c, case_checker& check) { run_tanh<std::int16_t, Policy>(c, check); }

// --- softmax ------------------------------------------------------------------------------------

template <class In, class Out, class Policy>
void run_softmax(const json& c, case_checker& check) {
  const auto beta = static_cast<float>(c.at("params").at("beta").get<double>());
  const auto p = qkern::prepare_softmax<In, Out, Policy>(param_quantization(c, "input"), param_quantization(c, "output"),
                                                        beta, tensor_shape(input_tensor(c, "input")));
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_derived_multiplier(check, c, "input_multiplier", "input_left_shift", p->input_multiplier);
  if constexpr (std::is_same<In, std::int8_t>::value) {
    expect_derived(check, c, "diff_min", p->diff_min);
  } else {
    const std::vector<std::int16_t> exp_lut(qkern::softmax_int16_exp_lut, qkern::softmax_int16_exp_lut + 513);
    const std::vector<std::int16_t> reciprocal_lut(qkern::softmax_int16_one_over_one_plus_x_lut,
                                                   qkern::softmax_int16_one_over_one_plus_x_lut + 513);
    check.expect_tensor("derived.exp_lut", c.at("derived").at("exp_lut").get<std::vector<std::int16_t>>(), exp_lut);
    check.expect_tensor("derived.one_over_one_plus_x_lut",
                        c.at("derived").at("one_over_one_plus_x_lut").get<std::vector<std::int16_t>>(), reciprocal_lut);
  }
  run_unary<In, Out>(c, check, *p, [](const auto& q, const In* x, Out* y) { qkern::softmax(q, x, y); });
}

template <class Policy>
void softmax(const json& c, case_checker& check) { run_softmax<std::int8_t, std::int8_t, Policy>(c, check); }
template <class Policy>
void softmax_int8_int16(const json& c, case_checker& check) { run_softmax<std::int8_t, std::int16_t, Policy>(c, check); }
template <class Policy>
void softmax_int16(const json& c, case_checker& check) { run_softmax<std::int16_t, std::int16_t, Policy>(c, check); }

// --- hard_swish ---------------------------------------------------------------------------------

template <class Policy>
void hard_swish(const json& c, case_checker& check) {
  using T = std::int8_t;
  const auto p = qkern::prepare_hard_swish<T, Policy>(param_quantization(c, "input"), param_quantization(c, "output"),
                                                     tensor_shape(input_tensor(c, "input")));
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_derived(check, c, "input_zero_point", p->input_zero_point);
  expect_derived(check, c, "output_zero_point", p->output_zero_point);
  expect_derived(check, c, "reluish_multiplier_fixedpoint_int16", p->reluish_multiplier_fixedpoint_int16);
  expect_derived(check, c, "reluish_multiplier_exponent", p->reluish_multiplier_exponent);
  expect_derived(check, c, "output_multiplier_fixedpoint_int16", p->output_multiplier_fixedpoint_int16);
  expect_derived(check, c, "output_multiplier_exponent", p->output_multiplier_exponent);
  run_unary<T, T>(c, check, *p, [](const auto& q, const T* x, T* y) { qkern::hard_swish(q, x, y); });
}

// --- leaky_relu (int8 and int16 cases in one file) ---------------------------------------------

template <class T, class Policy>
void run_leaky_relu(const json& c, case_checker& check) {
  const auto alpha = static_cast<float>(c.at("params").at("alpha").get<double>());
  const auto p = qkern::prepare_leaky_relu<T, Policy>(param_quantization(c, "input"), param_quantization(c, "output"),
                                                     alpha, tensor_shape(input_tensor(c, "input")));
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_derived(check, c, "input_zero_point", p->input_zero_point);
  expect_derived(check, c, "output_zero_point", p->output_zero_point);
  expect_derived_multiplier(check, c, "output_multiplier_alpha", "output_shift_alpha", p->output_multiplier_alpha);
  expect_derived_multiplier(check, c, "output_multiplier_identity", "output_shift_identity",
                            p->output_multiplier_identity);
  run_unary<T, T>(c, check, *p, [](const auto& q, const T* x, T* y) { qkern::leaky_relu(q, x, y); });
}

template <class Policy>
void leaky_relu(const json& c, case_checker& check) {
  const std::string dtype = c.at("dtype").get<std::string>();
  if (dtype == "int8") return run_leaky_relu<std::int8_t, Policy>(c, check);
  if (dtype == "int16") return run_leaky_relu<std::int16_t, Policy>(c, check);
  check.expect<std::string>("dtype", "int8 or int16", dtype);
}

// --- prelu --------------------------------------------------------------------------------------

template <class Policy>
void prelu(const json& c, case_checker& check) {
  using T = std::int8_t;
  const json& input = input_tensor(c, "input");
  const json& alpha = input_tensor(c, "alpha");
  const auto p = qkern::prepare_prelu<T, Policy>(param_quantization(c, "input"), tensor_shape(input),
                                                param_quantization(c, "alpha"), tensor_shape(alpha),
                                                param_quantization(c, "output"));
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_derived(check, c, "input_offset", p->input_offset);
  expect_derived(check, c, "alpha_offset", p->alpha_offset);
  expect_derived(check, c, "output_offset", p->output_offset);
  expect_derived_multiplier(check, c, "output_multiplier_1", "output_shift_1", p->output_multiplier_1);
  expect_derived_multiplier(check, c, "output_multiplier_2", "output_shift_2", p->output_multiplier_2);
  const std::vector<T> x = tensor_data<T>(input);
  const std::vector<T> a = tensor_data<T>(alpha);
  std::vector<T> out(static_cast<std::size_t>(p->broadcast.output_count));
  qkern::prelu(*p, x.data(), a.data(), out.data());
  check.expect_tensor("output.shape", shape_extents(c.at("output")), shape_extents(p->broadcast.output));
  check.expect_tensor("output", tensor_data<T>(c.at("output")), out);
}

// --- relu (int8 and int16 cases in one file), relu6 --------------------------------------------

template <class T, class Policy>
void run_relu(const json& c, case_checker& check) {
  const auto p = qkern::prepare_relu<T, Policy>(param_quantization(c, "input"), param_quantization(c, "output"),
                                               tensor_shape(input_tensor(c, "input")));
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_derived(check, c, "input_zero_point", p->input_zero_point);
  expect_derived(check, c, "output_zero_point", p->output_zero_point);
  expect_derived_multiplier(check, c, "output_multiplier", "output_shift", p->output_multiplier);
  expect_derived(check, c, "quantized_activation_min", p->quantized_activation_min);
  expect_derived(check, c, "quantized_activation_max", p->quantized_activation_max);
  run_unary<T, T>(c, check, *p, [](const auto& q, const T* x, T* y) { qkern::relu(q, x, y); });
}

template <class Policy>
void relu(const json& c, case_checker& check) {
  const std::string dtype = c.at("dtype").get<std::string>();
  if (dtype == "int8") return run_relu<std::int8_t, Policy>(c, check);
  if (dtype == "int16") return run_relu<std::int16_t, Policy>(c, check);
  check.expect<std::string>("dtype", "int8 or int16", dtype);
}

template <class Policy>
void relu6(const json& c, case_checker& check) {
  using T = std::int8_t;
  const auto p = qkern::prepare_relu6<T>(param_quantization(c, "input"), param_quantization(c, "output"),
                                         tensor_shape(input_tensor(c, "input")));
  if (!p.ok()) return check.prepare_failed(p.error());
  expect_derived(check, c, "zero", std::int32_t{p->zero});
  expect_derived(check, c, "six", std::int32_t{p->six});
  run_unary<T, T>(c, check, *p, [](const auto& q, const T* x, T* y) { qkern::relu6(q, x, y); });
}

}  // namespace

QKERN_GOLDEN_OP("logistic", logistic);
QKERN_GOLDEN_OP("logistic_int16", logistic_int16);
QKERN_GOLDEN_OP("tanh", tanh);
QKERN_GOLDEN_OP("tanh_int16", tanh_int16);
QKERN_GOLDEN_OP("softmax", softmax);
QKERN_GOLDEN_OP("softmax_int8_int16", softmax_int8_int16);
QKERN_GOLDEN_OP("softmax_int16", softmax_int16);
QKERN_GOLDEN_OP("hard_swish", hard_swish);
QKERN_GOLDEN_OP("leaky_relu", leaky_relu);
QKERN_GOLDEN_OP("prelu", prelu);
QKERN_GOLDEN_OP("relu", relu);
QKERN_GOLDEN_OP("relu6", relu6);

}  // namespace qkern_golden
