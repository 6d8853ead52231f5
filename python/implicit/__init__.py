"""Differentiable fixed points and roots for PyTorch.

The Python face of implicit's LibTorch layer (include/implicit/torch/): the
solvers, the certified implicit-function-theorem backward, the per-sample
statuses and the failure policies all run in C++; this package converts
arguments, names options the C++ way and checks types.

    import torch, implicit
    W = torch.randn(10, 10, dtype=torch.float64) * 0.05
    W.requires_grad_()
    x = torch.randn(64, 10, dtype=torch.float64, requires_grad=True)
    z, info = implicit.fixed_point(lambda z: torch.tanh(z @ W.T + x),
                                   torch.zeros_like(x), W, x)
    z.sum().backward()              # W.grad, x.grad by the IFT
    print(info.brief_report())      # forward and backward, per sample

`f` is any callable on tensors (a function, an nn.Module) or a TorchScript
module / function (torch.jit.script), which runs without the GIL. `params`
lists every tensor f uses that needs a gradient: gradients reach them only
through this list (an unlisted one is an error at backward time).
"""

from typing import NamedTuple, Optional

import torch  # first: it loads libtorch_python, which _implicit links

from . import _implicit as _C
from ._implicit import (  # noqa: F401  (re-exported)
    AdjointMethod,
    AdjointOptions,
    AndersonIteration,
    AndersonOptions,
    AndersonRegularization,
    BackwardOptions,
    BiCGStab,
    BroydenOptions,
    DenseLU,
    DEQOptions,
    DerivativeMode,
    FailedSamples,
    FixedPointIteration,
    FixedPointOptions,
    ForwardIterationOptions,
    ForwardOptions,
    Gmres,
    Gradient,
    NewtonOptions,
    Options,
    PassInfo,
    RootOptions,
    ScalarRootMethod,
    SolveInfo,
    Solver,
    Status,
)

__all__ = [
    "fixed_point", "solve", "fixed_point_jvp", "spectral_radius", "jacobian_penalty", "root",
    "DEQ", "TanhCell", "MonotoneNet", "FixedPointOutput", "JvpOutput", "RootOutput",
    "DEQOutput", "Options", "ForwardOptions", "BackwardOptions", "AdjointOptions",
    "FixedPointOptions", "AndersonOptions", "BroydenOptions", "NewtonOptions",
    "ForwardIterationOptions", "RootOptions", "DEQOptions", "Solver", "Gradient",
    "AdjointMethod", "FailedSamples", "ScalarRootMethod", "Status", "PassInfo", "SolveInfo",
    "DenseLU", "Gmres", "BiCGStab", "FixedPointIteration", "AndersonIteration",
]


class FixedPointOutput(NamedTuple):
    z: torch.Tensor  # z*, differentiable w.r.t. params
    info: SolveInfo  # per-sample forward report; .backward is filled by backward()


class JvpOutput(NamedTuple):
    z: torch.Tensor
    tangent: torch.Tensor  # dz* = (I - df/dz)^-1 (df/dparams) dparams
    info: SolveInfo


class RootOutput(NamedTuple):
    x: torch.Tensor  # x*, differentiable w.r.t. params
    info: SolveInfo  # per entry, flattened order


class DEQOutput(NamedTuple):
    z: torch.Tensor
    jacobian_penalty: Optional[torch.Tensor]  # None unless enabled and training
    info: SolveInfo


# ---------------------------------------------------------------- options
# Options are the C++ structs (their defaults live in C++ only). Wherever an
# options object is taken, a dict of field overrides is taken too, nested
# for sub-structs ({"stop": {"abs_tol": 1e-6}}), with enum fields by name.

_ALIASES = {Solver: {"forward": "forward_iteration"}}

# AdjointOptions.solvers: the linear solvers of the backward as values, or
# by the names they report ("bicgstab").
_LINEAR_SOLVERS = {"dense_lu": DenseLU, "gmres": Gmres, "bicgstab": BiCGStab,
                   "fixed_point_iteration": FixedPointIteration, "anderson": AndersonIteration}


def _linear_solvers(values, where):
    if isinstance(values, (str, *_LINEAR_SOLVERS.values())):
        values = [values]
    out = []
    for i, v in enumerate(values):
        if isinstance(v, str):
            if v not in _LINEAR_SOLVERS:
                raise ValueError(f"{where}[{i}]: unknown linear solver {v!r}; one of "
                                 f"{', '.join(_LINEAR_SOLVERS)}")
            v = _LINEAR_SOLVERS[v]()
        elif not isinstance(v, tuple(_LINEAR_SOLVERS.values())):
            raise TypeError(f"{where}[{i}] must be a linear solver ({', '.join(_LINEAR_SOLVERS)}) "
                            f"or its name, got {type(v).__name__}")
        out.append(v)
    return out


