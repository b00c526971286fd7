// SIMD == scalar for the int8 kernels with weights: conv2d, depthwise_conv2d, fully_connected.
//
// Built once per arch flag set (tests/conv_simd/CMakeLists.txt); every program checks that it
// really runs the backend and dot-product method it was built for, then compares, byte for
// byte, on seeded random cases:
//   scalar::op                  the reference
//   simd::op                    the public eval's path (packs on the stack)
//   simd::op over packed        pack_*_weights + the packed eval
//   scalar::op over packed      the packed form without SIMD
// for the three rounding policies (double, single, fp32). Shapes: 1x1, 3x3, 5x5 and odd
// filters, stride 1 and 2, dilation 1 and 2, SAME and VALID, batch up to 3, groups, channel
// counts that are and are not multiples of 4, 16 and 64; random per-channel scales (real
// multipliers from 2^-24 to 2^5, so left shifts too), zero points including -128 and 127,
// biases up to 2^24, weights and inputs including runs of -128 and 127, fused activations.
// Large-depth fully connected cases push the accumulator near the int32 bound, where the
// fused requantization gives way to the scalar step and the +128 form of the sums wraps.
//
// No rapidcheck: a small PRNG keeps the file buildable for cross targets (qemu-aarch64).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "qkern/kernels/conv.hpp"
#include "support/float_step_model.hpp"

#if !QKERN_SIMD
#error "the conv SIMD tests need QKERN_SIMD"
#endif

#ifndef QKERN_CONV_SIMD_TEST_BACKEND
#error "QKERN_CONV_SIMD_TEST_BACKEND (the backend this program is built for) must be defined"
#endif
#ifndef QKERN_CONV_SIMD_TEST_DOT
#error "QKERN_CONV_SIMD_TEST_DOT (the dot-product method this program is built for) must be defined"
#endif

