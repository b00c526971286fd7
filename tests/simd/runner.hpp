// check_cases(name, case): run a random case (cases.hpp) many times and report the first
// failure as one doctest assertion. The same test sources build two ways:
//   QKERN_SIMD_TEST_RAPIDCHECK=1  a rapidcheck property (shrinks a failing case), host only;
//   otherwise                     seeded cases from a small PRNG, doctest only, any target.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "lane_checks.hpp"

#if QKERN_SIMD_TEST_RAPIDCHECK

#include "rapidcheck_source.hpp"
#include "support/property.hpp"

namespace qkern_simd_test {

template <class Case>
void check_cases(const std::string& name, Case run_case) {
  QKERN_PROPERTY(name, [run_case] {
    rapidcheck_source src;
    const check_result result = run_case(src);
    if (!result.ok()) RC_FAIL(result.failure);
  });
}

}  // namespace qkern_simd_test

#else

#include "seeded_source.hpp"

namespace qkern_simd_test {

// QKERN_SIMD_TEST_CASES overrides the number of cases per check (default 300).
inline int seeded_case_count() {
  const char* env = std::getenv("QKERN_SIMD_TEST_CASES");
  const int n = env != nullptr ? std::atoi(env) : 0;
  return n > 0 ? n : 300;
}

// Each check gets its own stream, fixed by its name (FNV-1a), so a failure reproduces alone.
inline std::uint64_t seed_for(const std::string& name) {
  std::uint64_t h = 0xCBF29CE484222325u;
  for (const char c : name) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3u;
  return h;
}

template <class Case>
void check_cases(const std::string& name, Case run_case) {
  const std::uint64_t seed = seed_for(name);
  const int cases = seeded_case_count();
  std::string failure;
  for (int i = 0; i < cases && failure.empty(); ++i) {
    seeded_source src(seed + static_cast<std::uint64_t>(i));
    const check_result result = run_case(src);
    if (!result.ok()) failure = "case " + std::to_string(i) + " of seed " + std::to_string(seed) + ": " + result.failure;
  }
  CHECK_MESSAGE(failure.empty(), name << ": " << failure);
}

}  // namespace qkern_simd_test

#endif