def _fields(obj):
    return sorted(n for n in dir(obj) if not n.startswith("_") and not callable(getattr(obj, n)))


def _options_repr(self):
    return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in _fields(self))})"


for _cls in (Options, ForwardOptions, BackwardOptions, AdjointOptions, FixedPointOptions,
             AndersonOptions, BroydenOptions, NewtonOptions, ForwardIterationOptions,
             RootOptions, DEQOptions, DenseLU, Gmres, BiCGStab, FixedPointIteration,
             AndersonIteration):
    _cls.__repr__ = _options_repr


def _enum(cls, value, where):
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        name = _ALIASES.get(cls, {}).get(value, value)
        if name in cls.__members__:
            return cls.__members__[name]
        raise ValueError(f"{where}: unknown {cls.__name__} {value!r}; one of "
                         f"{', '.join(cls.__members__)}")
    raise TypeError(f"{where} must be an implicit.{cls.__name__} or its name, "
                    f"got {type(value).__name__}")


def _apply(obj, overrides, where):
    """Sets obj's fields from a dict (recursively), naming unknown keys."""
    if not isinstance(overrides, dict):
        raise TypeError(f"{where} must be an implicit.{type(obj).__name__} or a dict, "
                        f"got {type(overrides).__name__}")
    for key, value in overrides.items():
        if not isinstance(key, str) or key.startswith("_") or not hasattr(obj, key) \
                or callable(getattr(obj, key)):
            raise TypeError(f"{where}: unknown option {key!r}; the options are "
                            f"{', '.join(_fields(obj))}")
        current = getattr(obj, key)
        if isinstance(value, dict) and not isinstance(current, dict):
            _apply(current, value, f"{where}.{key}")  # sub-structs are references
            continue
        if hasattr(type(current), "__members__"):
            value = _enum(type(current), value, f"{where}.{key}")
        if isinstance(obj, AdjointOptions) and key == "solvers":
            value = _linear_solvers(value, f"{where}.{key}")
        if isinstance(obj, NewtonOptions) and key == "linear_solver" and value is not None:
            value = _linear_solvers(value, f"{where}.{key}")
            if len(value) != 1 or isinstance(value[0], (FixedPointIteration, AndersonIteration)):
                raise ValueError(f"{where}.{key}: one of dense_lu, gmres, bicgstab")
            value = value[0]
        if key == "linear_solver" and isinstance(obj, NewtonOptions):
            setattr(obj, key, value)  # None (by size) or a solver value
            continue
        try:
            setattr(obj, key, value)
        except TypeError:
            raise TypeError(f"{where}.{key} must be a {type(current).__name__}, "
                            f"got {type(value).__name__}") from None
    return obj


def _struct(cls, value, where):
    """A fresh cls from None, a cls (copied field by field) or a dict."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    return _apply(cls(), value, where)


def _options(solver=None, forward=None, backward=None, options=None, base=None) -> Options:
    """The C++ Options from the keyword arguments of fixed_point: `options`
    (or `base`, or the C++ defaults), then forward= / backward= on top (an
    options object replaces that half, a dict overrides its fields, a name
    for backward sets the gradient), then solver=."""
    result = Options()
    start = options if options is not None else base
    if isinstance(start, Options):
        result.forward, result.backward = start.forward, start.backward  # copies
    elif start is not None:
        _apply(result, start, "options")
    if isinstance(forward, ForwardOptions):
        result.forward = forward
    elif forward is not None:
        _apply(result.forward, forward, "forward")
    if isinstance(backward, (str, Gradient)):
        result.backward.gradient = _enum(Gradient, backward, "backward")
    elif isinstance(backward, BackwardOptions):
        result.backward = backward
    elif backward is not None:
        _apply(result.backward, backward, "backward")
    if solver is not None:
        result.forward.solver = _enum(Solver, solver, "solver")
    return result


# ---------------------------------------------------------------- checks


def _check_tensor(name, t, dtype=None):
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if dtype is None and t.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name} must be float32 or float64, got {t.dtype}")
    if dtype is not None and t.dtype != dtype:
        raise TypeError(f"{name} has dtype {t.dtype}, expected {dtype} (that of z0 / lower)")


def _check_like(name, t, like):
    """t: a tensor of like's dtype and device."""
    _check_tensor(name, t, like.dtype)
    if t.device != like.device:
        raise ValueError(f"{name} is on {t.device}, the solve on {like.device}")


