#pragma once
// The one certified linear solve: an ordered chain of attempts at A u = b,
// each answer certified by internal/certificate.hpp's rule on the
// recomputed residual (whatever the attempt claims), the first certified
// answer kept, every attempt recorded in the message. On any backend
// (VectorOps) and per sample: for a batch (a tensor of B systems) each
// sample keeps the first attempt that certifies it, and a later attempt
// only has to answer the samples left, so one hard sample never changes
// another's answer.
//
// Serves the dense adjoint (adjoint/adjoint_solve.hpp: every
// fixed_point_vjp / root_vjp / *_jvp) and the tensor backward
// (src/torch/linear_solve.cpp); each builds its chain of attempts from
// solver values (DenseLU, Gmres, BiCGStab, FixedPointIteration,
// AndersonIteration) and runs them with its own fast implementations where
// it has them.
//
// Cost of the certificate: one product with A per attempt (the residual),
// one more per solve for the lower bound ||A b|| / ||b|| on ||A||, and one
// more for an attempt whose residual that bound would refuse although it
// could be rounding (see SampleCertificate::measure).

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "implicit/backend/eigen.hpp"
#include "implicit/internal/certificate.hpp"
#include "implicit/internal/per_sample.hpp"
#include "implicit/linear/linear_system.hpp"
#include "implicit/linear/result.hpp"

namespace implicit {

// What the certificate demands (internal/certificate.hpp): the recomputed
// residual within abs_tol + rel_tol ||b|| (+ rounding of a stable solve),
// and cond(A) implied by the answer at most max_condition.
struct CertificateOptions {
  double abs_tol = 1e-12;
  double rel_tol = 1e-10;
  double max_condition = 1e12;
};

// One step of the chain: its name and how to run it.
template <class Vector>
struct ChainAttempt {
  std::string name;
  std::function<LinearSolveResult<Vector>(const LinearTarget&)> run;
};

template <class Vector>
struct [[nodiscard]] CertifiedSolveResult : LinearSolveResult<Vector> {
  // The attempt whose answer was taken last (for one system: the accepted
  // one), -1 when none was.
  int accepted_attempt = -1;
  // Products with A spent by the certificates themselves (not in iterations).
  int certificate_products = 0;
};

namespace internal {

// The certificate's measurements of one answer x, per sample.
template <class Vector>
class SampleCertificate {
 public:
  using Ops = VectorOps<Vector>;
  using Scalars = typename Ops::Scalars;

  SampleCertificate(const LinearSystem<Vector>& system, const Vector& b,
                    const CertificateOptions& options)
      : system_(system), b_(b), options_(options), b_norm_(Ops::norm(b)),
        eps_(Ops::epsilon(b)) {}

  Eigen::Index batch() const { return sample_count(b_norm_); }
  const Scalars& b_norm() const { return b_norm_; }
  int products() const { return products_; }

  // Measures x: ||A x - b|| and ||x|| per sample (one product; one more on
  // the first call for the bound on ||A||, one more to sharpen that bound).
  void measure(const Vector& x) {
    Vector r = system_.apply_a(x);
    ++products_;
    Ops::lincomb(1.0, r, -1.0, b_, r);
    residual_ = Ops::norm(r);
    x_norm_ = Ops::norm(x);
    if (!probed_) {
      a_norm_probe_ = Ops::norm(system_.apply_a(b_));
      ++products_;
      probed_ = true;
      for (Eigen::Index k = 0; k < batch(); ++k) {
        double& probe = sample(a_norm_probe_, k);
        probe = sample(b_norm_, k) > 0 ? probe / sample(b_norm_, k) : 0.0;
      }
    }
    sharpen_a_norm_along(r);
  }
  double residual(Eigen::Index k) const { return sample(residual_, k); }
  double x_norm(Eigen::Index k) const { return sample(x_norm_, k); }

  CertificateVerdict verdict(Eigen::Index k) const {
    return certify_linear_solution(sample(residual_, k), sample(x_norm_, k), sample(b_norm_, k),
                                   sample(a_norm_probe_, k), options_.abs_tol, options_.rel_tol,
                                   eps_, options_.max_condition);
  }

  // The status a refused sample gets: the attempt's own failure, or, where
  // it claimed success, kNonFinite for a NaN answer and kLinearSolveFailed
  // for an answer the certificate refutes.
  Status refused_status(Eigen::Index k, Status claimed) const {
    if (claimed != Status::kConverged) return claimed;
    return std::isfinite(x_norm(k)) ? Status::kLinearSolveFailed : Status::kNonFinite;
  }

