// The AVX-512 VNNI path of int8 depthwise_conv2d (depth multiplier 1, filters up to 4 rows
// and 3 or 5 columns, horizontal stride 1 or 2, horizontal dilation 1): bit-identical to
// scalar::depthwise_conv2d, included by depthwise_conv2d.hpp.
//
// One vpdpbusd sums the 4 vertical taps of one filter column: dword lane l of channel c holds
// the bytes (x[y0][ix][c], x[y0 + d][ix][c], x[y0 + 2d][ix][c], x[y0 + 3d][ix][c]) of input column
// ix (each XOR 0x80, i.e. x + 128 as an unsigned byte) against the filter column's 4 weights
// (0 below the filter). So a 3x3 filter is 3 vpdpbusd per 16 channels and pixel, and a column
// vector built once serves the KW pixels whose windows contain it.
//
// A column of 64 channels is built from one 64-byte load per filter row and two rounds of
// byte/word unpacks. The unpacks work within 128-bit lanes, so vector j (0..3) of a column
// holds channels 16k + 4j + i (k the 128-bit lane, i the dword in it): a fixed permutation that
// the weights and per-channel constants are stored in, and that the packs of the output stage
// (dwords -> words -> bytes, also within 128-bit lanes) undo: 64 outputs come out in order.
//
// The sums are (x + 128)·w; the bias carries bias + (input_offset - 128)·Σw (packed_weights.hpp),
// and padding taps read the input zero point, whose (z + input_offset)·w is 0, so every pixel
// shares that bias. The accumulators wrap modulo 2^32 and land on the reference's int32 sum,
// which prepare bounds.
//
// Blocks are prepared one at a time on the stack (weights, bias and requantization constants
// of 64 channels: about 3.5 KiB) and swept over the whole image, 4 (stride 1) or 5 (stride 2)
// pixels of a row at a time. The output stage is the fused requantization in an unsigned form
// (dw_vnni_block) or fp32_scale's; a call with a channel outside that form (a left shift that
// leaves no 32-bit multiplier, a zero point that does not fold) is declined: run() returns
// false and the caller takes the generic path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qkern/core/multiplier.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/rounding_fp32.hpp"
#include "qkern/kernels/conv/accumulator.hpp"
#include "qkern/kernels/conv/gemm_simd.hpp"  // QKERN_CONV_UNROLL, QKERN_CONV_ALWAYS_INLINE
#include "qkern/simd/arch.hpp"
#include "qkern/simd/requantize_lanes.hpp"

#if XSIMD_WITH_AVX512BW && defined(__AVX512VNNI__)
#define QKERN_DEPTHWISE_VNNI 1
#include <immintrin.h>
#else
#define QKERN_DEPTHWISE_VNNI 0
#endif