def _check_params(params, like):
    for i, p in enumerate(params):
        _check_like(f"params[{i}]", p, like)


def _check_callable(name, f):
    if not callable(f):
        raise TypeError(f"{name} must be callable (a function, an nn.Module or a "
                        f"torch.jit.script module), got {type(f).__name__}")


# ---------------------------------------------------------------- solvers


def fixed_point(f, z0, *params, solver=None, forward=None, backward=None, options=None):
    """z* = f(z*) for a batch z0 of shape (B, ...), differentiable w.r.t. params.

    solver: "anderson" (default), "forward_iteration", "broyden", "newton"
        or an implicit.Solver.
    forward: ForwardOptions or a dict of its fields, e.g.
        {"stop": {"abs_tol": 1e-6, "max_iter": 50}, "raise_on_failure": False}.
    backward: BackwardOptions, a dict, or the gradient's name: "implicit"
        (default: the certified IFT), "jacobian_free", "phantom".
    options: an implicit.Options (or dict) holding both, instead of
        forward= / backward=.

    Returns FixedPointOutput(z, info). A sample that does not converge
    raises RuntimeError with the report unless forward.raise_on_failure is
    False; the backward pass raises (or returns NaN / drops the sample, as
    backward.failed_samples says) for a sample whose adjoint fails.
    """
    _check_callable("f", f)
    _check_tensor("z0", z0)
    _check_params(params, z0)
    z, info = _C.fixed_point(f, z0, list(params), _options(solver, forward, backward, options))
    return FixedPointOutput(z, info)


def solve(f, z0, solver=None, forward=None):
    """The forward solve alone, no autograd: FixedPointOutput(z, info)."""
    _check_callable("f", f)
    _check_tensor("z0", z0)
    z, info = _C.solve(f, z0, _options(solver, forward).forward)
    return FixedPointOutput(z, info)


def fixed_point_jvp(f, z0, params, tangents, solver=None, forward=None, backward=None,
                    options=None):
    """Forward mode: dz* for tangents matching params (None counts as zero).

    Solved with backward.adjoint (certified); JvpOutput(z, tangent, info).
    """
    _check_callable("f", f)
    _check_tensor("z0", z0)
    params, tangents = list(params), list(tangents)
    _check_params(params, z0)
    if len(tangents) != len(params):
        raise ValueError(f"tangents has {len(tangents)} entries, params {len(params)}")
    for i, t in enumerate(tangents):
        if t is not None:
            _check_like(f"tangents[{i}]", t, z0)
    z, tangent, info = _C.fixed_point_jvp(f, z0, params, tangents,
                                          _options(solver, forward, backward, options))
    return JvpOutput(z, tangent, info)


def spectral_radius(f, z, iterations=20):
    """Per sample, the spectral radius of df/dz at z (power iteration, one
    VJP per step): the stability diagnostic of a DEQ. Above 1, z is a
    repelling fixed point. A float64 tensor of shape (B,)."""
    _check_callable("f", f)
    _check_tensor("z", z)
    return _C.spectral_radius(f, z, int(iterations))


def jacobian_penalty(f, z_star, probes=1):
    """Hutchinson estimate of ||df/dz||_F^2 / numel at z_star (Bai et al.),
    differentiable w.r.t. f's parameters: add weight * it to the loss."""
    _check_callable("f", f)
    _check_tensor("z_star", z_star)
    return _C.jacobian_penalty(f, z_star, int(probes))


def root(g, lower, *params, options=None):
    """Elementwise roots of an increasing, elementwise g: x* >= lower with
    g(x*) = 0 in every entry, each with its own bracket and status.

    options: RootOptions or a dict of its fields. Differentiable w.r.t.
    params by the scalar IFT (an entry with g'(x*) = 0 fails, never a
    silent gradient). Returns RootOutput(x, info).
    """
    _check_callable("g", g)
    _check_tensor("lower", lower)
    _check_params(params, lower)
    x, info = _C.root(g, lower, list(params), _struct(RootOptions, options, "options"))
    return RootOutput(x, info)


# ---------------------------------------------------------------- modules


class TanhCell(torch.nn.Module):
    """f(z, x) = tanh(W z + U x + b), W started at spectral norm
    initial_contraction (the C++ TanhCell, so the first solves converge)."""

    def __init__(self, input_size, hidden_size, initial_contraction=0.5):
        super().__init__()
        if not 0 < initial_contraction < 1:
            raise ValueError(f"initial_contraction must be in (0, 1), got {initial_contraction}")
        self.hidden_size = hidden_size
        self.recurrent = torch.nn.Linear(hidden_size, hidden_size, bias=False)
        self.input = torch.nn.Linear(input_size, hidden_size)
        with torch.no_grad():
            w = self.recurrent.weight
            w.mul_(initial_contraction / torch.linalg.matrix_norm(w, 2))

    def forward(self, z, x):
        return torch.tanh(self.recurrent(z) + self.input(x))


