// The discrepancy report (include/qkern/testing/): comparison statistics on a case computed by
// hand, the .npy reader, and one constructed case per diagnosis. Every observed tensor is built
// here straight from qkern's kernels (or by hand), not through diagnose's own recomputation.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "qkern/kernels/activation/logistic.hpp"
#include "qkern/kernels/activation/lut.hpp"
#include "qkern/kernels/activation/tanh.hpp"
#include "qkern/kernels/conv/conv2d.hpp"
#include "qkern/kernels/conv/depthwise_conv2d.hpp"
#include "qkern/kernels/conv/fully_connected.hpp"
#include "qkern/kernels/elementwise/add_sub.hpp"
#include "qkern/kernels/elementwise/mul.hpp"
#include "qkern/testing/compare.hpp"
#include "qkern/testing/diagnose.hpp"
#include "qkern/testing/npy.hpp"
#include "support/status_text.hpp"

namespace {

using qkern::testing::dialect;
using qkern::testing::mistake;
using qkern::testing::op_case;
using qkern::testing::op_kind;
using qkern::testing::verdict;
using qkern_test::make;

std::vector<std::int8_t> random_int8(std::mt19937& rng, std::size_t n, int lo, int hi) {
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<std::int8_t> v(n);
  for (auto& x : v) x = static_cast<std::int8_t>(dist(rng));
  return v;
}

std::vector<std::int32_t> random_bias(std::mt19937& rng, std::size_t n, int magnitude) {
  std::uniform_int_distribution<int> dist(-magnitude, magnitude);
  std::vector<std::int32_t> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// --- the ops computed directly with qkern's kernels ------------------------------------------

template <class Policy>
std::vector<std::int8_t> run_fc(const op_case& c) {
  const qkern::per_channel_quantization filter{c.filter_scales.data(), c.filter_scales.size(), 0, 0};
  std::vector<typename Policy::multiplier_type> m(static_cast<std::size_t>(c.filter_shape[0]));
  qkern::fully_connected_options options;
  options.activation = c.activation;
  const auto p = qkern::prepare_fully_connected<std::int8_t, Policy>(c.input, c.input_shape, filter, c.filter_shape,
                                                                     c.bias.data(), c.output, options, {m.data(), m.size()});
  REQUIRE_MESSAGE(p.ok(), qkern_test::text(p.error()));
  std::vector<std::int8_t> out(static_cast<std::size_t>(p->output_shape.element_count()));
  qkern::scalar::fully_connected(*p, c.input_data.data(), c.filter_data.data(), c.bias.data(), out.data());
  return out;
}

template <class Policy>
std::vector<std::int8_t> run_conv(const op_case& c) {
  const qkern::per_channel_quantization filter{c.filter_scales.data(), c.filter_scales.size(), 0, 0};
  std::vector<typename Policy::multiplier_type> m(static_cast<std::size_t>(c.filter_shape[0]));
  qkern::conv2d_options options;
  options.padding = c.padding;
  options.stride_height = c.stride_height;
  options.stride_width = c.stride_width;
  const auto p = qkern::prepare_conv2d<std::int8_t, Policy>(c.input, c.input_shape, filter, c.filter_shape,
                                                            c.bias.data(), c.output, options, {m.data(), m.size()});
  REQUIRE_MESSAGE(p.ok(), qkern_test::text(p.error()));
  std::vector<std::int8_t> out(static_cast<std::size_t>(p->output_shape.element_count()));
  qkern::scalar::conv2d(*p, c.input_data.data(), c.filter_data.data(), c.bias.data(), out.data());
  return out;
}

template <class Policy>
std::vector<std::int8_t> run_depthwise(const op_case& c) {
  const qkern::per_channel_quantization filter{c.filter_scales.data(), c.filter_scales.size(), 0, 3};
  std::vector<typename Policy::multiplier_type> m(static_cast<std::size_t>(c.filter_shape[3]));
  qkern::depthwise_conv2d_options options;
  options.padding = c.padding;
  options.depth_multiplier = c.depth_multiplier;
  const auto p = qkern::prepare_depthwise_conv2d<std::int8_t, Policy>(
      c.input, c.input_shape, filter, c.filter_shape, c.bias.data(), c.output, options, {m.data(), m.size()});
  REQUIRE_MESSAGE(p.ok(), qkern_test::text(p.error()));
  std::vector<std::int8_t> out(static_cast<std::size_t>(p->output_shape.element_count()));
  qkern::scalar::depthwise_conv2d(*p, c.input_data.data(), c.filter_data.data(), c.bias.data(), out.data());
  return out;
}

template <class Policy>
std::vector<std::int8_t> run_mul(const op_case& c) {
  const auto p = qkern::prepare_mul<std::int8_t, Policy>(c.input, c.input_shape, c.input2, c.input2_shape, c.output);
  REQUIRE_MESSAGE(p.ok(), qkern_test::text(p.error()));
  std::vector<std::int8_t> out(static_cast<std::size_t>(p->broadcast.output_count));
  qkern::scalar::mul(*p, c.input_data.data(), c.input2_data.data(), out.data());
  return out;
}

template <class Policy>
std::vector<std::int8_t> run_add(const op_case& c) {
  const auto p = qkern::prepare_add<std::int8_t, Policy>(c.input, c.input_shape, c.input2, c.input2_shape, c.output);
  REQUIRE_MESSAGE(p.ok(), qkern_test::text(p.error()));
  std::vector<std::int8_t> out(static_cast<std::size_t>(p->broadcast.output_count));
  qkern::scalar::add(*p, c.input_data.data(), c.input2_data.data(), out.data());
  return out;
}

// --- constructed cases -------------------------------------------------------------------------

// A small fully connected layer. Its effective scale s_in·s_w/s_out sits in [1/4, 1/2), so the
// requantizing shift is 1 and double rounding's first rounding lands on a tie for about half the
// outputs. With `dyadic` scales (0.5 · 0.75 / 1 = 3/8 exactly) the exact products themselves hit
// ties, where single rounding (half up), fp32 (half even) and double rounding (half away from
// zero after the high multiply) all differ; with realistic scales single rounding and fp32 agree
// almost everywhere (both round the exact product once).
op_case fc_case(std::uint32_t seed, bool dyadic = false) {
  std::mt19937 rng(seed);
  op_case c;
  c.op = op_kind::fully_connected;
  c.input = {dyadic ? 0.5f : 0.05f, -3};
  c.output = {dyadic ? 1.0f : 0.0083f, 4};
  c.filter_scales = {dyadic ? 0.75f : 0.05f};
  c.input_shape = make({4, 8});
  c.filter_shape = make({16, 8});
  c.input_data = random_int8(rng, 32, -9, 3);
  c.filter_data = random_int8(rng, 128, -6, 6);
  c.bias = random_bias(rng, 16, 20);
  return c;
}

// A 3x3 SAME conv, 8 -> 8 channels on a 6x6 image, per-channel scales. `dyadic`: scales with
// few significant bits and small values, so that exact ties occur (see fc_case).
op_case conv_case(std::uint32_t seed, bool dyadic = false) {
  std::mt19937 rng(seed);
  op_case c;
  c.op = op_kind::conv2d;
  c.input_shape = make({1, 6, 6, 8});
  c.filter_shape = make({8, 3, 3, 8});
  c.padding = qkern::padding_kind::same;
  if (dyadic) {
    c.input = {0.5f, 1};
    c.output = {2.0f, -5};
    c.filter_scales = {0.25f, 0.75f, 0.625f, 0.375f, 0.875f, 0.5f, 0.125f, 0.3125f};
    c.input_data = random_int8(rng, 288, -3, 5);
    c.filter_data = random_int8(rng, 576, -4, 4);
    c.bias = random_bias(rng, 8, 30);
    return c;
  }
  c.input = {0.0235f, -7};
  c.output = {0.5f, 2};
  std::uniform_real_distribution<float> scale(0.004f, 0.02f);
  for (int i = 0; i < 8; ++i) c.filter_scales.push_back(scale(rng));
  c.input_data = random_int8(rng, 288, -128, 127);
  c.filter_data = random_int8(rng, 576, -127, 127);
  c.bias = random_bias(rng, 8, 3000);
  return c;
}

op_case depthwise_case(std::uint32_t seed) {
  std::mt19937 rng(seed);
  op_case c;
  c.op = op_kind::depthwise_conv2d;
  c.input = {0.031f, 5};
  c.output = {0.043f, -9};
  c.input_shape = make({1, 5, 5, 4});
  c.filter_shape = make({1, 3, 3, 8});
  c.depth_multiplier = 2;
  c.padding = qkern::padding_kind::same;
  std::uniform_real_distribution<float> scale(0.003f, 0.01f);
  for (int i = 0; i < 8; ++i) c.filter_scales.push_back(scale(rng));
  c.input_data = random_int8(rng, 100, -128, 127);
  c.filter_data = random_int8(rng, 72, -127, 127);
  c.bias = random_bias(rng, 8, 500);
  return c;
}

op_case binary_case(op_kind op, std::uint32_t seed) {
  std::mt19937 rng(seed);
  op_case c;
  c.op = op;
  c.input = {0.061f, -11};
  c.input2 = {0.037f, 9};
  c.output = op == op_kind::mul ? qkern::quantization_params{0.0093f, 3} : qkern::quantization_params{0.083f, -4};
  c.input_shape = make({2, 4, 4, 3});
  c.input2_shape = make({2, 4, 4, 3});
  c.input_data = random_int8(rng, 96, -128, 127);
  c.input2_data = random_int8(rng, 96, -128, 127);
  return c;
}

op_case activation_case(op_kind op, float input_scale, std::int32_t input_zero_point) {
  op_case c;
  c.op = op;
  c.input = {input_scale, input_zero_point};
  c.output = op == op_kind::logistic ? qkern::quantization_params{1.0f / 256.0f, -128}
                                     : qkern::quantization_params{1.0f / 128.0f, 0};
  c.input_shape = make({256});
  for (int q = -128; q <= 127; ++q) c.input_data.push_back(static_cast<std::int8_t>(q));
  return c;
}

std::vector<std::int8_t> nhwc_to_nchw_by_hand(const std::vector<std::int8_t>& v, int n_, int h_, int w_, int c_) {
  std::vector<std::int8_t> out(v.size());
  for (int n = 0; n < n_; ++n)
    for (int h = 0; h < h_; ++h)
      for (int w = 0; w < w_; ++w)
        for (int c = 0; c < c_; ++c)
          out[static_cast<std::size_t>(((n * c_ + c) * h_ + h) * w_ + w)] =
              v[static_cast<std::size_t>(((n * h_ + h) * w_ + w) * c_ + c)];
  return out;
}

// A .npy file written by hand: format version `major` (1: 2-byte header length, 2: 4-byte).
std::vector<unsigned char> raw_npy(int major, const std::string& header, const std::vector<unsigned char>& data) {
  std::string bytes = "\x93NUMPY";
  bytes += static_cast<char>(major);
  bytes += '\0';
  bytes += static_cast<char>(header.size() & 0xFF);
  bytes += static_cast<char>(header.size() >> 8);
  if (major >= 2) bytes += std::string(2, '\0');
  bytes += header;
  bytes.append(data.begin(), data.end());
  return std::vector<unsigned char>(bytes.begin(), bytes.end());
}

bool contains(const std::vector<dialect>& ds, dialect d) {
  for (dialect x : ds) {
    if (x == d) return true;
  }
  return false;
}

qkern::testing::diagnosis run_diagnosis(const op_case& c, const std::vector<std::int8_t>& observed,
                                        const std::vector<std::int8_t>* expected) {
  const auto d = qkern::testing::diagnose(c, observed, expected);
  REQUIRE_MESSAGE(d.ok(), qkern_test::text(d.error()));
  INFO(qkern::testing::format(*d));
  return *d;
}

}  // namespace

// --- statistics ------------------------------------------------------------------------------

TEST_CASE("compare: statistics of a small case computed by hand") {
  // shape [2, 3]; differences (observed - expected) 0, +1, 0 / -3, 0, -6.
  const std::int8_t expected[6] = {0, 1, 2, 3, 4, 5};
  const std::int8_t observed[6] = {0, 2, 2, 0, 4, -1};
  const auto c = qkern::testing::compare(observed, expected, make({2, 3}));
  REQUIRE(c.ok());
  CHECK(c->total.count == 6);
  CHECK(c->total.mismatches == 3);
  CHECK(c->total.mismatch_fraction() == doctest::Approx(0.5));
  CHECK(c->total.max_abs_diff == 6);
  CHECK(c->total.min_diff == -6);
  CHECK(c->total.max_diff == 1);
  CHECK(c->total.sum_diff == -8);
  CHECK(c->total.bucket(0) == 3);
  CHECK(c->total.bucket(1) == 1);
  CHECK(c->total.bucket(-3) == 1);
  CHECK(c->total.bucket(-1) == 0);
  CHECK(c->total.below() == 1);  // -6
  CHECK(c->total.above() == 0);
  REQUIRE(c->first_mismatches.size() == 3);
  CHECK(c->first_mismatches[0].index[0] == 0);
  CHECK(c->first_mismatches[0].index[1] == 1);
  CHECK(c->first_mismatches[0].diff() == 1);
  CHECK(c->first_mismatches[1].index[0] == 1);
  CHECK(c->first_mismatches[1].index[1] == 0);
  CHECK(c->first_mismatches[1].observed == 0);
  CHECK(c->first_mismatches[1].expected == 3);
  CHECK(c->first_mismatches[2].flat_index == 5);
  CHECK(c->first_mismatches[2].index[1] == 2);
  // Channels along the last axis: {0, -3}, {+1, 0}, {0, -6}.
  REQUIRE(c->channels.size() == 3);
  CHECK(c->channels[0].mismatches == 1);
  CHECK(c->channels[0].max_abs_diff == 3);
  CHECK(c->channels[1].mismatches == 1);
  CHECK(c->channels[1].max_abs_diff == 1);
  CHECK(c->channels[1].mean_diff() == doctest::Approx(0.5));
  CHECK(c->channels[2].max_abs_diff == 6);
  CHECK(c->mismatching_channels() == 3);

  const std::string text = qkern::testing::format(*c);
  CHECK(text.find("mismatches: 3 (50.0000%)  max |diff|: 6") != std::string::npos);
  CHECK(text.find("<-3: 1  -3: 1  -2: 0  -1: 0  0: 3  +1: 1  +2: 0  +3: 0  >+3: 0") != std::string::npos);
  CHECK(text.find("[1,0] (flat 3): 0 vs 3 (-3)") != std::string::npos);

  // The heap-free core agrees, at compile time too.
  constexpr std::int16_t a[3] = {100, -200, 300};
  constexpr std::int16_t b[3] = {100, -196, 301};
  constexpr auto s = qkern::testing::difference_statistics(a, b, 3);
  static_assert(s.mismatches == 2 && s.max_abs_diff == 4 && s.bucket(-1) == 1 && s.below() == 1, "");
  const std::uint8_t u[2] = {255, 0};
  const std::uint8_t v[2] = {0, 0};
  CHECK(qkern::testing::difference_statistics(u, v, 2).max_abs_diff == 255);
}

TEST_CASE("compare: first-mismatch limit, identical tensors and bad arguments") {
  std::vector<std::int8_t> e(24, 0), o(24, 1);
  qkern::testing::compare_options options;
  options.max_mismatches = 2;
  const auto c = qkern::testing::compare(o.data(), e.data(), make({2, 3, 4}), options);
  REQUIRE(c.ok());
  CHECK(c->first_mismatches.size() == 2);
  CHECK(c->first_mismatches[1].index[2] == 1);
  CHECK(c->channels.size() == 4);
  const auto same = qkern::testing::compare(e.data(), e.data(), make({24}));
  REQUIRE(same.ok());
  CHECK(same->identical());
  CHECK(qkern::testing::format(*same).find("identical") != std::string::npos);
  const std::int8_t* null = nullptr;
  CHECK_FALSE(qkern::testing::compare(null, e.data(), make({24})).ok());
}

// --- .npy -------------------------------------------------------------------------------------

TEST_CASE("npy: round trip of every dtype, and a version 2.0 header") {
  const std::int8_t i8[6] = {-128, -1, 0, 1, 2, 127};
  const auto a = qkern::testing::parse_npy(qkern::testing::make_npy(make({2, 3}), i8).data(),
                                           qkern::testing::make_npy(make({2, 3}), i8).size());
  REQUIRE_MESSAGE(a.ok(), a.error());
  CHECK(a->dtype == qkern::testing::npy_dtype::int8);
  CHECK(a->tensor_shape == make({2, 3}));
  CHECK(a->values<std::int8_t>() == std::vector<std::int8_t>(i8, i8 + 6));
  CHECK(a->values<std::int16_t>().empty());

  const std::int16_t i16[5] = {-32768, -2, 0, 300, 32767};
  const auto bytes16 = qkern::testing::make_npy(make({5}), i16);
  CHECK(std::string(bytes16.begin() + 10, bytes16.end()).find("'shape': (5,)") != std::string::npos);
  CHECK((bytes16.size() - 10) % 64 == 0);  // the 10 data bytes start at a multiple of 64
  const auto b = qkern::testing::parse_npy(bytes16.data(), bytes16.size());
  REQUIRE_MESSAGE(b.ok(), b.error());
  CHECK(b->values<std::int16_t>() == std::vector<std::int16_t>(i16, i16 + 5));

  const std::uint8_t u8[1] = {200};
  const auto scalar = qkern::testing::make_npy(qkern::shape{}, u8);
  const auto c = qkern::testing::parse_npy(scalar.data(), scalar.size());
  REQUIRE_MESSAGE(c.ok(), c.error());
  CHECK(c->tensor_shape.rank == 0);
  CHECK(c->values<std::uint8_t>() == std::vector<std::uint8_t>{200});

  const std::int32_t i32[2] = {-100000, 7};
  const auto d = qkern::testing::make_npy(make({1, 2}), i32);
  const auto e = qkern::testing::parse_npy(d.data(), d.size());
  REQUIRE(e.ok());
  CHECK(e->values<std::int32_t>() == std::vector<std::int32_t>{-100000, 7});

  // Version 2.0: a 4-byte header length, written by hand.
  const std::vector<unsigned char> v2 =
      raw_npy(2, "{\"descr\":\"|i1\",\"fortran_order\":False,\"shape\":(3L,)}\n", {1, 2, 0xFF});
  const auto f = qkern::testing::parse_npy(v2.data(), v2.size());
  REQUIRE_MESSAGE(f.ok(), f.error());
  CHECK(f->values<std::int8_t>() == std::vector<std::int8_t>{1, 2, -1});
}

TEST_CASE("npy: bad files give a clear error") {
  const std::int8_t values[4] = {1, 2, 3, 4};
  const std::vector<unsigned char> good = qkern::testing::make_npy(make({4}), values);
  const auto error_of = [](const std::vector<unsigned char>& bytes) {
    const auto r = qkern::testing::parse_npy(bytes.data(), bytes.size());
    CHECK_FALSE(r.ok());
    return r.error();
  };
  const auto with_header = [](const std::string& h, std::size_t data_bytes) {
    return raw_npy(1, h, std::vector<unsigned char>(data_bytes, 0));
  };
  CHECK(error_of({}).find("shorter than the 10-byte preamble") != std::string::npos);
  std::vector<unsigned char> magic = good;
  magic[1] = 'X';
  CHECK(error_of(magic).find("bad magic") != std::string::npos);
  std::vector<unsigned char> version = good;
  version[6] = 9;
  CHECK(error_of(version).find("unsupported .npy format version 9.0") != std::string::npos);
  CHECK(error_of(std::vector<unsigned char>(good.begin(), good.begin() + 40)).find("the header declares") !=
        std::string::npos);
  CHECK(error_of(std::vector<unsigned char>(good.begin(), good.end() - 1)).find("truncated file") != std::string::npos);
  std::vector<unsigned char> longer = good;
  longer.push_back(0);
  CHECK(error_of(longer).find("has 5 bytes, its shape and dtype need 4") != std::string::npos);
  CHECK(error_of(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4))
            .find("dtype '<f4' is not supported") != std::string::npos);
  CHECK(error_of(with_header("{'descr': '>i2', 'fortran_order': False, 'shape': (1,), }", 2))
            .find("dtype '>i2'") != std::string::npos);
  CHECK(error_of(with_header("{'descr': '|i1', 'fortran_order': True, 'shape': (2, 2), }", 4))
            .find("Fortran") != std::string::npos);
  CHECK(error_of(with_header("{'descr': '|i1', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1), }", 1))
            .find("more than 6 dimensions") != std::string::npos);
  CHECK(error_of(with_header("{'descr': '|i1', 'fortran_order': False, 'shape': (-1,), }", 1))
            .find("malformed .npy header") != std::string::npos);
  CHECK(error_of(with_header("{'descr': '|i1', 'fortran_order': False, 'shape': (99999999999,), }", 1))
            .find("malformed .npy header") != std::string::npos);
  CHECK(error_of(with_header("{'descr': '|i1', 'shape': (1,), }", 1)).find("lacks one of") != std::string::npos);
  CHECK(error_of(with_header("{'descr': '|i1', 'fortran_order': False, 'shape': (1,)", 1))
            .find("malformed .npy header") != std::string::npos);
  CHECK(error_of(with_header("{'descr': '|i1', 'fortran_order': False, 'shape': (65536, 65536), }", 1))
            .find("more than 2^31 elements") != std::string::npos);
  CHECK(qkern::testing::load_npy("/nonexistent/qkern.npy").error().find("cannot open") != std::string::npos);
}

