// Pooling, softmax and the table-driven / layout ops at MobileNet-like shapes: qkern's public
// eval (SIMD where available), qkern's scalar reference, and XNNPACK where it has the op, in
// one run.
//
//   max pool 3x3 stride 2 (SAME) on 1x56x56x64       XNNPACK max_pooling2d_nhwc_s8
//   avg pool 2x2 stride 2 (VALID) on 1x56x56x64      XNNPACK average_pooling2d_nhwc_qu8 (uint8)
//   global avg pool (mean over H, W) on 1x56x56x64   XNNPACK global_average_pooling_nwc_qs8
//   softmax over 1x1000                              XNNPACK softmax_nc_qu8 (uint8)
//   logistic (int8, table) on 1x56x56x64, transpose NHWC -> NCHW and depth_to_space(2) on
//   1x56x56x64: qkern only
//
//   read_ceiling: only reads the same 1x56x56x64 bytes (64-byte aligned, OR-ed into eight
//   registers): what one core streams from where the tensor sits (L2 here), a bound for any
//   kernel that reads every input byte, such as the global average pool
//
// Throughput counts bytes as input + output, in the benchmark's bytes_per_second counter.
// XNNPACK's uint8 operators get the same bytes shifted by 128; the other parameters match.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "qkern/kernels/activation.hpp"
#include "qkern/kernels/layout.hpp"
#include "qkern/kernels/pooling.hpp"

