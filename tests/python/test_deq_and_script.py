"""The DEQ module, TorchScript maps, and what crosses the Python boundary
(no leak of Python objects or memory over 10^4 calls)."""
import gc
import sys

import torch

import implicit
from conftest import reference_layer, tanh_map


class TanhMap(torch.nn.Module):
    def __init__(self, W, x):
        super().__init__()
        self.W = W
        self.x = x

    def forward(self, z):
        return torch.tanh(z @ self.W.T + self.x)


def test_a_torchscript_map_gives_the_python_maps_answers_and_gradients():
    W, x = reference_layer(n=8, batch=5, norm=0.9)
    scripted = torch.jit.script(TanhMap(W, x))
    results = []
    for f in (tanh_map(W, x), scripted):
        z, info = implicit.fixed_point(f, torch.zeros_like(x), W, x)
        gW, gx = torch.autograd.grad((z ** 2).sum(), (W, x))
        assert info.forward.certified() and info.backward.certified()
        results.append((z.detach(), gW, gx, info.forward.iterations))
    for a, b in zip(*results):
        assert torch.equal(a, b)  # same arithmetic, same order: bitwise


def test_a_torchscript_function_is_a_map_too():
    @torch.jit.script
    def f(z):
        return torch.tanh(0.5 * z + 1.0)

    z, info = implicit.fixed_point(f, torch.zeros(3, 4, dtype=torch.float64))
    assert info.forward.certified()
    assert torch.allclose(z, torch.tanh(0.5 * z + 1.0), atol=1e-9)


def test_deq_has_the_cpp_training_defaults():
    cpp = implicit.DEQOptions.training_defaults()
    deq = implicit.DEQ(implicit.TanhCell(3, 8), hidden_size=8)
    assert deq.options.forward.stop.max_iter == cpp.forward.stop.max_iter == 50
    assert deq.options.forward.stop.rel_tol == cpp.forward.stop.rel_tol
    assert deq.options.backward.gradient == cpp.backward.gradient == implicit.Gradient.jacobian_free
    assert deq.options.backward.failed_samples == implicit.FailedSamples.drop
    exact = implicit.DEQ(implicit.TanhCell(3, 8), hidden_size=8, backward="implicit")
    assert exact.options.backward.gradient == implicit.Gradient.implicit
    assert exact.options.forward.stop.max_iter == 50  # the rest stays the training default


def test_deq_trains_and_its_exact_gradient_matches_unrolled():
    torch.manual_seed(0)
    cell = implicit.TanhCell(2, 16).double()
    # Forward to 1e-12 and the adjoint to 1e-13 relative: both errors enter
    # the gradient divided by 1 - rho >= 0.5, far below rtol 1e-9.
    deq = implicit.DEQ(cell, forward={"stop": {"abs_tol": 1e-12, "rel_tol": 0, "max_iter": 200}},
                       backward={"gradient": "implicit",
                                 "adjoint": {"abs_tol": 1e-15, "rel_tol": 1e-13}})
    x = torch.randn(32, 2, dtype=torch.float64)
    z, penalty, info = deq(x)
    assert penalty is None and info.forward.certified()
    grads = torch.autograd.grad(z.pow(2).sum(), list(cell.parameters()))

    zu = z.detach()
    for _ in range(200):  # spectral norm <= 0.5 at the start: 0.5^200 ~ 1e-60
        zu = cell(zu, x)
    unrolled = torch.autograd.grad(zu.pow(2).sum(), list(cell.parameters()))
    for a, b in zip(grads, unrolled):
        assert ((a - b).norm() / b.norm()).item() <= 1e-9

    # A few Adam steps with the default (Jacobian-free) gradient and the
    # Hutchinson penalty reduce a regression loss.
    deq = implicit.DEQ(cell, jacobian_penalty=True)
    head = torch.nn.Linear(16, 1).double()
    target = torch.sin(x.sum(1, keepdim=True))
    opt = torch.optim.Adam(list(deq.parameters()) + list(head.parameters()), lr=1e-2)
    losses = []
    for _ in range(30):
        z, penalty, info = deq(x)
        loss = torch.nn.functional.mse_loss(head(z), target)
        losses.append(loss.item())
        opt.zero_grad()
        (loss + 0.1 * penalty).backward()
        opt.step()
    assert info.backward.status[0] == implicit.Status.approximate
    assert losses[-1] < 0.5 * losses[0]


def test_no_python_object_or_memory_leaks_over_10000_calls():
    W, x = reference_layer(n=4, batch=2, norm=0.5)
    f = tanh_map(W, x)

    def step():
        z, info = implicit.fixed_point(f, torch.zeros_like(x), W, x)
        z.sum().backward()
        return info

    def rss_kib():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))

    for _ in range(500):  # warm-up: allocator pools, autograd engine
        step()
    gc.collect()
    objects, refs, rss = len(gc.get_objects()), sys.getrefcount(f), rss_kib()
    for _ in range(10_000):
        step()
    gc.collect()
    assert sys.getrefcount(f) == refs  # the closure held by each backward node was released
    assert len(gc.get_objects()) - objects < 100
    # 10^4 solves leaking even one small tensor each would be > 4 MB.
    assert rss_kib() - rss < 4096


def test_a_torchscript_cell_in_a_deq_gives_the_python_cells_answers_and_gradients():
    torch.manual_seed(0)
    cell = implicit.TanhCell(3, 8).double()
    scripted = torch.jit.script(cell)  # shares cell's parameters
    x = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    results = []
    for c in (cell, scripted):
        deq = implicit.DEQ(c, hidden_size=8, backward="implicit")
        for _ in range(2):  # the second call re-binds x in the compiled wrapper
            z, _, info = deq(x)
        grads = torch.autograd.grad(z.pow(2).sum(), [x, *cell.parameters()])
        assert info.forward.certified() and info.backward.certified()
        assert len(list(deq.parameters())) == 3  # W, U, b: the wrapper adds none
        assert all(not k.startswith("_bound") for k in deq.state_dict())
        results.append((z.detach(), *grads))
    for a, b in zip(*results):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-14)
