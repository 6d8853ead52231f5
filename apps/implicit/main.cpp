// implicit: differentiable fixed points and roots from the command line.
#include <cstring>
#include <exception>
#include <iostream>
#include <stdexcept>

#include "commands.hpp"

namespace {

const char* kUsage =
    "usage: implicit <command> [options]\n"
    "\n"
    "commands:\n"
    "  deq               fixed point z* = tanh(W z* + x) and its gradients (SPEC.md section 1)\n"
    "      --input FILE.json   {\"W\": [[...]], \"x\": [...]}; without it: a reproducible n = 10 "
    "report\n"
    "      --solver NAME       forward_iteration | anderson | newton | broyden (default anderson;\n"
    "                          fixed_point is an alias of forward_iteration)\n"
    "      --tol T             relative tolerance, > 0 (default 1e-10); values below 8\n"
    "                          machine epsilons (1.8e-15) are raised to that floor\n"
    "      --unrolled          also differentiate by unrolling forward iteration\n"
    "      --backend eigen|torch   dense core (default) or implicit::torch (needs --input)\n"
    "  monotone-inverse  inverse of a monotone network and its gradients (SPEC.md section 2)\n"
    "      --input FILE.json   {\"w\": [...], \"v\": [...], \"b\": [...], \"y\": [...]}\n"
    "      --backend eigen|torch   dense core (default) or implicit::torch (needs --input)\n"
#ifdef IMPLICIT_WITH_TORCH
    "  digits            train a DEQ classifier on the 8x8 digits (1437 train / 360 test)\n"
    "      --epochs N          training epochs (default 12)\n"
    "      --seed S            weight-initialisation seed (default 0; the split is fixed)\n"
    "      --save MODEL        where to write the trained model (default digits-deq.pt)\n"
    "      --eval MODEL        only load MODEL and print its test accuracy\n"
    "      --data-dir D        folder of digits.csv.gz (default: scripts/fetch-data.sh's)\n"
    "      --json              last line: a JSON summary\n"
    "  flow-1d           fit a monotone network so Rinv(Exp(1)) matches the diabetes target\n"
    "      --steps N           Adam steps (default 500)\n"
    "      --plot PNG          Q-Q plot before/after (default flow-1d.png; needs gnuplot)\n"
    "      --data-dir D        folder of diabetes_target.csv.gz\n"
    "      --json              last line: a JSON summary\n"
#endif
    "\n"
    "exit codes: 0 ok, 1 a solve did not converge or training failed, 2 bad input or missing "
    "data\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  try {
    if (!std::strcmp(argv[1], "deq")) return implicit::cli::deq_command(argc - 1, argv + 1);
    if (!std::strcmp(argv[1], "monotone-inverse"))
      return implicit::cli::monotone_inverse_command(argc - 1, argv + 1);
#ifdef IMPLICIT_WITH_TORCH
    if (!std::strcmp(argv[1], "digits")) return implicit::cli::digits_command(argc - 1, argv + 1);
    if (!std::strcmp(argv[1], "flow-1d")) return implicit::cli::flow_1d_command(argc - 1, argv + 1);
#endif
    std::cerr << "implicit: unknown command '" << argv[1] << "'\n\n" << kUsage;
    return 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << "implicit " << argv[1] << ": " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "implicit " << argv[1] << ": error: " << e.what() << '\n';
    return 2;
  }
}
