#!/usr/bin/python3
"""Plain PyTorch baseline for a deep-equilibrium (DEQ) layer.

The reference the C++ benchmarks are compared against: the DEQ-tutorial way
of writing an equilibrium layer in Python, on the same tanh problem the C++
side generates with LibTorch's identical generator.

Problem (float64, batch B = 64, z of shape (B, n)):

    torch.manual_seed(0)
    W = randn(n, n) / sqrt(n);  W *= 0.9 / ||W||_2   (spectral norm 0.9)
    x = randn(B, n)
    f(z) = tanh(z @ W.T + x),   z* = f(z*),   loss = z*.sum()

Stopping rule, per sample b and until every sample meets it:
||h(u)_b - u_b||_2 <= 1e-10 + 1e-8 ||h(u)_b||_2 for the forward solve and
<= 1e-10 + 1e-8 ||g_b||_2 for the adjoint solve u = J^T u + g (the rule
the C++ adjoint certifies, relative to the right-hand side), at most 500
evaluations of h, u0 = 0; the solve returns h(u) of the last evaluation. "Iterations" are evaluations of h: f for the forward solve, one
vector-Jacobian product (plus the add of g) for the backward solve.

Solvers (forward pass under torch.no_grad(), then z = f(z*) with grad
enabled, which attaches z* to the graph of W and x):
  forward:  z <- f(z)
  anderson: type-II Anderson, memory 5, beta 1, per-sample weights from the
            batched normalised system (GG^T / s + 1e-4 I) y = 1,
            alpha = y / sum(y), s = max_i (GG^T)_ii per sample: the scaled
            Tikhonov regularisation the C++ Anderson uses by default.
Backward (both solvers): a hook on the re-attached z solves u = J^T u + g
by forward iteration, J = df/dz at z*, with J^T u from
autograd.grad(f(z0), z0, u) at z0 = z*.detach(). Autograd then carries u
through the one attached f to W.grad and x.grad.

Timing (time.perf_counter, torch.set_num_threads(1), median of --repeats
runs after one untimed warm-up, each run on fresh leaf copies of W and x):
  forward_ms:  the solve, the re-attaching f, f(z0) for the hook, and
               registering the hook: everything the layer's forward does.
  backward_ms: loss.backward() only (the adjoint solve and the final VJP
               into W and x); building loss = z.sum() is outside both.

Forced-K sweep (n = 256 and 1024 by default): the forward runs exactly K
steps of z <- f(z), no stopping test, for K = 10, 30, 100.
  unrolled:   the K steps run with grad enabled and loss.backward()
              backpropagates through all of them.
  ift_forced: the K steps run under no_grad, then the layer continues as
              above (re-attach, hook); backward is the IFT adjoint solve.
A size is skipped if one warm-up pass predicts its timed sweep to take
longer than --sweep-budget seconds (60 by default).

Memory (the sweep only): each figure comes from a fresh subprocess
(this file with --memory MODE N K), so no earlier run's peak is in it. The
child builds the problem, runs the same mode once at K = 1 (so one-time costs
such as autograd-engine start-up and first kernel calls are not charged to
the measurement), reads VmRSS from /proc/self/status as the baseline, resets
the kernel's peak-RSS mark (writing "5" to /proc/self/clear_refs), runs
forward + backward once, and reports peak_rss_growth_kib = VmHWM - baseline:
the growth of resident memory at its peak, i.e. tensors autograd holds,
workspaces, and whatever glibc's allocator keeps mapped (heap fragmentation
included: for the unrolled tape at n = 256 the growth is ~3x saved_kib
with glibc's default dynamic mmap threshold, ~1.2x with
MALLOC_MMAP_THRESHOLD_=65536 in the environment). VmHWM is the per-process
peak that ru_maxrss reports too, but ru_maxrss cannot be used in a child:
Linux carries the peak of the pre-exec address space (here the parent's,
~20 MB above the child's baseline) across exec into it. If the reset is refused, hwm_reset is false
and the figure is unreliable. saved_kib is exact, not RSS: the distinct
storages autograd saved for backward during the forward (counted with
torch.autograd.graph.saved_tensors_hooks), W and x themselves excluded.

Built-in checks (asserts): at every size the Anderson and forward-iteration
fixed points agree within 1e-7 (max abs), and at n = 10 the IFT gradients of
W and x agree with backpropagation through 500 unrolled steps within 1e-6
relative (2-norm).

Output: a human-readable table on stderr; the last line on stdout is a
JSON list of records with keys solver, n, batch, forward_ms, backward_ms,
forward_iterations, backward_iterations (sweep records add K,
peak_rss_growth_kib, saved_kib and hwm_reset).

Usage (Debian's Python: it has python3-torch):
  /usr/bin/python3 bench/python/deq_baseline.py
  /usr/bin/python3 bench/python/deq_baseline.py --quick
  /usr/bin/python3 bench/python/deq_baseline.py --sizes 10,100 --repeats 7 --sweep-sizes ''
"""

