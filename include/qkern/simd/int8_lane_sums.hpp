// int8_lane_sums<A>: lane-wise int32 sums of many int8 batches (the mean's channel sums), exact,
// in whichever lane layout the backend sums fastest, and the way back to int8 lanes in order.
// int8_word_sums<A> (below): the same for short int16 sums (the average pool's windows).
//
//   sums.add_run(p, n, s, load)  adds the n <= flush_every batches load(p + k·s)
//   sums.total              four int32 batches, in the backend's layout
//   narrow(r)               four int32 batches in that layout -> one int8 batch in lane order,
//                           each lane saturated
//   store_lane_order(t, p)  four int32 batches in that layout -> p[0 .. 4 · int32 lanes) in order
//
// Layouts:
//   generic                 total[k] holds lanes [k·n, (k+1)·n) (n = int32 lanes): two widenings
//                           per batch (int8 -> int16 -> int32), int16 partial sums of at most
//                           128 batches each.
//   SSSE3, AVX2, AVX-512BW  total[k] lane 4j + u holds byte lane 16j + 4k + u, the order that
//                           packing gives back: see int8_lane_sums_blocks (pairs of taps
//                           through pmaddubsw; with AVX-512 VNNI quads through vpdpbusd). Three
//                           instructions per batch instead of six.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "qkern/simd/arch.hpp"
#include "qkern/simd/convert.hpp"

#if XSIMD_WITH_SSSE3 || XSIMD_WITH_AVX2 || XSIMD_WITH_AVX512BW
#include <immintrin.h>
#endif

namespace qkern {
namespace simd {
namespace detail {

template <class A>
struct int8_lane_sums_generic {
  using bytes = xsimd::batch<std::int8_t, A>;
  using words = xsimd::batch<std::int16_t, A>;
  using dwords = xsimd::batch<std::int32_t, A>;
  static constexpr int flush_every = 256;  // batches, in pairs

  std::array<dwords, 4> total{dwords(0), dwords(0), dwords(0), dwords(0)};
  words low0 = words(std::int16_t{0}), high0 = words(std::int16_t{0});
  words low1 = words(std::int16_t{0}), high1 = words(std::int16_t{0});