// --- one constructed case per diagnosis ---------------------------------------------------------

TEST_CASE("diagnose: a fully connected output computed with single rounding is diagnosed as single") {
  // Search seeds for a layer where all three dialects give different tensors, so the single
  // rounding verdict is unambiguous.
  op_case c;
  std::vector<std::int8_t> single, twice, fp32;
  bool found = false;
  for (std::uint32_t seed = 1; seed < 200 && !found; ++seed) {
    c = fc_case(seed, true);
    single = run_fc<qkern::single_rounding>(c);
    twice = run_fc<qkern::double_rounding>(c);
    fp32 = run_fc<qkern::fp32_scale>(c);
    found = single != twice && single != fp32 && fp32 != twice;
  }
  REQUIRE(found);

  const auto d = run_diagnosis(c, single, &twice);
  CHECK(d.kind == verdict::rounding_dialect);
  CHECK(d.observed_dialects == std::vector<dialect>{dialect::single_rounding});
  CHECK(d.expected_dialects == std::vector<dialect>{dialect::double_rounding});
  CHECK(d.observed_vs_reference.total.max_abs_diff == 1);
  CHECK(d.summary == "rounding dialect: the observed tensor is single rounding, the expected tensor double rounding");
  CHECK(d.explanation.find("TFLITE_SINGLE_ROUNDING") != std::string::npos);
  CHECK(d.explanation.find("qkern::single_rounding") != std::string::npos);
  CHECK(qkern::testing::format(d).find("<- reproduces the observed tensor") != std::string::npos);

  // Without an expected tensor the same verdict; the statistics are against double rounding.
  const auto alone = run_diagnosis(c, single, nullptr);
  CHECK(alone.kind == verdict::rounding_dialect);
  CHECK(alone.observed_dialects == std::vector<dialect>{dialect::single_rounding});
  CHECK(alone.observed_vs_reference.total.mismatches > 0);

  // And the reverse: a device at double rounding checked against a single-rounding interpreter.
  const auto reverse = run_diagnosis(c, twice, &single);
  CHECK(reverse.kind == verdict::rounding_dialect);
  CHECK(reverse.observed_dialects == std::vector<dialect>{dialect::double_rounding});

  // Realistic scales: single rounding is told from double rounding, but fp32 usually reproduces
  // the same tensor (both round the exact product once), and the diagnosis says so.
  const op_case real = fc_case(1);
  const auto real_single = run_fc<qkern::single_rounding>(real);
  const auto real_double = run_fc<qkern::double_rounding>(real);
  REQUIRE(real_single != real_double);
  const auto r = run_diagnosis(real, real_single, &real_double);
  CHECK(r.kind == verdict::rounding_dialect);
  CHECK(contains(r.observed_dialects, dialect::single_rounding));
  CHECK_FALSE(contains(r.observed_dialects, dialect::double_rounding));
  if (r.observed_dialects.size() > 1) CHECK(r.explanation.find("cannot tell them apart") != std::string::npos);
}

