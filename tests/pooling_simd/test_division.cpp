// The proofs behind the average pools' vector division (simd/rounded_division.hpp) and the
// mean's requantization, run with the vector code itself:
//   - the int16-lane form for every tap count 1..256 and every sum an int8 window of that many
//     taps can reach: exhaustive;
//   - the float form for every count an int8 window may have on that path (up to 16320) and
//     every int16 count (up to 63): at both ends of every run of equal quotients, which decides
//     the whole run because the float computation is monotone in |s|; exhaustive for small counts;
//   - the fused requantization of the mean for the centred sums of real shapes: exhaustive.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cases.hpp"
#include "qkern/core/fused_requantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/kernels/pooling.hpp"
#include "qkern/simd/fused_requantization.hpp"
#include "qkern/simd/rounded_division.hpp"

using qkern_pool_test::arch;

namespace {

// rounded_divide over `sums` (padded to whole batches) compared with the scalar rounded_average;
// returns the number of mismatches and reports the first.
template <class Lane, class Reciprocal>
std::int64_t check_division(const std::vector<std::int32_t>& sums, const Reciprocal& r) {
  using lanes_type = xsimd::batch<Lane, arch>;
  constexpr std::size_t size = lanes_type::size;
  std::int64_t failures = 0;
  alignas(64) Lane in[size];
  alignas(64) Lane out[size];
  for (std::size_t i = 0; i < sums.size(); i += size) {
    const std::size_t n = sums.size() - i < size ? sums.size() - i : size;
    for (std::size_t k = 0; k < size; ++k) in[k] = static_cast<Lane>(k < n ? sums[i + k] : 0);
    qkern::simd::rounded_divide(lanes_type::load_aligned(in), r).store_aligned(out);
    for (std::size_t k = 0; k < n; ++k) {
      const std::int32_t expected = qkern::rounded_average(sums[i + k], r.divisor);
      if (out[k] != expected) {
        if (failures == 0) {
          FAIL_CHECK("count " << r.divisor << ", sum " << sums[i + k] << ": " << static_cast<std::int32_t>(out[k])
                              << " instead of " << expected);
        }
        ++failures;
      }
    }
  }
  return failures;
}

// The sums whose dividend |s| + floor(n/2) is at an end of a run of equal quotients, both signs,
// within |s| <= max_abs_sum, plus the two extremes.
std::vector<std::int32_t> run_end_sums(std::int32_t n, std::int64_t max_abs_sum) {
  std::vector<std::int32_t> sums;
  const std::int64_t half = n / 2;
  const std::int64_t top = max_abs_sum + half;
  for (std::int64_t q = 0; q * n <= top; ++q) {
    for (const std::int64_t a : {q * n, q * n + n - 1, q * n + 1}) {
      const std::int64_t magnitude = a - half;
      if (magnitude < 0 || magnitude > max_abs_sum) continue;
      sums.push_back(static_cast<std::int32_t>(magnitude));
      sums.push_back(static_cast<std::int32_t>(-magnitude));
    }
  }
  sums.push_back(static_cast<std::int32_t>(max_abs_sum));
  sums.push_back(static_cast<std::int32_t>(-max_abs_sum));
  return sums;
}

std::vector<std::int32_t> every_sum(std::int64_t lo, std::int64_t hi) {
  std::vector<std::int32_t> sums;
  sums.reserve(static_cast<std::size_t>(hi - lo + 1));
  for (std::int64_t s = lo; s <= hi; ++s) sums.push_back(static_cast<std::int32_t>(s));
  return sums;
}

}  // namespace

TEST_CASE("int16-lane division: exact for every count 1..256 and every int8 window sum") {
  std::int64_t failures = 0;
  for (std::int32_t n = 1; n <= 256; ++n) {
    qkern::simd::u16_reciprocal r;
    REQUIRE_MESSAGE(qkern::simd::make_u16_reciprocal(n, 128 * n, r), "no int16 form for count " << n);
    failures += check_division<std::int16_t>(every_sum(-128 * n, 127 * n), r);
  }
  CHECK(failures == 0);
}

TEST_CASE("int16-lane division refuses what it cannot prove") {
  qkern::simd::u16_reciprocal r;
  CHECK_FALSE(qkern::simd::make_u16_reciprocal(0, 0, r));
  CHECK_FALSE(qkern::simd::make_u16_reciprocal(300, 40000, r));   // sums beyond int16
  CHECK_FALSE(qkern::simd::make_u16_reciprocal(255, -1, r));
  CHECK(qkern::simd::make_u16_reciprocal(1, 128, r));
  CHECK(r.identity);
}

