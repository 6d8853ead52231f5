#pragma once
// Reproducible normal draws: std::normal_distribution's algorithm is left to
// the standard library, so the same seed gives different numbers on
// libstdc++ and libc++. mt19937_64 is fully specified; Box-Muller on top of
// it makes the reference problems identical everywhere.

#include <cmath>
#include <cstdint>
#include <random>

namespace implicit::internal {

class NormalSampler {
 public:
  explicit NormalSampler(std::uint64_t seed) : engine_(seed) {}

  // One N(mean, stddev^2) draw.
  double operator()(double mean = 0.0, double stddev = 1.0) {
    if (has_spare_) {
      has_spare_ = false;
      return mean + stddev * spare_;
    }
    // 53 random bits -> uniform in (0, 1]; never 0, so log() is finite.
    const double u1 = (static_cast<double>(engine_() >> 11) + 1.0) * 0x1.0p-53;
    const double u2 = static_cast<double>(engine_() >> 11) * 0x1.0p-53;
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * M_PI * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return mean + stddev * radius * std::cos(angle);
  }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace implicit::internal
