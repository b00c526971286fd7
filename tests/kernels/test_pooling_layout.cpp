// Pooling and layout kernels: prepare rejects bad parameters with a clear message; a few
// hand-checked results pin the arithmetic (rounding of average pool, resize's index mapping,
// strided_slice's masks); the concatenation requantize path equals the requantize op; and
// properties check the data movement against plain coordinate loops and inverse pairs
// (transpose by a permutation and its inverse, depth_to_space after space_to_depth).
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "qkern/kernels/elementwise/quantize.hpp"
#include "qkern/kernels/layout.hpp"
#include "qkern/kernels/pooling.hpp"
#include "support/property.hpp"
#include "support/status_text.hpp"

using qkern::double_rounding;
using qkern::fused_activation;
using qkern::pool2d_window;
using qkern::pool_padding;
using qkern::quantization_params;
using qkern::shape;
using qkern::single_rounding;
using qkern::status_code;

using qkern_test::make;
using qkern_test::text;
using qkern_test::error_text;

namespace {

template <class T>
std::vector<T> iota_data(std::int64_t count, int first = 0) {
  std::vector<T> v(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(first + static_cast<int>(i));
  return v;
}

// Row-major coordinates of flat index i in s.
std::array<std::int64_t, qkern::max_rank> coordinates(const shape& s, std::int64_t i) {
  std::array<std::int64_t, qkern::max_rank> c{};
  for (int d = s.rank - 1; d >= 0; --d) {
    c[static_cast<std::size_t>(d)] = i % s.dims[d];
    i /= s.dims[d];
  }
  return c;
}

std::int64_t flat_index(const shape& s, const std::array<std::int64_t, qkern::max_rank>& c) {
  std::int64_t i = 0;
  for (int d = 0; d < s.rank; ++d) i = i * s.dims[d] + c[static_cast<std::size_t>(d)];
  return i;
}

// --- generators -----------------------------------------------------------------------------------

shape random_shape(int rank, int max_extent) {
  shape s;
  s.rank = rank;
  for (int d = 0; d < rank; ++d) s.dims[d] = *rc::gen::inRange(1, max_extent + 1);
  return s;
}

template <class T>
std::vector<T> random_values(std::int64_t count) {
  return *rc::gen::container<std::vector<T>>(static_cast<std::size_t>(count), rc::gen::arbitrary<T>());
}

std::vector<std::int32_t> random_permutation(int rank) {
  std::vector<std::int32_t> perm(static_cast<std::size_t>(rank));
  for (int i = 0; i < rank; ++i) perm[static_cast<std::size_t>(i)] = i;
  for (int i = rank - 1; i > 0; --i) {
    std::swap(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(*rc::gen::inRange(0, i + 1))]);
  }
  return perm;
}

quantization_params random_quantization_int8() {
  return {static_cast<float>(*rc::gen::inRange(1, 2000)) / 1024.0f, *rc::gen::inRange(-128, 128)};
}

// --- constant expressions -------------------------------------------------------------------------

constexpr std::array<std::int8_t, 6> transpose_at_compile_time() {
  const std::int32_t perm[2] = {1, 0};
  const auto p = qkern::prepare_transpose<std::int8_t>(qkern::make_shape({2, 3}).value(), perm, 2).value();
  const std::int8_t in[6] = {1, 2, 3, 4, 5, 6};
  std::array<std::int8_t, 6> out{};
  qkern::transpose(p, in, out.data());
  return out;
}
static_assert(transpose_at_compile_time()[1] == 4 && transpose_at_compile_time()[2] == 2,
              "transpose prepares and runs in constant expressions");

constexpr std::int8_t average_at_compile_time() {
  const auto p = qkern::prepare_average_pool2d<std::int8_t>({0.5f, 0}, qkern::make_shape({1, 1, 2, 1}).value(),
                                                            {0.5f, 0}, {1, 2, 1, 1, pool_padding::valid})
                     .value();
  const std::int8_t in[2] = {-3, -2};
  std::int8_t out[1] = {};
  qkern::average_pool2d(p, in, out);
  return out[0];
}
static_assert(average_at_compile_time() == -3, "average pool rounds -2.5 away from zero, at compile time");

}  // namespace

// --- pooling: prepare errors ---------------------------------------------------------------------

TEST_CASE("pooling prepares require the output quantized like the input") {
  const shape s = make({1, 4, 4, 2});
  const pool2d_window w{2, 2, 2, 2, pool_padding::valid};
  const std::string expected = "output: must have the input's scale and zero point (pooling does not rescale)";
  CHECK(error_text(qkern::prepare_max_pool2d<std::int8_t>({0.5f, 1}, s, {0.25f, 1}, w)) == expected);
  CHECK(error_text(qkern::prepare_max_pool2d<std::int16_t>({0.5f, 0}, s, {0.5f, 3}, w)) == expected);
  CHECK(error_text(qkern::prepare_average_pool2d<std::int8_t>({0.5f, 1}, s, {0.5f, 2}, w)) == expected);
  CHECK(qkern::prepare_average_pool2d<std::int16_t>({0.5f, 0}, s, {0.5000001f, 0}, w).error().code() ==
        status_code::unsupported_parameter);
  CHECK(qkern::prepare_max_pool2d<std::int8_t>({0.5f, 1}, s, {0.5f, 1}, w).ok());
  CHECK(error_text(qkern::prepare_max_pool2d<std::int8_t>({0.0f, 1}, s, {0.0f, 1}, w)) ==
        "input: scale must be positive");
  CHECK(error_text(qkern::prepare_max_pool2d<std::int8_t>({0.5f, 200}, s, {0.5f, 200}, w)) ==
        "input: zero point is outside the range of the element type (got 200)");
}

