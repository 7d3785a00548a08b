#include "cli/rollback_cmd.hpp"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "events/event_sink.hpp"
#include "pipeline/names.hpp"
#include "pipeline/pipeline.hpp"

namespace agent::cli {

CLI::App* add_rollback_command(CLI::App& app, RollbackCmdOptions& o) {
  auto* cmd = app.add_subcommand(
      "rollback", "Put the previous version of a certificate back (one atomic switch)");
  cmd->add_option("name", o.name, "Certificate name")->required();
  return cmd;
}

int run_rollback(const GlobalOptions& g, const RollbackCmdOptions& o) {
  auto store = open_existing_store(g);
  if (!store) return fail(store.error());
  const std::string name = normalize_cert_name(o.name);
  metrics::Registry registry;
  EventSink events(**store, registry, std::chrono::seconds(o.hook_timeout_seconds));
  PipelineSettings settings;
  settings.state_dir = resolve_state_dir(g.state_dir);
  settings.acme = g;
  Pipeline pipeline(**store, events, settings);
  auto r = pipeline.rollback(name);
  if (!r) return fail(r.error());
  int rc = kExitOk;
  if (!r->hook_error.empty()) {
    std::fprintf(stderr, "acmectl: error: %s: deploy hook: %s\n", name.c_str(),
                 r->hook_error.c_str());
    rc = kExitFailure;
  }
  std::string post_error;
  if (!o.post_hook.empty()) {
    if (auto hr = events.post_hook(o.post_hook, {name}, {}); !hr) {
      post_error = hr.error().to_string();
      std::fprintf(stderr, "acmectl: error: post hook: %s\n", post_error.c_str());
      rc = kExitFailure;
    }
  }
  if (g.json) {
    std::cout << nlohmann::json{{"name", name},
                                {"rolled_back", true},
                                {"from_serial", r->from_serial},
                                {"serial", r->serial},
                                {"version", r->version},
                                {"not_after", rfc3339(r->not_after)},
                                {"renewal_paused_until", rfc3339(r->paused_until)},
                                {"deploy_hook_error", r->hook_error},
                                {"post_hook_error", post_error}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << name << ": rolled back from serial " << r->from_serial << " to serial "
              << r->serial << " (" << r->version << "), valid until " << rfc3339(r->not_after)
              << "; automatic renewal paused until " << rfc3339(r->paused_until)
              << " (`acmectl renew --force " << name << "` renews now)\n";
  }
  return rc;
}

}  // namespace agent::cli
