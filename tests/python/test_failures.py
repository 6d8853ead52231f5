"""Bad input and failed solves from Python: per-sample isolation, the
failure policies (raise / NaN / drop), Python exceptions with their
tracebacks, and TypeError / ValueError naming the argument."""
import traceback

import pytest
import torch

import implicit
from conftest import reference_layer, residuals, tanh_map

QUIET = {"raise_on_failure": False}


def nan_batch():
    W, x = reference_layer(n=6, batch=4, norm=0.8)
    x_bad = x.detach().clone()
    x_bad[2, 1] = float("nan")
    return W, x.detach().clone().requires_grad_(), x_bad.requires_grad_()


@pytest.mark.parametrize("policy", ["nan", "drop"])
def test_one_nan_sample_leaves_the_others_answers_and_gradients_alone(policy):
    W, x, x_bad = nan_batch()
    backward = {"raise_on_failure": False, "failed_samples": policy}
    z_good, info_good = implicit.fixed_point(tanh_map(W, x), torch.zeros_like(x), W, x)
    gW_good, gx_good = torch.autograd.grad(z_good[[0, 1, 3]].sum(), (W, x))

    z, info = implicit.fixed_point(tanh_map(W, x_bad), torch.zeros_like(x), W, x_bad,
                                   forward=QUIET, backward=backward)
    status = info.forward.status
    assert status[2] == implicit.Status.non_finite
    assert [status[i] for i in (0, 1, 3)] == [implicit.Status.converged] * 3
    others = [0, 1, 3]
    assert torch.allclose(z[others], z_good[others], rtol=0, atol=1e-13)
    gW, gx = torch.autograd.grad(z.sum(), (W, x_bad))
    assert info.backward.status[2] != implicit.Status.converged
    assert torch.allclose(gx[others], gx_good[others], rtol=1e-12, atol=1e-14)
    # The failed sample's own row: all NaN ("nan"); under "drop" its
    # cotangent is 0, but its f is NaN and 0 * NaN is NaN where it entered.
    assert torch.isnan(gx[2]).all() if policy == "nan" else torch.isnan(gx[2]).any()
    # The shared weight is fed by the failed sample. "nan" makes it NaN, so
    # no optimiser step can silently use it (docs/failure-policy.md). "drop"
    # cannot remove this sample: its own f is NaN, and 0 * NaN is NaN inside
    # f's backward, so the shared gradient is NaN too (documented), never a
    # finite wrong number.
    assert torch.isnan(gW).any()


def test_dropping_finite_failed_samples_gives_the_gradient_of_the_others():
    # max_iter 14 stops some samples short; solution_tol 1e-12 refuses to
    # differentiate them (not_a_solution), and "drop" leaves them out.
    W, x = reference_layer(n=6, batch=8, norm=0.95)
    z, info = implicit.fixed_point(
        tanh_map(W, x), torch.zeros_like(x), W, x,
        forward={"raise_on_failure": False, "stop": {"max_iter": 14}},
        backward={"raise_on_failure": False, "failed_samples": "drop",
                  "adjoint": {"solution_tol": 1e-12}})
    converged = [i for i, s in enumerate(info.forward.status) if s == implicit.Status.converged]
    assert 0 < len(converged) < 8
    gW, gx = torch.autograd.grad(z.sum(), (W, x))
    failed = [i for i in range(8) if i not in converged]
    assert all(info.backward.status[i] == implicit.Status.not_a_solution for i in failed)

    z_all, _ = implicit.fixed_point(tanh_map(W, x), torch.zeros_like(x), W, x)
    rW, rx = torch.autograd.grad(z_all[converged].sum(), (W, x))
    assert torch.allclose(gW, rW, rtol=1e-7, atol=1e-10)
    assert torch.allclose(gx, rx, rtol=1e-7, atol=1e-10)


def test_a_map_without_fixed_point_raises_by_default_with_the_cpp_report():
    with pytest.raises(RuntimeError, match="stalled|max_iterations|diverged"):
        implicit.fixed_point(lambda z: z + 1, torch.zeros(2, 3, dtype=torch.float64))


def test_without_raising_the_status_and_residual_are_the_returned_values_own():
    f = lambda z: z + 1  # noqa: E731
    z, info = implicit.fixed_point(f, torch.zeros(2, 3, dtype=torch.float64),
                                   forward={"raise_on_failure": False, "stop": {"max_iter": 7}})
    assert not info.forward.ok()
    assert all(s != implicit.Status.converged for s in info.forward.status)
    assert torch.allclose(info.forward.residual, residuals(f, z))


def singular_adjoint():
    # z = tanh(W z), W = diag(1, 0.5), at z* = 0: df/dz = W, I - W singular.
    W = torch.diag(torch.tensor([1.0, 0.5], dtype=torch.float64)).requires_grad_()
    x = torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)
    return W, x