import argparse
import json
import math
import statistics
import subprocess
import sys
import time

import torch
from torch import autograd

DTYPE = torch.float64
ABS_TOL = 1e-10
REL_TOL = 1e-8
MAX_ITER = 500
SWEEP_K = (10, 30, 100)


# ---------------------------------------------------------------------------
# Problem


def make_problem(n, batch):
    """W and x exactly as the C++ side draws them (same seed, same order)."""
    torch.manual_seed(0)
    W = torch.randn(n, n, dtype=DTYPE) / math.sqrt(n)
    W = W * (0.9 / torch.linalg.matrix_norm(W, ord=2))
    x = torch.randn(batch, n, dtype=DTYPE)
    return W, x


def layer(W, x):
    return lambda z: torch.tanh(z @ W.T + x)


def all_converged(h_u, u, reference=None):
    """The per-sample stopping rule, required of every sample at once; the
    relative part is against ||h(u)||, or against `reference` (per sample)."""
    residual = (h_u - u).norm(dim=1)
    scale = h_u.norm(dim=1) if reference is None else reference
    return bool((residual <= ABS_TOL + REL_TOL * scale).all())


# ---------------------------------------------------------------------------
# Fixed-point solvers: each returns (h(u) of the last evaluation, evaluations,
# converged).


def fixed_point_iteration(h, u0, max_iter=MAX_ITER, reference=None):
    u = u0
    for k in range(1, max_iter + 1):
        h_u = h(u)
        if all_converged(h_u, u, reference):
            return h_u, k, True
        u = h_u
    return h_u, max_iter, False