namespace qkern {
namespace simd {
namespace detail {

#if QKERN_DEPTHWISE_VNNI

inline constexpr std::int32_t dw_vnni_channels = 64;  // channels per block
inline constexpr std::int32_t dw_vnni_max_rows = 4;   // filter rows per vpdpbusd
inline constexpr std::int32_t dw_vnni_max_columns = 5;

// Whether the VNNI path takes these params (int8 and depth multiplier 1 are the caller's).
template <class Params>
constexpr bool dw_vnni_applies(const Params& p) noexcept {
  const std::int32_t kw = p.filter_shape[2];
  return p.filter_shape[1] <= dw_vnni_max_rows && (kw == 3 || kw == 5) && p.dilation_width == 1 &&
         (p.stride_width == 1 || p.stride_width == 2);
}

// One block of 64 channels, prepared: weights [filter column][vector j] in the unpack order
// (lane l of vector j is channel 16·(l / 4) + 4j + l % 4), the bias, and the requantization
// constants of each vector.
//
// TFLite's roundings use the fused form (core/fused_requantization.hpp) without its pre-shift:
// the bias carries + 2^31, so an accumulator arrives as u = x + 2^31 (unsigned), and
//   2^s·x·m + constant = u·M + (constant - 2^31·M)   (mod 2^64),   M = 2^s·m < 2^32
// is one unsigned 32x32 multiply and one add; the true sum fits int64, so its high dword is
// exact. Double rounding's -[x<0] is folded into the constant as -2^32 and given back (+1)
// where u's top bit says x >= 0.
template <class A>
struct dw_vnni_block {
  __m512i weights[dw_vnni_max_columns][4];
  __m512i bias[4];
  __m512i multiplier[4];      // dword l: M of lane l (vpmuludq reads the even ones)
  __m512i multiplier_odd[4];  // qword i: M of lane 2i + 1
  __m512i constant_even[4];   // qword i: the constant of lane 2i
  __m512i constant_odd[4];    // qword i: the constant of lane 2i + 1
  __m512i final_shift[4];
  __m512i sign[4];            // 1 where the lane's form has the sign correction
  alignas(64) float scale[4][16];  // fp32_scale
};

// The input rows of one output row for one block: filter row fy reads channels `masks[fy]` of
// rows[fy] + ix·channels, and the input zero point in the other lanes (every lane of a padding
// row, whose mask is 0; masked-off lanes are never read).
struct dw_vnni_rows {
  const std::int8_t* rows[dw_vnni_max_rows];
  __mmask64 masks[dw_vnni_max_rows];
  std::ptrdiff_t channels;
  __m512i zero_point;  // the input zero point in every byte
};

// How a column is loaded: whole (every row inside, 64 channels), through the row masks, or
// through the row masks and a check of the column against the input's width.
enum class dw_vnni_load { plain, masked, edge };

// The column at byte offset `offset` of the rows as 4 vectors of dwords (the file comment);
// `inside`: whether the column lies inside the input (edge loads only).
template <int KH, dw_vnni_load L>
QKERN_CONV_ALWAYS_INLINE inline void dw_vnni_column(const dw_vnni_rows& r, std::ptrdiff_t offset, bool inside,
                                                    __m512i (&v)[4]) noexcept {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512i row[4];
  QKERN_CONV_UNROLL
  for (int fy = 0; fy < 4; ++fy) {
    if (fy >= KH) {
      row[fy] = row[KH - 1];  // any bytes: their weights are 0
    } else if constexpr (L == dw_vnni_load::plain) {
      row[fy] = _mm512_xor_si512(_mm512_loadu_si512(r.rows[fy] + offset), flip);
    } else {
      const __mmask64 k = L == dw_vnni_load::edge && !inside ? __mmask64{0} : r.masks[fy];
      row[fy] = _mm512_xor_si512(_mm512_mask_loadu_epi8(r.zero_point, k, r.rows[fy] + offset), flip);
    }
  }
  const __m512i low01 = _mm512_unpacklo_epi8(row[0], row[1]);
  const __m512i high01 = _mm512_unpackhi_epi8(row[0], row[1]);
  const __m512i low23 = _mm512_unpacklo_epi8(row[2], row[3]);
  const __m512i high23 = _mm512_unpackhi_epi8(row[2], row[3]);
  v[0] = _mm512_unpacklo_epi16(low01, low23);
  v[1] = _mm512_unpackhi_epi16(low01, low23);
  v[2] = _mm512_unpacklo_epi16(high01, high23);
  v[3] = _mm512_unpackhi_epi16(high01, high23);
}

// P pixels of one output row, from the window at column x0 on, stride S: the (P - 1)·S + KW
// columns they span are built once each and fed to every pixel whose window holds them.
template <int KH, int KW, int S, int P, dw_vnni_load L, class A>
QKERN_CONV_ALWAYS_INLINE inline void dw_vnni_pixels(const dw_vnni_rows& r, std::int32_t x0, std::int32_t in_w,
                                                    const dw_vnni_block<A>& blk, __m512i (&acc)[P][4]) noexcept {
  constexpr int columns = (P - 1) * S + KW;
  QKERN_CONV_UNROLL
  for (int q = 0; q < P; ++q) {
    QKERN_CONV_UNROLL
    for (int j = 0; j < 4; ++j) acc[q][j] = blk.bias[j];
  }
  std::ptrdiff_t offset = x0 * r.channels;
  QKERN_CONV_UNROLL
  for (int c = 0; c < columns; ++c) {
    __m512i v[4];
    dw_vnni_column<KH, L>(r, offset, static_cast<std::uint32_t>(x0 + c) < static_cast<std::uint32_t>(in_w), v);
    QKERN_CONV_UNROLL
    for (int q = 0; q < P; ++q) {
      const int fx = c - q * S;
      if (fx < 0 || fx >= KW) continue;
      QKERN_CONV_UNROLL
      for (int j = 0; j < 4; ++j) acc[q][j] = _mm512_dpbusd_epi32(acc[q][j], v[j], blk.weights[fx][j]);
    }
    offset += r.channels;
#if defined(__GNUC__) || defined(__clang__)
    // one running offset (register + register addressing) rather than one address per row
    // and column computed up front, which runs out of registers
    __asm__("" : "+r"(offset));
#endif
  }
}

// One lane's requantization constants (dw_vnni_block) for |x| <= bound: make_fused_requantization
// (core/fused_requantization.hpp) step for step, in this path's unsigned form; false where
// that form does not apply (a left shift too wide for 32 bits, a zero point that does not fold,
// or no fused form at all). Written out rather than called: this runs per channel and call,
// and result<> round trips through memory cost more than the rest of the lane.
struct dw_vnni_lane {
  std::uint32_t multiplier;
  std::uint64_t constant;
  std::int32_t final_shift;
  bool sign;
};
template <class Policy>
inline bool dw_vnni_lane_constants(const quantized_multiplier& m, std::int64_t bound, std::int32_t zero_point,
                                   dw_vnni_lane& lane) noexcept {
  if (m.multiplier < 0 || m.shift < -31 || m.shift > 30 || bound > INT32_MAX) return false;
  const int left = m.shift > 0 ? m.shift : 0;
  const int right = m.shift > 0 ? 0 : -m.shift;
  const int pre_shift = 1 + left;
  if ((bound << pre_shift) > INT32_MAX) return false;
  const std::int64_t multiplier = std::int64_t{m.multiplier} << pre_shift;
  if (multiplier > INT64_C(0xFFFFFFFF)) return false;
  const std::int64_t zp_magnitude = zero_point < 0 ? -std::int64_t{zero_point} : zero_point;
  if (!(32 + right < 62 && zp_magnitude < (std::int64_t{1} << (62 - 32 - right)))) return false;
  lane.sign = right > 0 && std::is_same<Policy, double_rounding>::value;
  std::int64_t constant = std::int64_t{1} << 31;
  if (right > 0) constant = lane.sign ? constant + (std::int64_t{1} << (31 + right)) : std::int64_t{1} << (31 + right);
  constant += static_cast<std::int64_t>(static_cast<std::uint64_t>(std::int64_t{zero_point}) << (32 + right));
  // u = x + 2^31: subtract 2^31·M; double rounding's -1 for x < 0 as -2^32, given back for x >= 0
  lane.multiplier = static_cast<std::uint32_t>(multiplier);
  lane.constant = static_cast<std::uint64_t>(constant) - (static_cast<std::uint64_t>(multiplier) << 31) -
                  (lane.sign ? std::uint64_t{1} << 32 : 0);
  lane.final_shift = right;
  return true;
}

template <class A, class Policy, class Params>
class depthwise_vnni {
  static constexpr bool fp32 = std::is_same<Policy, fp32_scale>::value;
  static_assert(fp32 || std::is_same<Policy, double_rounding>::value || std::is_same<Policy, single_rounding>::value,
                "a policy the path knows");

