// check_cases(name, run_case): runs a random case many times and reports the first failure as
// one doctest assertion. A case is a generic callable `std::string (Source&)` that returns an
// empty string when SIMD == scalar, else a description of the first difference. The same test
// sources build two ways:
//   QKERN_EW_TEST_RAPIDCHECK=1  each case is a rapidcheck property (structure draws shrink;
//                               the element data comes from a drawn seed), host only;
//   otherwise                   seeded cases from splitmix64, doctest only, any target (qemu).
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#if QKERN_EW_TEST_RAPIDCHECK
#include <rapidcheck.h>

#include "support/property.hpp"
#endif

namespace qkern_ew_test {

// What a case returns when prepare rejected its drawn parameters (prepare's own tests cover
// those); rapidcheck discards it, the seeded runner counts it.
inline const std::string skipped_case = "<skipped: prepare rejected the drawn parameters>";

// splitmix64: the element data of every case, and the whole case in the seeded build.
class splitmix {
 public:
  explicit splitmix(std::uint64_t seed) noexcept : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi] (the modulo bias is negligible for the spans used here).
  std::int64_t in_range(std::int64_t lo, std::int64_t hi) noexcept {
    const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;
    const std::uint64_t offset = span == 0 ? next() : next() % span;
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + offset);
  }

 private:
  std::uint64_t state_;
};

// The Source of the seeded build: every draw from one splitmix stream.
class seeded_source {
 public:
  explicit seeded_source(std::uint64_t seed) noexcept : rng_(seed) {}
  std::int64_t in_range(std::int64_t lo, std::int64_t hi) noexcept { return rng_.in_range(lo, hi); }
  std::uint64_t data_seed() noexcept { return rng_.next(); }

 private:
  splitmix rng_;
};

#if QKERN_EW_TEST_RAPIDCHECK

// The Source of the rapidcheck build: structural draws are generators (they shrink), the
// element data is expanded from one drawn seed.
struct rapidcheck_source {
  std::int64_t in_range(std::int64_t lo, std::int64_t hi) { return *rc::gen::inRange<std::int64_t>(lo, hi + 1); }
  std::uint64_t data_seed() { return *rc::gen::arbitrary<std::uint64_t>(); }
};

template <class Case>
void check_cases(const std::string& name, Case run_case) {
  QKERN_PROPERTY(name, [run_case] {
    rapidcheck_source src;
    const std::string failure = run_case(src);
    RC_PRE(failure != skipped_case);
    if (!failure.empty()) RC_FAIL(failure);
  });
}

#else

// QKERN_EW_TEST_CASES overrides the number of cases per check (default 300).
inline int seeded_case_count() {
  const char* env = std::getenv("QKERN_EW_TEST_CASES");
  const int n = env != nullptr ? std::atoi(env) : 0;
  return n > 0 ? n : 300;
}

// Each check has its own stream, fixed by its name (FNV-1a), so a failure reproduces alone.
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
  int skipped = 0;
  for (int i = 0; i < cases && failure.empty(); ++i) {
    seeded_source src(seed + static_cast<std::uint64_t>(i) * 0x2545F4914F6CDD1Du);
    failure = run_case(src);
    if (failure == skipped_case) {
      ++skipped;
      failure.clear();
    } else if (!failure.empty()) {
      failure = "case " + std::to_string(i) + ": " + failure;
    }
  }
  CHECK_MESSAGE(failure.empty(), name << ": " << failure);
  // Most draws must reach the kernels.
  CHECK_MESSAGE(skipped * 4 < cases, name << ": " << skipped << " of " << cases << " cases skipped");
}

#endif

}  // namespace qkern_ew_test
