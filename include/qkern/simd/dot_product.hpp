// Int8 dot products for the kernels with weights, one implementation per arch.
//
// int8_dot<A> multiplies 4 int8 input values, broadcast to every lane, with a vector of
// `lanes` x 4 int8 weights (lane l holds the 4 weights of output channel l, the packed layout
// of kernels/conv/packed_weights.hpp) and adds the 4 products of each lane to its int32
// accumulator:
//     acc[l] += Σ_j (x[j] + input_bias) · w[l][j]        (wrapping int32 arithmetic)
// Every implementation is exact: the products and their partial sums are formed without
// saturation, and the accumulation wraps modulo 2^32 like the scalar reference's int32 sums
// (whose true totals fit int32, prepare's overflow bound).
//   avx512_vnni  vpdpbusd (unsigned x signed bytes): inputs go in as x + 128 (x XOR 0x80), so
//                input_bias is 128; the kernels fold -128·Σw into the bias (the "+128 trick")
//   avx_vnni     the same with the VEX encoding on 256 bits (-mavxvnni)
//   avx512_madd  AVX-512BW without VNNI: weights and inputs sign-extended to int16 and
//   avx2_madd    multiplied with vpmaddwd, pair sums kept in two accumulators and added at
//   sse41_madd   the end (vpmaddubsw is not used: its int16 saturation is reachable)
//   neon_sdot    sdot (signed x signed bytes), with __ARM_FEATURE_DOTPROD
//   neon_mull    smull + sadalp (int8 x int8 products are exact in int16)
//   generic      the scalar sum, lane by lane
// The method is picked from the compiler flags (a template argument, so that two TUs with
// different flags never share an instantiation): dot_method_of<A>().
//
// int16_mac<A> is the depthwise step: acc[l] += x[l] · w[l] for int32 lanes holding int8
// values (x sign-extended, w prepared by weight_lane), with vpdpwssd where VNNI is there.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qkern/simd/arch.hpp"

#if XSIMD_WITH_SSE4_1 || XSIMD_WITH_AVX2 || XSIMD_WITH_AVX512BW
#include <immintrin.h>
#endif
#if XSIMD_WITH_NEON64
#include <arm_neon.h>
#endif

namespace qkern {
namespace simd {

enum class dot_method { generic, sse41_madd, avx2_madd, avx_vnni, avx512_madd, avx512_vnni, neon_mull, neon_sdot };

constexpr const char* dot_method_name(dot_method m) noexcept {
  switch (m) {
    case dot_method::sse41_madd: return "sse41_madd";
    case dot_method::avx2_madd: return "avx2_madd";
    case dot_method::avx_vnni: return "avx_vnni";
    case dot_method::avx512_madd: return "avx512_madd";
    case dot_method::avx512_vnni: return "avx512_vnni";
    case dot_method::neon_mull: return "neon_mull";
    case dot_method::neon_sdot: return "neon_sdot";
    case dot_method::generic: break;
  }
  return "generic";
}

namespace detail {

template <class A>
constexpr dot_method select_dot_method(xsimd::generic) noexcept { return dot_method::generic; }
#if XSIMD_WITH_SSE4_1
template <class A>
constexpr dot_method select_dot_method(xsimd::sse4_1) noexcept { return dot_method::sse41_madd; }
#endif
#if XSIMD_WITH_AVX2
template <class A>
constexpr dot_method select_dot_method(xsimd::avx2) noexcept {
#if defined(__AVXVNNI__)
  return dot_method::avx_vnni;
#else
  return dot_method::avx2_madd;
#endif
}
#endif
#if XSIMD_WITH_AVX512BW
template <class A>
constexpr dot_method select_dot_method(xsimd::avx512bw) noexcept {
#if defined(__AVX512VNNI__)
  return dot_method::avx512_vnni;
#else
  return dot_method::avx512_madd;
#endif
}
#endif
#if XSIMD_WITH_NEON64
template <class A>
constexpr dot_method select_dot_method(xsimd::neon64) noexcept {
#if defined(__ARM_FEATURE_DOTPROD)
  return dot_method::neon_sdot;
#else
  return dot_method::neon_mull;
#endif
}
#endif

inline std::int32_t load_4_bytes(const std::int8_t* p) noexcept {
  std::int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// p[0..n-1] (n in 1..3) in the low bytes, zero above: never reads past p + n.
inline std::int32_t load_partial_bytes(const std::int8_t* p, int n) noexcept {
  std::uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  return static_cast<std::int32_t>(v);
}

}  // namespace detail

// The dot-product method the kernels use for arch A with the current compiler flags.
template <class A = default_arch>
constexpr dot_method dot_method_of() noexcept { return detail::select_dot_method<A>(A{}); }

template <class A, dot_method M = dot_method_of<A>()>
struct int8_dot;

// --- generic: lane by lane ---------------------------------------------------------------------
template <class A>
struct int8_dot<A, dot_method::generic> {
  static constexpr std::size_t lanes = xsimd::batch<std::int32_t, A>::size;
  static constexpr std::int32_t input_bias = 0;
  using accumulator = std::array<std::int32_t, lanes>;
  using input = std::array<std::int32_t, 4>;
  using weights = const unsigned char*;

