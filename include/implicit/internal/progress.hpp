#pragma once
// The stall rule shared by every driver loop (fixed points, dense and
// batched, and systems): a solve stops as kStalled when its best residual
// has not fallen below progress_factor times what it was progress_window
// steps earlier. A method crawling through a region it cannot leave (Newton
// on a map with no fixed point wanders for ever) then ends after
// progress_window steps instead of at max_iter; a method that converges,
// however slowly, keeps going as long as each window gains that factor.

#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace implicit::internal {

// The best residual of `window` steps ago, one value per step in a ring.
class ProgressWindow {
 public:
  explicit ProgressWindow(int window = 0)
      : ring_(window > 0 ? static_cast<size_t>(window) : 0,
              std::numeric_limits<double>::infinity()) {}

  // Records the best residual after step k (called once per step, k = 0, 1,
  // ...) and returns the one recorded at step k - window (inf while
  // k < window, and always when the window is 0: the rule is off).
  double exchange(double best) {
    if (ring_.empty()) return std::numeric_limits<double>::infinity();
    const double old = ring_[next_];
    ring_[next_] = best;
    next_ = next_ + 1 == ring_.size() ? 0 : next_ + 1;
    return old;
  }

 private:
  std::vector<double> ring_;
  size_t next_ = 0;
};

// The rule itself: stalled when best is not below factor * best_window_ago.
inline bool no_progress(double best, double best_window_ago, double factor) {
  return best_window_ago < std::numeric_limits<double>::infinity() &&
         !(best < factor * best_window_ago);
}

// The two fields of the rule, checked for every options struct that has
// them; throws std::invalid_argument naming `owner`'s field and its value.
inline void validate_progress_rule(const char* owner, int window, double factor) {
  if (window < 0)
    throw std::invalid_argument(std::string(owner) + "::progress_window must be >= 0, got " +
                                std::to_string(window));
  if (!(factor > 0 && factor < 1))
    throw std::invalid_argument(std::string(owner) + "::progress_factor must be in (0, 1), got " +
                                std::to_string(factor));
}

// What a stalled solve says, with the numbers; `owner` names the options
// struct the two fields belong to.
inline std::string no_progress_message(const char* owner, const char* residual_name, double best,
                                       double factor, int window) {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "no progress: the best %s (%.3e) fell by less than %s::progress_factor = %g in "
                "the last progress_window = %d steps",
                residual_name, best, owner, factor, window);
  return buf;
}

}  // namespace implicit::internal
