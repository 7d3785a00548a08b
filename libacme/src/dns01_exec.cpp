// The exec DnsProvider: runs the user's program as PROGRAM present|cleanup FQDN VALUE,
// without a shell (nothing is spliced into a command string), through the shared process
// runner: a timeout that stops its process group, its stderr captured into the error, and
// no descriptor of ours but 0, 1, 2 in the child. Contract in docs/dns-01.md.
#include <cctype>
#include <cstring>

#include "acme/dns01.hpp"
#include "acme/escape.hpp"
#include "acme/process.hpp"
#include "dns01_detail.hpp"

namespace acme {
namespace detail {
namespace {

ProcessSpec exec_hook_spec(const std::string& program, std::string_view action,
                           const std::string& fqdn, const std::string& value) {
  ProcessSpec spec;
  spec.argv = exec_hook_argv(program, action, fqdn, value);
  spec.drop_env_prefixes = {"ACMECTL_DNS01_"};
  spec.env = {{"ACMECTL_DNS01_ACTION", std::string(action)},
              {"ACMECTL_DNS01_FQDN", fqdn},
              {"ACMECTL_DNS01_VALUE", value}};
  spec.capture_stdout = false;  // stdout is not part of the contract
  return spec;
}

}  // namespace

std::vector<std::string> exec_hook_argv(const std::string& program, std::string_view action,
                                        const std::string& fqdn, const std::string& value) {
  return {program, std::string(action), fqdn, value};
}

std::vector<std::string> exec_hook_env(char* const* base, std::string_view action,
                                       const std::string& fqdn, const std::string& value) {
  return child_environment(base, exec_hook_spec("", action, fqdn, value));
}

std::string last_line(std::string_view output) {
  std::string_view best;
  while (!output.empty()) {
    const auto nl = output.find('\n');
    std::string_view line = output.substr(0, nl);
    output = nl == std::string_view::npos ? std::string_view() : output.substr(nl + 1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) {
      line.remove_suffix(1);
    }
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) {
      line.remove_prefix(1);
    }
    if (!line.empty()) best = line;
  }
  std::string out(best.substr(0, 300));
  for (char& c : out) {
    if (c == '\t' || c == '\r') c = ' ';
  }
  return escape_control(out);  // issue 13 finding 7: a hook's output is not a terminal's
}

}  // namespace detail

namespace {

class ExecProvider final : public DnsProvider {
 public:
  explicit ExecProvider(ExecOptions options) : options_(std::move(options)) {}
  std::string_view name() const noexcept override { return "exec"; }

  Result<void> add_txt(const std::string& fqdn, const std::string& value) override {
    return run("present", fqdn, value);
  }
  Result<void> remove_txt(const std::string& fqdn, const std::string& value) override {
    return run("cleanup", fqdn, value);
  }

 private:
  Result<void> run(std::string_view action, const std::string& fqdn, const std::string& value) {
    const std::string what =
        "dns exec hook " + options_.program + " " + std::string(action) + " " + fqdn + " " + value;
    ProcessSpec spec = detail::exec_hook_spec(options_.program, action, fqdn, value);
    spec.timeout = options_.timeout;
    auto ran = run_process(spec);
    if (!ran) return make_error(ran.error().code, what + ": " + ran.error().message);
    const ProcessResult& r = *ran;
    if (r.success()) return ok();
    if (r.exec_errno != 0) {
      return make_error(Errc::kIo, what + ": cannot execute " + options_.program + ": " +
                                       std::strerror(r.exec_errno));
    }
    if (r.timed_out) return make_error(Errc::kTimeout, what + " " + r.describe(spec.timeout));
    std::string msg = what + " " + r.describe(spec.timeout);
    const std::string line = detail::last_line(r.output);
    if (!line.empty()) msg += ": " + line;
    return make_error(Errc::kIo, msg);
  }

  ExecOptions options_;
};

}  // namespace

std::unique_ptr<DnsProvider> make_exec_provider(ExecOptions options) {
  return std::make_unique<ExecProvider>(std::move(options));
}

}  // namespace acme