TEST_CASE("pooling prepares reject zero strides and filters, bad ranks and windows that do not fit") {
  const quantization_params q{0.5f, 0};
  const shape s = make({1, 4, 5, 2});
  auto max_pool = [&](const shape& in, pool2d_window w) { return qkern::prepare_max_pool2d<std::int8_t>(q, in, q, w); };
  CHECK(error_text(max_pool(s, {2, 2, 0, 1, pool_padding::same})) == "stride_height: must be positive (got 0)");
  CHECK(error_text(max_pool(s, {2, 2, 1, 0, pool_padding::same})) == "stride_width: must be positive (got 0)");
  CHECK(error_text(max_pool(s, {0, 2, 1, 1, pool_padding::same})) == "filter_height: must be positive (got 0)");
  CHECK(error_text(max_pool(s, {2, -1, 1, 1, pool_padding::same})) == "filter_width: must be positive (got -1)");
  CHECK(error_text(max_pool(make({4, 5, 2}), {2, 2, 1, 1, pool_padding::same})) ==
        "input: must have rank 4 (NHWC) (got 3)");
  CHECK(error_text(max_pool(make({1, 0, 5, 2}), {1, 1, 1, 1, pool_padding::same})) ==
        "input: height and width must be positive");
  CHECK(error_text(max_pool(s, {5, 2, 1, 1, pool_padding::valid})) ==
        "filter_height: filter is larger than the input (VALID padding) (got 5)");
  CHECK(error_text(max_pool(s, {2, 6, 1, 1, pool_padding::valid})) ==
        "filter_width: filter is larger than the input (VALID padding) (got 6)");
  // SAME accepts a window larger than the input: it is clipped.
  const auto global = max_pool(s, {9, 9, 1, 1, pool_padding::same});
  REQUIRE(global.ok());
  CHECK(global->output == s);

  // An int16 window sum must fit int32: 65536 taps of -32768 would not.
  const auto huge = qkern::prepare_average_pool2d<std::int16_t>(q, s, q, {256, 256, 1, 1, pool_padding::same});
  CHECK(huge.error().code() == status_code::overflow);
  CHECK(error_text(huge) ==
        "filter_height * filter_width: filter area is too large for an int32 window sum (got 65536)");
  CHECK(qkern::prepare_average_pool2d<std::int16_t>(q, s, q, {255, 257, 1, 1, pool_padding::same}).ok());
  CHECK(qkern::prepare_max_pool2d<std::int16_t>(q, s, q, {256, 256, 1, 1, pool_padding::same}).ok());
}

TEST_CASE("pooling output size and padding follow TFLite for SAME and VALID") {
  const quantization_params q{0.5f, 0};
  // SAME, in 10, filter 3, stride 2: out 5, total padding 4*2 + 3 - 10 = 1 -> 0 before, 1 after.
  const auto same = qkern::prepare_max_pool2d<std::int8_t>(q, make({1, 10, 7, 1}), q, {3, 3, 2, 2, pool_padding::same});
  REQUIRE(same.ok());
  CHECK(same->output == make({1, 5, 4, 1}));
  CHECK(same->padding.height == 0);
  CHECK(same->padding.height_offset == 1);
  CHECK(same->padding.width == 1);  // in 7: out 4, total 3*2 + 3 - 7 = 2
  CHECK(same->padding.width_offset == 0);
  const auto valid =
      qkern::prepare_max_pool2d<std::int8_t>(q, make({2, 10, 7, 3}), q, {3, 2, 3, 2, pool_padding::valid});
  REQUIRE(valid.ok());
  CHECK(valid->output == make({2, 3, 3, 3}));
  CHECK(valid->padding.height == 0);
  CHECK(valid->padding.width == 0);
}

// --- pooling: results ----------------------------------------------------------------------------

TEST_CASE("average pool divides by the in-bounds taps and rounds half away from zero") {
  CHECK(qkern::rounded_average(3, 2) == 2);
  CHECK(qkern::rounded_average(-3, 2) == -2);
  CHECK(qkern::rounded_average(5, 4) == 1);
  CHECK(qkern::rounded_average(-5, 4) == -1);
  CHECK(qkern::rounded_average(-6, 4) == -2);
  CHECK(qkern::rounded_average(0, 7) == 0);

  // 3x3 input, 2x2 window, stride 2, SAME: out 2x2, padding total 1 (after), so the right and
  // bottom windows hold 2 and 1 taps.
  const quantization_params q{1.0f, 0};
  const auto p = qkern::prepare_average_pool2d<std::int8_t>(q, make({1, 3, 3, 1}), q, {2, 2, 2, 2, pool_padding::same});
  REQUIRE(p.ok());
  const std::int8_t in[9] = {1, 2, 3, 4, 5, 6, 7, 8, -9};
  std::int8_t out[4] = {};
  qkern::average_pool2d(*p, in, out);
  CHECK(out[0] == 3);   // (1+2+4+5)/4 = 3
  CHECK(out[1] == 5);   // (3+6)/2 = 4.5 -> 5
  CHECK(out[2] == 8);   // (7+8)/2 = 7.5 -> 8
  CHECK(out[3] == -9);  // one tap
}

TEST_CASE("max pool ignores padding and applies the fused activation") {
  const quantization_params q{0.5f, -10};
  const auto p = qkern::prepare_max_pool2d<std::int8_t>(q, make({1, 2, 2, 1}), q, {3, 3, 1, 1, pool_padding::same},
                                                        fused_activation::relu6);
  REQUIRE(p.ok());
  CHECK(p->output_activation_min == -10);
  CHECK(p->output_activation_max == 2);  // -10 + 6 / 0.5
  const std::int8_t in[4] = {-128, -127, -126, -125};
  std::int8_t out[4] = {};
  qkern::max_pool2d(*p, in, out);
  for (std::int8_t v : out) CHECK(v == -10);  // every window's maximum is -125, clamped to real 0
}

TEST_CASE("max and average pool of a constant tensor give the constant, clamped by the activation") {
  QKERN_PROPERTY("pool of a constant", [] {
    const shape s =
        make({*rc::gen::inRange(1, 3), *rc::gen::inRange(1, 7), *rc::gen::inRange(1, 7), *rc::gen::inRange(1, 4)});
    const pool2d_window w{*rc::gen::inRange(1, 5), *rc::gen::inRange(1, 5), *rc::gen::inRange(1, 4),
                          *rc::gen::inRange(1, 4), *rc::gen::element(pool_padding::same, pool_padding::valid)};
    const auto activation = *rc::gen::element(fused_activation::none, fused_activation::relu, fused_activation::relu6,
                                              fused_activation::relu_n1_to_1);
    const bool wide = *rc::gen::arbitrary<bool>();
    const auto check = [&](auto element) {
      using T = decltype(element);
      const quantization_params q{
          static_cast<float>(*rc::gen::inRange(1, 100)) / 64.0f,
          *rc::gen::inRange<std::int32_t>(std::numeric_limits<T>::min(), std::numeric_limits<T>::max())};
      const T value = *rc::gen::arbitrary<T>();
      const std::vector<T> in(static_cast<std::size_t>(s.element_count()), value);
      const auto max_params = qkern::prepare_max_pool2d<T>(q, s, q, w, activation);
      const auto average_params = qkern::prepare_average_pool2d<T>(q, s, q, w, activation);
      RC_PRE(max_params.ok());  // VALID with a filter larger than the input is refused
      RC_ASSERT(average_params.ok());
      const T expected = static_cast<T>(
          std::clamp<std::int32_t>(value, max_params->output_activation_min, max_params->output_activation_max));
      std::vector<T> out(static_cast<std::size_t>(max_params->output.element_count()), T{0});
      qkern::max_pool2d(*max_params, in.data(), out.data());
      for (T v : out) RC_ASSERT(v == expected);
      std::fill(out.begin(), out.end(), T{0});
      qkern::average_pool2d(*average_params, in.data(), out.data());
      for (T v : out) RC_ASSERT(v == expected);
    };
    if (wide) {
      check(std::int16_t{});
    } else {
      check(std::int8_t{});
    }
  });
}

