"""Shared problems of the Python tests.

The package under test is the build tree's (PYTHONPATH=build/python, set by
ctest) or an installed one. Every test runs single-threaded in float64
unless it says otherwise, so that answers compare to 1e-12 and the tests
share the 2-core CI machine with the C++ suites.
"""
import math

import pytest
import torch

torch.set_num_threads(1)


def reference_layer(n=10, batch=8, seed=0, norm=None, dtype=torch.float64):
    """The layer of docs/reference-systems.md section 1: f(z) = tanh(W z + x),
    W with entries N(0, 1/n), x ~ N(0, 1); with `norm`, W rescaled to that
    spectral norm (a contraction, so forward iteration converges too)."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(n, n, generator=g, dtype=torch.float64) / math.sqrt(n)
    if norm is not None:
        W *= norm / torch.linalg.matrix_norm(W, 2)
    x = torch.randn(batch, n, generator=g, dtype=torch.float64)
    return W.to(dtype).requires_grad_(), x.to(dtype).requires_grad_()


def tanh_map(W, x):
    return lambda z: torch.tanh(z @ W.T + x)


def residuals(f, z):
    """Per sample ||f(z) - z||, recomputed: what a status must agree with."""
    with torch.no_grad():
        return (f(z) - z).flatten(1).norm(dim=1)


def fixed_point_tolerance(f, z, abs_tol=1e-10, rel_tol=1e-8):
    """The per-sample stopping rule of the forward pass (FixedPointOptions),
    with rel_tol floored at 8 epsilons of the dtype as in C++."""
    rel = max(rel_tol, 8 * torch.finfo(z.dtype).eps)
    with torch.no_grad():
        return abs_tol + rel * f(z).flatten(1).norm(dim=1)


@pytest.fixture
def layer():
    return reference_layer
