// The extension module implicit._implicit: the LibTorch layer
// (include/implicit/torch/) with Python callables as maps. Everything the
// layer computes stays in C++; this file only converts.
//
// The GIL: every entry point releases it for the C++ solve, and a Python
// map takes it back for each call of f, so a TorchScript map (called here
// as a torch::jit::Module, no Python involved) runs without the GIL and a
// Python one pays one acquire per evaluation. Python errors raised by f
// travel through the C++ solver as torch's python_error, which keeps the
// exception object and its traceback: the autograd engine restores it
// natively in backward(), and run_without_gil() restores it in forward.

#include <torch/csrc/Exceptions.h>
#include <torch/csrc/autograd/python_variable.h>
#include <torch/csrc/jit/api/compilation_unit.h>
#include <torch/csrc/jit/python/module_python.h>
#include <torch/extension.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "implicit/torch/deq.hpp"
#include "implicit/torch/fixed_point.hpp"
#include "implicit/torch/monotone_net.hpp"
#include "implicit/torch/root.hpp"

namespace py = pybind11;

namespace implicit::python {
namespace {

using torch::Map;

// Throws the Python error that is set as a C++ python_error (holding it).
[[noreturn]] void throw_python_error() {
  python_error error;
  error.persist();
  throw error;
}

// A Python callable as a Map. The autograd engine may destroy the backward
// node that holds it on a thread without the GIL, so the reference is
// dropped under the GIL.
class PythonMap {
 public:
  PythonMap(py::object fn, std::string name)
      : fn_(new py::object(std::move(fn)),
            [](py::object* p) {
              py::gil_scoped_acquire gil;
              delete p;
            }),
        name_(std::move(name)) {}

  at::Tensor operator()(const at::Tensor& z) const {
    py::gil_scoped_acquire gil;
    PyObject* out = PyObject_CallFunctionObjArgs(fn_->ptr(), py::cast(z).ptr(), nullptr);
    if (out == nullptr) throw_python_error();  // f raised: its exception, traceback and all
    py::object result = py::reinterpret_steal<py::object>(out);
    if (!THPVariable_Check(out)) {
      PyErr_Format(PyExc_TypeError, "%s must return a torch.Tensor, got %s", name_.c_str(),
                   Py_TYPE(out)->tp_name);
      throw_python_error();
    }
    return THPVariable_Unpack(out);
  }