// --- mean ----------------------------------------------------------------------------------------

TEST_CASE("mean prepare rejects bad axes and empty reductions") {
  const quantization_params q{0.5f, 0};
  const shape s = make({1, 3, 3, 4});
  const std::int32_t four[1] = {4};
  const std::int32_t minus_five[1] = {-5};
  CHECK(error_text(qkern::prepare_mean<std::int8_t>(q, s, four, 1, q, true)) ==
        "axis: is outside [-rank, rank) (got 4)");
  CHECK(error_text(qkern::prepare_mean<std::int16_t>(q, s, minus_five, 1, q, false)) ==
        "axis: is outside [-rank, rank) (got -5)");
  CHECK(error_text(qkern::prepare_mean<std::int8_t>(q, s, nullptr, 1, q, true)) == "axis: is null");
  const std::int32_t hw[2] = {1, 2};
  CHECK(error_text(qkern::prepare_mean<std::int8_t>(q, make({1, 0, 3, 4}), hw, 2, q, true)) ==
        "input: a reduced axis has extent 0");
  CHECK(qkern::prepare_mean<std::int8_t>({-1.0f, 0}, s, hw, 2, q, true).error().code() == status_code::invalid_scale);
}

TEST_CASE("mean resolves negative and repeated axes and keep_dims") {
  const quantization_params q{0.5f, 0};
  const shape s = make({2, 3, 4, 5});
  const std::int32_t axes[3] = {-2, 1, 2};  // {1, 2}, with 2 twice
  const auto kept = qkern::prepare_mean<std::int8_t>(q, s, axes, 3, q, true);
  REQUIRE(kept.ok());
  CHECK(kept->output == make({2, 1, 1, 5}));
  CHECK(kept->reduced_count == 12);
  CHECK(kept->output_count == 10);
  const auto dropped = qkern::prepare_mean<std::int8_t>(q, s, axes, 3, q, false);
  REQUIRE(dropped.ok());
  CHECK(dropped->output == make({2, 5}));
  const std::int32_t all[4] = {3, 2, 1, 0};
  const auto scalar = qkern::prepare_mean<std::int8_t>(q, s, all, 4, q, false);
  REQUIRE(scalar.ok());
  CHECK(scalar->output.rank == 0);
  CHECK(scalar->output_count == 1);
}

TEST_CASE("mean folds the count into the multiplier as TFLM does") {
  // s_in / s_out = 1 is (2^30, 1); count 12: k = 3, m' = 2^33 / 12, shift' = -2.
  const auto folded = qkern::detail::fold_count_into_multiplier({1 << 30, 1}, 12);
  CHECK(folded.multiplier == static_cast<std::int32_t>((std::int64_t{1} << 33) / 12));
  CHECK(folded.shift == -2);
  // k is capped by 31 + shift: with shift -30 only one extra bit is taken.
  const auto capped = qkern::detail::fold_count_into_multiplier({1 << 30, -30}, 1000);
  CHECK(capped.shift == -31);
  CHECK(capped.multiplier == static_cast<std::int32_t>((std::int64_t{1} << 31) / 1000));

  // Global average of {1, 2, 3, 4, 5, 6, 7, 9} (sum 37, mean 4.625) with equal quantizations.
  const quantization_params q{0.25f, 3};
  const std::int32_t hw[2] = {1, 2};
  const auto p = qkern::prepare_mean<std::int8_t, double_rounding>(q, make({1, 2, 4, 1}), hw, 2, q, true);
  REQUIRE(p.ok());
  const std::int8_t in[8] = {1, 2, 3, 4, 5, 6, 7, 9};
  std::int8_t out[1] = {};
  qkern::mean(*p, in, out);
  CHECK(out[0] == 5);  // (37 - 24)/8 = 1.625 above the zero point: round -> 2, + 3
}

TEST_CASE("mean over random axes equals a coordinate-loop reference") {
  QKERN_PROPERTY("mean vs coordinate loops", [] {
    const int rank = *rc::gen::inRange(1, 5);
    const shape s = random_shape(rank, 4);
    std::vector<std::int32_t> axes;
    for (int d = 0; d < rank; ++d) {
      if (*rc::gen::arbitrary<bool>()) axes.push_back(*rc::gen::arbitrary<bool>() ? d : d - rank);
    }
    const bool keep_dims = *rc::gen::arbitrary<bool>();
    const quantization_params in_q = random_quantization_int8();
    const quantization_params out_q = random_quantization_int8();
    const auto p = qkern::prepare_mean<std::int8_t, single_rounding>(in_q, s, axes.data(),
                                                                     static_cast<int>(axes.size()), out_q, keep_dims);
    RC_ASSERT(p.ok());
    const auto in = random_values<std::int8_t>(s.element_count());
    std::vector<std::int8_t> out(static_cast<std::size_t>(p->output_count));
    qkern::mean(*p, in.data(), out.data());

    // Sum every input into the output element whose kept coordinates it shares.
    bool reduced[qkern::max_rank] = {};
    for (std::int32_t a : axes) reduced[a < 0 ? a + rank : a] = true;
    shape kept_shape = s;
    for (int d = 0; d < rank; ++d) {
      if (reduced[d]) kept_shape.dims[d] = 1;
    }
    std::vector<std::int64_t> sums(static_cast<std::size_t>(kept_shape.element_count()), 0);
    for (std::int64_t i = 0; i < s.element_count(); ++i) {
      auto c = coordinates(s, i);
      for (int d = 0; d < rank; ++d) {
        if (reduced[d]) c[static_cast<std::size_t>(d)] = 0;
      }
      sums[static_cast<std::size_t>(flat_index(kept_shape, c))] += in[static_cast<std::size_t>(i)];
    }
    RC_ASSERT(sums.size() == out.size());
    for (std::size_t i = 0; i < out.size(); ++i) RC_ASSERT(out[i] == qkern::mean_element(*p, sums[i]));
  });
}

// --- pad -----------------------------------------------------------------------------------------

