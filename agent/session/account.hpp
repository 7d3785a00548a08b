#pragma once
// The ACME account of a directory: created exactly once per state dir, under
// STATE/locks/account.lock (an flock every acmectl process and thread respects), re-read
// after taking it; the key is on disk (0600) before the CA hears of it.

#include <optional>
#include <string>

#include "acme/jws.hpp"
#include "acme/result.hpp"
#include "fleet/fleet_store.hpp"
#include "session/options.hpp"
#include "session/session.hpp"
#include "store/store.hpp"

namespace agent {

// Loads the account key for this directory from STATE/accounts/… (creating it once, 0600)
// and registers or finds the account. Reuses the stored account URL without a request.
acme::Result<void> ensure_account(Session& s, Store& store, const GlobalOptions& g,
                                  const std::string& state_dir);

// A fleet (PostgreSQL store): the account of a directory is created once per fleet, under
// an advisory lock in the database. The first agent registers it (ensure_account) and
// stores its key sealed with the KEK; the others install that key and URL locally (a local
// key of another account is kept aside as KEY.pre-fleet-UNIXTIME) and use it.
acme::Result<void> ensure_fleet_account(Session& s, Store& store, FleetStore& fleet,
                                        const GlobalOptions& g, const std::string& state_dir);

// For a dry run (`--dry-run`), which writes nothing: the account recorded for this
// directory when there is one (its key read, nothing taken or written, no lock file);
// otherwise a throwaway account registered with a key that lives only in memory for this
// run (the CA keeps it; acmectl does not). The terms and EAB rules of a real registration
// apply. store may be null (no state dir yet).
acme::Result<void> use_account_for_dry_run(Session& s, Store* store, const GlobalOptions& g);

// The CA answered accountDoesNotExist for the stored account (a test CA restarted, a
// staging reset): registers the same key again, once, under the account lock, and
// records the new URL.
acme::Result<void> reregister_account(Session& s, Store& store, const GlobalOptions& g,
                                      const std::string& state_dir);

// External Account Binding from the settings: nullopt when none is configured; an
// kInvalidInput error naming EAB when only half of it is, when the MAC key (from
// eab_hmac_key, else read from eab_hmac_key_file) is not base64url, or the alg unknown.
// Never puts the key in a message.
acme::Result<std::optional<acme::ExternalAccountBinding>> eab_from(const GlobalOptions& g);

// True when e is the CA saying it does not know the account (RFC 8555 §7.3.1).
bool is_account_does_not_exist(const acme::Error& e);

// `acmectl import`: records an account another client registered (its key and URL) as this
// state dir's account for directory_url, under the account lock, without asking the CA. The
// key goes to STATE/accounts/HOST-HASH/account.key (0600). Refused (kInvalidInput, nothing
// written) when another account is already recorded for that directory; the same account
// URL again is accepted and changes nothing. Returns the key path.
acme::Result<std::string> import_account(Store& store, const std::string& state_dir,
                                         const std::string& directory_url,
                                         const acme::PrivateKey& key,
                                         const std::string& account_url,
                                         const std::string& contact);

// Account key rollover (`acmectl account rollover`) writes the new key next to the old one
// as KEY.next before asking the CA. ensure_account finishes an interrupted rollover when it
// finds that file: if the CA knows the new key, it becomes KEY (the old one is kept as
// KEY.prev-UNIXTIME); if not, it is moved aside as KEY.next.abandoned-UNIXTIME.
std::string rollover_key_path(const std::string& key_path);
acme::Result<void> finish_rollover(Session& s, const AccountRecord& record);
// After the CA took KEY.next: KEY becomes KEY.prev-UNIXTIME and KEY.next becomes KEY.
// Returns the path the old key was kept at.
acme::Result<std::string> promote_rollover_key(const std::string& key_path);

}  // namespace agent
