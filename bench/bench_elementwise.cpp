// Elementwise kernels at MobileNet-like shapes: qkern's public eval (SIMD where available),
// qkern's scalar reference, and XNNPACK's qs8 add and multiply, in one run. The unary ops
// (quantize, dequantize, requantize) run on the 1xHxWxC tensor alone.
//
// Throughput counts bytes as in1 + in2 + out (a broadcast operand counts its own, smaller,
// size), in the benchmark's bytes_per_second counter.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "qkern/kernels/elementwise.hpp"

#if defined(QKERN_BENCH_XNNPACK)
#include <xnnpack.h>
#endif

namespace {

enum class layout { same_shape, se_broadcast, scalar_broadcast };

struct workload {
  qkern::shape big;    // 1xHxWxC
  qkern::shape small;  // the other operand
  std::int64_t big_count;
  std::int64_t small_count;
};

workload make_workload(std::int32_t h, std::int32_t w, std::int32_t c, layout l) {
  workload wl;
  wl.big = qkern::make_shape({1, h, w, c}).value();
  switch (l) {
    case layout::same_shape: wl.small = wl.big; break;
    case layout::se_broadcast: wl.small = qkern::make_shape({1, 1, 1, c}).value(); break;
    case layout::scalar_broadcast: wl.small = qkern::make_shape({1}).value(); break;
  }
  wl.big_count = wl.big.element_count();
  wl.small_count = wl.small.element_count();
  return wl;
}

std::vector<std::int8_t> random_int8(std::int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::int8_t> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<std::int8_t>(rng());
  return v;
}

// Quantization in the range TFLite's converter produces for activations.
constexpr qkern::quantization_params q1{0.0235f, -7};
constexpr qkern::quantization_params q2{0.0172f, 12};
constexpr qkern::quantization_params q_add_out{0.0391f, -3};
constexpr qkern::quantization_params q_mul_out{0.0627f, 5};

enum class path { dispatched, scalar };

template <class Out = std::int8_t, class Params, class Eval>
void run_binary(benchmark::State& state, const workload& wl, const Params& p, Eval eval) {
  const auto a = random_int8(wl.small_count, 1);
  const auto b = random_int8(wl.big_count, 2);
  std::unique_ptr<Out[]> out(new Out[static_cast<std::size_t>(wl.big_count)]());  // bool: no std::vector<bool>
  for (auto _ : state) {
    eval(p, a.data(), b.data(), out.get());
    benchmark::DoNotOptimize(out.get());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * (wl.small_count + 2 * wl.big_count));
}

template <class Policy>
void bench_add(benchmark::State& state, layout l, path which) {
  const auto wl = make_workload(static_cast<std::int32_t>(state.range(0)), static_cast<std::int32_t>(state.range(0)),
                                static_cast<std::int32_t>(state.range(1)), l);
  const auto p = qkern::prepare_add<std::int8_t, Policy>(q1, wl.small, q2, wl.big, q_add_out).value();
  if (which == path::scalar) {
    run_binary(state, wl, p, [](const auto& pp, auto* x, auto* y, auto* o) { qkern::scalar::add(pp, x, y, o); });
  } else {
    run_binary(state, wl, p, [](const auto& pp, auto* x, auto* y, auto* o) { qkern::add(pp, x, y, o); });
  }
}

template <class Policy>
void bench_mul(benchmark::State& state, layout l, path which) {
  const auto wl = make_workload(static_cast<std::int32_t>(state.range(0)), static_cast<std::int32_t>(state.range(0)),
                                static_cast<std::int32_t>(state.range(1)), l);
  const auto p = qkern::prepare_mul<std::int8_t, Policy>(q1, wl.small, q2, wl.big, q_mul_out).value();
  if (which == path::scalar) {
    run_binary(state, wl, p, [](const auto& pp, auto* x, auto* y, auto* o) { qkern::scalar::mul(pp, x, y, o); });
  } else {
    run_binary(state, wl, p, [](const auto& pp, auto* x, auto* y, auto* o) { qkern::mul(pp, x, y, o); });
  }
}

void bench_sub(benchmark::State& state, layout l, path which) {
  const auto wl = make_workload(static_cast<std::int32_t>(state.range(0)), static_cast<std::int32_t>(state.range(0)),
                                static_cast<std::int32_t>(state.range(1)), l);
  const auto p = qkern::prepare_sub<std::int8_t>(q1, wl.small, q2, wl.big, q_add_out).value();
  if (which == path::scalar) {
    run_binary(state, wl, p, [](const auto& pp, auto* x, auto* y, auto* o) { qkern::scalar::sub(pp, x, y, o); });
  } else {
    run_binary(state, wl, p, [](const auto& pp, auto* x, auto* y, auto* o) { qkern::sub(pp, x, y, o); });
  }
}

void bench_maximum(benchmark::State& state, layout l, path which) {
  const auto wl = make_workload(static_cast<std::int32_t>(state.range(0)), static_cast<std::int32_t>(state.range(0)),
                                static_cast<std::int32_t>(state.range(1)), l);
  const auto p = qkern::prepare_maximum<std::int8_t>(q1, wl.small, q1, wl.big, q1).value();
  if (which == path::scalar) {
    run_binary(state, wl, p, [](const auto& pp, auto* x, auto* y, auto* o) { qkern::scalar::maximum(pp, x, y, o); });
  } else {
    run_binary(state, wl, p, [](const auto& pp, auto* x, auto* y, auto* o) { qkern::maximum(pp, x, y, o); });
  }
}

void bench_squared_difference(benchmark::State& state, layout l, path which) {
  const auto wl = make_workload(static_cast<std::int32_t>(state.range(0)), static_cast<std::int32_t>(state.range(0)),
                                static_cast<std::int32_t>(state.range(1)), l);
  const auto p = qkern::prepare_squared_difference<std::int8_t>(q1, wl.small, q2, wl.big, {0.02f, -128}).value();
  if (which == path::scalar) {
    run_binary(state, wl, p,
               [](const auto& pp, auto* x, auto* y, auto* o) { qkern::scalar::squared_difference(pp, x, y, o); });
  } else {
    run_binary(state, wl, p, [](const auto& pp, auto* x, auto* y, auto* o) { qkern::squared_difference(pp, x, y, o); });
  }
}

void bench_minimum(benchmark::State& state, layout l, path which) {
  const auto wl = make_workload(static_cast<std::int32_t>(state.range(0)), static_cast<std::int32_t>(state.range(0)),
                                static_cast<std::int32_t>(state.range(1)), l);
  const auto p = qkern::prepare_minimum<std::int8_t>(q1, wl.small, q1, wl.big, q1).value();
  if (which == path::scalar) {
    run_binary(state, wl, p, [](const auto& pp, auto* x, auto* y, auto* o) { qkern::scalar::minimum(pp, x, y, o); });
  } else {
    run_binary(state, wl, p, [](const auto& pp, auto* x, auto* y, auto* o) { qkern::minimum(pp, x, y, o); });
  }
}

// The comparisons (bool output, one byte each). Different input quantizations, so same-shape
// and SE compare the rescaled values; a scalar operand turns into raw thresholds.
#define QKERN_BENCH_COMPARISON(op)                                                                               \
  void bench_##op(benchmark::State& state, layout l, path which) {                                               \
    const auto wl =                                                                                              \
        make_workload(static_cast<std::int32_t>(state.range(0)), static_cast<std::int32_t>(state.range(0)),      \
                      static_cast<std::int32_t>(state.range(1)), l);                                             \
    const auto p = qkern::prepare_comparison<std::int8_t>(q1, wl.small, q2, wl.big).value();                     \
    if (which == path::scalar) {                                                                                 \
      run_binary<bool>(state, wl, p,                                                                             \
                       [](const auto& pp, auto* x, auto* y, bool* o) { qkern::scalar::op(pp, x, y, o); });       \
    } else {                                                                                                     \
      run_binary<bool>(state, wl, p, [](const auto& pp, auto* x, auto* y, bool* o) { qkern::op(pp, x, y, o); }); \
    }                                                                                                            \
  }