namespace {

using arch = qkern::simd::default_arch;

// splitmix64: small, seedable, the same on every target.
struct rng {
  std::uint64_t state;
  std::uint64_t next() noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::int32_t uniform(std::int32_t lo, std::int32_t hi) noexcept {  // [lo, hi]
    return lo + static_cast<std::int32_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  bool chance(int percent) noexcept { return uniform(0, 99) < percent; }
  float unit() noexcept { return static_cast<float>(next() >> 40) / 16777216.0f; }  // [0, 1)
  template <class T>
  T pick(std::initializer_list<T> values) noexcept {
    return values.begin()[uniform(0, static_cast<std::int32_t>(values.size()) - 1)];
  }
};

std::int32_t random_channels(rng& r) {
  return r.pick<std::int32_t>({1, 2, 3, 4, 5, 7, 8, 13, 15, 16, 17, 24, 31, 32, 33, 47, 48, 63, 64, 65, 80, 96, 127, 129});
}

std::int32_t random_zero_point(rng& r) {
  if (r.chance(20)) return r.pick<std::int32_t>({-128, 127, 0});
  return r.uniform(-128, 127);
}

// int8 data: uniform, or runs of extremes, or all one extreme.
std::vector<std::int8_t> random_int8(rng& r, std::size_t n) {
  std::vector<std::int8_t> v(n);
  const int mode = r.uniform(0, 9);
  for (auto& x : v) {
    std::int32_t value = r.uniform(-128, 127);
    if (mode == 0) value = -128;
    if (mode == 1) value = 127;
    if (mode >= 2 && mode <= 4 && r.chance(30)) value = r.chance(50) ? -128 : 127;
    x = static_cast<std::int8_t>(value);
  }
  return v;
}

// Output scale, input scale, and per-channel filter scales whose products s_in·s_w/s_out spread
// over [2^-24, 2^5] (the multipliers' shifts from -24 to +5).
struct scales {
  float input;
  float output;
  std::vector<float> filter;
};

scales random_scales(rng& r, std::int32_t channels, bool per_channel) {
  scales s;
  s.input = std::ldexp(1.0f + r.unit(), r.uniform(-10, 0));
  s.output = std::ldexp(1.0f + r.unit(), r.uniform(-8, 2));
  const std::int32_t count = per_channel ? channels : 1;
  const int center = r.uniform(-20, -4);
  for (std::int32_t c = 0; c < count; ++c) {
    int e = center + r.uniform(-2, 2);
    if (r.chance(5)) e = r.uniform(-24, 5);
    const float real = std::ldexp(1.0f + r.unit(), e);
    s.filter.push_back(real * s.output / s.input);
  }
  return s;
}

std::vector<std::int32_t> random_bias(rng& r, std::int32_t channels) {
  std::vector<std::int32_t> b(static_cast<std::size_t>(channels));
  const int bits = r.uniform(0, 24);
  for (auto& x : b) x = r.uniform(-(1 << bits), 1 << bits);
  return b;
}

qkern::fused_activation random_activation(rng& r) {
  return r.pick<qkern::fused_activation>({qkern::fused_activation::none, qkern::fused_activation::none,
                                          qkern::fused_activation::relu, qkern::fused_activation::relu6,
                                          qkern::fused_activation::relu_n1_to_1});
}

// Storage for packing: 64-byte aligned.
struct aligned_storage {
  std::vector<unsigned char> bytes;
  unsigned char* data = nullptr;
  explicit aligned_storage(std::size_t n) : bytes(n + 64) {
    auto address = reinterpret_cast<std::uintptr_t>(bytes.data());
    data = bytes.data() + (64 - address % 64) % 64;
  }
};

struct tally {
  long cases = 0;
  long skipped = 0;
  long outputs = 0;
};

// Every path equals the reference, byte for byte; reports the first difference.
void expect_same(const std::vector<std::int8_t>& reference, const std::vector<std::int8_t>& got, const char* path,
                 const std::string& what) {
  std::size_t mismatches = 0;
  std::size_t first = 0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    if (reference[i] != got[i]) {
      if (mismatches == 0) first = i;
      ++mismatches;
    }
  }
  if (mismatches != 0) {
    FAIL_CHECK(std::string(path) << ": " << mismatches << " of " << reference.size() << " outputs differ; first at " << first
                    << ": expected " << int{reference[first]} << ", got " << int{got[first]} << " (" << what << ")");
  }
}

// --- conv2d ------------------------------------------------------------------------------------

struct conv2d_layout {
  std::int32_t batch, h, w, group_in, group_out, groups, kernel, kernel_w, stride, stride_w, dilation;
  bool same_padding;
};

conv2d_layout random_conv2d_layout(rng& r) {
  conv2d_layout l{};
  l.batch = r.uniform(1, 3);
  l.kernel = r.pick<std::int32_t>({1, 1, 3, 3, 5, 2, 7});
  l.kernel_w = r.chance(80) ? l.kernel : r.pick<std::int32_t>({1, 3, 5});
  l.stride = r.pick<std::int32_t>({1, 1, 2});
  l.dilation = r.chance(20) ? 2 : 1;
  l.groups = r.chance(15) ? r.pick<std::int32_t>({2, 3, 4}) : 1;
  l.group_in = r.chance(50) ? random_channels(r) % 40 + 1 : random_channels(r);
  l.group_out = random_channels(r);
  l.h = r.uniform(1, 14);
  l.w = r.uniform(1, 14);
  l.same_padding = r.chance(60);
  l.stride_w = r.chance(80) ? l.stride : r.pick<std::int32_t>({1, 2});
  return l;
}

// Pixels of 1 to 3 channels (a first layer's RGB, or groups of them) on images wide enough for
// whole tiles of rows whose windows lie inside: the path that reads each tap's word in place,
// up to the end of the input buffer.
conv2d_layout few_channel_conv2d_layout(rng& r) {
  conv2d_layout l{};
  l.batch = r.uniform(1, 2);
  l.kernel = r.pick<std::int32_t>({3, 3, 2, 5, 1});
  l.kernel_w = r.chance(85) ? l.kernel : r.pick<std::int32_t>({1, 3});
  l.stride = r.pick<std::int32_t>({1, 2, 2});
  l.stride_w = r.chance(85) ? l.stride : r.pick<std::int32_t>({1, 2});
  l.dilation = r.chance(15) ? 2 : 1;
  l.groups = r.chance(20) ? 2 : 1;
  l.group_in = r.uniform(1, 3);
  l.group_out = r.pick<std::int32_t>({8, 16, 17, 32, 33, 64});
  l.h = r.uniform(8, 40);
  l.w = r.uniform(8, 40);
  l.same_padding = r.chance(50);
  return l;
}

template <class Policy>
void check_conv2d(rng& r, tally& t, const conv2d_layout& l) {
  const std::int32_t batch = l.batch, h = l.h, w = l.w, kernel = l.kernel, kernel_w = l.kernel_w;
  const std::int32_t dilation = l.dilation, groups = l.groups, group_in = l.group_in;
  const std::int32_t c_in = group_in * groups;
  const std::int32_t c_out = l.group_out * groups;

  qkern::conv2d_options o;
  o.padding = l.same_padding ? qkern::padding_kind::same : qkern::padding_kind::valid;
  o.stride_height = l.stride;
  o.stride_width = l.stride_w;
  o.dilation_height = dilation;
  o.dilation_width = dilation;
  o.activation = random_activation(r);

  const qkern::shape in_shape = qkern::make_shape({batch, h, w, c_in}).value();
  const qkern::shape f_shape = qkern::make_shape({c_out, kernel, kernel_w, group_in}).value();
  const bool per_channel = r.chance(80);
  const scales s = random_scales(r, c_out, per_channel);
  const qkern::per_channel_quantization fq{s.filter.data(), s.filter.size(), 0, 0};
  const auto bias = random_bias(r, c_out);
  const bool with_bias = r.chance(85);
  const qkern::quantization_params in_q{s.input, random_zero_point(r)};
  const qkern::quantization_params out_q{s.output, random_zero_point(r)};
  std::vector<typename Policy::multiplier_type> m(static_cast<std::size_t>(c_out));

  const auto p = qkern::prepare_conv2d<std::int8_t, Policy>(in_q, in_shape, fq, f_shape,
                                                            with_bias ? bias.data() : nullptr, out_q, o,
                                                            {m.data(), m.size()});
  if (!p.ok()) {
    ++t.skipped;  // e.g. a VALID window larger than the input
    return;
  }
  const auto x = random_int8(r, static_cast<std::size_t>(in_shape.element_count()));
  const auto filter = random_int8(r, static_cast<std::size_t>(f_shape.element_count()));
  const std::int32_t* b = with_bias ? bias.data() : nullptr;
  const auto n = static_cast<std::size_t>(p->output_shape.element_count());
  std::vector<std::int8_t> reference(n), simd(n), packed(n, 0), scalar_packed(n, 0);

  qkern::scalar::conv2d(*p, x.data(), filter.data(), b, reference.data());
  qkern::simd::conv2d<arch>(*p, x.data(), filter.data(), b, simd.data());
  aligned_storage storage(p->packed_weights_size);
  const auto pw = qkern::pack_conv2d_weights(*p, filter.data(), b, storage.data, p->packed_weights_size);
  REQUIRE(pw.ok());
  qkern::simd::conv2d<arch>(*p, *pw, x.data(), packed.data());
  qkern::scalar::conv2d(*p, *pw, x.data(), scalar_packed.data());

  char what[256];
  std::snprintf(what, sizeof what, "%s conv %dx%dx%dx%d k%dx%d s%d,%d d%d g%d cout %d pad %s zp %d/%d", Policy::name,
                batch, h, w, c_in, kernel, kernel_w, o.stride_height, o.stride_width, dilation, groups, c_out,
                o.padding == qkern::padding_kind::same ? "same" : "valid", in_q.zero_point, out_q.zero_point);
  expect_same(reference, simd, "simd", what);
  expect_same(reference, packed, "simd packed", what);
  expect_same(reference, scalar_packed, "scalar packed", what);
  ++t.cases;
  t.outputs += static_cast<long>(n);
}

template <class Policy>
void conv2d_case(rng& r, tally& t) {
  check_conv2d<Policy>(r, t, random_conv2d_layout(r));
}

template <class Policy>
void few_channel_conv2d_case(rng& r, tally& t) {
  check_conv2d<Policy>(r, t, few_channel_conv2d_layout(r));
}

// --- depthwise ---------------------------------------------------------------------------------

// Draws bias, zero points, input and filter for the given shapes and compares simd with
// scalar. vnni_shapes: output zero points in [-60, 60] (the VNNI path's requantization form),
// and where that path is compiled in it must take the case and match too.
template <class Policy>
void check_depthwise(rng& r, tally& t, const qkern::shape& in_shape, const qkern::shape& f_shape,
                     const qkern::depthwise_conv2d_options& o, const scales& s, bool vnni_shapes) {
  const std::int32_t c_out = f_shape[3];
  const qkern::per_channel_quantization fq{s.filter.data(), s.filter.size(), 0, 3};
  const auto bias = random_bias(r, c_out);
  const bool with_bias = r.chance(85);
  const qkern::quantization_params in_q{s.input, random_zero_point(r)};
  const qkern::quantization_params out_q{s.output, vnni_shapes ? r.uniform(-60, 60) : random_zero_point(r)};
  std::vector<typename Policy::multiplier_type> m(static_cast<std::size_t>(c_out));

  const auto p = qkern::prepare_depthwise_conv2d<std::int8_t, Policy>(in_q, in_shape, fq, f_shape,
                                                                      with_bias ? bias.data() : nullptr, out_q, o,
                                                                      {m.data(), m.size()});
  if (!p.ok()) {
    ++t.skipped;
    return;
  }
  const auto x = random_int8(r, static_cast<std::size_t>(in_shape.element_count()));
  const auto filter = random_int8(r, static_cast<std::size_t>(f_shape.element_count()));
  const std::int32_t* b = with_bias ? bias.data() : nullptr;
  const auto n = static_cast<std::size_t>(p->output_shape.element_count());
  std::vector<std::int8_t> reference(n), simd(n);
  qkern::scalar::depthwise_conv2d(*p, x.data(), filter.data(), b, reference.data());
  qkern::simd::depthwise_conv2d<arch>(*p, x.data(), filter.data(), b, simd.data());

  char what[256];
  std::snprintf(what, sizeof what, "%s depthwise %dx%dx%dx%d k%dx%d s%d,%d d%d,%d dm%d pad %s zp %d/%d", Policy::name,
                in_shape[0], in_shape[1], in_shape[2], in_shape[3], f_shape[1], f_shape[2], o.stride_height,
                o.stride_width, o.dilation_height, o.dilation_width, o.depth_multiplier,
                o.padding == qkern::padding_kind::same ? "same" : "valid", in_q.zero_point, out_q.zero_point);
  expect_same(reference, simd, "simd", what);
#if QKERN_DEPTHWISE_VNNI
  if (vnni_shapes) {
    std::vector<std::int8_t> vnni(n);
    qkern::simd::detail::depthwise_vnni<arch, Policy, std::decay_t<decltype(*p)>> kernel(*p, x.data(), filter.data(),
                                                                                         b, vnni.data());
    const bool taken = kernel.run();
    CHECK_MESSAGE(taken, what);
    if (taken) expect_same(reference, vnni, "vnni", what);
  }
#endif
  ++t.cases;
  t.outputs += static_cast<long>(n);
}

template <class Policy>
void depthwise_case(rng& r, tally& t) {
  const std::int32_t batch = r.uniform(1, 3);
  const std::int32_t kernel = r.pick<std::int32_t>({3, 3, 5, 1, 2, 7});
  const std::int32_t channels = random_channels(r) + (r.chance(30) ? 64 : 0);
  const std::int32_t multiplier = r.chance(15) ? r.pick<std::int32_t>({2, 3}) : 1;
  const std::int32_t c_out = channels * multiplier;
  const std::int32_t h = r.uniform(1, 20);
  const std::int32_t w = r.uniform(1, 20);

  qkern::depthwise_conv2d_options o;
  o.padding = r.chance(60) ? qkern::padding_kind::same : qkern::padding_kind::valid;
  o.stride_height = r.pick<std::int32_t>({1, 1, 2});
  o.stride_width = r.chance(80) ? o.stride_height : r.pick<std::int32_t>({1, 2});
  o.dilation_height = r.chance(20) ? 2 : 1;
  o.dilation_width = r.chance(80) ? o.dilation_height : r.pick<std::int32_t>({1, 2});
  o.depth_multiplier = multiplier;
  o.activation = random_activation(r);

  const qkern::shape in_shape = qkern::make_shape({batch, h, w, channels}).value();
  const qkern::shape f_shape = qkern::make_shape({1, kernel, r.chance(80) ? kernel : 3, c_out}).value();
  const scales s = random_scales(r, c_out, r.chance(80));
  check_depthwise<Policy>(r, t, in_shape, f_shape, o, s, false);
}

// Depthwise shapes of the AVX-512 VNNI path (kernels/conv/depthwise_conv2d_vnni.hpp): depth
// multiplier 1, 1 to 4 filter rows, 3 or 5 columns, horizontal stride 1 or 2, any vertical
// stride and dilation, multipliers below 1 (its requantization form); rows from 1 to 70 pixels
// (pixel groups, overlapping last groups, left and right padding), channel counts around
// multiples of 16 and 64 (masked blocks). Where that path is compiled in, it must also take
// every such case (run() returns false when it declines).
template <class Policy>
void depthwise_vnni_case(rng& r, tally& t) {
  const std::int32_t batch = r.uniform(1, 2);
  const std::int32_t channels = r.pick<std::int32_t>({1, 3, 13, 16, 17, 48, 63, 64, 65, 100, 128, 129, 200});
  const std::int32_t kh = r.pick<std::int32_t>({3, 3, 1, 2, 4});
  const std::int32_t kw = r.pick<std::int32_t>({3, 3, 5});
  const std::int32_t h = r.uniform(1, 12);
  const std::int32_t w = r.chance(30) ? r.uniform(20, 70) : r.uniform(1, 12);

  qkern::depthwise_conv2d_options o;
  o.padding = r.chance(70) ? qkern::padding_kind::same : qkern::padding_kind::valid;
  o.stride_height = r.pick<std::int32_t>({1, 1, 2, 3});
  o.stride_width = r.pick<std::int32_t>({1, 2});
  o.dilation_height = r.chance(25) ? 2 : 1;
  o.activation = random_activation(r);

  const qkern::shape in_shape = qkern::make_shape({batch, h, w, channels}).value();
  const qkern::shape f_shape = qkern::make_shape({1, kh, kw, channels}).value();
  scales s = random_scales(r, channels, r.chance(80));
  for (auto& f : s.filter) {  // real multipliers below 1
    while (f * s.input / s.output >= 1.0f) f *= 0.25f;
  }
  check_depthwise<Policy>(r, t, in_shape, f_shape, o, s, true);
}

// --- fully connected ---------------------------------------------------------------------------

template <class Policy>
void fully_connected_case(rng& r, tally& t, bool huge_depth) {
  const std::int32_t rows = r.pick<std::int32_t>({1, 1, 2, 3, 5, 8, 9, 17});
  std::int32_t depth = r.chance(50) ? random_channels(r) : r.uniform(1, 3000);
  const std::int32_t units = r.chance(50) ? random_channels(r) : r.uniform(1, 300);
  std::int32_t zp_in = random_zero_point(r);
  if (huge_depth) {
    // taps · 255 · 128 close to 2^31 - 1: the accumulator can reach ±2^31 - a little.
    depth = r.uniform(40000, 65700);
    zp_in = r.chance(50) ? -128 : 127;
  }
  const qkern::shape in_shape = qkern::make_shape({rows, depth}).value();
  const qkern::shape f_shape = qkern::make_shape({units, depth}).value();
  const bool per_channel = r.chance(60);
  const scales s = random_scales(r, units, per_channel);
  const qkern::per_channel_quantization fq{s.filter.data(), s.filter.size(), 0, 0};
  auto bias = random_bias(r, units);
  if (huge_depth) {
    for (auto& v : bias) v = r.uniform(-1000, 1000);
  }
  const bool with_bias = r.chance(85);
  const qkern::quantization_params in_q{s.input, zp_in};
  const qkern::quantization_params out_q{s.output, random_zero_point(r)};
  qkern::fully_connected_options o;
  o.activation = random_activation(r);
  std::vector<typename Policy::multiplier_type> m(static_cast<std::size_t>(units));

  const auto p = qkern::prepare_fully_connected<std::int8_t, Policy>(in_q, in_shape, fq, f_shape,
                                                                     with_bias ? bias.data() : nullptr, out_q, o,
                                                                     {m.data(), m.size()});
  if (!p.ok()) {
    ++t.skipped;
    return;
  }
  auto x = random_int8(r, static_cast<std::size_t>(in_shape.element_count()));
  auto weights = random_int8(r, static_cast<std::size_t>(f_shape.element_count()));
  if (huge_depth) {
    // Inputs at the far end from the zero point and weights of one sign make |acc| huge.
    const auto far = static_cast<std::int8_t>(zp_in == -128 ? 127 : -128);
    for (auto& v : x) v = r.chance(95) ? far : v;
    const bool negative = r.chance(50);
    for (auto& v : weights) v = static_cast<std::int8_t>(r.chance(95) ? (negative ? -128 : 127) : v);
  }
  const std::int32_t* b = with_bias ? bias.data() : nullptr;
  const auto n = static_cast<std::size_t>(p->output_shape.element_count());
  std::vector<std::int8_t> reference(n), simd(n), packed(n, 0), scalar_packed(n, 0);

  qkern::scalar::fully_connected(*p, x.data(), weights.data(), b, reference.data());
  qkern::simd::fully_connected<arch>(*p, x.data(), weights.data(), b, simd.data());
  aligned_storage storage(p->packed_weights_size);
  const auto w = qkern::pack_fully_connected_weights(*p, weights.data(), b, storage.data, p->packed_weights_size);
  REQUIRE(w.ok());
  qkern::simd::fully_connected<arch>(*p, *w, x.data(), packed.data());
  qkern::scalar::fully_connected(*p, *w, x.data(), scalar_packed.data());

  char what[200];
  std::snprintf(what, sizeof what, "%s fc rows %d depth %d units %d %s zp %d/%d", Policy::name, rows, depth, units,
                per_channel ? "per-channel" : "per-tensor", in_q.zero_point, out_q.zero_point);
  expect_same(reference, simd, "simd", what);
  expect_same(reference, packed, "simd packed", what);
  expect_same(reference, scalar_packed, "scalar packed", what);
  ++t.cases;
  t.outputs += static_cast<long>(n);
}

template <class Policy>
void run_cases(const char* op, void (*one)(rng&, tally&), int count, std::uint64_t seed) {
  rng r{seed};
  tally t;
  for (int i = 0; i < count; ++i) one(r, t);
  MESSAGE(std::string(op) << " " << std::string(Policy::name) << ": " << t.cases << " cases, " << t.outputs << " outputs equal ("
             << t.skipped << " parameter sets refused by prepare)");
  CHECK(t.cases > count / 2);
}

// The float form of a channel's output step (kernels/conv/accumulator_float_form.hpp) against
// the scalar step, at the accumulators where a wrong constant would show: both sides of every
// output step, located from the real multiplier (not by the search's walk), the ends of the
// accumulator range, 0 and ±1, ±2^24 and their neighbours, random accumulators, and every
// accumulator of small ranges. AVX-512 programs run the kernels' instructions; the others,
// which never use the form, check it in its integer model floor((acc F + K) / 2^s).
struct float_form_tally {
  int sets = 0;
  int with_form = 0;
  long accumulators = 0;
  long mismatches = 0;
};

std::int32_t float_form_floor(std::int32_t acc, const qkern::float_step_form& form) {
#if XSIMD_WITH_AVX512BW
  const __m512i y = qkern::simd::detail::requantize_float_form_lanes(
      _mm512_set1_epi32(acc), _mm512_set1_ps(form.multiplier), _mm512_set1_ps(form.constant_negative),
      _mm512_set1_ps(form.constant_nonnegative));
  return _mm512_cvtsi512_si32(y);
#else
  const std::int64_t floor = qkern_test::float_step_model(form).floor(acc);
  return static_cast<std::int32_t>(floor < INT32_MIN ? INT32_MIN : (floor > INT32_MAX ? INT32_MAX : floor));
#endif
}

template <class Policy>
void float_form_case(rng& r, float_form_tally& t) {
  double real = std::ldexp(1.0 + r.unit(), r.uniform(-17, -3));  // conv-like: s_in s_w / s_out
  if (r.chance(15)) real = std::ldexp(1.0 + r.unit(), r.uniform(-23, -1));
  if (r.chance(5)) real = r.pick<double>({0.5 - 1e-9, 0.25, std::ldexp(1.0, -22), std::ldexp(1.0, -21) * 1.5});
  const auto m = qkern::quantize_multiplier<Policy>(real);
  REQUIRE(m.ok());
  const std::int32_t zero_point = random_zero_point(r);
  std::int32_t lo = -128, hi = 127;
  if (r.chance(30)) lo = r.uniform(-128, 0);
  if (r.chance(30)) hi = r.uniform(lo, 127);
  std::int64_t bound = r.uniform(1, 1 << 17);
  const int range_kind = r.uniform(0, 3);
  if (range_kind == 1) bound = r.uniform(1 << 17, 1 << 24);
  if (range_kind == 2) bound = r.uniform(1 << 24, INT32_MAX);
  if (range_kind == 3) bound = r.pick<std::int64_t>({1 << 24, (1 << 24) + 1, INT32_MAX});
  const auto spec = [&](std::int32_t acc) {
    return qkern::detail::requantize_accumulator<std::int8_t, Policy>(acc, *m, zero_point, lo, hi);
  };
  const qkern::float_step_form form = qkern::make_accumulator_float_form(
      [&](std::int32_t acc) { return std::int64_t{Policy::multiply(acc, *m)} + zero_point; }, *m, bound);
  ++t.sets;
  if (!form.valid) return;
  ++t.with_form;
  std::vector<std::int64_t> points = {0, 1, -1, bound, -bound, bound - 1, 1 - bound};
  for (const std::int64_t e : {std::int64_t{1} << 24, (std::int64_t{1} << 24) + 1, (std::int64_t{1} << 24) - 1}) {
    points.push_back(e);
    points.push_back(-e);
  }
  for (std::int32_t v = -128; v <= 128; ++v) {
    const auto center = static_cast<std::int64_t>(std::llround((v - zero_point - 0.5) / m->real_value()));
    for (std::int64_t d = -8; d <= 8; ++d) points.push_back(center + d);
  }
  for (int i = 0; i < 2000; ++i) {
    points.push_back(static_cast<std::int64_t>(r.next() % static_cast<std::uint64_t>(2 * bound + 1)) - bound);
  }
  if (bound <= (1 << 16)) {
    for (std::int64_t acc = -bound; acc <= bound; ++acc) points.push_back(acc);
  }
  for (const std::int64_t acc : points) {
    if (acc < -bound || acc > bound) continue;
    const auto a = static_cast<std::int32_t>(acc);
    const std::int32_t y = float_form_floor(a, form);
    const std::int32_t got = y < lo ? lo : (y > hi ? hi : y);
    ++t.accumulators;
    if (got != spec(a)) {
      if (t.mismatches < 5) {
        MESSAGE("acc " << a << ": float form " << got << ", spec " << int{spec(a)} << " (multiplier " << m->multiplier
                       << " shift " << m->shift << ", zero point " << zero_point << ", bound " << bound << ")");
      }
      ++t.mismatches;
    }
  }
}

// Case counts: enough to cover every tile shape and tail on every arch, small enough for qemu.
#ifdef QKERN_CONV_SIMD_TEST_CASES
constexpr int case_count = QKERN_CONV_SIMD_TEST_CASES;
#else
constexpr int case_count = 300;
#endif

}  // namespace

