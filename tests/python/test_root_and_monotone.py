"""implicit.root and implicit.MonotoneNet from Python: answers against
closed forms, gradients against central differences (gradcheck)."""
import pytest
import torch

import implicit


def cubic(p, c):
    # g(x) = x^3 + p x - c, increasing for p > 0, one real root.
    return lambda x: x ** 3 + p * x - c


def test_root_solves_every_entry_and_its_status_holds_on_the_returned_x():
    p = torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64)
    c = torch.tensor([2.0, 0.0, 10.0, 1e-3], dtype=torch.float64)
    x, info = implicit.root(cubic(p, c), torch.zeros(4, dtype=torch.float64) - 5)
    assert info.forward.certified(), info.brief_report()
    # Width rule: the bracket around x* is at most 4 ulps wide, so g(x*)
    # is within 4 ulps * g'(x*) of zero.
    slope = 3 * x ** 2 + p
    assert torch.all((x ** 3 + p * x - c).abs() <= 8 * torch.finfo(x.dtype).eps * slope * x.abs().clamp(min=1))


def test_root_gradient_passes_gradcheck():
    p = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64, requires_grad=True)
    c = torch.tensor([2.0, -1.0, 10.0], dtype=torch.float64, requires_grad=True)

    def roots(p, c):
        return implicit.root(cubic(p, c), torch.full((3,), -10.0, dtype=torch.float64), p, c).x

    assert torch.autograd.gradcheck(roots, (p, c), eps=1e-6, atol=1e-8, rtol=1e-6)


def test_root_without_a_sign_change_is_an_invalid_bracket_not_an_answer():
    g = lambda x: x * 0 - 1  # noqa: E731  (never crosses zero)
    x, info = implicit.root(g, torch.zeros(2, dtype=torch.float64),
                            options={"raise_on_failure": False, "max_growth_steps": 20})
    assert info.forward.status == [implicit.Status.invalid_bracket] * 2
    with pytest.raises(RuntimeError):
        implicit.root(g, torch.zeros(2, dtype=torch.float64), options={"max_growth_steps": 20})


def test_monotone_inverse_round_trips_and_matches_the_cpp_reference_net():
    net = implicit.MonotoneNet(hidden=10, seed=0).double()
    x = torch.tensor([0.0, 0.3, 1.0, 4.0, 20.0], dtype=torch.float64)
    y = net(x).detach()
    for method in ["newton", "toms748", "bisection", "itp"]:
        xr, info = net.inverse(y, method=method)
        assert info.forward.certified(), (method, info.brief_report())
        assert torch.allclose(xr, x, rtol=1e-12, atol=1e-13), method


def test_monotone_inverse_gradients_pass_gradcheck_in_y_and_every_parameter():
    net = implicit.MonotoneNet(hidden=4, seed=1).double()
    y = torch.tensor([0.5, 2.0, 7.0], dtype=torch.float64, requires_grad=True)
    params = (net.w, net.v, net.b)

    def inverse(y, w, v, b):
        net.w, net.v, net.b = (torch.nn.Parameter(t) if not isinstance(t, torch.nn.Parameter)
                               else t for t in (w, v, b))
        return net.inverse(y).x

    assert torch.autograd.gradcheck(inverse, (y,) + params, eps=1e-6, atol=1e-7, rtol=1e-5)


def test_a_negative_monotone_target_has_no_root_and_says_so():
    net = implicit.MonotoneNet().double()
    x, info = net.inverse(torch.tensor([1.0, -1.0], dtype=torch.float64),
                          options={"raise_on_failure": False})
    assert info.forward.status[0] == implicit.Status.converged
    assert info.forward.status[1] == implicit.Status.invalid_bracket
    assert torch.isnan(x[1]) or not info.forward.ok()
