// The simd layer: vector twins of the core primitives on xsimd::batch, for kernels written
// once as `template <class Arch>`. Compiled out with QKERN_SIMD=0.
#pragma once

#include "qkern/simd/arch.hpp"
#include "qkern/simd/convert.hpp"
#include "qkern/simd/fixed_point.hpp"
