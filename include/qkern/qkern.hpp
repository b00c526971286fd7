// qkern: bit-exact quantized integer math and kernels. The umbrella header.
//
// With QKERN_SIMD=0 (the default for bare-metal targets) only the scalar layers are included
// and xsimd is never touched.
#pragma once

#include "qkern/core/core.hpp"

#if QKERN_SIMD
#include "qkern/simd/simd.hpp"
#endif
