// implicit::torch::root and the monotone network's differentiable inverse.

#include "implicit/torch/root.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "implicit.hpp"
#include "implicit/models/monotone_net.hpp"
#include "implicit/torch/monotone_net.hpp"
#include "tests/torch/support.hpp"

namespace implicit::torch {
namespace {

using testing::central_difference;
using testing::max_abs_diff;

TEST(TorchRoot, SolvesEveryEntryOnItsOwnBracket) {
  // g(x) = x^3 + a x - c, increasing for a > 0; roots spread over decades.
  at::Tensor a = at::tensor({1.0, 2.0, 0.5, 3.0}, at::kDouble);
  at::Tensor c = at::tensor({0.0, 1.0, 1e3, 1e9}, at::kDouble);
  auto g = [&](const at::Tensor& x) { return x * x * x + a * x - c; };
  auto out = root(g, at::zeros({4}, at::kDouble), {});
  ASSERT_TRUE(out.info->forward.ok()) << out.info->forward.brief_report();
  const at::Tensor residual = g(out.x.detach()).abs() / (1 + c);
  EXPECT_LT(residual.max().item<double>(), 1e-13);
  EXPECT_EQ(out.x[0].item<double>(), 0.0);  // g(lower) == 0 exactly
  EXPECT_EQ(out.info->forward.iterations[0], 0);
  // The others needed Illinois steps inside the brackets growth found
  // (iterations count those steps only, not the trial ends).
  for (int i = 1; i < 4; ++i) EXPECT_GT(out.info->forward.iterations[i], 0) << i;
}

// dx*/dc = 1 / g'(x*), dx*/da = -x* / g'(x*): IFT vs central differences.
// Root solves at 4 eps; FD with h = 1e-6 is good to ~1e-9 here.
TEST(TorchRoot, GradientMatchesCentralDifferences) {
  at::Tensor a = at::tensor({1.0, 2.0, 0.5}, at::kDouble).requires_grad_(true);
  at::Tensor c = at::tensor({0.3, 1.0, 7.0}, at::kDouble).requires_grad_(true);
  auto g = [&](const at::Tensor& x) { return x * x * x + a * x - c; };
  const at::Tensor weights = at::tensor({1.0, -2.0, 0.5}, at::kDouble);
  auto out = root(g, at::zeros({3}, at::kDouble), {a, c});
  (out.x * out.x * weights).sum().backward();
  EXPECT_TRUE(out.info->backward.ok());
  auto loss = [&] {
    auto r = root(g, at::zeros({3}, at::kDouble), {});
    return (r.x * r.x * weights).sum().item<double>();
  };
  EXPECT_LT(max_abs_diff(a.grad(), central_difference(loss, a)), 1e-8);
  EXPECT_LT(max_abs_diff(c.grad(), central_difference(loss, c)), 1e-8);
}

TEST(TorchRoot, FailuresArePerEntryStatuses) {
  // Entry 0 fine; entry 1 has g(lower) > 0 (no root >= lower); entry 2 never
  // changes sign (bounded below 0); entry 3 produces NaN.
  auto g = [](const at::Tensor& x) {
    at::Tensor out = at::stack({x[0] - 2, x[1] + 1, at::tanh(x[2]) - 2, at::log(-x[3] - 1)});
    return out;
  };
  RootOptions o;
  o.raise_on_failure = false;
  o.max_growth_steps = 60;
  auto out = root(g, at::zeros({4}, at::kDouble), {}, o);
  const auto& st = out.info->forward.status;
  EXPECT_EQ(st[0], Status::kConverged);
  EXPECT_EQ(st[1], Status::kInvalidBracket);
  EXPECT_EQ(st[2], Status::kInvalidBracket);
  EXPECT_EQ(st[3], Status::kNonFinite);
  EXPECT_NEAR(out.x[0].item<double>(), 2.0, 1e-14);
  EXPECT_TRUE(std::isnan(out.x[1].item<double>()));
  o.raise_on_failure = true;
  EXPECT_THROW((void)root(g, at::zeros({4}, at::kDouble), {}, o), std::runtime_error);
}

TEST(TorchRoot, FlatSlopeAtTheRootFailsTheBackward) {
  // g(x) = relu(x - 1) - c with c = 0 is flat on [0, 1]: the root found is
  // lower = 0 and g'(0) = 0, so dx/dc does not exist; the backward must say so.
  at::Tensor c = at::zeros({2}, at::kDouble).requires_grad_(true);
  auto g = [&](const at::Tensor& x) { return at::relu(x - 1) - c; };
  auto out = root(g, at::zeros({2}, at::kDouble), {c});
  EXPECT_THROW(out.x.sum().backward(), std::exception);
  EXPECT_FALSE(out.info->backward.ok());
}

// Entries whose forward solve failed are not differentiated (their x is a
// bracket midpoint, not a root); the converged entries' certificate is the
// recomputed residual of g'(x*) u = xbar.
TEST(TorchRoot, BackwardRefusesEntriesWhoseForwardFailed) {
  // No root on a trial end (0, 1, 2, 4, ...), where growth alone finds it:
  // c = 2 would put one at x = 1.
  at::Tensor c = at::tensor({0.5, 3.0, 2.5}, at::kDouble).requires_grad_(true);
  auto g = [&](const at::Tensor& x) { return x * x * x + x - c; };
  RootOptions o;
  o.raise_on_failure = false;
  o.backward.raise_on_failure = false;
  o.max_iter = 200;
  auto good = root(g, at::zeros({3}, at::kDouble), {c}, o);
  auto grad = ::torch::autograd::grad({good.x.sum()}, {c})[0];
  ASSERT_TRUE(good.info->backward.certified()) << good.info->backward.brief_report();
  for (int i = 0; i < 3; ++i) {
    const double x = good.x[i].item<double>();
    EXPECT_NEAR(grad[i].item<double>(), 1 / (3 * x * x + 1), 1e-12);
    EXPECT_LE(good.info->backward.residual[i], 1e-15);
  }
  o.max_iter = 2;  // two Illinois steps: no entry converges
  auto short_of = root(g, at::zeros({3}, at::kDouble), {c}, o);
  auto grad2 = ::torch::autograd::grad({short_of.x.sum()}, {c})[0];
  for (int i = 0; i < 3; ++i) {
    ASSERT_NE(short_of.info->forward.status[i], Status::kConverged);
    EXPECT_EQ(short_of.info->backward.status[i], Status::kNotASolution) << i;
    EXPECT_TRUE(std::isnan(grad2[i].item<double>()));
  }
}

// Trial right ends are lower + initial_step * growth^(k-1) (root/bracket.hpp):
// from lower = -1 they are 0, 1, 3, 7, ... A root exactly on one of them
// (c = 0, 3) is found there, exactly, as the scalar solvers find it; c =
// 0.3 and 100 lie inside brackets. Every converged entry is checked on
// the returned x itself: |g(x)| recomputed, against the width rule.
TEST(TorchRoot, ARootOnATrialRightEndConvergesThere) {
  const at::Tensor c = at::tensor({0.0, 3.0, 0.3, 100.0}, at::kDouble);
  auto g = [&](const at::Tensor& x) { return x - c; };
  RootOptions o;
  o.raise_on_failure = false;
  auto out = root(g, at::full({4}, -1.0, at::kDouble), {}, o);
  const at::Tensor x = out.x.detach();
  const PassInfo& fwd = out.info->forward;
  EXPECT_EQ(x[0].item<double>(), 0.0);
  EXPECT_EQ(x[1].item<double>(), 3.0);
  const double eps = std::numeric_limits<double>::epsilon();
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(fwd.status[i], Status::kConverged) << i << ": " << fwd.brief_report();
    const double gx = std::abs(g(x)[i].item<double>());
    EXPECT_EQ(fwd.residual[i], gx) << i;  // the residual reported is that of x
    // g' = 1: |g(x)| is x's distance to the root, at most the final bracket
    // width, 4 eps max(|a|, |b|) <= 4 eps (|c| + 1) (or adjacent doubles).
    EXPECT_LE(gx, 4 * eps * (std::abs(c[i].item<double>()) + 1)) << i;
  }
  // The exact zeros cost no Illinois step: found while growing.
  EXPECT_EQ(fwd.iterations[0], 0);
  EXPECT_EQ(fwd.iterations[1], 0);