QKERN_BENCH_COMPARISON(equal)
QKERN_BENCH_COMPARISON(not_equal)
QKERN_BENCH_COMPARISON(less)
QKERN_BENCH_COMPARISON(less_equal)
QKERN_BENCH_COMPARISON(greater)
QKERN_BENCH_COMPARISON(greater_equal)
#undef QKERN_BENCH_COMPARISON

// The unary ops on a 1xHxWxC tensor; throughput counts input + output bytes.
template <class In, class Out, class Params, class Eval>
void run_unary(benchmark::State& state, const std::vector<In>& in, const Params& p, Eval eval) {
  std::vector<Out> out(in.size());
  for (auto _ : state) {
    eval(p, in.data(), out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(in.size() * (sizeof(In) + sizeof(Out))));
}

qkern::shape unary_shape(const benchmark::State& state) {
  return qkern::make_shape({1, state.range(0), state.range(0), state.range(1)}).value();
}

void bench_quantize(benchmark::State& state, path which) {
  const auto s = unary_shape(state);
  const auto p = qkern::prepare_quantize<std::int8_t>(q1, s).value();
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-3.2f, 3.2f);  // past the int8 range: saturation too
  std::vector<float> in(static_cast<std::size_t>(s.element_count()));
  for (auto& x : in) x = dist(rng);
  if (which == path::scalar) {
    run_unary<float, std::int8_t>(state, in, p,
                                  [](const auto& pp, auto* x, auto* y) { qkern::scalar::quantize(pp, x, y); });
  } else {
    run_unary<float, std::int8_t>(state, in, p, [](const auto& pp, auto* x, auto* y) { qkern::quantize(pp, x, y); });
  }
}