def anderson(f, z0, memory=5, lam=1e-4, beta=1.0, max_iter=MAX_ITER):
    batch, n = z0.shape
    f_hist = torch.zeros(batch, memory, n, dtype=z0.dtype)  # f(z_i)
    g_hist = torch.zeros(batch, memory, n, dtype=z0.dtype)  # g_i = f(z_i) - z_i
    gram = torch.zeros(batch, memory, memory, dtype=z0.dtype)  # G G^T, slot order
    eye = torch.eye(memory, dtype=z0.dtype)
    ones = torch.ones(batch, memory, 1, dtype=z0.dtype)
    z = z0
    for k in range(max_iter):
        fz = f(z)
        if all_converged(fz, z):
            return fz, k + 1, True
        g = fz - z
        # Ring buffer: while it fills, the valid slots are 0..filled-1, after
        # that all of them, so the leading block of gram is always the live one.
        slot, filled = k % memory, min(k + 1, memory)
        f_hist[:, slot] = fz
        g_hist[:, slot] = g
        # Only the new row of G G^T changes: `filled` dot products per sample.
        row = torch.bmm(g_hist[:, :filled], g.unsqueeze(2)).squeeze(2)
        gram[:, slot, :filled] = row
        gram[:, :filled, slot] = row
        # The bordered system [[0, 1^T], [1, GG^T + lam_eff I]] has the solution
        # alpha = y / sum(y) with (GG^T + lam_eff I) y = 1. Dividing by the
        # largest diagonal s makes lam_eff = lam * s (scaled regularisation)
        # and keeps the solve well-conditioned when ||g||^2 is ~1e-20 near
        # convergence, where the bordered matrix would mix entries of 1 and
        # 1e-20. A sample whose history is all exact zeros gets s = 1.
        gram_k = gram[:, :filled, :filled]
        scale = gram_k.diagonal(dim1=1, dim2=2).amax(dim=1)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        system = gram_k / scale[:, None, None] + lam * eye[:filled, :filled]
        y = torch.linalg.solve(system, ones[:, :filled])
        alpha = y / y.sum(dim=1, keepdim=True)  # (batch, filled, 1)
        alpha_t = alpha.transpose(1, 2)
        z = torch.bmm(alpha_t, f_hist[:, :filled]).squeeze(1)
        if beta != 1.0:
            z = z - (1.0 - beta) * torch.bmm(alpha_t, g_hist[:, :filled]).squeeze(1)
        # A degenerate history (non-finite weights) falls back to a plain step
        # for that sample, as the C++ solver does.
        bad = ~torch.isfinite(alpha).all(dim=1).squeeze(1)
        if bool(bad.any()):
            z = torch.where(bad[:, None], fz, z)
    return fz, max_iter, False


def forced_steps(f, z0, steps):
    """Exactly `steps` steps of z <- f(z), no stopping test (the K sweep)."""
    z = z0
    for _ in range(steps):
        z = f(z)
    return z


SOLVERS = {
    "forward": lambda f, z0: fixed_point_iteration(f, z0),
    "anderson": lambda f, z0: anderson(f, z0),
}


# ---------------------------------------------------------------------------
# DEQ layers. Each returns (z attached to W and x, stats); stats gains
# "backward_iterations" when the backward pass runs.


def deq_ift(W, x, solve):
    """Solve without a graph, re-attach with one f, IFT adjoint in a hook.

    `solve(f, z0)` returns (z_star, iterations, converged).
    """
    f = layer(W, x)
    with torch.no_grad():
        z_star, iterations, converged = solve(f, torch.zeros_like(x))
    stats = {"forward_iterations": iterations, "forward_converged": converged}
    z = f(z_star)
    # The hook needs J^T u at z*: a separate graph of one f at a detached
    # copy, kept alive (retain_graph) for as many products as the solve takes.
    z0 = z_star.detach().requires_grad_()
    f0 = f(z0)

    def adjoint_hook(g):
        def step(u):
            return autograd.grad(f0, z0, u, retain_graph=True)[0] + g

        u, k, ok = fixed_point_iteration(step, torch.zeros_like(g), reference=g.norm(dim=1))
        stats["backward_iterations"] = k
        stats["backward_converged"] = ok
        return u

    z.register_hook(adjoint_hook)
    return z, stats


def deq_ift_forced(W, x, steps):
    return deq_ift(W, x, lambda f, z0: (forced_steps(f, z0, steps), steps, True))


def deq_unrolled(W, x, steps):
    """Backpropagation through `steps` recorded iterations."""
    z = forced_steps(layer(W, x), torch.zeros_like(x), steps)
    return z, {"forward_iterations": steps, "backward_iterations": steps}


# ---------------------------------------------------------------------------
# Measurement


def run_once(W, x, make_layer):
    """One forward + backward on fresh leaves; times in seconds."""
    W = W.clone().requires_grad_()
    x = x.clone().requires_grad_()
    t0 = time.perf_counter()
    z, stats = make_layer(W, x)
    t1 = time.perf_counter()
    loss = z.sum()
    t2 = time.perf_counter()
    loss.backward()
    t3 = time.perf_counter()
    return {"forward_s": t1 - t0, "backward_s": t3 - t2, "stats": stats,
            "z": z.detach(), "W_grad": W.grad, "x_grad": x.grad}