  static accumulator zero() noexcept { return accumulator{}; }
  static input broadcast(const std::int8_t* p) noexcept { return {p[0], p[1], p[2], p[3]}; }
  static input broadcast_partial(const std::int8_t* p, int n) noexcept {
    input x{};
    for (int i = 0; i < n; ++i) x[static_cast<std::size_t>(i)] = p[i];
    return x;
  }
  static weights load(const unsigned char* w) noexcept { return w; }
  static accumulator dot(accumulator acc, const input& x, weights w) noexcept {
    for (std::size_t l = 0; l < lanes; ++l) {
      std::uint32_t sum = static_cast<std::uint32_t>(acc[l]);
      for (std::size_t j = 0; j < 4; ++j) {
        std::int8_t v;
        std::memcpy(&v, w + 4 * l + j, 1);
        sum += static_cast<std::uint32_t>(x[j] * v);
      }
      acc[l] = static_cast<std::int32_t>(sum);
    }
    return acc;
  }
  static xsimd::batch<std::int32_t, A> finish(const accumulator& acc) noexcept {
    return xsimd::batch<std::int32_t, A>::load_unaligned(acc.data());
  }
};

#if XSIMD_WITH_SSE4_1
template <class A>
struct int8_dot<A, dot_method::sse41_madd> {
  static constexpr std::size_t lanes = 4;
  static constexpr std::int32_t input_bias = 0;
  struct accumulator {
    __m128i low;   // lanes 0, 1: the two pair sums of each
    __m128i high;  // lanes 2, 3
  };
  using input = __m128i;  // x0..x3 as int16, twice
  using weights = accumulator;

  static accumulator zero() noexcept { return {_mm_setzero_si128(), _mm_setzero_si128()}; }
  static input broadcast(const std::int8_t* p) noexcept { return widen(detail::load_4_bytes(p)); }
  static input broadcast_partial(const std::int8_t* p, int n) noexcept {
    return widen(detail::load_partial_bytes(p, n));
  }
  static weights load(const unsigned char* w) noexcept {
    return {_mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(w))),
            _mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(w + 8)))};
  }
  static accumulator dot(accumulator acc, input x, const weights& w) noexcept {
    return {_mm_add_epi32(acc.low, _mm_madd_epi16(w.low, x)), _mm_add_epi32(acc.high, _mm_madd_epi16(w.high, x))};
  }
  static xsimd::batch<std::int32_t, A> finish(const accumulator& acc) noexcept {
    return _mm_hadd_epi32(acc.low, acc.high);
  }

 private:
  static input widen(std::int32_t four) noexcept {
    const __m128i words = _mm_cvtepi8_epi16(_mm_cvtsi32_si128(four));
    return _mm_unpacklo_epi64(words, words);
  }
};
#endif

