// The options structs and enums of the LibTorch layer, as Python classes
// whose fields are the C++ fields (same names, same defaults: the defaults
// live in C++ only). Enum values are named by the C++ to_string, so
// solver="anderson" in Python is the name the C++ solvers report.
// No LibTorch here: this translation unit compiles in seconds.

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // AdjointOptions::solvers: a list of solver values

#include <initializer_list>

#include "bindings.hpp"
#include "implicit/status.hpp"
#include "implicit/torch/deq.hpp"
#include "implicit/torch/options.hpp"
#include "implicit/torch/root.hpp"

namespace py = pybind11;

namespace implicit::python {

// Names of the enums that have no to_string in C++ (the others use theirs).
using implicit::to_string;
using implicit::torch::to_string;
static const char* to_string(AndersonRegularization r) {
  return r == AndersonRegularization::kScaled ? "scaled" : "absolute";
}
static const char* to_string(torch::BackwardOptions::FailedSamples f) {
  return f == torch::BackwardOptions::FailedSamples::kNaN ? "nan" : "drop";
}
namespace {

// py::enum_ whose Python names are to_string's, for every value listed.
template <class Enum>
void bind_enum(py::module_& m, const char* name, const char* doc, std::initializer_list<Enum> values) {
  py::enum_<Enum> e(m, name, doc);
  for (Enum v : values) e.value(to_string(v), v);
}

// A struct bound field by field; validate() is the C++ check.
#define FIELD(cls, name) def_readwrite(#name, &cls::name)

}  // namespace

void bind_options(py::module_& m) {
  bind_enum<Status>(m, "Status", "Per-sample outcome of a solve or of its backward pass.",
                    {Status::kConverged, Status::kMaxIterations, Status::kDiverged,
                     Status::kNonFinite, Status::kLinearSolveFailed, Status::kInvalidBracket,
                     Status::kStalled, Status::kNotASolution, Status::kApproximate,
                     Status::kRoundingFloor});
  bind_enum<torch::Solver>(m, "Solver", "How the forward pass finds z*.",
                           {torch::Solver::kForwardIteration, torch::Solver::kAnderson,
                            torch::Solver::kBroyden, torch::Solver::kNewton});
  bind_enum<torch::Gradient>(
      m, "Gradient", "What the backward pass returns: the exact IFT gradient or an approximation.",
      {torch::Gradient::kImplicit, torch::Gradient::kJacobianFree, torch::Gradient::kPhantom});
  bind_enum<AdjointMethod>(m, "AdjointMethod", "The linear solve of the IFT backward.",
                           {AdjointMethod::kAuto, AdjointMethod::kDenseLU, AdjointMethod::kGmres,
                            AdjointMethod::kFixedPointIteration, AdjointMethod::kAnderson});
  bind_enum<ScalarRootMethod>(m, "ScalarRootMethod", "Bracketing method of the monotone inverse.",
                              {ScalarRootMethod::kToms748, ScalarRootMethod::kBisection,
                               ScalarRootMethod::kItp, ScalarRootMethod::kNewton});
  bind_enum<AndersonRegularization>(m, "AndersonRegularization", "Tikhonov term of Anderson.",
                                    {AndersonRegularization::kScaled,
                                     AndersonRegularization::kAbsolute});
  bind_enum<torch::BackwardOptions::FailedSamples>(
      m, "FailedSamples", "What a failed sample's cotangent becomes without raising.",
      {torch::BackwardOptions::FailedSamples::kNaN, torch::BackwardOptions::FailedSamples::kDrop});
  bind_enum<DerivativeMode>(m, "DerivativeMode", "Forward or reverse products.",
                            {DerivativeMode::kAuto, DerivativeMode::kForward,
                             DerivativeMode::kReverse});

  py::class_<FixedPointOptions>(m, "FixedPointOptions",
                                "Per-sample stopping rule ||f(z) - z|| <= abs_tol + rel_tol ||f(z)||.")
      .def(py::init<>())
      .FIELD(FixedPointOptions, max_iter)
      .FIELD(FixedPointOptions, abs_tol)
      .FIELD(FixedPointOptions, rel_tol)
      .FIELD(FixedPointOptions, divergence_ratio)
      .FIELD(FixedPointOptions, progress_window)
      .FIELD(FixedPointOptions, progress_factor)
      .FIELD(FixedPointOptions, record_history)
      .def("validate", &FixedPointOptions::validate);
  py::class_<AndersonOptions>(m, "AndersonOptions")
      .def(py::init<>())
      .FIELD(AndersonOptions, memory)
      .FIELD(AndersonOptions, lam)
      .FIELD(AndersonOptions, beta)
      .FIELD(AndersonOptions, regularization)
      .def("validate", [](const AndersonOptions& o) { o.validate(); });
  py::class_<ForwardIterationOptions>(m, "ForwardIterationOptions")
      .def(py::init<>())
      .FIELD(ForwardIterationOptions, damping)
      .def("validate", [](const ForwardIterationOptions& o) { o.validate(); });
  py::class_<BroydenOptions>(m, "BroydenOptions")
      .def(py::init<>())
      .FIELD(BroydenOptions, memory)
      .FIELD(BroydenOptions, keep_inverse_estimate)
      .def("validate", [](const BroydenOptions& o) { o.validate(); });
  // The linear solvers as values (linear/, adjoint/linear_solver.hpp): of
  // the backward (AdjointOptions.solvers) and of Newton's inner solve.
  py::class_<DenseLU>(m, "DenseLU", "Dense LU of I - K (n products to form it).")
      .def(py::init<>())
      .FIELD(DenseLU, min_rcond);
  py::class_<Gmres>(m, "Gmres", "Restarted GMRES on products.")
      .def(py::init<>())
      .def(py::init([](int restart) { return Gmres{restart}; }), py::arg("restart"))
      .FIELD(Gmres, restart);
  py::class_<BiCGStab>(m, "BiCGStab", "BiCGStab on products: five vectors of memory.")
      .def(py::init<>());
  py::class_<FixedPointIteration>(m, "FixedPointIteration",
                                  "u <- K u + b, stopped by its stall rule.")
      .def(py::init<>())
      .FIELD(FixedPointIteration, progress_window)
      .FIELD(FixedPointIteration, progress_factor);
  py::class_<AndersonIteration>(m, "AndersonIteration", "u <- K u + b with Anderson mixing.")
      .def(py::init<>())
      .FIELD(AndersonIteration, anderson);
  py::class_<NewtonOptions>(m, "NewtonOptions",
                            "On tensors Newton is matrix-free: GMRES on Jacobian-vector products.")
      .def(py::init<>())
      .FIELD(NewtonOptions, linear_solver)
      .FIELD(NewtonOptions, dense_max_size)
      .FIELD(NewtonOptions, gmres_rel_tol)
      .FIELD(NewtonOptions, gmres_restart)
      .FIELD(NewtonOptions, gmres_max_iter)
      .def("validate", [](const NewtonOptions& o) { o.validate(); });
  py::class_<AdjointOptions>(m, "AdjointOptions", "The certified linear solve of the IFT backward.")
      .def(py::init<>())
      .FIELD(AdjointOptions, solvers)
      .FIELD(AdjointOptions, method)
      .FIELD(AdjointOptions, dense_max_size)
      .FIELD(AdjointOptions, dense_first_max_size)
      .FIELD(AdjointOptions, dense_max_size_automatic)
      .FIELD(AdjointOptions, abs_tol)
      .FIELD(AdjointOptions, rel_tol)
      .FIELD(AdjointOptions, max_condition)
      .FIELD(AdjointOptions, max_forward_sensitivity)
      .FIELD(AdjointOptions, max_iter)
      .FIELD(AdjointOptions, gmres_restart)
      .FIELD(AdjointOptions, anderson)
      .FIELD(AdjointOptions, reuse_forward)
      .FIELD(AdjointOptions, reuse_max_iter)
      .FIELD(AdjointOptions, fallback)
      .FIELD(AdjointOptions, derivatives)
      .FIELD(AdjointOptions, solution_tol)
      .FIELD(AdjointOptions, require_hand_written)
      .def("validate", &AdjointOptions::validate);

  using torch::BackwardOptions;
  using torch::ForwardOptions;
  using torch::Options;
  py::class_<ForwardOptions>(m, "ForwardOptions", "How the forward pass finds z*, per sample.")
      .def(py::init<>())
      .FIELD(ForwardOptions, solver)
      .FIELD(ForwardOptions, stop)
      .FIELD(ForwardOptions, forward_iteration)
      .FIELD(ForwardOptions, anderson)
      .FIELD(ForwardOptions, broyden)
      .FIELD(ForwardOptions, newton)
      .FIELD(ForwardOptions, raise_on_failure)
      .FIELD(ForwardOptions, spectral_radius_iterations);
  py::class_<BackwardOptions>(m, "BackwardOptions", "How the backward pass differentiates z*.")
      .def(py::init<>())
      .FIELD(BackwardOptions, gradient)
      .FIELD(BackwardOptions, adjoint)
      .FIELD(BackwardOptions, raise_on_failure)
      .FIELD(BackwardOptions, failed_samples)
      .FIELD(BackwardOptions, phantom_steps)
      .FIELD(BackwardOptions, phantom_damping)
      .FIELD(BackwardOptions, check_params)
      .def("validate", &BackwardOptions::validate);
  py::class_<Options>(m, "Options", "Forward and backward options of a fixed point.")
      .def(py::init<>())
      .FIELD(Options, forward)
      .FIELD(Options, backward)
      .def("validate", &Options::validate);
  py::class_<torch::DEQOptions>(m, "DEQOptions",
                                "The DEQ module's training defaults (see implicit/torch/deq.hpp).")
      .def(py::init<>())
      .def_readwrite("solve", &torch::DEQOptions::solve)
      .def_readwrite("jacobian_penalty", &torch::DEQOptions::jacobian_penalty)
      .def_readwrite("hutchinson_probes", &torch::DEQOptions::hutchinson_probes)
      .def_static("training_defaults", &torch::DEQOptions::training_defaults);
  py::class_<torch::RootOptions>(m, "RootOptions", "Bracket growth and width rule of implicit.root.")
      .def(py::init<>())
      .FIELD(torch::RootOptions, initial_step)
      .FIELD(torch::RootOptions, growth)
      .FIELD(torch::RootOptions, max_growth_steps)
      .FIELD(torch::RootOptions, x_abs_tol)
      .FIELD(torch::RootOptions, x_rel_tol)
      .FIELD(torch::RootOptions, max_iter)
      .FIELD(torch::RootOptions, raise_on_failure)
      .FIELD(torch::RootOptions, backward)
      .def("validate", &torch::RootOptions::validate);
}

}  // namespace implicit::python