TEST_CASE("compiled for the expected backend and dot product") {
  const std::string backend = qkern::simd::backend_name(qkern::simd::backend_of<arch>());
  const std::string dot = qkern::simd::dot_method_name(qkern::simd::dot_method_of<arch>());
  MESSAGE("default_arch " << std::string(qkern::simd::arch_name<arch>()) << ", backend " << backend << ", dot "
                          << dot);
  CHECK(backend == QKERN_CONV_SIMD_TEST_BACKEND);
  CHECK(dot == QKERN_CONV_SIMD_TEST_DOT);
}

TEST_CASE("conv2d and fully connected: the float form of the output step equals the scalar step") {
  for (const bool single : {false, true}) {
    rng r{single ? 302u : 301u};
    float_form_tally t;
    for (int i = 0; i < case_count; ++i) {
      if (single) {
        float_form_case<qkern::single_rounding>(r, t);
      } else {
        float_form_case<qkern::double_rounding>(r, t);
      }
    }
    MESSAGE((single ? "single" : "double") << " rounding: " << t.with_form << " of " << t.sets
                                           << " parameter sets have the float form; " << t.accumulators
                                           << " accumulators checked");
    CHECK(t.mismatches == 0);
    CHECK(t.with_form > t.sets / 2);
  }
}

