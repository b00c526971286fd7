// The int16 logistic/tanh of TFLite (and TFLite Micro): a 256-entry table of sigmoid(i/24) in
// unsigned Q0.16 with linear interpolation between entries, and the prepare-time rescale of
// the input to the table's grid. tanh reads the same table through tanh(x) = 2·sigmoid(2x) - 1.
//
// Where the table comes from: it is not a plain rounding of 65536 / (1 + e^(-i/24)): 44 entries
// are one above that (the last one, 65535, among them), so it cannot be regenerated from the
// formula and is shipped as constants. They were recovered from the golden TFLite Micro outputs
// of logistic_int16 and tanh_int16, which determine every entry: the kernel test "int16 sigmoid
// table is what the golden data implies" checks that all golden outputs are reproduced and that
// changing any entry contradicts at least one of them.
#pragma once

#include <cmath>
#include <cstdint>

#include "qkern/core/quantization.hpp"
#include "qkern/core/status.hpp"

namespace qkern {

// About sigmoid(i / 24) · 2^16 for i = 0..255 (entry 0 is 1/2, the last one saturates at 65535).
inline constexpr std::uint16_t sigmoid_table_q0_16[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149,
    40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369,
    47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169,
    53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302,
    62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
    63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786,
    64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
    65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522,
    65523, 65523, 65524, 65524, 65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528,
    65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531,
    65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65534, 65535
};

namespace detail {

// TFLite's CheckedLog2: log2(x) rounded to an integer, and whether x is a power of two to within
// |fractional part| < 1e-3. Computed in float with std::log exactly as TFLite does, so scales
// that are "almost" powers of two are classified the same way.
inline bool checked_log2(float x, int* log2_rounded) noexcept {
  const float log2 = std::log(x) * (1.0f / std::log(2.0f));
  const float rounded = std::round(log2);
  *log2_rounded = static_cast<int>(rounded);
  return std::fabs(log2 - rounded) < 1e-3f;
}

// The input rescale of the table-based int16 logistic/tanh: x = (q · multiplier + rounding) >>
// left_shift puts the input on a grid of 1/(3·4096) (logistic; tanh reads the same grid as 2x).
// TFLite stores multiplier 0 for the power-of-two scales whose grid needs only a factor 3 and a
// left shift of at most largest_power_of_two_shift (0 for logistic, 1 for tanh).
struct sigmoid_table_input_rescale {
  std::int32_t input_multiplier = 0;
  int input_left_shift = 0;
};

inline result<sigmoid_table_input_rescale> make_sigmoid_table_input_rescale(const quantization_params& input,
                                                                            const quantization_params& output,
                                                                            int largest_power_of_two_shift) noexcept {
  if (input.zero_point != 0) {
    return status(status_code::unsupported_parameter, "int16 tensors must have zero point 0", "input", input.zero_point);
  }
  if (output.zero_point != 0) {
    return status(status_code::unsupported_parameter, "int16 tensors must have zero point 0", "output",
                  output.zero_point);
  }
  int output_log2 = 0;
  if (!checked_log2(output.scale, &output_log2) || output_log2 != -15) {
    return status(status_code::unsupported_parameter, "output scale must be 2^-15", "output");
  }
  sigmoid_table_input_rescale r;
  int input_log2 = 0;
  const bool power_of_two = checked_log2(input.scale, &input_log2);
  r.input_left_shift = 12 + input_log2;  // 15 - 3 integer bits + log2(s_in)
  if (power_of_two && r.input_left_shift >= 0 && r.input_left_shift <= largest_power_of_two_shift) {
    r.input_multiplier = 0;
    return r;
  }
  // Otherwise s_in · 3 · 4096 is doubled until it exceeds 32767 / 2; the doublings are the shift.
  double multiplier = static_cast<double>(input.scale) * 4096.0 * 3.0;
  r.input_left_shift = 0;
  while (multiplier <= 32767.0 / 2.0 && r.input_left_shift <= 30) {
    ++r.input_left_shift;
    multiplier *= 2.0;
  }
  if (!(multiplier < 32768.0)) {  // TFLite requires the truncated multiplier to fit 15 bits
    return status(status_code::unsupported_parameter,
                  "input scale too large for the int16 table (s_in · 12288 must be below 32768)", "input");
  }
  r.input_multiplier = static_cast<std::int32_t>(multiplier);
  return r;
}

// The rescaled input: |q · multiplier| <= 2^30, so int64 is only for the rounding term.
constexpr std::int32_t sigmoid_table_rescaled_input(std::int32_t q, std::int32_t multiplier, int left_shift) noexcept {
  const std::int64_t rounding = left_shift > 0 ? std::int64_t{1} << (left_shift - 1) : 0;
  return static_cast<std::int32_t>((std::int64_t{q} * multiplier + rounding) >> left_shift);
}

// The power-of-two form stores multiplier 0: the grid is then 3 · 2^left_shift per input step.
constexpr sigmoid_table_input_rescale effective_sigmoid_table_rescale(sigmoid_table_input_rescale r) noexcept {
  if (r.input_multiplier == 0) return {3 << r.input_left_shift, 0};
  return r;
}

// sigmoid(|x| / 24 / 2^FractionBits) · 2^(16 + FractionBits), interpolated linearly between
// entries of `table`; beyond it (|x| >= 255 · 2^FractionBits) the value `saturated`.
template <int FractionBits>
constexpr std::uint32_t interpolate_sigmoid_table(const std::uint16_t* table, std::uint32_t magnitude,
                                                  std::uint32_t saturated) noexcept {
  const std::uint32_t index = magnitude >> FractionBits;
  if (index >= 255) return saturated;
  const std::uint32_t low = table[index];
  const std::uint32_t high = table[index + 1];
  const std::uint32_t fraction = magnitude & ((1u << FractionBits) - 1);
  return (low << FractionBits) + fraction * (high - low);  // the table never decreases
}

// The int16 logistic of a rescaled input x (grid 1/(3·4096)): sigmoid(|x|) from the table with 9
// interpolation bits in Q0.25, mirrored to 1 - sigmoid(|x|) for x < 0, then shifted to Q0.15.
constexpr std::int16_t logistic_from_sigmoid_table(const std::uint16_t* table, std::int32_t x) noexcept {
  const auto magnitude = static_cast<std::uint32_t>(x < 0 ? -x : x);
  const std::uint32_t sigmoid_q25 = interpolate_sigmoid_table<9>(table, magnitude, 0x7FFFu << 10);
  const std::uint32_t result = x >= 0 ? sigmoid_q25 + (1u << 9) : (1u << 25) - sigmoid_q25 + (1u << 9) - 1;
  return static_cast<std::int16_t>(result >> 10);
}

// The int16 tanh of a rescaled input x: the same grid read as 2x, so 8 interpolation bits;
// 2·sigmoid - 1 (mirrored for x < 0) in Q0.23, then an arithmetic shift to Q0.15.
constexpr std::int16_t tanh_from_sigmoid_table(const std::uint16_t* table, std::int32_t x) noexcept {
  const auto magnitude = static_cast<std::uint32_t>(x < 0 ? -x : x);
  const auto sigmoid_q24 = static_cast<std::int32_t>(interpolate_sigmoid_table<8>(table, magnitude, 0xFFFFu << 8));
  const std::int32_t result = x >= 0 ? sigmoid_q24 - (1 << 23) + (1 << 7) : -sigmoid_q24 + (1 << 23) + (1 << 7) - 1;
  return static_cast<std::int16_t>(result >> 8);
}

}  // namespace detail
}  // namespace qkern