TEST_CASE("diagnose: a conv2d output in XNNPACK's fp32 dialect is diagnosed as fp32") {
  op_case c;
  std::vector<std::int8_t> fp32, twice, single;
  bool found = false;
  for (std::uint32_t seed = 1; seed < 200 && !found; ++seed) {
    c = conv_case(seed, true);
    fp32 = run_conv<qkern::fp32_scale>(c);
    twice = run_conv<qkern::double_rounding>(c);
    single = run_conv<qkern::single_rounding>(c);
    found = fp32 != twice && fp32 != single;
  }
  REQUIRE(found);
  const auto d = run_diagnosis(c, fp32, &twice);
  CHECK(d.kind == verdict::rounding_dialect);
  CHECK(d.observed_dialects == std::vector<dialect>{dialect::fp32});
  CHECK(contains(d.expected_dialects, dialect::double_rounding));
  CHECK(d.explanation.find("XNNPACK") != std::string::npos);
  CHECK(d.explanation.find("qkern::fp32_scale") != std::string::npos);
}

TEST_CASE("diagnose: every dialect of every op is recognised as itself") {
  const auto check_op = [](const op_case& c, const std::vector<std::pair<dialect, std::vector<std::int8_t>>>& outputs) {
    for (const auto& entry : outputs) {
      const dialect d = entry.first;  // not a structured binding: CAPTURE's lambda cannot capture one in C++17
      const std::vector<std::int8_t>& observed = entry.second;
      CAPTURE(qkern::testing::op_kind_name(c.op));
      CAPTURE(qkern::testing::dialect_name(d));
      const auto diagnosis = run_diagnosis(c, observed, &outputs.front().second);
      CHECK(contains(diagnosis.observed_dialects, d));
      CHECK(diagnosis.kind == (observed == outputs.front().second ? verdict::identical : verdict::rounding_dialect));
    }
  };
  const op_case dw = depthwise_case(3);
  check_op(dw, {{dialect::double_rounding, run_depthwise<qkern::double_rounding>(dw)},
                {dialect::single_rounding, run_depthwise<qkern::single_rounding>(dw)},
                {dialect::fp32, run_depthwise<qkern::fp32_scale>(dw)}});
  const op_case mul = binary_case(op_kind::mul, 5);
  check_op(mul, {{dialect::double_rounding, run_mul<qkern::double_rounding>(mul)},
                 {dialect::single_rounding, run_mul<qkern::single_rounding>(mul)}});
  const op_case add = binary_case(op_kind::add, 6);
  check_op(add, {{dialect::double_rounding, run_add<qkern::double_rounding>(add)},
                 {dialect::single_rounding, run_add<qkern::single_rounding>(add)}});
  const op_case conv = conv_case(7);
  check_op(conv, {{dialect::double_rounding, run_conv<qkern::double_rounding>(conv)}});

  // mul's fp32 form, written out here: round_half_even(float(product) * float32 scale) + zp.
  std::vector<std::int8_t> mul_fp32(mul.input_data.size());
  const float scale = mul.input.scale * mul.input2.scale / mul.output.scale;
  for (std::size_t i = 0; i < mul_fp32.size(); ++i) {
    const int product = (mul.input_data[i] - mul.input.zero_point) * (mul.input2_data[i] - mul.input2.zero_point);
    const long rounded = std::lrint(static_cast<float>(product) * scale) + mul.output.zero_point;
    mul_fp32[i] = static_cast<std::int8_t>(rounded < -128 ? -128 : (rounded > 127 ? 127 : rounded));
  }
  const auto d = run_diagnosis(mul, mul_fp32, nullptr);
  CHECK(contains(d.observed_dialects, dialect::fp32));
}

