// libFuzzer target: arbitrary bytes through the CLI's JSON reading and both
// dense solves (`implicit deq` and `implicit monotone-inverse`, eigen
// backend; the LibTorch backend is left out: one LibTorch translation unit
// under the fuzzer's sanitizers costs more than the whole fuzz budget).
//
// Input: byte 0 picks the command and its options, the rest is the --input
// file. The command line goes through the program's own parser and
// dispatch (cli::run_program, CLI11), as main() runs it. The outcome must be
// one of: exit 2 (bad input: run_program turned std::invalid_argument or a
// parse error into it), exit 1 (a solve did not converge: the JSON says so,
// with "ok": false), or exit 0 with valid JSON whose "ok" is true, every
// status `converged` and every number finite. Anything else (a crash,
// another exception, a leak, a hang, exit 0 with a failed status or a NaN,
// "ok" disagreeing with the exit code) aborts, which libFuzzer reports.
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

#include "cli.hpp"
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
    args = {"implicit", "monotone-inverse", "--input", path, "--compact"};
    if (mode & 2) args.insert(args.end(), {"--method", (mode & 4) ? "bisection" : "toms748"});
    if (mode & 8) args.insert(args.end(), {"--max-iter", (mode & 16) ? "3" : "200"});
  } else {
    args = {"implicit", "deq", "--input", path, "--solver", solvers[(mode >> 1) & 3], "--compact"};
    if (mode & 8) args.insert(args.end(), {"--tol", tols[(mode >> 4) & 3]});
    if (mode & 64) args.push_back("--unrolled");
    if (mode & 128) args.insert(args.end(), {"--max-iter", "5"});
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // A fresh program per input: a CLI11 app keeps what it parsed.
  CLI::App program{"implicit", "implicit"};
  const std::vector<implicit::cli::Command> commands = {
      implicit::cli::add_deq_command(program), implicit::cli::add_monotone_inverse_command(program)};
  std::ostringstream captured, errors;
  std::streambuf* saved = std::cout.rdbuf(captured.rdbuf());
  std::streambuf* saved_err = std::cerr.rdbuf(errors.rdbuf());  // exit 2's message, unread
  // Any exception but the ones run_program maps to exit 2 escapes here, and
  // libFuzzer reports it as a crash.
  const int code =
      implicit::cli::run_program(program, commands, static_cast<int>(args.size()), argv.data());
  std::cout.rdbuf(saved);
  std::cerr.rdbuf(saved_err);
  const std::string output = captured.str();
  if (code == 0 || code == 1) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(output);
    } catch (const std::exception& e) {
      fail("exit " + std::to_string(code) + " without valid JSON: " + e.what(), output);
    }
    if (!j.is_object() || !j.contains("ok") || j["ok"] != (code == 0) || !j.contains("messages") ||
        !j["messages"].is_array())
      fail("exit " + std::to_string(code) + " with \"ok\" or \"messages\" wrong", output);
    if (code == 0) check_honest(j, "", output);
  } else if (code != 2) {
    fail("exit code " + std::to_string(code), output);
  }
  return 0;
}