  const Params& p;
  const std::int8_t* input;
  const std::int8_t* filter;
  const std::int32_t* bias;
  std::int8_t* output;
  std::int32_t in_h, in_w, out_h, out_w, kh, kw, channels;
  int8_output_range<A> range;
  __m512i low, high;   // the clamp bounds, as bytes
  bool clamp;          // whether they are narrower than int8's (the packs saturate to it)
  __m512i zero_point;  // the input zero point in every byte
  dw_vnni_block<A> blk;

 public:
  depthwise_vnni(const Params& params, const std::int8_t* in, const std::int8_t* f, const std::int32_t* b,
                 std::int8_t* out) noexcept
      : p(params),
        input(in),
        filter(f),
        bias(b),
        output(out),
        in_h(params.input_shape[1]),
        in_w(params.input_shape[2]),
        out_h(params.output_shape[1]),
        out_w(params.output_shape[2]),
        kh(params.filter_shape[1]),
        kw(params.filter_shape[2]),
        channels(params.output_shape[3]),
        range(params.output_activation_min, params.output_activation_max, params.output_offset) {
    low = _mm512_set1_epi8(static_cast<char>(params.output_activation_min));
    high = _mm512_set1_epi8(static_cast<char>(params.output_activation_max));
    clamp = params.output_activation_min > -128 || params.output_activation_max < 127;
    zero_point = _mm512_set1_epi8(static_cast<char>(-params.input_offset));
  }

