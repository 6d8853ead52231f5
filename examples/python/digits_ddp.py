#!/usr/bin/python3
"""A DEQ digits classifier trained from Python, data-parallel over Gloo.

The Python twin of the C++ demo `implicit digits`
(apps/implicit/digits_command.cpp), so that accuracies and times per epoch
compare:

  model      z* = tanh(W z* + U x + b)   implicit.DEQ(implicit.TanhCell(64, 128))
             logits = head(z*)           torch.nn.Linear(128, 10)
             weights drawn after torch.manual_seed(--seed) in the C++ order
             (W, U, b, then the head), W scaled to spectral norm 0.5
  solver     the DEQ training defaults (Anderson to 1e-6 + 1e-4 ||f(z)||, at
             most 50 iterations, nothing raised, failed samples dropped) with
             the demo's backward: the certified IFT gradient, adjoint to
             1e-8 + 1e-5 ||g||, reporting instead of raising
  data       the UCI / scikit-learn 8x8 digits, digits.csv.gz (64 pixels
             0..16 then the label, one image a line), pixels / 16 in
             float32; the fixed split of the C++ demo: a Fisher-Yates
             permutation driven by mt19937_64(0) (re-implemented here bit for
             bit), first 1437 images train, last 360 test
  training   Adam, peak learning rate 1e-2, cosine-annealed to 0 per batch,
             12 epochs, batches of 32 in a per-epoch order from
             mt19937_64(seed * 1000003 + epoch), as the C++ demo does; a batch
             in which no sample's adjoint is certified (over all ranks) makes
             no optimiser step
  float32, one intra-op thread per process.

Data parallel: torch.multiprocessing.spawn starts --procs processes, joined
by torch.distributed's Gloo backend on the loopback (MASTER_ADDR=127.0.0.1,
a free port), and the model is wrapped in DistributedDataParallel. Every
rank walks the same global batches of 32; rank r takes rows r, r + P,
r + 2P, ... of each, so --procs 1 and --procs 2 step on the same global
batches. --procs 1 reproduces the C++ demo's table digit for digit (same
weights, split, order and schedule). --procs 2 does not: the mean of the
two shards' gradients matches the whole batch's only to the adjoint's
tolerance (5e-6 relative, measured on the first batch: the solves depend
a little on the batch they run in), and Adam's early, sign-like steps
amplify that into a different run of similar accuracy. Rank 0 evaluates
the test set in one batch at the end of each epoch (as the C++ demo does)
and prints.

Per epoch (rank 0; sums over all ranks): training loss, running train
accuracy, test accuracy, mean forward / backward iterations per sample,
samples whose forward did not converge, skipped batches, seconds (the
epoch's training and the test evaluation, as the C++ table counts them).
At the end: the test accuracy, the mean seconds per epoch, and each rank's
forward and backward statuses counted over the run and over the last epoch
(gathered with torch.distributed.all_gather on pickled bytes: see
gather_objects for why not all_gather_object), then one JSON line.

Run (Debian's Python: it has torch; the package from the build tree):
  PYTHONPATH=build/python /usr/bin/python3 examples/python/digits_ddp.py --procs 2
  PYTHONPATH=build/python /usr/bin/python3 examples/python/digits_ddp.py --procs 1 --epochs 3

The C++ demo, for comparison (same split, same hyperparameters, same seed
convention; its table has the same columns):
  build/apps/implicit/implicit digits --epochs 12 --seed 0 --save /tmp/digits-deq.pt
--compare-cpp runs exactly that (with --epochs/--seed of this run) after the
Python training, and prints the two side by side.
"""

import argparse
import collections
import gzip
import json
import math
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
from torch.nn.parallel import DistributedDataParallel  # noqa: E402

import implicit  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAIN_SIZE = 1437  # the rest (360) is the test set
SPLIT_SEED = 0
HIDDEN = 128
BATCH = 32
EPOCHS = 12
LEARNING_RATE = 1e-2  # peak; cosine-annealed to 0 over the run


# ---------------------------------------------------------------- the C++ split