  void add(const bytes& x0, const bytes& x1) noexcept {
    low0 += simd::widen_low(x0);
    high0 += simd::widen_high(x0);
    low1 += simd::widen_low(x1);
    high1 += simd::widen_high(x1);
  }
  // add() of the `count` (<= flush_every) batches load(tap), load(tap + step), ..., then flush().
  template <class Load>
  void add_run(const std::int8_t* tap, std::int64_t count, std::int64_t step, Load load) noexcept {
    std::int64_t j = 0;
    for (; j + 2 <= count; j += 2, tap += 2 * step) add(load(tap), load(tap + step));
    if (j < count) add(load(tap), bytes(std::int8_t{0}));
    flush();
  }
  void flush() noexcept {
    total[0] += simd::widen_low(low0) + simd::widen_low(low1);
    total[1] += simd::widen_high(low0) + simd::widen_high(low1);
    total[2] += simd::widen_low(high0) + simd::widen_low(high1);
    total[3] += simd::widen_high(high0) + simd::widen_high(high1);
    low0 = high0 = low1 = high1 = words(std::int16_t{0});
  }
  static bytes narrow(const std::array<dwords, 4>& r) noexcept {
    return simd::saturating_narrow<std::int8_t>(r[0], r[1], r[2], r[3]);
  }
  static void store_lane_order(const std::array<dwords, 4>& t, std::int32_t* out) noexcept {
    for (std::size_t k = 0; k < 4; ++k) t[k].store_unaligned(out + k * dwords::size);
  }
};

#if XSIMD_WITH_SSSE3 || XSIMD_WITH_AVX2 || XSIMD_WITH_AVX512BW
// The x86 primitives of the block layout, per register width (every one works within 128-bit
// blocks, so the layout is the same for SSE, AVX2 and AVX-512).

#if defined(__AVX512VNNI__)
constexpr bool avx512_has_vnni = true;  // internal linkage: one value per TU
#else
constexpr bool avx512_has_vnni = false;
#endif

#if XSIMD_WITH_SSSE3
template <class A>
struct x86_lane_sum_ops_sse {
  using reg = __m128i;
  static constexpr bool vnni = false;
  static reg zero() noexcept { return _mm_setzero_si128(); }
  static reg ones() noexcept { return _mm_set1_epi8(1); }
  static reg unpacklo8(reg a, reg b) noexcept { return _mm_unpacklo_epi8(a, b); }
  static reg unpackhi8(reg a, reg b) noexcept { return _mm_unpackhi_epi8(a, b); }
  static reg unpacklo16(reg a, reg b) noexcept { return _mm_unpacklo_epi16(a, b); }
  static reg unpackhi16(reg a, reg b) noexcept { return _mm_unpackhi_epi16(a, b); }
  static reg maddubs(reg unsigned_bytes, reg signed_bytes) noexcept { return _mm_maddubs_epi16(unsigned_bytes, signed_bytes); }
  static reg add16(reg a, reg b) noexcept { return _mm_add_epi16(a, b); }
  static reg sign16(reg a) noexcept { return _mm_srai_epi16(a, 15); }
  static reg pack(reg r0, reg r1, reg r2, reg r3) noexcept {
    return _mm_packs_epi16(_mm_packs_epi32(r0, r1), _mm_packs_epi32(r2, r3));
  }
  static reg pack16(reg lo, reg hi) noexcept { return _mm_packs_epi16(lo, hi); }
};
#endif

#if XSIMD_WITH_AVX2
template <class A>
struct x86_lane_sum_ops_avx2 {
  using reg = __m256i;
  static constexpr bool vnni = false;
  static reg zero() noexcept { return _mm256_setzero_si256(); }
  static reg ones() noexcept { return _mm256_set1_epi8(1); }
  static reg unpacklo8(reg a, reg b) noexcept { return _mm256_unpacklo_epi8(a, b); }
  static reg unpackhi8(reg a, reg b) noexcept { return _mm256_unpackhi_epi8(a, b); }
  static reg unpacklo16(reg a, reg b) noexcept { return _mm256_unpacklo_epi16(a, b); }
  static reg unpackhi16(reg a, reg b) noexcept { return _mm256_unpackhi_epi16(a, b); }
  static reg maddubs(reg unsigned_bytes, reg signed_bytes) noexcept {
    return _mm256_maddubs_epi16(unsigned_bytes, signed_bytes);
  }
  static reg add16(reg a, reg b) noexcept { return _mm256_add_epi16(a, b); }
  static reg sign16(reg a) noexcept { return _mm256_srai_epi16(a, 15); }
  static reg pack(reg r0, reg r1, reg r2, reg r3) noexcept {
    return _mm256_packs_epi16(_mm256_packs_epi32(r0, r1), _mm256_packs_epi32(r2, r3));
  }
  static reg pack16(reg lo, reg hi) noexcept { return _mm256_packs_epi16(lo, hi); }
};
#endif

#if XSIMD_WITH_AVX512BW
template <class A, bool Vnni>
struct x86_lane_sum_ops_avx512 {
  using reg = __m512i;
  static constexpr bool vnni = Vnni;
  static reg zero() noexcept { return _mm512_setzero_si512(); }
  static reg ones() noexcept { return _mm512_set1_epi8(1); }
  static reg unpacklo8(reg a, reg b) noexcept { return _mm512_unpacklo_epi8(a, b); }
  static reg unpackhi8(reg a, reg b) noexcept { return _mm512_unpackhi_epi8(a, b); }
  static reg unpacklo16(reg a, reg b) noexcept { return _mm512_unpacklo_epi16(a, b); }
  static reg unpackhi16(reg a, reg b) noexcept { return _mm512_unpackhi_epi16(a, b); }
  static reg maddubs(reg unsigned_bytes, reg signed_bytes) noexcept {
    return _mm512_maddubs_epi16(unsigned_bytes, signed_bytes);
  }
  static reg add16(reg a, reg b) noexcept { return _mm512_add_epi16(a, b); }
  static reg sign16(reg a) noexcept { return _mm512_srai_epi16(a, 15); }
  static reg pack(reg r0, reg r1, reg r2, reg r3) noexcept {
    return _mm512_packs_epi16(_mm512_packs_epi32(r0, r1), _mm512_packs_epi32(r2, r3));
  }
  static reg pack16(reg lo, reg hi) noexcept { return _mm512_packs_epi16(lo, hi); }
  // acc + the sums of the four signed bytes of every dword (ones as the unsigned operand).
  static reg dot4(reg acc, reg quads) noexcept {
#if defined(__AVX512VNNI__)
    return _mm512_dpbusd_epi32(acc, ones(), quads);
#else
    return quads;  // never instantiated: Vnni is true only with __AVX512VNNI__
#endif
  }
};
#endif

// The block layout: total[k] lane 4j + u holds byte lane 16j + 4k + u (j: 128-bit block, u < 4),
// so that packing the four totals (packssdw, packsswb) gives the byte lanes back in order.
// Taps go in by pairs: unpacking two batches byte by byte puts the two values of one lane side
// by side, and pmaddubsw against ones adds them (the pair of lane 16j + t lands in word 8j + t
// of the low half for t < 8, of the high half for t >= 8; each int16 word takes at most 128
// pairs). With AVX-512 VNNI, by quads: a second unpack round (words) puts four values of one
// lane in a dword, which vpdpbusd adds straight into the int32 totals.
template <class A, class Ops>
struct int8_lane_sums_blocks {
  using bytes = xsimd::batch<std::int8_t, A>;
  using dwords = xsimd::batch<std::int32_t, A>;
  using reg = typename Ops::reg;
  static constexpr int flush_every = 256;  // taps per add_run

