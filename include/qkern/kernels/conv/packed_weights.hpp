// Packed weights of the int8 ops that are a GEMM: conv2d (with its taps) and fully connected.
//
// Both ops compute, for every output row r (an output pixel, or a row of the FC input) and
// every output channel c of a group,
//     acc[r][c] = bias[c] + Σ_t Σ_i (x_t[r][i] + input_offset) · w[c][t][i]
// where tap t reads `segment` input values from one place (conv: the input pixel under filter
// tap (fy, fx), or the input zero point where that pixel is padding; FC: one tap, the row).
// The SIMD kernels (gemm_simd.hpp) want the weights of 16 output channels interleaved four
// input values at a time, so that one vector holds 16 channels x 4 values; packing does that
// once, with everything else that only depends on the weights:
//
//   packed buffer = [group 0: block 0, block 1, ...][group 1: ...]...[zero-point row]
//   block (16 output channels) = header (896 bytes) + taps · ceil(segment / 4) k-groups of 64
//                                bytes: k-group j of tap t holds, for lane l = 0..15, the
//                                weights w[c0 + l][t][4j .. 4j + 3] (0 past the segment's end
//                                and past the group's last channel)
//   header = the bias with the input offset folded in, in both forms the dot products need
//            (for unsigned inputs x + 128: bias + (input_offset - 128)·Σw; for signed inputs:
//            bias + input_offset·Σw), and the requantization constants of the 16 channels:
//            the fused 64-bit multiply-add form (core/fused_requantization.hpp) for TFLite's
//            two roundings, the float scale for fp32_scale, and where packing proved it
//            (accumulator_float_form.hpp; AVX-512 builds) the float form of the roundings
//   zero-point row = ceil(segment / 4)·4 + 64 bytes of the input zero point: a padding tap
//            reads it, which contributes (zero_point + input_offset)·w = 0, so every row has
//            the same bias correction whatever its padding.
//
// The kernels read the buffer with unaligned loads; 64-byte aligned storage is faster. The
// packed form depends on the params it was packed for (zero points, multipliers): evaluate
// with those params.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qkern/core/config.hpp"
#include "qkern/core/fused_requantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/rounding_fp32.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/conv/accumulator.hpp"
#include "qkern/kernels/conv/accumulator_float_form.hpp"

#if QKERN_SIMD
#include "qkern/simd/arch.hpp"  // XSIMD_WITH_AVX512BW
#endif

