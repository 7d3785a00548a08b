#include "cli/help_text.hpp"

#include <string>
#include <utility>
#include <vector>

namespace agent::cli {

namespace {

// (Continuation lines start with a capital: scripts read "  word" lines after
// "Subcommands:" as command names.)
constexpr const char* kPaths =
    "Defaults:\n"
    "  State dir /var/lib/acmectl (root), else ~/.local/state/acmectl (STATE).\n"
    "  Config /etc/acmectl/acmectl.toml when it exists.\n"
    "  Files in STATE/live/NAME (with --out OUT: OUT/NAME).\n";

constexpr const char* kExit =
    "Exit status: 0 success, 1 failure (one line on stderr), 2 usage error.";

const std::vector<std::pair<std::string, std::string>>& footers() {
  static const std::vector<std::pair<std::string, std::string>> f = {
      {"issue",
       "Examples:\n"
       "  acmectl issue -d example.com -d www.example.com --agree-tos -m ops@example.com\n"
       "  acmectl issue -d example.com --http01-listen 127.0.0.1:8402   # behind nginx\n"
       "  acmectl issue -d example.com -w /var/www/html --pkcs12\n"
       "  acmectl issue -d '*.example.com' --challenge dns-01 --dns-provider exec "
       "--dns-exec /etc/acmectl/hooks/dns.sh\n" +
           std::string(kPaths) +
           "  Writes cert.pem, chain.pem, fullchain.pem, privkey.pem (0600) and combined.pem\n"
           "  (key + chain, 0600) in OUT/NAME; every file replaced atomically.\n"
           "Exit status: 0 issued (or not due: nothing to do), 1 failure, 2 usage error."},
      {"renew",
       "Examples:\n"
       "  acmectl renew -q                 # from cron: silent unless something changed or "
       "failed\n"
       "  acmectl renew example.com --force\n" +
           std::string(kPaths) +
           "  Window: [agent] renew_before_days (30), capped at a third of the lifetime.\n"
           "  Nothing recorded yet: prints so and exits 0.\n"
           "Exit status: 0 renewed or nothing due, 1 a renewal or hook failed, 2 usage error."},
      {"list",
       "Examples:\n  acmectl list\n  acmectl list -v      # key type, issuer and file paths\n"
       "  acmectl list --json\n"
       "STATUS: valid, due (renewal window reached), EXPIRED, failing (n), retry at T,\n"
       "  revoked, unmanaged (gone from the config).\n" +
           std::string(kPaths) + kExit},
      {"show", "Examples:\n  acmectl show example.com\n  acmectl show example.com --json\n" +
                   std::string(kPaths) + kExit},
      {"delete", "Examples:\n  acmectl delete example.com\n  acmectl delete example.com --purge\n" +
                     std::string(kPaths) + kExit},
      {"revoke", "Examples:\n  acmectl revoke example.com --reason keyCompromise\n" +
                     std::string(kPaths) + kExit},
      {"agent",
       "Examples:\n  acmectl agent --config /etc/acmectl/acmectl.toml\n"
       "  acmectl agent --once\n"
       "Serves /metrics, /healthz and an HTML status page at / on --metrics-listen\n"
       "(default 127.0.0.1:9469). SIGHUP reloads the config, SIGTERM stops.\n" +
           std::string(kPaths) + kExit},
      {"profiles", "Examples:\n  acmectl profiles --server letsencrypt\n" + std::string(kExit)},
      {"account",
       "Examples:\n  acmectl account register --agree-tos -m ops@example.com\n"
       "  acmectl account rollover\n" +
           std::string(kPaths) + kExit},
      {"gen",
       "Examples:\n  acmectl gen nginx -d example.com --upstream 127.0.0.1:8080\n"
       "  acmectl gen systemd --agent\n"
       "  acmectl gen dockerfile --binary app\n" +
           std::string(kExit)},
  };
  return f;
}

}  // namespace

void add_help_footers(CLI::App& app) {
  for (const auto& [name, text] : footers()) {
    CLI::App* cmd = nullptr;
    try {
      cmd = app.get_subcommand(name);
    } catch (const CLI::OptionNotFound&) {
      continue;  // a command this build does not have
    }
    if (cmd->get_footer().empty()) cmd->footer(text);
  }
  if (app.get_footer().empty()) {
    app.footer("Run 'acmectl COMMAND --help' for a command's options, examples and exit codes.\n" +
               std::string(kPaths) + kExit);
  }
}

}  // namespace agent::cli
