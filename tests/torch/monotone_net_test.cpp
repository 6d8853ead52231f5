// implicit::torch::MonotoneNet on the networks where a naive evaluation of
// R or its parameter derivatives cancels (tests/models/monotone_cases.hpp).

#include "implicit/torch/monotone_net.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "implicit/models/monotone_net.hpp"
#include "tests/models/monotone_cases.hpp"

namespace implicit::torch {
namespace {

namespace cases = ::implicit::monotone_cases;

at::Tensor tensor_of(const Eigen::VectorXd& v) {
  return at::from_blob(const_cast<double*>(v.data()), {v.size()}, at::kDouble).clone();
}

Eigen::VectorXd vector_of(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kCPU, at::kDouble).contiguous();
  return Eigen::Map<const Eigen::VectorXd>(c.data_ptr<double>(), c.numel());
}

// The module with the case's parameters in place of its own draw.
MonotoneNet module_of(const cases::MonotoneCase& c) {
  MonotoneNet net(c.w.size(), 0);
  at::NoGradGuard no_grad;
  net->w.copy_(tensor_of(c.w));
  net->v.copy_(tensor_of(c.v));
  net->b.copy_(tensor_of(c.b));
  return net;
}

// Regression (the "one formula" issue): dx*/dtheta through the tensor
// layer's IFT backward, against the dense scalar closed form at the same
// root and against long double central differences. Tolerances as in
// tests/models/monotone_net_test.cpp (MonotoneNetHardCases): 1e-12
// relative for one formula evaluated twice in double (the tensor layer
// divides by R' where the dense one multiplies by 1 / R', ~2 ulp apart);
// 1e-6 relative plus 1e-10 |x*| for the differences (their error estimate
// is in monotone_cases.hpp). Before the fix the tensor copy subtracted
// sigmoid(a) - sigmoid(b) and relu(a) - relu(b) and returned dx/dv = 0 on
// the flat and huge-bias networks.
TEST(TorchMonotoneNetHardCases, DxDthetaMatchesTheDenseNetAndLongDouble) {
  for (const auto& c : cases::hard_monotone_cases()) {
    SCOPED_TRACE(c.name);
    MonotoneNet net = module_of(c);
    const auto out = net->inverse(at::tensor({c.y}, at::kDouble));
    ASSERT_TRUE(out.info->forward.ok()) << out.info->forward.brief_report();
    const auto g = ::torch::autograd::grad({out.x.sum()}, {net->w, net->v, net->b}, {},
                                           /*retain_graph=*/false, /*create_graph=*/false,
                                           /*allow_unused=*/true);
    ASSERT_TRUE(out.info->backward.ok()) << out.info->backward.brief_report();
    const Eigen::Index h = c.w.size();
    Eigen::VectorXd row = Eigen::VectorXd::Zero(3 * h);
    for (int p = 0; p < 3; ++p)
      if (g[p].defined()) row.segment(p * h, h) = vector_of(g[p]);

    const ::implicit::MonotoneNet<double> dense(c.w, c.v, c.b);
    const double x = out.x.item<double>();
    const Eigen::VectorXd scalar = cases::eigen_dx_dtheta(dense, x);
    const auto reference = cases::long_double_reference(c);
    Eigen::Index j = 0;
    EXPECT_LE(cases::worst_violation(row, scalar, 1e-12, 0.0, &j), 1)
        << "entry " << j << ": " << row[j] << " vs dense " << scalar[j];
    EXPECT_LE(cases::worst_violation(row, reference.dx_dtheta, 1e-6,
                                     1e-10 * static_cast<double>(reference.x), &j),
              1)
        << "entry " << j << ": " << row[j] << " vs long double "
        << static_cast<double>(reference.dx_dtheta[j]);

    // forward(x) is the same R as the dense net's, to a few ulp of R
    // itself (no cancellation on either side).
    const at::Tensor xs = at::tensor({0.0, 0.5 * x, x, 2 * x}, at::kDouble);
    const Eigen::VectorXd r = vector_of(net->forward(xs));
    for (int k = 0; k < 4; ++k) {
      const double expected = dense.value(xs[k].item<double>());
      EXPECT_NEAR(r[k], expected, 1e-14 * std::abs(expected)) << "forward at x = " << xs[k];
    }
  }
}

}  // namespace
}  // namespace implicit::torch