 private:
  // ||A b|| / ||b|| can underestimate ||A|| by orders of magnitude: for a
  // smooth b and a discretised diffusion operator (b = ones, A = alpha L +
  // ..., L b = 0) it sees none of alpha. The rounding allowance
  // 16 eps ||A|| ||u|| then refuses a backward-stable sparse LU answer
  // (measured: the Brusselator at 131,072 unknowns, residual 1.2e-7 against
  // an allowance of 3.6e-8). So before refusing a residual that could still
  // be rounding, bound ||A|| along the residual r itself as well: a direct
  // solve's r is rounding noise, rich in A's large modes, and
  // ||A r|| / ||r|| <= ||A|| keeps the bound a lower bound.
  void sharpen_a_norm_along(const Vector& r) {
    // Per sample: the bound changes only where it decides, so a batch's
    // other samples keep exactly the verdict they would have alone.
    std::vector<bool> worth_it(batch(), false);
    bool any = false;
    for (Eigen::Index k = 0; k < batch(); ++k) {
      const double res = sample(residual_, k);
      worth_it[k] = res > certified_residual_tolerance(sample(x_norm_, k), sample(b_norm_, k),
                                                       sample(a_norm_probe_, k), options_.abs_tol,
                                                       options_.rel_tol, eps_) &&
                    residual_within_rounding_reach(res, sample(b_norm_, k), eps_,
                                                   options_.max_condition);
      any = any || worth_it[k];
    }
    if (!any) return;
    const Scalars ar_norm = Ops::norm(system_.apply_a(r));
    ++products_;
    for (Eigen::Index k = 0; k < batch(); ++k) {
      const double along_r = sample(ar_norm, k) / sample(residual_, k);
      if (worth_it[k] && std::isfinite(along_r))
        sample(a_norm_probe_, k) = std::fmax(sample(a_norm_probe_, k), along_r);
    }
  }