TEST_CASE("conv2d: simd == scalar") {
  run_cases<qkern::double_rounding>("conv2d", conv2d_case<qkern::double_rounding>, case_count, 101);
  run_cases<qkern::single_rounding>("conv2d", conv2d_case<qkern::single_rounding>, case_count, 102);
  run_cases<qkern::fp32_scale>("conv2d", conv2d_case<qkern::fp32_scale>, case_count, 103);
}

TEST_CASE("conv2d: pixels of 1 to 3 channels") {
  run_cases<qkern::double_rounding>("conv2d (1-3 channels)", few_channel_conv2d_case<qkern::double_rounding>,
                                    case_count / 2, 111);
  run_cases<qkern::single_rounding>("conv2d (1-3 channels)", few_channel_conv2d_case<qkern::single_rounding>,
                                    case_count / 2, 112);
  run_cases<qkern::fp32_scale>("conv2d (1-3 channels)", few_channel_conv2d_case<qkern::fp32_scale>, case_count / 2,
                               113);
}

TEST_CASE("depthwise_conv2d: simd == scalar") {
  run_cases<qkern::double_rounding>("depthwise", depthwise_case<qkern::double_rounding>, case_count, 201);
  run_cases<qkern::single_rounding>("depthwise", depthwise_case<qkern::single_rounding>, case_count, 202);
  run_cases<qkern::fp32_scale>("depthwise", depthwise_case<qkern::fp32_scale>, case_count, 203);
}

