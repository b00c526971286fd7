// compare: how an observed tensor differs from an expected one (int8, int16, uint8).
//
// The difference of an element is d = observed - expected. The report holds
//   - the element count, the number and fraction of mismatches (d != 0), max |d|, the most
//     negative and most positive d and their mean (a mean far from 0 is a systematic bias);
//   - a histogram of d: one bucket per value in [-3, +3] plus "below -3" and "above +3";
//   - the first N mismatches in memory order, each with its multi-dimensional index;
//   - the same statistics per channel (the last axis: C in NHWC, units in [rows, units]).
//
// difference_stats and difference_statistics() are the heap-free core (constexpr, usable on a
// device); compare() adds the coordinates and the per-channel breakdown in std::vectors (host).
//
//   const auto c = qkern::testing::compare(observed, expected, shape);   // result<comparison>
//   if (c && !c->identical()) std::fputs(qkern::testing::format(*c).c_str(), stdout);
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <type_traits>
#include <vector>

#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"

namespace qkern {
namespace testing {

// Differences within ±histogram_radius have a bucket each.
inline constexpr int histogram_radius = 3;
inline constexpr int histogram_buckets = 2 * histogram_radius + 3;  // below, -3..+3, above

// Running statistics of differences; add() one difference at a time. No heap, constexpr.
struct difference_stats {
  std::int64_t count = 0;       // elements seen
  std::int64_t mismatches = 0;  // elements with d != 0
  std::int32_t max_abs_diff = 0;
  std::int32_t min_diff = 0;  // the most negative d (0 when none is negative)
  std::int32_t max_diff = 0;  // the most positive d (0 when none is positive)
  std::int64_t sum_diff = 0;
  // [0]: d < -radius; [1 + radius + d]: d in [-radius, radius]; [buckets - 1]: d > radius.
  std::int64_t histogram[histogram_buckets] = {};

  constexpr void add(std::int32_t d) noexcept {
    ++count;
    sum_diff += d;
    if (d != 0) ++mismatches;
    if (d < min_diff) min_diff = d;
    if (d > max_diff) max_diff = d;
    const std::int32_t magnitude = d < 0 ? -d : d;
    if (magnitude > max_abs_diff) max_abs_diff = magnitude;
    if (d < -histogram_radius) {
      ++histogram[0];
    } else if (d > histogram_radius) {
      ++histogram[histogram_buckets - 1];
    } else {
      ++histogram[1 + histogram_radius + d];
    }
  }

  // How many differences equal d, for |d| <= histogram_radius (0 outside).
  constexpr std::int64_t bucket(int d) const noexcept {
    return (d < -histogram_radius || d > histogram_radius) ? 0 : histogram[1 + histogram_radius + d];
  }
  constexpr std::int64_t below() const noexcept { return histogram[0]; }  // d < -radius
  constexpr std::int64_t above() const noexcept { return histogram[histogram_buckets - 1]; }  // d > radius

  constexpr bool identical() const noexcept { return mismatches == 0; }
  constexpr double mismatch_fraction() const noexcept {
    return count == 0 ? 0.0 : static_cast<double>(mismatches) / static_cast<double>(count);
  }
  constexpr double mean_diff() const noexcept {
    return count == 0 ? 0.0 : static_cast<double>(sum_diff) / static_cast<double>(count);
  }
};

namespace detail {

template <class T>
inline constexpr bool is_compared_type = std::is_same<T, std::int8_t>::value ||
                                         std::is_same<T, std::int16_t>::value ||
                                         std::is_same<T, std::uint8_t>::value;

}  // namespace detail

// Statistics of observed[i] - expected[i] over `count` elements (the heap-free core).
template <class T>
constexpr difference_stats difference_statistics(const T* observed, const T* expected, std::int64_t count) noexcept {
  static_assert(detail::is_compared_type<T>, "compared tensors are int8, int16 or uint8");
  difference_stats s;
  for (std::int64_t i = 0; i < count; ++i) {
    s.add(static_cast<std::int32_t>(observed[i]) - static_cast<std::int32_t>(expected[i]));
  }
  return s;
}

// One mismatching element: its flat (memory-order) index, its index along every axis, and both values.
struct mismatch {
  std::int64_t flat_index = 0;
  int rank = 0;
  std::int32_t index[max_rank] = {};
  std::int32_t observed = 0;
  std::int32_t expected = 0;

  constexpr std::int32_t diff() const noexcept { return observed - expected; }
};

// The multi-dimensional index of element `flat` of a row-major tensor of shape s.
constexpr void unravel_index(const shape& s, std::int64_t flat, std::int32_t (&index)[max_rank]) noexcept {
  for (int axis = s.rank - 1; axis >= 0; --axis) {
    const std::int64_t extent = s.dims[axis] > 0 ? s.dims[axis] : 1;
    index[axis] = static_cast<std::int32_t>(flat % extent);
    flat /= extent;
  }
}

struct compare_options {
  std::size_t max_mismatches = 10;  // how many first mismatches to keep
  bool per_channel = true;          // the breakdown along the last axis
};

struct comparison {
  shape tensor_shape{};
  difference_stats total{};
  std::vector<mismatch> first_mismatches;  // at most options.max_mismatches, in memory order
  std::vector<difference_stats> channels;  // one per index of the last axis (empty for rank 0)

