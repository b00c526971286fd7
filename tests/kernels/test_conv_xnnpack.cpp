// The XNNPACK twin: with the fp32_scale rounding policy (core/rounding_fp32.hpp), qkern's
// conv2d, depthwise_conv2d and fully_connected reproduce XNNPACK's qs8 / qc8 operators bit for
// bit. XNNPACK itself (Debian's libxnnpack-dev, linked when CMake finds it) is the oracle on
// seeded random cases:
//   conv2d     xnn_create_convolution2d_nhwc_qc8 (per-channel) and _qs8 (per-tensor), groups
//   depthwise  the same operators with groups = C_in, XNN_FLAG_DEPTHWISE_CONVOLUTION (1HWO)
//   FC         xnn_create_fully_connected_nc_qs8 (per-tensor: this XNNPACK has no qc8 FC)
// and every qkern path (scalar reference, public eval, packed weights) must give XNNPACK's bytes.
// Two control counts show the oracle can tell dialects apart: TFLite's double rounding, and a
// float scale formed in double and rounded once, both differ from XNNPACK on these cases.
//
// Without XNNPACK the program only reports that it skipped.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "qkern/kernels/conv.hpp"

#if defined(QKERN_TEST_XNNPACK)
#include <xnnpack.h>
#endif

#if !defined(QKERN_TEST_XNNPACK)

TEST_CASE("XNNPACK twin (skipped: XNNPACK not found at configure time)") {
  MESSAGE("libxnnpack-dev / libpthreadpool-dev not found: the XNNPACK comparisons were not built");
}

#else

