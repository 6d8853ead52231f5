#pragma once
// The default method for g(x) = 0: a polyalgorithm that runs a fast method
// first and falls back to more robust ones, each from x0, and reports which
// one produced the answer (as NonlinearSolve.jl's default does).
//
// Order (PolyalgorithmOptions::order): Powell's dogleg trust region (robust
// from far starts, ~20 g evaluations on the MGH runs it solves), Newton
// with a line search (reaches roots the dogleg's scaling keeps it from),
// plain Newton-Raphson (non-monotone: jumps out of the basin of a local
// minimum of ||g||, e.g. Freudenstein-Roth from its standard start), then
// Levenberg-Marquardt and Broyden (with a sparse Jacobian, given as
// SystemOptions::sparsity or traced from a large g by
// SystemOptions::detect_sparsity, the two Newtons first; the dense methods
// follow only for a traced pattern at n <= dense_fallback_max_size). On the 57
// Moré-Garbow-Hillstrom runs this order solves 47 and test_nonlin's 23
// problems all (bench/README.md). The first attempt that converges is
// returned, or the first that stops at g's rounding floor
// (Status::kRoundingFloor: no method can do better); if none does, the
// attempt with the smallest ||g||. All attempts share one budget of
// SystemOptions::max_function_evaluations, each monotone attempt gives up
// when its best ||g|| does not halve in progress_window steps, and every
// attempt is listed in the result's message.
//
//     auto r = implicit::solve_root(g, x0);   // this method, default options
//     if (!r.ok()) std::cerr << r.brief_report() << '\n';
//     // r.method is "polyalgorithm(dogleg)" when the dogleg produced x

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "implicit/system/broyden.hpp"
#include "implicit/system/dogleg.hpp"
#include "implicit/system/levenberg_marquardt.hpp"
#include "implicit/system/newton.hpp"
#include "implicit/system/solve.hpp"

namespace implicit {

// The methods a polyalgorithm can run.
enum class RootMethod { kNewton, kDogleg, kLevenbergMarquardt, kBroyden, kNewtonRaphson };

inline const char* to_string(RootMethod method) {
  switch (method) {
    case RootMethod::kNewton:
      return "newton";
    case RootMethod::kDogleg:
      return "dogleg";
    case RootMethod::kLevenbergMarquardt:
      return "levenberg_marquardt";
    case RootMethod::kBroyden:
      return "broyden";
    case RootMethod::kNewtonRaphson:
      return "newton_raphson";
  }
  return "unknown";
}

struct PolyalgorithmOptions {
  // The attempts, in order, each from x0.
  std::vector<RootMethod> order = {RootMethod::kDogleg, RootMethod::kNewton,
                                   RootMethod::kNewtonRaphson, RootMethod::kLevenbergMarquardt,
                                   RootMethod::kBroyden};
  // Each attempt stops after at most this many steps (and SystemOptions::
  // max_iter), or with kStalled when its best ||g|| does not halve in
  // progress_window steps, so that a method crawling on a hard problem
  // leaves budget to the next one.
  int attempt_max_iter = 200;
  int progress_window = 20;
  LineSearchNewtonOptions newton;
  DoglegOptions dogleg;
  LevenbergMarquardtOptions levenberg_marquardt;
  LineSearchBroydenOptions broyden;

  // Throws std::invalid_argument naming the field and its value.
  void validate(const std::string& owner = "PolyalgorithmOptions") const {
    if (order.empty()) throw std::invalid_argument(owner + "::order is empty");
    if (progress_window < 0)
      throw std::invalid_argument(owner + "::progress_window must be >= 0, got " +
                                  std::to_string(progress_window));
    if (attempt_max_iter < 1)
      throw std::invalid_argument(owner + "::attempt_max_iter must be >= 1, got " +
                                  std::to_string(attempt_max_iter));
    newton.validate(owner + "::newton");
    dogleg.validate(owner + "::dogleg");
    levenberg_marquardt.validate(owner + "::levenberg_marquardt");
    broyden.validate(owner + "::broyden");
  }
};

class Polyalgorithm {
 public:
  explicit Polyalgorithm(PolyalgorithmOptions options = {}) : options_(std::move(options)) {}
  const char* name() const { return "polyalgorithm"; }
  void validate() const { options_.validate(); }
  const PolyalgorithmOptions& options() const { return options_; }