void bench_dequantize(benchmark::State& state, path which) {
  const auto s = unary_shape(state);
  const auto p = qkern::prepare_dequantize<std::int8_t>(q1, s).value();
  const auto in = random_int8(s.element_count(), 4);
  if (which == path::scalar) {
    run_unary<std::int8_t, float>(state, in, p,
                                  [](const auto& pp, auto* x, auto* y) { qkern::scalar::dequantize(pp, x, y); });
  } else {
    run_unary<std::int8_t, float>(state, in, p, [](const auto& pp, auto* x, auto* y) { qkern::dequantize(pp, x, y); });
  }
}

template <class Out>
void bench_requantize(benchmark::State& state, path which) {
  const auto s = unary_shape(state);
  const qkern::quantization_params out_q =
      std::is_same<Out, std::int16_t>::value ? qkern::quantization_params{0.0002f, 0} : q2;
  const auto p = qkern::prepare_requantize<std::int8_t, Out>(q1, out_q, s).value();
  const auto in = random_int8(s.element_count(), 5);
  if (which == path::scalar) {
    run_unary<std::int8_t, Out>(state, in, p,
                                [](const auto& pp, auto* x, auto* y) { qkern::scalar::requantize(pp, x, y); });
  } else {
    run_unary<std::int8_t, Out>(state, in, p, [](const auto& pp, auto* x, auto* y) { qkern::requantize(pp, x, y); });
  }
}

// BENCHMARK_CAPTURE needs plain function names.
void bench_add_double(benchmark::State& s, layout l, path p) { bench_add<qkern::double_rounding>(s, l, p); }
void bench_add_single(benchmark::State& s, layout l, path p) { bench_add<qkern::single_rounding>(s, l, p); }
void bench_mul_double(benchmark::State& s, layout l, path p) { bench_mul<qkern::double_rounding>(s, l, p); }
void bench_mul_single(benchmark::State& s, layout l, path p) { bench_mul<qkern::single_rounding>(s, l, p); }
void bench_requantize_int8(benchmark::State& s, path p) { bench_requantize<std::int8_t>(s, p); }
void bench_requantize_int16(benchmark::State& s, path p) { bench_requantize<std::int16_t>(s, p); }

#if defined(QKERN_BENCH_XNNPACK)
enum class xnn_op { add, multiply };

