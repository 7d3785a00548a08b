#pragma once
// The manual pages, in roff: acmectl(1) generated from the CLI11 definition (commands,
// options, their help text; environment variables from the options that name them) plus
// the hand-written sections, and acmectl.toml(5). The build writes them with the hidden
// `acmectl __man 1|5` and installs them; a test checks that every option of --help is in.

#include <CLI/CLI.hpp>
#include <string>

namespace agent::cli {

std::string command_man_page(const CLI::App& app);
std::string config_man_page();

}  // namespace agent::cli