TEST_CASE("float division: exact for every int8 count of the int32 path") {
  std::int64_t failures = 0;
  for (std::int32_t n = 1; n <= 16320; ++n) {
    qkern::simd::float_reciprocal r;
    REQUIRE_MESSAGE(qkern::simd::make_float_reciprocal(n, 128 * std::int64_t{n}, r), "no float form for count " << n);
    if (n <= 300) {
      failures += check_division<std::int32_t>(every_sum(-128 * n, 127 * n), r);
    } else {
      failures += check_division<std::int32_t>(run_end_sums(n, 128 * std::int64_t{n}), r);
    }
  }
  CHECK(failures == 0);
  qkern::simd::float_reciprocal r;
  CHECK_FALSE(qkern::simd::make_float_reciprocal(16321, 128 * 16321, r));
}

TEST_CASE("float division: exact for every int16 count up to 63") {
  std::int64_t failures = 0;
  for (std::int32_t n = 1; n <= 63; ++n) {
    qkern::simd::float_reciprocal r;
    REQUIRE(qkern::simd::make_float_reciprocal(n, 32768 * std::int64_t{n}, r));
    if (n <= 4) {
      failures += check_division<std::int32_t>(every_sum(-32768 * n, 32767 * n), r);
    } else {
      failures += check_division<std::int32_t>(run_end_sums(n, 32768 * std::int64_t{n}), r);
    }
  }
  CHECK(failures == 0);
  qkern::simd::float_reciprocal r;
  CHECK_FALSE(qkern::simd::make_float_reciprocal(64, 32768 * 64, r));
}

namespace {

// Every centred sum a mean over `count` int8 (or int16) inputs can produce, through the fused
// form the SIMD mean builds, against Policy::multiply + zero point.
template <class T, class Policy>
std::int64_t check_mean_requantization(const qkern::mean_params<T, Policy>& p) {
  const std::int64_t zp = p.input_zero_point;
  const std::int64_t widest = std::max<std::int64_t>(std::numeric_limits<T>::max() - zp, zp - std::numeric_limits<T>::min());
  const std::int64_t bound = widest * p.reduced_count;
  const auto fused = qkern::make_fused_requantization<Policy>(p.mean_multiplier, p.output_zero_point,
                                                              static_cast<std::int32_t>(bound));
  if (!fused.ok()) return 0;  // the kernel then requantizes with the scalar mean_element
  using dwords = xsimd::batch<std::int32_t, arch>;
  alignas(64) std::int32_t in[dwords::size];
  alignas(64) std::int32_t out[dwords::size];
  std::int64_t failures = 0;
  for (std::int64_t x = -bound; x <= bound; x += dwords::size) {
    for (std::size_t k = 0; k < dwords::size; ++k) {
      in[k] = static_cast<std::int32_t>(x + static_cast<std::int64_t>(k) <= bound ? x + static_cast<std::int64_t>(k) : bound);
    }
    qkern::simd::apply_fused_requantization(dwords::load_aligned(in), *fused).store_aligned(out);
    for (std::size_t k = 0; k < dwords::size; ++k) {
      const std::int64_t expected = std::int64_t{Policy::multiply(in[k], p.mean_multiplier)} + p.output_zero_point;
      if (out[k] != expected) {
        if (failures == 0) FAIL_CHECK("centred sum " << in[k] << ": " << out[k] << " instead of " << expected);
        ++failures;
      }
    }
  }
  return failures;
}

template <class T, class Policy>
void check_mean_shapes(qkern_simd_test::seeded_source& s, int cases, std::size_t side_count) {
  const std::int32_t axes[2] = {1, 2};
  const std::int64_t sides[][2] = {{1, 1}, {2, 2}, {7, 7}, {3, 5}, {14, 14}, {56, 56}, {1, 100}};
  std::int64_t failures = 0;
  for (int i = 0; i < cases; ++i) {
    const auto& side = sides[static_cast<std::size_t>(i) % side_count];
    const auto shape = qkern::make_shape({1, side[0], side[1], 3}).value();
    const auto in_q = qkern_pool_test::random_quantization<T>(s);
    const auto out_q = qkern_pool_test::random_quantization<T>(s);
    const auto p = qkern::prepare_mean<T, Policy>(in_q, shape, axes, 2, out_q, true);
    if (!p.ok()) continue;
    INFO("input " << in_q.scale << "/" << in_q.zero_point << ", output " << out_q.scale << "/" << out_q.zero_point
                  << ", count " << p->reduced_count);
    failures += check_mean_requantization(*p);
  }
  CHECK(failures == 0);
}

}  // namespace

TEST_CASE("mean: the fused requantization is exact for every centred sum (both roundings)") {
  qkern_simd_test::seeded_source s(0x6d65616e);
  check_mean_shapes<std::int8_t, qkern::double_rounding>(s, 14, 7);
  check_mean_shapes<std::int8_t, qkern::single_rounding>(s, 14, 7);
  // int16 sums span 65535 per tap: small windows keep the sweep short.
  check_mean_shapes<std::int16_t, qkern::double_rounding>(s, 8, 4);
  check_mean_shapes<std::int16_t, qkern::single_rounding>(s, 8, 4);
}
