// The program really was compiled for the arch its name says: a wrong or missing flag would
// otherwise test the generic path and pass. QKERN_SIMD_TEST_BACKEND is set by CMake.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "qkern/simd/arch.hpp"

#ifndef QKERN_SIMD_TEST_BACKEND
#error "QKERN_SIMD_TEST_BACKEND (the backend this program is built for) must be defined"
#endif

TEST_CASE("compiled for the expected simd backend") {
  using arch = qkern::simd::default_arch;
  const std::string backend = qkern::simd::backend_name(qkern::simd::backend_of<arch>());
  MESSAGE("default_arch " << std::string(qkern::simd::arch_name<arch>()) << ", backend " << backend << ", "
                          << xsimd::batch<std::int32_t, arch>::size << " int32 lanes");
  CHECK(backend == QKERN_SIMD_TEST_BACKEND);
}

TEST_CASE("this CPU runs the compiled arch") {
  using arch = qkern::simd::default_arch;
  const unsigned best = xsimd::available_architectures().best;
  INFO("compiled for " << std::string(qkern::simd::arch_name<arch>()) << " (" << arch::version() << "), CPU best " << best);
  CHECK(best >= arch::version());
}
