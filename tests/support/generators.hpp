// rapidcheck generators for the value ranges that matter to fixed-point code: the whole int32
// range with its extremes, powers of two and their neighbours (where ties sit) forced in.
#pragma once

#include <rapidcheck.h>

#include <cstdint>
#include <limits>

namespace qkern_test {

inline rc::Gen<std::int32_t> any_int32() {
  using lim = std::numeric_limits<std::int32_t>;
  return rc::gen::weightedOneOf<std::int32_t>({
      {6, rc::gen::arbitrary<std::int32_t>()},
      {3, rc::gen::inRange<std::int32_t>(lim::min(), lim::max())},
      {1, rc::gen::element<std::int32_t>(lim::min(), lim::min() + 1, -1, 0, 1, lim::max() - 1, lim::max(),
                                         1 << 30, -(1 << 30))},
      {2, rc::gen::map(rc::gen::pair(rc::gen::inRange(0, 32), rc::gen::element(-1, 0, 1)),
                       [](std::pair<int, int> p) {
                         return static_cast<std::int32_t>((std::int64_t{1} << p.first) + p.second);
                       })},
      {2, rc::gen::map(rc::gen::pair(rc::gen::inRange(0, 32), rc::gen::element(-1, 0, 1)),
                       [](std::pair<int, int> p) {
                         return static_cast<std::int32_t>(-(std::int64_t{1} << p.first) + p.second);
                       })},
  });
}

// Q31 multipliers as QuantizeMultiplier produces them: 0 or [2^30, 2^31).
inline rc::Gen<std::int32_t> q31_multiplier() {
  return rc::gen::weightedOneOf<std::int32_t>({
      {8, rc::gen::inRange<std::int32_t>(1 << 30, std::numeric_limits<std::int32_t>::max())},
      {1, rc::gen::element<std::int32_t>(0, 1 << 30, std::numeric_limits<std::int32_t>::max())},
  });
}

}  // namespace qkern_test
