#pragma once
// The per-sample books of the batched fixed-point drivers: which samples
// still run, each one's best residual and start scale, its status,
// iteration count, returned residual and the failure messages, all decided
// by the one stopping rule (stopping.hpp).
//
// solve_fixed_point_batched (solve_batched.hpp) and the tensor layer's
// kernel loop (src/torch/fixed_point.cpp) both keep their samples' books
// with this class; they differ only in how they move rows (whole-batch
// VectorOps::where there, per-row copies there). So what a status promises
// is decided in one place for every batched path: a sample judged
// converged outputs the iterate z_k whose residual was tested, every
// failure outputs the sample's best iterate, and the residual reported is
// that point's.

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "implicit/fixed_point/options.hpp"
#include "implicit/fixed_point/stopping.hpp"
#include "implicit/internal/progress.hpp"
#include "implicit/status.hpp"

namespace implicit::internal {

// What the driver must do with a sample's rows once it is judged.
enum class SampleOutput {
  kNone,     // still running
  kIterate,  // stopped converged: output z_k
  kBest,     // stopped failing: output its best iterate (z_k itself if `improved`)
};

struct SampleJudgement {
  bool improved = false;  // z_k is the sample's best iterate so far
  SampleOutput output = SampleOutput::kNone;
};

// Result: a BatchedFixedPointResult (status, iterations, residual_norm,
// message), sized by the constructor.
template <class Result>
class BatchedStopping {
 public:
  using Mask = Eigen::Array<bool, Eigen::Dynamic, 1>;

  // rel_tol: the driver's effective relative tolerance (floored at a few
  // epsilons of the batch's scalar type). relative_to (optional, per
  // sample): the relative part of the threshold is rel_tol * relative_to[b]
  // instead of rel_tol * ||f(z_k)_b|| (the adjoint iteration u <- K u + b
  // stops by ||b||, the rule its certificate checks).
  BatchedStopping(Result& result, Eigen::Index batch, const FixedPointOptions& options,
                  double rel_tol, const Eigen::ArrayXd* relative_to)
      : result_(result),
        options_(options),
        rel_tol_(rel_tol),
        relative_to_(relative_to),
        running_(Mask::Constant(batch, true)),
        running_count_(batch),
        best_(Eigen::ArrayXd::Constant(batch, std::numeric_limits<double>::infinity())),
        start_scale_(Eigen::ArrayXd::Ones(batch)),
        progress_(static_cast<size_t>(batch), ProgressWindow(options.progress_window)) {
    if (relative_to && relative_to->size() != batch)
      throw std::invalid_argument("solve_fixed_point_batched: relative_to has " +
                                  std::to_string(relative_to->size()) + " entries for a batch of " +
                                  std::to_string(batch));
    result.status.assign(batch, Status::kMaxIterations);
    result.iterations.assign(batch, 0);
    result.residual_norm = Eigen::ArrayXd::Zero(batch);
  }

  bool running(Eigen::Index b) const { return running_[b]; }
  const Mask& running_mask() const { return running_; }
  Eigen::Index running_count() const { return running_count_; }

  // Sample b at iteration k, from ||f(z_k) - z_k||, ||f(z_k)||, ||z_k||
  // (a non-finite fz_norm means f(z_k) has a NaN or Inf).
  SampleJudgement judge(Eigen::Index b, int k, double residual, double fz_norm, double z_norm) {
    StoppingInput in;
    in.iteration = k;
    in.residual = residual;
    in.threshold = options_.abs_tol + rel_tol_ * (relative_to_ ? (*relative_to_)[b] : fz_norm);
    in.values_finite = std::isfinite(fz_norm);
    if (k == 0 && in.values_finite) start_scale_[b] = std::max({1.0, z_norm, fz_norm});
    in.best_residual = best_[b];
    in.iterate_norm = z_norm;
    in.start_scale = start_scale_[b];
    in.best_window_ago =
        progress_[b].exchange(in.values_finite ? std::fmin(best_[b], residual) : best_[b]);
    const StoppingVerdict verdict = stopping_verdict(in, options_);
    result_.iterations[b] = k;
    SampleJudgement j;
    if (in.values_finite && residual < best_[b]) {
      best_[b] = residual;
      j.improved = true;
    }
    if (!verdict.stop) return j;
    stop(b, verdict.status, verdict.message);
    if (verdict.status == Status::kConverged) {
      j.output = SampleOutput::kIterate;
      result_.residual_norm[b] = residual;
    } else {
      j.output = SampleOutput::kBest;
      result_.residual_norm[b] = best_[b];
    }
    return j;
  }

  // A failed solver step stops sample b; it outputs its best iterate.
  void fail(Eigen::Index b, Status status, const std::string& why) {
    stop(b, status, why);
    result_.residual_norm[b] = best_[b];
  }

 private:
  void stop(Eigen::Index b, Status status, const std::string& why) {
    running_[b] = false;
    --running_count_;
    result_.status[b] = status;
    const auto kind = static_cast<size_t>(status);
    if (status == Status::kConverged || reported_[kind]) return;
    reported_[kind] = true;  // the first failure of each kind, with its sample index
    char buf[320];
    std::snprintf(buf, sizeof buf, "%s%s (sample %ld): %s", result_.message.empty() ? "" : "; ",
                  to_string(status), static_cast<long>(b), why.c_str());
    result_.message += buf;
  }

  Result& result_;
  const FixedPointOptions& options_;
  double rel_tol_;
  const Eigen::ArrayXd* relative_to_;
  Mask running_;
  Eigen::Index running_count_;
  Eigen::ArrayXd best_;                   // per sample: its smallest residual so far
  Eigen::ArrayXd start_scale_;            // per sample: max(1, ||z_0||, ||f(z_0)||)
  std::vector<ProgressWindow> progress_;  // per sample: its best residual a window ago
  static_assert(static_cast<size_t>(Status::kApproximate) < 16, "one flag per status");
  std::array<bool, 16> reported_{};  // per status: its first failure is in the message
};

}  // namespace implicit::internal