TEST_CASE("diagnose: a zero point added instead of subtracted is a zero-point sign error") {
  // Input: the conv run with the input zero point's sign flipped (x + zp for x - zp), built through
  // prepare with the negated zero point.
  const op_case c = conv_case(11);
  const std::vector<std::int8_t> expected = run_conv<qkern::double_rounding>(c);
  op_case flipped = c;
  flipped.input.zero_point = -c.input.zero_point;
  const std::vector<std::int8_t> observed = run_conv<qkern::double_rounding>(flipped);
  REQUIRE(observed != expected);
  const auto d = run_diagnosis(c, observed, &expected);
  CHECK(d.kind == verdict::zero_point_sign_error);
  REQUIRE(d.cause() != nullptr);
  CHECK(d.cause()->variant == mistake::input_zero_point_added);
  CHECK(d.cause()->rounding == dialect::double_rounding);
  CHECK(d.summary == "zero-point sign error: input zero point added instead of subtracted (double rounding)");
  CHECK(d.explanation.find("input_offset = -zero_point") != std::string::npos);

  // Output: the FC with its output zero point subtracted, under single rounding.
  const op_case fc = fc_case(4);
  op_case fc_flipped = fc;
  fc_flipped.output.zero_point = -fc.output.zero_point;
  const auto fc_observed = run_fc<qkern::single_rounding>(fc_flipped);
  const auto fc_expected = run_fc<qkern::double_rounding>(fc);
  const auto e = run_diagnosis(fc, fc_observed, &fc_expected);
  CHECK(e.kind == verdict::zero_point_sign_error);
  REQUIRE(e.cause() != nullptr);
  CHECK(e.cause()->variant == mistake::output_zero_point_subtracted);
  CHECK(e.cause()->rounding == dialect::single_rounding);

  // Add: the second input's zero point flipped.
  const op_case add = binary_case(op_kind::add, 2);
  op_case add_flipped = add;
  add_flipped.input2.zero_point = -add.input2.zero_point;
  const auto add_observed = run_add<qkern::double_rounding>(add_flipped);
  const auto f = run_diagnosis(add, add_observed, nullptr);
  CHECK(f.kind == verdict::zero_point_sign_error);
  REQUIRE(f.cause() != nullptr);
  CHECK(f.cause()->variant == mistake::input2_zero_point_added);
}