class MT19937_64:
    """std::mt19937_64, whose output the C++ standard fixes bit for bit."""

    MASK = (1 << 64) - 1

    def __init__(self, seed):
        self.mt = [seed & self.MASK]
        for i in range(1, 312):
            prev = self.mt[-1]
            self.mt.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & self.MASK)
        self.index = 312

    def _twist(self):
        mt = self.mt
        for i in range(312):
            x = (mt[i] & 0xFFFFFFFF80000000) | (mt[(i + 1) % 312] & 0x7FFFFFFF)
            xa = x >> 1
            if x & 1:
                xa ^= 0xB5026F5AA96619E9
            mt[i] = mt[(i + 156) % 312] ^ xa
        self.index = 0

    def __call__(self):
        if self.index >= 312:
            self._twist()
        y = self.mt[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & self.MASK


def permutation(n, seed):
    """The C++ demo's Fisher-Yates permutation of 0..n-1."""
    order = list(range(n))
    rng = MT19937_64(seed)
    for i in range(n - 1, 0, -1):
        j = rng() % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def load_split(data_dir):
    path = os.path.join(data_dir, "digits.csv.gz")
    pixels, labels = [], []
    with gzip.open(path, "rt") as lines:
        for line in lines:
            if not line.strip():
                continue
            fields = line.split(",")
            if len(fields) != 65:
                raise ValueError(f"{path}: expected 65 values a line, got {len(fields)}")
            pixels.append([float(v) for v in fields[:64]])
            labels.append(int(float(fields[64])))
    x = torch.tensor(pixels, dtype=torch.float32) / 16.0
    y = torch.tensor(labels, dtype=torch.long)
    order = torch.tensor(permutation(len(labels), SPLIT_SEED))
    train, test = order[:TRAIN_SIZE], order[TRAIN_SIZE:]
    return x[train], y[train], x[test], y[test]


# ---------------------------------------------------------------- the model


class DigitsNet(torch.nn.Module):
    def __init__(self, hidden=HIDDEN):
        super().__init__()
        # The demo's options: the DEQ training defaults, with the certified
        # IFT gradient instead of the Jacobian-free one.
        self.deq = implicit.DEQ(
            implicit.TanhCell(64, hidden), hidden,
            backward={"gradient": "implicit", "raise_on_failure": False,
                      "adjoint": {"rel_tol": 1e-5, "abs_tol": 1e-8}})
        self.head = torch.nn.Linear(hidden, 10)

    def forward(self, x):
        out = self.deq(x)
        return self.head(out.z), out.info


def status_names(statuses):
    return [getattr(s, "name", str(s)) for s in statuses]


def evaluate(net, x, y):
    """The whole test set in one batch, as the C++ demo does."""
    net.eval()
    with torch.no_grad():
        logits, info = net(x)
    net.train()
    names = status_names(info.forward.status)
    return {"accuracy": float(logits.argmax(1).eq(y).double().mean()),
            "mean_forward_iterations": float(info.forward.mean_iterations()),
            "unconverged": sum(s != "converged" for s in names)}


# ---------------------------------------------------------------- one rank


def gather_objects(obj, procs, keep):
    """torch.distributed.all_gather_object, but every tensor handed to Gloo
    stays referenced (in `keep`) until the process group is gone.

    Why not all_gather_object itself: with torch 1.13 it drops its tensors
    as soon as the collective returns, so a Gloo worker thread can hold the
    last reference and need the GIL to free them, while the main thread,
    holding the GIL, destroys the process group (DDP's Reducer going out of
    scope) and joins that worker: a deadlock at exit (seen here in one rank
    of two; the other had exited).
    """
    data = torch.tensor(list(pickle.dumps(obj)), dtype=torch.uint8)
    size = torch.tensor([data.numel()], dtype=torch.long)
    sizes = [torch.zeros(1, dtype=torch.long) for _ in range(procs)]
    dist.all_gather(sizes, size)
    longest = max(int(s) for s in sizes)
    padded = torch.zeros(longest, dtype=torch.uint8)
    padded[:data.numel()] = data
    out = [torch.zeros(longest, dtype=torch.uint8) for _ in range(procs)]
    dist.all_gather(out, padded)
    keep += [size, sizes, padded, out]
    return [pickle.loads(bytes(o[:int(s)].tolist())) for o, s in zip(out, sizes)]


def train(rank, args, port, result_path):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=args.procs)
    procs = args.procs
    train_x, train_y, test_x, test_y = load_split(args.data_dir)
    torch.manual_seed(args.seed)  # weight init, the same on every rank
    net = DigitsNet()
    model = DistributedDataParallel(net)
    adam = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    n = train_x.shape[0]
    batches = (n + BATCH - 1) // BATCH
    say = (lambda *a: print(*a, flush=True)) if rank == 0 else (lambda *a: None)

    say(f"digits DEQ, {procs} process(es) x 1 thread, Gloo/DDP, float32, hidden {HIDDEN}, "
        f"batch {BATCH} (global), {args.epochs} epochs, seed {args.seed}")
    say(f"{'epoch':>5} {'loss':>10} {'train_acc':>9} {'test_acc':>8} {'fwd_its':>8} "
        f"{'bwd_its':>8} {'unconverged':>11} {'skipped':>7} {'seconds':>7}")
    run_fwd, run_bwd = collections.Counter(), collections.Counter()
    epoch_rows, test = [], None
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        epoch_start = time.perf_counter()
        order = torch.tensor(permutation(n, args.seed * 1000003 + epoch))
        sums = torch.zeros(6, dtype=torch.float64)  # loss, correct, fwd, bwd, unconv, rows
        skipped = 0
        last_fwd, last_bwd = collections.Counter(), collections.Counter()
        for k in range(batches):
            idx = order[k * BATCH:min(n, (k + 1) * BATCH)][rank::procs]
            x, y = train_x[idx], train_y[idx]
            progress = ((epoch - 1) * batches + k) / (args.epochs * batches)
            for group in adam.param_groups:
                group["lr"] = LEARNING_RATE * 0.5 * (1 + math.cos(math.pi * progress))
            adam.zero_grad()
            logits, info = model(x)
            loss = torch.nn.functional.cross_entropy(logits, y)
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                raise RuntimeError(f"rank {rank}: loss {loss_value} at epoch {epoch}, batch {k}: "
                                   + info.brief_report())
            loss.backward()  # DDP all-reduces the gradients here
            rows = x.shape[0]
            fwd = status_names(info.forward.status)
            bwd = status_names(info.backward.status)
            last_fwd.update(fwd)
            last_bwd.update(bwd)
            sums += torch.tensor([loss_value * rows, float(logits.argmax(1).eq(y).sum()),
                                  info.forward.mean_iterations() * rows,
                                  info.backward.mean_iterations() * rows,
                                  sum(s != "converged" for s in fwd), rows], dtype=torch.float64)
            # As the demo: no step when no sample's adjoint is certified,
            # decided over all ranks so that they stay in step.
            certified = torch.tensor([sum(s == "converged" for s in bwd)])
            if procs > 1:
                dist.all_reduce(certified)
            if int(certified) == 0:
                skipped += 1
                say(f"epoch {epoch} batch {k} skipped: backward {info.backward.brief_report()}")
                continue
            adam.step()
        dist.all_reduce(sums)
        run_fwd.update(last_fwd)
        run_bwd.update(last_bwd)
        holder = [evaluate(net, test_x, test_y) if rank == 0 else None]
        dist.broadcast_object_list(holder, src=0)
        test = holder[0]
        seconds = time.perf_counter() - epoch_start
        loss_sum, correct, fwd_sum, bwd_sum, unconverged, rows = sums.tolist()
        row = {"epoch": epoch, "loss": loss_sum / rows, "train_accuracy": correct / rows,
               "test_accuracy": test["accuracy"], "forward_iterations": fwd_sum / rows,
               "backward_iterations": bwd_sum / rows, "unconverged": int(unconverged),
               "skipped": skipped, "seconds": seconds}
        epoch_rows.append(row)
        say(f"{epoch:>5} {row['loss']:>10.4f} {row['train_accuracy']:>9.4f} "
            f"{row['test_accuracy']:>8.4f} {row['forward_iterations']:>8.1f} "
            f"{row['backward_iterations']:>8.1f} {row['unconverged']:>11} {skipped:>7} "
            f"{seconds:>7.2f}")
    total = time.perf_counter() - start

    mine = {"rank": rank, "forward_run": dict(run_fwd), "backward_run": dict(run_bwd),
            "forward_last_epoch": dict(last_fwd), "backward_last_epoch": dict(last_bwd)}
    keep = []  # see gather_objects
    gathered = gather_objects(mine, procs, keep)
    if rank == 0:
        per_epoch = sum(r["seconds"] for r in epoch_rows) / len(epoch_rows)
        print(f"test accuracy {test['accuracy']:.4f} after {args.epochs} epochs in {total:.1f} s "
              f"({per_epoch:.2f} s per epoch; {procs} process(es))")
        print("per-rank statuses (samples; run = all epochs, last = last epoch):")
        for g in gathered:
            print(f"  rank {g['rank']}: forward run {g['forward_run']}, "
                  f"last {g['forward_last_epoch']}; "
                  f"backward run {g['backward_run']}, last {g['backward_last_epoch']}")
        summary = {"procs": procs, "epochs": args.epochs, "seed": args.seed,
                   "test_accuracy": test["accuracy"],
                   "test_mean_forward_iterations": test["mean_forward_iterations"],
                   "test_unconverged": test["unconverged"], "seconds": total,
                   "seconds_per_epoch": per_epoch, "per_epoch": epoch_rows, "ranks": gathered}
        with open(result_path, "w") as out:
            json.dump(summary, out)
    # Teardown in this order, the tensors of the last collectives still
    # referenced: the process group dies in destroy_process_group, with no
    # Gloo worker waiting for the GIL.
    dist.barrier()
    del model
    dist.destroy_process_group()
    del keep


