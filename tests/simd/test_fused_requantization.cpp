// simd::apply_fused_requantization equals the scalar core's apply_fused_requantization lane by
// lane, for constants from make_fused_requantization<Policy> (every shift -31..30, folded and
// separate zero points, narrow and widest input bounds) and inputs within the bound.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cases.hpp"
#include "qkern/core/fused_requantization.hpp"
#include "qkern/simd/fused_requantization.hpp"
#include "runner.hpp"

namespace {

using namespace qkern_simd_test;

check_result check_fused(const lanes<std::int32_t>& x, const qkern::fused_requantization& f) {
  lanes<std::int32_t> expected{};
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = qkern::apply_fused_requantization(x[i], f);
  const auto describe = [&](std::size_t i) {
    return "x=" + show(x[i]) + " multiplier=" + show(f.multiplier) + " pre_shift=" + show(f.pre_shift) +
           " constant=" + std::to_string(f.constant) + " final_shift=" + show(f.final_shift) +
           " sign_correction=" + show(int{f.sign_correction}) + " zero_point_after=" + show(f.zero_point_after);
  };
  const auto vx = load(x);
  const char* name = "apply_fused_requantization";
  return first_failure(
      compare(name, dispatched_path(), store(qkern::simd::apply_fused_requantization(vx, f)), expected, describe),
      compare(name, "generic", store(qkern::simd::detail::apply_fused_requantization(vx, f, xsimd::generic{})),
              expected, describe));
}

// The widest input bound the fused form accepts for a shift: 2^(1 + left) * bound fits int32.
std::int32_t widest_bound(int shift) {
  const int left = shift > 0 ? shift : 0;
  return int32_max >> (1 + left);
}

template <class Source>
std::int32_t draw_zero_point(Source& src) {
  switch (src.in_range(0, 3)) {
    case 0: return static_cast<std::int32_t>(src.in_range(-128, 127));
    case 1: return static_cast<std::int32_t>(src.in_range(-32768, 32767));
    case 2: return 0;
    default:  // large ones are added after the shift instead of folded; the sum stays in int32
      return static_cast<std::int32_t>(src.in_range(-(std::int64_t{1} << 29), std::int64_t{1} << 29));
  }
}

template <class Policy, class Source>
check_result fused_case(Source& src, int shift) {
  const qkern::quantized_multiplier m{static_cast<std::int32_t>(src.q31_multiplier()), shift};
  const std::int32_t widest = widest_bound(shift);
  const std::int32_t bound =
      src.in_range(0, 2) == 0 ? widest : static_cast<std::int32_t>(src.in_range(0, widest));
  const auto f = qkern::make_fused_requantization<Policy>(m, draw_zero_point(src), bound);
  if (!f.ok()) return {"make_fused_requantization failed for shift " + show(shift) + ", bound " + show(bound)};
  const auto draw_x = [&](Source& s) -> std::int32_t {
    switch (s.in_range(0, 4)) {
      case 0: {
        const std::int32_t edges[] = {-bound, -bound + 1, -1, 0, 1, bound - 1, bound};
        return edges[s.in_range(0, 6)];
      }
      case 1: {  // a tie of the policy's rounding, when one lies within the bound
        const std::int32_t x = draw_accumulator<Policy>(s, m);
        return x >= -bound && x <= bound ? x : 0;
      }
      default: return static_cast<std::int32_t>(s.in_range(-std::int64_t{bound}, bound));
    }
  };
  return check_fused(fill<std::int32_t>(src, draw_x), *f);
}

template <class Policy>
check_result fused_edges(int shift) {
  const std::int32_t zero_points[] = {0, -128, 127, -32768, 32767, 1 << 20, -(1 << 29), 1 << 29};
  const std::int32_t widest = widest_bound(shift);
  for (const std::int32_t multiplier : {1 << 30, (1 << 30) + 1, 1518500250, int32_max}) {
    const qkern::quantized_multiplier m{multiplier, shift};
    for (const std::int32_t bound : {widest, widest < 65025 ? widest : 65025}) {
      std::vector<std::int32_t> xs;
      for (const std::int32_t v : int32_edges()) {
        if (v >= -bound && v <= bound) xs.push_back(v);
      }
      for (const std::int32_t v : {-bound, -bound + 1, bound - 1, bound}) xs.push_back(v);
      for (const std::int32_t zp : zero_points) {
        const auto f = qkern::make_fused_requantization<Policy>(m, zp, bound);
        if (!f.ok()) return {"make_fused_requantization failed for shift " + show(shift)};
        for (std::size_t start = 0; start < xs.size(); start += lane_count<std::int32_t>) {
          lanes<std::int32_t> x{};
          for (std::size_t i = 0; i < x.size(); ++i) x[i] = xs[(start + i) % xs.size()];
          const check_result result = check_fused(x, *f);
          if (!result.ok()) return result;
        }
      }
    }
  }
  return {};
}

}  // namespace

TEST_CASE_TEMPLATE("apply_fused_requantization equals the scalar core, every shift -31..30", Policy,
                   qkern::double_rounding, qkern::single_rounding) {
  for (int shift = -31; shift <= 30; ++shift) {
    check_cases("shift " + std::to_string(shift),
                [shift](auto& src) { return fused_case<Policy>(src, shift); });
  }
}

TEST_CASE_TEMPLATE("edges: apply_fused_requantization, every shift -31..30 and bound edge", Policy,
                   qkern::double_rounding, qkern::single_rounding) {
  for (int shift = -31; shift <= 30; ++shift) {
    const check_result result = fused_edges<Policy>(shift);
    CHECK_MESSAGE(result.ok(), result.failure);
  }
}