TEST_CASE("diagnose: an output written in NCHW order is a layout swap") {
  const op_case c = conv_case(13);
  const std::vector<std::int8_t> expected = run_conv<qkern::double_rounding>(c);  // [1, 6, 6, 8]
  const std::vector<std::int8_t> observed = nhwc_to_nchw_by_hand(expected, 1, 6, 6, 8);
  const auto d = run_diagnosis(c, observed, &expected);
  CHECK(d.kind == verdict::layout_swap);
  REQUIRE(d.cause() != nullptr);
  CHECK(d.cause()->variant == mistake::output_nchw);
  CHECK(d.explanation.find("NCHW") != std::string::npos);

  // Without the expected tensor: the NCHW order of a dialect's output.
  const std::vector<std::int8_t> single_nchw = nhwc_to_nchw_by_hand(run_conv<qkern::single_rounding>(c), 1, 6, 6, 8);
  const auto alone = run_diagnosis(c, single_nchw, nullptr);
  CHECK(alone.kind == verdict::layout_swap);
  REQUIRE(alone.cause() != nullptr);
  CHECK(alone.cause()->variant == mistake::output_nchw);
  CHECK(alone.cause()->rounding == dialect::single_rounding);

  // The other way round: the expected tensor was saved NCHW, the device's is NHWC.
  const auto reverse = run_diagnosis(c, expected, &observed);
  CHECK(reverse.kind == verdict::layout_swap);
  REQUIRE(reverse.cause() != nullptr);
  CHECK(reverse.cause()->variant == mistake::expected_nchw);
}

