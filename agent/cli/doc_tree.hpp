#pragma once
// The command-line definition (CLI11) as data, for what is generated from it: shell
// completion (`acmectl completion SHELL`) and the manual page (`acmectl __man`). Hidden
// commands and options (empty group) are left out.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace agent::cli {

struct OptionDoc {
  std::vector<std::string> names;  // "-d", "--domain"; a positional: its name ("name")
  std::string metavar;             // "TEXT", "INT", ...; "" for a flag
  std::string description;
  bool positional = false;
  bool required = false;
  bool repeatable = false;
  enum class Kind { kPlain, kFile, kDir, kCertName } kind = Kind::kPlain;
  std::vector<std::string> values;  // the values it takes, where the definition knows them
};

struct CommandDoc {
  std::string name;  // "issue", "rollover"; "acmectl" at the root
  std::string path;  // "", "issue", "account rollover"
  std::string description;
  std::string footer;
  std::vector<OptionDoc> options;
  std::vector<CommandDoc> subcommands;
  // The option named `option_name` ("--json"), or nullptr.
  const OptionDoc* find(const std::string& option_name) const;
};

CommandDoc describe(const CLI::App& app);

}  // namespace agent::cli