 private:
  std::shared_ptr<py::object> fn_;
  std::string name_;
};

at::Tensor tensor_result(const c10::IValue& out, const std::string& name) {
  if (!out.isTensor())
    throw std::invalid_argument(name + " (TorchScript) must return a Tensor, got " +
                                out.tagKind());
  return out.toTensor();
}

// f as a Map: a TorchScript module or function is called in C++ without the
// GIL; any other callable through PythonMap.
Map make_map(const py::object& f, const std::string& name) {
  if (auto module = ::torch::jit::as_module(f)) {
    return [module = *module, name](const at::Tensor& z) mutable {
      return tensor_result(module.forward({z}), name);
    };
  }
  static py::handle script_function = py::module_::import("torch.jit").attr("ScriptFunction");
  if (py::isinstance(f, script_function)) {
    auto function = py::cast<::torch::jit::StrongFunctionPtr>(f);
    return [function, name](const at::Tensor& z) {
      return tensor_result((*function.function_)({z}), name);
    };
  }
  if (!PyCallable_Check(f.ptr()))
    throw py::type_error(name + " must be callable (a function, an nn.Module or a "
                         "torch.jit.script module), got " +
                         std::string(Py_TYPE(f.ptr())->tp_name));
  return PythonMap(f, name);
}

// Runs the C++ layer without the GIL; a Python error raised inside (by f)
// comes back as itself.
template <class Fn>
auto run_without_gil(Fn&& fn) -> decltype(fn()) {
  try {
    py::gil_scoped_release release;
    return fn();
  } catch (python_error& e) {
    e.restore();
    throw py::error_already_set();
  }
}

at::Tensor int_tensor(const std::vector<int>& v) {
  std::vector<int64_t> wide(v.begin(), v.end());
  return at::tensor(wide, at::kLong);
}
at::Tensor double_tensor(const std::vector<double>& v) { return at::tensor(v, at::kDouble); }

void bind_results(py::module_& m) {
  using torch::PassInfo;
  using torch::SolveInfo;
  py::class_<PassInfo>(m, "PassInfo",
                       "One pass (the forward solve or the backward adjoint), per sample.")
      .def_readonly("ran", &PassInfo::ran)
      .def_readonly("method", &PassInfo::method)
      .def_readonly("guarantee", &PassInfo::guarantee)
      .def_readonly("evaluations", &PassInfo::evaluations)
      .def_readonly("message", &PassInfo::message)
      .def_property_readonly("status", [](const PassInfo& p) { return p.status; })
      .def_property_readonly("converged",
                             [](const PassInfo& p) {
                               std::vector<uint8_t> ok;
                               for (Status s : p.status) ok.push_back(s == Status::kConverged);
                               return at::tensor(ok, at::kByte).to(at::kBool);
                             })
      .def_property_readonly("iterations", [](const PassInfo& p) { return int_tensor(p.iterations); })
      .def_property_readonly("residual", [](const PassInfo& p) { return double_tensor(p.residual); })
      .def_property_readonly("spectral_radius",
                             [](const PassInfo& p) -> py::object {
                               if (p.spectral_radius.empty()) return py::none();
                               return py::cast(double_tensor(p.spectral_radius));
                             })
      .def("ok", &PassInfo::ok)
      .def("certified", &PassInfo::certified)
      .def("mean_iterations", &PassInfo::mean_iterations)
      .def("max_residual", &PassInfo::max_residual)
      .def("brief_report", &PassInfo::brief_report)
      .def("__repr__", &PassInfo::brief_report);
  // Held by shared_ptr: the backward pass fills `backward` of the object the
  // caller already has.
  py::class_<SolveInfo, std::shared_ptr<SolveInfo>>(m, "SolveInfo")
      .def_property_readonly("forward", [](SolveInfo& s) -> PassInfo& { return s.forward; },
                             py::return_value_policy::reference_internal)
      .def_property_readonly("backward", [](SolveInfo& s) -> PassInfo& { return s.backward; },
                             py::return_value_policy::reference_internal)
      .def("brief_report", &SolveInfo::brief_report)
      .def("__repr__", &SolveInfo::brief_report);
}

void bind_solvers(py::module_& m) {
  m.def(
      "fixed_point",
      [](const py::object& f, const at::Tensor& z0, const std::vector<at::Tensor>& params,
         const torch::Options& options) {
        Map map = make_map(f, "f");
        auto out = run_without_gil([&] { return torch::fixed_point(map, z0, params, options); });
        return py::make_tuple(out.z, out.info);
      },
      py::arg("f"), py::arg("z0"), py::arg("params"), py::arg("options"));
  m.def(
      "solve",
      [](const py::object& f, const at::Tensor& z0, const torch::ForwardOptions& options) {
        Map map = make_map(f, "f");
        auto out = run_without_gil([&] { return torch::solve(map, z0, options); });
        return py::make_tuple(out.z, out.info);
      },
      py::arg("f"), py::arg("z0"), py::arg("options"));
  m.def(
      "fixed_point_jvp",
      [](const py::object& f, const at::Tensor& z0, const std::vector<at::Tensor>& params,
         const std::vector<std::optional<at::Tensor>>& given, const torch::Options& options) {
        Map map = make_map(f, "f");
        std::vector<at::Tensor> tangents;  // None: an undefined tensor, which counts as zero
        for (const auto& t : given) tangents.push_back(t.value_or(at::Tensor()));
        auto out = run_without_gil(
            [&] { return torch::fixed_point_jvp(map, z0, params, tangents, options); });
        return py::make_tuple(out.z, out.tangent, out.info);
      },
      py::arg("f"), py::arg("z0"), py::arg("params"), py::arg("tangents"), py::arg("options"));
  m.def(
      "spectral_radius",
      [](const py::object& f, const at::Tensor& z, int iterations) {
        Map map = make_map(f, "f");
        return double_tensor(run_without_gil([&] { return torch::spectral_radius(map, z, iterations); }));
      },
      py::arg("f"), py::arg("z"), py::arg("iterations"));
  m.def(
      "jacobian_penalty",
      [](const py::object& f, const at::Tensor& z_star, int probes) {
        Map map = make_map(f, "f");
        return run_without_gil([&] { return torch::jacobian_penalty(map, z_star, probes); });
      },
      py::arg("f"), py::arg("z_star"), py::arg("probes"));
  m.def(
      "root",
      [](const py::object& g, const at::Tensor& lower, const std::vector<at::Tensor>& params,
         const torch::RootOptions& options) {
        Map map = make_map(g, "g");
        auto out = run_without_gil([&] { return torch::root(map, lower, params, options); });
        return py::make_tuple(out.x, out.info);
      },
      py::arg("g"), py::arg("lower"), py::arg("params"), py::arg("options"));

  // The C++ module itself; the Python MonotoneNet (an nn.Module) owns the
  // parameters and lends them to it for each call.
  py::class_<torch::MonotoneNetImpl, std::shared_ptr<torch::MonotoneNetImpl>>(m, "_MonotoneNet")
      .def(py::init<int64_t, uint64_t>(), py::arg("hidden"), py::arg("seed"))
      .def_readwrite("w", &torch::MonotoneNetImpl::w)
      .def_readwrite("v", &torch::MonotoneNetImpl::v)
      .def_readwrite("b", &torch::MonotoneNetImpl::b)
      .def("forward",
           [](torch::MonotoneNetImpl& net, const at::Tensor& x) {
             return run_without_gil([&] { return net.forward(x); });
           })
      .def("inverse", [](torch::MonotoneNetImpl& net, const at::Tensor& y,
                         const torch::RootOptions& options, ScalarRootMethod method) {
        auto out = run_without_gil([&] { return net.inverse(y, options, method); });
        return py::make_tuple(out.x, out.info);
      });
}

}  // namespace
}  // namespace implicit::python

PYBIND11_MODULE(_implicit, m) {
  m.doc() = "implicit's LibTorch layer (use the package `implicit`, not this module)";
  implicit::python::bind_options(m);
  implicit::python::bind_results(m);
  implicit::python::bind_solvers(m);
}
