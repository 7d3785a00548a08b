#pragma once
// Pieces every command shares: global options, state dir, store, ACME client, account.

#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "acme/client.hpp"
#include "acme/http.hpp"
#include "acme/key.hpp"
#include "acme/result.hpp"
#include "store/store.hpp"

namespace agent::cli {

// Exit codes (INTERFACE.md): 0 success, 1 failure, 2 usage error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct GlobalOptions {
  std::string state_dir;
  std::string config;
  std::string server;
  std::string ca_bundle;
  std::string email;
  bool agree_tos = false;
  bool json = false;
  std::string log_level = "info";
  std::string log_format = "text";
};

// Known directory names: "letsencrypt", "letsencrypt-staging"; anything else must be https.
acme::Result<std::string> resolve_server(const std::string& server);
// --state-dir, else /var/lib/acmectl for root, else $XDG_STATE_HOME/acmectl or ~/.local/state.
std::string resolve_state_dir(const std::string& flag);

// Installs the process logger on stderr ("text" or "json"); returns false on a bad option.
acme::Result<void> setup_logging(const std::string& level, const std::string& format);
std::shared_ptr<spdlog::logger> logger(const std::string& component);

// Creates the state dir (0700) and opens STATE/acmectl.db.
acme::Result<std::unique_ptr<Store>> open_store(const std::string& state_dir);

// An ACME session: HTTP client, client, and the account key it signs with.
struct Session {
  std::unique_ptr<acme::HttpClient> http;
  std::unique_ptr<acme::Client> client;
  std::unique_ptr<acme::PrivateKey> account_key;
  std::string directory_url;
};

// Opens STATE/acmectl.db when it exists (commands that only read or manage what is there).
acme::Result<std::unique_ptr<Store>> open_existing_store(const GlobalOptions& g);

// Connects and loads the directory (nothing is written on disk).
// clock: what the client's polling loops sleep on (the agent passes its cancellable clock so
// SIGTERM ends a poll at once); default the system clock.
acme::Result<Session> connect(const GlobalOptions& g, const std::string& directory_url,
                              acme::Clock* clock = nullptr);

// Loads the account key for this directory from STATE/accounts/… (creating it once, 0600)
// and registers or finds the account. Reuses the stored account URL without a request.
acme::Result<void> ensure_account(Session& s, Store& store, const GlobalOptions& g,
                                  const std::string& state_dir);

// Account key rollover (`acmectl account rollover`) writes the new key next to the old one
// as KEY.next before asking the CA. ensure_account finishes an interrupted rollover when it
// finds that file: if the CA knows the new key, it becomes KEY (the old one is kept as
// KEY.prev-UNIXTIME); if not, it is moved aside as KEY.next.abandoned-UNIXTIME.
std::string rollover_key_path(const std::string& key_path);
acme::Result<void> finish_rollover(Session& s, const AccountRecord& record);
// After the CA took KEY.next: KEY becomes KEY.prev-UNIXTIME and KEY.next becomes KEY.
// Returns the path the old key was kept at.
acme::Result<std::string> promote_rollover_key(const std::string& key_path);

// Seconds since the epoch, now.
int64_t unix_now();

// Prints "acmectl: error: <e>" on stderr and returns kExitFailure.
int fail(const acme::Error& e);
// Prints "acmectl: usage error: <message>" on stderr and returns kExitUsage.
int usage_fail(const std::string& message);

// Formats unix seconds as RFC 3339 UTC.
std::string rfc3339(int64_t unix_seconds);

}  // namespace agent::cli
