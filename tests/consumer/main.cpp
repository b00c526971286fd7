// Builds against qkern as a dependency and exits 0 when a multiplier derived at compile time
// and one requantized value come out as TFLite computes them.
#include <qkern/qkern.hpp>

#include <cstdio>

constexpr auto multiplier = qkern::quantize_multiplier(0.25).value();
static_assert(multiplier.multiplier == 1 << 30 && multiplier.shift == -1, "0.25 = 0.5 * 2^-1");

int main() {
  // 7 * 0.25 = 1.75 rounds to 2 under both policies.
  const int d = qkern::double_rounding::multiply(7, multiplier);
  const int s = qkern::single_rounding::multiply(7, multiplier);
  std::printf("consumer: qkern %d.%d.%d, 7 * 0.25 -> %d (double), %d (single)\n", QKERN_VERSION_MAJOR,
              QKERN_VERSION_MINOR, QKERN_VERSION_PATCH, d, s);
  return d == 2 && s == 2 ? 0 : 1;
}