  // float32 runs the same rules on float scalars.
  const at::Tensor c32 = c.to(at::kFloat);
  auto g32 = [&](const at::Tensor& x) { return x - c32; };
  auto out32 = root(g32, at::full({4}, -1.0f, at::kFloat), {}, o);
  const at::Tensor x32 = out32.x.detach();
  EXPECT_EQ(x32[0].item<float>(), 0.0f);
  EXPECT_EQ(x32[1].item<float>(), 3.0f);
  const double eps32 = std::numeric_limits<float>::epsilon();
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(out32.info->forward.status[i], Status::kConverged) << i;
    const double gx = std::abs(g32(x32)[i].item<double>());
    EXPECT_EQ(out32.info->forward.residual[i], gx) << i;
    EXPECT_LE(gx, 4 * eps32 * (std::abs(c[i].item<double>()) + 1)) << i;  // as above, in float
  }
}

class TorchMonotoneNet : public ::testing::Test {
 protected:
  MonotoneNet net{10, 0};
  ::implicit::MonotoneNet<double> dense = ::implicit::make_reference_monotone_net<double>(10, 0);
};

TEST_F(TorchMonotoneNet, ForwardMatchesTheDenseNetwork) {
  const at::Tensor x = at::linspace(0, 5, 11, at::kDouble);
  const at::Tensor r = net->forward(x).detach();
  for (int64_t i = 0; i < 11; ++i)
    EXPECT_NEAR(r[i].item<double>(), dense.value(x[i].item<double>()), 1e-13);
}