 private:
  PolyalgorithmOptions options_;
};

template <class G, class Derived>
SystemResult<VectorX<typename Derived::Scalar>> solve_root(const G& g,
                                                           const Eigen::MatrixBase<Derived>& x0,
                                                           const Polyalgorithm& method,
                                                           const SystemOptions& options = {}) {
  using T = typename Derived::Scalar;
  using Result = SystemResult<VectorX<T>>;
  options.validate();
  method.validate();
  // A large templated g whose Jacobian is sparse gets the sparse path
  // (SystemOptions::detect_sparsity), traced once here for every attempt.
  SystemOptions effective = options;
  std::string sparsity_note;
  if (effective.sparsity.size() == 0 && effective.jacobian == JacobianMethod::kAutomatic &&
      x0.cols() == 1 && x0.allFinite())
    effective.sparsity =
        internal::automatic_sparsity(g, VectorX<T>(x0), options.detect_sparsity, sparsity_note);
  effective.detect_sparsity.min_size = 0;  // decided: the attempts do not trace again
  Result best;
  bool have_best = false;
  int evaluations = 0, jacobians = 0, products = 0, iterations = 0;
  std::string log;
  auto attempt = [&](const auto& solver, bool monotone = true) -> bool {
    SystemOptions budget = effective;
    budget.max_function_evaluations = options.max_function_evaluations - evaluations;
    budget.max_iter = std::min(options.max_iter, method.options().attempt_max_iter);
    // A non-monotone method may climb before it finds the basin of a root:
    // only max_iter and the divergence test bound it.
    if (budget.progress_window == 0 && monotone)
      budget.progress_window = method.options().progress_window;
    if (budget.max_function_evaluations < 1) return false;
    Result r = solve_root(g, x0, solver, budget);
    evaluations += r.function_evaluations;
    jacobians += r.jacobian_evaluations;
    products += r.jacobian_products;
    iterations += r.iterations;
    log += (log.empty() ? "" : "; ") + r.brief_report();
    // At g's rounding floor no other method can do better: stop there.
    const bool done = r.ok() || r.status == Status::kRoundingFloor;
    if (!have_best || done || r.residual_norm < best.residual_norm) {
      best = std::move(r);
      have_best = true;
    }
    return done;
  };
  const PolyalgorithmOptions& o = method.options();
  auto run = [&](RootMethod m) -> bool {
    switch (m) {
      case RootMethod::kNewton:
        return attempt(LineSearchNewton(o.newton));
      case RootMethod::kDogleg:
        return attempt(PowellDogleg(o.dogleg));
      case RootMethod::kLevenbergMarquardt:
        return attempt(LevenbergMarquardt(o.levenberg_marquardt));
      case RootMethod::kBroyden:
        return attempt(LineSearchBroyden(o.broyden));
      case RootMethod::kNewtonRaphson: {
        LineSearchNewtonOptions plain = o.newton;
        plain.use_line_search = false;
        return attempt(LineSearchNewton(plain), /*monotone=*/false);
      }
    }
    throw std::invalid_argument(
        "PolyalgorithmOptions::order holds a value that is not a RootMethod: " +
        std::to_string(static_cast<int>(m)));
  };
  auto is_newton = [](RootMethod m) {
    return m == RootMethod::kNewton || m == RootMethod::kNewtonRaphson;
  };
  // With a sparse Jacobian only the Newtons (sparse LU) avoid an n x n
  // matrix: they run first. When the pattern was traced (not given) and n
  // is small enough for dense matrices, the dense methods follow if the
  // Newtons fail, so tracing never costs robustness; otherwise the log
  // says they were skipped.
  const bool sparse = effective.sparsity.size() > 0;
  bool done = false;
  std::vector<RootMethod> skipped;
  for (RootMethod m : o.order) {
    if (sparse && !is_newton(m)) {
      skipped.push_back(m);
      continue;
    }
    if ((done = run(m))) break;
  }
  const bool dense_fallback = sparse && options.sparsity.size() == 0 &&
                              x0.size() <= options.detect_sparsity.dense_fallback_max_size;
  if (!done && dense_fallback) {
    effective.sparsity = SparsityPattern();
    for (RootMethod m : skipped)
      if ((done = run(m))) break;
  } else {
    for (RootMethod m : skipped)
      log += std::string(log.empty() ? "" : "; ") + to_string(m) +
             ": skipped (dense; the Jacobian is sparse)";
  }
  if (!have_best)
    throw std::invalid_argument(
        "solve_root: PolyalgorithmOptions::order has no method that can use "
        "SystemOptions::sparsity (newton, newton_raphson)");
  best.method = std::string("polyalgorithm(") + best.method + ")";
  best.function_evaluations = evaluations;
  best.jacobian_evaluations = jacobians;
  best.jacobian_products = products;
  best.iterations = iterations;
  best.message = (sparsity_note.empty() ? "" : sparsity_note + "; ") + "attempts: " + log;
  return best;
}

// g(x) = 0 by the default polyalgorithm.
template <class G, class Derived>
SystemResult<VectorX<typename Derived::Scalar>> solve_root(const G& g,
                                                           const Eigen::MatrixBase<Derived>& x0,
                                                           const SystemOptions& options = {}) {
  return solve_root(g, x0, Polyalgorithm(), options);
}

}  // namespace implicit
