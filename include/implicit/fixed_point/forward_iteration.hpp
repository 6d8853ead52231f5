#pragma once
// Forward (Picard) iteration z <- (1 - damping) z + damping f(z).
//
// Converges linearly at the rate ||df/dz|| when f is a contraction; the
// cheapest step there is (no work beyond the f evaluation), so it is the bar
// every other solver's wall time is measured against.

#include <stdexcept>
#include <string>

#include "implicit/backend/eigen.hpp"
#include "implicit/fixed_point/solve.hpp"

namespace implicit {

struct ForwardIterationOptions {
  // Relaxation in (0, 1]: 1 is plain z <- f(z); smaller values damp
  // oscillating maps (eigenvalues of df/dz near -1) at the price of speed.
  double damping = 1.0;

  // Throws std::invalid_argument naming the field and its value.
  void validate(const std::string& owner = "ForwardIterationOptions") const {
    if (!(damping > 0 && damping <= 1))
      throw std::invalid_argument(owner + "::damping must be in (0, 1], got " +
                                  std::to_string(damping));
  }
};

class ForwardIteration {
 public:
  explicit ForwardIteration(ForwardIterationOptions options = {}) : options_(options) {}

  const char* name() const { return "forward_iteration"; }

  void validate() const { options_.validate(); }

  struct State {};

  template <class F, class Vector>
  State init(const F&, const Vector&) const {
    return {};
  }

  template <class F, class Vector>
  StepReport step(const F&, State&, Vector& z, const Vector& fz, const Vector& g) const {
    if (options_.damping == 1.0)
      z = fz;
    else
      VectorOps<Vector>::axpy(options_.damping, g, z);  // z + damping (f(z) - z)
    return {};
  }

 private:
  ForwardIterationOptions options_;
};

}  // namespace implicit