def time_layer(W, x, make_layer, repeats):
    """Median forward / backward ms over `repeats` runs after one warm-up."""
    runs = [run_once(W, x, make_layer) for _ in range(repeats + 1)][1:]
    stats = runs[-1]["stats"]
    for r in runs:  # the solves are deterministic: same counts every run
        assert r["stats"] == stats, (r["stats"], stats)
    assert stats.get("forward_converged", True), "forward solve hit max_iter"
    assert stats.get("backward_converged", True), "adjoint solve hit max_iter"
    return {
        "forward_ms": 1e3 * statistics.median(r["forward_s"] for r in runs),
        "backward_ms": 1e3 * statistics.median(r["backward_s"] for r in runs),
        "forward_iterations": stats["forward_iterations"],
        "backward_iterations": stats["backward_iterations"],
        "z": runs[-1]["z"],
    }


def relative_error(a, b):
    return float((a - b).norm() / b.norm())


def check_gradients(batch):
    """IFT gradients against 500 unrolled steps at n = 10 (both solvers)."""
    W, x = make_problem(10, batch)
    reference = run_once(W, x, lambda W_, x_: deq_unrolled(W_, x_, 500))
    errors = {}
    for name, solve in SOLVERS.items():
        ift = run_once(W, x, lambda W_, x_: deq_ift(W_, x_, solve))
        errors[name] = (relative_error(ift["W_grad"], reference["W_grad"]),
                        relative_error(ift["x_grad"], reference["x_grad"]))
        assert max(errors[name]) < 1e-6, (name, errors[name])
    return errors


# ---------------------------------------------------------------------------
# Memory (child process)


