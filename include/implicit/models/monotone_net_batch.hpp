#pragma once
// What MonotoneNet's batched inverses and their IFT derivatives return: one
// entry per target, each with its own status (models/monotone_net.hpp).

#include <Eigen/Core>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "implicit/models/monotone_forward.hpp"
#include "implicit/root/batched.hpp"
#include "implicit/root/result.hpp"
#include "implicit/status.hpp"

namespace implicit {

// Outcome of MonotoneNet::inverse_batched: one root solve per target.
template <class T>
struct [[nodiscard]] MonotoneInverseBatch {
  MonotoneVector<T> x;                       // x[i] = results[i].x
  std::vector<ScalarRootResult<T>> results;  // per target: status, counts, message

  bool ok() const { return all_converged(results); }
  // Mean g evaluations per target (0 for an empty batch).
  double mean_evaluations() const {
    if (results.empty()) return 0;
    double total = 0;
    for (const auto& r : results) total += r.function_evaluations;
    return total / static_cast<double>(results.size());
  }
};

// Outcome of MonotoneNet::inverse_newton, the fast batched inverse: one
// entry per target in flat arrays (a vector of ScalarRootResult, with its
// string per target, costs ~50 ns per target to construct: half the time of
// an inverse), and the message of every target that failed.
template <class T>
struct [[nodiscard]] MonotoneNewtonBatch {
  MonotoneVector<T> x;           // the end of the final bracket with the smaller |R - y|
  MonotoneVector<T> residual;    // R(x) - y as the solver computed it
  MonotoneVector<T> lower;       // final bracket [lower, upper]: the root lies inside
  MonotoneVector<T> upper;       //   when status is kConverged
  std::vector<Status> status;    // per target, as ScalarRootResult::status
  std::vector<int> evaluations;  // evaluations of R and R' per target (table starts are free)
  // (index, message) for every target whose status is not kConverged, in
  // index order; the message has y and the numbers that stopped it.
  std::vector<std::pair<Eigen::Index, std::string>> failures;

  bool ok() const { return failures.empty(); }
  Eigen::Index size() const { return x.size(); }
  // Mean evaluations per target (0 for an empty batch).
  double mean_evaluations() const {
    if (evaluations.empty()) return 0;
    double total = 0;
    for (int e : evaluations) total += e;
    return total / static_cast<double>(evaluations.size());
  }
  // Target i as a ScalarRootResult (iterations = evaluations: every Newton
  // step is one evaluation inside the bracket). O(1) plus its message.
  ScalarRootResult<T> result(Eigen::Index i) const {
    const std::size_t k = static_cast<std::size_t>(i);
    ScalarRootResult<T> r;
    r.method = ScalarRootMethod::kNewton;
    r.x = x[i];
    r.residual = residual[i];
    r.lower = lower[i];
    r.upper = upper[i];
    r.status = status[k];
    r.iterations = r.function_evaluations = evaluations[k];
    if (status[k] != Status::kConverged)
      for (const auto& f : failures)
        if (f.first == i) r.message = f.second;
    return r;
  }
};

// IFT derivatives of x* = Rinv(y; theta) for a batch of targets.
template <class T>
struct [[nodiscard]] MonotoneInverseGradients {
  using Vector = MonotoneVector<T>;
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

  Vector dx_dy;      // dx_dy[i] = 1 / R'(x_i)
  Matrix dx_dtheta;  // row i = -(dR/dtheta)(x_i) / R'(x_i), columns w | v | b
  // Per row: kConverged; kLinearSolveFailed where R'(x_i) is 0 or not
  // finite (the 1 x 1 IFT system is singular); or the forward solve's
  // status where that failed. Rows that are not kConverged are NaN.
  std::vector<Status> status;
  std::string message;  // the first failed row, with its numbers; else empty

  bool ok() const {
    for (Status s : status)
      if (s != Status::kConverged) return false;
    return true;
  }
  Eigen::Index hidden() const { return dx_dtheta.cols() / 3; }
  Matrix dx_dw() const { return dx_dtheta.leftCols(hidden()); }
  Matrix dx_dv() const { return dx_dtheta.middleCols(hidden(), hidden()); }
  Matrix dx_db() const { return dx_dtheta.rightCols(hidden()); }
};

}  // namespace implicit