#if XSIMD_WITH_AVX2
template <class A>
struct int8_dot<A, dot_method::avx2_madd> {
  static constexpr std::size_t lanes = 8;
  static constexpr std::int32_t input_bias = 0;
  struct accumulator {
    __m256i low;   // lanes 0..3: the two pair sums of each
    __m256i high;  // lanes 4..7
  };
  using input = __m256i;  // x0..x3 as int16, four times
  using weights = accumulator;

  static accumulator zero() noexcept { return {_mm256_setzero_si256(), _mm256_setzero_si256()}; }
  static input broadcast(const std::int8_t* p) noexcept { return widen(detail::load_4_bytes(p)); }
  static input broadcast_partial(const std::int8_t* p, int n) noexcept {
    return widen(detail::load_partial_bytes(p, n));
  }
  static weights load(const unsigned char* w) noexcept {
    return {_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w))),
            _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 16)))};
  }
  static accumulator dot(accumulator acc, input x, const weights& w) noexcept {
    return {_mm256_add_epi32(acc.low, _mm256_madd_epi16(w.low, x)),
            _mm256_add_epi32(acc.high, _mm256_madd_epi16(w.high, x))};
  }
  static xsimd::batch<std::int32_t, A> finish(const accumulator& acc) noexcept {
    // [L0 L1 L4 L5 | L2 L3 L6 L7] -> lane order
    return _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc.low, acc.high), 0xD8);
  }

 private:
  static input widen(std::int32_t four) noexcept {
    return _mm256_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(four)));
  }
};
#endif

#if XSIMD_WITH_AVX2 && defined(__AVXVNNI__)
template <class A>
struct int8_dot<A, dot_method::avx_vnni> {
  static constexpr std::size_t lanes = 8;
  static constexpr std::int32_t input_bias = 128;
  using accumulator = __m256i;
  using input = __m256i;  // x + 128 as unsigned bytes, in every lane
  using weights = __m256i;

  static accumulator zero() noexcept { return _mm256_setzero_si256(); }
  static input broadcast(const std::int8_t* p) noexcept { return biased(detail::load_4_bytes(p)); }
  static input broadcast_partial(const std::int8_t* p, int n) noexcept {
    return biased(detail::load_partial_bytes(p, n));
  }
  static weights load(const unsigned char* w) noexcept {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
  }
  static accumulator dot(accumulator acc, input x, weights w) noexcept { return _mm256_dpbusd_avx_epi32(acc, x, w); }
  static xsimd::batch<std::int32_t, A> finish(accumulator acc) noexcept { return acc; }

 private:
  static input biased(std::int32_t four) noexcept {
    return _mm256_xor_si256(_mm256_set1_epi32(four), _mm256_set1_epi32(static_cast<std::int32_t>(0x80808080u)));
  }
};
#endif

#if XSIMD_WITH_AVX512BW
template <class A>
struct int8_dot<A, dot_method::avx512_madd> {
  static constexpr std::size_t lanes = 16;
  static constexpr std::int32_t input_bias = 0;
  struct accumulator {
    __m512i low;   // lanes 0..7: the two pair sums of each
    __m512i high;  // lanes 8..15
  };
  using input = __m512i;  // x0..x3 as int16, eight times
  using weights = accumulator;

  static accumulator zero() noexcept { return {_mm512_setzero_si512(), _mm512_setzero_si512()}; }
  static input broadcast(const std::int8_t* p) noexcept { return widen(detail::load_4_bytes(p)); }
  static input broadcast_partial(const std::int8_t* p, int n) noexcept {
    return widen(detail::load_partial_bytes(p, n));
  }
  static weights load(const unsigned char* w) noexcept {
    return {_mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w))),
            _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32)))};
  }
  static accumulator dot(accumulator acc, input x, const weights& w) noexcept {
    return {_mm512_add_epi32(acc.low, _mm512_madd_epi16(w.low, x)),
            _mm512_add_epi32(acc.high, _mm512_madd_epi16(w.high, x))};
  }
  static xsimd::batch<std::int32_t, A> finish(const accumulator& acc) noexcept {
    // Each lane's two pair sums are adjacent dwords: add them into the even dword, then
    // gather the even dwords of both halves.
    const __m512i low = _mm512_add_epi32(acc.low, _mm512_srli_epi64(acc.low, 32));
    const __m512i high = _mm512_add_epi32(acc.high, _mm512_srli_epi64(acc.high, 32));
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    return _mm512_permutex2var_epi32(low, even, high);
  }

 private:
  static input widen(std::int32_t four) noexcept {
    return _mm512_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(four)));
  }
};
#endif

