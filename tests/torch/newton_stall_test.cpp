// The stall rule on the tensor path: the fixed-point Newton on a batch whose
// maps have no fixed point stops as `stalled` after about progress_window
// steps (FixedPointOptions, internal/progress.hpp), while a sample beside it
// that has a fixed point converges untouched.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "implicit/torch/fixed_point.hpp"
#include "tests/torch/support.hpp"

namespace implicit::torch {
namespace {

using testing::f64;

// Regression (issue 19): f(z) = z + c + sin(z W^T) with ||W||_2 = 10. Row 0
// has c = 1.5, so f(z) - z = 1.5 + sin(.) >= 0.5 in every entry: no fixed
// point, and Newton wandered for all 10,000 iterations (18 s) before
// `max_iterations`. Row 1 has c = 0 and starts at its fixed point z = 0.
TEST(TorchNewton, ABatchWithoutAFixedPointStallsAndLeavesTheOtherSampleAlone) {
  const int64_t n = 30;
  ::torch::manual_seed(3);
  at::Tensor w = std::get<0>(at::linalg_qr(::torch::randn({n, n}, f64()))) * 10.0;
  at::Tensor c = at::zeros({2, n}, f64());
  c[0].fill_(1.5);
  const Map f = [w, c](const at::Tensor& z) { return z + c + at::sin(z.matmul(w.t())); };
  ForwardOptions options;
  options.solver = Solver::kNewton;
  options.stop.max_iter = 10000;
  options.raise_on_failure = false;
  const auto out = solve(f, at::zeros({2, n}, f64()), options);
  const PassInfo& info = out.info->forward;
  ASSERT_EQ(info.status.size(), 2u);
  EXPECT_EQ(info.status[0], Status::kStalled) << info.brief_report();
  EXPECT_LT(info.iterations[0], 2000) << info.brief_report();
  EXPECT_NE(info.message.find("progress_window"), std::string::npos) << info.message;
  // Nothing claims a residual below the bound 0.5 sqrt(n), and the reported
  // one is that of the returned row.
  const at::Tensor residual = (f(out.z) - out.z).norm(2, {1});
  EXPECT_GE(residual[0].item<double>(), 0.5 * std::sqrt(static_cast<double>(n)));
  EXPECT_NEAR(residual[0].item<double>(), info.residual[0], 1e-12 * info.residual[0]);
  EXPECT_EQ(info.status[1], Status::kConverged) << info.brief_report();
  EXPECT_EQ(residual[1].item<double>(), 0.0);
}

}  // namespace
}  // namespace implicit::torch