TEST_CASE("diagnose: a fully connected layer fed an NCHW-flattened input is a layout swap") {
  std::mt19937 rng(17);
  op_case c;
  c.op = op_kind::fully_connected;
  c.input = {0.02f, -128};
  c.output = {0.3f, 0};
  c.filter_scales = {0.01f};
  c.input_shape = make({1, 3, 3, 4});  // a flatten of an NHWC feature map: depth 36
  c.filter_shape = make({10, 36});
  c.input_data = random_int8(rng, 36, -128, 127);
  c.filter_data = random_int8(rng, 360, -127, 127);
  c.bias = random_bias(rng, 10, 1000);
  const auto expected = run_fc<qkern::double_rounding>(c);
  op_case nchw = c;
  nchw.input_data = nhwc_to_nchw_by_hand(c.input_data, 1, 3, 3, 4);
  const auto observed = run_fc<qkern::double_rounding>(nchw);
  REQUIRE(observed != expected);
  const auto d = run_diagnosis(c, observed, &expected);
  CHECK(d.kind == verdict::layout_swap);
  REQUIRE(d.cause() != nullptr);
  CHECK(d.cause()->variant == mistake::input_nchw);
  CHECK(d.explanation.find("flatten") != std::string::npos);
}

TEST_CASE("diagnose: logistic and tanh from TFLite's built-in table are diagnosed as the LUT dialect") {
  // For int8 the float table and TFLite Micro's fixed-point reference agree on every input for
  // nearly every input quantization (about 1 in 2,700 random ones differs for logistic, 1 in
  // 9,000 for tanh, in one or two entries). These two were found by such a search.
  struct activation_example {
    op_kind op;
    float scale;
    std::int32_t zero_point;
  };
  for (const activation_example& x : {activation_example{op_kind::logistic, 0.131636918f, -104},
                                      activation_example{op_kind::tanh, 0.0114650233f, -22}}) {
    CAPTURE(qkern::testing::op_kind_name(x.op));
    const op_case c = activation_case(x.op, x.scale, x.zero_point);
    std::vector<std::int8_t> lut(256), fixed(256);
    if (x.op == op_kind::logistic) {
      const auto l = qkern::prepare_logistic_lut(c.input, c.output, c.input_shape);
      const auto f = qkern::prepare_logistic<std::int8_t>(c.input, c.output, c.input_shape);
      REQUIRE((l.ok() && f.ok()));
      qkern::logistic_lut(*l, c.input_data.data(), lut.data());
      qkern::scalar::logistic(*f, c.input_data.data(), fixed.data());
    } else {
      const auto l = qkern::prepare_tanh_lut(c.input, c.output, c.input_shape);
      const auto f = qkern::prepare_tanh<std::int8_t>(c.input, c.output, c.input_shape);
      REQUIRE((l.ok() && f.ok()));
      qkern::tanh_lut(*l, c.input_data.data(), lut.data());
      qkern::scalar::tanh(*f, c.input_data.data(), fixed.data());
    }
    REQUIRE(lut != fixed);
    const auto d = run_diagnosis(c, lut, &fixed);
    CHECK(d.kind == verdict::rounding_dialect);
    CHECK(d.observed_dialects == std::vector<dialect>{dialect::lut});
    CHECK(d.expected_dialects == std::vector<dialect>{dialect::fixed_point});
    CHECK(d.explanation.find(x.op == op_kind::logistic ? "qkern::logistic_lut" : "qkern::tanh_lut") != std::string::npos);
    const auto r = run_diagnosis(c, fixed, &lut);
    CHECK(r.observed_dialects == std::vector<dialect>{dialect::fixed_point});

    // An input zero point added instead of subtracted, in the fixed-point dialect.
    op_case flipped = c;
    flipped.input.zero_point = -c.input.zero_point;
    std::vector<std::int8_t> wrong(256);
    if (x.op == op_kind::logistic) {
      qkern::scalar::logistic(*qkern::prepare_logistic<std::int8_t>(flipped.input, c.output, c.input_shape),
                              c.input_data.data(), wrong.data());
    } else {
      qkern::scalar::tanh(*qkern::prepare_tanh<std::int8_t>(flipped.input, c.output, c.input_shape),
                          c.input_data.data(), wrong.data());
    }
    const auto z = run_diagnosis(c, wrong, &fixed);
    CHECK(z.kind == verdict::zero_point_sign_error);
  }
}

