#pragma once
// Options of the LibTorch layer: how the forward pass finds z* and how the
// backward pass differentiates it, kept apart (optimistix's `adjoint=`), so
// a DEQ can solve forward with Anderson at 1e-4 and backward with GMRES.

#include <stdexcept>
#include <string>

#include "implicit/adjoint/adjoint_options.hpp"
#include "implicit/fixed_point/anderson.hpp"
#include "implicit/fixed_point/broyden.hpp"
#include "implicit/fixed_point/forward_iteration.hpp"
#include "implicit/fixed_point/newton.hpp"
#include "implicit/fixed_point/options.hpp"

namespace implicit::torch {

enum class Solver { kForwardIteration, kAnderson, kBroyden, kNewton };

const char* to_string(Solver solver);
// "forward_iteration" (alias "forward"), "anderson", "broyden", "newton", the
// names the dense solvers report; throws std::invalid_argument.
Solver solver_from_string(const std::string& name);

// How the forward pass finds z*, per sample of the batch.
struct ForwardOptions {
  Solver solver = Solver::kAnderson;
  // Per-sample stopping rule ||f(z) - z|| <= abs_tol + rel_tol ||f(z)||
  // (rel_tol floored at 8 epsilons of the tensor's dtype), max_iter, ...
  FixedPointOptions stop;
  ForwardIterationOptions forward_iteration;
  AndersonOptions anderson;
  BroydenOptions broyden;
  // Newton on tensors is always matrix-free: GMRES on Jacobian-vector
  // products (double-backward through f), whatever linear_solver says.
  NewtonOptions newton;
  // true: a sample that did not converge throws std::runtime_error with the
  // report. false: the caller reads SolveInfo (training with an iteration
  // budget, where max_iterations is expected).
  bool raise_on_failure = true;
  // > 0: after the solve, estimate the spectral radius of df/dz at z* per
  // sample by this many steps of power iteration on (df/dz)^T (one VJP
  // through f each), into SolveInfo::forward.spectral_radius. The stability
  // diagnostic of a DEQ (torchdeq's sradius): watch it approach 1.
  int spectral_radius_iterations = 0;
};

// What the backward pass of a fixed point returns for the cotangent g.
enum class Gradient {
  // Exact IFT: solve u = (df/dz)^T u + g at z*, return (df/dparams)^T u.
  kImplicit,
  // Jacobian-free backprop (Fung et al.): u = g, i.e. (I - df/dz)^{-1} ~ I.
  // One backward pass through f; a descent direction when f is contractive,
  // not the gradient.
  kJacobianFree,
  // k-step phantom gradient: backprop through k damped steps
  // z <- (1 - damping) z + damping f(z) started at z*. Tends to kImplicit
  // as k grows; costs k backward passes through f.
  kPhantom,
};

const char* to_string(Gradient gradient);

struct BackwardOptions {
  Gradient gradient = Gradient::kImplicit;
  // Samples whose forward solve did not converge: kImplicit differentiates
  // them only when their residual ||f(z) - z|| <= adjoint.solution_tol *
  // max(1, ||z||) (the rule of the dense IFT entry points; the message says
  // how many), and refuses the rest with kNotASolution (raise, or NaN); set
  // adjoint.solution_tol = infinity to differentiate them anyway.
  // kJacobianFree and kPhantom return their approximation for every sample
  // and list the unconverged ones in the message.
  // The adjoint linear solve (kImplicit). On tensors kAuto is plain
  // iteration u <- (df/dz)^T u + g while it contracts fast (each 10
  // products cut a sample's residual 5x; it is 2-3.5x cheaper than GMRES
  // there), then GMRES for the samples it left, then (the fallback) a dense
  // solve of the per-sample n x n system when n <= dense_max_size. Every
  // answer is certified by recomputing ||u - (df/dz)^T u - g|| per sample.
  AdjointOptions adjoint = default_adjoint();
  // true: a sample whose adjoint fails after the fallbacks throws
  // std::runtime_error. false: failed_samples says what it gets, and
  // SolveInfo says why it failed.
  bool raise_on_failure = true;
  // With raise_on_failure = false, what a failed (or refused) sample's
  // cotangent becomes: kNaN poisons every gradient it feeds, shared
  // parameters' included, so no optimiser step can silently use it; kDrop
  // makes it 0, so the batch's gradient is that of the loss over the other
  // samples (as if the failed ones were left out of it), while its status
  // still says it failed (a sample whose own f is NaN still makes shared
  // gradients NaN: 0 * NaN is NaN inside f's backward). kDrop is what training with a forward iteration
  // budget needs: one unconverged sample in a batch of 1000 otherwise
  // costs the whole step (bench/deq_training).
  enum class FailedSamples { kNaN, kDrop };
  FailedSamples failed_samples = FailedSamples::kNaN;
  int phantom_steps = 5;         // k of kPhantom
  double phantom_damping = 0.5;  // damping of kPhantom, in (0, 1]
  // Check that params lists every tensor f uses that requires a gradient
  // (a walk over the autograd graph of f(z*), which the backward builds
  // anyway); an unlisted one would silently get no gradient, so it is an
  // std::invalid_argument. Off: for a tensor that deliberately requires a
  // gradient but must not get one here (detaching it is the better fix).
  bool check_params = true;

  static AdjointOptions default_adjoint() {
    AdjointOptions a;
    a.abs_tol = 1e-10;
    a.rel_tol = 1e-8;  // floored at 8 epsilons of the dtype, like the forward pass
    a.dense_max_size = 64;
    return a;
  }
  void validate() const;
};

struct Options {
  ForwardOptions forward;
  BackwardOptions backward;
  void validate() const;
};

}  // namespace implicit::torch
