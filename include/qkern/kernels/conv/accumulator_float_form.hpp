// The float form (core/float_step_form.hpp) of an int8 conv or fully connected channel's
// output step: floor(acc f + c) for the accumulator acc (bias included), proven equal to
// Policy::multiply(acc, m) + zero point after int8 saturation and any activation clamp.
//
// The accumulator can be any int32 within the channel's bound, so the points are not
// enumerated. Both sides are non-decreasing in acc (the float side is a composition of
// monotone roundings), so agreeing at both ends of every step means agreeing inside it:
// the search walks the steps of t = clamp(spec, -128, 127) and bounds the constant at each
// step's first and last accumulator. It covers |acc| <= min(bound, 2^24), where acc is
// exact in float; a channel whose bound is larger qualifies only if t is already saturated
// at ±2^24, so that larger accumulators (whose float conversion rounds, monotonically)
// saturate on both sides too. The multiplier must be below 1/2 so that |acc f + c| < 2^31
// for every int32 accumulator (vcvtps2dq would return INT32_MIN past that).
#pragma once

#include <cstdint>

#include "qkern/core/float_step_form.hpp"
#include "qkern/core/multiplier.hpp"

namespace qkern {
namespace detail {

inline constexpr std::int64_t float_exact_integers = std::int64_t{1} << 24;

// Bounds K with both ends of every step of t over [first, last] (t(first)'s step starts at
// first). `width` is the expected step width, 1 / m, rounded.
template <class Clamped>
void narrow_over_steps(const Clamped& t, std::int64_t first, std::int64_t last, std::int64_t width,
                       const float_step_point& point, integer_interval& range) noexcept {
  std::int64_t n = first;
  while (n <= last) {
    const std::int64_t value = t(n);
    point.at_least(n, value, range);
    if (value == 127) return;  // every later accumulator saturates too
    // The last accumulator of this step: bracket it from a guess one step width on, then
    // bisect. t(lo) == value, t(hi) > value (hi == last + 1 stands for "past the range").
    std::int64_t lo = n, hi = last + 1;
    std::int64_t guess = n + width - 1 < last ? n + width - 1 : last;
    if (guess > n) {
      if (t(guess) == value) {
        lo = guess;
        std::int64_t r = 1;
        while (lo + r <= last && t(lo + r) == value) {
          lo += r;
          r *= 2;
        }
        if (lo + r < hi) hi = lo + r;
      } else {
        hi = guess;
        std::int64_t r = 1;
        while (hi - r > n && t(hi - r) != value) {
          hi -= r;
          r *= 2;
        }
        if (hi - r > lo) lo = hi - r;
      }
    }
    while (hi - lo > 1) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (t(mid) == value) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    point.at_most(lo, value, range);
    n = lo + 1;
  }
}

}  // namespace detail

// The float form of `raw_output(acc)` (the scalar spec's Policy::multiply(acc, m) + zero point,
// as int64) for a channel whose accumulators satisfy |acc| <= bound; .valid is false where it
// does not exist. Multipliers outside [2^-22, 2^-1) keep the integer form.
template <class RawOutput>
float_step_form make_accumulator_float_form(const RawOutput& raw_output, quantized_multiplier m,
                                            std::int64_t bound) noexcept {
  if (m.multiplier < (std::int32_t{1} << 30) || m.shift < -21 || m.shift > -1 || bound < 0) return {};
  const auto t = [&raw_output](std::int64_t acc) -> std::int64_t {
    const std::int64_t v = raw_output(static_cast<std::int32_t>(acc));
    return v < -128 ? -128 : (v > 127 ? 127 : v);
  };
  const std::int64_t reach = bound < detail::float_exact_integers ? bound : detail::float_exact_integers;
  if (bound > reach && (t(-reach) != -128 || t(reach) != 127)) return {};
  const auto width = static_cast<std::int64_t>(1.0 / m.real_value());  // accumulators per step, >= 2
  return detail::fit_float_step_form(
      m, [&](const detail::float_step_point& point, detail::integer_interval& negative,
             detail::integer_interval& nonnegative) {
        detail::narrow_over_steps(t, -reach, -1, width, point, negative);
        detail::narrow_over_steps(t, 0, reach, width, point, nonnegative);
      });
}

}  // namespace qkern
