// Loop drivers for the elementwise SIMD kernels: full vector steps over a row, the remainder as
// one more vector step on a zero-padded copy (or, for a few elements, the scalar spec), and a
// coalescer that gathers short broadcast rows into contiguous blocks first.
//
// A binary row kernel K (see binary_rows in kernels/elementwise/binary_loop.hpp) provides
//   first_type, second_type, output_type, and `lanes` (outputs per vector step);
//   first_operand load_first(const first_type* p) / splat_first(first_type v)   (same for second)
//   void store(const first_operand&, const second_operand&, output_type* out)   `lanes` outputs
//   output_type element(first_type a, second_type b)                            the scalar spec
// A unary kernel provides input_type, output_type, lanes, store(const input_type* in,
// output_type* out) and element(input_type).
//
// Kernels hold the values their vector steps need by value, and the drivers work on a local
// copy of the kernel: stores through an 8-bit output pointer may alias anything the compiler
// cannot prove local, which would otherwise force every parameter to be reloaded (and every
// constant re-broadcast) after each store.
//
// Padding lanes are zeros of the input type, which every kernel accepts; their outputs are
// discarded. Each lane of a vector step equals the scalar spec, so how a row is split between
// vector steps, padded steps and scalar elements never changes a result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qkern/core/broadcast.hpp"
#include "qkern/kernels/elementwise/binary_loop.hpp"

// Kernels mark their vector steps QKERN_SIMD_STEP: inlined into the loops whatever the
// compiler's budget (a step called out of line passes its batches through memory); the
// drivers' remainders are QKERN_SIMD_COLD_PATH.
#if defined(__GNUC__)
#define QKERN_SIMD_STEP inline __attribute__((always_inline))
#define QKERN_SIMD_COLD_PATH __attribute__((noinline))
#else
#define QKERN_SIMD_STEP inline
#define QKERN_SIMD_COLD_PATH
#endif

namespace qkern {
namespace simd {
namespace detail {

// Remainders shorter than this run the scalar spec; longer ones one padded vector step.
inline constexpr std::int64_t padded_tail_threshold = 4;

template <class T, std::size_t N>
struct lane_buffer {
  alignas(64) T v[N];
};

// The remainder [i, n) of a row: out of line, so that the row's main loop carries no stack
// buffers.
template <class K>
QKERN_SIMD_COLD_PATH void run_binary_tail(const K& k, const typename K::first_type* a, int a_step,
                                          const typename K::second_type* b, int b_step,
                                          typename K::output_type* out, std::int64_t i, std::int64_t n) noexcept {
  using first_type = typename K::first_type;
  using second_type = typename K::second_type;
  using output_type = typename K::output_type;
  constexpr std::size_t lanes = K::lanes;
  const std::int64_t rest = n - i;
  if (rest < padded_tail_threshold) {
    for (; i < n; ++i) out[i] = k.element(a[i * a_step], b[i * b_step]);
    return;
  }
  lane_buffer<first_type, lanes> first{};
  lane_buffer<second_type, lanes> second{};
  for (std::int64_t j = 0; j < rest; ++j) {
    first.v[j] = a[(i + j) * a_step];
    second.v[j] = b[(i + j) * b_step];
  }
  lane_buffer<output_type, lanes> result;
  k.store(a_step == 0 ? k.splat_first(a[0]) : k.load_first(first.v),
          b_step == 0 ? k.splat_second(b[0]) : k.load_second(second.v), result.v);
  for (std::int64_t j = 0; j < rest; ++j) out[i + j] = result.v[j];
}

template <class K>
void run_binary_row(const K& kernel, const typename K::first_type* a, int a_step, const typename K::second_type* b,
                    int b_step, typename K::output_type* out, std::int64_t n) noexcept {
  const K k = kernel;  // local: its values stay in registers across the stores
  constexpr auto lanes = static_cast<std::int64_t>(K::lanes);
  std::int64_t i = 0;
  if (a_step == 0 && b_step == 0) {
    // Only a one-element row broadcasts both operands.
    for (; i < n; ++i) out[i] = k.element(a[0], b[0]);
    return;
  }
  if (a_step == 0) {
    const auto fa = k.splat_first(a[0]);
    for (; i + lanes <= n; i += lanes) k.store(fa, k.load_second(b + i), out + i);
  } else if (b_step == 0) {
    const auto fb = k.splat_second(b[0]);
    for (; i + lanes <= n; i += lanes) k.store(k.load_first(a + i), fb, out + i);
  } else {
    for (; i + lanes <= n; i += lanes) k.store(k.load_first(a + i), k.load_second(b + i), out + i);
  }
  if (i < n) run_binary_tail(k, a, a_step, b, b_step, out, i, n);
}

template <class K>
QKERN_SIMD_COLD_PATH void run_unary_tail(const K& k, const typename K::input_type* in, typename K::output_type* out,
                                         std::int64_t i, std::int64_t n) noexcept {
  using input_type = typename K::input_type;
  using output_type = typename K::output_type;
  constexpr std::size_t lanes = K::lanes;
  const std::int64_t rest = n - i;
  if (rest < padded_tail_threshold) {
    for (; i < n; ++i) out[i] = k.element(in[i]);
    return;
  }
  lane_buffer<input_type, lanes> buffer{};
  for (std::int64_t j = 0; j < rest; ++j) buffer.v[j] = in[i + j];
  lane_buffer<output_type, lanes> result;
  k.store(buffer.v, result.v);
  for (std::int64_t j = 0; j < rest; ++j) out[i + j] = result.v[j];
}

template <class K>
void run_unary(const K& kernel, const typename K::input_type* in, typename K::output_type* out,
               std::int64_t n) noexcept {
  const K k = kernel;
  constexpr auto lanes = static_cast<std::int64_t>(K::lanes);
  std::int64_t i = 0;
  for (; i + lanes <= n; i += lanes) k.store(in + i, out + i);
  if (i < n) run_unary_tail(k, in, out, i, n);
}

// Rows shorter than `min_row` (broadcast shapes with a short innermost extent) that do not
// fill whole vector steps are gathered, their operands expanded to contiguous copies, until a
// block of Block elements is full; the block then runs as one same-shape row. binary_rows visits rows in output order,
// so the outputs of consecutive rows are contiguous. Longer rows go to `row` directly. Call finish() after the last
// row:
//   row_coalescer<T, T, T, 2048, Row> rows(row, 4 * lanes, lanes);
//   binary_rows(plan, in1, in2, out, rows);
//   rows.finish();
// min_row must not exceed Block.
template <class First, class Second, class Out, std::size_t Block, class Row>
class row_coalescer {
 public:
  row_coalescer(const Row& row, std::int64_t min_row, std::int64_t lanes) noexcept
      : row_(row), min_row_(min_row), lanes_(lanes) {}

