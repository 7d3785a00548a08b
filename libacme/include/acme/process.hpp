#pragma once
// The one process runner (ARCHITECTURE.md's ProcessRunner seam): deploy/post hooks and the
// dns-01 exec provider start programs through it.
//
// Contract:
//  - The program runs with argv as given (no shell) unless built with shell(), which runs
//    /bin/sh -c COMMAND because the user wrote shell syntax. Nothing is spliced into a
//    command string: data goes in the environment.
//  - The child sees exactly descriptors 0, 1 and 2: stdin is /dev/null (or `input`), stdout and
//  stderr
//    go to one pipe that is captured (stdout to /dev/null when capture_stdout is false);
//    every other descriptor is closed in the child, whether or not it is close-on-exec
//    (close_range, or /proc/self/fd where the kernel has none).
//  - The child gets its own process group, an empty signal mask and default signal
//    dispositions (a parent that blocks or ignores SIGTERM/SIGPIPE does not pass that on).
//  - After `timeout` the whole process group gets SIGTERM, then SIGKILL after a grace
//    period; run_process() returns within timeout + grace.
//  - Once the program has exited, output is read until the pipe is quiet, so a daemon it
//    started (holding the pipe open) cannot keep the caller waiting.
//  - Output beyond max_output bytes is read and dropped (the child never blocks on a full
//    pipe); `output_truncated` says so.

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "acme/result.hpp"

namespace acme {

struct ProcessSpec {
  // argv[0] is the program: a path, or a bare name looked up in PATH.
  std::vector<std::string> argv{};
  // Added to (and replacing same-named entries of) the inherited environment.
  std::vector<std::pair<std::string, std::string>> env{};
  // Inherited variables whose names start with one of these are dropped first (a stale
  // ACMECTL_* from the agent's own environment never reaches a hook).
  std::vector<std::string> drop_env_prefixes{};
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds kill_grace{std::chrono::seconds(2)};
  bool capture_stdout = true;
  // Given to the program on stdin, then end of file; empty: stdin is /dev/null. At most
  // kMaxInput bytes: it is written into the pipe before the program starts, so the caller
  // never waits on a program that does not read and never gets SIGPIPE.
  std::string input{};
  static constexpr std::size_t kMaxInput = 60 * 1024;
  std::size_t max_output = 64 * 1024;

  // /bin/sh -c COMMAND.
  static ProcessSpec shell(std::string command);
};

struct ProcessResult {
  bool exited = false;     // exited normally: exit_code is valid
  int exit_code = -1;      // 127 when the program could not be executed
  int signal = 0;          // the signal that killed it, when !exited
  bool timed_out = false;  // stopped after the timeout (then signal is SIGTERM or SIGKILL)
  int exec_errno = 0;      // why the program could not be executed (then exit_code 127)
  std::string output;      // stdout+stderr (or stderr alone), at most max_output bytes
  bool output_truncated = false;
  std::chrono::milliseconds took{0};

  bool success() const noexcept { return exited && exit_code == 0 && !timed_out; }
  // "exited with status 3", "was killed by signal 9", "timed out after 2s and was stopped",
  // "could not be executed: No such file or directory".
  std::string describe(std::chrono::milliseconds timeout) const;
};

// An Error only when the runner itself failed (pipe, spawn resources); a program that
// fails, cannot be executed or times out is a ProcessResult saying so.
Result<ProcessResult> run_process(const ProcessSpec& spec);

// The environment a child would get: `base` (KEY=VALUE strings, e.g. environ) without the
// dropped prefixes and the overridden names, then spec.env in order.
std::vector<std::string> child_environment(char* const* base, const ProcessSpec& spec);

// "2s", "200ms": a timeout as people write it.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace acme