TEST_CASE("diagnose: a genuinely wrong tensor is none: not a rounding difference") {
  const op_case c = conv_case(19);
  const std::vector<std::int8_t> expected = run_conv<qkern::double_rounding>(c);
  std::vector<std::int8_t> observed = expected;
  // Three outputs of channel 5 off by a few steps: no dialect, sign or layout explains that.
  for (std::size_t i : {5u, 45u, 93u}) observed[i] = static_cast<std::int8_t>(observed[i] > 0 ? observed[i] - 5 : observed[i] + 7);
  const auto d = run_diagnosis(c, observed, &expected);
  CHECK(d.kind == verdict::not_a_rounding_difference);
  CHECK(d.summary == "none: not a rounding difference");
  CHECK(d.matching.empty());
  CHECK(d.observed_vs_reference.total.mismatches == 3);
  CHECK(d.explanation.find("Closest hypothesis: double rounding, 3 mismatches") != std::string::npos);
  CHECK(d.explanation.find("Only 1 of 8 channels differ") != std::string::npos);
  CHECK(qkern::testing::verdict_name(d.kind) == std::string("none: not a rounding difference"));

  // Parameters that are not the layer's: the expected tensor is not reproduced either, and the
  // explanation says to check them first.
  op_case wrong = c;
  wrong.output.scale *= 1.5f;
  const auto e = run_diagnosis(wrong, observed, &expected);
  CHECK(e.kind == verdict::not_a_rounding_difference);
  CHECK(e.expected_dialects.empty());
  CHECK(e.explanation.find("No dialect reproduces the expected tensor itself") != std::string::npos);

  // The other way round: the device is right and the expected tensor is the odd one.
  const auto r = run_diagnosis(c, expected, &observed);
  CHECK(r.kind == verdict::rounding_dialect);
  CHECK(contains(r.observed_dialects, dialect::double_rounding));
  CHECK(r.summary.find(", the expected tensor is not reproduced by any dialect") != std::string::npos);
}

