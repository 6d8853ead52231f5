#pragma once
// The subcommands of `implicit`. Each adds itself, with its options, to the
// program's CLI11 app and returns the Command that runs it once the command
// line has parsed (cli.hpp: run_program). A run returns the exit code: 0 on
// success, 1 when a solve did not converge (the JSON still says why); bad
// input throws std::invalid_argument (exit 2, message on stderr).

#include "cli.hpp"

namespace implicit::cli {

Command add_deq_command(CLI::App& program);               // implicit deq
Command add_monotone_inverse_command(CLI::App& program);  // implicit monotone-inverse

#ifdef IMPLICIT_WITH_TORCH
// Training demos on real data (LibTorch). Exit code 1 means training failed
// (a NaN loss), 2 bad arguments or missing data.
Command add_digits_command(CLI::App& program);   // implicit digits
Command add_flow_1d_command(CLI::App& program);  // implicit flow-1d
#endif

}  // namespace implicit::cli