TEST_CASE("depthwise_conv2d: the AVX-512 VNNI path's shapes") {
  run_cases<qkern::double_rounding>("depthwise (vnni shapes)", depthwise_vnni_case<qkern::double_rounding>, case_count,
                                    211);
  run_cases<qkern::single_rounding>("depthwise (vnni shapes)", depthwise_vnni_case<qkern::single_rounding>, case_count,
                                    212);
  run_cases<qkern::fp32_scale>("depthwise (vnni shapes)", depthwise_vnni_case<qkern::fp32_scale>, case_count, 213);
}

TEST_CASE("fully_connected: simd == scalar") {
  auto d = [](rng& r, tally& t) { fully_connected_case<qkern::double_rounding>(r, t, false); };
  auto s = [](rng& r, tally& t) { fully_connected_case<qkern::single_rounding>(r, t, false); };
  auto f = [](rng& r, tally& t) { fully_connected_case<qkern::fp32_scale>(r, t, false); };
  run_cases<qkern::double_rounding>("fully_connected", +d, case_count, 301);
  run_cases<qkern::single_rounding>("fully_connected", +s, case_count, 302);
  run_cases<qkern::fp32_scale>("fully_connected", +f, case_count, 303);
}

TEST_CASE("conv2d: reductions too long for the stack workspace") {
  // KH·KW·C_in/groups above ~1900: the public eval cannot pack 16 channels on the stack and
  // takes row dot products (AVX-512 VNNI) or the scalar reference; the packed path packs.
  rng r{501};
  tally t;
  for (int i = 0; i < 12; ++i) {
    const std::int32_t c_in = r.pick<std::int32_t>({230, 257, 300});
    const std::int32_t kernel = r.pick<std::int32_t>({3, 5});
    const std::int32_t c_out = r.pick<std::int32_t>({5, 17, 40});
    qkern::conv2d_options o;
    o.padding = r.chance(70) ? qkern::padding_kind::same : qkern::padding_kind::valid;
    o.stride_height = o.stride_width = r.pick<std::int32_t>({1, 2});
    const qkern::shape in_shape = qkern::make_shape({2, r.uniform(kernel, 9), r.uniform(kernel, 9), c_in}).value();
    const qkern::shape f_shape = qkern::make_shape({c_out, kernel, kernel, c_in}).value();
    const scales s = random_scales(r, c_out, true);
    const qkern::per_channel_quantization fq{s.filter.data(), s.filter.size(), 0, 0};
    const auto bias = random_bias(r, c_out);
    std::vector<float> m(static_cast<std::size_t>(c_out));
    std::vector<qkern::quantized_multiplier> mq(static_cast<std::size_t>(c_out));
    const qkern::quantization_params in_q{s.input, random_zero_point(r)};
    const qkern::quantization_params out_q{s.output, random_zero_point(r)};
    const auto x = random_int8(r, static_cast<std::size_t>(in_shape.element_count()));
    const auto filter = random_int8(r, static_cast<std::size_t>(f_shape.element_count()));
    auto check = [&](const auto& p) {
      const auto n = static_cast<std::size_t>(p.output_shape.element_count());
      std::vector<std::int8_t> reference(n), simd(n), packed(n);
      qkern::scalar::conv2d(p, x.data(), filter.data(), bias.data(), reference.data());
      qkern::simd::conv2d<arch>(p, x.data(), filter.data(), bias.data(), simd.data());
      aligned_storage storage(p.packed_weights_size);
      const auto pw = qkern::pack_conv2d_weights(p, filter.data(), bias.data(), storage.data, p.packed_weights_size);
      REQUIRE(pw.ok());
      qkern::simd::conv2d<arch>(p, *pw, x.data(), packed.data());
      expect_same(reference, simd, "simd", "long reduction");
      expect_same(reference, packed, "simd packed", "long reduction");
      t.outputs += static_cast<long>(n);
      ++t.cases;
    };
    const auto pd = qkern::prepare_conv2d<std::int8_t>(in_q, in_shape, fq, f_shape, bias.data(), out_q, o,
                                                       {mq.data(), mq.size()});
    REQUIRE(pd.ok());
    check(*pd);
    const auto pf = qkern::prepare_conv2d<std::int8_t, qkern::fp32_scale>(in_q, in_shape, fq, f_shape, bias.data(),
                                                                          out_q, o, {m.data(), m.size()});
    if (pf.ok()) check(*pf);
  }
  MESSAGE("long reductions: " << t.cases << " cases, " << t.outputs << " outputs equal");
}

