"""Data-parallel training on torch.distributed: one step's gradients with 2
ranks (DistributedDataParallel, Gloo, loopback, torch.multiprocessing.spawn)
equal those of 1 rank on the same global batch."""
import socket

import torch
import torch.multiprocessing as mp

import ddp_worker


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_give_the_one_rank_gradients(tmp_path):
    mp.spawn(ddp_worker.rank_main, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    result = torch.load(tmp_path / "ddp.pt")

    net = ddp_worker.Classifier()
    x, y = ddp_worker.data()
    expected = ddp_worker.gradients(net, x, y)
    # Every sample of both ranks was solved and differentiated (certified).
    for report in result["reports"]:
        assert report["forward"] == ["converged"] * (len(x) // 2)
        assert report["backward"] == ["converged"] * (len(x) // 2)
    # Samples are solved independently, so each rank's z* and u are those of
    # the one-rank batch up to rounding; the mean over 2 x 8 samples equals
    # the mean over 16 up to the order of the sums: 1e-10 relative.
    for got, want in zip(result["grads"], expected):
        assert ((got - want).norm() / want.norm()).item() <= 1e-10