namespace {

// fp32_scale with the scale formed in double and rounded to float once: a plausible dialect
// that is *not* XNNPACK's (a control, never expected to match everywhere).
struct fp32_scale_formed_in_double : qkern::fp32_scale {
  static constexpr const char* name = "fp32 (formed in double)";
  static constexpr qkern::result<float> make_scale(float input_scale, float filter_scale, float output_scale) noexcept {
    return static_cast<float>(static_cast<double>(input_scale) * static_cast<double>(filter_scale) /
                              static_cast<double>(output_scale));
  }
};

struct xnnpack_session {
  bool ok = false;
  xnnpack_session() { ok = xnn_initialize(nullptr) == xnn_status_success; }
};
bool xnnpack_ready() {
  static xnnpack_session session;
  return session.ok;
}

struct operator_handle {
  xnn_operator_t op = nullptr;
  ~operator_handle() {
    if (op != nullptr) xnn_delete_operator(op);
  }
};

std::vector<std::int8_t> random_int8(std::mt19937& rng, std::size_t n) {
  std::vector<std::int8_t> v(n + 64);  // XNNPACK may read a little past the end of its inputs
  const int mode = static_cast<int>(rng() % 8);
  for (auto& x : v) {
    int value = static_cast<int>(rng() % 256) - 128;
    if (mode == 0 && rng() % 4 == 0) value = rng() % 2 == 0 ? -128 : 127;
    x = static_cast<std::int8_t>(value);
  }
  return v;
}

int pick(std::mt19937& rng, std::initializer_list<int> values) {
  return values.begin()[rng() % values.size()];
}

// Scales whose requantization scale spreads over [2^-20, 2^2) with random mantissas, so that
// float rounding of the scale and of the product matter.
struct scales {
  float input;
  float output;
  std::vector<float> filter;
};

scales random_scales(std::mt19937& rng, int channels) {
  std::uniform_real_distribution<float> unit(1.0f, 2.0f);
  scales s;
  s.input = std::ldexp(unit(rng), -static_cast<int>(rng() % 9));
  s.output = std::ldexp(unit(rng), -static_cast<int>(rng() % 7));
  const int center = -static_cast<int>(rng() % 16) - 4;
  for (int c = 0; c < channels; ++c) {
    const int e = center + static_cast<int>(rng() % 5) - 2;
    s.filter.push_back(std::ldexp(unit(rng), e) * s.output / s.input);
  }
  return s;
}

struct tally {
  long cases = 0;
  long refused = 0;        // both XNNPACK and qkern refuse the parameters
  long outputs = 0;
  long mismatches = 0;     // qkern fp32_scale vs XNNPACK: must stay 0
  long double_rounding_differs = 0;
  long formed_in_double_differs = 0;
};

long count_differences(const std::vector<std::int8_t>& a, const std::vector<std::int8_t>& b, std::size_t n) {
  long d = 0;
  for (std::size_t i = 0; i < n; ++i) d += a[i] != b[i] ? 1 : 0;
  return d;
}

// --- conv2d and depthwise through XNNPACK's convolution --------------------------------------

struct conv_case {
  int batch, h, w, groups, group_in, group_out, kh, kw, stride_h, stride_w, dilation_h, dilation_w;
  bool same, per_channel, with_bias, depthwise;
  int input_zero_point, output_zero_point;
  qkern::fused_activation activation;
};

conv_case random_conv(std::mt19937& rng, bool depthwise) {
  conv_case c{};
  c.depthwise = depthwise;
  c.batch = 1 + static_cast<int>(rng() % 2);
  c.h = 1 + static_cast<int>(rng() % 12);
  c.w = 1 + static_cast<int>(rng() % 12);
  c.kh = pick(rng, {1, 3, 3, 5});
  c.kw = rng() % 5 == 0 ? pick(rng, {1, 3}) : c.kh;
  c.stride_h = pick(rng, {1, 1, 2});
  c.stride_w = rng() % 5 == 0 ? pick(rng, {1, 2}) : c.stride_h;
  c.dilation_h = rng() % 5 == 0 ? 2 : 1;
  c.dilation_w = c.dilation_h;
  if (depthwise) {
    c.groups = pick(rng, {1, 3, 8, 16, 17, 32, 33});
    c.group_in = 1;
    c.group_out = rng() % 5 == 0 ? 2 : 1;  // depth multiplier
  } else {
    c.groups = rng() % 6 == 0 ? 2 : 1;
    c.group_in = pick(rng, {1, 3, 4, 8, 13, 16, 31, 64});
    c.group_out = pick(rng, {1, 2, 7, 16, 17, 32, 40});
  }
  c.same = rng() % 2 == 0;
  c.per_channel = rng() % 4 != 0;
  c.with_bias = rng() % 6 != 0;
  c.input_zero_point = static_cast<int>(rng() % 256) - 128;
  c.output_zero_point = static_cast<int>(rng() % 256) - 128;
  c.activation = rng() % 4 == 0 ? qkern::fused_activation::relu6 : qkern::fused_activation::none;
  return c;
}

// Runs XNNPACK on the case; false if XNNPACK refuses it.
bool run_xnnpack_conv(const conv_case& c, const qkern::padding_values& pad, const scales& s, const std::vector<std::int8_t>& filter, const std::int32_t* bias,
                      std::int8_t out_min, std::int8_t out_max, const std::vector<std::int8_t>& input,
                      std::vector<std::int8_t>& output) {
  const int channels_in = c.groups * c.group_in;
  const int channels_out = c.groups * c.group_out;
  const std::uint32_t top = static_cast<std::uint32_t>(pad.height);
  const std::uint32_t left = static_cast<std::uint32_t>(pad.width);
  // qkern pads total / 2 before and the odd remainder after, as TFLite does
  const std::uint32_t bottom = c.same ? top + static_cast<std::uint32_t>(pad.height_offset) : 0;
  const std::uint32_t right = c.same ? left + static_cast<std::uint32_t>(pad.width_offset) : 0;
  const std::uint32_t flags = c.depthwise ? XNN_FLAG_DEPTHWISE_CONVOLUTION : 0;
  operator_handle h;
  xnn_status st;
  if (c.per_channel) {
    st = xnn_create_convolution2d_nhwc_qc8(
        top, right, bottom, left, static_cast<std::uint32_t>(c.kh), static_cast<std::uint32_t>(c.kw),
        static_cast<std::uint32_t>(c.stride_h), static_cast<std::uint32_t>(c.stride_w),
        static_cast<std::uint32_t>(c.dilation_h), static_cast<std::uint32_t>(c.dilation_w),
        static_cast<std::uint32_t>(c.groups), static_cast<std::size_t>(c.group_in), static_cast<std::size_t>(c.group_out),
        static_cast<std::size_t>(channels_in), static_cast<std::size_t>(channels_out),
        static_cast<std::int8_t>(c.input_zero_point), s.input, s.filter.data(), filter.data(), bias,
        static_cast<std::int8_t>(c.output_zero_point), s.output, out_min, out_max, flags, &h.op);
  } else {
    st = xnn_create_convolution2d_nhwc_qs8(
        top, right, bottom, left, static_cast<std::uint32_t>(c.kh), static_cast<std::uint32_t>(c.kw),
        static_cast<std::uint32_t>(c.stride_h), static_cast<std::uint32_t>(c.stride_w),
        static_cast<std::uint32_t>(c.dilation_h), static_cast<std::uint32_t>(c.dilation_w),
        static_cast<std::uint32_t>(c.groups), static_cast<std::size_t>(c.group_in), static_cast<std::size_t>(c.group_out),
        static_cast<std::size_t>(channels_in), static_cast<std::size_t>(channels_out),
        static_cast<std::int8_t>(c.input_zero_point), s.input, s.filter[0], filter.data(), bias,
        static_cast<std::int8_t>(c.output_zero_point), s.output, out_min, out_max, flags, &h.op);
  }
  if (st != xnn_status_success) return false;
  const auto batch = static_cast<std::size_t>(c.batch);
  const auto height = static_cast<std::size_t>(c.h);
  const auto width = static_cast<std::size_t>(c.w);
  st = c.per_channel
           ? xnn_setup_convolution2d_nhwc_qc8(h.op, batch, height, width, input.data(), output.data(), nullptr)
           : xnn_setup_convolution2d_nhwc_qs8(h.op, batch, height, width, input.data(), output.data(), nullptr);
  REQUIRE(st == xnn_status_success);
  REQUIRE(xnn_run_operator(h.op, nullptr) == xnn_status_success);
  return true;
}

// qkern's conv2d or depthwise with Policy, through every path; the outputs of each path.
template <class Policy>
struct qkern_conv_result {
  bool prepared = false;
  qkern::padding_values padding{};
  qkern::shape output_shape{};
  std::int32_t activation_min = 0, activation_max = 0;
  std::vector<std::vector<std::int8_t>> outputs;  // scalar, public eval, [packed]
};

template <class Policy>
qkern_conv_result<Policy> run_qkern_conv(const conv_case& c, const scales& s, const std::vector<std::int8_t>& filter,
                                         const std::vector<std::int32_t>& bias, const std::vector<std::int8_t>& input) {
  qkern_conv_result<Policy> r;
  const int channels_in = c.groups * c.group_in;
  const int channels_out = c.groups * c.group_out;
  const qkern::shape in_shape = qkern::make_shape({c.batch, c.h, c.w, channels_in}).value();
  const qkern::per_channel_quantization fq{s.filter.data(), s.filter.size(), 0, c.depthwise ? 3 : 0};
  const qkern::quantization_params in_q{s.input, c.input_zero_point};
  const qkern::quantization_params out_q{s.output, c.output_zero_point};
  const std::int32_t* b = c.with_bias ? bias.data() : nullptr;
  std::vector<typename Policy::multiplier_type> m(static_cast<std::size_t>(channels_out));
  const qkern::padding_kind padding = c.same ? qkern::padding_kind::same : qkern::padding_kind::valid;
  if (c.depthwise) {
    qkern::depthwise_conv2d_options o;
    o.padding = padding;
    o.stride_height = c.stride_h;
    o.stride_width = c.stride_w;
    o.dilation_height = c.dilation_h;
    o.dilation_width = c.dilation_w;
    o.depth_multiplier = c.group_out;
    o.activation = c.activation;
    const qkern::shape f_shape = qkern::make_shape({1, c.kh, c.kw, channels_out}).value();
    const auto p = qkern::prepare_depthwise_conv2d<std::int8_t, Policy>(in_q, in_shape, fq, f_shape, b, out_q, o,
                                                                        {m.data(), m.size()});
    if (!p.ok()) return r;
    r.prepared = true;
    r.padding = p->padding;
    r.output_shape = p->output_shape;
    r.activation_min = p->output_activation_min;
    r.activation_max = p->output_activation_max;
    const auto n = static_cast<std::size_t>(p->output_shape.element_count());
    r.outputs.assign(2, std::vector<std::int8_t>(n));
    qkern::scalar::depthwise_conv2d(*p, input.data(), filter.data(), b, r.outputs[0].data());
    qkern::depthwise_conv2d(*p, input.data(), filter.data(), b, r.outputs[1].data());
  } else {
    qkern::conv2d_options o;
    o.padding = padding;
    o.stride_height = c.stride_h;
    o.stride_width = c.stride_w;
    o.dilation_height = c.dilation_h;
    o.dilation_width = c.dilation_w;
    o.activation = c.activation;
    const qkern::shape f_shape = qkern::make_shape({channels_out, c.kh, c.kw, c.group_in}).value();
    const auto p = qkern::prepare_conv2d<std::int8_t, Policy>(in_q, in_shape, fq, f_shape, b, out_q, o,
                                                              {m.data(), m.size()});
    if (!p.ok()) return r;
    r.prepared = true;
    r.padding = p->padding;
    r.output_shape = p->output_shape;
    r.activation_min = p->output_activation_min;
    r.activation_max = p->output_activation_max;
    const auto n = static_cast<std::size_t>(p->output_shape.element_count());
    r.outputs.assign(3, std::vector<std::int8_t>(n));
    qkern::scalar::conv2d(*p, input.data(), filter.data(), b, r.outputs[0].data());
    qkern::conv2d(*p, input.data(), filter.data(), b, r.outputs[1].data());
    std::vector<std::uint64_t> storage(p->packed_weights_size / 8 + 1);
    const auto packed = qkern::pack_conv2d_weights(*p, filter.data(), b, storage.data(), storage.size() * 8);
    REQUIRE(packed.ok());
    qkern::conv2d(*p, *packed, input.data(), r.outputs[2].data());
  }
  return r;
}

void conv_twin(bool depthwise, int count, unsigned seed, tally& t) {
  std::mt19937 rng(seed);
  for (int i = 0; i < count; ++i) {
    const conv_case c = random_conv(rng, depthwise);
    const int channels_in = c.groups * c.group_in;
    const int channels_out = c.groups * c.group_out;
    const scales s = [&] {
      scales all = random_scales(rng, channels_out);
      if (!c.per_channel) all.filter.resize(1);
      return all;
    }();
    const auto input = random_int8(rng, static_cast<std::size_t>(c.batch * c.h * c.w * channels_in));
    const auto filter = random_int8(rng, static_cast<std::size_t>(channels_out * c.kh * c.kw * c.group_in));
    std::vector<std::int32_t> bias(static_cast<std::size_t>(channels_out));
    for (auto& b : bias) b = static_cast<std::int32_t>(rng() % 40001) - 20000;

    const auto q = run_qkern_conv<qkern::fp32_scale>(c, s, filter, bias, input);
    if (!q.prepared) {
      ++t.refused;
      continue;
    }
    const auto n = static_cast<std::size_t>(q.output_shape.element_count());
    std::vector<std::int8_t> xnn(n + 64, 0);
    const bool ran = run_xnnpack_conv(c, q.padding, s, filter, c.with_bias ? bias.data() : nullptr,
                                      static_cast<std::int8_t>(q.activation_min),
                                      static_cast<std::int8_t>(q.activation_max), input, xnn);
    if (!ran) {
      FAIL_CHECK("XNNPACK refused a case qkern accepted");
      continue;
    }
    ++t.cases;
    t.outputs += static_cast<long>(n);
    for (const auto& out : q.outputs) {
      const long d = count_differences(xnn, out, n);
      t.mismatches += d;
      if (d != 0) {
        FAIL_CHECK((depthwise ? "depthwise" : "conv2d") << " case " << i << ": " << d << " of " << n
                                                        << " outputs differ from XNNPACK");
      }
    }
    const auto tflite = run_qkern_conv<qkern::double_rounding>(c, s, filter, bias, input);
    if (tflite.prepared) t.double_rounding_differs += count_differences(xnn, tflite.outputs[0], n);
    const auto formed = run_qkern_conv<fp32_scale_formed_in_double>(c, s, filter, bias, input);
    if (formed.prepared) t.formed_in_double_differs += count_differences(xnn, formed.outputs[0], n);
  }
}

// --- fully connected ---------------------------------------------------------------------------

void fully_connected_twin(int count, unsigned seed, tally& t) {
  std::mt19937 rng(seed);
  for (int i = 0; i < count; ++i) {
    const int rows = pick(rng, {1, 1, 2, 3, 8, 9});
    const int depth = pick(rng, {1, 3, 8, 16, 17, 64, 100, 255, 1024});
    const int units = pick(rng, {1, 4, 15, 16, 33, 100, 257});
    const scales s = [&] {
      scales all = random_scales(rng, 1);
      return all;
    }();
    const int zp_in = static_cast<int>(rng() % 256) - 128;
    const int zp_out = static_cast<int>(rng() % 256) - 128;
    const bool with_bias = rng() % 6 != 0;
    const auto input = random_int8(rng, static_cast<std::size_t>(rows * depth));
    const auto weights = random_int8(rng, static_cast<std::size_t>(units * depth));
    std::vector<std::int32_t> bias(static_cast<std::size_t>(units));
    for (auto& b : bias) b = static_cast<std::int32_t>(rng() % 40001) - 20000;
    const std::int32_t* b = with_bias ? bias.data() : nullptr;
    qkern::fully_connected_options o;
    o.activation = rng() % 4 == 0 ? qkern::fused_activation::relu : qkern::fused_activation::none;
    const qkern::shape in_shape = qkern::make_shape({rows, depth}).value();
    const qkern::shape f_shape = qkern::make_shape({units, depth}).value();
    const qkern::per_channel_quantization fq{s.filter.data(), 1, 0, 0};

    auto run_qkern = [&](auto policy, bool all_paths) {
      using Policy = decltype(policy);
      std::vector<std::vector<std::int8_t>> outs;
      const auto p = qkern::prepare_fully_connected<std::int8_t, Policy>({s.input, zp_in}, in_shape, fq, f_shape, b,
                                                                         {s.output, zp_out}, o);
      if (!p.ok()) return outs;
      const auto n = static_cast<std::size_t>(rows * units);
      outs.assign(all_paths ? 3 : 1, std::vector<std::int8_t>(n));
      qkern::scalar::fully_connected(*p, input.data(), weights.data(), b, outs[0].data());
      if (all_paths) {
        qkern::fully_connected(*p, input.data(), weights.data(), b, outs[1].data());
        std::vector<std::uint64_t> storage(p->packed_weights_size / 8 + 1);
        const auto packed = qkern::pack_fully_connected_weights(*p, weights.data(), b, storage.data(), storage.size() * 8);
        REQUIRE(packed.ok());
        qkern::fully_connected(*p, *packed, input.data(), outs[2].data());
      }
      return outs;
    };
    const auto q = run_qkern(qkern::fp32_scale{}, true);
    if (q.empty()) {
      ++t.refused;
      continue;
    }
    // The activation range qkern derived, for XNNPACK's output_min / output_max.
    const auto range = qkern::make_activation_range<std::int8_t>(o.activation, {s.output, zp_out}).value();
    operator_handle h;
    const xnn_status st = xnn_create_fully_connected_nc_qs8(
        static_cast<std::size_t>(depth), static_cast<std::size_t>(units), static_cast<std::size_t>(depth),
        static_cast<std::size_t>(units), static_cast<std::int8_t>(zp_in), s.input, s.filter[0], weights.data(), b,
        static_cast<std::int8_t>(zp_out), s.output, static_cast<std::int8_t>(range.min),
        static_cast<std::int8_t>(range.max), 0, &h.op);
    if (st != xnn_status_success) {
      FAIL_CHECK("XNNPACK refused a fully connected case qkern accepted");
      continue;
    }
    const auto n = static_cast<std::size_t>(rows * units);
    std::vector<std::int8_t> xnn(n + 64, 0);
    REQUIRE(xnn_setup_fully_connected_nc_qs8(h.op, static_cast<std::size_t>(rows), input.data(), xnn.data(), nullptr) ==
            xnn_status_success);
    REQUIRE(xnn_run_operator(h.op, nullptr) == xnn_status_success);
    ++t.cases;
    t.outputs += static_cast<long>(n);
    for (const auto& out : q) {
      const long d = count_differences(xnn, out, n);
      t.mismatches += d;
      if (d != 0) FAIL_CHECK("fully_connected case " << i << ": " << d << " of " << n << " outputs differ from XNNPACK");
    }
    const auto tflite = run_qkern(qkern::double_rounding{}, false);
    if (!tflite.empty()) t.double_rounding_differs += count_differences(xnn, tflite[0], n);
    const auto formed = run_qkern(fp32_scale_formed_in_double{}, false);
    if (!formed.empty()) t.formed_in_double_differs += count_differences(xnn, formed[0], n);
  }
}

// --- directed cases: the outputs where the dialects part ------------------------------------

// For an accumulator acc and the three scales, the output of qkern's fp32_scale and of the
// double-formed control; they differ only where acc·scale sits next to a half.
std::int32_t fp32_output(float in, float w, float out, std::int32_t acc) {
  return qkern::fp32_scale::multiply(acc, qkern::fp32_scale::make_scale(in, w, out).value());
}
std::int32_t formed_in_double_output(float in, float w, float out, std::int32_t acc) {
  return qkern::fp32_scale::multiply(acc, fp32_scale_formed_in_double::make_scale(in, w, out).value());
}

// A 1x1 convolution over one pixel with one input channel (x - zero_point = 1, w = 1), so that
// output channel c computes exactly acc[c] = bias[c] + 1 with its own filter scale: XNNPACK
// (qc8) against qkern (fp32_scale, and the control).
struct directed_channel {
  float filter_scale;
  std::int32_t acc;
};

void run_directed(const std::vector<directed_channel>& channels, float input_scale, float output_scale, long* cases,
                  long* mismatches, long* control_differs) {
  const int n = static_cast<int>(channels.size());
  std::vector<float> filter_scales;
  std::vector<std::int32_t> bias;
  for (const auto& c : channels) {
    filter_scales.push_back(c.filter_scale);
    bias.push_back(c.acc - 1);
  }
  const std::vector<std::int8_t> filter(static_cast<std::size_t>(n) + 64, 1);
  std::vector<std::int8_t> input(64, 0);
  input[0] = 1;  // input zero point 0
  std::vector<std::int8_t> xnn(static_cast<std::size_t>(n) + 64, 0);
  operator_handle h;
  REQUIRE(xnn_create_convolution2d_nhwc_qc8(0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, static_cast<std::size_t>(n), 1,
                                            static_cast<std::size_t>(n), 0, input_scale, filter_scales.data(),
                                            filter.data(), bias.data(), 0, output_scale, -128, 127, 0,
                                            &h.op) == xnn_status_success);
  REQUIRE(xnn_setup_convolution2d_nhwc_qc8(h.op, 1, 1, 1, input.data(), xnn.data(), nullptr) == xnn_status_success);
  REQUIRE(xnn_run_operator(h.op, nullptr) == xnn_status_success);

  // qkern's conv2d with the same parameters
  const qkern::per_channel_quantization fq{filter_scales.data(), filter_scales.size(), 0, 0};
  std::vector<float> m(static_cast<std::size_t>(n));
  const auto p = qkern::prepare_conv2d<std::int8_t, qkern::fp32_scale>(
      {input_scale, 0}, qkern::make_shape({1, 1, 1, 1}).value(), fq, qkern::make_shape({n, 1, 1, 1}).value(),
      bias.data(), {output_scale, 0}, {}, {m.data(), m.size()});
  REQUIRE(p.ok());
  std::vector<std::int8_t> q(static_cast<std::size_t>(n));
  qkern::conv2d(*p, input.data(), filter.data(), bias.data(), q.data());
  for (int c = 0; c < n; ++c) {
    const auto i = static_cast<std::size_t>(c);
    ++*cases;
    if (q[i] != xnn[i]) ++*mismatches;
    const std::int32_t control = formed_in_double_output(input_scale, channels[i].filter_scale, output_scale, channels[i].acc);
    if (control != xnn[i]) ++*control_differs;
  }
}

void report(const char* op, const tally& t) {
  MESSAGE(std::string(op) << ": " << t.cases << " cases, " << t.outputs << " outputs, " << t.mismatches
                          << " mismatches against XNNPACK (" << t.refused
                          << " parameter sets refused by qkern); controls: TFLite double rounding differs on "
                          << t.double_rounding_differs << ", a scale formed in double on " << t.formed_in_double_differs);
}

}  // namespace

