#pragma once
// What each command's --help says after its options: examples, defaults (paths
// included) and exit codes. Kept apart from the option definitions so the footers read
// as one page; the manual page (`acmectl __man`) prints the same text.

#include <CLI/CLI.hpp>

namespace agent::cli {

// The group every global option is listed under, after the command's own options.
inline constexpr const char* kGlobalGroup = "Global options";

// Sets the footer of every command of `app` that has one written.
void add_help_footers(CLI::App& app);

}  // namespace agent::cli