  const LinearSystem<Vector>& system_;
  const Vector& b_;
  CertificateOptions options_;
  Scalars b_norm_;
  double eps_;
  Scalars residual_{}, x_norm_{}, a_norm_probe_{};
  bool probed_ = false;
  int products_ = 0;
};

inline Status overall_status(const std::vector<Status>& per_sample) {
  Status out = Status::kConverged;
  for (Status worst : {Status::kMaxIterations, Status::kStalled, Status::kDiverged,
                       Status::kLinearSolveFailed, Status::kNonFinite})
    for (Status s : per_sample)
      if (s == worst) out = worst;
  for (Status s : per_sample)  // any other failure, when none of the above
    if (out == Status::kConverged && s != Status::kConverged) out = s;
  return out;
}

}  // namespace internal

template <class Vector>
CertifiedSolveResult<Vector> certified_solve(const LinearSystem<Vector>& system, const Vector& b,
                                             const std::vector<ChainAttempt<Vector>>& attempts,
                                             const CertificateOptions& certificate,
                                             const LinearTarget& target) {
  using Ops = VectorOps<Vector>;
  using Mask = typename Ops::Mask;
  internal::SampleCertificate<Vector> check(system, b, certificate);
  const Eigen::Index batch = check.batch();
  const bool batched = !std::is_same_v<typename Ops::Scalars, double>;

  CertifiedSolveResult<Vector> out;
  out.sample_status.assign(batch, Status::kLinearSolveFailed);
  out.sample_residual.assign(batch, std::numeric_limits<double>::quiet_NaN());
  out.sample_iterations.assign(batch, 0);
  std::optional<Vector> x;  // NaN rows for samples no attempt certifies
  Mask accepted = Mask::Constant(batch, false);
  std::string history, last_message;
  bool any_failure = false;

  for (size_t a = 0; a < attempts.size(); ++a) {
    LinearSolveResult<Vector> attempt = attempts[a].run(target);
    if (attempt.method.empty()) attempt.method = attempts[a].name;
    out.iterations += attempt.iterations;
    // One system with a NaN answer is refused without a product (the
    // product of a NaN could throw in user code); a batch measures every
    // row, as a NaN row is one sample's failure only.
    const bool sized = Ops::size(attempt.x) == Ops::size(b);
    const bool has_answer = sized && (batched || Ops::all_finite(attempt.x));
    if (has_answer) check.measure(attempt.x);
    Mask take = Mask::Constant(batch, false);
    int failed = 0;
    double worst = 0;
    std::string first_refusal;
    for (Eigen::Index k = 0; k < batch; ++k) {
      if (accepted[k]) continue;
      const Status claimed = attempt.sample_status.empty() ? attempt.status
                                                           : attempt.sample_status[k];
      out.sample_iterations[k] += attempt.sample_iterations.empty()
                                      ? attempt.iterations
                                      : attempt.sample_iterations[k];
      internal::CertificateVerdict verdict;
      if (has_answer) verdict = check.verdict(k);
      if (verdict.accepted) {
        take[k] = accepted[k] = true;
        out.sample_status[k] = Status::kConverged;
        out.sample_residual[k] = check.residual(k);
        continue;
      }
      ++failed;
      std::string why = attempt.message;
      if (has_answer) {
        out.sample_status[k] = check.refused_status(k, claimed);
        if (claimed == Status::kConverged) why = verdict.why;
      } else if (claimed == Status::kConverged) {
        out.sample_status[k] = sized ? Status::kNonFinite : Status::kLinearSolveFailed;
        why = sized ? "solution has NaN or Inf" : "no solution returned";
      } else {
        out.sample_status[k] = claimed;
      }
      const double r = has_answer ? check.residual(k) : attempt.residual_norm;
      out.sample_residual[k] = r;
      worst = std::isfinite(r) ? std::fmax(worst, r) : r;
      if (first_refusal.empty()) first_refusal = why;
    }
    any_failure = any_failure || failed > 0;
    if (take.any()) {
      out.accepted_attempt = static_cast<int>(a);
      if (!x && take.all())
        x = std::move(attempt.x);
      else
        x = Ops::where(take, attempt.x, x ? *x : Ops::filled_like(b, std::nan("")));
    }
    out.method = attempt.method;
    last_message = attempt.message;
    if (!history.empty()) history += "; then ";
    if (!batched) {
      history += attempt.method + ": " + to_string(out.sample_status[0]);
      const std::string why = failed > 0 ? first_refusal : attempt.message;
      if (!why.empty()) history += " (" + why + ")";
    } else {
      char buf[200];
      std::snprintf(buf, sizeof buf, "%s: %d of %ld samples uncertified (worst residual %.3e)",
                    attempt.method.c_str(), failed, static_cast<long>(batch), worst);
      history += buf;
      if (!attempt.message.empty()) history += " (" + attempt.message + ")";
      if (failed > 0 && !first_refusal.empty() && first_refusal != attempt.message)
        history += " [" + first_refusal + "]";
    }
    if (accepted.all()) break;
  }
  out.x = x ? std::move(*x) : Ops::filled_like(b, std::nan(""));
  out.status = internal::overall_status(out.sample_status);
  out.residual_norm = 0;
  for (double r : out.sample_residual)
    out.residual_norm = std::isfinite(r) ? std::fmax(out.residual_norm, r) : r;
  out.certificate_products = check.products();
  // The attempt log is worth reading only when some attempt failed.
  out.message = any_failure ? history : last_message;
  return out;
}

// The certificate alone, for an answer x found by other means (the tensor
// double backward solves its adjoint as a differentiable fixed point):
// per sample kConverged where x passes, else the failure `claimed` for it
// (or kLinearSolveFailed); residual the recomputed norm; the first refusal
// in the message. Costs two products with A.
template <class Vector>
CertifiedSolveResult<Vector> certify_solution(const LinearSystem<Vector>& system, const Vector& x,
                                              const Vector& b,
                                              const CertificateOptions& certificate,
                                              const std::vector<Status>& claimed) {
  internal::SampleCertificate<Vector> check(system, b, certificate);
  const Eigen::Index batch = check.batch();
  check.measure(x);
  CertifiedSolveResult<Vector> out;
  out.sample_status.assign(batch, Status::kConverged);
  out.sample_residual.resize(batch);
  out.sample_iterations.assign(batch, 0);
  int failed = 0;
  std::string first_refusal;
  for (Eigen::Index k = 0; k < batch; ++k) {
    out.sample_residual[k] = check.residual(k);
    const auto verdict = check.verdict(k);
    if (verdict.accepted) continue;
    ++failed;
    const Status said = k < static_cast<Eigen::Index>(claimed.size()) ? claimed[k]
                                                                      : Status::kConverged;
    out.sample_status[k] = said == Status::kConverged ? Status::kLinearSolveFailed : said;
    if (first_refusal.empty())
      first_refusal = "sample " + std::to_string(k) + " (" + to_string(out.sample_status[k]) +
                      "): " + verdict.why;
  }
  if (failed > 0)
    out.message = std::to_string(failed) + " of " + std::to_string(batch) +
                  " samples uncertified; first " + first_refusal;
  out.status = internal::overall_status(out.sample_status);
  out.certificate_products = check.products();
  return out;
}

}  // namespace implicit
