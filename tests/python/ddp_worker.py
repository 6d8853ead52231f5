"""One rank of test_ddp.py: a DEQ classifier step under
DistributedDataParallel (Gloo, loopback). Not a test module:
torch.multiprocessing.spawn imports it in each child process."""
import datetime
import os

import torch
import torch.distributed as dist

import implicit


class Classifier(torch.nn.Module):
    """DEQ(TanhCell) + linear head, exact (certified IFT) gradients, float64."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.deq = implicit.DEQ(implicit.TanhCell(4, 8).double(), backward="implicit",
                                forward={"stop": {"abs_tol": 1e-13, "rel_tol": 0, "max_iter": 200}})
        self.head = torch.nn.Linear(8, 3).double()
        self.last_info = None

    def forward(self, x):
        z, _, self.last_info = self.deq(x)
        return self.head(z)


def data(batch=16):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(batch, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (batch,), generator=g)
    return x, y


def gradients(net, x, y):
    """One step's gradients of the mean cross-entropy over (x, y)."""
    torch.nn.functional.cross_entropy(net(x), y).backward()
    return [p.grad.clone() for p in net.parameters()]


def rank_main(rank, world, port, out_dir):
    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=120))
    ddp = torch.nn.parallel.DistributedDataParallel(Classifier())
    x, y = data()
    shard = slice(rank * len(x) // world, (rank + 1) * len(x) // world)
    grads = gradients(ddp, x[shard], y[shard])  # DDP averages them over the ranks
    info = ddp.module.last_info
    # Each rank writes its own report (no all_gather_object: see below).
    torch.save({"grads": grads,
                "forward": [s.name for s in info.forward.status],
                "backward": [s.name for s in info.backward.status]},
               os.path.join(out_dir, f"rank{rank}.pt"))
    # Teardown in this order: with torch 1.13 + Gloo, a worker thread that
    # holds the last reference to a collective's tensor needs the GIL to
    # free it, while the main thread, holding the GIL, destroys the process
    # group and joins that worker: a deadlock at exit (seen under load, in
    # one rank of two, with all_gather_object and DDP alive at destroy).
    dist.barrier()
    del ddp, grads
    dist.destroy_process_group()
