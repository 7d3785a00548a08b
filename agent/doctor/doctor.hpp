#pragma once
// `acmectl doctor`: a preflight that answers "will an order succeed?" before a rate limit is
// spent. Every check is run against the real thing (DNS, the CA, the HTTP path, the DNS
// provider) and none of them creates an order or an account.
//
// Contract:
//  - run_doctor MUST leave nothing behind: the http-01 token and the dns-01 TXT value it
//    adds are removed again, whatever the outcome.
//  - Each problem is one Finding naming what was checked (the URL, the CAA record, the
//    path) and, for an error, why an order would fail.
//  - kError means an order would fail (or a file is unsafe and would be refused); kWarning
//    means something the operator should look at that does not stop an order.

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acme/dns01.hpp"
#include "acme/result.hpp"
#include "challenge/settings.hpp"
#include "session/options.hpp"

namespace agent {

enum class Severity { kOk, kWarning, kError, kSkipped };
std::string_view to_string(Severity s) noexcept;  // "ok", "warning", "error", "skipped"

struct Finding {
  std::string check;    // config, state, directory, clock, resolve, caa, http-01, dns-01
  std::string subject;  // the name, path or URL checked
  Severity severity = Severity::kOk;
  std::string message;
};

// One certificate (recorded, or given on the command line with its settings).
struct DoctorTarget {
  std::string name;  // certificate name ("" when given on the command line only)
  std::vector<std::string> domains;
  ChallengeSettings challenge;
  std::string server;     // ACME directory URL ("": the global one)
  std::string ca_bundle;  // "": the global one
  std::string out_dir;    // OUT/NAME of a recorded certificate: its privkey.pem is checked
  std::string deploy_hook;
};

struct DoctorOptions {
  GlobalOptions globals;  // server, CA bundle, state dir (resolved)
  std::string config_path;
  std::vector<DoctorTarget> targets;
  std::vector<acme::DnsServer> resolvers;  // --dns-resolver; empty: the system's
  std::string caa_identity;                // --caa-identity; "": the directory's
  int http_port = 80;                      // where http://NAME:PORT/ is fetched
  std::vector<std::string> expect_ips;     // --expect-ip; besides this host's addresses
  std::string shared_listen;               // [agent] http01_listen, when a target has none
  std::string post_hook;                   // [agent] post_hook
};

// Runs every check. The resolver (null: c-ares) is asked for A, AAAA and CAA.
std::vector<Finding> run_doctor(const DoctorOptions& options,
                                std::shared_ptr<acme::DnsResolver> resolver = nullptr);

// ---- pieces, exposed for unit tests ------------------------------------------------------

// A CAA record as carried in DnsRecord::data ("FLAGS TAG VALUE").
struct CaaRecord {
  int flags = 0;
  std::string tag;  // lower case
  std::string value;
  std::string text() const;  // `0 issue "ca.example"`
};
acme::Result<CaaRecord> parse_caa(const std::string& data);

// RFC 8659 §4.2/§4.3: does this CAA RRset (the relevant one, found by walking up the tree)
// let a CA whose issuer domain names are `identities` issue for `name` (a "*." name asks
// for issuewild)? Returns "" when it does, else why not, naming the record(s).
std::string caa_refusal(const std::vector<CaaRecord>& rrset, const std::string& name,
                        const std::vector<std::string>& identities);

// (e) The CA's HTTP Date (RFC 9110 §5.6.7 IMF-fixdate) against `now`: an error beyond 60 s
// either way, a warning when there is no usable Date.
Finding clock_finding(const std::string& url, const std::optional<std::string>& date,
                      std::time_t now);

// Addresses of this host's interfaces (getifaddrs), as text.
std::vector<std::string> local_addresses();

// HTTP GET http://host:port/path with "Host: host_header" on the address given, plain
// TCP, 5 s overall. Returns status and body (at most 64 KiB).
struct PlainHttpAnswer {
  int status = 0;
  std::string body;
};
acme::Result<PlainHttpAnswer> plain_http_get(const std::string& address, int port,
                                             const std::string& host_header,
                                             const std::string& path);

}  // namespace agent
