#pragma once
// `acmectl completion bash|zsh|fish`, and the hidden helpers behind completion and the
// manual: `acmectl __complete-names` (certificate names from the store, one a line) and
// `acmectl __man [1|5]` (roff on stdout; the build installs its output).

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "cli/common.hpp"

namespace agent::cli {

struct DocCommands {
  CLI::App* completion = nullptr;
  CLI::App* complete_names = nullptr;
  CLI::App* man = nullptr;
  std::string shell;
  int section = 1;
  bool parsed() const;
};

// add_globals: adds the global options (--state-dir, --config, ...) to __complete-names.
DocCommands add_doc_commands(CLI::App& app, const std::function<void(CLI::App&)>& add_globals);
// app: the whole definition, which the scripts and the manual are generated from.
int run_doc_commands(const CLI::App& app, const DocCommands& cmds, const GlobalOptions& g);

// The completion script for shell ("bash", "zsh" or "fish") of the definition app.
std::string completion_script(const CLI::App& app, const std::string& shell);

}  // namespace agent::cli