TEST_F(TorchMonotoneNet, InverseRoundTripsAndMatchesTheGenericRoot) {
  const at::Tensor x = at::linspace(0, 8, 17, at::kDouble);
  const at::Tensor y = net->forward(x).detach();
  auto inv = net->inverse(y);
  ASSERT_TRUE(inv.info->forward.ok()) << inv.info->forward.brief_report();
  EXPECT_LT(max_abs_diff(inv.x.detach(), x), 1e-12);
  // The same roots by the tensor Illinois method on R(x) - y.
  auto generic =
      root([&](const at::Tensor& t) { return net->forward(t) - y; }, at::zeros_like(y), {});
  EXPECT_LT(max_abs_diff(generic.x.detach(), inv.x.detach()), 1e-12);
}

// docs/reference-systems.md section 2: gradients of sum(Rinv(y)^3) w.r.t. y
// and theta against central differences, batched.
TEST_F(TorchMonotoneNet, InverseGradientMatchesCentralDifferences) {
  at::Tensor y = at::tensor({0.1, 0.7, 2.0, 5.5, 9.0}, at::kDouble).requires_grad_(true);
  auto out = net->inverse(y);
  out.x.pow(3).sum().backward();
  ASSERT_TRUE(out.info->backward.ok());
  auto loss = [&] { return net->inverse(y.detach()).x.pow(3).sum().item<double>(); };
  for (at::Tensor* p : {&net->w, &net->v, &net->b}) {
    const at::Tensor fd = central_difference(loss, *p);
    EXPECT_LT(max_abs_diff(p->grad(), fd), 1e-7 * (1 + fd.abs().max().item<double>()));
  }
  const at::Tensor fd_y = central_difference(loss, y);
  EXPECT_LT(max_abs_diff(y.grad(), fd_y), 1e-7 * (1 + fd_y.abs().max().item<double>()));
}

TEST_F(TorchMonotoneNet, NegativeTargetIsAnInvalidBracket) {
  RootOptions o;
  o.raise_on_failure = false;
  auto out = net->inverse(at::tensor({1.0, -1.0}, at::kDouble), o);
  EXPECT_EQ(out.info->forward.status[0], Status::kConverged);
  EXPECT_EQ(out.info->forward.status[1], Status::kInvalidBracket);
  EXPECT_THROW((void)net->inverse(at::tensor({-1.0}, at::kDouble)), std::runtime_error);
  EXPECT_THROW((void)net->inverse(at::tensor({std::nan("")}, at::kDouble)), std::invalid_argument);
}

}  // namespace
}  // namespace implicit::torch