  std::array<dwords, 4> total{dwords(0), dwords(0), dwords(0), dwords(0)};

  // Adds the int16 word sums of the byte lanes 16j + t (low: t < 8, high: t >= 8) to the totals.
  void add_words(reg low, reg high) noexcept {
    const reg low_sign = Ops::sign16(low);
    const reg high_sign = Ops::sign16(high);
    total[0] += dwords(Ops::unpacklo16(low, low_sign));
    total[1] += dwords(Ops::unpackhi16(low, low_sign));
    total[2] += dwords(Ops::unpacklo16(high, high_sign));
    total[3] += dwords(Ops::unpackhi16(high, high_sign));
  }

  // The `count` (<= flush_every) batches load(tap), load(tap + step), ... added to the totals.
  template <class Load>
  void add_run(const std::int8_t* tap, std::int64_t count, std::int64_t step, Load load) noexcept {
    const reg zero = Ops::zero();
    const std::int8_t* const quads_end = tap + (count / 4) * 4 * step;
    if constexpr (Ops::vnni) {
      // Two sets of accumulators, alternating by quad, so that vpdpbusd's latency overlaps.
      reg a0 = reg(total[0]), a1 = reg(total[1]), a2 = reg(total[2]), a3 = reg(total[3]);
      reg b0 = zero, b1 = zero, b2 = zero, b3 = zero;
      const auto add4 = [](reg& t0, reg& t1, reg& t2, reg& t3, reg x0, reg x1, reg x2, reg x3) {
        const reg l01 = Ops::unpacklo8(x0, x1), h01 = Ops::unpackhi8(x0, x1);
        const reg l23 = Ops::unpacklo8(x2, x3), h23 = Ops::unpackhi8(x2, x3);
        t0 = Ops::dot4(t0, Ops::unpacklo16(l01, l23));
        t1 = Ops::dot4(t1, Ops::unpackhi16(l01, l23));
        t2 = Ops::dot4(t2, Ops::unpacklo16(h01, h23));
        t3 = Ops::dot4(t3, Ops::unpackhi16(h01, h23));
      };
      const std::int8_t* const octets_end = tap + (count / 8) * 8 * step;
      for (; tap != octets_end; tap += 8 * step) {
        add4(a0, a1, a2, a3, load(tap), load(tap + step), load(tap + 2 * step), load(tap + 3 * step));
        add4(b0, b1, b2, b3, load(tap + 4 * step), load(tap + 5 * step), load(tap + 6 * step), load(tap + 7 * step));
      }
      if (tap != quads_end) {
        add4(a0, a1, a2, a3, load(tap), load(tap + step), load(tap + 2 * step), load(tap + 3 * step));
        tap += 4 * step;
      }
      switch (count % 4) {
        case 3: add4(b0, b1, b2, b3, load(tap), load(tap + step), load(tap + 2 * step), zero); break;
        case 2: add4(b0, b1, b2, b3, load(tap), load(tap + step), zero, zero); break;
        case 1: add4(b0, b1, b2, b3, load(tap), zero, zero, zero); break;
        default: break;
      }
      total = {dwords(a0) + dwords(b0), dwords(a1) + dwords(b1), dwords(a2) + dwords(b2), dwords(a3) + dwords(b3)};
    } else {
      const reg ones = Ops::ones();
      reg low0 = zero, high0 = zero, low1 = zero, high1 = zero;
      for (; tap != quads_end; tap += 4 * step) {
        const reg x0 = load(tap), x1 = load(tap + step), x2 = load(tap + 2 * step), x3 = load(tap + 3 * step);
        low0 = Ops::add16(low0, Ops::maddubs(ones, Ops::unpacklo8(x0, x1)));
        high0 = Ops::add16(high0, Ops::maddubs(ones, Ops::unpackhi8(x0, x1)));
        low1 = Ops::add16(low1, Ops::maddubs(ones, Ops::unpacklo8(x2, x3)));
        high1 = Ops::add16(high1, Ops::maddubs(ones, Ops::unpackhi8(x2, x3)));
      }
      const std::int64_t rest = count % 4;
      if (rest > 0) {
        const reg x0 = load(tap);
        const reg x1 = rest > 1 ? reg(load(tap + step)) : zero;
        const reg x2 = rest > 2 ? reg(load(tap + 2 * step)) : zero;
        low0 = Ops::add16(low0, Ops::maddubs(ones, Ops::unpacklo8(x0, x1)));
        high0 = Ops::add16(high0, Ops::maddubs(ones, Ops::unpackhi8(x0, x1)));
        low1 = Ops::add16(low1, Ops::maddubs(ones, Ops::unpacklo8(x2, zero)));
        high1 = Ops::add16(high1, Ops::maddubs(ones, Ops::unpackhi8(x2, zero)));
      }
      // Each accumulator holds at most 128 taps (|sum| <= 16384): their sum fits int16.
      add_words(Ops::add16(low0, low1), Ops::add16(high0, high1));
    }
  }

