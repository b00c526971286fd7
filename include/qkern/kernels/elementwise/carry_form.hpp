// The carry form of an int8 binary op whose output is one fused requantization of a sum of two
// per-input terms (add and sub): out = clamp(requantize(F1(x1) + F2(x2))), each F a function
// of one int8 value. It turns the op into byte-table lookups and one byte comparison.
//
// With the fused requantization of core/fused_requantization.hpp (S = 2^p s m + constant, the
// output is floor(S / 2^N) + zero_point_after, N = 32 + final_shift, when no sign correction
// applies), write each input's share of S as an integer part and a fraction:
//   2^p m F_c(x_c)            = 2^N U(x_c) + u(x_c),   0 <= u < 2^N   (the "count" input)
//   2^p m F_i(x_i) + constant = 2^N W(x_i) + w(x_i),   0 <= w < 2^N   (the "index" input)
// so that floor(S / 2^N) = U + W + [u + w >= 2^N]. The carry compares u(x_c) with 2^N - w(x_i):
// both sides take at most 256 values, so their order is captured by ranks, k(x_i) in [0, 255]
// and r(x_c) = the number of rank groups at or below u(x_c), with carry = [k < r].
//
// Byte arithmetic then gives the saturated result exactly:
//   - U and W are clipped to the range where they can still change the int8 result, then
//     shifted against each other (A = U - delta, B = W + delta + zero_point_after) so that
//     B + carry fits int8 and A fits [-256, 254];
//   - A = A1 + A2 with A1 = A clamped to int8 and A2 of the same sign, and
//     sat(sat(A1 + (B + carry)) + A2) = sat(A + B + carry): a first saturation is final whenever
//     A2 != 0, because A2 then pushes further in the same direction.
// The activation clamp comes last (it lies inside int8).
//
// The form does not exist (valid = false, and kernels use their other paths) when double
// rounding's sign correction would change some pair's result (it subtracts 2^32 from S where the
// sum is negative, which no per-input split can express), when the ranks need 257 values, or
// when the clipped ranges do not fit. tests/elementwise_simd/test_exhaustive_int8.cpp checks
// the form against the scalar spec on all 65,536 input pairs.
#pragma once

#include <cstdint>

#include "qkern/core/fused_requantization.hpp"

