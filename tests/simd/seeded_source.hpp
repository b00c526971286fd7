// The Source of lane_values.hpp for the doctest-only programs (cross builds have no
// rapidcheck): splitmix64 from a fixed seed, so every run and every arch sees the same values.
#pragma once

#include <cstdint>
#include <limits>

namespace qkern_simd_test {

class seeded_source {
 public:
  explicit seeded_source(std::uint64_t seed) noexcept : state_(seed) {}

  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
  }

  // Uniform enough for tests (the modulo bias is below 2^-32 for the spans used here).
  std::int64_t in_range(std::int64_t lo, std::int64_t hi) noexcept {
    const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;
    const std::uint64_t offset = span == 0 ? next() : next() % span;
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + offset);
  }

  // Like qkern_test::any_int32: uniform, small magnitudes, and powers of two with neighbours.
  std::int32_t any_int32() noexcept {
    switch (next() % 4) {
      case 0: {
        const std::int64_t bound = std::int64_t{1} << in_range(0, 31);
        return static_cast<std::int32_t>(in_range(-bound, bound - 1));
      }
      case 1: {
        const std::int64_t power = std::int64_t{1} << in_range(0, 31);
        const std::int64_t v = (next() % 2 == 0 ? power : -power) + in_range(-1, 1);
        return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
      }
      default: return static_cast<std::int32_t>(static_cast<std::uint32_t>(next() >> 32));
    }
  }

  // Like qkern_test::q31_multiplier: 0 or [2^30, 2^31).
  std::int32_t q31_multiplier() noexcept {
    if (next() % 10 == 0) {
      const std::int32_t ends[] = {0, 1 << 30, std::numeric_limits<std::int32_t>::max()};
      return ends[next() % 3];
    }
    return static_cast<std::int32_t>(in_range(std::int64_t{1} << 30, std::numeric_limits<std::int32_t>::max()));
  }

 private:
  std::uint64_t state_;
};

}  // namespace qkern_simd_test
