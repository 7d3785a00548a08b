#pragma once
// An ACME session: the HTTP client, the libacme client and the account key it signs with.
// Also where the state dir and its store are found.

#include <functional>
#include <memory>
#include <string>

#include "acme/client.hpp"
#include "acme/clock.hpp"
#include "acme/http.hpp"
#include "acme/key.hpp"
#include "acme/result.hpp"
#include "fleet/fleet_store.hpp"
#include "session/options.hpp"
#include "store/store.hpp"

namespace agent {

// Known directory names: "letsencrypt", "letsencrypt-staging"; anything else must be https.
acme::Result<std::string> resolve_server(const std::string& server);
// Where a dry run goes: a known CA's production directory is swapped for its staging one
// (Let's Encrypt, like certbot's --dry-run); any other directory URL is used as it is.
std::string dry_run_directory(const std::string& directory_url);
// --state-dir, else /var/lib/acmectl for root, else $XDG_STATE_HOME/acmectl or
// ~/.local/state/acmectl; always absolute (a relative --state-dir is taken from the
// current directory once, so the stored paths work from anywhere later).
std::string resolve_state_dir(const std::string& flag);
// `path` made absolute against the current directory (lexically normalised; "" stays "").
std::string absolute_path(const std::string& path);

// Creates the state dir (0700) and opens the store the config chooses
// (store/open_store.hpp): with [store] url this host's records in PostgreSQL, else
// STATE/acmectl.db. The first form reads [store] from g.config.
acme::Result<std::unique_ptr<Store>> open_store(const GlobalOptions& g,
                                                const std::string& state_dir);
acme::Result<std::unique_ptr<Store>> open_store(const std::string& state_dir,
                                                const FleetSettings& store);
// The same for commands that only read or manage what is there: without [store] url,
// STATE/acmectl.db must exist.
acme::Result<std::unique_ptr<Store>> open_existing_store(const GlobalOptions& g);
// Whether there is a store to read: with [store] url always (PostgreSQL; a config that
// does not load counts too, so open_existing_store reports it), else STATE/acmectl.db.
bool store_exists(const GlobalOptions& g);

struct Session {
  std::unique_ptr<acme::HttpClient> http;
  std::unique_ptr<acme::Client> client;
  std::unique_ptr<acme::PrivateKey> account_key;
  std::string directory_url;
};

// Makes the HTTP client of a session: the real one (acme::make_http_client) by default; tests hand
// in the in-process fake CA.
using HttpClientFactory =
    std::function<acme::Result<std::unique_ptr<acme::HttpClient>>(const acme::HttpOptions&)>;
HttpClientFactory default_http_client_factory();

// Connects and loads the directory (nothing is written on disk).
// clock: what the client's polling loops sleep on (the agent passes its cancellable clock so
// SIGTERM ends a poll at once); default the system clock. factory: default the real client.
acme::Result<Session> connect(const GlobalOptions& g, const std::string& directory_url,
                              acme::Clock* clock = nullptr,
                              const HttpClientFactory& factory = nullptr);

}  // namespace agent