  static bytes narrow(const std::array<dwords, 4>& r) noexcept { return bytes(Ops::pack(r[0], r[1], r[2], r[3])); }

  static void store_lane_order(const std::array<dwords, 4>& t, std::int32_t* out) noexcept {
    for (std::size_t k = 0; k < 4; ++k) {
      alignas(64) std::int32_t lanes[dwords::size];
      t[k].store_aligned(lanes);
      for (std::size_t i = 0; i < dwords::size; ++i) out[16 * (i / 4) + 4 * k + i % 4] = lanes[i];
    }
  }
};
#endif

template <class A>
int8_lane_sums_generic<A> pick_int8_lane_sums(xsimd::generic) noexcept;
#if XSIMD_WITH_SSSE3
template <class A>
int8_lane_sums_blocks<A, x86_lane_sum_ops_sse<A>> pick_int8_lane_sums(xsimd::ssse3) noexcept;
#endif
#if XSIMD_WITH_AVX2
template <class A>
int8_lane_sums_blocks<A, x86_lane_sum_ops_avx2<A>> pick_int8_lane_sums(xsimd::avx2) noexcept;
#endif
#if XSIMD_WITH_AVX512BW
template <class A, bool Vnni = avx512_has_vnni>
int8_lane_sums_blocks<A, x86_lane_sum_ops_avx512<A, Vnni>> pick_int8_lane_sums(xsimd::avx512bw) noexcept;
#endif

// int8_word_sums<A>: the same idea for short sums (the average pool's windows, at most 256
// taps): int16 sums of int8 batches in two word batches, in the backend's layout, and back.
//   add_pair(x0, x1)   two more batches (x1 may be zeros)
//   low, high          the word sums
//   narrow(lo, hi)     two word batches in that layout -> one int8 batch in lane order, saturated
// generic: low / high hold lanes [0, n) / [n, 2n) (widenings). x86: pairs through pmaddubsw as
// in int8_lane_sums_blocks: low word 8j + t holds byte lane 16j + t, high word 8j + t byte lane
// 16j + 8 + t; packsswb restores the order.
template <class A>
struct int8_word_sums_generic {
  using bytes = xsimd::batch<std::int8_t, A>;
  using words = xsimd::batch<std::int16_t, A>;
  words low = words(std::int16_t{0});
  words high = words(std::int16_t{0});
  void add_pair(const bytes& x0, const bytes& x1) noexcept {
    low += simd::widen_low(x0) + simd::widen_low(x1);
    high += simd::widen_high(x0) + simd::widen_high(x1);
  }
  static bytes narrow(const words& lo, const words& hi) noexcept { return simd::saturating_narrow<std::int8_t>(lo, hi); }
};

#if XSIMD_WITH_SSSE3 || XSIMD_WITH_AVX2 || XSIMD_WITH_AVX512BW
template <class A, class Ops>
struct int8_word_sums_blocks {
  using bytes = xsimd::batch<std::int8_t, A>;
  using words = xsimd::batch<std::int16_t, A>;
  using reg = typename Ops::reg;
  words low = words(std::int16_t{0});
  words high = words(std::int16_t{0});
  void add_pair(const bytes& x0, const bytes& x1) noexcept {
    const reg ones = Ops::ones();
    low += words(Ops::maddubs(ones, Ops::unpacklo8(x0, x1)));
    high += words(Ops::maddubs(ones, Ops::unpackhi8(x0, x1)));
  }
  static bytes narrow(const words& lo, const words& hi) noexcept { return bytes(Ops::pack16(lo, hi)); }
};
#endif

template <class A>
int8_word_sums_generic<A> pick_int8_word_sums(xsimd::generic) noexcept;
#if XSIMD_WITH_SSSE3
template <class A>
int8_word_sums_blocks<A, x86_lane_sum_ops_sse<A>> pick_int8_word_sums(xsimd::ssse3) noexcept;
#endif
#if XSIMD_WITH_AVX2
template <class A>
int8_word_sums_blocks<A, x86_lane_sum_ops_avx2<A>> pick_int8_word_sums(xsimd::avx2) noexcept;
#endif
#if XSIMD_WITH_AVX512BW
template <class A>
int8_word_sums_blocks<A, x86_lane_sum_ops_avx512<A, false>> pick_int8_word_sums(xsimd::avx512bw) noexcept;
#endif

}  // namespace detail

template <class A>
using int8_lane_sums = decltype(detail::pick_int8_lane_sums<A>(A{}));

template <class A>
using int8_word_sums = decltype(detail::pick_int8_word_sums<A>(A{}));

}  // namespace simd
}  // namespace qkern
