#pragma once
// The subcommands of `implicit`. Each returns the process exit code:
// 0 on success, 1 when a solve did not converge (the JSON still says why),
// 2 on bad input (message on stderr).

namespace implicit::cli {

int deq_command(int argc, char** argv);               // argv[0] is "deq"
int monotone_inverse_command(int argc, char** argv);  // argv[0] is "monotone-inverse"

}  // namespace implicit::cli
