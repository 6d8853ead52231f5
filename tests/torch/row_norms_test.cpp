// The certificate's per-sample norms (src/torch/row_norms.hpp) against
// VectorOps<at::Tensor>::norm of the same combination: plain rows, rows
// whose squares overflow (both must give the finite norm), NaN and Inf
// rows, float, and inputs the row loop does not take (non-contiguous,
// mixed dtypes), which must fall back.

#include "src/torch/row_norms.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "implicit/torch/tensor_ops.hpp"

namespace implicit::torch {
namespace {

using Ops = VectorOps<at::Tensor>;

void expect_same(const Eigen::ArrayXd& got, const Eigen::ArrayXd& want, double rel,
                 const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (Eigen::Index b = 0; b < got.size(); ++b) {
    if (std::isnan(want[b])) {
      EXPECT_TRUE(std::isnan(got[b])) << what << " sample " << b;
    } else if (std::isinf(want[b])) {
      EXPECT_EQ(got[b], want[b]) << what << " sample " << b;
    } else {
      EXPECT_NEAR(got[b], want[b], rel * want[b]) << what << " sample " << b;
    }
  }
}

TEST(TorchRowNorms, MatchTheTensorNormsOnEveryKindOfRow) {
  for (at::ScalarType dtype : {at::kDouble, at::kFloat}) {
    const bool dbl = dtype == at::kDouble;
    ::torch::manual_seed(3);
    const auto options = at::TensorOptions().dtype(dtype);
    at::Tensor a = ::torch::randn({5, 7}, options), c = ::torch::randn({5, 7}, options),
               d = ::torch::randn({5, 7}, options);
    const double huge = dbl ? 1e200 : 1e30;  // squares overflow in both
    a[1].fill_(huge);
    c[1].fill_(-huge);  // a - c = 2e200: overflows again, the scaled norm answers
    a[2][3] = std::nan("");
    c[3][0] = INFINITY;
    const double rel = dbl ? 1e-14 : 1e-6;
    expect_same(internal::sample_norms(a), Ops::norm(a), rel, "||a||");
    expect_same(internal::difference_norms(a, c), Ops::norm(a - c), rel, "||a - c||");
    expect_same(internal::difference_norms(a, c, d), Ops::norm(a - c - d), rel, "||a - c - d||");
    // The overflowing row is finite and right on both: 2 huge sqrt(7)
    // (at::linalg_vector_norm, which Ops::norm once fell back to, says inf).
    const double exact = 2 * huge * std::sqrt(7.0);
    EXPECT_NEAR(internal::difference_norms(a, c)[1], exact, rel * exact);
    EXPECT_NEAR(Ops::norm(a - c)[1], exact, rel * exact);
    EXPECT_EQ(Ops::norm(c)[3], INFINITY);
    EXPECT_TRUE(std::isnan(Ops::norm(a)[2]));
    EXPECT_EQ(Ops::norm(at::zeros_like(a))[1], 0.0);
    // Not for the row loop: a transposed view, and operands of another dtype.
    const at::Tensor t = ::torch::randn({7, 5}, options).t();
    expect_same(internal::sample_norms(t), Ops::norm(t), rel, "transposed");
    const at::Tensor other = c.to(dbl ? at::kFloat : at::kDouble);
    expect_same(internal::difference_norms(d, other), Ops::norm(d - other), 1e-6, "mixed");
  }
}

}  // namespace
}  // namespace implicit::torch
