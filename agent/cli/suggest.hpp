#pragma once
// Typos on the command line: `acmectl isue` or `issue --domian x` is answered with the
// closest known spelling ("did you mean issue?") before CLI11 parses, so a misspelt
// option is never reported as a missing required one.

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace agent::cli {

// Edit distance (insertions, deletions, substitutions, adjacent swaps).
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `word`, if it is close enough to be a likely typo.
std::optional<std::string> closest(const std::string& word,
                                   const std::vector<std::string>& candidates);

// Walks the arguments along `app`'s commands and options. Returns the usage error for
// the first unknown command or option ("unknown option --domian (did you mean
// --domain?)"), or nothing when every word is known.
std::optional<std::string> check_spelling(const CLI::App& app, int argc, const char* const* argv);

}  // namespace agent::cli
