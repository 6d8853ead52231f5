// libFuzzer target: arbitrary bytes through the CLI's JSON reading and both
// dense solves (`implicit deq` and `implicit monotone-inverse`, eigen
// backend; the LibTorch backend is left out: one LibTorch translation unit
// under the fuzzer's sanitizers costs more than the whole fuzz budget).
//
// Input: byte 0 picks the command and its options, the rest is the --input
// file. The outcome must be one of: exit 2 with std::invalid_argument (bad
// input), exit 1 (a solve did not converge: the JSON says so), or exit 0
// with valid JSON whose every status is `converged` and whose numbers are
// finite. Anything else (a crash, another exception, a leak, a hang, exit 0
// with a failed status or a NaN) aborts, which libFuzzer reports.
//
// Built and run by scripts/fuzz.sh (clang-14 -fsanitize=fuzzer,address,undefined).

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands.hpp"

namespace {

void fail(const std::string& why, const std::string& output) {
  std::fprintf(stderr, "cli_fuzz: %s\n%s\n", why.c_str(), output.substr(0, 2000).c_str());
  std::abort();
}

// Every number in j finite; every string called "status" (or in an array
// called "status", or "adjoint_status") "converged".
void check_honest(const nlohmann::json& j, const std::string& key, const std::string& output) {
  if (j.is_number() && !std::isfinite(j.get<double>())) fail("exit 0 with a non-finite " + key, output);
  if (j.is_string() && (key == "status" || key == "adjoint_status") &&
      j.get<std::string>() != "converged")
    fail("exit 0 with " + key + " = " + j.get<std::string>(), output);
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "unrolled") continue;  // a reference, reported as is (see its note)
      check_honest(it.value(), it.key(), output);
    }
  if (j.is_array())
    for (const auto& e : j) check_honest(e, key, output);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  static const std::string path = "/tmp/implicit-cli-fuzz-" + std::to_string(getpid()) + ".json";
  {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
  }
  const bool monotone = mode & 1;
  const char* solvers[] = {"forward_iteration", "anderson", "newton", "broyden"};
  const char* tols[] = {"1e-10", "0.5", "5e-324", "1e-3"};
  std::vector<std::string> args;
  if (monotone) {
    args = {"monotone-inverse", "--input", path};
    if (mode & 2) args.insert(args.end(), {"--method", (mode & 4) ? "bisection" : "toms748"});
  } else {
    args = {"deq", "--input", path, "--solver", solvers[(mode >> 1) & 3]};
    if (mode & 8) args.insert(args.end(), {"--tol", tols[(mode >> 4) & 3]});
    if (mode & 64) args.push_back("--unrolled");
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::ostringstream captured;
  std::streambuf* saved = std::cout.rdbuf(captured.rdbuf());
  int code = 0;
  try {
    code = monotone
               ? implicit::cli::monotone_inverse_command(static_cast<int>(args.size()), argv.data())
               : implicit::cli::deq_command(static_cast<int>(args.size()), argv.data());
  } catch (const std::invalid_argument&) {
    code = 2;  // bad input, reported by main() as exit 2
  }
  std::cout.rdbuf(saved);
  const std::string output = captured.str();
  if (code == 0) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(output);
    } catch (const std::exception& e) {
      fail(std::string("exit 0 without valid JSON: ") + e.what(), output);
    }
    check_honest(j, "", output);
  } else if (code != 1 && code != 2) {
    fail("exit code " + std::to_string(code), output);
  }
  return 0;
}
