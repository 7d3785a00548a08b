#include "session/session.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "config/config.hpp"
#include "deploy/files.hpp"
#include "deploy/permissions.hpp"
#include "log/log.hpp"
#include "store/open_store.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;

acme::Result<std::string> resolve_server(const std::string& server) {
  if (server.empty() || server == "letsencrypt") {
    return std::string("https://acme-v02.api.letsencrypt.org/directory");
  }
  if (server == "letsencrypt-staging") {
    return std::string("https://acme-staging-v02.api.letsencrypt.org/directory");
  }
  if (server.rfind("https://", 0) != 0) {
    return make_error(Errc::kInvalidInput, "--server " + server +
                                               ": must be an https:// URL (RFC 8555 §6.1) or "
                                               "one of letsencrypt, letsencrypt-staging");
  }
  return server;
}

std::string absolute_path(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  if (ec) return path;
  std::string out = abs.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string dry_run_directory(const std::string& directory_url) {
  if (directory_url == "https://acme-v02.api.letsencrypt.org/directory") {
    return "https://acme-staging-v02.api.letsencrypt.org/directory";
  }
  return directory_url;
}

std::string resolve_state_dir(const std::string& flag) {
  if (!flag.empty()) return absolute_path(flag);
  if (::geteuid() == 0) return "/var/lib/acmectl";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) {
    return absolute_path(std::string(xdg) + "/acmectl");
  }
  const char* home = std::getenv("HOME");
  if (!home || !*home) {
    if (const passwd* pw = getpwuid(::geteuid())) home = pw->pw_dir;
  }
  return absolute_path(std::string(home ? home : ".") + "/.local/state/acmectl");
}

namespace {

// The state dir and its database decide which hooks run as whom: refuse them when others
// can write them (issue 13 finding 3). A PostgreSQL store has no file here.
acme::Result<std::unique_ptr<Store>> open_checked(const std::string& state_dir,
                                                  const FleetSettings& store) {
  ACME_CHECK(check_not_writable_by_others(state_dir, "state dir"));
  ACME_ASSIGN(auto opened, open_configured_store(state_dir, store));
  if (!store.enabled()) {
    ACME_CHECK(check_not_writable_by_others(state_dir + "/acmectl.db", "database"));
  }
  return opened;
}

}  // namespace

acme::Result<std::unique_ptr<Store>> open_store(const std::string& state_dir,
                                                const FleetSettings& store) {
  ACME_CHECK(make_dirs(state_dir, 0700));
  return open_checked(state_dir, store);
}

acme::Result<std::unique_ptr<Store>> open_store(const GlobalOptions& g,
                                                const std::string& state_dir) {
  ACME_ASSIGN(auto store, fleet_settings(g.config));
  return open_store(state_dir, store);
}

bool store_exists(const GlobalOptions& g) {
  auto store = fleet_settings(g.config);
  if (!store || store->enabled()) return true;
  return ::access((resolve_state_dir(g.state_dir) + "/acmectl.db").c_str(), F_OK) == 0;
}

acme::Result<std::unique_ptr<Store>> open_existing_store(const GlobalOptions& g) {
  const std::string state_dir = resolve_state_dir(g.state_dir);
  ACME_ASSIGN(auto store, fleet_settings(g.config));
  const std::string db = state_dir + "/acmectl.db";
  if (!store.enabled() && ::access(db.c_str(), F_OK) != 0) {
    return make_error(Errc::kInvalidInput,
                      "no store at " + db + ": issue a certificate first (acmectl issue)");
  }
  return open_checked(state_dir, store);
}

HttpClientFactory default_http_client_factory() {
  return [](const acme::HttpOptions& o) { return acme::make_http_client(o); };
}

acme::Result<Session> connect(const GlobalOptions& g, const std::string& directory_url,
                              acme::Clock* clock, const HttpClientFactory& factory) {
  acme::HttpOptions opts;
  opts.ca_bundle = g.ca_bundle;
  opts.user_agent = "acmectl/" ACMECTL_VERSION " libacme";
  Session s;
  s.directory_url = directory_url;
  ACME_ASSIGN(s.http, factory ? factory(opts) : default_http_client_factory()(opts));
  s.client =
      std::make_unique<acme::Client>(*s.http, clock ? *clock : acme::system_clock(), directory_url);
  auto loaded = s.client->load_directory();
  if (!loaded) return std::move(loaded).error().context("ACME directory");
  return s;
}

}  // namespace agent
