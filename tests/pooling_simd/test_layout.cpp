// transpose and depth_to_space: the block copies (simd/strided_copy.hpp) and the public evals
// against the scalar strided walk, for random ranks 0..6, permutations, extents (planes large
// enough for 16x16 tiles and ragged edges) and element types.
#include <doctest/doctest.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "cases.hpp"
#include "qkern/kernels/layout.hpp"

using namespace qkern_pool_test;

namespace {

template <class T>
std::vector<T> numbered(std::int64_t count, seeded_source& s) {
  std::vector<T> v(static_cast<std::size_t>(count));
  const auto start = static_cast<std::uint64_t>(s.next());
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(start + i * 2654435761u);
  return v;
}

template <class T>
void check_transpose(const qkern::shape& input_shape, const std::vector<std::int32_t>& perm, seeded_source& s) {
  const auto p = qkern::prepare_transpose<T>(input_shape, perm.data(), static_cast<int>(perm.size()));
  REQUIRE(p.ok());
  const auto input = numbered<T>(input_shape.element_count(), s);
  const auto count = static_cast<std::size_t>(p->output.element_count());
  std::vector<T> expected(count), vector_path(count), public_eval(count);
  qkern::scalar::transpose(*p, input.data(), expected.data());
  qkern::simd::transpose<arch>(*p, input.data(), vector_path.data());
  qkern::transpose(*p, input.data(), public_eval.data());
  std::string perm_text;
  for (const auto a : perm) perm_text += std::to_string(a) + " ";
  INFO("transpose " << sizeof(T) << "-byte, input " << text(input_shape) << ", perm " << perm_text
                    << "first difference at " << first_difference(vector_path, expected));
  CHECK(vector_path == expected);
  CHECK(public_eval == expected);
}

template <class T>
void random_transposes(std::uint64_t seed, int cases) {
  seeded_source s(seed);
  for (int i = 0; i < cases; ++i) {
    const int rank = static_cast<int>(s.in_range(0, 6));
    // Extents: a few long ones (whole 16x16 tiles plus edges) among short ones and ones.
    const std::int64_t budget = rank <= 2 ? 100 : (rank <= 4 ? 24 : 7);
    qkern::shape sh;
    sh.rank = rank;
    for (int d = 0; d < rank; ++d) {
      sh.dims[d] = static_cast<std::int32_t>(s.next() % 5 == 0 ? 1 : s.in_range(1, budget));
    }
    std::vector<std::int32_t> perm(static_cast<std::size_t>(rank));
    std::iota(perm.begin(), perm.end(), 0);
    for (std::size_t k = perm.size(); k > 1; --k) {
      std::swap(perm[k - 1], perm[static_cast<std::size_t>(s.in_range(0, static_cast<std::int64_t>(k) - 1))]);
    }
    check_transpose<T>(sh, perm, s);
  }
}

template <class T>
void check_depth_to_space(const qkern::shape& input_shape, std::int32_t block, seeded_source& s) {
  const auto p = qkern::prepare_depth_to_space<T>(input_shape, block);
  REQUIRE(p.ok());
  const auto input = numbered<T>(input_shape.element_count(), s);
  const auto count = static_cast<std::size_t>(p->output.element_count());
  std::vector<T> expected(count), vector_path(count), public_eval(count);
  qkern::scalar::depth_to_space(*p, input.data(), expected.data());
  qkern::simd::depth_to_space<arch>(*p, input.data(), vector_path.data());
  qkern::depth_to_space(*p, input.data(), public_eval.data());
  INFO("depth_to_space " << sizeof(T) << "-byte, input " << text(input_shape) << ", block " << block);
  CHECK(vector_path == expected);
  CHECK(public_eval == expected);
}

}  // namespace

TEST_CASE("transpose int8: block copy == scalar walk") { random_transposes<std::int8_t>(41, case_count); }
TEST_CASE("transpose int16: block copy == scalar walk") { random_transposes<std::int16_t>(42, case_count / 2); }
TEST_CASE("transpose int32 and float: block copy == scalar walk") {
  random_transposes<std::int32_t>(43, case_count / 4);
  random_transposes<float>(44, case_count / 4);
}

TEST_CASE("transpose at model shapes: NHWC <-> NCHW") {
  seeded_source s(45);
  check_transpose<std::int8_t>(qkern::make_shape({1, 56, 56, 64}).value(), {0, 3, 1, 2}, s);
  check_transpose<std::int8_t>(qkern::make_shape({1, 64, 56, 56}).value(), {0, 2, 3, 1}, s);
  check_transpose<std::int8_t>(qkern::make_shape({2, 33, 47}).value(), {0, 2, 1}, s);
  check_transpose<std::int16_t>(qkern::make_shape({1, 17, 19, 35}).value(), {0, 3, 1, 2}, s);
}

TEST_CASE("depth_to_space: block copy == scalar walk") {
  seeded_source s(46);
  for (int i = 0; i < case_count / 2; ++i) {
    const auto block = static_cast<std::int32_t>(s.in_range(1, 4));
    const std::int64_t depth = s.in_range(1, 20);
    const auto shape = qkern::make_shape({s.in_range(1, 2), s.in_range(1, 9), s.in_range(1, 9), depth * block * block}).value();
    check_depth_to_space<std::int8_t>(shape, block, s);
    check_depth_to_space<std::int16_t>(shape, block, s);
  }
}