void bench_xnnpack(benchmark::State& state, xnn_op op, layout l) {
  const auto wl = make_workload(static_cast<std::int32_t>(state.range(0)), static_cast<std::int32_t>(state.range(0)),
                                static_cast<std::int32_t>(state.range(1)), l);
  if (xnn_initialize(nullptr) != xnn_status_success) return state.SkipWithError("xnn_initialize failed");
  const auto a = random_int8(wl.small_count, 1);
  const auto b = random_int8(wl.big_count, 2);
  std::vector<std::int8_t> out(static_cast<std::size_t>(wl.big_count));
  std::vector<std::size_t> shape_a(wl.small.dims, wl.small.dims + wl.small.rank);
  std::vector<std::size_t> shape_b(wl.big.dims, wl.big.dims + wl.big.rank);
  xnn_operator_t handle = nullptr;
  const auto& qo = op == xnn_op::add ? q_add_out : q_mul_out;
  const auto zp = [](const qkern::quantization_params& q) { return static_cast<std::int8_t>(q.zero_point); };
  xnn_status s =
      op == xnn_op::add
          ? xnn_create_add_nd_qs8(zp(q1), q1.scale, zp(q2), q2.scale, zp(qo), qo.scale, -128, 127, 0, &handle)
          : xnn_create_multiply_nd_qs8(zp(q1), q1.scale, zp(q2), q2.scale, zp(qo), qo.scale, -128, 127, 0, &handle);
  if (s != xnn_status_success) return state.SkipWithError("xnn create failed");
  s = op == xnn_op::add ? xnn_setup_add_nd_qs8(handle, shape_a.size(), shape_a.data(), shape_b.size(), shape_b.data(),
                                                a.data(), b.data(), out.data(), nullptr)
                        : xnn_setup_multiply_nd_qs8(handle, shape_a.size(), shape_a.data(), shape_b.size(),
                                                    shape_b.data(), a.data(), b.data(), out.data(), nullptr);
  if (s != xnn_status_success) return state.SkipWithError("xnn setup failed");
  for (auto _ : state) {
    xnn_run_operator(handle, nullptr);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  xnn_delete_operator(handle);
  state.SetBytesProcessed(state.iterations() * (wl.small_count + 2 * wl.big_count));
}
#endif

// {H (= W), C}: 1x56x56x64 and 1x14x14x256.
void shapes(benchmark::internal::Benchmark* b) { b->Args({56, 64})->Args({14, 256}); }

#define QKERN_BENCH_LAYOUTS(name, fn)                                                                   \
  BENCHMARK_CAPTURE(fn, name##_same_qkern, layout::same_shape, path::dispatched)->Apply(shapes);             \
  BENCHMARK_CAPTURE(fn, name##_same_scalar, layout::same_shape, path::scalar)->Apply(shapes);                \
  BENCHMARK_CAPTURE(fn, name##_se_qkern, layout::se_broadcast, path::dispatched)->Apply(shapes);             \
  BENCHMARK_CAPTURE(fn, name##_se_scalar, layout::se_broadcast, path::scalar)->Apply(shapes);                \
  BENCHMARK_CAPTURE(fn, name##_scalar_qkern, layout::scalar_broadcast, path::dispatched)->Apply(shapes);     \
  BENCHMARK_CAPTURE(fn, name##_scalar_scalar, layout::scalar_broadcast, path::scalar)->Apply(shapes)

QKERN_BENCH_LAYOUTS(add, bench_add_double);
QKERN_BENCH_LAYOUTS(add_single, bench_add_single);
QKERN_BENCH_LAYOUTS(mul, bench_mul_double);
QKERN_BENCH_LAYOUTS(mul_single, bench_mul_single);
QKERN_BENCH_LAYOUTS(sub, bench_sub);
QKERN_BENCH_LAYOUTS(maximum, bench_maximum);
QKERN_BENCH_LAYOUTS(squared_difference, bench_squared_difference);
QKERN_BENCH_LAYOUTS(minimum, bench_minimum);
QKERN_BENCH_LAYOUTS(equal, bench_equal);
QKERN_BENCH_LAYOUTS(not_equal, bench_not_equal);
QKERN_BENCH_LAYOUTS(less, bench_less);
QKERN_BENCH_LAYOUTS(less_equal, bench_less_equal);
QKERN_BENCH_LAYOUTS(greater, bench_greater);
QKERN_BENCH_LAYOUTS(greater_equal, bench_greater_equal);

#define QKERN_BENCH_UNARY(name, fn)                                                   \
  BENCHMARK_CAPTURE(fn, name##_qkern, path::dispatched)->Apply(shapes);               \
  BENCHMARK_CAPTURE(fn, name##_scalar, path::scalar)->Apply(shapes)

QKERN_BENCH_UNARY(quantize, bench_quantize);
QKERN_BENCH_UNARY(dequantize, bench_dequantize);
QKERN_BENCH_UNARY(requantize_int8_int8, bench_requantize_int8);
QKERN_BENCH_UNARY(requantize_int8_int16, bench_requantize_int16);

#if defined(QKERN_BENCH_XNNPACK)
BENCHMARK_CAPTURE(bench_xnnpack, add_same_xnnpack, xnn_op::add, layout::same_shape)->Apply(shapes);
BENCHMARK_CAPTURE(bench_xnnpack, add_se_xnnpack, xnn_op::add, layout::se_broadcast)->Apply(shapes);
BENCHMARK_CAPTURE(bench_xnnpack, add_scalar_xnnpack, xnn_op::add, layout::scalar_broadcast)->Apply(shapes);
BENCHMARK_CAPTURE(bench_xnnpack, mul_same_xnnpack, xnn_op::multiply, layout::same_shape)->Apply(shapes);
BENCHMARK_CAPTURE(bench_xnnpack, mul_se_xnnpack, xnn_op::multiply, layout::se_broadcast)->Apply(shapes);
BENCHMARK_CAPTURE(bench_xnnpack, mul_scalar_xnnpack, xnn_op::multiply, layout::scalar_broadcast)->Apply(shapes);
#endif

}  // namespace