TEST_CASE("fp32_scale reproduces XNNPACK's qs8/qc8 convolution") {
  REQUIRE(xnnpack_ready());
  tally t;
  conv_twin(false, 400, 7, t);
  report("conv2d", t);
  CHECK(t.mismatches == 0);
  CHECK(t.cases > 300);
  CHECK(t.double_rounding_differs > 0);
}

TEST_CASE("fp32_scale reproduces XNNPACK's depthwise convolution") {
  REQUIRE(xnnpack_ready());
  tally t;
  conv_twin(true, 400, 11, t);
  report("depthwise_conv2d", t);
  CHECK(t.mismatches == 0);
  CHECK(t.cases > 300);
  CHECK(t.double_rounding_differs > 0);
}

TEST_CASE("fp32_scale reproduces XNNPACK's qs8 fully connected") {
  REQUIRE(xnnpack_ready());
  tally t;
  fully_connected_twin(400, 13, t);
  report("fully_connected", t);
  CHECK(t.mismatches == 0);
  CHECK(t.cases > 300);
  CHECK(t.double_rounding_differs > 0);
}

TEST_CASE("fp32_scale: directed cases where the scale's formation or the tie rule decides") {
  REQUIRE(xnnpack_ready());
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> unit(1.0f, 2.0f);
  long cases = 0, mismatches = 0, control_differs = 0;
  // (1) float32 product then float32 quotient, against one rounding of the exact quotient:
  // search scale triples and accumulators whose outputs depend on it.
  for (int round = 0; round < 40; ++round) {
    const float input_scale = std::ldexp(unit(rng), -static_cast<int>(rng() % 6));
    const float output_scale = std::ldexp(unit(rng), -static_cast<int>(rng() % 6));
    std::vector<directed_channel> channels;
    for (int attempt = 0; attempt < 200 && channels.size() < 48; ++attempt) {
      const float filter_scale = std::ldexp(unit(rng), -12 - static_cast<int>(rng() % 3)) * output_scale / input_scale;
      const float a = qkern::fp32_scale::make_scale(input_scale, filter_scale, output_scale).value();
      const float b = fp32_scale_formed_in_double::make_scale(input_scale, filter_scale, output_scale).value();
      if (a == b) continue;
      const auto limit = static_cast<std::int32_t>(120.0f / a);
      for (std::int32_t acc = -limit; acc <= limit && channels.size() < 48; ++acc) {
        if (fp32_output(input_scale, filter_scale, output_scale, acc) !=
            formed_in_double_output(input_scale, filter_scale, output_scale, acc)) {
          channels.push_back({filter_scale, acc});
          break;  // one accumulator per scale
        }
      }
    }
    if (!channels.empty()) run_directed(channels, input_scale, output_scale, &cases, &mismatches, &control_differs);
  }
  MESSAGE("scale formation: " << cases << " outputs that depend on it, " << mismatches
                              << " mismatches against XNNPACK; the scale formed in double differs on "
                              << control_differs);
  CHECK(cases > 100);
  CHECK(mismatches == 0);
  CHECK(control_differs == cases);

  // (2) ties: scale exactly 0.5 and odd accumulators, every v = k + 0.5 in [-127.5, 127.5].
  std::vector<directed_channel> ties;
  for (std::int32_t acc = -255; acc <= 255; acc += 2) ties.push_back({0.5f, acc});
  long tie_cases = 0, tie_mismatches = 0, unused = 0;
  run_directed(ties, 1.0f, 1.0f, &tie_cases, &tie_mismatches, &unused);
  long away_differs = 0;
  for (const auto& t : ties) {
    const std::int32_t half_away = t.acc > 0 ? (t.acc + 1) / 2 : (t.acc - 1) / 2;
    if (half_away != fp32_output(1.0f, 0.5f, 1.0f, t.acc)) ++away_differs;
  }
  MESSAGE("ties: " << tie_cases << " outputs at k + 0.5, " << tie_mismatches
                   << " mismatches against XNNPACK (ties to even); rounding half away from zero would differ on "
                   << away_differs);
  CHECK(tie_mismatches == 0);
  CHECK(away_differs > 100);
}

