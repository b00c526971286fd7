// mean: the SIMD path and the public eval against the scalar reference. The vector path serves
// means whose kept axes end with a contiguous one (NHWC over H, W, and e.g. over N or H alone);
// the other axis sets run the scalar reference and are checked too. Both roundings, int8 and
// int16, odd channel counts, random and extreme values, and inputs at every misalignment.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "cases.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/kernels/pooling.hpp"

using namespace qkern_pool_test;

namespace {

template <class T, class Policy>
void compare_mean(const qkern::shape& input_shape, std::initializer_list<std::int32_t> axes, bool keep_dims,
                  const qkern::quantization_params& in_q, const qkern::quantization_params& out_q, const T* input,
                  const char* note = "") {
  const auto p = qkern::prepare_mean<T, Policy>(in_q, input_shape, axes.begin(), static_cast<int>(axes.size()), out_q,
                                                keep_dims);
  if (!p.ok()) return;  // a multiplier the policy cannot represent: nothing to compare
  const auto count = static_cast<std::size_t>(p->output_count);
  std::vector<T> expected(count), vector_path(count), public_eval(count);
  qkern::scalar::mean(*p, input, expected.data());
  qkern::simd::mean<arch>(*p, input, vector_path.data());
  qkern::mean(*p, input, public_eval.data());
  std::string axis_text;
  for (const auto a : axes) axis_text += std::to_string(a) + " ";
  const std::int64_t at = first_difference(vector_path, expected);
  INFO("mean " << sizeof(T) * 8 << "-bit, input " << text(input_shape) << note << ", axes " << axis_text << "keep "
               << keep_dims << ", in " << in_q.scale << "/" << in_q.zero_point << ", out " << out_q.scale << "/"
               << out_q.zero_point << ", first difference at " << at);
  CHECK(at == -1);
  CHECK(public_eval == expected);
}

template <class T, class Policy>
void check_mean(const qkern::shape& input_shape, std::initializer_list<std::int32_t> axes, bool keep_dims,
                seeded_source& s) {
  const auto in_q = random_quantization<T>(s);
  const auto out_q = random_quantization<T>(s);
  const auto input = random_values<T>(s, input_shape.element_count());
  compare_mean<T, Policy>(input_shape, axes, keep_dims, in_q, out_q, input.data());
}

// The global average pool of 1 x rows x 1 x lanes int8 (one batch per row, the 1x56x56x64 case
// on AVX-512) with the input `misalign` bytes past a 64-byte boundary: the vector path then sums
// aligned batches that straddle rows and rotates the sums back.
template <class Policy>
void check_misaligned_rows(std::int64_t rows, std::size_t misalign, const qkern::quantization_params& in_q,
                           const qkern::quantization_params& out_q, seeded_source& s) {
  constexpr auto lanes = static_cast<std::int64_t>(xsimd::batch<std::int8_t, arch>::size);
  const auto shape = qkern::make_shape({1, rows, 1, lanes}).value();
  const auto values = random_values<std::int8_t>(s, rows * lanes);
  std::vector<std::int8_t> buffer(values.size() + 128);
  const auto address = reinterpret_cast<std::uintptr_t>(buffer.data());
  std::int8_t* input = buffer.data() + (64 - address % 64) % 64 + misalign;
  std::copy(values.begin(), values.end(), input);
  const std::string note = " misaligned by " + std::to_string(misalign);
  compare_mean<std::int8_t, Policy>(shape, {1, 2}, true, in_q, out_q, input, note.c_str());
}

template <class T, class Policy>
void random_means(std::uint64_t seed, int cases) {
  seeded_source s(seed);
  for (int i = 0; i < cases; ++i) {
    const std::int64_t channels = s.next() % 4 == 0 ? s.in_range(1, 8) : s.in_range(1, 150);
    const auto shape =
        qkern::make_shape({s.in_range(1, 3), s.in_range(1, 24), s.in_range(1, 24), channels}).value();
    const bool keep = s.next() % 2 == 0;
    switch (s.next() % 6) {
      case 0: check_mean<T, Policy>(shape, {2, 1}, keep, s); break;
      case 1: check_mean<T, Policy>(shape, {1}, keep, s); break;
      case 2: check_mean<T, Policy>(shape, {0, 1, 2}, keep, s); break;
      case 3: check_mean<T, Policy>(shape, {3}, keep, s); break;  // channels reduced: the scalar fallback
      case 4: check_mean<T, Policy>(shape, {-3, -2}, keep, s); break;
      default: check_mean<T, Policy>(shape, {1, 2}, keep, s); break;
    }
  }
}

}  // namespace

