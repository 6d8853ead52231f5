// The DEQ module: solves, reports, and trains.

#include "implicit/torch/deq.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tests/torch/support.hpp"

namespace implicit::torch {
namespace {

TEST(TorchDEQ, ReturnsAFixedPointOfItsCellAndReportsBothPasses) {
  ::torch::manual_seed(0);
  DEQ deq(std::make_shared<TanhCellImpl>(5, 16));
  deq->to(at::kDouble);
  const at::Tensor x = ::torch::randn({8, 5}, at::kDouble);
  auto out = deq->forward(x);
  EXPECT_EQ(out.z.sizes(), (std::vector<int64_t>{8, 16}));
  // The training defaults' promise, row by row: 1e-6 + 1e-4 ||f(z)||.
  const at::Tensor fz = deq->cell()->forward(out.z, x);
  const at::Tensor residual = (fz - out.z).norm(2, 1);
  EXPECT_TRUE((residual <= 1e-6 + 1e-4 * fz.norm(2, 1)).all().item<bool>()) << residual;
  EXPECT_TRUE(out.info->forward.ok());
  EXPECT_FALSE(out.info->backward.ran);
  out.z.sum().backward();
  EXPECT_TRUE(out.info->backward.ran);
  // The default backward is Jacobian-free: ok, approximate, not certified.
  EXPECT_TRUE(out.info->backward.ok()) << out.info->backward.brief_report();
  EXPECT_FALSE(out.info->backward.certified());
  for (const auto& p : deq->parameters()) EXPECT_TRUE(p.grad().defined());
}

// The exact gradient through the module, when asked for, is certified.
TEST(TorchDEQ, TheExactGradientIsCertified) {
  ::torch::manual_seed(0);
  DEQOptions o;
  o.solve.backward.gradient = Gradient::kImplicit;
  DEQ deq(std::make_shared<TanhCellImpl>(5, 16), o);
  deq->to(at::kDouble);
  auto out = deq->forward(::torch::randn({8, 5}, at::kDouble));
  out.z.sum().backward();
  EXPECT_TRUE(out.info->backward.certified()) << out.info->backward.brief_report();
}

TEST(TorchDEQ, JacobianPenaltyEstimatesTheFrobeniusNorm) {
  // For f = tanh(W z + U x + b) the exact ||J||_F^2 = sum_ij (1 - y_i^2)^2 W_ij^2;
  // Hutchinson with 2000 probes has a relative standard error of about
  // sqrt(2 / 2000) ~ 3%; 15% is five of them.
  ::torch::manual_seed(1);
  DEQOptions o;
  o.jacobian_penalty = true;
  o.hutchinson_probes = 2000;
  auto cell = std::make_shared<TanhCellImpl>(3, 6);
  DEQ deq(cell, o);
  deq->to(at::kDouble);
  deq->train();
  const at::Tensor x = ::torch::randn({4, 3}, at::kDouble);
  auto out = deq->forward(x);
  ASSERT_TRUE(out.jacobian_penalty.defined());
  at::NoGradGuard ng;
  const at::Tensor slope = 1 - cell->forward(out.z, x).pow(2);  // (B, n)
  const at::Tensor w2 = cell->recurrent->weight.pow(2);         // (n, n)
  const double exact = (slope.pow(2).matmul(w2)).sum().item<double>() / out.z.numel();
  EXPECT_NEAR(out.jacobian_penalty.item<double>(), exact, 0.15 * exact);
  deq->eval();
  EXPECT_FALSE(deq->forward(x).jacobian_penalty.defined());
}

TEST(TorchDEQ, TrainingLowersTheLoss) {
  // A few Adam steps on a fixed batch of a separable 3-class problem: the
  // loss must fall. A gradient of the wrong sign or size would not do it.
  ::torch::manual_seed(3);
  auto cell = std::make_shared<TanhCellImpl>(4, 12);
  DEQ deq(cell);
  ::torch::nn::Linear head(12, 3);
  const at::Tensor x = ::torch::randn({48, 4});
  const at::Tensor labels = at::argmax(x.narrow(1, 0, 3), 1);
  std::vector<at::Tensor> params = deq->parameters();
  for (auto& p : head->parameters()) params.push_back(p);
  ::torch::optim::Adam adam(params, ::torch::optim::AdamOptions(1e-2));
  auto loss_now = [&] {
    auto out = deq->forward(x);
    return ::torch::nn::functional::cross_entropy(head->forward(out.z), labels);
  };
  const double before = loss_now().item<double>();
  for (int step = 0; step < 30; ++step) {
    adam.zero_grad();
    auto out = deq->forward(x);
    auto loss = ::torch::nn::functional::cross_entropy(head->forward(out.z), labels);
    loss.backward();
    ASSERT_TRUE(out.info->backward.ok()) << out.info->backward.brief_report();
    adam.step();
  }
  const double after = loss_now().item<double>();
  EXPECT_LT(after, 0.5 * before) << "before " << before << " after " << after;
}

}  // namespace
}  // namespace implicit::torch
