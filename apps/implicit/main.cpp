// implicit: differentiable fixed points and roots from the command line.
// Each subcommand adds its options to the program (commands.hpp);
// `implicit --help` lists the subcommands, `implicit <command> --help`
// every option of one, with its default.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "commands.hpp"

int main(int argc, char** argv) {
  namespace cli = implicit::cli;
  CLI::App program{
      "implicit: differentiable fixed points and roots, and their gradients by the implicit "
      "function theorem",
      "implicit"};
  program.footer(std::string("Run 'implicit <command> --help' for a command's options.\n") +
                 cli::kExitCodes);
  std::vector<cli::Command> commands = {cli::add_deq_command(program),
                                        cli::add_monotone_inverse_command(program)};
#ifdef IMPLICIT_WITH_TORCH
  commands.push_back(cli::add_digits_command(program));
  commands.push_back(cli::add_flow_1d_command(program));
#endif
  try {
    return cli::run_program(program, commands, argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "implicit" << (argc > 1 ? std::string(" ") + argv[1] : "") << ": error: "
              << e.what() << '\n';
    return 2;
  }
}