#if defined(QKERN_BENCH_XNNPACK)
#include <xnnpack.h>
#endif
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace {

std::vector<std::int8_t> random_int8(std::int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::int8_t> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<std::int8_t>(rng());
  return v;
}


constexpr std::int32_t side = 56;
constexpr std::int32_t channels = 64;
constexpr qkern::quantization_params q_act{0.0235f, -7};
constexpr qkern::quantization_params q_mean_out{0.0172f, 3};
constexpr qkern::quantization_params q_logits{0.0625f, 0};
constexpr qkern::quantization_params q_softmax_out{1.0f / 256.0f, -128};

enum class path { dispatched, scalar };

// Runs eval(input, output) and counts input + output bytes.
template <class Eval>
void run(benchmark::State& state, std::int64_t in_count, std::int64_t out_count, Eval eval) {
  const auto in = random_int8(in_count, 1);
  std::vector<std::int8_t> out(static_cast<std::size_t>(out_count));
  for (auto _ : state) {
    eval(in.data(), out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * (in_count + out_count));
}

const qkern::shape& feature_map() {
  static const qkern::shape s = qkern::make_shape({1, side, side, channels}).value();
  return s;
}

void bench_max_pool(benchmark::State& state, path which) {
  const auto p = qkern::prepare_max_pool2d<std::int8_t>(q_act, feature_map(), q_act,
                                                       {3, 3, 2, 2, qkern::pool_padding::same})
                     .value();
  run(state, feature_map().element_count(), p.output.element_count(), [&](const std::int8_t* in, std::int8_t* out) {
    if (which == path::scalar) {
      qkern::scalar::max_pool2d(p, in, out);
    } else {
      qkern::max_pool2d(p, in, out);
    }
  });
}

void bench_average_pool(benchmark::State& state, path which) {
  const auto p = qkern::prepare_average_pool2d<std::int8_t>(q_act, feature_map(), q_act,
                                                           {2, 2, 2, 2, qkern::pool_padding::valid})
                     .value();
  run(state, feature_map().element_count(), p.output.element_count(), [&](const std::int8_t* in, std::int8_t* out) {
    if (which == path::scalar) {
      qkern::scalar::average_pool2d(p, in, out);
    } else {
      qkern::average_pool2d(p, in, out);
    }
  });
}

void bench_global_average_pool(benchmark::State& state, path which) {
  const std::int32_t axes[2] = {1, 2};
  const auto p = qkern::prepare_mean<std::int8_t>(q_act, feature_map(), axes, 2, q_mean_out, true).value();
  run(state, feature_map().element_count(), p.output_count, [&](const std::int8_t* in, std::int8_t* out) {
    if (which == path::scalar) {
      qkern::scalar::mean(p, in, out);
    } else {
      qkern::mean(p, in, out);
    }
  });
}

void bench_read_ceiling(benchmark::State& state) {
  const std::int64_t count = feature_map().element_count();
  std::vector<std::int8_t> storage(static_cast<std::size_t>(count) + 64);
  const auto address = reinterpret_cast<std::uintptr_t>(storage.data());
  std::int8_t* const data = storage.data() + (64 - address % 64) % 64;
  std::mt19937 rng(1);
  for (std::int64_t i = 0; i < count; ++i) data[i] = static_cast<std::int8_t>(rng());
  for (auto _ : state) {
#if defined(__AVX512F__)
    __m512i acc[8];
    for (auto& a : acc) a = _mm512_setzero_si512();
    for (std::int64_t i = 0; i + 512 <= count; i += 512) {
      for (int j = 0; j < 8; ++j) acc[j] = _mm512_or_si512(acc[j], _mm512_load_si512(data + i + 64 * j));
    }
    for (int j = 1; j < 8; ++j) acc[0] = _mm512_or_si512(acc[0], acc[j]);
    benchmark::DoNotOptimize(acc[0]);
#else
    std::uint64_t acc = 0;
    for (std::int64_t i = 0; i + 8 <= count; i += 8) {
      std::uint64_t word;
      std::memcpy(&word, data + i, 8);
      acc |= word;
    }
    benchmark::DoNotOptimize(acc);
#endif
  }
  state.SetBytesProcessed(state.iterations() * count);
}

void bench_softmax(benchmark::State& state, path which) {
  const auto shape = qkern::make_shape({1, 1000}).value();
  const auto p = qkern::prepare_softmax<std::int8_t, std::int8_t>(q_logits, q_softmax_out, 1.0f, shape).value();
  run(state, 1000, 1000, [&](const std::int8_t* in, std::int8_t* out) {
    if (which == path::scalar) {
      qkern::scalar::softmax(p, in, out);
    } else {
      qkern::softmax(p, in, out);
    }
  });
}

void bench_logistic(benchmark::State& state, path which) {
  const auto p = qkern::prepare_logistic<std::int8_t>({0.05f, 3}, {1.0f / 256.0f, -128}, feature_map()).value();
  run(state, p.count, p.count, [&](const std::int8_t* in, std::int8_t* out) {
    if (which == path::scalar) {
      qkern::scalar::logistic(p, in, out);
    } else {
      qkern::logistic(p, in, out);
    }
  });
}

void bench_transpose(benchmark::State& state, path which) {
  const std::int32_t perm[4] = {0, 3, 1, 2};
  const auto p = qkern::prepare_transpose<std::int8_t>(feature_map(), perm, 4).value();
  const std::int64_t n = feature_map().element_count();
  run(state, n, n, [&](const std::int8_t* in, std::int8_t* out) {
    if (which == path::scalar) {
      qkern::scalar::transpose(p, in, out);
    } else {
      qkern::transpose(p, in, out);
    }
  });
}

void bench_depth_to_space(benchmark::State& state, path which) {
  const auto p = qkern::prepare_depth_to_space<std::int8_t>(feature_map(), 2).value();
  const std::int64_t n = feature_map().element_count();
  run(state, n, n, [&](const std::int8_t* in, std::int8_t* out) {
    if (which == path::scalar) {
      qkern::scalar::depth_to_space(p, in, out);
    } else {
      qkern::depth_to_space(p, in, out);
    }
  });
}

#if defined(QKERN_BENCH_XNNPACK)

// The same bytes for XNNPACK's uint8 operators: q + 128 (with the zero point moved alike).
std::vector<std::uint8_t> as_uint8(const std::vector<std::int8_t>& v) {
  std::vector<std::uint8_t> u(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) u[i] = static_cast<std::uint8_t>(v[i] + 128);
  return u;
}

// Creates with `create`, sets up with `setup`, runs the operator and counts input + output bytes.
template <class In, class Out, class Create, class Setup>
void run_xnnpack(benchmark::State& state, std::int64_t in_count, std::int64_t out_count, const std::vector<In>& in,
                 Create create, Setup setup) {
  if (xnn_initialize(nullptr) != xnn_status_success) return state.SkipWithError("xnn_initialize failed");
  std::vector<Out> out(static_cast<std::size_t>(out_count));
  xnn_operator_t op = nullptr;
  if (create(&op) != xnn_status_success) return state.SkipWithError("xnn create failed");
  if (setup(op, in.data(), out.data()) != xnn_status_success) {
    xnn_delete_operator(op);
    return state.SkipWithError("xnn setup failed");
  }
  for (auto _ : state) {
    xnn_run_operator(op, nullptr);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  xnn_delete_operator(op);
  state.SetBytesProcessed(state.iterations() * (in_count + out_count));
}

void bench_xnnpack_max_pool(benchmark::State& state) {
  const std::int64_t in_count = feature_map().element_count();
  const std::int64_t out_count = 28 * 28 * channels;
  // TFLite SAME for 56 / 3 / 2: one padding row and column, after.
  run_xnnpack<std::int8_t, std::int8_t>(
      state, in_count, out_count, random_int8(in_count, 1),
      [](xnn_operator_t* op) {
        return xnn_create_max_pooling2d_nhwc_s8(0, 1, 1, 0, 3, 3, 2, 2, 1, 1, channels, channels, channels, -128, 127, 0,
                                                op);
      },
      [](xnn_operator_t op, const std::int8_t* in, std::int8_t* out) {
        return xnn_setup_max_pooling2d_nhwc_s8(op, 1, side, side, in, out, nullptr);
      });
}

void bench_xnnpack_average_pool(benchmark::State& state) {
  const std::int64_t in_count = feature_map().element_count();
  const std::int64_t out_count = 28 * 28 * channels;
  const auto zp = static_cast<std::uint8_t>(q_act.zero_point + 128);
  run_xnnpack<std::uint8_t, std::uint8_t>(
      state, in_count, out_count, as_uint8(random_int8(in_count, 1)),
      [zp](xnn_operator_t* op) {
        return xnn_create_average_pooling2d_nhwc_qu8(0, 0, 0, 0, 2, 2, 2, 2, channels, channels, channels, zp,
                                                     q_act.scale, zp, q_act.scale, 0, 255, 0, op);
      },
      [](xnn_operator_t op, const std::uint8_t* in, std::uint8_t* out) {
        return xnn_setup_average_pooling2d_nhwc_qu8(op, 1, side, side, in, out, nullptr);
      });
}

void bench_xnnpack_global_average_pool(benchmark::State& state) {
  const std::int64_t in_count = feature_map().element_count();
  run_xnnpack<std::int8_t, std::int8_t>(
      state, in_count, channels, random_int8(in_count, 1),
      [](xnn_operator_t* op) {
        return xnn_create_global_average_pooling_nwc_qs8(
            channels, channels, channels, static_cast<std::int8_t>(q_act.zero_point), q_act.scale,
            static_cast<std::int8_t>(q_mean_out.zero_point), q_mean_out.scale, -128, 127, 0, op);
      },
      [](xnn_operator_t op, const std::int8_t* in, std::int8_t* out) {
        return xnn_setup_global_average_pooling_nwc_qs8(op, 1, side * side, in, out, nullptr);
      });
}

void bench_xnnpack_softmax(benchmark::State& state) {
  run_xnnpack<std::uint8_t, std::uint8_t>(
      state, 1000, 1000, as_uint8(random_int8(1000, 1)),
      [](xnn_operator_t* op) { return xnn_create_softmax_nc_qu8(1000, 1000, 1000, q_logits.scale, 0, 1.0f / 256.0f, 0, op); },
      [](xnn_operator_t op, const std::uint8_t* in, std::uint8_t* out) {
        return xnn_setup_softmax_nc_qu8(op, 1, in, out, nullptr);
      });
}

#endif  // QKERN_BENCH_XNNPACK

// Each workload's variants are registered next to each other, so that they run close in time
// (this machine is shared: only ratios taken within one run, ideally between neighbours, count).
#define QKERN_BENCH_BOTH(name, fn)                                   \
  BENCHMARK_CAPTURE(fn, name##_qkern, path::dispatched);             \
  BENCHMARK_CAPTURE(fn, name##_scalar, path::scalar)

#if defined(QKERN_BENCH_XNNPACK)
#define QKERN_BENCH_XNN(name, fn) BENCHMARK(fn)->Name(name)
#else
#define QKERN_BENCH_XNN(name, fn) static_assert(true, "")
#endif

QKERN_BENCH_BOTH(max_pool_3x3s2, bench_max_pool);
QKERN_BENCH_XNN("bench_max_pool/max_pool_3x3s2_xnnpack", bench_xnnpack_max_pool);
QKERN_BENCH_BOTH(avg_pool_2x2s2, bench_average_pool);
QKERN_BENCH_XNN("bench_average_pool/avg_pool_2x2s2_xnnpack_qu8", bench_xnnpack_average_pool);
QKERN_BENCH_BOTH(global_avg_pool, bench_global_average_pool);
BENCHMARK(bench_read_ceiling)->Name("bench_global_average_pool/read_ceiling");
QKERN_BENCH_XNN("bench_global_average_pool/global_avg_pool_xnnpack", bench_xnnpack_global_average_pool);
QKERN_BENCH_BOTH(softmax_1000, bench_softmax);
QKERN_BENCH_XNN("bench_softmax/softmax_1000_xnnpack_qu8", bench_xnnpack_softmax);
QKERN_BENCH_BOTH(logistic_table, bench_logistic);
QKERN_BENCH_BOTH(transpose_nhwc_nchw, bench_transpose);
QKERN_BENCH_BOTH(depth_to_space_2, bench_depth_to_space);

}  // namespace
