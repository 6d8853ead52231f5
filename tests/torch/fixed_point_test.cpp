// implicit::torch::fixed_point: batched solves, IFT gradients against finite
// differences and unrolled autograd, forward mode, double backward, and
// failures that must surface.

#include "implicit/torch/fixed_point.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "implicit.hpp"
#include "tests/torch/support.hpp"

namespace implicit::torch {
namespace {

using testing::central_difference;
using testing::make_tanh_problem;
using testing::max_abs_diff;
using testing::tight_options;

// Weights of the scalar loss sum(c * z*), fixed per test.
at::Tensor loss_weights(const at::Tensor& like) {
  ::torch::manual_seed(42);
  return ::torch::randn(like.sizes(), like.options().requires_grad(false));
}

TEST(TorchFixedPoint, EverySolverFindsTheSameFixedPointPerSample) {
  auto p = make_tanh_problem(6, 12);
  at::Tensor reference;
  for (Solver s :
       {Solver::kForwardIteration, Solver::kAnderson, Solver::kBroyden, Solver::kNewton}) {
    auto out = solve(p.map(), at::zeros_like(p.x), tight_options(s).forward);
    ASSERT_TRUE(out.info->forward.ok()) << out.info->forward.brief_report();
    const at::Tensor residual = p.map()(out.z) - out.z;
    EXPECT_LT(residual.abs().max().item<double>(), 1e-12) << to_string(s);
    if (!reference.defined()) reference = out.z;
    EXPECT_LT(max_abs_diff(out.z, reference), 1e-12) << to_string(s);
  }
}

TEST(TorchFixedPoint, ReproducesTheDensePathOnTheReferenceProblem) {
  // The reference problem of docs/reference-systems.md section 1 (n = 10,
  // W ~ N(0, 1/n)), solved by the Eigen path and by the tensor path with
  // B = 1: same z* and IFT gradients.
  auto problem = make_reference_tanh_problem(10, 0);
  auto dense = solve_fixed_point(bind_theta(problem.layer, problem.theta),
                                 Eigen::VectorXd(Eigen::VectorXd::Zero(10)), Anderson(),
                                 implicit::FixedPointOptions{2000, 1e-14, 1e-13});
  ASSERT_TRUE(dense.ok());
  const Eigen::VectorXd ones = Eigen::VectorXd::Ones(10);
  auto dense_grad = fixed_point_vjp(problem.layer, problem.theta, dense.x, ones);
  ASSERT_TRUE(dense_grad.ok());

  // Eigen is column-major: W's transpose read row-major is W.
  at::Tensor w = at::from_blob(problem.w.data(), {10, 10}, at::kDouble).t().clone();
  at::Tensor x = at::from_blob(problem.x.data(), {1, 10}, at::kDouble).clone();
  w.requires_grad_(true);
  x.requires_grad_(true);
  auto f = [&](const at::Tensor& z) { return at::tanh(z.matmul(w.t()) + x); };
  auto out = fixed_point(f, at::zeros_like(x), {w, x}, tight_options());
  out.z.sum().backward();

  at::Tensor dense_z = at::from_blob(dense.x.data(), {1, 10}, at::kDouble);
  EXPECT_LT(max_abs_diff(out.z.detach(), dense_z), 1e-12);
  Eigen::VectorXd grad_w_flat = dense_grad.value.head(100);  // vec(dL/dW), column-major
  at::Tensor dense_grad_w = at::from_blob(grad_w_flat.data(), {10, 10}, at::kDouble).t();
  at::Tensor dense_grad_x = at::from_blob(dense_grad.value.data() + 100, {1, 10}, at::kDouble);
  EXPECT_LT(max_abs_diff(w.grad(), dense_grad_w), 1e-11);
  EXPECT_LT(max_abs_diff(x.grad(), dense_grad_x), 1e-11);
}

// Gradient of sum(c * z*) w.r.t. W and x: IFT vs central differences.
// Forward and adjoint solves at 1e-13; central differences with h = 1e-6
// carry O(h^2) ~ 1e-12 truncation and O(eps/h) ~ 1e-10 rounding error, so
// 1e-8 is a bound that still catches any real mistake (errors of a wrong
// adjoint are O(1)).
TEST(TorchFixedPoint, ImplicitGradientMatchesCentralDifferences) {
  for (Solver s : {Solver::kForwardIteration, Solver::kAnderson, Solver::kBroyden}) {
    auto p = make_tanh_problem(3, 5);
    const at::Tensor c = loss_weights(p.x);
    auto out = fixed_point(p.map(), at::zeros_like(p.x), {p.w, p.x}, tight_options(s));
    (out.z * c).sum().backward();
    ASSERT_TRUE(out.info->backward.ok()) << out.info->backward.brief_report();
    auto loss = [&] {
      return (solve(p.map(), at::zeros_like(p.x), tight_options(s).forward).z * c)
          .sum()
          .item<double>();
    };
    EXPECT_LT(max_abs_diff(p.w.grad(), central_difference(loss, p.w)), 1e-8) << to_string(s);
    EXPECT_LT(max_abs_diff(p.x.grad(), central_difference(loss, p.x)), 1e-8) << to_string(s);
  }
}

// IFT vs backprop through 400 forward iterations: with contraction 0.9 the
// unrolled gradient's truncation error is below 0.9^400 ~ 5e-19 relative.
TEST(TorchFixedPoint, ImplicitGradientMatchesUnrolledAutograd) {
  auto p = make_tanh_problem(4, 8);
  const at::Tensor c = loss_weights(p.x);
  at::Tensor z = at::zeros_like(p.x);
  for (int k = 0; k < 400; ++k) z = p.map()(z);
  auto unrolled = ::torch::autograd::grad({(z * c).sum()}, {p.w, p.x});

  for (AdjointMethod method : {AdjointMethod::kFixedPointIteration, AdjointMethod::kAnderson,
                               AdjointMethod::kGmres, AdjointMethod::kDenseLU}) {
    Options o = tight_options();
    o.backward.adjoint.method = method;
    o.backward.adjoint.fallback = false;
    auto out = fixed_point(p.map(), at::zeros_like(p.x), {p.w, p.x}, o);
    auto ift = ::torch::autograd::grad({(out.z * c).sum()}, {p.w, p.x});
    EXPECT_TRUE(out.info->backward.ok()) << out.info->backward.brief_report();
    EXPECT_EQ(out.info->backward.method, to_string(method));
    EXPECT_LT(max_abs_diff(ift[0], unrolled[0]), 1e-11) << to_string(method);
    EXPECT_LT(max_abs_diff(ift[1], unrolled[1]), 1e-11) << to_string(method);
  }
}

TEST(TorchFixedPoint, BatchedSolveEqualsOneAtATime) {
  auto p = make_tanh_problem(5, 7);
  for (Solver s : {Solver::kForwardIteration, Solver::kAnderson, Solver::kBroyden}) {
    auto opts = tight_options(s).forward;
    auto batched = solve(p.map(), at::zeros_like(p.x), opts);
    for (int64_t b = 0; b < 5; ++b) {
      at::Tensor xb = p.x.detach().slice(0, b, b + 1);
      auto fb = [&](const at::Tensor& z) { return at::tanh(z.matmul(p.w.t()) + xb); };
      auto single = solve(fb, at::zeros_like(xb), opts);
      // The same arithmetic per sample: the same iterate sequence, so the
      // same iteration count and z* to rounding.
      EXPECT_EQ(batched.info->forward.iterations[b], single.info->forward.iterations[0])
          << to_string(s) << " sample " << b;
      EXPECT_LT(max_abs_diff(batched.z.slice(0, b, b + 1), single.z), 1e-13);
    }
  }
}

TEST(TorchFixedPoint, EachSampleGetsItsOwnStatus) {
  // Row 0 contracts fast, row 1 slowly, row 2 never moves closer (z + 1),
  // row 3 blows up (3 z + 1): per-sample statuses, and the converged rows
  // stay exact while the others run on. Row 2 has no fixed point: its best
  // residual never falls, so the stall rule (progress_window = 100) stops
  // it as stalled at step 100 (before the rule: max_iterations at 300).
  at::Tensor rate = at::tensor({0.1, 0.9, 1.0, 3.0}, at::kDouble).view({4, 1});
  at::Tensor shift = at::tensor({1.0, 1.0, 1.0, 1.0}, at::kDouble).view({4, 1});
  auto f = [&](const at::Tensor& z) { return rate * z + shift; };
  ForwardOptions o;
  o.solver = Solver::kForwardIteration;
  o.stop.max_iter = 300;
  o.raise_on_failure = false;
  auto out = solve(f, at::zeros({4, 3}, at::kDouble), o);
  const auto& st = out.info->forward.status;
  EXPECT_EQ(st[0], Status::kConverged);
  EXPECT_EQ(st[1], Status::kConverged);
  EXPECT_EQ(st[2], Status::kStalled);
  EXPECT_EQ(st[3], Status::kDiverged);
  EXPECT_LT(out.info->forward.iterations[0], out.info->forward.iterations[1]);
  // The returned point is the iterate z_k whose residual r passed the test,
  // so each entry's error is <= r_e / (1 - rate), with the per-entry
  // residual r_e = r / sqrt 3 <= (1e-10 + 1e-8 ||f(z)||) / sqrt 3:
  // 1.24e-8 for row 0 (f = 1.11 per entry), 1.0e-6 for row 1 (f = 10).
  EXPECT_NEAR(out.z[0][0].item<double>(), 1.0 / 0.9, 1.3e-8);
  EXPECT_NEAR(out.z[1][0].item<double>(), 10.0, 1.01e-6);
  EXPECT_FALSE(out.info->forward.ok());
  EXPECT_NE(out.info->forward.message.find("sample 3"), std::string::npos)
      << out.info->forward.message;

  o.raise_on_failure = true;
  EXPECT_THROW((void)solve(f, at::zeros({4, 3}, at::kDouble), o), std::runtime_error);
}

TEST(TorchFixedPoint, Float32SolvesAndDifferentiates) {
  auto p64 = make_tanh_problem(4, 16);
  auto p32 = make_tanh_problem(4, 16, 0, 0.9, at::kFloat);
  Options o;  // default tolerances: rel_tol is floored at 8 float epsilons
  auto out32 = fixed_point(p32.map(), at::zeros_like(p32.x), {p32.w, p32.x}, o);
  auto out64 = fixed_point(p64.map(), at::zeros_like(p64.x), {p64.w, p64.x}, o);
  EXPECT_EQ(out32.z.scalar_type(), at::kFloat);
  out32.z.sum().backward();
  out64.z.sum().backward();
  EXPECT_TRUE(out32.info->backward.ok()) << out32.info->backward.brief_report();
  // float rounding (6e-8) amplified by 1 / (1 - 0.9) through the solves.
  EXPECT_LT(max_abs_diff(out32.z.detach().to(at::kDouble), out64.z.detach()), 1e-5);
  EXPECT_LT(max_abs_diff(p32.w.grad().to(at::kDouble), p64.w.grad()), 1e-4);
}

TEST(TorchFixedPoint, JvpMatchesCentralDifferences) {
  auto p = make_tanh_problem(3, 6);
  ::torch::manual_seed(7);
  at::Tensor dw = ::torch::randn_like(p.w.detach());
  at::Tensor dx = ::torch::randn_like(p.x.detach());
  auto jvp = fixed_point_jvp(p.map(), at::zeros_like(p.x), {p.w, p.x}, {dw, dx}, tight_options());
  ASSERT_TRUE(jvp.info->backward.ok()) << jvp.info->backward.brief_report();
  const double h = 1e-6;
  auto at_step = [&](double t) {
    at::NoGradGuard ng;
    at::Tensor w = p.w.detach() + t * dw, x = p.x.detach() + t * dx;
    auto f = [&](const at::Tensor& z) { return at::tanh(z.matmul(w.t()) + x); };
    return solve(f, at::zeros_like(x), tight_options().forward).z;
  };
  at::Tensor fd = (at_step(h) - at_step(-h)) / (2 * h);
  EXPECT_LT(max_abs_diff(jvp.tangent, fd), 1e-8);
}

// A tangent is a direction in parameter space, not an autograd flag: W
// without requires_grad must move z* exactly as W with it does. Tangent only
// on W (dx undefined), so a dropped W tangent would give dz = 0.
TEST(TorchFixedPoint, JvpOfAParameterWithoutRequiresGradMatchesCentralDifferences) {
  auto p = make_tanh_problem(3, 6);
  const at::Tensor w = p.w.detach().clone();  // requires_grad false
  const at::Tensor x = p.x.detach().clone();
  ::torch::manual_seed(7);
  const at::Tensor dw = ::torch::randn_like(w);
  auto f = [&](const at::Tensor& z) { return at::tanh(z.matmul(w.t()) + x); };
  auto jvp = fixed_point_jvp(f, at::zeros_like(x), {w, x}, {dw, at::Tensor()}, tight_options());
  ASSERT_TRUE(jvp.info->backward.certified()) << jvp.info->backward.brief_report();
  // The caller's tensor is left as it was.
  EXPECT_FALSE(w.requires_grad());
  EXPECT_FALSE(w.grad().defined());
  const double h = 1e-6;
  auto at_step = [&](double t) {
    at::NoGradGuard ng;
    const at::Tensor wt = w + t * dw;
    auto ft = [&](const at::Tensor& z) { return at::tanh(z.matmul(wt.t()) + x); };
    return solve(ft, at::zeros_like(x), tight_options().forward).z;
  };
  const at::Tensor fd = (at_step(h) - at_step(-h)) / (2 * h);
  ASSERT_GT(fd.abs().max().item<double>(), 1e-2);  // the tangent is far from 0
  // Central differences: truncation h^2 times the third derivative, ~1e-12;
  // rounding, the solves' tolerance 1e-13 over h, ~1e-7 at worst; the IFT
  // tangent is certified at 1e-13. 1e-7 still tells a right tangent from a
  // dropped one (|dz| > 1e-2) by five orders of magnitude.
  EXPECT_LT(max_abs_diff(jvp.tangent, fd), 1e-7);
}

TEST(TorchFixedPoint, PhantomGradientTendsToTheImplicitOneAndJacobianFreeIsOneStep) {
  auto p = make_tanh_problem(3, 6);
  auto grads = [&](Gradient mode, int steps) {
    Options o = tight_options();
    o.backward.gradient = mode;
    o.backward.phantom_steps = steps;
    o.backward.phantom_damping = 1.0;
    auto out = fixed_point(p.map(), at::zeros_like(p.x), {p.w, p.x}, o);
    return ::torch::autograd::grad({out.z.sum()}, {p.w, p.x});
  };
  auto exact = grads(Gradient::kImplicit, 1);
  auto phantom = grads(Gradient::kPhantom, 400);  // damping 1: the unrolled tail, 0.9^400
  EXPECT_LT(max_abs_diff(phantom[0], exact[0]), 1e-11);
  auto short_phantom = grads(Gradient::kPhantom, 3);
  EXPECT_GT(max_abs_diff(short_phantom[0], exact[0]), 1e-3);  // really a different estimate

  // Jacobian-free: (df/dparams)^T g at z*, one backward pass through f.
  auto free = grads(Gradient::kJacobianFree, 1);
  auto z_star = solve(p.map(), at::zeros_like(p.x), tight_options().forward).z;
  auto direct = ::torch::autograd::grad({p.map()(z_star).sum()}, {p.w, p.x});
  EXPECT_LT(max_abs_diff(free[0], direct[0]), 1e-13);
  EXPECT_LT(max_abs_diff(free[1], direct[1]), 1e-13);
  // One phantom step with damping 1 is the Jacobian-free gradient.
  EXPECT_LT(max_abs_diff(grads(Gradient::kPhantom, 1)[0], direct[0]), 1e-13);
}

// Gradient of a gradient: d/dW of ||dL/dx||^2 with dL/dx itself by IFT,
// against central differences of the IFT gradient.
TEST(TorchFixedPoint, DoubleBackwardMatchesCentralDifferences) {
  auto p = make_tanh_problem(2, 4);
  auto grad_x_norm = [&](bool create_graph) {
    auto out = fixed_point(p.map(), at::zeros_like(p.x), {p.w, p.x}, tight_options());
    auto gx = ::torch::autograd::grad({out.z.sum()}, {p.x}, {}, create_graph, create_graph)[0];
    return (gx * gx).sum();
  };
  auto second = ::torch::autograd::grad({grad_x_norm(true)}, {p.w})[0];
  auto loss = [&] {
    at::AutoGradMode enable(true);  // central_difference perturbs W under no-grad
    return grad_x_norm(false).item<double>();
  };
  EXPECT_LT(max_abs_diff(second, central_difference(loss, p.w)), 1e-7);
}

// The same with a cotangent that depends on z* (loss sum(z*^2)): the
// differentiable adjoint lists g = 2 z* beside W and x, and g's own path
// back through z* was counted twice (second derivative 157% off).
TEST(TorchFixedPoint, DoubleBackwardOfANonlinearLossMatchesCentralDifferences) {
  auto p = make_tanh_problem(2, 4);
  auto grad_x_norm = [&](bool create_graph) {
    auto out = fixed_point(p.map(), at::zeros_like(p.x), {p.w, p.x}, tight_options());
    auto gx = ::torch::autograd::grad({(out.z * out.z).sum()}, {p.x}, {}, create_graph,
                                      create_graph)[0];
    return (gx * gx).sum();
  };
  auto second = ::torch::autograd::grad({grad_x_norm(true)}, {p.w})[0];
  auto loss = [&] {
    at::AutoGradMode enable(true);
    return grad_x_norm(false).item<double>();
  };
  EXPECT_LT(max_abs_diff(second, central_difference(loss, p.w)), 1e-7);
}

// params may list a tensor computed from another listed one (x = h(W) next
// to W): each gets its partial derivative, and autograd adds the path from
// x to W once. It was counted twice: dL/dW 100% off, status converged.
TEST(TorchFixedPoint, AParamComputedFromAnotherListedParamIsNotCountedTwice) {
  auto p = make_tanh_problem(2, 4);
  auto loss_of = [&](bool list_x, bool keep_graph) {
    const at::Tensor x = p.w.sum(1).unsqueeze(0).expand({2, 4}) * 0.3 + p.x.detach();
    // By value: the backward pass calls f after loss_of has returned.
    auto f = [w = p.w, x](const at::Tensor& z) { return at::tanh(z.matmul(w.t()) + x); };
    std::vector<at::Tensor> params{p.w};
    if (list_x) params.push_back(x);
    auto out = fixed_point(f, at::zeros({2, 4}, at::kDouble), params, tight_options());
    return keep_graph ? out.z.pow(2).sum() : out.z.pow(2).sum().detach();
  };
  auto listed = ::torch::autograd::grad({loss_of(true, true)}, {p.w})[0];
  auto unlisted = ::torch::autograd::grad({loss_of(false, true)}, {p.w})[0];
  auto fd = central_difference([&] { return loss_of(false, false).item<double>(); }, p.w);
  EXPECT_LT(max_abs_diff(listed, fd), 1e-7);
  EXPECT_LT(max_abs_diff(unlisted, fd), 1e-7);
}

TEST(TorchFixedPoint, SingularAdjointRaisesOrReturnsNaNWithStatus) {
  // f(z) = z - (z - c)^3 has z* = c and df/dz = I there: I - J is singular
  // and the adjoint system u = u + g has no solution.
  at::Tensor c = at::full({2, 3}, 0.5, at::kDouble).requires_grad_(true);
  auto f = [&](const at::Tensor& z) { return z - at::pow(z - c, 3); };
  Options o;
  o.backward.adjoint.max_iter = 50;
  auto out = fixed_point(f, c.detach().clone(), {c}, o);
  EXPECT_THROW(out.z.sum().backward(), std::exception);
  EXPECT_FALSE(out.info->backward.ok());

  o.backward.raise_on_failure = false;
  auto quiet = fixed_point(f, c.detach().clone(), {c}, o);
  auto g = ::torch::autograd::grad({quiet.z.sum()}, {c})[0];
  EXPECT_TRUE(at::isnan(g).all().item<bool>()) << g;
  EXPECT_FALSE(quiet.info->backward.ok());
  EXPECT_NE(quiet.info->backward.message.find("gmres"), std::string::npos)
      << quiet.info->backward.message;  // the fallback chain is in the report
}

// The double-backward path (create_graph = true) solves the adjoint as a
// differentiable fixed point; it must obey the same failure policy as the
// plain one. z = tanh(W z + x) with W = diag(1, 0.5), x = 0: z* = 0 and
// df/dz = W there, so I - J is singular and u = J^T u + g has no solution
// for g = (1, 1).
TEST(TorchFixedPoint, DoubleBackwardOnASingularAdjointRaisesOrReturnsNaN) {
  const at::Tensor w = at::diag(at::tensor({1.0, 0.5}, at::kDouble));
  at::Tensor x = at::zeros({2, 2}, at::kDouble).requires_grad_(true);
  auto f = [&](const at::Tensor& z) { return at::tanh(z.matmul(w.t()) + x); };
  Options o;
  o.backward.adjoint.max_iter = 200;
  auto raising = fixed_point(f, at::zeros({2, 2}, at::kDouble), {x}, o);
  EXPECT_THROW((void)::torch::autograd::grad({raising.z.sum()}, {x}, {}, true, true),
               std::runtime_error);
  EXPECT_FALSE(raising.info->backward.ok()) << raising.info->backward.brief_report();

  o.backward.raise_on_failure = false;
  auto quiet = fixed_point(f, at::zeros({2, 2}, at::kDouble), {x}, o);
  const at::Tensor gx = ::torch::autograd::grad({quiet.z.sum()}, {x}, {}, true, true)[0];
  const PassInfo& back = quiet.info->backward;
  EXPECT_FALSE(back.ok()) << back.brief_report();
  for (Status s : back.status) EXPECT_NE(s, Status::kConverged);
  EXPECT_TRUE(at::isnan(gx).all().item<bool>()) << gx;

  // kDrop: the failed samples feed nothing, as on the plain path.
  o.backward.failed_samples = BackwardOptions::FailedSamples::kDrop;
  auto dropped = fixed_point(f, at::zeros({2, 2}, at::kDouble), {x}, o);
  const at::Tensor gd = ::torch::autograd::grad({dropped.z.sum()}, {x}, {}, true, true)[0];
  EXPECT_EQ(gd.abs().max().item<double>(), 0.0) << gd;
  EXPECT_FALSE(dropped.info->backward.ok());
}

// A failed sample's NaN cotangent must reach a shared weight even where a
// ReLU masks it (ReLU's backward selects, so 0 * NaN would become 0). Sample
// 1 starts where every pre-activation is negative and gets no forward
// iteration: refused as not_a_solution (residual ||z0|| = 1.4 > 1e-4), its
// u NaN, and relu'(.) = 0 on all of its units.
TEST(TorchFixedPoint, AFailedSampleMakesASharedWeightNaNThroughAReLU) {
  at::Tensor w = at::tensor({0.5, 0.1, 0.05, 0.4}, at::kDouble).view({2, 2}).requires_grad_(true);
  at::Tensor x = at::tensor({1.0, 0.5, -0.5, -0.5}, at::kDouble).view({2, 2}).requires_grad_(true);
  auto f = [&](const at::Tensor& z) { return at::relu(z.matmul(w.t()) + x); };
  Options o = tight_options(Solver::kForwardIteration);
  o.forward.raise_on_failure = false;
  o.backward.raise_on_failure = false;
  // Sample 0 at its fixed point, sample 1 at (-1, -1).
  at::Tensor z0 = solve(f, at::zeros({2, 2}, at::kDouble), o.forward).z.clone();
  z0[1].fill_(-1.0);
  o.forward.stop.max_iter = 0;  // judge the start, take no step
  auto out = fixed_point(f, z0, {w, x}, o);
  ASSERT_EQ(out.info->forward.status[0], Status::kConverged) << out.info->forward.brief_report();
  ASSERT_EQ(out.info->forward.status[1], Status::kMaxIterations);
  auto grads = ::torch::autograd::grad({out.z.sum()}, {w, x});
  EXPECT_EQ(out.info->backward.status[1], Status::kNotASolution);
  // docs/failure-policy.md: "a shared parameter such as W gets NaN from any
  // failed sample", and the failed sample's own input gets NaN.
  EXPECT_TRUE(at::isnan(grads[0]).all().item<bool>()) << grads[0];
  EXPECT_TRUE(at::isnan(grads[1][1]).all().item<bool>()) << grads[1];
  // Sample 0's own input keeps its gradient: that of sample 0 solved alone
  // (the same adjoint solve on one row, certified at 1e-13 relative, so
  // the two agree far below 1e-10).
  EXPECT_TRUE(at::isfinite(grads[1][0]).all().item<bool>()) << grads[1];
  at::Tensor x0 = x.detach()[0].clone().view({1, 2}).requires_grad_(true);
  auto f0 = [&](const at::Tensor& z) { return at::relu(z.matmul(w.t()) + x0); };
  auto alone = fixed_point(f0, z0[0].view({1, 2}).clone(), {w, x0}, o);
  auto g0 = ::torch::autograd::grad({alone.z.sum()}, {x0})[0];
  EXPECT_LT(max_abs_diff(grads[1][0], g0[0]), 1e-10);
}

TEST(TorchFixedPoint, BadInputIsAClearError) {
  auto p = make_tanh_problem(2, 3);
  at::Tensor nan_start = at::full({2, 3}, std::nan(""), at::kDouble);
  EXPECT_THROW((void)solve(p.map(), nan_start), std::invalid_argument);
  auto shrink = [](const at::Tensor& z) { return z.slice(1, 0, 2); };
  EXPECT_THROW((void)solve(shrink, at::zeros({2, 3}, at::kDouble)), std::invalid_argument);
  EXPECT_THROW((void)solve(p.map(), at::zeros({2, 3}, at::kLong)), std::invalid_argument);
  Options bad;
  bad.forward.anderson.memory = 0;
  EXPECT_THROW((void)fixed_point(p.map(), at::zeros_like(p.x), {p.w}, bad), std::invalid_argument);
}

// The promise behind a per-sample `converged`, for every tensor solver at
// the default tolerances (loose enough that z_k and f(z_k) differ): the
// returned row satisfies the stated rule, checked on the returned tensor,
// and the reported residual is that row's own. float64 and float32.
TEST(TorchFixedPoint, ConvergedHoldsOnTheReturnedRowsForEverySolver) {
  for (at::ScalarType dtype : {at::kDouble, at::kFloat}) {
    auto p = make_tanh_problem(6, 9, 3, 0.95, dtype);
    const double eps = dtype == at::kDouble ? 2.220446049250313e-16 : 1.1920929e-07;
    for (Solver s :
         {Solver::kForwardIteration, Solver::kAnderson, Solver::kBroyden, Solver::kNewton}) {
      ForwardOptions o;
      o.solver = s;
      o.stop.rel_tol = dtype == at::kDouble ? 1e-6 : 1e-4;
      o.stop.abs_tol = 1e-3 * o.stop.rel_tol;
      auto out = solve(p.map(), at::zeros_like(p.x), o);
      const at::Tensor fz = p.map()(out.z).detach();
      const at::Tensor r = (fz - out.z).to(at::kDouble).norm(2, {1});
      const at::Tensor f_norm = fz.to(at::kDouble).norm(2, {1});
      const double rel = std::fmax(o.stop.rel_tol, 8 * eps);
      for (int64_t b = 0; b < 6; ++b) {
        ASSERT_EQ(out.info->forward.status[b], Status::kConverged) << to_string(s) << " " << b;
        const double rb = r[b].item<double>();
        EXPECT_LE(rb, o.stop.abs_tol + rel * f_norm[b].item<double>()) << to_string(s) << " " << b;
        // The same row, recomputed in the tensor's own precision.
        EXPECT_NEAR(rb, out.info->forward.residual[b], 64 * eps * (1 + f_norm[b].item<double>()))
            << to_string(s) << " " << b;
      }
    }
  }
}

// One NaN sample in a Newton batch: it fails alone, and every other sample
// gets exactly what it gets when solved by itself (its own GMRES, its own
// stopping), so one bad sample never changes another's answer.
TEST(TorchFixedPoint, NewtonIsolatesABadSample) {
  auto p = make_tanh_problem(5, 7);
  at::Tensor x = p.x.detach().clone();
  x[2][3] = std::nan("");
  auto f = [&](const at::Tensor& z) { return at::tanh(z.matmul(p.w.detach().t()) + x); };
  auto opts = tight_options(Solver::kNewton).forward;
  opts.raise_on_failure = false;
  auto batched = solve(f, at::zeros_like(x), opts);
  EXPECT_EQ(batched.info->forward.status[2], Status::kNonFinite);
  for (int64_t b = 0; b < 5; ++b) {
    if (b == 2) continue;
    at::Tensor xb = x.slice(0, b, b + 1);
    auto fb = [&](const at::Tensor& z) { return at::tanh(z.matmul(p.w.detach().t()) + xb); };
    auto single = solve(fb, at::zeros_like(xb), opts);
    EXPECT_EQ(batched.info->forward.status[b], Status::kConverged) << b;
    EXPECT_LT(max_abs_diff(batched.z.slice(0, b, b + 1), single.z), 1e-12) << "sample " << b;
  }
}

// The tensor Newton with BiCGStab as its inner solver (a value of
// NewtonOptions::linear_solver): the same per-sample isolation, and the
// same z* as with GMRES (both converge to the tight forward tolerance).
TEST(TorchFixedPoint, NewtonWithBiCGStabIsolatesABadSampleAndMatchesGmres) {
  auto p = make_tanh_problem(4, 9);
  at::Tensor x = p.x.detach().clone();
  x[1][0] = std::nan("");
  auto f = [&](const at::Tensor& z) { return at::tanh(z.matmul(p.w.detach().t()) + x); };
  auto opts = tight_options(Solver::kNewton).forward;
  opts.raise_on_failure = false;
  const auto gmres_run = solve(f, at::zeros_like(x), opts);
  opts.newton.linear_solver = BiCGStab{};
  const auto bicgstab_run = solve(f, at::zeros_like(x), opts);
  EXPECT_EQ(bicgstab_run.info->forward.status[1], Status::kNonFinite);
  for (int64_t b : {0, 2, 3}) {
    ASSERT_EQ(bicgstab_run.info->forward.status[b], Status::kConverged)
        << bicgstab_run.info->forward.brief_report();
    // The promise of `converged`, on the returned row.
    const double r = (f(bicgstab_run.z) - bicgstab_run.z)[b].norm().item<double>();
    EXPECT_NEAR(r, bicgstab_run.info->forward.residual[b], 1e-12 + 1e-9 * r);
    EXPECT_LT(max_abs_diff(bicgstab_run.z[b], gmres_run.z[b]), 1e-10) << b;
  }
}

// Newton on f(z) = r z + 1 per sample: r = 1 makes I - J singular (no fixed
// point), r = 3 is non-contractive but Newton solves it in one step. Only
// the singular sample fails; the others converge to -1 / (r - 1).
TEST(TorchFixedPoint, NewtonFailsOnlyTheSamplesWhoseSystemIsSingular) {
  at::Tensor rate = at::tensor({0.5, 1.0, 3.0}, at::kDouble).view({3, 1});
  auto f = [&](const at::Tensor& z) { return rate * z + 1; };
  ForwardOptions o;
  o.solver = Solver::kNewton;
  o.raise_on_failure = false;
  auto out = solve(f, at::zeros({3, 4}, at::kDouble), o);
  const auto& st = out.info->forward.status;
  EXPECT_EQ(st[0], Status::kConverged);
  EXPECT_NE(st[1], Status::kConverged);
  EXPECT_EQ(st[2], Status::kConverged);
  EXPECT_NEAR(out.z[0][0].item<double>(), 2.0, 1e-9);
  EXPECT_NEAR(out.z[2][0].item<double>(), -0.5, 1e-9);
}

// Every solver stops on a map with no fixed point within its iteration
// limits (a hang guard, not a speed test: the bound is 100x the time taken).
TEST(TorchFixedPoint, NonContractiveMapsStopForEverySolver) {
  auto f = [](const at::Tensor& z) { return 3 * z + at::sin(z) + 1; };
  for (Solver s :
       {Solver::kForwardIteration, Solver::kAnderson, Solver::kBroyden, Solver::kNewton}) {
    ForwardOptions o;
    o.solver = s;
    o.raise_on_failure = false;
    const auto start = std::chrono::steady_clock::now();
    auto out = solve(f, at::zeros({4, 6}, at::kDouble), o);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 10.0) << to_string(s);
    for (Status st : out.info->forward.status)
      if (st == Status::kConverged) {
        const at::Tensor residual = f(out.z) - out.z;
        EXPECT_LT(residual.abs().max().item<double>(), 1e-6) << to_string(s);
      }
  }
}

// The near-singular adjoint (W = Q diag(1, 0.5) Q^T at z* = 0): I - J has
// rcond ~ 1e-17. The backward must refuse it (NaN + status, or raise), never
// certify a gradient of ~1e16.
TEST(TorchFixedPoint, NearSingularAdjointIsRefused) {
  const double c = std::cos(0.7), s = std::sin(0.7);
  at::Tensor q = at::tensor({c, -s, s, c}, at::kDouble).view({2, 2});
  at::Tensor w = q.matmul(at::diag(at::tensor({1.0, 0.5}, at::kDouble))).matmul(q.t());
  at::Tensor x = at::zeros({3, 2}, at::kDouble).requires_grad_(true);
  auto f = [&](const at::Tensor& z) { return at::tanh(z.matmul(w.t()) + x); };
  for (AdjointMethod m :
       {AdjointMethod::kGmres, AdjointMethod::kDenseLU, AdjointMethod::kFixedPointIteration}) {
    Options o;
    o.backward.adjoint.method = m;
    o.backward.adjoint.max_iter = 200;
    o.backward.raise_on_failure = false;
    auto out = fixed_point(f, at::zeros({3, 2}, at::kDouble), {x}, o);
    auto g = ::torch::autograd::grad({(out.z * at::tensor({1.0, 0.3}, at::kDouble)).sum()}, {x})[0];
    EXPECT_FALSE(out.info->backward.ok()) << to_string(m) << ": " << out.info->backward.message;
    EXPECT_TRUE(at::isnan(g).all().item<bool>()) << to_string(m) << ": " << g;
  }
}

// The backward of samples whose forward solve stopped short: a sample at
// z* = 0 (x = 0) converges at once, the others are 3 forward iterations
// from their fixed points (residual ~0.1, far above solution_tol 1e-4).
// kImplicit refuses those with kNotASolution and NaN rows; with
// solution_tol = infinity it differentiates them, and says so.
TEST(TorchFixedPoint, BackwardRefusesSamplesWhoseForwardFailed) {
  auto p = make_tanh_problem(4, 6, 3);
  at::Tensor x = p.x.detach().clone();
  x[0].zero_();
  x.requires_grad_(true);
  auto f = [&](const at::Tensor& z) { return at::tanh(z.matmul(p.w.t()) + x); };
  Options o;
  o.forward.solver = Solver::kForwardIteration;
  o.forward.stop.max_iter = 3;
  o.forward.raise_on_failure = false;
  o.backward.raise_on_failure = false;
  auto out = fixed_point(f, at::zeros_like(x), {p.w, x}, o);
  ASSERT_EQ(out.info->forward.status[0], Status::kConverged);
  for (int b = 1; b < 4; ++b) ASSERT_EQ(out.info->forward.status[b], Status::kMaxIterations);
  auto gx = ::torch::autograd::grad({out.z.sum()}, {x})[0];
  const auto& back = out.info->backward;
  EXPECT_EQ(back.status[0], Status::kConverged) << back.brief_report();
  EXPECT_TRUE(at::isfinite(gx[0]).all().item<bool>());
  for (int b = 1; b < 4; ++b) {
    EXPECT_EQ(back.status[b], Status::kNotASolution) << b;
    EXPECT_TRUE(at::isnan(gx[b]).all().item<bool>()) << b;
  }
  EXPECT_FALSE(back.ok());
  EXPECT_NE(back.message.find("3 refused"), std::string::npos) << back.message;
  // Raising is the default.
  o.backward.raise_on_failure = true;
  auto raising = fixed_point(f, at::zeros_like(x), {p.w, x}, o);
  EXPECT_THROW(raising.z.sum().backward(), std::exception);

  // kDrop: the refused samples feed no gradient; W's gradient is that of
  // sample 0's loss alone, and the statuses still say what failed.
  o.backward.raise_on_failure = false;
  o.backward.failed_samples = BackwardOptions::FailedSamples::kDrop;
  auto dropped = fixed_point(f, at::zeros_like(x), {p.w, x}, o);
  auto grads = ::torch::autograd::grad({dropped.z.sum()}, {p.w, x});
  EXPECT_FALSE(dropped.info->backward.ok());
  EXPECT_EQ(dropped.info->backward.status[1], Status::kNotASolution);
  EXPECT_TRUE(at::isfinite(grads[0]).all().item<bool>());
  for (int b = 1; b < 4; ++b) EXPECT_EQ(grads[1][b].abs().max().item<double>(), 0.0) << b;
  auto alone = fixed_point(f, at::zeros_like(x), {p.w, x}, o);
  auto w_alone = ::torch::autograd::grad({alone.z[0].sum()}, {p.w})[0];
  EXPECT_LT(max_abs_diff(grads[0], w_alone), 1e-12);
  o.backward.failed_samples = BackwardOptions::FailedSamples::kNaN;

  // Opting in: every sample differentiated at its returned point, the
  // report still says the forward did not converge.
  o.backward.raise_on_failure = false;
  o.backward.adjoint.solution_tol = std::numeric_limits<double>::infinity();
  auto anyway = fixed_point(f, at::zeros_like(x), {p.w, x}, o);
  auto g2 = ::torch::autograd::grad({anyway.z.sum()}, {x})[0];
  EXPECT_TRUE(anyway.info->backward.ok()) << anyway.info->backward.brief_report();
  EXPECT_TRUE(at::isfinite(g2).all().item<bool>());
  EXPECT_NE(anyway.info->backward.message.find("3 of 4 samples' forward solves did not converge"),
            std::string::npos)
      << anyway.info->backward.message;
  EXPECT_NE(anyway.info->backward.message.find("3 differentiated"), std::string::npos);
}

// Jacobian-free and phantom gradients solve nothing: each sample is
// kApproximate (ok, never certified), with no residual claimed.
TEST(TorchFixedPoint, ApproximateGradientsAreReportedAsSuch) {
  auto p = make_tanh_problem(3, 5);
  for (Gradient gradient : {Gradient::kJacobianFree, Gradient::kPhantom}) {
    Options o = tight_options();
    o.backward.gradient = gradient;
    auto out = fixed_point(p.map(), at::zeros_like(p.x), {p.w, p.x}, o);
    out.z.sum().backward();
    const auto& back = out.info->backward;
    for (int b = 0; b < 3; ++b) {
      EXPECT_EQ(back.status[b], Status::kApproximate) << to_string(gradient);
      EXPECT_TRUE(std::isnan(back.residual[b])) << to_string(gradient);
    }
    EXPECT_TRUE(back.ok());
    EXPECT_FALSE(back.certified());
    EXPECT_EQ(back.guarantee.rfind("none:", 0), 0u) << back.guarantee;
    EXPECT_NE(back.brief_report().find("approximate"), std::string::npos) << back.brief_report();
    EXPECT_EQ(back.brief_report().find("converged"), std::string::npos) << back.brief_report();
  }
  // The exact gradient is certified and says by which rule.
  Options o = tight_options();
  auto out = fixed_point(p.map(), at::zeros_like(p.x), {p.w, p.x}, o);
  out.z.sum().backward();
  EXPECT_TRUE(out.info->backward.certified());
  EXPECT_EQ(out.info->backward.guarantee.rfind("certified:", 0), 0u);
  for (double r : out.info->backward.residual) EXPECT_LT(r, 1e-10);
}

// A tensor f uses that requires a gradient but is missing from params
// would silently get none: the backward refuses, naming its shape. An
// encoder's output counts through the encoder's weights.
TEST(TorchFixedPoint, AParameterMissingFromParamsIsAnError) {
  auto p = make_tanh_problem(2, 4);
  auto run = [&](const Map& f, const std::vector<at::Tensor>& params, bool check) {
    Options o = tight_options();
    o.backward.check_params = check;
    auto out = fixed_point(f, at::zeros({2, 4}, at::kDouble), params, o);
    out.z.sum().backward();
  };
  try {
    run(p.map(), {p.x}, true);  // W missing
    ADD_FAILURE() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("not in params"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[4, 4]"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(run(p.map(), {p.x}, false));  // the check can be turned off
  EXPECT_NO_THROW(run(p.map(), {p.w, p.x}, true));
  // x from an encoder: listing x covers the encoder; listing only W does not.
  at::Tensor enc = at::randn({3, 4}, at::kDouble).requires_grad_(true);
  at::Tensor input = at::randn({2, 3}, at::kDouble);
  at::Tensor encoded = input.matmul(enc);
  Map f = [&](const at::Tensor& z) { return at::tanh(z.matmul(p.w.t()) + encoded); };
  EXPECT_NO_THROW(run(f, {p.w, encoded}, true));
  EXPECT_THROW(run(f, {p.w}, true), std::exception);
}

// A float32 z0 for a float64 map: a plain error naming both dtypes, not
// an ATen failure deep in the solver.
TEST(TorchFixedPoint, DtypeMismatchIsAClearError) {
  auto p = make_tanh_problem(2, 3);
  const at::Tensor z0 = at::zeros({2, 3}, at::kFloat);
  try {
    (void)solve(p.map(), z0);
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("Double"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Float"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)fixed_point(p.map(), z0, {p.w}), std::invalid_argument);
}

// The stability diagnostic on maps whose spectral radius is known: per
// sample a scaled symmetric matrix (eigenvalues 0.8 s, 0.4 s, 0.1 s) and a
// scaled rotation (a complex pair of modulus 0.8 s, where one power step's
// ratio would oscillate).
TEST(TorchFixedPoint, SpectralRadiusIsThatOfTheJacobianPerSample) {
  const at::Tensor scale = at::tensor({1.0, 0.5, 1.2}, at::kDouble).view({3, 1});
  at::Tensor q = std::get<0>(at::linalg_qr(at::randn({3, 3}, at::kDouble)));
  const at::Tensor sym =
      q.matmul(at::diag(at::tensor({0.8, -0.4, 0.1}, at::kDouble))).matmul(q.t());
  const double c = std::cos(0.9) * 0.8, s = std::sin(0.9) * 0.8;
  const at::Tensor rot = at::tensor({c, -s, s, c}, at::kDouble).view({2, 2});
  for (const at::Tensor& a : {sym, rot}) {
    const int64_t n = a.size(0);
    auto f = [&](const at::Tensor& z) { return scale * z.matmul(a.t()) + 1; };
    const auto rho = spectral_radius(f, at::zeros({3, n}, at::kDouble), 60);
    ASSERT_EQ(rho.size(), 3u);
    for (int b = 0; b < 3; ++b) EXPECT_NEAR(rho[b], 0.8 * scale[b].item<double>(), 1e-6) << n;
  }
  // Through the solve's options, into the forward report.
  auto p = make_tanh_problem(2, 4, 0, 0.7);
  Options o = tight_options();
  o.forward.spectral_radius_iterations = 30;
  auto out = fixed_point(p.map(), at::zeros_like(p.x), {p.w}, o);
  ASSERT_EQ(out.info->forward.spectral_radius.size(), 2u);
  for (double r : out.info->forward.spectral_radius) {
    EXPECT_GT(r, 0);
    EXPECT_LE(r, 0.7 + 1e-9);  // rho(diag(1 - z^2) W) <= ||W||_2 = 0.7
  }
  EXPECT_NE(out.info->forward.brief_report().find("spectral radius"), std::string::npos);
}

}  // namespace
}  // namespace implicit::torch
