// The scalar core: fixed-point primitives, rounding policies, quantization parameters,
// activation ranges, shapes and broadcast plans. No dependency beyond freestanding-friendly
// standard headers; this is what firmware includes.
#pragma once

#include "qkern/core/activation.hpp"
#include "qkern/core/broadcast.hpp"
#include "qkern/core/config.hpp"
#include "qkern/core/fixed_point.hpp"
#include "qkern/core/fixed_point_math.hpp"
#include "qkern/core/multiplier.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/rounding_fp32.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
