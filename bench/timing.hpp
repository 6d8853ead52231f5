#pragma once
// Wall-clock medians for the benchmark programs with their own main()
// (reverse_bench, dense_peers): every figure they print is a ratio of two
// such medians taken in the same process, so machine drift cancels.

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace bench {

// Median seconds of `run` over repeats filling about `budget` seconds
// (at least min_reps, at most 10000 repeats).
inline double median_seconds(const std::function<void()>& run, double budget, int min_reps = 3) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> times;
  const auto start = Clock::now();
  while (static_cast<int>(times.size()) < min_reps ||
         std::chrono::duration<double>(Clock::now() - start).count() < budget) {
    const auto t0 = Clock::now();
    run();
    times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    if (times.size() >= 10000) break;
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

}  // namespace bench
