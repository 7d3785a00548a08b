#include "cli/import_cmd.hpp"

#include <iostream>
#include <nlohmann/json.hpp>

#include "import/import.hpp"

namespace agent::cli {

ImportCommands add_import_command(CLI::App& app, ImportCmdOptions& o,
                                  const std::function<void(CLI::App&)>& add_globals) {
  ImportCommands c;
  c.import = app.add_subcommand(
      "import", "Take over certbot, lego or acme.sh certificates with the same ACME account");
  c.import->require_subcommand(1);
  add_globals(*c.import);
  auto common = [&o, &add_globals](CLI::App* cmd) {
    cmd->add_flag("--copy", o.copy,
                  "Copy the files into OUT instead of renewing in the old client's directory");
    cmd->add_option("--out", o.out, "Output directory for copies (default STATE/live)");
    cmd->add_option("--http01-listen", o.http01_listen,
                    "Answer http-01 with the built-in responder on ADDR:PORT (all imported)");
    cmd->add_option("-w,--webroot", o.webroot, "Answer http-01 through DIR (all imported)");
    add_globals(*cmd);
  };
  c.certbot = c.import->add_subcommand("certbot", "Import certbot's state");
  c.certbot->add_option("dir", o.certbot_dir, "certbot's config dir (default /etc/letsencrypt)");
  common(c.certbot);
  c.lego = c.import->add_subcommand("lego", "Import lego's state");
  c.lego->add_option("path", o.lego_dir, "lego's --path (default ./.lego)");
  common(c.lego);
  c.acmesh = c.import->add_subcommand("acme.sh", "Import acme.sh's state");
  c.acmesh->add_option("dir", o.acmesh_dir, "acme.sh's home (e.g. ~/.acme.sh)")->required();
  common(c.acmesh);
  return c;
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string challenge_text(const ChallengeSettings& s) {
  if (!s.webroot.empty()) return "http-01 webroot " + s.webroot;
  if (!s.http01_listen.empty()) return "http-01 responder " + s.http01_listen;
  return "http-01 responder ([agent] http01_listen)";
}

}  // namespace

int run_import(const ImportCommands& cmds, const GlobalOptions& g, const ImportCmdOptions& o) {
  auto url = resolve_server(g.server);
  if (!url) return fail(url.error());
  ImportOverrides overrides{o.http01_listen, o.webroot, g.email};
  acme::Result<ImportPlan> plan = acme::make_error(acme::Errc::kInternal, "no import source");
  std::string source;
  if (cmds.certbot->parsed()) {
    source = absolute_path(o.certbot_dir);
    plan = read_certbot(source, *url, overrides);
  } else if (cmds.lego->parsed()) {
    source = absolute_path(o.lego_dir);
    plan = read_lego(source, *url, overrides);
  } else {
    source = absolute_path(o.acmesh_dir);
    plan = read_acmesh(source, *url, overrides);
  }
  if (!plan) return fail(plan.error());
  if (!o.http01_listen.empty() || !o.webroot.empty()) {
    ChallengeSettings s;
    s.http01_listen = o.http01_listen;
    s.webroot = o.webroot;
    if (auto c = check_challenge_settings(s); !c) return usage_fail(c.error().message);
  }

  const std::string state_dir = resolve_state_dir(g.state_dir);
  auto store = open_store(g, state_dir);
  if (!store) return fail(store.error());
  ImportSettings settings;
  settings.state_dir = state_dir;
  settings.ca_bundle = absolute_path(g.ca_bundle);
  settings.copy = o.copy;
  settings.out_root = absolute_path(o.out);
  auto result = apply_import(**store, *plan, settings);
  if (!result) return fail(result.error());

  if (g.json) {
    nlohmann::json certs = nlohmann::json::array();
    for (size_t i = 0; i < plan->certificates.size(); ++i) {
      const auto& c = plan->certificates[i];
      certs.push_back({{"name", c.name},
                       {"domains", c.domains},
                       {"key_type", c.key_type},
                       {"challenge", c.challenge.challenge},
                       {"http01_listen", c.challenge.http01_listen},
                       {"webroot", c.challenge.webroot},
                       {"deploy_hook", c.deploy_hook},
                       {"source", c.source},
                       {"out_dir", result->out_dirs[i]},
                       {"not_mapped", c.notes}});
    }
    std::cout << nlohmann::json{{"client", plan->client},
                                {"source", source},
                                {"server", *url},
                                {"account",
                                 {{"url", plan->account.account_url},
                                  {"source", plan->account.source},
                                  {"key_path", result->account_key_path}}},
                                {"certificates", certs},
                                {"not_imported", plan->skipped}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  std::cout << "imported from " << plan->client << " (" << source << ") for " << *url << "\n"
            << "  account " << plan->account.account_url << " (key " << plan->account.source
            << " -> " << result->account_key_path << ")\n";
  for (size_t i = 0; i < plan->certificates.size(); ++i) {
    const auto& c = plan->certificates[i];
    std::cout << "  certificate " << c.name << ": " << join(c.domains) << " (" << c.key_type << ", "
              << challenge_text(c.challenge) << "), files in " << result->out_dirs[i] << "\n";
    for (const auto& n : c.notes) std::cout << "    not mapped: " << n << "\n";
  }
  for (const auto& s : plan->skipped) std::cout << "  not imported: " << s << "\n";
  std::cout << "the next renewal is acmectl's: acmectl renew (or the agent)\n";
  return kExitOk;
}

}  // namespace agent::cli
