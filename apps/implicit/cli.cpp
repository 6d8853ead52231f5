#include "cli.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace implicit::cli {

bool Args::has_flag(const std::string& name) const {
  return std::find(flags.begin(), flags.end(), name) != flags.end();
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values.find(name);
  return it == values.end() ? fallback : it->second;
}

double Args::get_double(const std::string& name, double fallback) const {
  auto it = values.find(name);
  if (it == values.end()) return fallback;
  // strtod, not stod: a number too small for a normal double (5e-324) is a
  // number all the same (stod throws out_of_range for it); each option then
  // says what it does with tiny values (--tol raises them to its floor).
  const char* text = it->second.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text, &end);
  const bool overflow = errno == ERANGE && std::fabs(v) == HUGE_VAL;
  if (it->second.empty() || end != text + it->second.size() || overflow)
    throw std::invalid_argument("--" + name + " expects a number, got '" + it->second + "'");
  return v;
}

Args parse_args(int argc, char** argv, int first, const std::vector<std::string>& value_keys,
                const std::vector<std::string>& flag_keys) {
  Args args;
  for (int i = first; i < argc; ++i) {
    std::string word = argv[i];
    if (word.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument '" + word + "'");
    std::string key = word.substr(2);
    if (std::find(value_keys.begin(), value_keys.end(), key) != value_keys.end()) {
      if (i + 1 >= argc) throw std::invalid_argument("--" + key + " needs a value");
      args.values[key] = argv[++i];
    } else if (std::find(flag_keys.begin(), flag_keys.end(), key) != flag_keys.end()) {
      args.flags.push_back(key);
    } else {
      throw std::invalid_argument("unknown option '" + word + "'");
    }
  }
  return args;
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot open --input file '" + path + "'");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and out_of_range for numbers beyond a double (1e309):
    // both are bad input, not a failed solve (found by tests/fuzz/cli_fuzz).
    throw std::invalid_argument("--input file '" + path + "' is not valid JSON: " + e.what());
  }
}

Eigen::VectorXd to_vector(const nlohmann::json& j, const std::string& what) {
  if (!j.is_array() || j.empty())
    throw std::invalid_argument("'" + what + "' must be a non-empty array of numbers");
  Eigen::VectorXd v(static_cast<Eigen::Index>(j.size()));
  for (std::size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_number())
      throw std::invalid_argument("'" + what + "'[" + std::to_string(i) + "] is not a number");
    v[static_cast<Eigen::Index>(i)] = j[i].get<double>();
    if (!std::isfinite(v[static_cast<Eigen::Index>(i)]))
      throw std::invalid_argument("'" + what + "'[" + std::to_string(i) + "] is not finite");
  }
  return v;
}

Eigen::MatrixXd to_matrix(const nlohmann::json& j, const std::string& what) {
  if (!j.is_array() || j.empty())
    throw std::invalid_argument("'" + what + "' must be a non-empty array of rows");
  const auto rows = static_cast<Eigen::Index>(j.size());
  Eigen::MatrixXd m;
  for (Eigen::Index r = 0; r < rows; ++r) {
    Eigen::VectorXd row =
        to_vector(j[static_cast<std::size_t>(r)], what + "[" + std::to_string(r) + "]");
    if (r == 0) m.resize(rows, row.size());
    if (row.size() != m.cols())
      throw std::invalid_argument("'" + what + "' row " + std::to_string(r) + " has " +
                                  std::to_string(row.size()) + " entries, row 0 has " +
                                  std::to_string(m.cols()));
    m.row(r) = row.transpose();
  }
  return m;
}

nlohmann::json to_json(const Eigen::VectorXd& v) {
  return nlohmann::json(std::vector<double>(v.data(), v.data() + v.size()));
}

nlohmann::json to_json(const Eigen::MatrixXd& m) {
  nlohmann::json rows = nlohmann::json::array();
  for (Eigen::Index r = 0; r < m.rows(); ++r)
    rows.push_back(to_json(Eigen::VectorXd(m.row(r).transpose())));
  return rows;
}

const char* to_string(Backend backend) { return backend == Backend::kTorch ? "torch" : "eigen"; }

Backend backend_from(const Args& args) {
  const std::string name = args.get("backend", "eigen");
  if (name == "eigen") return Backend::kEigen;
  if (name == "torch") {
#ifdef IMPLICIT_WITH_TORCH
    return Backend::kTorch;
#else
    throw std::invalid_argument(
        "--backend torch: this build has no LibTorch layer (configured with "
        "IMPLICIT_WITH_TORCH=OFF)");
#endif
  }
  throw std::invalid_argument("--backend must be eigen or torch, got '" + name + "'");
}

}  // namespace implicit::cli