TEST_CASE("fully_connected: accumulators near the int32 bound") {
  auto huge = [](rng& r, tally& t) { fully_connected_case<qkern::double_rounding>(r, t, true); };
  auto huge_single = [](rng& r, tally& t) { fully_connected_case<qkern::single_rounding>(r, t, true); };
  auto huge_fp32 = [](rng& r, tally& t) { fully_connected_case<qkern::fp32_scale>(r, t, true); };
  run_cases<qkern::double_rounding>("fully_connected (deep)", +huge, 12, 401);
  run_cases<qkern::single_rounding>("fully_connected (deep)", +huge_single, 12, 402);
  run_cases<qkern::fp32_scale>("fully_connected (deep)", +huge_fp32, 12, 403);
}

TEST_CASE("extreme inputs and weights at every zero point") {
  // Every input zero point against all-(-128) / all-127 inputs and weights, 3x3 SAME conv with
  // padding, depthwise and FC: the +128 bias of the VNNI sums and the zero-point padding row.
  tally t;
  for (const std::int32_t zp : {-128, -127, -1, 0, 1, 126, 127}) {
    for (const std::int8_t xv : {std::int8_t{-128}, std::int8_t{127}}) {
      for (const std::int8_t wv : {std::int8_t{-128}, std::int8_t{127}}) {
        const qkern::shape in_shape = qkern::make_shape({2, 5, 6, 37}).value();
        const qkern::shape f_shape = qkern::make_shape({19, 3, 3, 37}).value();
        const float fs[1] = {0.0004f};
        const qkern::per_channel_quantization fq{fs, 1, 0, 0};
        qkern::conv2d_options o;
        o.padding = qkern::padding_kind::same;
        std::vector<qkern::quantized_multiplier> m(19);
        const std::int32_t* no_bias = nullptr;
        const auto p = qkern::prepare_conv2d<std::int8_t>({0.5f, zp}, in_shape, fq, f_shape, nullptr, {0.7f, -3}, o,
                                                          {m.data(), m.size()});
        REQUIRE(p.ok());
        const std::vector<std::int8_t> x(static_cast<std::size_t>(in_shape.element_count()), xv);
        const std::vector<std::int8_t> f(static_cast<std::size_t>(f_shape.element_count()), wv);
        const auto n = static_cast<std::size_t>(p->output_shape.element_count());
        std::vector<std::int8_t> reference(n), simd(n);
        qkern::scalar::conv2d(*p, x.data(), f.data(), no_bias, reference.data());
        qkern::simd::conv2d<arch>(*p, x.data(), f.data(), no_bias, simd.data());
        expect_same(reference, simd, "simd conv", "extremes");

        qkern::depthwise_conv2d_options d;
        d.padding = qkern::padding_kind::same;
        const qkern::shape df_shape = qkern::make_shape({1, 3, 3, 37}).value();
        std::vector<qkern::quantized_multiplier> dm(37);
        const auto dp = qkern::prepare_depthwise_conv2d<std::int8_t>({0.5f, zp}, in_shape, fq, df_shape, nullptr,
                                                                     {0.07f, 5}, d, {dm.data(), dm.size()});
        REQUIRE(dp.ok());
        const std::vector<std::int8_t> df(static_cast<std::size_t>(df_shape.element_count()), wv);
        std::vector<std::int8_t> dref(x.size()), dsimd(x.size());
        qkern::scalar::depthwise_conv2d(*dp, x.data(), df.data(), no_bias, dref.data());
        qkern::simd::depthwise_conv2d<arch>(*dp, x.data(), df.data(), no_bias, dsimd.data());
        expect_same(dref, dsimd, "simd depthwise", "extremes");
        t.outputs += static_cast<long>(n + x.size());
        ++t.cases;
      }
    }
  }
  MESSAGE("extremes: " << t.cases << " cases, " << t.outputs << " outputs equal");
}
