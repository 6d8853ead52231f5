"""implicit.fixed_point from Python: answers, statuses, gradients.

Gradients are checked three ways: torch.autograd.gradcheck (central
differences, float64), autograd through the unrolled iterations, and the
forward-mode JVP against central differences.
"""
import pytest
import torch

import implicit
from conftest import fixed_point_tolerance, reference_layer, residuals, tanh_map

SOLVERS = ["forward_iteration", "anderson", "broyden", "newton"]


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_converges_and_its_status_holds_on_the_returned_z(solver):
    W, x = reference_layer(norm=0.9)
    f = tanh_map(W, x)
    z, info = implicit.fixed_point(f, torch.zeros_like(x), W, x, solver=solver)
    assert info.forward.method == solver
    assert all(s == implicit.Status.converged for s in info.forward.status)
    # The promise of `converged`: the rule holds when the user checks it.
    assert torch.all(residuals(f, z) <= fixed_point_tolerance(f, z))
    # The reported residual is the recomputed one.
    assert torch.allclose(info.forward.residual, residuals(f, z), rtol=1e-6, atol=1e-15)
    assert info.forward.iterations.shape == (x.shape[0],)
    assert info.forward.converged.all()


def test_the_seed_layer_n10_all_solvers_agree_and_ift_matches_unrolled():
    # docs/reference-systems.md section 1 as written: W ~ N(0, 1/n), n = 10,
    # not rescaled. Seed 0 draws a W whose map is contractive at z*.
    W, x = reference_layer(n=10, batch=4, seed=0)
    f = tanh_map(W, x)
    stop = {"stop": {"abs_tol": 1e-12, "rel_tol": 0}}
    answers = {}
    for solver in ["anderson", "broyden", "newton"]:
        z, info = implicit.fixed_point(f, torch.zeros_like(x), W, x, solver=solver, forward=stop)
        assert info.forward.certified(), info.brief_report()
        answers[solver] = z.detach()
    # Two points with residuals r1, r2 <= 1e-12 differ by at most
    # (r1 + r2) / (1 - rho) near z* (rho: spectral radius of df/dz there,
    # below 1 for this draw); 2x for the linearisation.
    rho = implicit.spectral_radius(f, answers["anderson"], iterations=100).max().item()
    assert rho < 1
    bound = 2 * 2e-12 / (1 - rho)
    for z in answers.values():
        assert (z - answers["anderson"]).norm(dim=1).max().item() <= bound

    # IFT against unrolled: the unrolled iterations converge to the exact
    # z* (rho^1000 < 1e-14 here), so the gradients differ by the forward
    # solve's error, ~1e-12 / (1 - rho) relative at this tolerance.
    # The adjoint to 1e-13 relative too: its error enters divided by 1 - rho.
    z, info = implicit.fixed_point(f, torch.zeros_like(x), W, x, forward=stop,
                                   backward={"adjoint": {"abs_tol": 1e-15, "rel_tol": 1e-13}})
    gW, gx = torch.autograd.grad((z ** 2).sum(), (W, x))
    assert info.backward.certified(), info.brief_report()
    assert rho ** 1000 < 1e-14
    zu = answers["anderson"].clone()
    for _ in range(1000):
        zu = f(zu)
    uW, ux = torch.autograd.grad((zu ** 2).sum(), (W, x))
    assert torch.allclose(gW, uW, rtol=1e-7, atol=1e-9)
    assert torch.allclose(gx, ux, rtol=1e-7, atol=1e-9)


