// Scalar cost of the requantization step under each rounding policy: the per-output price
// every kernel pays after its accumulation.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "qkern/core/core.hpp"

namespace {

std::vector<std::int32_t> accumulators(std::size_t n) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<std::int32_t> dist(-(1 << 20), 1 << 20);
  std::vector<std::int32_t> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

template <class Policy>
void requantize_int32(benchmark::State& state) {
  const auto acc = accumulators(4096);
  std::vector<std::int8_t> out(acc.size());
  const auto m = qkern::quantize_multiplier<Policy>(0.0001864).value();
  for (auto _ : state) {
    for (std::size_t i = 0; i < acc.size(); ++i) {
      out[i] = qkern::saturating_cast<std::int8_t>(Policy::multiply(acc[i], m) + 49);
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(acc.size()));
}

BENCHMARK_TEMPLATE(requantize_int32, qkern::double_rounding);
BENCHMARK_TEMPLATE(requantize_int32, qkern::single_rounding);

}  // namespace