def test_a_singular_adjoint_raises_with_the_cpp_message():
    W, x = singular_adjoint()
    z, info = implicit.fixed_point(tanh_map(W, x), torch.zeros_like(x), W, x)
    assert info.forward.certified()
    with pytest.raises(RuntimeError, match="backward"):
        z.sum().backward()
    assert not info.backward.ok()


@pytest.mark.parametrize("policy", ["nan", "drop"])
def test_a_singular_adjoint_without_raising_gives_nan_or_zero(policy):
    W, x = singular_adjoint()
    z, info = implicit.fixed_point(tanh_map(W, x), torch.zeros_like(x), W, x,
                                   backward={"raise_on_failure": False, "failed_samples": policy})
    gW, gx = torch.autograd.grad(z.sum(), (W, x))
    assert info.backward.status[0] in (implicit.Status.linear_solve_failed,
                                       implicit.Status.max_iterations)
    if policy == "nan":
        assert torch.isnan(gx).all() and torch.isnan(gW).all()
    else:
        assert torch.equal(gx, torch.zeros_like(gx))


class Boom(Exception):
    pass


def test_an_exception_raised_by_f_in_forward_keeps_its_type_and_traceback():
    def f(z):
        raise Boom("from f")

    with pytest.raises(Boom, match="from f") as caught:
        implicit.fixed_point(f, torch.zeros(2, 3, dtype=torch.float64))
    assert "raise Boom" in "".join(traceback.format_tb(caught.value.__traceback__))


def test_an_exception_raised_by_f_in_backward_keeps_its_type_and_traceback():
    W, x = reference_layer(n=3, batch=2, norm=0.5)

    def f(z):
        if torch.is_grad_enabled() and z.requires_grad:
            raise Boom("from the backward pass")
        return torch.tanh(z @ W.T + x)

    z, _ = implicit.fixed_point(f, torch.zeros_like(x), W, x)
    with pytest.raises(Boom, match="backward pass") as caught:
        z.sum().backward()
    assert "raise Boom" in "".join(traceback.format_tb(caught.value.__traceback__))


def good_map(z):
    return torch.tanh(0.5 * z)


z64 = torch.zeros(2, 3, dtype=torch.float64)


@pytest.mark.parametrize("call, error, words", [
    (lambda: implicit.fixed_point(good_map, [[0.0]]), TypeError, "z0 must be a torch.Tensor"),
    (lambda: implicit.fixed_point(good_map, torch.zeros(2, 3, dtype=torch.int64)), TypeError,
     "z0 must be float32 or float64"),
    (lambda: implicit.fixed_point(42, z64), TypeError, "f must be callable"),
    (lambda: implicit.fixed_point(good_map, z64, torch.ones(3)), TypeError, r"params\[0\]"),
    (lambda: implicit.fixed_point(good_map, z64, "W"), TypeError, r"params\[0\]"),
    (lambda: implicit.fixed_point(lambda z: z[:, :2], z64), ValueError, "f must return a tensor like"),
    (lambda: implicit.fixed_point(lambda z: 1.0, z64), TypeError, "f must return a torch.Tensor"),
    (lambda: implicit.fixed_point(good_map, torch.zeros((), dtype=torch.float64)), ValueError, "z0"),
    (lambda: implicit.fixed_point(good_map, z64, solver="andersen"), ValueError, "unknown Solver"),
    (lambda: implicit.fixed_point(good_map, z64, forward={"stop": {"tol": 1}}), TypeError,
     "forward.stop: unknown option 'tol'"),
    (lambda: implicit.fixed_point(good_map, z64, forward={"stop": {"max_iter": "ten"}}), TypeError,
     "forward.stop.max_iter"),
    (lambda: implicit.fixed_point(good_map, z64, forward={"anderson": {"memory": 0}}), ValueError,
     "AndersonOptions::memory"),
    (lambda: implicit.fixed_point(good_map, z64, backward={"adjoint": {"abs_tol": -1.0}}), ValueError,
     "AdjointOptions"),
    (lambda: implicit.fixed_point(good_map, z64, backward="exact"), ValueError, "unknown Gradient"),
    (lambda: implicit.root(good_map, torch.zeros(3, dtype=torch.int32)), TypeError, "lower"),
    (lambda: implicit.MonotoneNet().inverse([1.0]), TypeError, "y must be a torch.Tensor"),
])
def test_bad_arguments_are_errors_naming_the_argument(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_a_tensor_f_uses_but_params_omits_is_an_error_at_backward():
    W, x = reference_layer(n=3, batch=2, norm=0.5)
    z, _ = implicit.fixed_point(tanh_map(W, x), torch.zeros_like(x), x)  # W left out
    with pytest.raises(RuntimeError, match=r"shape \[3, 3\].*not in params"):
        z.sum().backward()


def test_nan_in_a_monotone_target_is_an_error_naming_it():
    with pytest.raises(ValueError, match="NaN"):
        implicit.MonotoneNet().inverse(torch.tensor([1.0, float("nan")], dtype=torch.float64))
