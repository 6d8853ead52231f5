#pragma once
// Small shared pieces of the `implicit` command-line program: argument
// parsing, JSON file input, and conversions between JSON and Eigen.

#include <Eigen/Core>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace implicit::cli {

// Parsed "--key value" / "--flag" arguments after the subcommand name.
struct Args {
  std::map<std::string, std::string> values;  // --key value
  std::vector<std::string> flags;             // --flag (no value)

  bool has_flag(const std::string& name) const;
  // The value of --name, or fallback when absent.
  std::string get(const std::string& name, const std::string& fallback) const;
  // The value of --name parsed as a double; throws std::invalid_argument naming it.
  double get_double(const std::string& name, double fallback) const;
};

// Parses argv[first..argc). `value_keys` lists options that take a value; any
// other --word is a flag. Unknown options throw std::invalid_argument.
Args parse_args(int argc, char** argv, int first, const std::vector<std::string>& value_keys,
                const std::vector<std::string>& flag_keys);

nlohmann::json read_json_file(const std::string& path);

// JSON array of numbers -> vector; throws std::invalid_argument naming `what`
// when the value is not a non-empty array of finite numbers.
Eigen::VectorXd to_vector(const nlohmann::json& j, const std::string& what);
// JSON array of equal-length rows -> matrix, same checks.
Eigen::MatrixXd to_matrix(const nlohmann::json& j, const std::string& what);

nlohmann::json to_json(const Eigen::VectorXd& v);
nlohmann::json to_json(const Eigen::MatrixXd& m);  // list of rows

// Which implementation a command runs: the dense Eigen core or the
// LibTorch layer (--backend eigen|torch, default eigen). Throws
// std::invalid_argument for another name, or for torch in a build without it.
enum class Backend { kEigen, kTorch };
const char* to_string(Backend backend);
Backend backend_from(const Args& args);

}  // namespace implicit::cli
