// Writes the files qkern_diff's tests run on (tools/qkern_diff/CMakeLists.txt): one constructed
// case per diagnosis, computed with qkern's kernels, plus statistics-only and malformed files.
//
//   qkern_diff_make_cases OUTPUT_FOLDER
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "qkern/kernels/activation/logistic.hpp"
#include "qkern/kernels/activation/lut.hpp"
#include "qkern/kernels/conv/conv2d.hpp"
#include "qkern/kernels/conv/fully_connected.hpp"
#include "qkern/testing/diagnose.hpp"
#include "qkern/testing/npy.hpp"

namespace {

std::string folder;
bool failed = false;

std::string path(const std::string& name) { return folder + "/" + name; }

qkern::shape make(std::initializer_list<std::int64_t> dims) { return qkern::make_shape(dims).value(); }

template <class T>
void npy(const std::string& name, const qkern::shape& s, const std::vector<T>& v) {
  if (!qkern::testing::save_npy(path(name), s, v.data())) {
    std::fprintf(stderr, "cannot write %s\n", path(name).c_str());
    failed = true;
  }
}

void raw(const std::string& name, const std::vector<unsigned char>& bytes) {
  if (!qkern::testing::write_file_bytes(path(name), bytes)) {
    std::fprintf(stderr, "cannot write %s\n", path(name).c_str());
    failed = true;
  }
}

void raw_int8(const std::string& name, const std::vector<std::int8_t>& v) {
  raw(name, std::vector<unsigned char>(v.begin(), v.end()));
}

void text(const std::string& name, const std::string& content) {
  raw(name, std::vector<unsigned char>(content.begin(), content.end()));
}

std::vector<std::int8_t> random_int8(std::mt19937& rng, std::size_t n, int lo, int hi) {
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<std::int8_t> v(n);
  for (auto& x : v) x = static_cast<std::int8_t>(dist(rng));
  return v;
}

std::string int_list(const std::vector<std::int32_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

template <class Policy>
std::vector<std::int8_t> fc(const qkern::testing::op_case& c) {
  const qkern::per_channel_quantization f{c.filter_scales.data(), 1, 0, 0};
  const auto p = qkern::prepare_fully_connected<std::int8_t, Policy>(c.input, c.input_shape, f, c.filter_shape,
                                                                     c.bias.data(), c.output);
  std::vector<std::int8_t> out(static_cast<std::size_t>(p->output_shape.element_count()));
  qkern::scalar::fully_connected(*p, c.input_data.data(), c.filter_data.data(), c.bias.data(), out.data());
  return out;
}

template <class Policy>
std::vector<std::int8_t> conv(const qkern::testing::op_case& c) {
  const qkern::per_channel_quantization f{c.filter_scales.data(), c.filter_scales.size(), 0, 0};
  std::vector<typename Policy::multiplier_type> m(c.filter_scales.size());
  qkern::conv2d_options options;
  options.padding = qkern::padding_kind::same;
  const auto p = qkern::prepare_conv2d<std::int8_t, Policy>(c.input, c.input_shape, f, c.filter_shape, c.bias.data(),
                                                            c.output, options, {m.data(), m.size()});
  std::vector<std::int8_t> out(static_cast<std::size_t>(p->output_shape.element_count()));
  qkern::scalar::conv2d(*p, c.input_data.data(), c.filter_data.data(), c.bias.data(), out.data());
  return out;
}

// A fully connected layer with dyadic scales (3/8 effective) where the three dialects differ.
void fully_connected_case() {
  qkern::testing::op_case c;
  std::vector<std::int8_t> single, twice, fp32;
  for (std::uint32_t seed = 1; seed < 500; ++seed) {
    std::mt19937 rng(seed);
    c.input = {0.5f, -3};
    c.output = {1.0f, 4};
    c.filter_scales = {0.75f};
    c.input_shape = make({4, 8});
    c.filter_shape = make({16, 8});
    c.input_data = random_int8(rng, 32, -9, 3);
    c.filter_data = random_int8(rng, 128, -6, 6);
    std::uniform_int_distribution<int> bias(-20, 20);
    c.bias.assign(16, 0);
    for (auto& b : c.bias) b = bias(rng);
    single = fc<qkern::single_rounding>(c);
    twice = fc<qkern::double_rounding>(c);
    fp32 = fc<qkern::fp32_scale>(c);
    if (single != twice && single != fp32 && fp32 != twice) break;
  }
  npy("fc_input.npy", c.input_shape, c.input_data);
  npy("fc_filter.npy", c.filter_shape, c.filter_data);
  npy("fc_bias.npy", make({16}), c.bias);
  npy("fc_single.npy", make({4, 16}), single);
  npy("fc_double.npy", make({4, 16}), twice);
  text("fc.json", R"({
  "comment": "a fully connected layer: files relative to this one",
  "op": "fully_connected",
  "input": {"scale": 0.5, "zero_point": -3, "data": "fc_input.npy"},
  "filter": {"scale": 0.75, "zero_point": 0, "data": "fc_filter.npy"},
  "bias": {"data": "fc_bias.npy"},
  "output": {"scale": 1.0, "zero_point": 4}
}
)");
}

// A 3x3 SAME conv with dyadic per-channel scales: fp32, a zero-point error, NCHW output, a wrong tensor.
void conv_case() {
  qkern::testing::op_case c;
  std::vector<std::int8_t> fp32, twice, single;
  c.input = {0.5f, 1};
  c.output = {2.0f, -5};
  c.filter_scales = {0.25f, 0.75f, 0.625f, 0.375f, 0.875f, 0.5f, 0.125f, 0.3125f};
  c.input_shape = make({1, 6, 6, 8});
  c.filter_shape = make({8, 3, 3, 8});
  for (std::uint32_t seed = 1; seed < 500; ++seed) {
    std::mt19937 rng(seed);
    c.input_data = random_int8(rng, 288, -3, 5);
    c.filter_data = random_int8(rng, 576, -4, 4);
    std::uniform_int_distribution<int> bias(-30, 30);
    c.bias.assign(8, 0);
    for (auto& b : c.bias) b = bias(rng);
    fp32 = conv<qkern::fp32_scale>(c);
    twice = conv<qkern::double_rounding>(c);
    single = conv<qkern::single_rounding>(c);
    if (fp32 != twice && fp32 != single) break;
  }
  raw_int8("conv_input.bin", c.input_data);
  npy("conv_filter.npy", c.filter_shape, c.filter_data);
  npy("conv_fp32.npy", make({1, 6, 6, 8}), fp32);
  raw_int8("conv_double.bin", twice);
  qkern::testing::op_case flipped = c;
  flipped.input.zero_point = -c.input.zero_point;
  npy("conv_zp.npy", make({1, 6, 6, 8}), conv<qkern::double_rounding>(flipped));
  npy("conv_nchw.npy", make({1, 8, 6, 6}), qkern::testing::nhwc_to_nchw(twice.data(), make({1, 6, 6, 8})));
  std::vector<std::int8_t> wrong = twice;
  for (std::size_t i : {3u, 50u, 200u}) wrong[i] = static_cast<std::int8_t>(wrong[i] > 0 ? wrong[i] - 9 : wrong[i] + 9);
  npy("conv_wrong.npy", make({1, 6, 6, 8}), wrong);
  text("conv.json", std::string(R"({
  "op": "conv2d",
  "input": {"scale": 0.5, "zero_point": 1, "shape": [1, 6, 6, 8], "data": "conv_input.bin"},
  "filter": {"scale": [0.25, 0.75, 0.625, 0.375, 0.875, 0.5, 0.125, 0.3125], "data": "conv_filter.npy"},
  "bias": )") + int_list(c.bias) + R"(,
  "output": {"scale": 2.0, "zero_point": -5},
  "padding": "same", "stride": [1, 1], "dilation": 1, "activation": "none"
}
)");
}

// Logistic at an input quantization where TFLite's table and the fixed-point reference differ.
void logistic_case() {
  const qkern::quantization_params in{0.131636918f, -104};
  const qkern::quantization_params out{1.0f / 256.0f, -128};
  std::vector<std::int8_t> input;
  for (int q = -128; q <= 127; ++q) input.push_back(static_cast<std::int8_t>(q));
  std::vector<std::int8_t> lut(256), fixed(256);
  qkern::logistic_lut(*qkern::prepare_logistic_lut(in, out, make({256})), input.data(), lut.data());
  qkern::scalar::logistic(*qkern::prepare_logistic<std::int8_t>(in, out, make({256})), input.data(), fixed.data());
  npy("logistic_lut.npy", make({256}), lut);
  npy("logistic_fixed.npy", make({256}), fixed);
  std::vector<std::int32_t> values(input.begin(), input.end());
  text("logistic.json", R"({"op": "logistic", "input": {"scale": 0.131636918, "zero_point": -104, "shape": [256], "data": )" +
                            int_list(values) + R"(}, "output": {"scale": 0.00390625, "zero_point": -128}})");
}

void statistics_and_bad_files() {
  raw_int8("stats_exp.bin", {0, 1, 2, 3, 4, 5});
  raw_int8("stats_obs.bin", {0, 2, 2, 0, 4, -1});
  npy("i16_exp.npy", make({2, 2}), std::vector<std::int16_t>{-300, 0, 300, 32767});
  npy("i16_obs.npy", make({2, 2}), std::vector<std::int16_t>{-300, 1, 300, 32767});
  npy("u8.npy", make({4}), std::vector<std::uint8_t>{0, 1, 2, 255});

  auto good = qkern::testing::make_npy(make({8}), std::vector<std::int8_t>(8, 1).data());
  good.resize(good.size() - 3);
  raw("bad_truncated.npy", good);
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n";
  std::string f4 = std::string("\x93NUMPY\x01") + '\0' + static_cast<char>(header.size()) + '\0' + header + std::string(8, '\0');
  text("bad_float.npy", f4);
  text("odd.bin", "abc");
  text("bad.json", "{\"op\": \"conv2d\", ");
  text("bad_op.json", R"({"op": "lstm", "input": {"scale": 1, "shape": [1], "data": [0]}, "output": {"scale": 1}})");
  text("bad_key.json", R"({"op": "logistic", "inputs": {}, "output": {"scale": 0.00390625, "zero_point": -128}})");
  text("bad_scale.json", R"({"op": "logistic", "input": {"scale": 0.1, "shape": [4], "data": [1, 2, 3, 4]},
    "output": {"scale": 0.5, "zero_point": -128}})");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: qkern_diff_make_cases OUTPUT_FOLDER\n");
    return 1;
  }
  folder = argv[1];
  fully_connected_case();
  conv_case();
  logistic_case();
  statistics_and_bad_files();
  return failed ? 1 : 0;
}