namespace qkern {

struct int8_carry_form {
  bool valid = false;
  bool first_is_count = true;  // input1 is the count input (tables a_*), input2 the index input (b_*)
  bool has_second_part = false;  // some a_second entry is not 0
  // Indexed by the input byte as uint8.
  std::int8_t a_first[256] = {};
  std::int8_t a_second[256] = {};
  std::uint8_t a_rank[256] = {};
  std::int8_t b[256] = {};
  std::uint8_t b_rank[256] = {};
};

namespace detail {

constexpr std::int8_t saturate_int8(std::int32_t v) noexcept {
  return static_cast<std::int8_t>(v < -128 ? -128 : (v > 127 ? 127 : v));
}

}  // namespace detail

// The scalar evaluation of the form, clamped to [activation_min, activation_max]: what every
// lane of the vector rows computes.
constexpr std::int8_t apply_carry_form(const int8_carry_form& f, std::int8_t x1, std::int8_t x2,
                                       std::int32_t activation_min, std::int32_t activation_max) noexcept {
  const auto c = static_cast<std::uint8_t>(f.first_is_count ? x1 : x2);
  const auto i = static_cast<std::uint8_t>(f.first_is_count ? x2 : x1);
  const std::int32_t b_carried = f.b[i] + (f.b_rank[i] < f.a_rank[c] ? 1 : 0);
  const std::int8_t z = detail::saturate_int8(detail::saturate_int8(f.a_first[c] + b_carried) + f.a_second[c]);
  return static_cast<std::int8_t>(z < activation_min ? activation_min : (z > activation_max ? activation_max : z));
}

namespace detail {

// order[0..255]: the byte indices sorted by key (insertion sort: constexpr, 256 entries).
constexpr void sort_indices_by_key(const std::uint64_t (&key)[256], int (&order)[256]) noexcept {
  for (int i = 0; i < 256; ++i) {
    int j = i;
    while (j > 0 && key[order[j - 1]] > key[i]) {
      order[j] = order[j - 1];
      --j;
    }
    order[j] = i;
  }
}

struct carry_split {
  std::int64_t whole[256] = {};
  std::uint64_t fraction[256] = {};
};

constexpr carry_split split_at(const std::int64_t (&v)[256], int n_bits) noexcept {
  carry_split s;
  const std::uint64_t mask = (std::uint64_t{1} << n_bits) - 1;  // n_bits <= 63
  for (int x = 0; x < 256; ++x) {
    s.whole[x] = v[x] >> n_bits;  // floor
    s.fraction[x] = static_cast<std::uint64_t>(v[x]) & mask;
  }
  return s;
}

// Whether the sign correction changes floor(S / 2^N) for some pair: where
// F_c(x_c) + F_i(x_i) < 0 and S mod 2^N < 2^32.
constexpr bool sign_correction_matters(const std::int32_t (&f_count)[256], const std::int32_t (&f_index)[256],
                                       const carry_split& count, const carry_split& index, int n_bits) noexcept {
  const std::uint64_t modulus = std::uint64_t{1} << n_bits;
  const std::uint64_t window = std::uint64_t{1} << 32;
  int order[256] = {};
  sort_indices_by_key(count.fraction, order);
  for (int xi = 0; xi < 256; ++xi) {
    // u + w mod 2^N < 2^32  <=>  u in [start, start + 2^32) cyclically, start = (2^N - w) mod 2^N.
    const std::uint64_t start = (modulus - index.fraction[xi]) & (modulus - 1);
    int lo = 0;
    int hi = 256;
    while (lo < hi) {  // first position with fraction >= start
      const int mid = (lo + hi) / 2;
      if (count.fraction[order[mid]] < start) lo = mid + 1; else hi = mid;
    }
    for (int k = 0; k < 256; ++k) {
      const int xc = order[(lo + k) % 256];
      if (((count.fraction[xc] - start) & (modulus - 1)) >= window) break;
      if (std::int64_t{f_count[xc]} + f_index[xi] < 0) return true;
    }
  }
  return false;
}

// The ranks: k(x_i) for the thresholds t(x_i) = 2^N - w(x_i), r(x_c) for the fractions u(x_c),
// with t <= u <=> k < r. Returns false when r would need the value 256.
constexpr bool make_carry_ranks(const std::uint64_t (&u)[256], const std::uint64_t (&t)[256],
                                std::uint8_t (&r)[256], std::uint8_t (&k)[256]) noexcept {
  int u_order[256] = {};
  int t_order[256] = {};
  sort_indices_by_key(u, u_order);
  sort_indices_by_key(t, t_order);
  // Merge, thresholds before equal fractions; a new group starts at a threshold that follows a
  // fraction (or is the first).
  int groups = 0;
  bool last_was_threshold = false;
  int ui = 0;
  int ti = 0;
  while (ui < 256 || ti < 256) {
    if (ti < 256 && (ui == 256 || t[t_order[ti]] <= u[u_order[ui]])) {
      if (!last_was_threshold) ++groups;
      k[t_order[ti++]] = static_cast<std::uint8_t>(groups - 1);
      last_was_threshold = true;
    } else {
      if (groups > 255) return false;
      r[u_order[ui++]] = static_cast<std::uint8_t>(groups);
      last_was_threshold = false;
    }
  }
  return true;
}

template <class T>
constexpr T max_of(const T (&v)[256]) noexcept {
  T m = v[0];
  for (const T x : v) m = x > m ? x : m;
  return m;
}

template <class T>
constexpr T min_of(const T (&v)[256]) noexcept {
  T m = v[0];
  for (const T x : v) m = x < m ? x : m;
  return m;
}

constexpr std::int64_t max_magnitude(const std::int32_t (&v)[256]) noexcept {
  std::int64_t m = 0;
  for (const std::int32_t x : v) {
    const std::int64_t magnitude = x < 0 ? -std::int64_t{x} : std::int64_t{x};
    if (magnitude > m) m = magnitude;
  }
  return m;
}

constexpr void clip_all(std::int64_t (&v)[256], std::int64_t lo, std::int64_t hi) noexcept {
  for (auto& x : v) x = x < lo ? lo : (x > hi ? hi : x);
}

// The form with input `first_is_count` as the count input; f_count and f_index are the two
// per-input terms of the sum (sub's second term negated).
constexpr bool make_carry_form_for(const std::int32_t (&f_count)[256], const std::int32_t (&f_index)[256],
                                   const fused_requantization& fused, bool first_is_count,
                                   int8_carry_form& form) noexcept {
  const int n_bits = 32 + fused.final_shift;
  if (n_bits > 63) return false;
  // The fused form equals the policy's multiply wherever 2^pre_shift * sum fits int32.
  if ((max_magnitude(f_count) + max_magnitude(f_index)) * (std::int64_t{1} << fused.pre_shift) > INT32_MAX) return false;
  const std::int64_t scale = std::int64_t{fused.multiplier} * (std::int64_t{1} << fused.pre_shift);
  std::int64_t count_value[256] = {};
  std::int64_t index_value[256] = {};
  for (int x = 0; x < 256; ++x) {
    count_value[x] = f_count[x] * scale;
    index_value[x] = f_index[x] * scale + fused.constant;
  }
  const carry_split count = split_at(count_value, n_bits);
  const carry_split index = split_at(index_value, n_bits);
  if (fused.sign_correction && sign_correction_matters(f_count, f_index, count, index, n_bits)) return false;

  std::uint64_t threshold[256] = {};
  for (int x = 0; x < 256; ++x) threshold[x] = (std::uint64_t{1} << n_bits) - index.fraction[x];
  std::uint8_t a_rank[256] = {};
  std::uint8_t b_rank[256] = {};
  if (!make_carry_ranks(count.fraction, threshold, a_rank, b_rank)) return false;

  // Saturation at int8 comes before the activation clamp, so clip against [-128, 127]: a U so
  // low that U + W + carry <= -128 for every W (or so high that it is >= 127) acts as the bound.
  std::int64_t u[256] = {};
  std::int64_t w[256] = {};
  for (int x = 0; x < 256; ++x) {
    u[x] = count.whole[x];
    w[x] = index.whole[x] + fused.zero_point_after;
  }
  clip_all(u, -129 - max_of(w), 127 - min_of(w));
  clip_all(w, -129 - max_of(u), 127 - min_of(u));
  const std::int64_t u_min = min_of(u), u_max = max_of(u), w_min = min_of(w), w_max = max_of(w);
  // delta: B = W + delta in [-128, 126] (room for the carry), A = U - delta in [-256, 254].
  const std::int64_t delta_lo = (-128 - w_min) > (u_max - 254) ? (-128 - w_min) : (u_max - 254);
  const std::int64_t delta_hi = (126 - w_max) < (u_min + 256) ? (126 - w_max) : (u_min + 256);
  if (delta_lo > delta_hi) return false;
  // Prefer a delta that keeps every A inside int8 (then the A2 table is all zeros and skipped).
  const std::int64_t one_part_lo = (u_max - 127) > delta_lo ? (u_max - 127) : delta_lo;
  const std::int64_t one_part_hi = (u_min + 128) < delta_hi ? (u_min + 128) : delta_hi;
  const std::int64_t delta = one_part_lo <= one_part_hi ? one_part_lo : delta_lo;

  form.first_is_count = first_is_count;
  form.has_second_part = false;
  for (int x = 0; x < 256; ++x) {
    const std::int64_t a = u[x] - delta;
    const std::int64_t a_first = a < -128 ? -128 : (a > 127 ? 127 : a);
    form.a_first[x] = static_cast<std::int8_t>(a_first);
    form.a_second[x] = static_cast<std::int8_t>(a - a_first);
    form.has_second_part = form.has_second_part || a != a_first;
    form.a_rank[x] = a_rank[x];
    form.b[x] = static_cast<std::int8_t>(w[x] + delta);
    form.b_rank[x] = b_rank[x];
  }
  form.valid = true;
  return true;
}

}  // namespace detail

// The carry form of out = clamp(requantize(F1(x1) + F2(x2))), f1[uint8(x1)] = F1(x1), with
// `fused` the output's fused requantization (exact for every sum of the two terms). Tries
// input1 as the count input, then input2.
constexpr int8_carry_form make_int8_carry_form(const std::int32_t (&f1)[256], const std::int32_t (&f2)[256],
                                               const fused_requantization& fused) noexcept {
  int8_carry_form form;
  if (!detail::make_carry_form_for(f1, f2, fused, true, form)) detail::make_carry_form_for(f2, f1, fused, false, form);
  return form;
}

}  // namespace qkern