#if XSIMD_WITH_AVX512BW && defined(__AVX512VNNI__)
template <class A>
struct int8_dot<A, dot_method::avx512_vnni> {
  static constexpr std::size_t lanes = 16;
  static constexpr std::int32_t input_bias = 128;
  using accumulator = __m512i;
  using input = __m512i;  // x + 128 as unsigned bytes, in every lane
  using weights = __m512i;

  static accumulator zero() noexcept { return _mm512_setzero_si512(); }
  static input broadcast(const std::int8_t* p) noexcept { return biased(detail::load_4_bytes(p)); }
  static input broadcast_partial(const std::int8_t* p, int n) noexcept {
    return biased(detail::load_partial_bytes(p, n));
  }
  static weights load(const unsigned char* w) noexcept { return _mm512_loadu_si512(w); }
  static accumulator dot(accumulator acc, input x, weights w) noexcept { return _mm512_dpbusd_epi32(acc, x, w); }
  static xsimd::batch<std::int32_t, A> finish(accumulator acc) noexcept { return acc; }

 private:
  static input biased(std::int32_t four) noexcept {
    return _mm512_xor_si512(_mm512_set1_epi32(four), _mm512_set1_epi32(static_cast<std::int32_t>(0x80808080u)));
  }
};
#endif

#if XSIMD_WITH_NEON64
template <class A>
struct int8_dot<A, dot_method::neon_mull> {
  static constexpr std::size_t lanes = 4;
  static constexpr std::int32_t input_bias = 0;
  struct accumulator {
    int32x4_t low;   // lanes 0, 1: the two pair sums of each
    int32x4_t high;  // lanes 2, 3
  };
  using input = int8x16_t;
  using weights = int8x16_t;

  static accumulator zero() noexcept { return {vdupq_n_s32(0), vdupq_n_s32(0)}; }
  static input broadcast(const std::int8_t* p) noexcept { return vreinterpretq_s8_s32(vdupq_n_s32(detail::load_4_bytes(p))); }
  static input broadcast_partial(const std::int8_t* p, int n) noexcept {
    return vreinterpretq_s8_s32(vdupq_n_s32(detail::load_partial_bytes(p, n)));
  }
  static weights load(const unsigned char* w) noexcept { return vld1q_s8(reinterpret_cast<const std::int8_t*>(w)); }
  static accumulator dot(accumulator acc, input x, weights w) noexcept {
    return {vpadalq_s16(acc.low, vmull_s8(vget_low_s8(w), vget_low_s8(x))),
            vpadalq_s16(acc.high, vmull_high_s8(w, x))};
  }
  static xsimd::batch<std::int32_t, A> finish(const accumulator& acc) noexcept { return vpaddq_s32(acc.low, acc.high); }
};
#endif

#if XSIMD_WITH_NEON64 && defined(__ARM_FEATURE_DOTPROD)
template <class A>
struct int8_dot<A, dot_method::neon_sdot> {
  static constexpr std::size_t lanes = 4;
  static constexpr std::int32_t input_bias = 0;
  using accumulator = int32x4_t;
  using input = int8x16_t;
  using weights = int8x16_t;

  static accumulator zero() noexcept { return vdupq_n_s32(0); }
  static input broadcast(const std::int8_t* p) noexcept { return vreinterpretq_s8_s32(vdupq_n_s32(detail::load_4_bytes(p))); }
  static input broadcast_partial(const std::int8_t* p, int n) noexcept {
    return vreinterpretq_s8_s32(vdupq_n_s32(detail::load_partial_bytes(p, n)));
  }
  static weights load(const unsigned char* w) noexcept { return vld1q_s8(reinterpret_cast<const std::int8_t*>(w)); }
  static accumulator dot(accumulator acc, input x, weights w) noexcept { return vdotq_s32(acc, w, x); }
  static xsimd::batch<std::int32_t, A> finish(accumulator acc) noexcept { return acc; }
};
#endif