TEST_CASE("pad prepare rejects negative paddings, wrong counts and mismatched quantizations") {
  const quantization_params q{0.5f, 3};
  const shape s = make({2, 3});
  const std::int32_t negative[4] = {0, 1, -1, 0};
  CHECK(error_text(qkern::prepare_pad<std::int8_t>(q, s, negative, 2, q)) == "paddings: padding is negative (got -1)");
  const std::int32_t ok[4] = {1, 0, 0, 2};
  CHECK(error_text(qkern::prepare_pad<std::int8_t>(q, s, ok, 1, q)) ==
        "paddings: must hold one {before, after} pair per input dimension (got 1)");
  CHECK(error_text(qkern::prepare_pad<std::int8_t>(q, s, nullptr, 2, q)) == "paddings: is null");
  CHECK(error_text(qkern::prepare_pad<std::int8_t>(q, s, ok, 2, {0.5f, 4})) ==
        "output: must have the input's scale and zero point (values are copied, not rescaled)");
  CHECK(error_text(qkern::prepare_padv2<std::int8_t>(q, s, ok, 2, q, std::int8_t{7}, {0.25f, 3})) ==
        "constant_values: must have the output's scale and zero point");
  const std::int32_t huge[4] = {0, 0, 0, std::numeric_limits<std::int32_t>::max()};
  CHECK(qkern::prepare_pad<float>(s, huge, 2, 0.0f).error().code() == status_code::invalid_shape);
}

TEST_CASE("pad surrounds the input with the pad value: PAD's zero point, PADV2's constant") {
  const quantization_params q{0.5f, -7};
  const std::int32_t paddings[4] = {1, 0, 0, 2};  // one row before, two columns after
  const std::int8_t in[4] = {1, 2, 3, 4};
  const auto p = qkern::prepare_pad<std::int8_t>(q, make({2, 2}), paddings, 2, q);
  REQUIRE(p.ok());
  CHECK(p->output == make({3, 4}));
  CHECK(p->pad_value == -7);
  std::int8_t out[12] = {};
  qkern::pad(*p, in, out);
  const std::int8_t expected[12] = {-7, -7, -7, -7, 1, 2, -7, -7, 3, 4, -7, -7};
  for (int i = 0; i < 12; ++i) CHECK(out[i] == expected[i]);

  const auto v2 = qkern::prepare_padv2<std::int8_t>(q, make({2, 2}), paddings, 2, q, std::int8_t{100}, q);
  REQUIRE(v2.ok());
  CHECK(v2->pad_value == 100);
}

TEST_CASE("pad equals a coordinate-loop reference (generic element type, ranks 0..6)") {
  QKERN_PROPERTY("pad vs coordinate loops", [] {
    const int rank = *rc::gen::inRange(0, qkern::max_rank + 1);
    const shape s = random_shape(rank, 3);
    std::vector<std::int32_t> paddings(static_cast<std::size_t>(2 * rank));
    for (auto& v : paddings) v = *rc::gen::inRange(0, 3);
    const auto p = qkern::prepare_pad<std::int32_t>(s, paddings.data(), rank, -1);
    RC_ASSERT(p.ok());
    const auto in = iota_data<std::int32_t>(s.element_count());
    std::vector<std::int32_t> out(static_cast<std::size_t>(p->output_count));
    qkern::pad(*p, in.data(), out.data());
    for (std::int64_t i = 0; i < p->output_count; ++i) {
      auto c = coordinates(p->output, i);
      bool inside = true;
      for (int d = 0; d < rank; ++d) {
        auto& x = c[static_cast<std::size_t>(d)];
        x -= paddings[static_cast<std::size_t>(2 * d)];
        inside = inside && x >= 0 && x < s.dims[d];
      }
      RC_ASSERT(out[static_cast<std::size_t>(i)] == (inside ? in[static_cast<std::size_t>(flat_index(s, c))] : -1));
    }
  });
}

// --- concatenation -------------------------------------------------------------------------------

TEST_CASE("concatenation prepare rejects bad axes, counts and shapes") {
  const shape a = make({2, 3, 4});
  const shape shapes[2] = {a, make({2, 5, 4})};
  CHECK(error_text(qkern::prepare_concatenation<std::int8_t>(shapes, 2, 3)) ==
        "axis: is outside [-rank, rank) (got 3)");
  CHECK(error_text(qkern::prepare_concatenation<std::int8_t>(shapes, 2, -4)) ==
        "axis: is outside [-rank, rank) (got -4)");
  CHECK(error_text(qkern::prepare_concatenation<std::int8_t>(shapes, 2, 0)) ==
        "input1: extent off the concatenation axis differs from input0's (got 5)");
  CHECK(qkern::prepare_concatenation<std::int8_t>(shapes, 2, 1).ok());
  CHECK(qkern::prepare_concatenation<std::int8_t>(shapes, 2, -2)->axis == 1);
  const shape ranks[2] = {a, make({2, 3})};
  CHECK(error_text(qkern::prepare_concatenation<std::int8_t>(ranks, 2, 0)) ==
        "input1: rank differs from input0's (got 2)");
  CHECK(error_text(qkern::prepare_concatenation<std::int8_t>(shapes, 0, 0)) ==
        "inputs: count must lie in [1, 16] (got 0)");
  shape many[17];
  for (auto& s : many) s = a;
  CHECK(error_text(qkern::prepare_concatenation<std::int8_t>(many, 17, 0)) ==
        "inputs: count must lie in [1, 16] (got 17)");
  const shape scalars[2] = {shape{}, shape{}};
  CHECK(error_text(qkern::prepare_concatenation<std::int8_t>(scalars, 2, 0)) == "input0: rank must be at least 1");

  const quantization_params q[2] = {{0.5f, 0}, {0.5f, 300}};
  CHECK(error_text(qkern::prepare_concatenation<std::int8_t, double_rounding>(q, shapes, 2, {0.5f, 0}, 1)) ==
        "input1: zero point is outside the range of the element type (got 300)");
}

TEST_CASE("concatenation requantizes an input whose quantization differs from the output's") {
  // input1 has twice the output's scale and another zero point: q_out = 2*(q - 1) + 0, saturating.
  const quantization_params q[2] = {{0.5f, 0}, {1.0f, 1}};
  const shape shapes[2] = {make({1, 2}), make({1, 3})};
  const auto p = qkern::prepare_concatenation<std::int8_t, double_rounding>(q, shapes, 2, {0.5f, 0}, -1);
  REQUIRE(p.ok());
  CHECK_FALSE(p->rescale[0].active);
  CHECK(p->rescale[1].active);
  const std::int8_t a[2] = {-128, 127};
  const std::int8_t b[3] = {1, 11, 100};
  const std::int8_t* inputs[2] = {a, b};
  std::int8_t out[5] = {};
  qkern::concatenation(*p, inputs, out);
  const std::int8_t expected[5] = {-128, 127, 0, 20, 127};
  for (int i = 0; i < 5; ++i) CHECK(out[i] == expected[i]);
}