TEST_CASE("fp32_scale: XNNPACK's scale formula and bound") {
  // float32 product then float32 quotient, no double anywhere
  const float in = 0.0123f, w = 0.00417f, out = 0.0731f;
  const float expected = (in * w) / out;
  CHECK(qkern::fp32_scale::make_scale(in, w, out).value() == expected);
  // XNNPACK refuses requantization scales >= 256; so does the policy
  CHECK_FALSE(qkern::fp32_scale::make_scale(1.0f, 256.0f, 1.0f).ok());
  CHECK(qkern::fp32_scale::make_scale(1.0f, 255.0f, 1.0f).ok());
  // round half to even, saturation
  CHECK(qkern::fp32_scale::multiply(5, 0.5f) == 2);
  CHECK(qkern::fp32_scale::multiply(7, 0.5f) == 4);
  CHECK(qkern::fp32_scale::multiply(-5, 0.5f) == -2);
  CHECK(qkern::fp32_scale::multiply(-7, 0.5f) == -4);
  CHECK(qkern::fp32_scale::multiply(2147483647, 200.0f) == 2147483647);
  CHECK(qkern::fp32_scale::multiply(-2147483647 - 1, 200.0f) == -2147483647 - 1);
  static_assert(qkern::fp32_scale::multiply(3, 0.5f) == 2, "constexpr, ties to even");
}

#endif  // QKERN_TEST_XNNPACK
