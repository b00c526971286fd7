// The Source of lane_values.hpp for the rapidcheck programs: every draw is a generator, so
// a failing case shrinks.
#pragma once

#include <rapidcheck.h>

#include <cstdint>

#include "support/generators.hpp"

namespace qkern_simd_test {

struct rapidcheck_source {
  std::int64_t in_range(std::int64_t lo, std::int64_t hi) { return *rc::gen::inRange<std::int64_t>(lo, hi + 1); }
  std::int32_t any_int32() { return *qkern_test::any_int32(); }
  std::int32_t q31_multiplier() { return *qkern_test::q31_multiplier(); }
};

}  // namespace qkern_simd_test
