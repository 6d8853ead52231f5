// The tensor layer's batched loop (src/torch/batched_solve.hpp): on CPU
// float/double tensors it must do what the generic solve_fixed_point_batched
// does (statuses, iterations, returned rows, residuals), leave every tensor
// it does not own untouched, and stop the adjoint by the certificate's rule.

#include "src/torch/batched_solve.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "implicit/torch/fixed_point.hpp"
#include "src/torch/linear_solve.hpp"
#include "src/torch/linearization.hpp"
#include "tests/torch/support.hpp"

namespace implicit::torch {
namespace {

using internal::solve_batched;
using testing::make_tanh_problem;
using testing::max_abs_diff;

// Rows that converge fast, slowly, never (z + 1), blow up (3 z + 1), meet a
// NaN, and the tanh layer: every status the loop can give, in one batch.
struct MixedBatch {
  at::Tensor w, x, rate, shift;
  explicit MixedBatch(at::ScalarType dtype) {
    auto p = make_tanh_problem(6, 5, 7, 0.9, dtype);
    w = p.w.detach();
    x = p.x.detach();
    rate = at::tensor({0.0, 0.1, 0.9, 1.0, 3.0, 0.5}, at::kDouble).to(dtype).view({6, 1});
    shift = at::tensor({0.0, 1.0, 1.0, 1.0, 1.0, std::nan("")}, at::kDouble).to(dtype).view({6, 1});
  }
  at::Tensor operator()(const at::Tensor& z) const {
    // Row 0 is the tanh layer; rows 1-5 the affine maps.
    at::Tensor affine = rate * z + shift;
    at::Tensor layer = at::tanh(z.matmul(w.t()) + x);
    return at::cat({layer.slice(0, 0, 1), affine.slice(0, 1, 6)});
  }
};

FixedPointOptions stop_rule(int max_iter = 200) {
  FixedPointOptions o;
  o.max_iter = max_iter;
  o.abs_tol = 1e-12;
  o.rel_tol = 1e-10;
  return o;
}

template <class Options>
void expect_same_as_generic(const Options& solver, at::ScalarType dtype, const char* what) {
  const MixedBatch f(dtype);
  const at::Tensor z0 = at::zeros({6, 5}, at::TensorOptions().dtype(dtype));
  const internal::TensorFn fn = [&f](const at::Tensor& z) { return f(z); };
  const auto kernel = solve_batched(fn, z0, solver, stop_rule(), nullptr, /*allow_kernel=*/true);
  const auto generic = solve_batched(fn, z0, solver, stop_rule(), nullptr, /*allow_kernel=*/false);
  const bool dbl = dtype == at::kDouble;
  EXPECT_EQ(kernel.status, generic.status) << what;
  EXPECT_EQ(kernel.function_evaluations, generic.function_evaluations) << what;
  for (int64_t b = 0; b < 6; ++b) {
    // Double: the same iterates to rounding (sums taken in another order),
    // so the same stopping step. Float: a few steps either way near the
    // float floor.
    if (dbl)
      EXPECT_EQ(kernel.iterations[b], generic.iterations[b]) << what << " sample " << b;
    else
      EXPECT_NEAR(kernel.iterations[b], generic.iterations[b], 3) << what << " sample " << b;
    const at::Tensor a = kernel.x.slice(0, b, b + 1), g = generic.x.slice(0, b, b + 1);
    if (b == 5) {  // the NaN sample returns its start, on both paths
      EXPECT_TRUE(at::equal(a, g)) << what;
      continue;
    }
    // No fixed point (z + 1: every iterate's residual is the same, so
    // rounding picks the "best"), or diverged: compared by status only.
    if (b == 3 || b == 4) continue;
    const double scale = 1 + g.abs().max().item<double>();
    EXPECT_LT(max_abs_diff(a, g), (dbl ? 1e-12 : 1e-4) * scale) << what << " sample " << b;
    EXPECT_NEAR(kernel.residual_norm[b], generic.residual_norm[b],
                (dbl ? 1e-12 : 1e-4) * scale + 1e-3 * generic.residual_norm[b])
        << what << " sample " << b;
  }
  EXPECT_EQ(kernel.status[0], Status::kConverged);
  // z + 1 has no fixed point and its residual never falls: the stall rule
  // (FixedPointOptions::progress_window = 100, internal/progress.hpp) stops
  // it as stalled at step 100 on both paths (it ran to max_iter = 200 and
  // said max_iterations before the rule, issue 19).
  EXPECT_EQ(kernel.status[3], Status::kStalled);
  EXPECT_EQ(kernel.iterations[3], 100);
  EXPECT_EQ(kernel.status[5], Status::kNonFinite);
  EXPECT_NE(kernel.message.find("sample 5"), std::string::npos) << kernel.message;
}

TEST(TorchBatchedSolve, KernelLoopMatchesTheGenericDriver) {
  for (at::ScalarType dtype : {at::kDouble, at::kFloat}) {
    expect_same_as_generic(ForwardIterationOptions{}, dtype, "forward iteration");
    expect_same_as_generic(ForwardIterationOptions{0.7}, dtype, "damped forward iteration");
    AndersonOptions anderson;
    expect_same_as_generic(anderson, dtype, "anderson");
    anderson.beta = 0.8;
    anderson.memory = 3;
    anderson.regularization = AndersonRegularization::kAbsolute;
    expect_same_as_generic(anderson, dtype, "anderson beta 0.8, m 3, absolute lam");
  }
}

// Without regularisation (lam = 0) the weight system can lose definiteness;
// the Cholesky then hands the sample to the LDLT of Anderson::solve_weights.
// On the tanh layer (full-rank histories) both paths agree.
TEST(TorchBatchedSolve, AndersonWithoutRegularisationMatchesTheGenericDriver) {
  auto p = make_tanh_problem(4, 8, 2, 0.95);
  const at::Tensor w = p.w.detach(), x = p.x.detach();
  const internal::TensorFn fn = [&](const at::Tensor& z) { return at::tanh(z.matmul(w.t()) + x); };
  AndersonOptions o;
  o.lam = 0;
  const at::Tensor z0 = at::zeros_like(x);
  const auto kernel = solve_batched(fn, z0, o, stop_rule(), nullptr, true);
  const auto generic = solve_batched(fn, z0, o, stop_rule(), nullptr, false);
  ASSERT_TRUE(kernel.ok()) << kernel.brief_report();
  EXPECT_EQ(kernel.iterations, generic.iterations);
  EXPECT_LT(max_abs_diff(kernel.x, generic.x), 1e-10);
}

// The loop writes only into tensors it holds alone: a map that returns a
// captured tensor, or keeps the iterates it is given, sees them unchanged.
TEST(TorchBatchedSolve, TensorsTheLoopDoesNotOwnStayUnchanged) {
  const at::Tensor constant = at::full({4, 3}, 2.0, at::kDouble);
  const at::Tensor constant_copy = constant.clone();
  const at::Tensor z0 = at::zeros({4, 3}, at::kDouble);
  for (int variant : {0, 1, 2}) {
    const bool anderson = variant == 2;
    const ForwardIterationOptions iteration{variant == 0 ? 1.0 : 0.9};
    // f(z) = constant: converges at the second evaluation, whose z is the
    // constant itself; rows stopped and pinned must not be written into it.
    const internal::TensorFn returns_captured = [&](const at::Tensor&) { return constant; };
    auto r = anderson ? solve_batched(returns_captured, z0, AndersonOptions{}, stop_rule())
                      : solve_batched(returns_captured, z0, iteration, stop_rule());
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(at::equal(constant, constant_copy));
    EXPECT_TRUE(at::equal(z0, at::zeros_like(z0)));

    // A map that keeps every z it is given (and its output), with rows that
    // stop at different steps so the loop pins rows while others run.
    std::vector<at::Tensor> seen, seen_copies;
    const at::Tensor rate = at::tensor({0.1, 0.5, 0.8, 0.9}, at::kDouble).view({4, 1});
    const internal::TensorFn keeps = [&](const at::Tensor& z) {
      at::Tensor out = rate * z + 1.0;
      seen.push_back(z);
      seen_copies.push_back(z.clone());
      seen.push_back(out);
      seen_copies.push_back(out.clone());
      return out;
    };
    auto s = anderson ? solve_batched(keeps, z0, AndersonOptions{}, stop_rule(2000))
                      : solve_batched(keeps, z0, iteration, stop_rule(2000));
    EXPECT_TRUE(s.ok());
    for (size_t i = 0; i < seen.size(); ++i)
      EXPECT_TRUE(at::equal(seen[i], seen_copies[i])) << "variant " << variant << ", tensor " << i;
  }
}

// A failing sample returns its best iterate, the one with the smallest
// residual, and reports that point's residual; the kernel loop copies the
// best iterate only when it is about to be lost, so it is checked here on
// a sample whose best comes in the middle of the run. Sample 0 iterates
// the non-normal map z <- A z, A = [[0.5, 3], [0, 1.1]], from (10, 0.01):
// its residual ||(A - I) z|| falls while the first component decays, then
// rises with the second; it never converges (max_iter). Sample 1 is the
// same map from (0, 0), a fixed point (converges at once); sample 2 meets
// a NaN at its second step. Neither may change sample 0's answer.
TEST(TorchBatchedSolve, FailingSampleReturnsItsBestIterate) {
  const int max_iter = 60;
  // The expected best iterate of sample 0, by the same iteration in doubles.
  double z1 = 10, z2 = 0.01, best = std::numeric_limits<double>::infinity(), best1 = 0, best2 = 0;
  int best_k = -1;
  for (int k = 0; k <= max_iter; ++k) {
    const double r = std::hypot(-0.5 * z1 + 3 * z2, 0.1 * z2);
    if (r < best) best = r, best1 = z1, best2 = z2, best_k = k;
    const double n1 = 0.5 * z1 + 3 * z2, n2 = 1.1 * z2;
    z1 = n1, z2 = n2;
  }
  ASSERT_GT(best_k, 3);             // the best is neither the start ...
  ASSERT_LT(best_k, max_iter - 3);  // ... nor the end
  const at::Tensor a = at::tensor({0.5, 3.0, 0.0, 1.1}, at::kDouble).view({2, 2});
  const internal::TensorFn f = [&](const at::Tensor& z) {
    at::Tensor out = z.matmul(a.t());
    if (out[2][0].item<double>() != 0) out[2][0] = std::nan("");  // sample 2: NaN at step 2
    return out;
  };
  const at::Tensor z0 = at::tensor({10.0, 0.01, 0.0, 0.0, 1.0, 1.0}, at::kDouble).view({3, 2});
  FixedPointOptions o = stop_rule(max_iter);
  for (bool kernel : {true, false})
    for (int variant : {0, 1}) {
      const char* what = kernel ? "kernel" : "generic";
      // Anderson with memory 1 is forward iteration with the weight solve.
      AndersonOptions one;
      one.memory = 1;
      const auto r = variant == 0
                         ? solve_batched(f, z0, ForwardIterationOptions{}, o, nullptr, kernel)
                         : solve_batched(f, z0, one, o, nullptr, kernel);
      EXPECT_EQ(r.status[0], Status::kMaxIterations) << what;
      EXPECT_NEAR(r.x[0][0].item<double>(), best1, 1e-12 * std::abs(best1)) << what;
      EXPECT_NEAR(r.x[0][1].item<double>(), best2, 1e-12 * std::abs(best2)) << what;
      // The reported residual is the returned point's.
      const at::Tensor x0 = r.x.slice(0, 0, 1);
      const double recomputed = (x0.matmul(a.t()) - x0).norm().item<double>();
      EXPECT_NEAR(r.residual_norm[0], recomputed, 1e-12 * recomputed) << what;
      EXPECT_NEAR(r.residual_norm[0], best, 1e-12 * best) << what;
      EXPECT_EQ(r.status[1], Status::kConverged) << what;
      EXPECT_EQ(r.status[2], Status::kNonFinite) << what;
      EXPECT_TRUE(at::equal(r.x[2], z0[2])) << what;  // its best: the start
    }
}

// relative_to: the relative part of the rule is measured against the given
// per-sample norms (the adjoint's ||b||), not ||f(u)||.
TEST(TorchBatchedSolve, RelativeToSetsThePerSampleTolerance) {
  // u <- 0.9 u + b: ||f(u)|| -> 10 ||b||, so the two rules differ by 10x.
  const at::Tensor b = at::tensor({1.0, 100.0}, at::kDouble).view({2, 1}).expand({2, 4}).clone();
  const internal::TensorFn map = [&](const at::Tensor& u) { return 0.9 * u + b; };
  FixedPointOptions o = stop_rule(2000);
  o.abs_tol = 1e-14;
  o.rel_tol = 1e-9;
  const Eigen::ArrayXd b_norm = (Eigen::ArrayXd(2) << 2.0, 200.0).finished();
  for (bool kernel : {true, false}) {
    auto by_b =
        solve_batched(map, at::zeros_like(b), ForwardIterationOptions{}, o, &b_norm, kernel);
    ASSERT_TRUE(by_b.ok());
    const at::Tensor r = (map(by_b.x) - by_b.x).norm(2, {1});
    for (int64_t s = 0; s < 2; ++s)
      EXPECT_LE(r[s].item<double>(), (o.abs_tol + o.rel_tol * b_norm[s]) * (1 + 1e-6))
          << (kernel ? "kernel " : "generic ") << s;
    auto by_f =
        solve_batched(map, at::zeros_like(b), ForwardIterationOptions{}, o, nullptr, kernel);
    EXPECT_GT(by_b.iterations[1], by_f.iterations[1]);  // the stricter rule takes longer
  }
  const Eigen::ArrayXd wrong(3);
  EXPECT_THROW((void)solve_batched(map, at::zeros_like(b), ForwardIterationOptions{}, o, &wrong),
               std::invalid_argument);
}

// The adjoint iteration stops by the rule its certificate checks, so its
// answer is accepted as it is (no fallback redoing the solve by GMRES).
TEST(TorchBatchedSolve, AdjointIterationIsCertifiedWithoutFallback) {
  for (Solver s : {Solver::kForwardIteration, Solver::kAnderson}) {
    auto p = make_tanh_problem(16, 20, 1, 0.9);
    Options o;
    o.forward.solver = s;
    for (AdjointMethod m : {AdjointMethod::kFixedPointIteration, AdjointMethod::kAnderson}) {
      o.backward.adjoint.method = m;
      auto out = fixed_point(p.map(), at::zeros_like(p.x), {p.w, p.x}, o);
      out.z.sum().backward();
      const PassInfo& back = out.info->backward;
      EXPECT_TRUE(back.certified()) << back.brief_report();
      EXPECT_EQ(back.method, to_string(m)) << back.brief_report();
      EXPECT_TRUE(back.message.empty()) << back.message;
      p.w.mutable_grad() = at::Tensor();
      p.x.mutable_grad() = at::Tensor();
    }
  }
}

// The tanh layer's adjoint map K u = (df/dz)^T u at its fixed point z*
// (solved to 1e-12), and random cotangents of z*'s shape.
struct TanhAdjoint {
  testing::TanhProblem problem;
  at::Tensor z;
  std::shared_ptr<internal::Linearization> lin;
  internal::LinearMap k;
  TanhAdjoint(int64_t batch, int64_t n, uint64_t seed, at::ScalarType dtype = at::kDouble)
      : problem(make_tanh_problem(batch, n, seed, 0.9, dtype)) {
    ForwardOptions o;
    o.stop.abs_tol = 1e-12;
    z = solve(problem.map(), at::zeros_like(problem.x), o).z;
    lin = std::make_shared<internal::Linearization>(problem.map(), z);
    k = [l = lin](const at::Tensor& u) { return l->vjp(u).detach(); };
  }
  at::Tensor random_cotangent(uint64_t seed) const {
    ::torch::manual_seed(seed);
    return ::torch::randn(z.sizes(), z.options().requires_grad(false));
  }
};

// The adjoint solve's kernel loops (fixed-point iteration, Anderson, GMRES)
// against the generic ones on the tanh layer's adjoint, with a zero
// cotangent (stops at once) and a NaN one (fails alone) in the batch:
// the same statuses, products and certified answers.
TEST(TorchBatchedSolve, AdjointKernelsMatchTheGenericLoops) {
  for (at::ScalarType dtype : {at::kDouble, at::kFloat}) {
    const TanhAdjoint adjoint(6, 12, 4, dtype);
    const internal::LinearMap& k = adjoint.k;
    at::Tensor b = adjoint.random_cotangent(5);
    b[2].zero_();
    b[4][3] = std::nan("");
    for (AdjointMethod m :
         {AdjointMethod::kGmres, AdjointMethod::kFixedPointIteration, AdjointMethod::kAnderson}) {
      AdjointOptions o = BackwardOptions::default_adjoint();
      o.method = m;
      o.fallback = false;
      o.gmres_restart = 5;  // restarts inside the solve
      const auto kernel = internal::solve_fixed_point_system(k, b, o, true);
      const auto generic = internal::solve_fixed_point_system(k, b, o, false);
      const bool dbl = dtype == at::kDouble;
      const bool krylov = m == AdjointMethod::kGmres;
      EXPECT_EQ(kernel.info.status, generic.info.status) << to_string(m);
      // The same loops with the same per-sample stopping rule (the
      // iterations stop at rel_tol ||b|| of their own sample on both
      // paths): in double the same products.
      if (dbl) {
        EXPECT_EQ(kernel.info.evaluations, generic.info.evaluations) << to_string(m);
      }
      EXPECT_NE(kernel.info.status[4], Status::kConverged) << to_string(m);
      const double eps = dbl ? 2.220446049250313e-16 : 1.1920929e-07;
      const double rel = std::fmax(o.rel_tol, 8 * eps);
      for (int64_t s : {0, 1, 2, 3, 5}) {
        EXPECT_EQ(kernel.info.status[s], Status::kConverged) << to_string(m) << " " << s;
        const at::Tensor a = kernel.x[s], g = generic.x[s];
        // Double: the same iterates, rounding apart (sums in another order;
        // 16 products of norm <= 1 / 0.1). Float iterations may stop a step
        // or two apart near the float floor: each answer is within its
        // certified residual r <= abs_tol + rel ||b|| (+ rounding) of u*,
        // i.e. within r / (1 - ||K||) = 10 r (||K|| <= 0.9 here), so 20 r
        // apart.
        const double b_norm = b[s].to(at::kDouble).norm().item<double>();
        const double scale = 1 + g.abs().max().item<double>();
        const double bound = dbl      ? 1e-11 * scale
                             : krylov ? 1e-4 * scale
                                      : 20 * (o.abs_tol + rel * b_norm) * (1 + 1e-3);
        EXPECT_LT(max_abs_diff(a, g), bound) << to_string(m) << " sample " << s;
      }
      EXPECT_EQ(kernel.x[2].abs().max().item<double>(), 0.0);
    }
  }
}

// A cotangent of size 1e200 (squares overflow) is as solvable as any: the
// adjoint is linear, so its answer is 1e200 times the unit one, certified,
// on every method and path (norms fall back to the scaled form instead of
// reporting the row as non-finite).
TEST(TorchBatchedSolve, AdjointSolvesRowsWhoseSquaresOverflow) {
  const TanhAdjoint adjoint(4, 12, 8);
  const internal::LinearMap& k = adjoint.k;
  const at::Tensor b = adjoint.random_cotangent(11);
  at::Tensor big = b.clone();
  big[1] *= 1e200;
  for (AdjointMethod m :
       {AdjointMethod::kGmres, AdjointMethod::kFixedPointIteration, AdjointMethod::kAnderson})
    for (bool kernel : {true, false}) {
      AdjointOptions o = BackwardOptions::default_adjoint();
      o.method = m;
      o.fallback = false;
      const auto unit = internal::solve_fixed_point_system(k, b, o, kernel);
      const auto scaled = internal::solve_fixed_point_system(k, big, o, kernel);
      const std::string what = std::string(to_string(m)) + (kernel ? " kernel" : " generic");
      ASSERT_EQ(scaled.info.status[1], Status::kConverged) << what << ": " << scaled.info.message;
      const double u = unit.x[1].abs().max().item<double>();
      EXPECT_LT((scaled.x[1] / 1e200 - unit.x[1]).abs().max().item<double>(), 1e-7 * u) << what;
      for (int64_t s : {0, 2, 3}) EXPECT_EQ(scaled.info.status[s], Status::kConverged) << what;
    }
}


// A solver value the tensor layer has no kernel for (BiCGStab) runs
// generically over VectorOps<at::Tensor> inside the same certified chain:
// per sample, a NaN cotangent fails alone, a zero one stops at once, and
// every other answer equals the batched dense LU's to the certified
// tolerance.
TEST(TorchBatchedSolve, BiCGStabRunsInTheTensorChainPerSample) {
  const TanhAdjoint adjoint(5, 12, 6);
  at::Tensor b = adjoint.random_cotangent(7);
  b[1].zero_();
  b[3][2] = std::nan("");
  AdjointOptions o = BackwardOptions::default_adjoint();
  o.solvers = {BiCGStab{}};
  o.fallback = false;
  const auto solved = internal::solve_fixed_point_system(adjoint.k, b, o);
  o.solvers = {DenseLU{}};
  const auto dense = internal::solve_fixed_point_system(adjoint.k, b, o);
  EXPECT_EQ(solved.info.method, "bicgstab");
  EXPECT_NE(solved.info.status[3], Status::kConverged);
  EXPECT_TRUE(at::isnan(solved.x[3]).all().item<bool>());
  for (int64_t s : {0, 1, 2, 4}) {
    ASSERT_EQ(solved.info.status[s], Status::kConverged) << s << ": " << solved.info.message;
    // The recomputed residual is the certificate's: check it here.
    const at::Tensor u = solved.x[s].unsqueeze(0);
    const double residual = (u - adjoint.k(solved.x).select(0, s).unsqueeze(0) - b[s].unsqueeze(0))
                                .norm()
                                .item<double>();
    EXPECT_NEAR(residual, solved.info.residual[s], 1e-14 + 1e-12 * residual);
    // ||K|| <= 0.9: the error is at most 10 x the residual bound.
    const double bound = 10 * (o.abs_tol + o.rel_tol * b[s].norm().item<double>()) + 1e-13;
    EXPECT_LT(max_abs_diff(solved.x[s], dense.x[s]), bound) << s;
  }
  EXPECT_EQ(solved.x[1].abs().max().item<double>(), 0.0);
}

}  // namespace
}  // namespace implicit::torch
