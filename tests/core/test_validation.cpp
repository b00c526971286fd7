// Bad parameters get a clear error with a message, never UB or a silent answer.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "qkern/core/core.hpp"

namespace {
std::string text(const qkern::status& s) {
  char buf[160];
  s.format(buf, sizeof buf);
  return buf;
}
}  // namespace

TEST_CASE("scales: NaN, infinite, zero and negative are rejected with a message") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (float bad : {nan, inf, -inf, 0.0f, -0.0f, -1.0f}) {
    const auto s = qkern::validate_quantization<std::int8_t>({bad, 0}, "input1");
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == qkern::status_code::invalid_scale);
    CHECK(text(s).rfind("input1: scale", 0) == 0);
  }
  CHECK(text(qkern::validate_scale(nan)) == "scale is NaN");
  CHECK(text(qkern::validate_scale(inf)) == "scale is infinite");
  CHECK(text(qkern::validate_scale(-2.0f)) == "scale must be positive");
  CHECK(qkern::validate_quantization<std::int8_t>({std::numeric_limits<float>::denorm_min(), 0}).ok());
}

TEST_CASE("zero points outside the element type are rejected") {
  CHECK(qkern::validate_quantization<std::int8_t>({0.5f, -128}).ok());
  CHECK(qkern::validate_quantization<std::int8_t>({0.5f, 127}).ok());
  const auto s = qkern::validate_quantization<std::int8_t>({0.5f, 128}, "output");
  CHECK(s.code() == qkern::status_code::invalid_zero_point);
  CHECK(text(s) == "output: zero point is outside the range of the element type (got 128)");
  CHECK(text(qkern::validate_quantization<std::int8_t>({0.5f, -129})).find("(got -129)") != std::string::npos);
  CHECK(qkern::validate_quantization<std::uint8_t>({0.5f, 255}).ok());
  CHECK_FALSE(qkern::validate_quantization<std::uint8_t>({0.5f, -1}).ok());
  CHECK(qkern::validate_quantization<std::int16_t>({0.5f, -32768}).ok());
  CHECK_FALSE(qkern::validate_quantization<std::int16_t>({0.5f, 32768}).ok());
}

TEST_CASE("per-channel quantization: scale count, each scale, zero point") {
  const float scales[3] = {0.5f, 0.25f, 0.125f};
  CHECK(qkern::validate_quantization<std::int8_t>(qkern::per_channel_quantization{scales, 3, 0, 0}, 3).ok());
  CHECK(qkern::validate_quantization<std::int8_t>(qkern::per_channel_quantization{scales, 1, 0, 0}, 3).ok());
  CHECK_FALSE(qkern::validate_quantization<std::int8_t>(qkern::per_channel_quantization{scales, 2, 0, 0}, 3).ok());
  CHECK_FALSE(qkern::validate_quantization<std::int8_t>(qkern::per_channel_quantization{nullptr, 0, 0, 0}, 3).ok());
  const float with_bad[3] = {0.5f, -0.25f, 0.125f};
  const auto s = qkern::validate_quantization<std::int8_t>(qkern::per_channel_quantization{with_bad, 3, 0, 0}, 3, "filter");
  CHECK(text(s) == "filter: scale must be positive");
}

TEST_CASE("status formatting truncates safely and reports the full length") {
  const qkern::status s(qkern::status_code::invalid_shape, "extent is negative", "input2", -3);
  char tiny[8];
  const std::size_t needed = s.format(tiny, sizeof tiny);
  CHECK(std::string(tiny) == "input2:");
  CHECK(needed == std::string("input2: extent is negative (got -3)").size());
  CHECK(text(qkern::status()) == "ok");
  const qkern::result<int> failed = qkern::status(qkern::status_code::overflow, "accumulator could overflow");
  CHECK_FALSE(failed.ok());
  CHECK(text(failed.error()) == "accumulator could overflow");
}