TEST_CASE("concatenation is plain data movement for any element type") {
  const shape shapes[3] = {make({2, 1}), make({2, 2}), make({2, 1})};
  const auto p = qkern::prepare_concatenation<float>(shapes, 3, 1);
  REQUIRE(p.ok());
  CHECK(p->output == make({2, 4}));
  const float a[2] = {1.5f, 2.5f};
  const float b[4] = {-1.0f, -2.0f, -3.0f, -4.0f};
  const float c[2] = {9.0f, 10.0f};
  const float* inputs[3] = {a, b, c};
  float out[8] = {};
  qkern::concatenation(*p, inputs, out);
  const float expected[8] = {1.5f, -1.0f, -2.0f, 9.0f, 2.5f, -3.0f, -4.0f, 10.0f};
  for (int i = 0; i < 8; ++i) CHECK(out[i] == expected[i]);
}

namespace {

// Random inputs, each with its own quantization (some equal to the output's), concatenated
// along a random axis; the output must be the naive concatenation of each input passed through
// the requantize op.
template <class T, class Policy>
void concatenation_matches_requantize() {
  const int rank = *rc::gen::inRange(1, 5);
  const int axis = *rc::gen::inRange(-rank, rank);
  const int count = *rc::gen::inRange(2, 6);
  const int resolved = axis < 0 ? axis + rank : axis;
  const shape base = random_shape(rank, 3);
  const auto random_quantization = [] {
    return quantization_params{
        static_cast<float>(*rc::gen::inRange(1, 4000)) / 2048.0f,
        *rc::gen::inRange<std::int32_t>(std::numeric_limits<T>::min(), std::numeric_limits<T>::max())};
  };
  const quantization_params out_q = random_quantization();
  std::vector<shape> shapes;
  std::vector<quantization_params> quants;
  std::vector<std::vector<T>> data;
  std::vector<std::vector<T>> requantized;
  for (int i = 0; i < count; ++i) {
    shape s = base;
    s.dims[resolved] = *rc::gen::inRange(1, 4);
    const quantization_params q = *rc::gen::arbitrary<bool>() ? out_q : random_quantization();
    shapes.push_back(s);
    quants.push_back(q);
    data.push_back(random_values<T>(s.element_count()));
    const auto r = qkern::prepare_requantize<T, T, Policy>(q, out_q, s);
    RC_ASSERT(r.ok());
    std::vector<T> y(data.back().size());
    qkern::requantize(*r, data.back().data(), y.data());
    requantized.push_back(y);
  }
  const auto p = qkern::prepare_concatenation<T, Policy>(quants.data(), shapes.data(), count, out_q, axis);
  RC_ASSERT(p.ok());
  std::vector<const T*> inputs;
  for (const auto& d : data) inputs.push_back(d.data());
  std::vector<T> out(static_cast<std::size_t>(p->output.element_count()));
  qkern::concatenation(*p, inputs.data(), out.data());

  // Output coordinate c along the axis belongs to the input whose range holds it.
  for (std::int64_t i = 0; i < p->output.element_count(); ++i) {
    auto c = coordinates(p->output, i);
    auto& along = c[static_cast<std::size_t>(resolved)];
    int which = 0;
    while (along >= shapes[static_cast<std::size_t>(which)].dims[resolved])
      along -= shapes[static_cast<std::size_t>(which++)].dims[resolved];
    const auto& source = requantized[static_cast<std::size_t>(which)];
    RC_ASSERT(out[static_cast<std::size_t>(i)] ==
              source[static_cast<std::size_t>(flat_index(shapes[static_cast<std::size_t>(which)], c))]);
  }
}

}  // namespace

TEST_CASE("concatenation with differing quantizations equals the requantize op on each input") {
  QKERN_PROPERTY("int8, double rounding", [] { concatenation_matches_requantize<std::int8_t, double_rounding>(); });
  QKERN_PROPERTY("int8, single rounding", [] { concatenation_matches_requantize<std::int8_t, single_rounding>(); });
  QKERN_PROPERTY("int16, double rounding", [] { concatenation_matches_requantize<std::int16_t, double_rounding>(); });
  QKERN_PROPERTY("int16, single rounding", [] { concatenation_matches_requantize<std::int16_t, single_rounding>(); });
}

// --- transpose -----------------------------------------------------------------------------------

TEST_CASE("transpose prepare rejects perms that are not permutations of the input's axes") {
  const shape s = make({2, 3, 4});
  const std::int32_t repeat[3] = {0, 1, 1};
  const std::int32_t outside[3] = {0, 3, 1};
  const std::int32_t negative[3] = {-1, 0, 1};
  const std::int32_t fine[3] = {2, 0, 1};
  CHECK(error_text(qkern::prepare_transpose<std::int8_t>(s, repeat, 3)) == "perm: repeats an axis (got 1)");
  CHECK(error_text(qkern::prepare_transpose<std::int8_t>(s, outside, 3)) == "perm: entry is outside [0, rank) (got 3)");
  CHECK(error_text(qkern::prepare_transpose<std::int8_t>(s, negative, 3)) ==
        "perm: entry is outside [0, rank) (got -1)");
  CHECK(error_text(qkern::prepare_transpose<std::int8_t>(s, fine, 2)) ==
        "perm: must hold one entry per input dimension (got 2)");
  CHECK(error_text(qkern::prepare_transpose<std::int8_t>(s, nullptr, 3)) == "perm: is null");
  CHECK(error_text(qkern::prepare_transpose<std::int8_t>({0.5f, 1}, s, fine, 3, {0.5f, 2})) ==
        "output: must have the input's scale and zero point (values are copied, not rescaled)");
  const auto p = qkern::prepare_transpose<std::int8_t>(s, fine, 3);
  REQUIRE(p.ok());
  CHECK(p->output == make({4, 2, 3}));
}

