#pragma once
// Forward or reverse mode, for the derivatives of a user's function that
// has no hand-written member for them (see diff/reverse.hpp for the cost
// model kAuto follows).

namespace implicit {

// How a derivative of a user's function is computed when the function has no
// hand-written member for it. kAuto follows the cost model stated at each
// entry point; kForward and kReverse force one (kReverse throws
// std::invalid_argument when reverse mode is unavailable for the scalar).
enum class DerivativeMode { kAuto, kForward, kReverse };

inline const char* to_string(DerivativeMode mode) {
  switch (mode) {
    case DerivativeMode::kAuto:
      return "auto";
    case DerivativeMode::kForward:
      return "forward";
    case DerivativeMode::kReverse:
      return "reverse";
  }
  return "unknown";
}

}  // namespace implicit