// --- depthwise: one int8 x int8 product per int32 lane ------------------------------------------

namespace detail {

template <class A>
xsimd::batch<std::int32_t, A> int16_mac(const xsimd::batch<std::int32_t, A>& acc, const xsimd::batch<std::int32_t, A>& x,
                                        const xsimd::batch<std::int32_t, A>& w, xsimd::generic) noexcept {
  return acc + x * w;
}
template <class A>
constexpr std::int32_t mac_weight_lane(std::int8_t w, xsimd::generic) noexcept { return w; }

// x86: vpmaddwd of a sign-extended int8 with a weight whose high half is 0 is x·w + 0.
#if XSIMD_WITH_SSE4_1
template <class A>
xsimd::batch<std::int32_t, A> int16_mac(const xsimd::batch<std::int32_t, A>& acc, const xsimd::batch<std::int32_t, A>& x,
                                        const xsimd::batch<std::int32_t, A>& w, xsimd::sse4_1) noexcept {
  return _mm_add_epi32(acc, _mm_madd_epi16(x, w));
}
template <class A>
constexpr std::int32_t mac_weight_lane(std::int8_t w, xsimd::sse4_1) noexcept {
  return static_cast<std::int32_t>(static_cast<std::uint16_t>(w));
}
#endif
#if XSIMD_WITH_AVX2
template <class A>
xsimd::batch<std::int32_t, A> int16_mac(const xsimd::batch<std::int32_t, A>& acc, const xsimd::batch<std::int32_t, A>& x,
                                        const xsimd::batch<std::int32_t, A>& w, xsimd::avx2) noexcept {
#if defined(__AVXVNNI__)
  return _mm256_dpwssd_avx_epi32(acc, x, w);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(x, w));
#endif
}
// (xsimd's avx derives from generic, not from the SSE tags.)
template <class A>
constexpr std::int32_t mac_weight_lane(std::int8_t w, xsimd::avx2) noexcept {
  return static_cast<std::int32_t>(static_cast<std::uint16_t>(w));
}
#endif
#if XSIMD_WITH_AVX512BW
template <class A>
xsimd::batch<std::int32_t, A> int16_mac(const xsimd::batch<std::int32_t, A>& acc, const xsimd::batch<std::int32_t, A>& x,
                                        const xsimd::batch<std::int32_t, A>& w, xsimd::avx512bw) noexcept {
#if defined(__AVX512VNNI__)
  return _mm512_dpwssd_epi32(acc, x, w);
#else
  return _mm512_add_epi32(acc, _mm512_madd_epi16(x, w));
#endif
}
template <class A>
constexpr std::int32_t mac_weight_lane(std::int8_t w, xsimd::avx512bw) noexcept {
  return static_cast<std::int32_t>(static_cast<std::uint16_t>(w));
}
#endif
#if XSIMD_WITH_NEON64
template <class A>
xsimd::batch<std::int32_t, A> int16_mac(const xsimd::batch<std::int32_t, A>& acc, const xsimd::batch<std::int32_t, A>& x,
                                        const xsimd::batch<std::int32_t, A>& w, xsimd::neon64) noexcept {
  return vmlaq_s32(acc, x, w);
}
#endif

}  // namespace detail

// acc + x·w per lane, for x sign-extended int8 lanes and w = int16_mac_weight<A>(weight).
template <class A>
xsimd::batch<std::int32_t, A> int16_mac(const xsimd::batch<std::int32_t, A>& acc, const xsimd::batch<std::int32_t, A>& x,
                                        const xsimd::batch<std::int32_t, A>& w) noexcept {
  return detail::int16_mac(acc, x, w, A{});
}

// The lane form of an int8 weight that int16_mac<A> expects.
template <class A>
constexpr std::int32_t int16_mac_weight(std::int8_t w) noexcept { return detail::mac_weight_lane<A>(w, A{}); }

}  // namespace simd
}  // namespace qkern