TEST_CASE("transpose by a random permutation and then its inverse is the identity (ranks 0..6)") {
  QKERN_PROPERTY("transpose round trip", [] {
    const int rank = *rc::gen::inRange(0, qkern::max_rank + 1);
    const shape s = random_shape(rank, 4);
    const auto perm = random_permutation(rank);
    std::vector<std::int32_t> inverse(perm.size());
    for (std::size_t k = 0; k < perm.size(); ++k) {
      inverse[static_cast<std::size_t>(perm[k])] = static_cast<std::int32_t>(k);
    }
    const auto forward = qkern::prepare_transpose<std::int16_t>(s, perm.data(), rank);
    RC_ASSERT(forward.ok());
    const auto backward = qkern::prepare_transpose<std::int16_t>(forward->output, inverse.data(), rank);
    RC_ASSERT(backward.ok());
    RC_ASSERT(backward->output == s);
    const auto in = random_values<std::int16_t>(s.element_count());
    std::vector<std::int16_t> middle(in.size()), back(in.size());
    qkern::transpose(*forward, in.data(), middle.data());
    qkern::transpose(*backward, middle.data(), back.data());
    RC_ASSERT(back == in);
    // And the middle tensor is the definition: output[c] = input[c permuted back].
    for (std::int64_t i = 0; i < forward->output.element_count(); ++i) {
      const auto c = coordinates(forward->output, i);
      std::array<std::int64_t, qkern::max_rank> source{};
      for (int k = 0; k < rank; ++k) {
        source[static_cast<std::size_t>(perm[static_cast<std::size_t>(k)])] = c[static_cast<std::size_t>(k)];
      }
      RC_ASSERT(middle[static_cast<std::size_t>(i)] == in[static_cast<std::size_t>(flat_index(s, source))]);
    }
  });
}

// --- strided_slice -------------------------------------------------------------------------------

TEST_CASE("strided_slice prepare rejects zero strides, unsupported masks and bad shrinks") {
  const shape s = make({4, 5});
  const std::int32_t begin[2] = {0, 0}, end[2] = {4, 5};
  const std::int32_t zero[2] = {1, 0}, backwards[2] = {-1, 1}, ones[2] = {1, 1};
  CHECK(error_text(qkern::prepare_strided_slice<std::int8_t>(s, begin, end, zero, 2, {})) == "strides: stride is 0");
  qkern::strided_slice_masks ellipsis;
  ellipsis.ellipsis = 1;
  CHECK(error_text(qkern::prepare_strided_slice<std::int8_t>(s, begin, end, ones, 2, ellipsis)) ==
        "ellipsis_mask: is not supported");
  qkern::strided_slice_masks new_axis;
  new_axis.new_axis = 2;
  CHECK(qkern::prepare_strided_slice<std::int8_t>(s, begin, end, ones, 2, new_axis).error().code() ==
        status_code::unsupported_parameter);
  qkern::strided_slice_masks shrink_first;
  shrink_first.shrink_axis = 1;
  CHECK(error_text(qkern::prepare_strided_slice<std::int8_t>(s, begin, end, backwards, 2, shrink_first)) ==
        "strides: a shrunk axis needs a positive stride (got -1)");
  const std::int32_t past[2] = {4, 0}, before[2] = {-5, 0};
  CHECK(error_text(qkern::prepare_strided_slice<std::int8_t>(s, past, end, ones, 2, shrink_first)) ==
        "begin: index of a shrunk axis is outside the axis (got 4)");
  CHECK(error_text(qkern::prepare_strided_slice<std::int8_t>(s, before, end, ones, 2, shrink_first)) ==
        "begin: index of a shrunk axis is outside the axis (got -5)");
  CHECK(error_text(qkern::prepare_strided_slice<std::int8_t>(s, begin, end, ones, 1, {})) ==
        "begin, end and strides: must hold one entry per input dimension (got 1)");
}

TEST_CASE("strided_slice resolves masks, negative indices and negative strides as TFLite") {
  const shape s = make({3, 5});
  const auto in = iota_data<std::int8_t>(15);  // row r, column c holds 5r + c
  auto run = [&](std::array<std::int32_t, 2> b, std::array<std::int32_t, 2> e, std::array<std::int32_t, 2> st,
                 qkern::strided_slice_masks m, const shape& expected_shape) {
    const auto p = qkern::prepare_strided_slice<std::int8_t>(s, b.data(), e.data(), st.data(), 2, m);
    REQUIRE(p.ok());
    CHECK(p->output == expected_shape);
    std::vector<std::int8_t> out(static_cast<std::size_t>(p->output.element_count()));
    qkern::strided_slice(*p, in.data(), out.data());
    return std::vector<int>(out.begin(), out.end());
  };
  // Rows 2, 0 (stride -2 from the masked begin d-1), columns -1 .. 1 backwards: 4, 3, 2.
  qkern::strided_slice_masks begin_first;
  begin_first.begin = 1;
  CHECK(run({0, -1}, {-100, 1}, {-2, -1}, begin_first, make({2, 3})) == std::vector<int>{14, 13, 12, 4, 3, 2});
  // Row 1 shrunk away, columns 1, 3 (end beyond the axis is clamped).
  qkern::strided_slice_masks shrink_rows;
  shrink_rows.shrink_axis = 1;
  CHECK(run({1, 1}, {0, 100}, {1, 2}, shrink_rows, make({2})) == std::vector<int>{6, 8});
  // Everything shrunk: a rank-0 output.
  qkern::strided_slice_masks shrink_all;
  shrink_all.shrink_axis = 3;
  CHECK(run({-1, -2}, {0, 0}, {1, 1}, shrink_all, shape{}) == std::vector<int>{13});
  // end_mask with a negative stride runs to the front; an empty range gives extent 0.
  qkern::strided_slice_masks end_second;
  end_second.end = 2;
  CHECK(run({0, 2}, {1, 0}, {1, -1}, end_second, make({1, 3})) == std::vector<int>{2, 1, 0});
  CHECK(run({2, 0}, {1, 5}, {1, 1}, {}, make({0, 5})).empty());
}