namespace qkern {

inline constexpr std::int32_t packed_block_channels = 16;  // output channels per block
inline constexpr std::int32_t packed_k_group = 4;          // input values per lane per k-group
inline constexpr std::size_t packed_k_group_bytes = 64;    // 16 lanes x 4 values

// How a block's outputs are requantized, decided when it is packed.
enum class packed_requantization : std::int32_t {
  scalar = 0,  // Policy::multiply per element (a channel has no fused form, or another policy)
  fused = 1,   // the fused 64-bit multiply-add (double_rounding, single_rounding)
  fp32 = 2,    // float scale (fp32_scale)
};

// The first 896 bytes of a block: per-channel constants in lane order (struct of arrays, so
// that a vector of lanes loads straight from it). The 64-bit constants are split into even
// and odd lanes, the order the 32x32->64 multiplies produce them in.
struct packed_block_header {
  std::int32_t bias_unsigned[16];     // bias + (input_offset - 128)·Σw
  std::int32_t bias_signed[16];       // bias + input_offset·Σw
  std::int32_t multiplier[16];        // fused: Q31 multiplier
  std::int32_t pre_shift[16];         // fused: left shift of the accumulator (1 + max(shift, 0))
  std::int64_t constant_even[8];      // fused: the constant of lanes 0, 2, ..., 14
  std::int64_t constant_odd[8];       // fused: the constant of lanes 1, 3, ..., 15
  std::int32_t final_shift[16];       // fused: arithmetic right shift of the high half
  std::int32_t sign_mask[16];         // fused: -1 where the form subtracts 1 for negative inputs
  std::int32_t zero_point_after[16];  // fused: the zero point when not folded into the constant
  float scale[16];                    // fp32: the float32 scale
  float float_multiplier[16];         // float form: f
  float float_constant_negative[16];  // float form: c where the accumulator is negative
  float float_constant_nonnegative[16];
  std::int32_t requantization;        // packed_requantization
  std::int32_t has_sign_correction;   // fused: some lane has sign_mask set
  std::int32_t has_zero_point_after;  // fused: some lane has zero_point_after != 0
  std::int32_t has_float_form;        // fused blocks: every real lane has the float form too
  std::int32_t reserved[12];
};
static_assert(sizeof(packed_block_header) == 896, "the header is 14 cache lines");

// A view of packed weights in caller storage (see pack_conv2d_weights, pack_fully_connected_
// weights). Valid while that storage lives and unchanged.
struct packed_weights {
  const unsigned char* data = nullptr;
  std::size_t size = 0;                // bytes used
  std::int32_t groups = 1;             // conv groups (FC: 1)
  std::int32_t group_outputs = 0;      // output channels per group
  std::int32_t taps = 1;               // filter taps KH·KW (FC: 1)
  std::int32_t segment = 0;            // input values per tap (conv: C_in / groups; FC: depth)
  std::int32_t segment_groups = 0;     // ceil(segment / 4)
  std::int32_t blocks_per_group = 0;   // ceil(group_outputs / 16)
  std::size_t block_bytes = 0;         // header + taps · segment_groups · 64
  std::size_t zero_row_offset = 0;     // where the zero-point row starts

