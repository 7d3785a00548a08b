#pragma once
// The settings every command shares (INTERFACE.md "Global options"), after the command
// line, the environment and the config file were merged.

#include <string>
#include <vector>

namespace agent {

// One [[acme.fallback]] table: a CA the next order goes to when the primary fails as a CA
// (docs/operations.md "A fallback CA"). Empty email/profile: the primary's email, the
// CA's default profile.
struct FallbackCa {
  std::string server;
  std::string ca_bundle;
  std::string email;
  std::string eab_kid;
  std::string eab_hmac_key_file;
  std::string eab_alg;
  std::string profile;
};

// When orders leave the primary CA and when they come back ([acme] keys).
struct CaFailover {
  std::vector<FallbackCa> fallbacks;
  // Consecutive failures of a CA itself (5xx, bad answers) before it is skipped; an
  // unreachable CA or a rateLimited answer makes it skipped at once.
  int after_failures = 3;
  // How long a skipped CA is left alone before an order tries it again (longer when it
  // sent Retry-After).
  int retry_seconds = 600;
  // true: every order tries the primary first once it is no longer skipped; false: a
  // certificate stays with the CA that issued it while that CA works.
  bool return_to_primary = true;
};

struct GlobalOptions {
  std::string state_dir;
  std::string config;
  std::string server;
  std::string ca_bundle;
  std::string email;
  bool agree_tos = false;
  // External Account Binding (RFC 8555 §7.3.4), used when the account is registered. The
  // MAC key (base64url) comes from --eab-hmac-key / ACMECTL_EAB_HMAC_KEY or is read from
  // eab_hmac_key_file; it is never stored in the database nor logged.
  std::string eab_kid;
  std::string eab_hmac_key;
  std::string eab_hmac_key_file;
  std::string eab_alg;  // "": HS256
  CaFailover failover;  // [acme] fallback_* keys and [[acme.fallback]] (config only)
  bool json = false;
  // -q/--quiet: print nothing unless something failed or changed (for cron).
  bool quiet = false;
  bool verbose = false;  // -v: more detail (list: file paths; logs at debug)
  std::string log_level = "info";
  std::string log_format = "text";
};

}  // namespace agent