TEST_CASE("strided_slice equals index lists built from the README's rules") {
  QKERN_PROPERTY("strided_slice vs index lists", [] {
    const int rank = *rc::gen::inRange(1, qkern::max_rank + 1);
    const shape s = random_shape(rank, 5);
    std::vector<std::int32_t> begin(static_cast<std::size_t>(rank)), end(begin.size()), strides(begin.size());
    qkern::strided_slice_masks masks;
    std::vector<std::vector<std::int64_t>> taken(begin.size());
    int output_rank = 0;
    for (int k = 0; k < rank; ++k) {
      const auto uk = static_cast<std::size_t>(k);
      const std::int64_t d = s.dims[k];
      const std::uint32_t bit = 1u << k;
      if (*rc::gen::inRange(0, 4) == 0) {  // shrink: stride 1, an in-range begin
        masks.shrink_axis |= bit;
        strides[uk] = 1;
        begin[uk] = *rc::gen::inRange(static_cast<std::int32_t>(-d), static_cast<std::int32_t>(d));
        end[uk] = *rc::gen::inRange(-9, 10);
        taken[uk] = {begin[uk] < 0 ? begin[uk] + d : begin[uk]};
        continue;
      }
      ++output_rank;
      strides[uk] = *rc::gen::element(1, 2, 3, -1, -2);
      begin[uk] = *rc::gen::inRange(-9, 10);
      end[uk] = *rc::gen::inRange(-9, 10);
      if (*rc::gen::arbitrary<bool>()) masks.begin |= bit;
      if (*rc::gen::arbitrary<bool>()) masks.end |= bit;
      const bool forward = strides[uk] > 0;
      auto resolve = [&](std::int64_t v, bool masked, std::int64_t masked_value) {
        if (masked) return masked_value;
        if (v < 0) v += d;
        return forward ? std::clamp<std::int64_t>(v, 0, d) : std::clamp<std::int64_t>(v, -1, d - 1);
      };
      const std::int64_t start = resolve(begin[uk], (masks.begin & bit) != 0, forward ? 0 : d - 1);
      const std::int64_t stop = resolve(end[uk], (masks.end & bit) != 0, forward ? d : -1);
      for (std::int64_t i = start; forward ? i < stop : i > stop; i += strides[uk]) taken[uk].push_back(i);
    }
    const auto p = qkern::prepare_strided_slice<std::int32_t>(s, begin.data(), end.data(), strides.data(), rank, masks);
    RC_ASSERT(p.ok());
    RC_ASSERT(p->output.rank == output_rank);
    std::int64_t expected_count = 1;
    for (const auto& t : taken) expected_count *= static_cast<std::int64_t>(t.size());
    RC_ASSERT(p->output.element_count() == expected_count);
    const auto in = iota_data<std::int32_t>(s.element_count());
    std::vector<std::int32_t> out(static_cast<std::size_t>(expected_count));
    qkern::strided_slice(*p, in.data(), out.data());
    // Walk the cartesian product of the index lists in row-major order.
    std::vector<std::size_t> position(begin.size(), 0);
    for (std::int64_t i = 0; i < expected_count; ++i) {
      std::array<std::int64_t, qkern::max_rank> c{};
      for (std::size_t k = 0; k < taken.size(); ++k) c[k] = taken[k][position[k]];
      RC_ASSERT(out[static_cast<std::size_t>(i)] == in[static_cast<std::size_t>(flat_index(s, c))]);
      for (std::size_t k = taken.size(); k-- > 0;) {
        if (++position[k] < taken[k].size()) break;
        position[k] = 0;
      }
    }
  });
}

// --- depth_to_space, space_to_depth --------------------------------------------------------------

TEST_CASE("depth_to_space and space_to_depth prepares reject block sizes that do not divide") {
  CHECK(error_text(qkern::prepare_depth_to_space<std::int8_t>(make({1, 2, 2, 8}), 0)) ==
        "block_size: must be positive (got 0)");
  CHECK(error_text(qkern::prepare_depth_to_space<std::int8_t>(make({1, 2, 2, 8}), 3)) ==
        "input: channel count is not a multiple of block_size squared (got 8)");
  CHECK(error_text(qkern::prepare_depth_to_space<std::int8_t>(make({2, 2, 8}), 2)) ==
        "input: must have rank 4 (NHWC) (got 3)");
  CHECK(error_text(qkern::prepare_space_to_depth<std::int8_t>(make({1, 4, 6, 1}), 4)) ==
        "input: width is not a multiple of block_size (got 6)");
  CHECK(error_text(qkern::prepare_space_to_depth<std::int8_t>(make({1, 3, 6, 1}), 2)) ==
        "input: height is not a multiple of block_size (got 3)");
  CHECK(error_text(qkern::prepare_space_to_depth<std::int8_t>(make({1, 4, 4, 1}), -2)) ==
        "block_size: must be positive (got -2)");
  CHECK(qkern::prepare_space_to_depth<std::int8_t>(make({1, 0, 0, 1}), 1 << 20).error().code() ==
        status_code::invalid_shape);
  CHECK(error_text(qkern::prepare_space_to_depth<std::int8_t>({0.5f, 0}, make({1, 4, 4, 1}), 2, {0.25f, 0})) ==
        "output: must have the input's scale and zero point (values are copied, not rescaled)");
}

TEST_CASE("depth_to_space follows the DCR channel order") {
  // One input pixel with 8 channels, block 2: output 2x2 pixels of 2 channels, block
  // position (by, bx) reading channels (by*2 + bx)*2 ...
  const auto p = qkern::prepare_depth_to_space<std::int8_t>(make({1, 1, 1, 8}), 2);
  REQUIRE(p.ok());
  CHECK(p->output == make({1, 2, 2, 2}));
  const auto in = iota_data<std::int8_t>(8);
  std::int8_t out[8] = {};
  qkern::depth_to_space(*p, in.data(), out);
  for (int i = 0; i < 8; ++i) CHECK(out[i] == i);  // with one input pixel DCR is the identity order
  // Two input pixels side by side: output row 0 is (pixel 0, block row 0), (pixel 1, block row 0).
  const auto wide = qkern::prepare_depth_to_space<std::int8_t>(make({1, 1, 2, 4}), 2);
  REQUIRE(wide.ok());
  const auto in2 = iota_data<std::int8_t>(8);
  std::int8_t out2[8] = {};
  qkern::depth_to_space(*wide, in2.data(), out2);
  const std::int8_t expected[8] = {0, 1, 4, 5, 2, 3, 6, 7};
  for (int i = 0; i < 8; ++i) CHECK(out2[i] == expected[i]);
}

TEST_CASE("depth_to_space after space_to_depth (and the reverse) is the identity") {
  QKERN_PROPERTY("space/depth round trips", [] {
    const int block = *rc::gen::inRange(1, 4);
    const shape shallow = make({*rc::gen::inRange(1, 3), block * *rc::gen::inRange(1, 4),
                                block * *rc::gen::inRange(1, 4), *rc::gen::inRange(1, 4)});
    const auto to_depth = qkern::prepare_space_to_depth<std::int8_t>(shallow, block);
    RC_ASSERT(to_depth.ok());
    const auto to_space = qkern::prepare_depth_to_space<std::int8_t>(to_depth->output, block);
    RC_ASSERT(to_space.ok());
    RC_ASSERT(to_space->output == shallow);
    const auto in = random_values<std::int8_t>(shallow.element_count());
    std::vector<std::int8_t> deep(in.size()), back(in.size()), again(in.size());
    qkern::space_to_depth(*to_depth, in.data(), deep.data());
    qkern::depth_to_space(*to_space, deep.data(), back.data());
    RC_ASSERT(back == in);
    qkern::space_to_depth(*to_depth, back.data(), again.data());
    RC_ASSERT(again == deep);
    // The deep tensor is the definition: channel (by*bs + bx)*C + c of (y, x) is (y*bs + by, x*bs + bx, c).
    const std::int64_t channels = shallow[3];
    for (std::int64_t i = 0; i < to_depth->output.element_count(); ++i) {
      const auto c = coordinates(to_depth->output, i);
      const std::int64_t block_position = c[3] / channels;
      const std::array<std::int64_t, qkern::max_rank> source{c[0], c[1] * block + block_position / block,
                                                             c[2] * block + block_position % block, c[3] % channels};
      RC_ASSERT(deep[static_cast<std::size_t>(i)] == in[static_cast<std::size_t>(flat_index(shallow, source))]);
    }
  });
}

