#!/usr/bin/python3
"""C++ (implicit::torch) against the plain-PyTorch baseline, in one go.

Runs bench/torch_deq_bench (Google Benchmark, JSON output) and
bench/python/deq_baseline.py on the same problem, then prints:

  1. the solver table: forward, backward and forward + backward times of
     both, the ratios Python / C++, the floor (BM_DeqFloor: the same kernels
     with no solver around them), and whether the iteration counts match
     (C++ fwd_evals == Python forward_iterations; C++ bwd_products ==
     Python backward_iterations + 2, the extra products being the C++
     adjoint's certificate and its ||A b|| probe for the condition bound);
     C++ / floor (the vs_floor counter: BM_Deq against the floor run
     alternately in the same benchmark, per solver); the C++ GMRES adjoint
     beside it;
  2. the forced-K sweep: IFT against unrolled backpropagation, times and
     memory (peak RSS growth of a fresh process for both, measured the same
     way; Python's autograd-saved bytes; C++'s tensor bytes held between
     forward and backward and at the peak);
  3. the B = 1 crossover of the C++ dense (Eigen) and tensor paths.

Both sides run single-threaded: torch.set_num_threads(1) in each, and
OPENBLAS_NUM_THREADS=1 / OMP_NUM_THREADS=1 in the environment, so that
OpenBLAS's own pthread pool does not add a second core to either.
Times are medians (C++: of --repetitions Google Benchmark repetitions;
Python: of --repeats runs), and with --rounds > 1 the two programs run
alternately that many times and the median of the rounds is kept, which
evens out a machine whose load drifts.

Exit code: 1 when an iteration count differs between the two (the problems
or the stopping rules are then not the same), 0 otherwise. The speed
targets (issue 11: Anderson forward + backward >= 2x faster than Python's
at n <= 256; forward iteration never slower than Python's; C++ within 1.1x
of the floor at n >= 100) are reported, not enforced.

Usage (stdlib only; Debian's Python runs the baseline, it has python3-torch):
  /usr/bin/python3 bench/compare_python.py [--bench build-bench/bench/torch_deq_bench]
      [--rounds 1] [--repetitions 5] [--repeats 7] [--quick] [--json out.json]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYTHON = "/usr/bin/python3"
BASELINE = os.path.join(HERE, "python", "deq_baseline.py")
SWEEP_K = (10, 30, 100)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def environment():
    env = dict(os.environ)
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def find_bench(path):
    candidates = [path] if path else [
        os.path.join(ROOT, "build-bench", "bench", "torch_deq_bench"),
        os.path.join(ROOT, "build", "bench", "torch_deq_bench")]
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    sys.exit("torch_deq_bench not found (tried " + ", ".join(candidates) + "); build it with\n"
             "  cmake -S . -B build-bench -DIMPLICIT_BUILD_BENCHMARKS=ON\n"
             "  cmake --build build-bench --target torch_deq_bench")


# ---------------------------------------------------------------------------
# Running both sides


def run_cpp(bench, regex, args):
    command = [bench, "--benchmark_filter=" + regex, "--benchmark_format=json",
               f"--benchmark_repetitions={args.repetitions}",
               "--benchmark_report_aggregates_only=true",
               f"--benchmark_min_time={args.min_time}"]
    log("$ " + " ".join(command))
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=environment())
    records = {}
    # One repetition has no aggregates: its single run is the median.
    wanted = "median" if args.repetitions > 1 else None
    for b in json.loads(out.stdout)["benchmarks"]:
        if b.get("aggregate_name") != wanted:
            continue
        if b.get("error_occurred"):
            sys.exit(f"{b['run_name']}: {b.get('error_message')}")
        records[b["run_name"].replace("/manual_time", "")] = b
    return records


def run_python(args):
    command = [PYTHON, BASELINE, "--sizes", args.sizes, "--sweep-sizes", args.sweep_sizes,
               "--repeats", str(args.repeats)]
    log("$ " + " ".join(command))
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True,
                         env=environment())
    return json.loads(out.stdout.strip().splitlines()[-1])


def cpp_memory(bench, mode, n, k):
    out = subprocess.run([bench, "--memory", mode, str(n), str(k)], check=True,
                         capture_output=True, text=True, env=environment())
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_of_rounds(rounds, key, field):
    values = [r[key][field] for r in rounds if key in r]
    return statistics.median(values) if values else None


# ---------------------------------------------------------------------------
# Tables


def table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    lines = ["| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(str(c).rjust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return "\n".join(lines)


def ms(x):
    return "—" if x is None else (f"{x:.3f}" if x < 10 else f"{x:.1f}")


def ratio(a, b):
    return "—" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", help="path of torch_deq_bench")
    parser.add_argument("--sizes", default="10,100,256,1024")
    parser.add_argument("--sweep-sizes", default="256,1024")
    parser.add_argument("--repeats", type=int, default=7, help="Python: timed runs per record")
    parser.add_argument("--repetitions", type=int, default=5, help="C++: benchmark repetitions")
    parser.add_argument("--min-time", type=float, default=0.2, help="C++: seconds per repetition")
    parser.add_argument("--rounds", type=int, default=1, help="alternate C++ and Python runs")
    parser.add_argument("--no-crossover", action="store_true", help="skip the B = 1 table")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: n = 10, 100, sweep at 256, 1 repetition")
    parser.add_argument("--json", help="also write every number to this file")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.sweep_sizes, args.repeats = "10,100", "256", 3
        args.repetitions, args.min_time, args.no_crossover = 1, 0.05, True
    bench = find_bench(args.bench)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    sweep_sizes = [int(s) for s in args.sweep_sizes.split(",") if s.strip()]

    # Run names end in /manual_time.
    deq_regex = "BM_Deq(Floor)?/(.*/)?(" + "|".join(map(str, sizes)) + ")/"
    forced_regex = "BM_Forced.*/n:(" + "|".join(map(str, sweep_sizes)) + ")/"
    cpp_rounds, py_rounds = [], []
    for r in range(args.rounds):
        log(f"round {r + 1} of {args.rounds}")
        cpp = run_cpp(bench, deq_regex, args)
        if sweep_sizes:
            cpp.update(run_cpp(bench, forced_regex, args))
        cpp_rounds.append({k: {**v, "time": v["real_time"]} for k, v in cpp.items()})
        py = run_python(args)
        py_rounds.append({(p["solver"], p["n"], p.get("K")): p for p in py})
    failures = []
    report = {"solver_table": [], "sweep": [], "crossover": []}

    # 1. Solver table.
    rows = []
    for n in sizes:
        for solver in ("forward", "anderson"):
            key = (solver, n, None)
            fpi, gmres = f"BM_Deq/{solver}_fpi/{n}", f"BM_Deq/{solver}_gmres/{n}"
            py = {f: median_of_rounds(py_rounds, key, f)
                  for f in ("forward_ms", "backward_ms", "forward_iterations",
                            "backward_iterations")}
            c = {f: median_of_rounds(cpp_rounds, fpi, f)
                 for f in ("fwd_ms", "bwd_ms", "fwd_evals", "bwd_products")}
            g = {f: median_of_rounds(cpp_rounds, gmres, f)
                 for f in ("fwd_ms", "bwd_ms", "bwd_products")}
            floor = {f: median_of_rounds(cpp_rounds, f"BM_DeqFloor/{solver}/{n}", f)
                     for f in ("fwd_ms", "bwd_ms")}
            vs_floor = median_of_rounds(cpp_rounds, fpi, "vs_floor")
            if py["forward_ms"] is None or c["fwd_ms"] is None:
                continue
            py_total = py["forward_ms"] + py["backward_ms"]
            c_total = c["fwd_ms"] + c["bwd_ms"]
            g_total = g["fwd_ms"] + g["bwd_ms"] if g["fwd_ms"] is not None else None
            floor_total = (floor["fwd_ms"] + floor["bwd_ms"]
                           if floor["fwd_ms"] is not None else None)
            counts_match = (int(c["fwd_evals"]) == int(py["forward_iterations"]) and
                            int(c["bwd_products"]) == int(py["backward_iterations"]) + 2)
            if not counts_match:
                failures.append(f"n = {n}, {solver}: iterations differ (C++ fwd "
                                f"{c['fwd_evals']:.0f} bwd {c['bwd_products']:.0f}, Python fwd "
                                f"{py['forward_iterations']} bwd {py['backward_iterations']} + 2)")
            target = 2.0 if solver == "anderson" and n <= 256 else 1.0
            met = py_total / c_total >= target
            floor_met = "—" if vs_floor is None or n < 100 else (
                "yes" if vs_floor <= 1.1 else "NO")
            rows.append([n, solver, ms(py["forward_ms"]), ms(py["backward_ms"]), ms(py_total),
                         ms(c["fwd_ms"]), ms(c["bwd_ms"]), ms(c_total),
                         ratio(py["forward_ms"], c["fwd_ms"]),
                         ratio(py["backward_ms"], c["bwd_ms"]), ratio(py_total, c_total),
                         f"{'yes' if met else 'NO'} (>= {target:g})",
                         f"{py['forward_iterations']:.0f} / {py['backward_iterations']:.0f}",
                         f"{c['fwd_evals']:.0f} / {c['bwd_products']:.0f}"
                         + ("" if counts_match else " MISMATCH"),
                         ms(g_total), ratio(py_total, g_total), ms(floor_total),
                         ratio(py_total, floor_total),
                         "—" if vs_floor is None else f"{vs_floor:.2f}", floor_met])
            report["solver_table"].append({"n": n, "solver": solver, "python": py, "cpp_fpi": c,
                                           "cpp_gmres": g, "cpp_floor": floor})
    print("\nSolver table (B = 64, float64, 1 thread; ms, medians). C++ adjoint = fixed-point "
          "iteration, as the Python hook; ratios are Python / C++. floor: the same f "
          "evaluations and VJPs in a bare C++ loop (BM_DeqFloor/<solver>), so Python / floor "
          "bounds the ratio any solver overhead could reach; C++ / floor: BM_Deq's vs_floor "
          "(the two run alternately in one benchmark), target <= 1.1 at n >= 100.")
    print(table(["n", "solver", "Py fwd", "Py bwd", "Py total", "C++ fwd", "C++ bwd",
                 "C++ total", "fwd ×", "bwd ×", "total ×", "target met", "Py its f/b",
                 "C++ evals f/b", "C++ GMRES total", "total × (GMRES)", "floor",
                 "Py / floor", "C++ / floor", "<= 1.1"], rows))

    # 2. Forced-K sweep with memory.
    rows = []
    for n in sweep_sizes:
        for k in SWEEP_K:
            for mode, bench_name in (("unrolled", "BM_ForcedUnrolled"),
                                     ("ift_forced", "BM_ForcedIft")):
                key = (mode, n, k)
                if not any(key in r for r in py_rounds):
                    continue  # the baseline skipped this size (its time budget)
                name = f"{bench_name}/K:{k}/n:{n}"
                py = {f: median_of_rounds(py_rounds, key, f)
                      for f in ("forward_ms", "backward_ms", "backward_iterations",
                                "peak_rss_growth_kib", "saved_kib")}
                c = {f: median_of_rounds(cpp_rounds, name, f)
                     for f in ("fwd_ms", "bwd_ms", "bwd_products", "held_bytes", "peak_bytes")}
                if c["fwd_ms"] is None:
                    continue
                memory = cpp_memory(bench, mode, n, k)
                py_total = py["forward_ms"] + py["backward_ms"]
                c_total = c["fwd_ms"] + c["bwd_ms"]
                rows.append([n, k, mode, ms(py["forward_ms"]), ms(py["backward_ms"]),
                             ms(c["fwd_ms"]), ms(c["bwd_ms"]),
                             ratio(py["backward_ms"], c["bwd_ms"]), ratio(py_total, c_total),
                             f"{py['backward_iterations']:.0f} / {c['bwd_products']:.0f}",
                             f"{py['peak_rss_growth_kib']:.0f}", f"{py['saved_kib']:.0f}",
                             f"{memory['peak_rss_growth_kib']}",
                             f"{c['held_bytes'] / 1024:.0f}", f"{c['peak_bytes'] / 1024:.0f}"])
                report["sweep"].append({"n": n, "K": k, "mode": mode, "python": py, "cpp": c,
                                        "cpp_memory": memory})
    if rows:
        print("\nForced K evaluations of f (B = 64): unrolled backprop vs IFT (adjoint by "
              "fixed-point iteration); ms; memory in KiB: RSS = peak RSS growth in a fresh "
              "process (both sides), saved = autograd-saved storages (Python), held / peak = "
              "tensor bytes live after the forward / at the peak (C++)")
        print(table(["n", "K", "mode", "Py fwd", "Py bwd", "C++ fwd", "C++ bwd", "bwd ×",
                     "total ×", "bwd its Py / C++", "Py RSS", "Py saved", "C++ RSS",
                     "C++ held", "C++ peak"], rows))

    # 3. Crossover (C++ only).
    if not args.no_crossover:
        cpp = run_cpp(bench, "BM_Crossover", args)
        rows = []
        for adjoint in ("auto", "gmres"):
            for n in (10, 30, 100, 300, 1000, 3000):
                d = cpp.get(f"BM_CrossoverDense/{adjoint}/{n}")
                t = cpp.get(f"BM_CrossoverTensor/{adjoint}/{n}")
                if not d or not t:
                    continue
                d_total, t_total = d["fwd_ms"] + d["bwd_ms"], t["fwd_ms"] + t["bwd_ms"]
                rows.append([adjoint, n, f"{1e3 * d['fwd_ms']:.1f}", f"{1e3 * d['bwd_ms']:.1f}",
                             d.get("label", ""), f"{1e3 * t['fwd_ms']:.1f}",
                             f"{1e3 * t['bwd_ms']:.1f}", ratio(t_total, d_total),
                             "tensor" if t_total < d_total else "dense"])
                report["crossover"].append({"adjoint": adjoint, "n": n, "dense": d,
                                            "tensor": t})
        print("\nB = 1 crossover, Anderson + IFT (µs): Eigen dense path vs tensor path; "
              "'tensor / dense' > 1 means the dense path is faster")
        print(table(["adjoint", "n", "dense fwd", "dense bwd", "dense adjoint", "tensor fwd",
                     "tensor bwd", "tensor / dense", "faster"], rows))

    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, default=str)
    for failure in failures:
        print("FAILED: " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
