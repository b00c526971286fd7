// The AVX-512 forms this program was built for: with VBMI and VNNI (QKERN_POOLING_TEST_VBMI=1,
// set by CMake) the byte lookup's vpermt2b form (simd/byte_lookup.hpp) and the mean's vpdpbusd
// form (simd/int8_lane_sums.hpp), otherwise their AVX-512BW forms.
#include <doctest/doctest.h>

#include "qkern/simd/byte_lookup.hpp"
#include "qkern/simd/int8_lane_sums.hpp"

#ifndef QKERN_POOLING_TEST_VBMI
#error "QKERN_POOLING_TEST_VBMI (1 when built with AVX-512 VBMI and VNNI) must be defined"
#endif

TEST_CASE("compiled with the expected AVX-512 extension forms") {
#if XSIMD_WITH_AVX512BW
  CHECK(qkern::simd::detail::has_avx512_vbmi == (QKERN_POOLING_TEST_VBMI == 1));
  CHECK(qkern::simd::detail::avx512_has_vnni == (QKERN_POOLING_TEST_VBMI == 1));
#else
  CHECK(QKERN_POOLING_TEST_VBMI == 0);
#endif
}