// --- resize_nearest_neighbor ---------------------------------------------------------------------

TEST_CASE("resize_nearest_neighbor prepare rejects empty sizes and bad ranks") {
  CHECK(error_text(qkern::prepare_resize_nearest_neighbor<std::int8_t>(make({1, 2, 2, 1}), 0, 4)) ==
        "size: output height must be positive (got 0)");
  CHECK(error_text(qkern::prepare_resize_nearest_neighbor<std::int8_t>(make({1, 2, 2, 1}), 4, -1)) ==
        "size: output width must be positive (got -1)");
  CHECK(error_text(qkern::prepare_resize_nearest_neighbor<std::int8_t>(make({2, 2, 1}), 4, 4)) ==
        "input: must have rank 4 (NHWC) (got 3)");
  CHECK(error_text(qkern::prepare_resize_nearest_neighbor<std::int8_t>(make({1, 2, 0, 1}), 4, 4)) ==
        "input: height and width must be positive");
}

TEST_CASE("resize_nearest_neighbor maps coordinates with TFLite's float32 rules") {
  using qkern::nearest_source_index;
  // 3 -> 5 without flags: floor(o * 0.6): 0 0 1 1 2.
  const auto plain = qkern::detail::make_nearest_axis_map(3, 5, false);
  const int plain_expected[5] = {0, 0, 1, 1, 2};
  for (int o = 0; o < 5; ++o) CHECK(nearest_source_index(plain, o, {}) == plain_expected[o]);
  // align_corners: scale (3-1)/(5-1) = 0.5, round half away: 0 1 1 2 2.
  const auto aligned = qkern::detail::make_nearest_axis_map(3, 5, true);
  const int aligned_expected[5] = {0, 1, 1, 2, 2};
  for (int o = 0; o < 5; ++o) CHECK(nearest_source_index(aligned, o, {true, false}) == aligned_expected[o]);
  // half_pixel_centers: floor((o + 0.5) * 0.6): 0 0 1 2 2.
  const int centered_expected[5] = {0, 0, 1, 2, 2};
  for (int o = 0; o < 5; ++o) CHECK(nearest_source_index(plain, o, {false, true}) == centered_expected[o]);
  // Downsampling 5 -> 2 with half pixels: floor(0.5 * 2.5) = 1, floor(1.5 * 2.5) = 3.
  const auto down = qkern::detail::make_nearest_axis_map(5, 2, false);
  CHECK(nearest_source_index(down, 0, {false, true}) == 1);
  CHECK(nearest_source_index(down, 1, {false, true}) == 3);
  // Both flags (TFLM accepts them): round((o + 0.5) * 0.5) capped at 2: 0 1 1 2 2.
  const int both_expected[5] = {0, 1, 1, 2, 2};
  for (int o = 0; o < 5; ++o) CHECK(nearest_source_index(aligned, o, {true, true}) == both_expected[o]);
}

TEST_CASE("resize_nearest_neighbor by an integer factor repeats pixels") {
  QKERN_PROPERTY("integer upsampling", [] {
    const int fy = *rc::gen::inRange(1, 4), fx = *rc::gen::inRange(1, 4);
    const shape s =
        make({*rc::gen::inRange(1, 3), *rc::gen::inRange(1, 5), *rc::gen::inRange(1, 5), *rc::gen::inRange(1, 4)});
    const auto p = qkern::prepare_resize_nearest_neighbor<std::int8_t>(s, s[1] * fy, s[2] * fx);
    RC_ASSERT(p.ok());
    const auto in = random_values<std::int8_t>(s.element_count());
    std::vector<std::int8_t> out(static_cast<std::size_t>(p->output.element_count()));
    qkern::resize_nearest_neighbor(*p, in.data(), out.data());
    for (std::int64_t i = 0; i < p->output.element_count(); ++i) {
      const auto c = coordinates(p->output, i);
      const std::array<std::int64_t, qkern::max_rank> source{c[0], c[1] / fy, c[2] / fx, c[3]};
      RC_ASSERT(out[static_cast<std::size_t>(i)] == in[static_cast<std::size_t>(flat_index(s, source))]);
    }
  });
}

// --- reshape -------------------------------------------------------------------------------------

TEST_CASE("reshape validates element counts and infers one -1 extent") {
  const shape s = make({2, 3, 4});
  const std::int32_t inferred[2] = {-1, 6};
  const auto p = qkern::prepare_reshape(s, inferred, 2);
  REQUIRE(p.ok());
  CHECK(p->output == make({4, 6}));
  CHECK(p->count == 24);
  const std::int32_t wrong[2] = {5, 5};
  CHECK(error_text(qkern::prepare_reshape(s, wrong, 2)) ==
        "new shape: element count differs from the input's (got 25)");
  const std::int32_t two_unknowns[3] = {-1, -1, 2};
  CHECK(error_text(qkern::prepare_reshape(s, two_unknowns, 3)) == "new shape: has more than one extent -1");
  const std::int32_t not_exact[2] = {-1, 5};
  CHECK(error_text(qkern::prepare_reshape(s, not_exact, 2)) ==
        "new shape: the -1 extent cannot be inferred from the element count (got 24)");
  const std::int32_t negative[2] = {-2, -12};
  CHECK(error_text(qkern::prepare_reshape(s, negative, 2)) == "new shape: extent is negative (got -2)");
  const std::int32_t seven[7] = {1, 1, 1, 1, 1, 1, 24};
  CHECK(qkern::prepare_reshape(s, seven, 7).error().code() == status_code::rank_too_large);
  const auto scalar = qkern::prepare_reshape(make({1, 1}), nullptr, 0);
  REQUIRE(scalar.ok());
  CHECK(scalar->output.rank == 0);

  const auto in = iota_data<std::int8_t>(24);
  std::vector<std::int8_t> out(24);
  qkern::reshape(*p, in.data(), out.data());
  CHECK(out == in);
}