class _BoundCell(torch.nn.Module):
    """z -> cell(z, x) for a TorchScript cell (DEQ.forward)."""

    def __init__(self, cell, x):
        super().__init__()
        self.cell = cell
        self.x = x

    def forward(self, z):
        return self.cell(z, self.x)


class DEQ(torch.nn.Module):
    """A deep-equilibrium layer: z* = cell(z*, x), z0 = 0 of shape
    (B, hidden_size), with the C++ DEQ module's training defaults
    (DEQOptions.training_defaults(): Anderson to 1e-6 + 1e-4 ||f(z)||, at
    most 50 iterations, the Jacobian-free gradient, failed samples dropped,
    nothing raised; read the statuses in out.info). For exact, certified
    gradients pass backward="implicit".

    forward(x) returns DEQOutput(z, jacobian_penalty, info); with
    jacobian_penalty=True and in training mode, add
    weight * out.jacobian_penalty to the loss.
    """

    def __init__(self, cell, hidden_size=None, solver=None, forward=None, backward=None,
                 options=None, jacobian_penalty=None, hutchinson_probes=None):
        super().__init__()
        _check_callable("cell", cell)
        self.cell = cell
        self.hidden_size = int(hidden_size if hidden_size is not None
                               else getattr(cell, "hidden_size"))
        defaults = DEQOptions()
        self.options = _options(solver, forward, backward, options, base=defaults.solve)
        self.options.validate()
        object.__setattr__(self, "_bound", None)  # not a submodule: it shares the cell
        self.jacobian_penalty = (defaults.jacobian_penalty if jacobian_penalty is None
                                 else bool(jacobian_penalty))
        self.hutchinson_probes = (defaults.hutchinson_probes if hutchinson_probes is None
                                  else int(hutchinson_probes))

    def forward(self, x):
        _check_tensor("x", x)
        if x.dim() < 1:
            raise ValueError("x must have shape (B, ...)")
        cell = self.cell
        if isinstance(cell, torch.jit.ScriptModule):
            # A scripted cell stays scripted: z -> cell(z, x) as one more
            # TorchScript module (compiled once, x re-bound per call), which
            # the C++ solver calls without the GIL.
            if self._bound is None:  # kept out of _modules: it shares the cell
                object.__setattr__(self, "_bound", torch.jit.script(_BoundCell(cell, x)))
            self._bound.x = x
            f = self._bound
        else:
            def f(z):
                return cell(z, x)

        params = [p for p in cell.parameters() if p.requires_grad]
        if x.requires_grad:
            params.append(x)
        z0 = x.new_zeros((x.shape[0], self.hidden_size))
        z, info = _C.fixed_point(f, z0, params, self.options)
        penalty = None
        if self.training and self.jacobian_penalty:
            penalty = _C.jacobian_penalty(f, z, self.hutchinson_probes)
        return DEQOutput(z, penalty, info)


class MonotoneNet(torch.nn.Module):
    """The monotone network of docs/reference-systems.md section 2,

        R(x) = exp(v)^T reloid(exp(w) x + b) - exp(v)^T reloid(b),

    with parameters w, v, b (hidden,) drawn as the C++ MonotoneNet(hidden,
    seed) draws them; forward(x) = R(x) elementwise, and inverse(y) the
    differentiable batched inverse (roots in double by the core library,
    gradients by the scalar IFT)."""

    def __init__(self, hidden=10, seed=0):
        super().__init__()
        self._net = _C._MonotoneNet(int(hidden), int(seed))
        self.w = torch.nn.Parameter(self._net.w.detach().clone())
        self.v = torch.nn.Parameter(self._net.v.detach().clone())
        self.b = torch.nn.Parameter(self._net.b.detach().clone())

    def _lend(self):
        self._net.w, self._net.v, self._net.b = self.w, self.v, self.b
        return self._net

    def forward(self, x):
        _check_tensor("x", x)
        return self._lend().forward(x)

    def inverse(self, y, method="newton", options=None):
        """Rinv(y) for y >= 0 elementwise: RootOutput(x, info). method:
        "newton" (default), "toms748", "bisection", "itp"."""
        _check_tensor("y", y)
        x, info = self._lend().inverse(y, _struct(RootOptions, options, "options"),
                                       _enum(ScalarRootMethod, method, "method"))
        return RootOutput(x, info)