  // Computes the output, or returns false (having written part of it) when a channel has no
  // requantization this path applies (see dw_vnni_block).
  bool run() noexcept {
    const std::int32_t s = p.stride_width;
    if (kh == 3) {
      if (kw == 3) return s == 1 ? sweep<3, 3, 1>() : sweep<3, 3, 2>();
      return s == 1 ? sweep<3, 5, 1>() : sweep<3, 5, 2>();
    }
    // 1, 2 or 4 rows: rows past kh repeat row 0 against weights 0
    if (kw == 3) return s == 1 ? sweep<4, 3, 1>() : sweep<4, 3, 2>();
    return s == 1 ? sweep<4, 5, 1>() : sweep<4, 5, 2>();
  }

 private:
  // Channel of lane l of vector j in the block starting at c0.
  static constexpr std::int32_t channel_of(std::int32_t c0, std::int32_t j, std::int32_t l) noexcept {
    return c0 + 16 * (l / 4) + 4 * j + l % 4;
  }

  bool prepare(std::int32_t c0, __mmask64 mask) noexcept {
    // The weights take the input columns' layout: filter row fy of column fx is byte fy of
    // every dword. Their sums (and of their magnitudes, as unsigned bytes) come from the same
    // dot products.
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i sums[4], magnitudes[4];
    for (auto& v : sums) v = _mm512_setzero_si512();
    for (auto& v : magnitudes) v = _mm512_setzero_si512();
    for (std::int32_t fx = 0; fx < dw_vnni_max_columns; ++fx) {
      __m512i row[4];
      for (std::int32_t fy = 0; fy < 4; ++fy) {
        row[fy] = fx < kw && fy < kh ? _mm512_maskz_loadu_epi8(mask, filter + static_cast<std::size_t>(fy * kw + fx) *
                                                                                  static_cast<std::size_t>(channels) +
                                                                              static_cast<std::size_t>(c0))
                                     : _mm512_setzero_si512();
      }
      const __m512i low01 = _mm512_unpacklo_epi8(row[0], row[1]);
      const __m512i high01 = _mm512_unpackhi_epi8(row[0], row[1]);
      const __m512i low23 = _mm512_unpacklo_epi8(row[2], row[3]);
      const __m512i high23 = _mm512_unpackhi_epi8(row[2], row[3]);
      blk.weights[fx][0] = _mm512_unpacklo_epi16(low01, low23);
      blk.weights[fx][1] = _mm512_unpackhi_epi16(low01, low23);
      blk.weights[fx][2] = _mm512_unpacklo_epi16(high01, high23);
      blk.weights[fx][3] = _mm512_unpackhi_epi16(high01, high23);
      for (std::int32_t j = 0; j < 4; ++j) {
        sums[j] = _mm512_dpbusd_epi32(sums[j], ones, blk.weights[fx][j]);
        magnitudes[j] = _mm512_dpbusd_epi32(magnitudes[j], _mm512_abs_epi8(blk.weights[fx][j]), ones);
      }
    }
    const std::int64_t max_input = ::qkern::detail::max_abs_offset_value<std::int8_t>(-p.input_offset);
    for (std::int32_t j = 0; j < 4; ++j) {
      alignas(64) std::int32_t sum[16], sum_abs[16];
      _mm512_store_si512(sum, sums[j]);
      _mm512_store_si512(sum_abs, magnitudes[j]);
      alignas(64) std::int32_t b[16] = {}, multiplier[16] = {}, shift[16] = {}, sign[16] = {};
      alignas(64) std::uint64_t constant[16] = {};
      for (std::int32_t l = 0; l < 16; ++l) {
        const std::int32_t c = channel_of(c0, j, l);
        if (c >= channels) {
          blk.scale[j][l] = 0.0f;
          continue;
        }
        const std::int64_t bias_c = bias != nullptr ? bias[c] : 0;
        // bias + (input_offset - 128)·Σw, the sums being (x + 128)·w; modulo 2^32 (the true
        // accumulator fits int32)
        const auto folded = static_cast<std::uint32_t>(bias_c + std::int64_t{p.input_offset - 128} * sum[l]);
        if constexpr (fp32) {
          b[l] = static_cast<std::int32_t>(folded);
          blk.scale[j][l] = p.output_multipliers[c];
        } else {
          dw_vnni_lane lane;
          const std::int64_t bound = std::int64_t{sum_abs[l]} * max_input + (bias_c < 0 ? -bias_c : bias_c);
          if (!dw_vnni_lane_constants<Policy>(p.output_multipliers[c], bound, p.output_offset, lane)) return false;
          b[l] = static_cast<std::int32_t>(folded + 0x80000000u);
          multiplier[l] = static_cast<std::int32_t>(lane.multiplier);
          constant[l] = lane.constant;
          shift[l] = lane.final_shift;
          sign[l] = lane.sign ? 1 : 0;
        }
      }
      blk.bias[j] = _mm512_load_si512(b);
      const __m512i even_lanes = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);
      const __m512i odd_lanes = _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1);
      blk.multiplier[j] = _mm512_load_si512(multiplier);
      blk.multiplier_odd[j] = _mm512_srli_epi64(blk.multiplier[j], 32);
      blk.constant_even[j] =
          _mm512_permutex2var_epi64(_mm512_load_si512(constant), even_lanes, _mm512_load_si512(constant + 8));
      blk.constant_odd[j] =
          _mm512_permutex2var_epi64(_mm512_load_si512(constant), odd_lanes, _mm512_load_si512(constant + 8));
      blk.final_shift[j] = _mm512_load_si512(shift);
      blk.sign[j] = _mm512_load_si512(sign);
    }
    return true;
  }