  bool identical() const noexcept { return total.identical(); }
  // Channels with at least one mismatch.
  std::int64_t mismatching_channels() const noexcept {
    std::int64_t n = 0;
    for (const auto& c : channels) n += c.mismatches != 0 ? 1 : 0;
    return n;
  }
};

// Compares two tensors of shape s element by element. Fails for an invalid shape or a null
// pointer with a non-empty shape.
template <class T>
result<comparison> compare(const T* observed, const T* expected, const shape& s, const compare_options& options = {}) {
  static_assert(detail::is_compared_type<T>, "compared tensors are int8, int16 or uint8");
  QKERN_TRY(validate_shape(s, "shape"));
  const std::int64_t count = s.element_count();
  if (count > 0 && (observed == nullptr || expected == nullptr)) {
    return status(status_code::invalid_argument, "tensor data is null", observed == nullptr ? "observed" : "expected");
  }
  comparison c;
  c.tensor_shape = s;
  const std::int64_t channels = s.rank == 0 ? 0 : s.dims[s.rank - 1];
  if (options.per_channel && channels > 0) c.channels.resize(static_cast<std::size_t>(channels));
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int32_t o = observed[i];
    const std::int32_t e = expected[i];
    const std::int32_t d = o - e;
    c.total.add(d);
    if (!c.channels.empty()) c.channels[static_cast<std::size_t>(i % channels)].add(d);
    if (d != 0 && c.first_mismatches.size() < options.max_mismatches) {
      mismatch m;
      m.flat_index = i;
      m.rank = s.rank;
      unravel_index(s, i, m.index);
      m.observed = o;
      m.expected = e;
      c.first_mismatches.push_back(m);
    }
  }
  return c;
}

// --- text -------------------------------------------------------------------------------------

namespace detail {

template <class... Args>
void append_format(std::string& out, const char* format, Args... args) {
  char buffer[256];
  const int n = std::snprintf(buffer, sizeof buffer, format, args...);
  if (n > 0) out.append(buffer, static_cast<std::size_t>(n) < sizeof buffer ? static_cast<std::size_t>(n) : sizeof buffer - 1);
}

}  // namespace detail

// "[1,8,8,16]"
inline std::string shape_text(const shape& s) {
  std::string out = "[";
  for (int i = 0; i < s.rank; ++i) {
    if (i > 0) out += ",";
    out += std::to_string(s.dims[i]);
  }
  return out + "]";
}

// The histogram on one line: "<-3: 0  -3: 0  -2: 0  -1: 4  0: 90  +1: 6  +2: 0  +3: 0  >+3: 0".
inline std::string histogram_text(const difference_stats& s) {
  std::string out;
  detail::append_format(out, "<-%d: %lld", histogram_radius, static_cast<long long>(s.below()));
  for (int d = -histogram_radius; d <= histogram_radius; ++d) {
    detail::append_format(out, d > 0 ? "  +%d: %lld" : "  %d: %lld", d, static_cast<long long>(s.bucket(d)));
  }
  detail::append_format(out, "  >+%d: %lld", histogram_radius, static_cast<long long>(s.above()));
  return out;
}

struct format_options {
  std::size_t max_channel_lines = 16;  // mismatching channels listed (the rest are counted)
};

// A human-readable report of a comparison.
inline std::string format(const comparison& c, const format_options& options = {}) {
  std::string out;
  const difference_stats& t = c.total;
  detail::append_format(out, "elements: %lld  shape: %s\n", static_cast<long long>(t.count),
                        shape_text(c.tensor_shape).c_str());
  if (t.identical()) {
    out += "identical: every element matches\n";
    return out;
  }
  detail::append_format(out, "mismatches: %lld (%.4f%%)  max |diff|: %d  diff range: [%d, %+d]  mean diff: %+.4f\n",
                        static_cast<long long>(t.mismatches), 100.0 * t.mismatch_fraction(), t.max_abs_diff,
                        t.min_diff, t.max_diff, t.mean_diff());
  out += "histogram of observed - expected: " + histogram_text(t) + "\n";
  if (!c.first_mismatches.empty()) {
    detail::append_format(out, "first %zu mismatches (index: observed vs expected, diff):\n", c.first_mismatches.size());
    for (const mismatch& m : c.first_mismatches) {
      std::string index = "[";
      for (int i = 0; i < m.rank; ++i) {
        if (i > 0) index += ",";
        index += std::to_string(m.index[i]);
      }
      index += "]";
      detail::append_format(out, "  %s (flat %lld): %d vs %d (%+d)\n", index.c_str(),
                            static_cast<long long>(m.flat_index), m.observed, m.expected, m.diff());
    }
  }
  if (!c.channels.empty()) {
    detail::append_format(out, "channels (last axis) with mismatches: %lld of %zu\n",
                          static_cast<long long>(c.mismatching_channels()), c.channels.size());
    std::size_t listed = 0;
    for (std::size_t ch = 0; ch < c.channels.size(); ++ch) {
      const difference_stats& s = c.channels[ch];
      if (s.identical()) continue;
      if (listed == options.max_channel_lines) {
        out += "  ...\n";
        break;
      }
      ++listed;
      detail::append_format(out, "  channel %zu: %lld of %lld (%.2f%%)  max |diff| %d  mean diff %+.4f\n", ch,
                            static_cast<long long>(s.mismatches), static_cast<long long>(s.count),
                            100.0 * s.mismatch_fraction(), s.max_abs_diff, s.mean_diff());
    }
  }
  return out;
}

}  // namespace testing
}  // namespace qkern