  void operator()(const First* a, int a_step, const Second* b, int b_step, Out* out, std::int64_t n) noexcept {
    if (n >= min_row_ || n % lanes_ == 0) {
      finish();
      row_(a, a_step, b, b_step, out, n);
      return;
    }
    if (length_ > 0 && (length_ + n > static_cast<std::int64_t>(Block) || out != start_ + length_)) finish();
    if (length_ == 0) start_ = out;
    First* fa = first_ + length_;
    Second* fb = second_ + length_;
    for (std::int64_t i = 0; i < n; ++i) fa[i] = a[i * a_step];
    for (std::int64_t i = 0; i < n; ++i) fb[i] = b[i * b_step];
    length_ += n;
  }

  void finish() noexcept {
    if (length_ > 0) row_(first_, 1, second_, 1, start_, length_);
    length_ = 0;
  }

 private:
  const Row& row_;
  std::int64_t min_row_;
  std::int64_t lanes_;
  Out* start_ = nullptr;
  std::int64_t length_ = 0;
  alignas(64) First first_[Block];
  alignas(64) Second second_[Block];
};

// An inner-vector plan whose vector is short: the vector is tiled into a block of whole
// repeats (up to 4 KiB), and the other operand walked in blocks of that length as same-shape
// rows, so that each row call covers many vector steps. Returns false for other plans.
template <class T, class Out, class Row>
bool run_tiled_inner_vector(const broadcast_plan& plan, const T* in1, const T* in2, Out* out, const Row& row) noexcept {
  constexpr std::int64_t capacity = 4096 / static_cast<std::int64_t>(sizeof(T));
  if (plan.kind != broadcast_kind::inner_vector || plan.output_count <= 0) return false;
  const std::int64_t inner = plan.extent[1];
  if (inner <= 0 || inner > capacity / 4) return false;  // empty, or rows long enough already
  const bool first_is_small = plan.operand == broadcast_operand::first;
  const T* small = first_is_small ? in1 : in2;
  const T* big = first_is_small ? in2 : in1;
  const std::int64_t block = capacity / inner * inner;
  alignas(64) T tile[capacity];
  for (std::int64_t i = 0; i < inner; ++i) tile[i] = small[i];
  for (std::int64_t filled = inner; filled < block;) {  // doubling copies
    const std::int64_t n = filled < block - filled ? filled : block - filled;
    std::memcpy(tile + filled, tile, static_cast<std::size_t>(n) * sizeof(T));
    filled += n;
  }
  const std::int64_t count = plan.output_count;
  for (std::int64_t base = 0; base < count; base += block) {
    const std::int64_t n = count - base < block ? count - base : block;
    if (first_is_small) {
      row(tile, 1, big + base, 1, out + base, n);
    } else {
      row(big + base, 1, tile, 1, out + base, n);
    }
  }
  return true;
}

// binary_rows for SIMD row functors: inner vectors tiled (run_tiled_inner_vector), and, with
// `coalesce`, other short rows gathered into blocks (row_coalescer) first.
template <class T, class Out, class Row>
void run_rows(const broadcast_plan& plan, const T* in1, const T* in2, Out* out, const Row& row, std::int64_t lanes,
              bool coalesce) noexcept {
  if (run_tiled_inner_vector(plan, in1, in2, out, row)) return;
  if (!coalesce) {
    binary_rows(plan, in1, in2, out, row);
    return;
  }
  row_coalescer<T, T, Out, 2048, Row> rows(row, 4 * lanes, lanes);
  binary_rows(plan, in1, in2, out, rows);
  rows.finish();
}

// Runs kernel K over a broadcast plan, row by row (run_binary_row), short rows tiled or
// coalesced.
template <class K>
void run_binary_rows(const K& k, const broadcast_plan& plan, const typename K::first_type* in1,
                     const typename K::second_type* in2, typename K::output_type* out) noexcept {
  using first_type = typename K::first_type;
  using second_type = typename K::second_type;
  using output_type = typename K::output_type;
  static_assert(std::is_same<first_type, second_type>::value, "both operands have one element type");
  const auto row = [&k](const first_type* a, int a_step, const second_type* b, int b_step, output_type* o,
                        std::int64_t n) { run_binary_row(k, a, a_step, b, b_step, o, n); };
  run_rows(plan, in1, in2, out, row, static_cast<std::int64_t>(K::lanes), true);
}

}  // namespace detail
}  // namespace simd
}  // namespace qkern