TEST_CASE("diagnose: identical tensors, rejected parameters and inconsistent cases") {
  const op_case c = fc_case(2);
  const auto out = run_fc<qkern::double_rounding>(c);
  const auto same = run_diagnosis(c, out, &out);
  CHECK(same.kind == verdict::identical);
  CHECK(contains(same.observed_dialects, dialect::double_rounding));

  op_case bad = c;
  bad.output.scale = 0.0f;
  const auto rejected = run_diagnosis(bad, out, &out);
  CHECK(rejected.kind == verdict::cannot_recompute);
  CHECK(rejected.explanation.find("scale must be positive") != std::string::npos);

  // The observed tensor must have the op's output element count, the data its shape's.
  const std::vector<std::int8_t> short_tensor(out.begin(), out.end() - 1);
  const auto wrong_count = qkern::testing::diagnose(c, short_tensor, nullptr);
  CHECK_FALSE(wrong_count.ok());
  CHECK(qkern_test::text(wrong_count.error()).find("observed") != std::string::npos);
  op_case missing = c;
  missing.filter_data.pop_back();
  const auto inconsistent = qkern::testing::diagnose(missing, out, nullptr);
  CHECK_FALSE(inconsistent.ok());
  CHECK(qkern_test::text(inconsistent.error()).find("filter") != std::string::npos);
}
