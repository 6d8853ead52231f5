// The per-sample reports of the tensor layer (PassInfo, SolveInfo in
// include/implicit/torch/fixed_point.hpp).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "implicit/torch/fixed_point.hpp"

namespace implicit::torch {

bool PassInfo::ok() const {
  return std::all_of(status.begin(), status.end(),
                     [](Status s) { return s == Status::kConverged || s == Status::kApproximate; });
}

bool PassInfo::certified() const {
  return std::all_of(status.begin(), status.end(),
                     [](Status s) { return s == Status::kConverged; });
}

double PassInfo::mean_iterations() const {
  if (iterations.empty()) return 0;
  return std::accumulate(iterations.begin(), iterations.end(), 0.0) / iterations.size();
}

double PassInfo::max_residual() const {
  double worst = 0;
  for (double r : residual) {
    if (std::isnan(r)) return r;
    worst = std::max(worst, r);
  }
  return worst;
}

std::string PassInfo::brief_report() const {
  if (!ran) return "not run";
  const auto count = [&](Status s) { return std::count(status.begin(), status.end(), s); };
  const long converged = static_cast<long>(count(Status::kConverged));
  const long approximate = static_cast<long>(count(Status::kApproximate));
  char buf[300];
  if (approximate > 0 && converged == 0) {
    std::snprintf(buf, sizeof buf,
                  "%s: %ld of %zu samples approximate (nothing solved, not certified)",
                  method.c_str(), approximate, status.size());
  } else {
    std::snprintf(buf, sizeof buf,
                  "%s: %ld of %zu samples converged, mean %.1f iterations, worst residual %.3e",
                  method.c_str(), converged, status.size(), mean_iterations(), max_residual());
  }
  std::string out = buf;
  if (!spectral_radius.empty()) {
    const double worst = *std::max_element(spectral_radius.begin(), spectral_radius.end());
    std::snprintf(buf, sizeof buf, ", spectral radius of df/dz up to %.3f", worst);
    out += buf;
  }
  return message.empty() ? out : out + "; " + message;
}

std::string SolveInfo::brief_report() const {
  return "forward " + forward.brief_report() + "\nbackward " + backward.brief_report();
}

}  // namespace implicit::torch