TEST_CASE("mean int8 double rounding: SIMD == scalar") { random_means<std::int8_t, qkern::double_rounding>(21, case_count); }
TEST_CASE("mean int8 single rounding: SIMD == scalar") { random_means<std::int8_t, qkern::single_rounding>(22, case_count); }
TEST_CASE("mean int16 double rounding: SIMD == scalar") { random_means<std::int16_t, qkern::double_rounding>(23, case_count); }
TEST_CASE("mean int16 single rounding: SIMD == scalar") { random_means<std::int16_t, qkern::single_rounding>(24, case_count); }

TEST_CASE("mean: global average pools of real shapes, extremes, more than 256 taps per run") {
  seeded_source s(25);
  const std::int64_t shapes[][3] = {{56, 56, 64}, {7, 7, 1280}, {20, 20, 33}, {1, 1, 64}, {32, 9, 17}};
  for (int i = 0; i < 6; ++i) {
    for (const auto& hwc : shapes) {
      const auto shape = qkern::make_shape({1, hwc[0], hwc[1], hwc[2]}).value();
      check_mean<std::int8_t, qkern::double_rounding>(shape, {1, 2}, true, s);
      check_mean<std::int8_t, qkern::single_rounding>(shape, {1, 2}, false, s);
      check_mean<std::int16_t, qkern::double_rounding>(shape, {1, 2}, true, s);
    }
  }
}

TEST_CASE("mean: rows of exactly one batch at every misalignment, both roundings, extremes, long runs") {
  seeded_source s(26);
  const std::int64_t row_counts[] = {1, 2, 3, 7, 49, 255, 256, 257, 258, 513, 3136, 9000};
  for (const std::int64_t rows : row_counts) {
    for (std::size_t misalign = 0; misalign < 64; misalign += (rows > 300 ? 7 : 1)) {
      const auto in_q = random_quantization<std::int8_t>(s);
      const auto out_q = random_quantization<std::int8_t>(s);
      check_misaligned_rows<qkern::double_rounding>(rows, misalign, in_q, out_q, s);
      check_misaligned_rows<qkern::single_rounding>(rows, misalign, in_q, out_q, s);
    }
    // s_in / s_out = 2^26: the fused requantization does not apply (the scalar mean_element per
    // lane, rotated the same way); inputs near the zero point keep the outputs off the limits.
    for (const std::size_t misalign : {std::size_t{0}, std::size_t{1}, std::size_t{17}, std::size_t{63}}) {
      check_misaligned_rows<qkern::double_rounding>(rows, misalign, {1.0f, -3}, {1.0f / 67108864.0f, 5}, s);
      check_misaligned_rows<qkern::single_rounding>(rows, misalign, {1.0f, 0}, {1.0f / 67108864.0f, -9}, s);
    }
  }
}

TEST_CASE("mean: batches of rows of exactly one batch, misaligned (every outer block shifted alike)") {
  seeded_source s(27);
  constexpr auto lanes = static_cast<std::int64_t>(xsimd::batch<std::int8_t, arch>::size);
  for (const std::size_t misalign : {std::size_t{5}, std::size_t{16}, std::size_t{40}}) {
    const auto shape = qkern::make_shape({3, 7, 9, lanes}).value();
    const auto values = random_values<std::int8_t>(s, shape.element_count());
    std::vector<std::int8_t> buffer(values.size() + 128);
    const auto address = reinterpret_cast<std::uintptr_t>(buffer.data());
    std::int8_t* input = buffer.data() + (64 - address % 64) % 64 + misalign;
    std::copy(values.begin(), values.end(), input);
    const auto in_q = random_quantization<std::int8_t>(s);
    const auto out_q = random_quantization<std::int8_t>(s);
    compare_mean<std::int8_t, qkern::double_rounding>(shape, {1, 2}, false, in_q, out_q, input, " misaligned");
    compare_mean<std::int8_t, qkern::single_rounding>(shape, {2, 1}, true, in_q, out_q, input, " misaligned");
    compare_mean<std::int8_t, qkern::double_rounding>(shape, {1}, true, in_q, out_q, input, " misaligned");
  }
}
