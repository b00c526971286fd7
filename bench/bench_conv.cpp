// The kernels with weights at MobileNet shapes, single thread: qkern's SIMD path (packed
// weights, and the public eval that packs on the stack), qkern's scalar reference, and
// XNNPACK's qs8 (per-tensor) / qc8 (per-channel) operators when found, in one run.
//
// Counter GMAC/s: multiply-accumulates per second (output elements x taps x input channels per
// group), in 10^9. The AVX-512 VNNI peak of this machine is about 488 GMAC/s (2 x vpdpbusd zmm
// per cycle: 2 x 64 MACs at ~3.8 GHz).
//
// qkern rows are named <shape>/qkern_<path>_<policy>: policy double = TFLite's default rounding
// (bit-exact with TFLite), fp32 = XNNPACK's float-scale rounding (bit-exact with XNNPACK).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "qkern/kernels/conv.hpp"

#if defined(QKERN_BENCH_XNNPACK)
#include <xnnpack.h>
#endif
#if defined(__AVX512VNNI__)
#include <immintrin.h>
#endif

namespace {

enum class op { conv, depthwise, fc };

struct layer {
  op kind;
  std::int32_t batch, h, w, c_in, c_out, k, stride;  // FC: batch rows, c_in depth, c_out units
};

// The shapes (MobileNet v1 layers).
constexpr layer conv1x1{op::conv, 1, 56, 56, 64, 64, 1, 1};
constexpr layer conv3x3{op::conv, 1, 56, 56, 32, 32, 3, 1};
constexpr layer conv3x3_s2_first{op::conv, 1, 112, 112, 3, 32, 3, 2};
constexpr layer dw_56{op::depthwise, 1, 56, 56, 128, 128, 3, 1};
constexpr layer dw_28_s2{op::depthwise, 1, 28, 28, 256, 256, 3, 2};
constexpr layer fc_b1{op::fc, 1, 1, 1, 1024, 1000, 1, 1};
constexpr layer fc_b8{op::fc, 8, 1, 1, 1024, 1000, 1, 1};

std::int32_t out_size(std::int32_t in, std::int32_t stride) { return (in + stride - 1) / stride; }  // SAME

std::int64_t macs(const layer& l) {
  switch (l.kind) {
    case op::conv:
      return std::int64_t{l.batch} * out_size(l.h, l.stride) * out_size(l.w, l.stride) * l.c_out * l.k * l.k * l.c_in;
    case op::depthwise:
      return std::int64_t{l.batch} * out_size(l.h, l.stride) * out_size(l.w, l.stride) * l.c_out * l.k * l.k;
    case op::fc: return std::int64_t{l.batch} * l.c_in * l.c_out;
  }
  return 0;
}

std::vector<std::int8_t> random_int8(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::int8_t> v(n + 64);  // XNNPACK may read past the end
  for (auto& x : v) x = static_cast<std::int8_t>(rng());
  return v;
}

// Quantization in the range TFLite's converter produces.
constexpr qkern::quantization_params q_in{0.0235f, -7};
constexpr qkern::quantization_params q_out{0.0627f, 5};

struct data {
  std::vector<std::int8_t> input, filter, output;
  std::vector<std::int32_t> bias;
  std::vector<float> filter_scales;
};

data make_data(const layer& l, bool per_channel) {
  data d;
  const std::int64_t in_count = std::int64_t{l.batch} * l.h * l.w * l.c_in;
  const std::int64_t f_count = l.kind == op::depthwise ? std::int64_t{l.k} * l.k * l.c_out
                                                       : std::int64_t{l.c_out} * l.k * l.k * l.c_in;
  d.input = random_int8(static_cast<std::size_t>(in_count), 1);
  d.filter = random_int8(static_cast<std::size_t>(f_count), 2);
  std::mt19937 rng(3);
  d.bias.resize(static_cast<std::size_t>(l.c_out));
  for (auto& b : d.bias) b = static_cast<std::int32_t>(rng() % 20001) - 10000;
  std::uniform_real_distribution<float> unit(0.5f, 1.5f);
  const std::int32_t count = per_channel ? l.c_out : 1;
  for (std::int32_t c = 0; c < count; ++c) d.filter_scales.push_back(0.004f * unit(rng));
  const std::int64_t out_count =
      l.kind == op::fc ? std::int64_t{l.batch} * l.c_out
                       : std::int64_t{l.batch} * out_size(l.h, l.stride) * out_size(l.w, l.stride) * l.c_out;
  d.output.resize(static_cast<std::size_t>(out_count) + 64);
  return d;
}

void finish(benchmark::State& state, const layer& l) {
  state.counters["GMAC/s"] =
      benchmark::Counter(static_cast<double>(macs(l)) * static_cast<double>(state.iterations()) / 1e9,
                         benchmark::Counter::kIsRate);
}

enum class path { packed, unpacked, scalar };

template <class Policy>
void bench_qkern(benchmark::State& state, layer l, path which) {
  const data d = make_data(l, true);
  data out = d;
  const qkern::per_channel_quantization fq{d.filter_scales.data(), d.filter_scales.size(), 0,
                                           l.kind == op::depthwise ? 3 : 0};
  std::vector<typename Policy::multiplier_type> m(static_cast<std::size_t>(l.c_out));
  std::vector<unsigned char> storage;  // packed weights, used from a 64-byte boundary
  auto packed_storage = [&storage](std::size_t size) {
    storage.assign(size + 64, 0);
    const auto address = reinterpret_cast<std::uintptr_t>(storage.data());
    return storage.data() + (64 - address % 64) % 64;
  };
  const std::int32_t* bias = d.bias.data();
  if (l.kind == op::conv) {
    qkern::conv2d_options o;
    o.padding = qkern::padding_kind::same;
    o.stride_height = o.stride_width = l.stride;
    const auto p = qkern::prepare_conv2d<std::int8_t, Policy>(
        q_in, qkern::make_shape({l.batch, l.h, l.w, l.c_in}).value(), fq,
        qkern::make_shape({l.c_out, l.k, l.k, l.c_in}).value(), bias, q_out, o, {m.data(), m.size()});
    if (!p.ok()) return state.SkipWithError("prepare failed");
    const auto packed = qkern::pack_conv2d_weights(*p, d.filter.data(), bias, packed_storage(p->packed_weights_size),
                                                   p->packed_weights_size);
    if (!packed.ok()) return state.SkipWithError("packing failed");
    for (auto _ : state) {
      if (which == path::packed) {
        qkern::conv2d(*p, *packed, d.input.data(), out.output.data());
      } else if (which == path::unpacked) {
        qkern::conv2d(*p, d.input.data(), d.filter.data(), bias, out.output.data());
      } else {
        qkern::scalar::conv2d(*p, d.input.data(), d.filter.data(), bias, out.output.data());
      }
      benchmark::DoNotOptimize(out.output.data());
      benchmark::ClobberMemory();
    }
  } else if (l.kind == op::depthwise) {
    qkern::depthwise_conv2d_options o;
    o.padding = qkern::padding_kind::same;
    o.stride_height = o.stride_width = l.stride;
    const auto p = qkern::prepare_depthwise_conv2d<std::int8_t, Policy>(
        q_in, qkern::make_shape({l.batch, l.h, l.w, l.c_in}).value(), fq,
        qkern::make_shape({1, l.k, l.k, l.c_out}).value(), bias, q_out, o, {m.data(), m.size()});
    if (!p.ok()) return state.SkipWithError("prepare failed");
    for (auto _ : state) {
      if (which == path::scalar) {
        qkern::scalar::depthwise_conv2d(*p, d.input.data(), d.filter.data(), bias, out.output.data());
      } else {
        qkern::depthwise_conv2d(*p, d.input.data(), d.filter.data(), bias, out.output.data());
      }
      benchmark::DoNotOptimize(out.output.data());
      benchmark::ClobberMemory();
    }
  } else {
    const auto p = qkern::prepare_fully_connected<std::int8_t, Policy>(
        q_in, qkern::make_shape({l.batch, l.c_in}).value(), fq, qkern::make_shape({l.c_out, l.c_in}).value(), bias,
        q_out, {}, {m.data(), m.size()});
    if (!p.ok()) return state.SkipWithError("prepare failed");
    const auto packed = qkern::pack_fully_connected_weights(*p, d.filter.data(), bias,
                                                            packed_storage(p->packed_weights_size),
                                                            p->packed_weights_size);
    if (!packed.ok()) return state.SkipWithError("packing failed");
    for (auto _ : state) {
      if (which == path::packed) {
        qkern::fully_connected(*p, *packed, d.input.data(), out.output.data());
      } else if (which == path::unpacked) {
        qkern::fully_connected(*p, d.input.data(), d.filter.data(), bias, out.output.data());
      } else {
        qkern::scalar::fully_connected(*p, d.input.data(), d.filter.data(), bias, out.output.data());
      }
      benchmark::DoNotOptimize(out.output.data());
      benchmark::ClobberMemory();
    }
  }
  finish(state, l);
}

#if defined(__AVX512VNNI__)
// The machine's VNNI peak in this run: 12 independent vpdpbusd zmm chains, nothing else. On a
// shared machine the other rows are best read against this one.
void vnni_peak(benchmark::State& state) {
  __m512i acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_epi32(i);
  __m512i a = _mm512_set1_epi32(0x01020304);
  const __m512i b = _mm512_set1_epi32(0x01010101);
  constexpr std::int64_t rounds = 4096;
  for (auto _ : state) {
    for (std::int64_t n = 0; n < rounds; ++n) {
      for (int i = 0; i < 12; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
      __asm__ volatile("" : "+v"(a));
    }
  }
  std::int32_t sum = 0;
  for (int i = 0; i < 12; ++i) sum += _mm512_reduce_add_epi32(acc[i]);
  benchmark::DoNotOptimize(sum);
  state.counters["GMAC/s"] =
      benchmark::Counter(static_cast<double>(rounds) * 12 * 64 * static_cast<double>(state.iterations()) / 1e9,
                         benchmark::Counter::kIsRate);
}
BENCHMARK(vnni_peak);
#endif

void bench_double(benchmark::State& state, layer l, path which) { bench_qkern<qkern::double_rounding>(state, l, which); }
void bench_fp32(benchmark::State& state, layer l, path which) { bench_qkern<qkern::fp32_scale>(state, l, which); }

#if defined(QKERN_BENCH_XNNPACK)
// XNNPACK's qs8 (one kernel scale) or qc8 (a scale per output channel; convolutions only).
void bench_xnnpack(benchmark::State& state, layer l, bool per_channel) {
  if (xnn_initialize(nullptr) != xnn_status_success) return state.SkipWithError("xnn_initialize failed");
  const data d = make_data(l, per_channel);
  data out = d;
  xnn_operator_t handle = nullptr;
  xnn_status s = xnn_status_success;
  const auto zp_in = static_cast<std::int8_t>(q_in.zero_point);
  const auto zp_out = static_cast<std::int8_t>(q_out.zero_point);
  if (l.kind == op::fc) {
    s = xnn_create_fully_connected_nc_qs8(static_cast<std::size_t>(l.c_in), static_cast<std::size_t>(l.c_out),
                                          static_cast<std::size_t>(l.c_in), static_cast<std::size_t>(l.c_out), zp_in,
                                          q_in.scale, d.filter_scales[0], d.filter.data(), d.bias.data(), zp_out,
                                          q_out.scale, -128, 127, 0, &handle);
    if (s == xnn_status_success) {
      s = xnn_setup_fully_connected_nc_qs8(handle, static_cast<std::size_t>(l.batch), d.input.data(),
                                           out.output.data(), nullptr);
    }
  } else {
    const bool dw = l.kind == op::depthwise;
    const auto groups = static_cast<std::uint32_t>(dw ? l.c_in : 1);
    const std::size_t group_in = dw ? 1 : static_cast<std::size_t>(l.c_in);
    const std::size_t group_out = dw ? 1 : static_cast<std::size_t>(l.c_out);
    const std::uint32_t flags = XNN_FLAG_TENSORFLOW_SAME_PADDING | (dw ? XNN_FLAG_DEPTHWISE_CONVOLUTION : 0u);
    const auto k = static_cast<std::uint32_t>(l.k);
    const auto stride = static_cast<std::uint32_t>(l.stride);
    if (per_channel) {
      s = xnn_create_convolution2d_nhwc_qc8(0, 0, 0, 0, k, k, stride, stride, 1, 1, groups, group_in, group_out,
                                            static_cast<std::size_t>(l.c_in), static_cast<std::size_t>(l.c_out), zp_in,
                                            q_in.scale, d.filter_scales.data(), d.filter.data(), d.bias.data(), zp_out,
                                            q_out.scale, -128, 127, flags, &handle);
      if (s == xnn_status_success) {
        s = xnn_setup_convolution2d_nhwc_qc8(handle, static_cast<std::size_t>(l.batch), static_cast<std::size_t>(l.h),
                                             static_cast<std::size_t>(l.w), d.input.data(), out.output.data(), nullptr);
      }
    } else {
      s = xnn_create_convolution2d_nhwc_qs8(0, 0, 0, 0, k, k, stride, stride, 1, 1, groups, group_in, group_out,
                                            static_cast<std::size_t>(l.c_in), static_cast<std::size_t>(l.c_out), zp_in,
                                            q_in.scale, d.filter_scales[0], d.filter.data(), d.bias.data(), zp_out,
                                            q_out.scale, -128, 127, flags, &handle);
      if (s == xnn_status_success) {
        s = xnn_setup_convolution2d_nhwc_qs8(handle, static_cast<std::size_t>(l.batch), static_cast<std::size_t>(l.h),
                                             static_cast<std::size_t>(l.w), d.input.data(), out.output.data(), nullptr);
      }
    }
  }
  if (s != xnn_status_success) {
    if (handle != nullptr) xnn_delete_operator(handle);
    return state.SkipWithError("XNNPACK create/setup failed");
  }
  for (auto _ : state) {
    xnn_run_operator(handle, nullptr);
    benchmark::DoNotOptimize(out.output.data());
    benchmark::ClobberMemory();
  }
  xnn_delete_operator(handle);
  finish(state, l);
}
#endif

}  // namespace

#define QKERN_CONV_BENCH(name, shape)                                                                             \
  BENCHMARK_CAPTURE(bench_double, name##_qkern_packed_double, shape, path::packed);        \
  BENCHMARK_CAPTURE(bench_fp32, name##_qkern_packed_fp32, shape, path::packed);               \
  BENCHMARK_CAPTURE(bench_double, name##_qkern_unpacked_double, shape, path::unpacked);    \
  BENCHMARK_CAPTURE(bench_double, name##_qkern_scalar_double, shape, path::scalar)

#define QKERN_DW_BENCH(name, shape)                                                                               \
  BENCHMARK_CAPTURE(bench_double, name##_qkern_simd_double, shape, path::unpacked);        \
  BENCHMARK_CAPTURE(bench_fp32, name##_qkern_simd_fp32, shape, path::unpacked);               \
  BENCHMARK_CAPTURE(bench_double, name##_qkern_scalar_double, shape, path::scalar)

QKERN_CONV_BENCH(conv1x1_56x56x64to64, conv1x1);
QKERN_CONV_BENCH(conv3x3_56x56x32to32, conv3x3);
QKERN_CONV_BENCH(conv3x3s2_112x112x3to32, conv3x3_s2_first);
QKERN_DW_BENCH(dw3x3_56x56x128, dw_56);
QKERN_DW_BENCH(dw3x3s2_28x28x256, dw_28_s2);
QKERN_CONV_BENCH(fc1024to1000_b1, fc_b1);
QKERN_CONV_BENCH(fc1024to1000_b8, fc_b8);

#if defined(QKERN_BENCH_XNNPACK)
BENCHMARK_CAPTURE(bench_xnnpack, conv1x1_56x56x64to64_xnnpack_qs8, conv1x1, false);
BENCHMARK_CAPTURE(bench_xnnpack, conv1x1_56x56x64to64_xnnpack_qc8, conv1x1, true);
BENCHMARK_CAPTURE(bench_xnnpack, conv3x3_56x56x32to32_xnnpack_qs8, conv3x3, false);
BENCHMARK_CAPTURE(bench_xnnpack, conv3x3_56x56x32to32_xnnpack_qc8, conv3x3, true);
BENCHMARK_CAPTURE(bench_xnnpack, conv3x3s2_112x112x3to32_xnnpack_qs8, conv3x3_s2_first, false);
BENCHMARK_CAPTURE(bench_xnnpack, conv3x3s2_112x112x3to32_xnnpack_qc8, conv3x3_s2_first, true);
BENCHMARK_CAPTURE(bench_xnnpack, dw3x3_56x56x128_xnnpack_qs8, dw_56, false);
BENCHMARK_CAPTURE(bench_xnnpack, dw3x3_56x56x128_xnnpack_qc8, dw_56, true);
BENCHMARK_CAPTURE(bench_xnnpack, dw3x3s2_28x28x256_xnnpack_qs8, dw_28_s2, false);
BENCHMARK_CAPTURE(bench_xnnpack, dw3x3s2_28x28x256_xnnpack_qc8, dw_28_s2, true);
BENCHMARK_CAPTURE(bench_xnnpack, fc1024to1000_b1_xnnpack_qs8, fc_b1, false);
BENCHMARK_CAPTURE(bench_xnnpack, fc1024to1000_b8_xnnpack_qs8, fc_b8, false);
#endif