def test_gradcheck_float64():
    W, x = reference_layer(n=5, batch=3, norm=0.8)

    def layer(W, x):
        return implicit.fixed_point(tanh_map(W, x), torch.zeros_like(x), W, x).z

    # Central differences with eps 1e-6: the forward solve's 1e-10 error
    # enters the quotient as 1e-10 / 1e-6 = 1e-4 at most, under atol 1e-5
    # only because the solver lands far below its tolerance; rtol 1e-4.
    assert torch.autograd.gradcheck(layer, (W, x), eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("method", ["auto", "gmres", "dense_lu", "fixed_point_iteration", "anderson"])
def test_every_adjoint_method_gives_the_same_gradient(method):
    # Each method stops at ||u - J^T u - g|| <= 1e-15 + 1e-13 ||g||, so any
    # two differ by about 1e-13 / (1 - rho) relative, far below rtol 1e-7
    # (at the default 1e-8 they could differ by 1e-8 / (1 - rho)).
    W, x = reference_layer(n=8, batch=4, norm=0.7)
    f = tanh_map(W, x)
    tight = {"abs_tol": 1e-15, "rel_tol": 1e-13}
    reference = torch.autograd.grad(
        implicit.fixed_point(f, torch.zeros_like(x), W, x, backward={"adjoint": tight}).z.sum(),
        (W, x))
    z, info = implicit.fixed_point(f, torch.zeros_like(x), W, x,
                                   backward={"adjoint": {"method": method, **tight}})
    grads = torch.autograd.grad(z.sum(), (W, x))
    assert info.backward.certified()
    for a, b in zip(grads, reference):
        assert torch.allclose(a, b, rtol=1e-7, atol=1e-10)


def test_float32_solves_to_float32_tolerance():
    W, x = reference_layer(n=16, batch=4, norm=0.9, dtype=torch.float32)
    f = tanh_map(W, x)
    z, info = implicit.fixed_point(f, torch.zeros_like(x), W, x)
    assert z.dtype == torch.float32
    assert info.forward.certified()
    assert torch.all(residuals(f, z).double() <= fixed_point_tolerance(f, z).double())
    z.sum().backward()
    assert W.grad.dtype == torch.float32 and torch.isfinite(W.grad).all()


def test_jvp_matches_central_differences():
    W, x = reference_layer(n=6, batch=3, norm=0.8)
    dW, dx = torch.randn_like(W), torch.randn_like(x)
    z, tangent, info = implicit.fixed_point_jvp(
        lambda z: torch.tanh(z @ W.T + x), torch.zeros_like(x), [W, x], [dW, dx])
    assert info.backward.certified() or info.forward.certified()

    def solve(h):
        Wh, xh = (W + h * dW).detach(), (x + h * dx).detach()
        return implicit.solve(tanh_map(Wh, xh), torch.zeros_like(x),
                              forward={"stop": {"abs_tol": 1e-14, "rel_tol": 0}}).z

    # Central differences: truncation h^2 ~ 1e-10, solve error
    # 1e-14 / (1 - 0.8) / h ~ 5e-9 relative.
    h = 1e-5
    fd = (solve(h) - solve(-h)) / (2 * h)
    assert torch.allclose(tangent, fd, rtol=1e-6, atol=1e-8)


def test_spectral_radius_matches_the_jacobians_eigenvalues():
    W, x = reference_layer(n=6, batch=2, norm=0.9)
    W, x = W.detach(), x.detach()
    f = tanh_map(W, x)
    z = implicit.solve(f, torch.zeros_like(x)).z
    rho = implicit.spectral_radius(f, z, iterations=200)
    for b in range(2):
        J = torch.autograd.functional.jacobian(lambda zb: torch.tanh(W @ zb + x[b]), z[b])
        exact = torch.linalg.eigvals(J).abs().max().item()
        assert rho[b].item() == pytest.approx(exact, rel=2e-2)


def test_options_by_object_by_dict_and_by_name_agree():
    W, x = reference_layer(norm=0.9)
    f = tanh_map(W, x)
    fo = implicit.ForwardOptions()
    fo.solver = implicit.Solver.broyden
    fo.stop.abs_tol = 1e-12
    a = implicit.fixed_point(f, torch.zeros_like(x), W, x, forward=fo)
    b = implicit.fixed_point(f, torch.zeros_like(x), W, x, solver="broyden",
                             forward={"stop": {"abs_tol": 1e-12}})
    assert a.info.forward.method == b.info.forward.method == "broyden"
    assert torch.equal(a.z, b.z)
    c = implicit.fixed_point(f, torch.zeros_like(x), W, x, backward="jacobian_free")
    c.z.sum().backward()
    assert c.info.backward.status == [implicit.Status.approximate] * x.shape[0]


def test_double_backward_of_the_implicit_gradient_matches_unrolled():
    W, x = reference_layer(n=5, batch=2, norm=0.6)
    f = tanh_map(W, x)
    z = implicit.fixed_point(f, torch.zeros_like(x), W, x).z
    (gx,) = torch.autograd.grad(z.sum(), x, create_graph=True)
    (hx,) = torch.autograd.grad((gx ** 2).sum(), x)

    zu = z.detach()
    for _ in range(200):
        zu = f(zu)
    (ux,) = torch.autograd.grad(zu.sum(), x, create_graph=True)
    (hu,) = torch.autograd.grad((ux ** 2).sum(), x)
    assert torch.allclose(hx, hu, rtol=1e-6, atol=1e-9)


def test_double_backward_of_a_nonlinear_loss_matches_unrolled():
    # The cotangent 2 z* depends on z* itself: its path back through z* was
    # counted twice (second derivative 157% off, first derivative right).
    W, x = reference_layer(n=6, batch=3, norm=0.6)
    f = tanh_map(W, x)
    z = implicit.fixed_point(f, torch.zeros_like(x), W, x,
                             forward={"stop": {"abs_tol": 1e-13, "rel_tol": 0}}).z
    (gx,) = torch.autograd.grad((z ** 2).sum(), x, create_graph=True)
    hx, hW = torch.autograd.grad(gx.sum(), (x, W))
    zu = torch.zeros_like(x)
    for _ in range(200):  # 0.6^200 ~ 1e-44
        zu = f(zu)
    (ux,) = torch.autograd.grad((zu ** 2).sum(), x, create_graph=True)
    ux_x, ux_W = torch.autograd.grad(ux.sum(), (x, W))
    for a, b in ((hx, ux_x), (hW, ux_W)):
        assert ((a - b).norm() / b.norm()).item() <= 1e-7


def test_a_param_computed_from_another_listed_param_is_not_counted_twice():
    W, x0 = reference_layer(n=5, batch=2, norm=0.6)

    def loss(list_x):
        x = x0.detach() + 0.3 * W.sum(1)  # depends on W
        f = tanh_map(W, x)
        params = (W, x) if list_x else (W,)
        return (implicit.fixed_point(f, torch.zeros_like(x), *params).z ** 2).sum()

    (listed,) = torch.autograd.grad(loss(True), W)
    (alone,) = torch.autograd.grad(loss(False), W)
    x = x0.detach() + 0.3 * W.sum(1)
    zu = torch.zeros_like(x)
    for _ in range(200):
        zu = tanh_map(W, x)(zu)
    (unrolled,) = torch.autograd.grad((zu ** 2).sum(), W)
    assert ((listed - unrolled).norm() / unrolled.norm()).item() <= 1e-7
    assert ((alone - unrolled).norm() / unrolled.norm()).item() <= 1e-7


def test_jvp_takes_none_for_a_zero_tangent():
    W, x = reference_layer(n=4, batch=2, norm=0.5)
    f = tanh_map(W, x)
    dW = torch.randn_like(W)
    a = implicit.fixed_point_jvp(f, torch.zeros_like(x), [W, x], [dW, None]).tangent
    b = implicit.fixed_point_jvp(f, torch.zeros_like(x), [W, x], [dW, torch.zeros_like(x)]).tangent
    assert torch.allclose(a, b, rtol=0, atol=1e-15)


def test_options_print_their_fields():
    text = repr(implicit.ForwardOptions())
    assert text.startswith("ForwardOptions(") and "stop=FixedPointOptions(" in text
    assert "abs_tol=1e-10" in text and "solver=<Solver.anderson" in text


def test_the_default_adjoint_hands_a_slowly_contracting_layer_to_gmres_and_stays_exact():
    # A symmetric W of norm 0.995 and a tiny input: tanh' ~ 1 near z* ~ 0,
    # so df/dz contracts by rho ~ 0.99 per product. The default (auto) iterates, stalls on the
    # 10-step rule and hands the samples to GMRES; its gradient must match
    # a dense LU solve: both to 1e-13 relative, so they differ by about
    # 1e-13 / (1 - rho) ~ 1e-11 relative, under the 1e-8 asserted.
    W, x = reference_layer(n=8, batch=3)
    with torch.no_grad():  # symmetric: spectral radius = spectral norm = 0.995
        W.copy_(W + W.T)
        W.mul_(0.995 / torch.linalg.matrix_norm(W, 2))
        x.mul_(1e-3)
    f = tanh_map(W, x)
    stop = {"stop": {"abs_tol": 1e-13, "rel_tol": 0, "max_iter": 5000}}
    tight = {"abs_tol": 1e-15, "rel_tol": 1e-13}
    z, info = implicit.fixed_point(f, torch.ones_like(x), W, x, forward=stop,
                                   backward={"adjoint": tight})
    rho = implicit.spectral_radius(f, z.detach(), iterations=200).max().item()
    assert 0.95 < rho < 1
    auto = torch.autograd.grad(z.sum(), (W, x))
    assert info.backward.certified(), info.brief_report()
    assert info.backward.method == "gmres"  # the probe stalled, GMRES certified
    assert "fixed_point_iteration" in info.backward.message
    z, _ = implicit.fixed_point(f, torch.ones_like(x), W, x, forward=stop,
                                backward={"adjoint": {"method": "dense_lu", **tight}})
    dense = torch.autograd.grad(z.sum(), (W, x))
    for a, b in zip(auto, dense):
        assert ((a - b).norm() / b.norm()).item() <= 1e-8


@pytest.mark.parametrize("solvers", ["bicgstab", ["gmres", "dense_lu"],
                                     [implicit.Gmres(5)], implicit.AndersonIteration()])
def test_linear_solvers_as_values_give_the_same_gradient(solvers):
    # The same bound as above: every chain solves to 1e-13 relative.
    W, x = reference_layer(n=8, batch=4, norm=0.7)
    f = tanh_map(W, x)
    tight = {"abs_tol": 1e-15, "rel_tol": 1e-13}
    reference = torch.autograd.grad(
        implicit.fixed_point(f, torch.zeros_like(x), W, x, backward={"adjoint": tight}).z.sum(),
        (W, x))
    z, info = implicit.fixed_point(
        f, torch.zeros_like(x), W, x,
        backward={"adjoint": {"solvers": solvers, "fallback": False, **tight}})
    grads = torch.autograd.grad(z.sum(), (W, x))
    assert info.backward.certified()
    first = solvers if isinstance(solvers, str) else (
        solvers[0] if isinstance(solvers, list) else solvers)
    name = first if isinstance(first, str) else {
        implicit.Gmres: "gmres", implicit.AndersonIteration: "anderson"}[type(first)]
    assert info.backward.method == name
    for a, b in zip(grads, reference):
        assert torch.allclose(a, b, rtol=1e-7, atol=1e-10)


def test_an_unknown_linear_solver_is_a_value_error_naming_it():
    W, x = reference_layer(n=4, batch=2)
    with pytest.raises(ValueError, match=r"backward.adjoint.solvers\[1\]: unknown linear solver"):
        implicit.fixed_point(tanh_map(W, x), torch.zeros_like(x), W, x,
                             backward={"adjoint": {"solvers": ["gmres", "qr"]}})
    with pytest.raises(TypeError, match=r"solvers\[0\] must be a linear solver"):
        implicit.fixed_point(tanh_map(W, x), torch.zeros_like(x), W, x,
                             backward={"adjoint": {"solvers": [3]}})