# ---------------------------------------------------------------- driver


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cpp(args):
    """The C++ demo with this run's epochs and seed, timed."""
    binary = args.cpp_binary
    if not os.access(binary, os.X_OK):
        print(f"--compare-cpp: {binary} is not built (cmake --build build --target implicit)")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        command = [binary, "digits", "--epochs", str(args.epochs), "--seed", str(args.seed),
                   "--data-dir", args.data_dir, "--save", os.path.join(tmp, "digits-deq.pt"),
                   "--json", "--compact"]
        print("\n$ " + " ".join(command), flush=True)
        t0 = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
        wall = time.perf_counter() - t0
    sys.stdout.write(done.stderr)  # with --json the table is on stderr
    if done.returncode != 0:
        print(f"the C++ demo exited with {done.returncode}")
        return None
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    summary["wall_seconds"] = wall
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--procs", type=int, default=2, help="data-parallel processes (1 or 2)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seed", type=int, default=0, help="weight-initialisation seed")
    parser.add_argument("--data-dir", default=os.environ.get(
        "IMPLICIT_DATA_DIR", os.path.join(REPO, ".cache", "data")))
    parser.add_argument("--compare-cpp", action="store_true",
                        help="then run the C++ `implicit digits` with the same epochs and seed")
    parser.add_argument("--cpp-binary", default=os.path.join(REPO, "build", "apps", "implicit",
                                                             "implicit"))
    args = parser.parse_args()
    if args.procs < 1 or args.epochs < 1:
        parser.error("--procs and --epochs must be >= 1")
    if not os.path.exists(os.path.join(args.data_dir, "digits.csv.gz")):
        parser.error(f"no digits.csv.gz in {args.data_dir} (scripts/fetch-data.sh fetches it)")

    with tempfile.TemporaryDirectory() as tmp:
        result_path = os.path.join(tmp, "summary.json")
        t0 = time.perf_counter()
        mp.spawn(train, args=(args, free_port(), result_path), nprocs=args.procs, join=True)
        wall = time.perf_counter() - t0
        with open(result_path) as f:
            summary = json.load(f)
    summary["wall_seconds"] = wall
    print(f"wall time including process start-up: {wall:.1f} s")

    if args.compare_cpp:
        cpp = run_cpp(args)
        if cpp is not None:
            cpp_epochs = cpp.get("seconds") / args.epochs
            print(f"\n{'':>22} {'test_acc':>8} {'s/epoch':>8} {'total s':>8}")
            print(f"{'C++ implicit digits':>22} {cpp['test_accuracy']:>8.4f} {cpp_epochs:>8.2f} "
                  f"{cpp['seconds']:>8.1f}")
            print(f"{f'Python DDP x{args.procs}':>22} {summary['test_accuracy']:>8.4f} "
                  f"{summary['seconds_per_epoch']:>8.2f} {summary['seconds']:>8.1f}")
            summary["cpp"] = cpp
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