  const unsigned char* block(std::int32_t group, std::int32_t block_index) const noexcept {
    return data + (static_cast<std::size_t>(group) * static_cast<std::size_t>(blocks_per_group) +
                   static_cast<std::size_t>(block_index)) *
                      block_bytes;
  }
  const std::int8_t* zero_row() const noexcept { return reinterpret_cast<const std::int8_t*>(data + zero_row_offset); }
};

namespace detail {

// The zero-point row: every k-group of a tap readable, plus slack for over-reading loads.
constexpr std::size_t zero_row_bytes(std::int32_t segment_groups) noexcept {
  return static_cast<std::size_t>(segment_groups) * packed_k_group + 64;
}

// The geometry (everything but data) of packed weights, and their size in bytes.
constexpr packed_weights packed_geometry(std::int32_t groups, std::int32_t group_outputs, std::int32_t taps,
                                         std::int32_t segment) noexcept {
  packed_weights g;
  g.groups = groups;
  g.group_outputs = group_outputs;
  g.taps = taps;
  g.segment = segment;
  g.segment_groups = (segment + packed_k_group - 1) / packed_k_group;
  g.blocks_per_group = (group_outputs + packed_block_channels - 1) / packed_block_channels;
  g.block_bytes = sizeof(packed_block_header) + static_cast<std::size_t>(taps) *
                                                    static_cast<std::size_t>(g.segment_groups) * packed_k_group_bytes;
  g.zero_row_offset = static_cast<std::size_t>(groups) * static_cast<std::size_t>(g.blocks_per_group) * g.block_bytes;
  g.size = g.zero_row_offset + zero_row_bytes(g.segment_groups);
  return g;
}

template <class Policy>
inline constexpr bool has_fused_form =
    std::is_same<Policy, double_rounding>::value || std::is_same<Policy, single_rounding>::value;

// Where one block's source data lives. Weights of output channel c (of the group), tap t,
// value i: weights[c·row_stride + t·segment + i] (OHWI filters and FC [units][depth] both
// have that form). multipliers[c] (or multipliers[0] for every channel when per_tensor).
template <class Policy>
struct block_source {
  const std::int8_t* weights = nullptr;
  std::size_t row_stride = 0;
  const std::int32_t* bias = nullptr;  // nullptr: none
  const typename Policy::multiplier_type* multipliers = nullptr;
  bool per_tensor = false;
  std::int32_t input_offset = 0;
  std::int32_t output_offset = 0;
};

// Lane l of a block header for a channel whose weights sum to `sum` (and their magnitudes to
// `sum_abs`), with bias `bias` and multiplier m. Clears *all_fused when the channel has no
// fused form (its accumulator bound is too wide for it), and *all_float when it has no float
// form (all_float == nullptr: the float form is not sought).
template <class Policy>
void fill_header_lane(packed_block_header& h, std::int32_t l, std::int64_t sum, std::int64_t sum_abs,
                      std::int64_t bias, const typename Policy::multiplier_type& m, std::int32_t input_offset,
                      std::int32_t output_offset, bool* all_fused, bool* all_float) noexcept {
  // Each form is exact modulo 2^32, and the true accumulator fits int32 (prepare's bound):
  // the kernels' wrapping sums land on it.
  h.bias_signed[l] = static_cast<std::int32_t>(static_cast<std::uint32_t>(bias + input_offset * sum));
  h.bias_unsigned[l] = static_cast<std::int32_t>(static_cast<std::uint32_t>(bias + (input_offset - 128) * sum));
  if constexpr (std::is_same<Policy, fp32_scale>::value) {
    h.scale[l] = m;
  } else if constexpr (detail::has_fused_form<Policy>) {
    // |acc| <= Σ|w| · max|x + input_offset| + |bias|: the bound of this channel.
    const std::int64_t bound =
        sum_abs * max_abs_offset_value<std::int8_t>(-input_offset) + (bias < 0 ? -bias : bias);
    const auto f = bound <= INT32_MAX
                       ? make_fused_requantization<Policy>(m, output_offset, static_cast<std::int32_t>(bound))
                       : result<fused_requantization>(status(status_code::overflow, "accumulator bound"));
    if (!f.ok()) {
      *all_fused = false;
      return;
    }
    h.multiplier[l] = f->multiplier;
    h.pre_shift[l] = f->pre_shift;
    if (l % 2 == 0) {
      h.constant_even[l / 2] = f->constant;
    } else {
      h.constant_odd[l / 2] = f->constant;
    }
    h.final_shift[l] = f->final_shift;
    h.sign_mask[l] = f->sign_correction ? -1 : 0;
    h.zero_point_after[l] = f->zero_point_after;
    if (f->sign_correction) h.has_sign_correction = 1;
    if (f->zero_point_after != 0) h.has_zero_point_after = 1;
    if (all_float != nullptr && *all_float) {
      const float_step_form form = make_accumulator_float_form(
          [&m, output_offset](std::int32_t acc) { return std::int64_t{Policy::multiply(acc, m)} + output_offset; }, m,
          bound);
      *all_float = form.valid;
      h.float_multiplier[l] = form.multiplier;
      h.float_constant_negative[l] = form.constant_negative;
      h.float_constant_nonnegative[l] = form.constant_nonnegative;
    }
  } else {
    *all_fused = false;
  }
}

// The block's requantization kind, once every lane is filled.
template <class Policy>
void finish_header(packed_block_header& h, bool all_fused, bool all_float) noexcept {
  if constexpr (std::is_same<Policy, fp32_scale>::value) {
    h.requantization = static_cast<std::int32_t>(packed_requantization::fp32);
  } else {
    const bool fused = all_fused && detail::has_fused_form<Policy>;
    h.requantization = static_cast<std::int32_t>(fused ? packed_requantization::fused : packed_requantization::scalar);
    h.has_float_form = fused && all_float ? 1 : 0;
  }
}

// An empty header: unused lanes keep these neutral values.
inline packed_block_header empty_header() noexcept {
  packed_block_header h{};
  for (std::int32_t l = 0; l < packed_block_channels; ++l) h.pre_shift[l] = 1;
  return h;
}

// Whether packing for a kernel looks for the float form: only the AVX-512 tiles use it, and
// the search costs a few microseconds per channel.
#if QKERN_SIMD
inline constexpr bool packs_float_form = XSIMD_WITH_AVX512BW != 0;
#else
inline constexpr bool packs_float_form = false;
#endif

// Packs the 16 channels [first, first + 16) of a group (those below group_outputs are real)
// into dst (block_bytes of geometry g), with the float form where `with_float_form` and it
// exists. Not constexpr: it writes raw bytes.
template <class Policy>
void pack_block(const packed_weights& g, const block_source<Policy>& src, std::int32_t first, unsigned char* dst,
                bool with_float_form = packs_float_form) noexcept {
  packed_block_header h = empty_header();
  const std::int32_t valid = g.group_outputs - first < packed_block_channels ? g.group_outputs - first
                                                                              : packed_block_channels;
  bool all_fused = true;
  bool all_float = with_float_form;
  for (std::int32_t l = 0; l < valid; ++l) {
    const std::int32_t c = first + l;
    const std::int8_t* w = src.weights + static_cast<std::size_t>(c) * src.row_stride;
    std::int64_t sum = 0;
    std::int64_t sum_abs = 0;
    const std::int64_t count = std::int64_t{g.taps} * g.segment;
    for (std::int64_t i = 0; i < count; ++i) {
      sum += w[i];
      sum_abs += w[i] < 0 ? -w[i] : w[i];
    }
    const std::int64_t bias = src.bias != nullptr ? src.bias[c] : 0;
    fill_header_lane<Policy>(h, l, sum, sum_abs, bias, src.multipliers[src.per_tensor ? 0 : c], src.input_offset,
                             src.output_offset, &all_fused, with_float_form ? &all_float : nullptr);
  }
  finish_header<Policy>(h, all_fused, all_float);
  std::memcpy(dst, &h, sizeof h);

  unsigned char* out = dst + sizeof h;
  const std::size_t tap_bytes = static_cast<std::size_t>(g.segment_groups) * packed_k_group_bytes;
  std::memset(out, 0, static_cast<std::size_t>(g.taps) * tap_bytes);  // padding values and channels
  const std::int32_t full = g.segment / packed_k_group;
  const std::int32_t rest = g.segment % packed_k_group;
  for (std::int32_t l = 0; l < valid; ++l) {
    const std::int8_t* w = src.weights + static_cast<std::size_t>(first + l) * src.row_stride;
    unsigned char* lane = out + static_cast<std::size_t>(l) * packed_k_group;
    for (std::int32_t t = 0; t < g.taps; ++t, lane += tap_bytes) {
      unsigned char* k = lane;
      for (std::int32_t j = 0; j < full; ++j, w += packed_k_group, k += packed_k_group_bytes) {
        std::memcpy(k, w, packed_k_group);
      }
      if (rest != 0) {
        std::memcpy(k, w, static_cast<std::size_t>(rest));
        w += rest;
      }
    }
  }
}

// Fills the zero-point row of geometry g at dst.
inline void pack_zero_row(const packed_weights& g, std::int32_t input_zero_point, unsigned char* dst) noexcept {
  std::memset(dst, static_cast<unsigned char>(static_cast<std::int8_t>(input_zero_point)),
              zero_row_bytes(g.segment_groups));
}

constexpr status require_packed_storage(const void* storage, std::size_t capacity, std::size_t needed) noexcept {
  if (storage == nullptr) return status(status_code::invalid_argument, "packed weight storage is null", "packed");
  if (capacity < needed) {
    return status(status_code::buffer_too_small, "packed weight storage is smaller than params.packed_weights_size",
                  "packed", static_cast<std::int64_t>(needed));
  }
  return {};
}

// The header of a packed block (a copy: the storage need not be aligned).
inline packed_block_header read_block_header(const unsigned char* block) noexcept {
  packed_block_header h;
  std::memcpy(&h, block, sizeof h);
  return h;
}

}  // namespace detail
}  // namespace qkern
