// Both TFLite roundings, and the output zero point, as one 64-bit multiply-add: the exact
// identity the fast kernels use for requantization.
//
// For a multiplier (m, shift) and an int32 x, let L = max(shift, 0), r = max(-shift, 0).
//   double rounding: RDPOT(SRDHM(x * 2^L, m), r)
//                  = floor((x m 2^L + 2^30 + (2^(r-1) - [x<0]) 2^31) / 2^(31+r))     (r >= 1)
//                  = floor((x m 2^L + 2^30) / 2^31)                                   (r = 0)
//   single rounding: floor((x m 2^L + 2^(30+r)) / 2^(31+r))
// because the high multiply is round-half-up (floor((a b + 2^30) / 2^31), for every sign),
// the rounding divide is floor((y + 2^(r-1) - [y<0]) / 2^r) for r >= 1 with [y<0] = [x<0]
// (m > 0; where they differ y is 0 and both give 0), and nested floors by powers of two
// compose. Doubling x puts the result at bit 32, so with
//   S = 2^(1+L) x m + constant,   constant = 2^31 (+ 2^(31+r) for double) + zero_point 2^(32+r)
// the output is (high 32 bits of S, minus [x<0] for double rounding with r >= 1) >> r. The
// zero point is folded into the constant when it fits; otherwise it is added afterwards.
// tests/core/test_fused_requantization.cpp checks this against Policy::multiply exhaustively.
#pragma once

#include <cstdint>
#include <type_traits>

#include "qkern/core/fixed_point.hpp"
#include "qkern/core/multiplier.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/status.hpp"

namespace qkern {

struct fused_requantization {
  std::int32_t multiplier = 0;
  int pre_shift = 1;               // x is shifted left by this (1 + max(shift, 0)) before the multiply
  std::int64_t constant = 0;       // rounding terms plus, when folded, the zero point
  int final_shift = 0;             // max(-shift, 0), applied to the high 32 bits
  bool sign_correction = false;    // double rounding with a right shift: subtract 1 where x < 0
  std::int32_t zero_point_after = 0;  // the zero point when it could not be folded (else 0)
  std::int32_t max_abs_input = 0;  // exact for every x with |x| <= max_abs_input
};

// The fused form of Policy's multiply by `m` followed by `+ zero_point`, valid for inputs
// |x| <= max_abs_input. Fails when 2^(1+L) * max_abs_input does not fit in int32 (then the
// kernel must use the plain path) or when m is outside the policy's form.
template <class Policy>
constexpr result<fused_requantization> make_fused_requantization(quantized_multiplier m, std::int32_t zero_point,
                                                                 std::int32_t max_abs_input) noexcept {
  static_assert(std::is_same<Policy, double_rounding>::value || std::is_same<Policy, single_rounding>::value,
                "the fused form is derived for TFLite's two roundings");
  if (m.multiplier < 0 || m.shift < -31 || m.shift > 30) {
    return status(status_code::invalid_multiplier, "multiplier outside the Q31 form", nullptr, m.shift);
  }
  if (max_abs_input < 0) return status(status_code::invalid_argument, "max_abs_input is negative");
  const int left = m.shift > 0 ? m.shift : 0;
  const int right = m.shift > 0 ? 0 : -m.shift;
  fused_requantization f;
  f.multiplier = m.multiplier;
  f.pre_shift = 1 + left;
  f.final_shift = right;
  f.max_abs_input = max_abs_input;
  if ((std::int64_t{max_abs_input} << f.pre_shift) > INT32_MAX) {
    return status(status_code::overflow, "input range too wide for the fused requantization", nullptr,
                  max_abs_input);
  }
  std::int64_t constant = std::int64_t{1} << 31;
  if (right > 0) {
    f.sign_correction = std::is_same<Policy, double_rounding>::value;
    constant = f.sign_correction ? constant + (std::int64_t{1} << (31 + right)) : (std::int64_t{1} << (31 + right));
  }
  // |2^pre_shift x m| < 2^62 and the rounding terms < 2^62: the sum stays inside int64 when
  // the folded zero point adds less than 2^62 as well.
  const std::int64_t zp_magnitude = zero_point < 0 ? -std::int64_t{zero_point} : zero_point;
  if (32 + right < 62 && zp_magnitude < (std::int64_t{1} << (62 - 32 - right))) {
    constant += static_cast<std::int64_t>(static_cast<std::uint64_t>(std::int64_t{zero_point}) << (32 + right));
  } else {
    f.zero_point_after = zero_point;
  }
  f.constant = constant;
  return f;
}

// The scalar evaluation of the fused form: Policy::multiply(x, m) + zero_point for
// |x| <= f.max_abs_input. The SIMD kernels compute exactly this per lane.
constexpr std::int32_t apply_fused_requantization(std::int32_t x, const fused_requantization& f) noexcept {
  const auto doubled = static_cast<std::int32_t>(static_cast<std::uint32_t>(x) << f.pre_shift);
  const std::int64_t sum = static_cast<std::int64_t>(doubled) * f.multiplier + f.constant;
  auto high = static_cast<std::int32_t>(sum >> 32);
  if (f.sign_correction && x < 0) high -= 1;
  return (high >> f.final_shift) + f.zero_point_after;
}

}  // namespace qkern
