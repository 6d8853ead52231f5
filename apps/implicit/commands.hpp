#pragma once
// The subcommands of `implicit`. Each returns the process exit code:
// 0 on success, 1 when a solve did not converge (the JSON still says why),
// 2 on bad input (message on stderr).

namespace implicit::cli {

int deq_command(int argc, char** argv);               // argv[0] is "deq"
int monotone_inverse_command(int argc, char** argv);  // argv[0] is "monotone-inverse"

#ifdef IMPLICIT_WITH_TORCH
// Training demos on real data (LibTorch). Exit code 1 means training failed
// (a NaN loss), 2 bad arguments or missing data.
int digits_command(int argc, char** argv);   // argv[0] is "digits"
int flow_1d_command(int argc, char** argv);  // argv[0] is "flow-1d"
#endif

}  // namespace implicit::cli
