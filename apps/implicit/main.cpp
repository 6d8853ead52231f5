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
    "      --solver NAME       fixed_point | anderson | newton | broyden (default anderson)\n"
    "      --tol T             relative tolerance (default 1e-10)\n"
    "      --unrolled          also differentiate by unrolling forward iteration\n"
    "  monotone-inverse  inverse of a monotone network and its gradients (SPEC.md section 2)\n"
    "      --input FILE.json   {\"w\": [...], \"v\": [...], \"b\": [...], \"y\": [...]}\n"
    "\n"
    "exit codes: 0 ok, 1 a solve did not converge (JSON says why), 2 bad input\n";

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
