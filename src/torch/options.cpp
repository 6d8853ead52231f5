// The tensor layer's options (include/implicit/torch/options.hpp): names
// and validation.

#include "implicit/torch/options.hpp"

#include <stdexcept>
#include <string>

namespace implicit::torch {

const char* to_string(Solver solver) {
  switch (solver) {
    case Solver::kForwardIteration:
      return "forward_iteration";
    case Solver::kAnderson:
      return "anderson";
    case Solver::kBroyden:
      return "broyden";
    case Solver::kNewton:
      return "newton";
  }
  return "unknown";
}

Solver solver_from_string(const std::string& name) {
  if (name == "forward") return Solver::kForwardIteration;  // the alias it was released as
  for (Solver s : {Solver::kForwardIteration, Solver::kAnderson, Solver::kBroyden, Solver::kNewton})
    if (name == to_string(s)) return s;
  throw std::invalid_argument("unknown solver '" + name +
                              "' (expected forward_iteration, anderson, broyden or newton)");
}

const char* to_string(Gradient gradient) {
  switch (gradient) {
    case Gradient::kImplicit:
      return "implicit";
    case Gradient::kJacobianFree:
      return "jacobian_free";
    case Gradient::kPhantom:
      return "phantom";
  }
  return "unknown";
}

void BackwardOptions::validate() const {
  adjoint.validate();
  if (failed_samples != FailedSamples::kNaN && failed_samples != FailedSamples::kDrop)
    throw std::invalid_argument("BackwardOptions::failed_samples is not a FailedSamples, got " +
                                std::to_string(static_cast<int>(failed_samples)));
  if (phantom_steps < 1)
    throw std::invalid_argument("BackwardOptions::phantom_steps must be >= 1, got " +
                                std::to_string(phantom_steps));
  if (!(phantom_damping > 0 && phantom_damping <= 1))
    throw std::invalid_argument("BackwardOptions::phantom_damping must be in (0, 1], got " +
                                std::to_string(phantom_damping));
}

void Options::validate() const {
  forward.stop.validate();
  if (forward.spectral_radius_iterations < 0)
    throw std::invalid_argument("ForwardOptions::spectral_radius_iterations must be >= 0, got " +
                                std::to_string(forward.spectral_radius_iterations));
  ForwardIteration(forward.forward_iteration).validate();
  Anderson(forward.anderson).validate();
  Broyden(forward.broyden).validate();
  Newton(forward.newton).validate();
  backward.validate();
}

}  // namespace implicit::torch
