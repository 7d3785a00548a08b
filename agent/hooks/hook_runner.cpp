#include "hooks/hook_runner.hpp"

#include <cstring>
#include <sstream>

#include "acme/escape.hpp"
#include "acme/process.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;

bool needs_shell(const std::string& command) {
  return command.find_first_of("|&;<>()$`\\\"'*?[]#~=%{}\n") != std::string::npos;
}

namespace {

std::vector<std::string> split_words(const std::string& command) {
  std::istringstream in(command);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

std::vector<std::pair<std::string, std::string>> hook_environment(const HookContext& ctx) {
  std::vector<std::pair<std::string, std::string>> env;
  std::string domains;
  for (const auto& d : ctx.domains) domains += (domains.empty() ? "" : " ") + d;
  env.emplace_back("ACMECTL_CERT_NAME", ctx.cert_name);
  env.emplace_back("ACMECTL_DOMAINS", domains);
  if (ctx.dir.empty()) {
    // The post hook: no one certificate, so no paths (they used to be "/cert.pem" etc.);
    // ACMECTL_DOMAINS keeps holding the installed certificates' names, as before.
    env.emplace_back("ACMECTL_CERT_NAMES", domains);
  } else {
    env.emplace_back("ACMECTL_CERT_DIR", ctx.dir);
    env.emplace_back("ACMECTL_CERT_PATH", ctx.dir + "/cert.pem");
    env.emplace_back("ACMECTL_CHAIN_PATH", ctx.dir + "/chain.pem");
    env.emplace_back("ACMECTL_FULLCHAIN_PATH", ctx.dir + "/fullchain.pem");
    env.emplace_back("ACMECTL_COMBINED_PATH", ctx.dir + "/combined.pem");
    env.emplace_back("ACMECTL_KEY_PATH", ctx.dir + "/privkey.pem");
  }
  env.emplace_back("ACMECTL_EVENT", ctx.event);
  // Last, so a name given twice ends with the caller's value (run_process keeps the last).
  for (const auto& kv : ctx.extra_env) {
    std::erase_if(env, [&](const auto& e) { return e.first == kv.first; });
    env.push_back(kv);
  }
  return env;
}

}  // namespace

acme::Result<void> run_hook(const std::string& command, const HookContext& ctx,
                            std::chrono::seconds timeout, spdlog::logger& log) {
  acme::ProcessSpec spec =
      needs_shell(command) ? acme::ProcessSpec::shell(command) : acme::ProcessSpec{};
  if (!needs_shell(command)) spec.argv = split_words(command);
  if (spec.argv.empty()) return make_error(Errc::kInvalidInput, "hook command is empty");
  spec.env = hook_environment(ctx);
  spec.drop_env_prefixes = {"ACMECTL_"};  // never a stale value from our own environment
  spec.timeout = timeout;
  spec.input = ctx.input;
  const std::string name = "hook \"" + acme::escape_control(command) + "\"";

  auto ran = acme::run_process(spec);
  if (!ran) return make_error(ran.error().code, name + ": " + ran.error().message);
  const acme::ProcessResult& r = *ran;
  if (r.timed_out) {
    return make_error(Errc::kTimeout, name + " " + r.describe(spec.timeout));
  }
  std::string last_line;
  {
    std::istringstream in(r.output);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      // Issue 13 finding 7: a hook's output is logged, not played to a terminal.
      last_line = acme::escape_control(line);
      log.info("hook cert={} output: {}", acme::escape_control(ctx.cert_name), last_line);
    }
  }
  if (r.output_truncated) {
    log.warn("hook cert={} output: more than {} bytes, the rest was dropped",
             acme::escape_control(ctx.cert_name), spec.max_output);
  }
  if (r.exec_errno != 0) {
    // What a shell would say, with the same status (127).
    last_line =
        "cannot execute " + acme::escape_control(spec.argv[0]) + ": " + std::strerror(r.exec_errno);
  }
  if (r.success()) {
    log.info("hook cert={} command={} exit=0 took_ms={}", acme::escape_control(ctx.cert_name),
             name.substr(5), r.took.count());
    return acme::ok();
  }
  const std::string why = r.exited ? "exited with status " + std::to_string(r.exit_code)
                                   : "killed by signal " + std::to_string(r.signal);
  std::string msg = name + " " + why;
  if (!last_line.empty()) msg += ": " + last_line;
  log.warn("{}", msg);
  return make_error(Errc::kIo, msg);
}

}  // namespace agent