def proc_status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak_rss():
    """Set the peak-RSS mark (VmHWM) to the current RSS."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def memory_child(mode, n, steps, batch):
    torch.set_num_threads(1)
    W, x = make_problem(n, batch)
    make = {"unrolled": deq_unrolled, "ift_forced": deq_ift_forced}[mode]
    run_once(W, x, lambda W_, x_: make(W_, x_, 1))  # one-time costs, see docstring
    W = W.clone().requires_grad_()
    x = x.clone().requires_grad_()
    leaves = {W.data_ptr(), x.data_ptr()}
    saved = {}

    def pack(t):
        if t.data_ptr() not in leaves:
            saved[t.data_ptr()] = t.element_size() * t.numel()
        return t

    baseline = proc_status_kib("VmRSS")
    hwm_reset = reset_peak_rss()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        z, _ = make(W, x, steps)
    z.sum().backward()
    peak = proc_status_kib("VmHWM")
    print(json.dumps({"peak_rss_growth_kib": peak - baseline, "hwm_reset": hwm_reset,
                      "saved_kib": sum(saved.values()) / 1024}))


def measure_memory(mode, n, steps, batch):
    out = subprocess.run(
        [sys.executable, __file__, "--memory", mode, str(n), str(steps), "--batch", str(batch)],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------
# Driver


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def solver_table(sizes, batch, repeats):
    records = []
    log(f"\nDEQ layer, B = {batch}, float64, 1 thread, median of {repeats} (ms)")
    log(f"{'n':>5} {'solver':>9} {'fwd ms':>10} {'bwd ms':>10} {'fwd it':>7} {'bwd it':>7}")
    for n in sizes:
        W, x = make_problem(n, batch)
        fixed_points = {}
        for name, solve in SOLVERS.items():
            r = time_layer(W, x, lambda W_, x_: deq_ift(W_, x_, solve), repeats)
            fixed_points[name] = r.pop("z")
            records.append({"solver": name, "n": n, "batch": batch, "repeats": repeats, **r})
            log(f"{n:>5} {name:>9} {r['forward_ms']:>10.3f} {r['backward_ms']:>10.3f} "
                f"{r['forward_iterations']:>7} {r['backward_iterations']:>7}")
        gap = float((fixed_points["anderson"] - fixed_points["forward"]).abs().max())
        assert gap < 1e-7, f"n = {n}: Anderson and forward iteration z* differ by {gap:.3e}"
    return records


def sweep_table(sizes, batch, repeats, budget_s):
    records = []
    if not sizes:
        return records
    log(f"\nForced K steps, B = {batch}: unrolled backprop vs IFT "
        f"(median of {repeats}, ms; peak = RSS growth, saved = autograd-saved, KiB)")
    log(f"{'n':>5} {'K':>4} {'mode':>10} {'fwd ms':>10} {'bwd ms':>10} {'bwd it':>7} "
        f"{'peak KiB':>10} {'saved KiB':>9}")
    for n in sizes:
        W, x = make_problem(n, batch)
        configs = [(mode, K) for K in SWEEP_K for mode in ("unrolled", "ift_forced")]
        makers = {"unrolled": deq_unrolled, "ift_forced": deq_ift_forced}
        # One untimed pass over the whole sweep: it is the warm-up and tells
        # whether the timed repeats fit the budget.
        t0 = time.perf_counter()
        for mode, K in configs:
            run_once(W, x, lambda W_, x_: makers[mode](W_, x_, K))
        predicted = (time.perf_counter() - t0) * repeats
        if predicted > budget_s:
            log(f"{n:>5} skipped: the sweep would take ~{predicted:.0f} s > {budget_s:.0f} s")
            continue
        for mode, K in configs:
            r = time_layer(W, x, lambda W_, x_: makers[mode](W_, x_, K), repeats)
            r.pop("z")
            memory = measure_memory(mode, n, K, batch)
            records.append({"solver": mode, "n": n, "batch": batch, "K": K, "repeats": repeats,
                            **r, **memory})
            flag = "" if memory["hwm_reset"] else " (peak not reset: unreliable)"
            log(f"{n:>5} {K:>4} {mode:>10} {r['forward_ms']:>10.3f} {r['backward_ms']:>10.3f} "
                f"{r['backward_iterations']:>7} {memory['peak_rss_growth_kib']:>10} "
                f"{memory['saved_kib']:>9.0f}{flag}")
    return records


def parse_sizes(text):
    return [int(s) for s in text.split(",") if s.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,256,1024", help="n for the solver table")
    parser.add_argument("--sweep-sizes", default="256,1024", help="n for the forced-K sweep")
    parser.add_argument("--sweep-budget", type=float, default=60.0,
                        help="skip a sweep size predicted to take longer (seconds)")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs after one warm-up")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: sizes 10,100, repeats 3, sweep at n = 100 only")
    parser.add_argument("--memory", nargs=3, metavar=("MODE", "N", "K"),
                        help="internal: one memory measurement in this (fresh) process")
    args = parser.parse_args()

    if args.memory:
        mode, n, steps = args.memory
        memory_child(mode, int(n), int(steps), args.batch)
        return

    if args.quick:
        args.sizes, args.sweep_sizes, args.repeats = "10,100", "100", 3
    torch.set_num_threads(1)
    log(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"python {sys.version.split()[0]}")

    errors = check_gradients(args.batch)
    for name, (w_err, x_err) in errors.items():
        log(f"check n = 10, {name}: IFT vs 500 unrolled steps, relative error "
            f"dW {w_err:.2e}, dx {x_err:.2e}")

    records = solver_table(parse_sizes(args.sizes), args.batch, args.repeats)
    records += sweep_table(parse_sizes(args.sweep_sizes), args.batch, args.repeats,
                           args.sweep_budget)
    print(json.dumps(records))


if __name__ == "__main__":
    main()
