// Shapes and the broadcast plan. The plan's strides are checked against a direct NumPy-style
// index computation on every output element of random broadcastable shape pairs.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "qkern/core/broadcast.hpp"
#include "support/property.hpp"

using qkern::broadcast_kind;
using qkern::broadcast_operand;
using qkern::make_broadcast_plan;
using qkern::shape;

namespace {

shape make(std::initializer_list<std::int64_t> dims) { return qkern::make_shape(dims).value(); }

// Flat index into `operand` of the output coordinate `coord`, by right-aligned broadcasting.
std::int64_t numpy_index(const shape& operand, const shape& out, const std::vector<std::int64_t>& coord) {
  std::int64_t index = 0;
  const int offset = out.rank - operand.rank;
  for (int d = 0; d < operand.rank; ++d) {
    const std::int64_t c = operand.dims[d] == 1 ? 0 : coord[static_cast<std::size_t>(d + offset)];
    index = index * operand.dims[d] + c;
  }
  return index;
}

// Walks the plan's collapsed loop nest and records both operand offsets per output element.
void walk_plan(const qkern::broadcast_plan& plan, std::vector<std::int64_t>& first, std::vector<std::int64_t>& second) {
  std::int64_t counter[qkern::max_rank] = {};
  for (std::int64_t i = 0; i < plan.output_count; ++i) {
    std::int64_t a = 0;
    std::int64_t b = 0;
    for (int d = 0; d < plan.rank; ++d) {
      a += counter[d] * plan.stride_first[d];
      b += counter[d] * plan.stride_second[d];
    }
    first.push_back(a);
    second.push_back(b);
    for (int d = plan.rank - 1; d >= 0; --d) {
      if (++counter[d] < plan.extent[d]) break;
      counter[d] = 0;
    }
  }
}

}  // namespace

TEST_CASE("broadcast plan strides address the same elements as NumPy broadcasting") {
  QKERN_PROPERTY("random broadcastable pairs, ranks 0..6", [] {
    const int rank = *rc::gen::inRange(0, 7);
    shape out;
    out.rank = rank;
    for (int d = 0; d < rank; ++d) out.dims[d] = *rc::gen::inRange(1, 5);
    auto derive = [&](int operand_rank) {
      shape s;
      s.rank = operand_rank;
      for (int d = 0; d < operand_rank; ++d) {
        s.dims[d] = *rc::gen::element(0, 1) ? 1 : out.dims[d + rank - operand_rank];
      }
      return s;
    };
    const shape a = derive(*rc::gen::inRange(0, rank + 1));
    const shape b = derive(*rc::gen::inRange(0, rank + 1));
    const auto plan = make_broadcast_plan(a, b);
    RC_ASSERT(plan.ok());
    std::vector<std::int64_t> got_a, got_b;
    walk_plan(*plan, got_a, got_b);
    const shape& o = plan->output;
    RC_ASSERT(static_cast<std::int64_t>(got_a.size()) == o.element_count());
    std::vector<std::int64_t> coord(static_cast<std::size_t>(o.rank), 0);
    for (std::size_t i = 0; i < got_a.size(); ++i) {
      RC_ASSERT(got_a[i] == numpy_index(a, o, coord));
      RC_ASSERT(got_b[i] == numpy_index(b, o, coord));
      for (int d = o.rank - 1; d >= 0; --d) {
        if (++coord[static_cast<std::size_t>(d)] < o.dims[d]) break;
        coord[static_cast<std::size_t>(d)] = 0;
      }
    }
  });
}

TEST_CASE("broadcast plan classification") {
  const auto kind_of = [](shape a, shape b) { return make_broadcast_plan(a, b).value(); };
  SUBCASE("same shape collapses to one dimension") {
    const auto p = kind_of(make({1, 56, 56, 64}), make({1, 56, 56, 64}));
    CHECK(p.kind == broadcast_kind::same_shape);
    CHECK(p.rank == 1);
    CHECK(p.extent[0] == 56 * 56 * 64);
    CHECK_FALSE(p.requires_broadcast());
  }
  SUBCASE("scalars, rank 0 and [1]") {
    auto p = kind_of(make({}), make({2, 3}));
    CHECK(p.kind == broadcast_kind::scalar);
    CHECK(p.operand == broadcast_operand::first);
    p = kind_of(make({4, 5, 6}), make({1}));
    CHECK(p.kind == broadcast_kind::scalar);
    CHECK(p.operand == broadcast_operand::second);
    CHECK(kind_of(make({}), make({})).kind == broadcast_kind::same_shape);
    CHECK(kind_of(make({1, 1}), make({1})).kind == broadcast_kind::same_shape);
  }
  SUBCASE("squeeze-excitation: 1x1x1xC times 1xHxWxC is an inner vector") {
    const auto p = kind_of(make({1, 1, 1, 64}), make({1, 56, 56, 64}));
    CHECK(p.kind == broadcast_kind::inner_vector);
    CHECK(p.operand == broadcast_operand::first);
    CHECK(p.extent[0] == 56 * 56);
    CHECK(p.extent[1] == 64);
    const auto q = kind_of(make({14, 14, 256}), make({256}));
    CHECK(q.kind == broadcast_kind::inner_vector);
    CHECK(q.operand == broadcast_operand::second);
  }
  SUBCASE("[N,C] with [N,1] is an outer vector") {
    const auto p = kind_of(make({8, 1}), make({8, 10}));
    CHECK(p.kind == broadcast_kind::outer_vector);
    CHECK(p.operand == broadcast_operand::first);
  }
  SUBCASE("both operands broadcasting, and batched SE, are general") {
    CHECK(kind_of(make({1, 5, 1}), make({4, 1, 3})).kind == broadcast_kind::general);
    const auto p = kind_of(make({2, 1, 1, 8}), make({2, 3, 3, 8}));
    CHECK(p.kind == broadcast_kind::general);
    CHECK(p.rank == 3);
  }
  SUBCASE("empty tensors keep a zero extent") {
    const auto p = kind_of(make({0, 3}), make({1, 3}));
    CHECK(p.output_count == 0);
  }
}

TEST_CASE("shape errors: rank above 6, negative extents, shapes that do not broadcast") {
  const auto too_deep = qkern::make_shape({1, 1, 1, 1, 1, 1, 1});
  REQUIRE_FALSE(too_deep.ok());
  CHECK(too_deep.error().code() == qkern::status_code::rank_too_large);
  CHECK_FALSE(qkern::make_shape({2, -1}).ok());
  shape seven;
  seven.rank = 7;
  CHECK(make_broadcast_plan(seven, make({1})).error().code() == qkern::status_code::rank_too_large);
  const auto bad = make_broadcast_plan(make({2, 3}), make({4, 3}));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code() == qkern::status_code::not_broadcastable);
  CHECK(bad.error().value() == 0);
  CHECK_FALSE(make_broadcast_plan(make({0}), make({2})).ok());
  CHECK_FALSE(qkern::make_shape({65536, 65536}).ok());
}