  // Vector j of one pixel's accumulators, requantized (int32 lanes, zero point added).
  QKERN_CONV_ALWAYS_INLINE __m512i requantize(std::int32_t j, __m512i acc) const noexcept {
    if constexpr (fp32) {
      return ::qkern::simd::requantize_fp32_lanes(xsimd::batch<std::int32_t, A>(acc), blk.scale[j], range);
    } else {
      const __m512i even = _mm512_add_epi64(_mm512_mul_epu32(acc, blk.multiplier[j]), blk.constant_even[j]);
      const __m512i odd = _mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64(acc, 32), blk.multiplier_odd[j]),
                                           blk.constant_odd[j]);
      const __m512i high_dwords = _mm512_set_epi32(31, 15, 29, 13, 27, 11, 25, 9, 23, 7, 21, 5, 19, 3, 17, 1);
      __m512i r = _mm512_permutex2var_epi32(even, high_dwords, odd);
      if constexpr (std::is_same<Policy, double_rounding>::value) {
        r = _mm512_mask_add_epi32(r, _mm512_movepi32_mask(acc), r, blk.sign[j]);
      }
      return _mm512_srav_epi32(r, blk.final_shift[j]);
    }
  }

  // Requantizes one pixel (64 channels) and stores the channels of the mask at dst.
  QKERN_CONV_ALWAYS_INLINE void finish(const __m512i (&acc)[4], __mmask64 mask, bool full,
                                       std::int8_t* dst) const noexcept {
    const __m512i r0 = requantize(0, acc[0]);
    const __m512i r1 = requantize(1, acc[1]);
    const __m512i r2 = requantize(2, acc[2]);
    const __m512i r3 = requantize(3, acc[3]);
    // Saturating packs within 128-bit lanes put channel 16k + 4j + i back at byte 16k + 4j + i.
    const __m512i bytes = _mm512_packs_epi16(_mm512_packs_epi32(r0, r1), _mm512_packs_epi32(r2, r3));
    const __m512i out = clamp ? _mm512_min_epi8(_mm512_max_epi8(bytes, low), high) : bytes;
    if (full) {
      _mm512_storeu_si512(dst, out);
    } else {
      _mm512_mask_storeu_epi8(dst, mask, out);
    }
  }

  template <int KH, int KW, int S>
  bool sweep() noexcept {
    constexpr int P = S == 1 ? 4 : 5;  // 20 accumulators at most
    const std::size_t row_bytes = static_cast<std::size_t>(in_w) * static_cast<std::size_t>(channels);
    for (std::int32_t c0 = 0; c0 < channels; c0 += dw_vnni_channels) {
      const std::int32_t count = channels - c0 < dw_vnni_channels ? channels - c0 : dw_vnni_channels;
      const bool full = count == dw_vnni_channels;
      const __mmask64 mask = full ? ~__mmask64{0} : (__mmask64{1} << count) - 1;
      if (!prepare(c0, mask)) return false;
      for (std::int32_t b = 0; b < p.output_shape[0]; ++b) {
        const std::int8_t* image = input + static_cast<std::size_t>(b) * static_cast<std::size_t>(in_h) * row_bytes + c0;
        for (std::int32_t oy = 0; oy < out_h; ++oy) {
          dw_vnni_rows r;
          r.channels = channels;
          r.zero_point = zero_point;
          const std::int32_t y0 = oy * p.stride_height - p.padding.height;
          bool rows_inside = true;
          for (std::int32_t fy = 0; fy < dw_vnni_max_rows; ++fy) {
            const std::int32_t iy = y0 + (fy < kh ? fy : 0) * p.dilation_height;
            const bool inside = iy >= 0 && iy < in_h;
            r.rows[fy] = image + static_cast<std::size_t>(inside ? iy : 0) * row_bytes;
            r.masks[fy] = inside ? mask : __mmask64{0};
            rows_inside = rows_inside && inside;
          }
          const bool plain = rows_inside && full;
          std::int8_t* out_row = output +
                                 ((static_cast<std::size_t>(b) * static_cast<std::size_t>(out_h) +
                                   static_cast<std::size_t>(oy)) *
                                  static_cast<std::size_t>(out_w)) *
                                     static_cast<std::size_t>(channels) +
                                 static_cast<std::size_t>(c0);
          // P pixels at a time; the last group overlaps the one before (its pixels computed
          // twice, identically) rather than running short, unless the row is shorter than P.
          // Groups whose columns all lie inside the input skip the column checks.
          for (std::int32_t ox = 0; ox < out_w; ox += P) {
            if (ox + P > out_w && out_w >= P) ox = out_w - P;
            const std::int32_t x0 = ox * S - p.padding.width;
            __m512i acc[P][4];
            if (x0 < 0 || x0 + (P - 1) * S + KW > in_w) {
              dw_vnni_pixels<KH, KW, S, P, dw_vnni_load::edge>(r, x0, in_w, blk, acc);
            } else if (plain) {
              dw_vnni_pixels<KH, KW, S, P, dw_vnni_load::plain>(r, x0, in_w, blk, acc);
            } else {
              dw_vnni_pixels<KH, KW, S, P, dw_vnni_load::masked>(r, x0, in_w, blk, acc);
            }
            const std::int32_t n = out_w - ox < P ? out_w - ox : P;
            std::int8_t* dst = out_row + static_cast<std::size_t>(ox) * static_cast<std::size_t>(channels);
            QKERN_CONV_UNROLL
            for (int q = 0; q < P; ++q, dst += channels) {
              if (q < n) finish(acc[q], mask, full, dst);
            }
          }
        }
      }
    }
    return true;
  }
};

#endif  // QKERN_DEPTHWISE_VNNI

}  // namespace detail
}  // namespace simd
}  // namespace qkern
