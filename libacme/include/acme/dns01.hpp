#pragma once
// DNS-01 (RFC 8555 §8.4): the CA looks up TXT _acme-challenge.NAME and expects
// base64url(SHA-256(key authorization)) among the values.
//
// Three seams, each replaceable on its own:
//  - DnsProvider writes and removes one TXT value: `rfc2136` (dynamic UPDATE signed with
//    TSIG, RFC 2136 + RFC 8945) and `exec` (a program of the user's), chosen by name from an
//    explicit registry (make_dns_provider).
//  - DnsResolver asks one question to given servers: c-ares in production, a fake in tests.
//  - Dns01Solver is the acme::Solver on top: present() follows CNAMEs from
//    _acme-challenge.NAME and adds the value where the chain ends; wait_ready() asks every
//    authoritative server of every zone (found by walking up to the SOA) until each returns
//    every value; cleanup() removes exactly the values present() added.
// No ldns or c-ares type appears in this header.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "acme/challenge.hpp"
#include "acme/clock.hpp"
#include "acme/result.hpp"

namespace acme {

// ---- names and servers -------------------------------------------------------------------

// A DNS server: an IPv4 or IPv6 address literal and a port.
struct DnsServer {
  std::string address;
  uint16_t port = 53;
  // "127.0.0.1:53", "[::1]:53".
  std::string to_string() const;
  bool operator==(const DnsServer&) const = default;
};

// "ADDR:PORT", "[V6ADDR]:PORT", or an address alone (port 53). Only IP literals: a server
// named by a host name would need DNS to find DNS.
Result<DnsServer> parse_dns_server(std::string_view text);

// Lower case, absolute (one trailing dot): "Example.COM" -> "example.com.".
std::string dns_fqdn(std::string_view name);

// RFC 8555 §8.4: "_acme-challenge." + the identifier without a leading "*." (a wildcard
// and its apex validate at the same name, RFC 8555 §7.1.3), absolute.
std::string dns01_record_name(std::string_view identifier);

// ---- resolver seam -----------------------------------------------------------------------

enum class DnsType : uint16_t {
  kA = 1,
  kNs = 2,
  kCname = 5,
  kSoa = 6,
  kTxt = 16,
  kAaaa = 28,
  kCaa = 257,  // RFC 8659
};
std::string_view to_string(DnsType type) noexcept;  // "A", "NS", ...

struct DnsRecord {
  std::string name;  // owner, absolute, lower case
  DnsType type = DnsType::kA;
  uint32_t ttl = 0;
  // A/AAAA: the address as text; NS/CNAME: the target name (absolute, lower case);
  // SOA: the primary server (MNAME); TXT: its character-strings concatenated;
  // CAA: "FLAGS TAG VALUE" (flags in decimal, the tag lower case, the value raw).
  std::string data;
};

struct DnsResponse {
  int rcode = 0;  // RFC 1035 §4.1.1: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED, ...
  bool authoritative = false;      // the AA bit
  std::vector<DnsRecord> answers;  // records of the seven DnsTypes; others are skipped
  std::vector<DnsRecord> authority;
};

// "NOERROR", "SERVFAIL", "NXDOMAIN", "REFUSED", "NOTAUTH", ...; "RCODE<n>" otherwise.
std::string dns_rcode_name(int rcode);

class DnsResolver {
 public:
  virtual ~DnsResolver() = default;
  // Asks `name` (absolute) `type` IN. `servers` are tried in order until one answers; empty
  // means the system's resolvers (/etc/resolv.conf). recursion_desired is the RD bit: false
  // when asking an authoritative server directly.
  // An answer with any rcode is a value (REFUSED and NXDOMAIN are answers); an Error
  // (Errc::kNetwork) means no usable answer at all: timeout, refused connection, garbage.
  virtual Result<DnsResponse> query(std::string_view name, DnsType type,
                                    const std::vector<DnsServer>& servers,
                                    bool recursion_desired) = 0;
};

struct CaresResolverOptions {
  std::chrono::milliseconds timeout{2000};  // per try and server (c-ares doubles it per round)
  int tries = 2;
};
// The production resolver: c-ares for the exchange (UDP, TCP on truncation), one channel per
// query, so it is safe to use from several threads.
std::shared_ptr<DnsResolver> make_cares_resolver(CaresResolverOptions options = {});

// ---- lookups built on the resolver --------------------------------------------------------

// Follows the CNAME chain that starts at `fqdn` (at most 16 links; a loop is an error) and
// returns the name it ends at: `fqdn` itself when it has no CNAME. A name that does not
// exist, or an answer such as REFUSED, ends the chain.
Result<std::string> follow_cnames(DnsResolver& resolver, std::string_view fqdn,
                                  const std::vector<DnsServer>& servers);

// The zone holding `fqdn`: walks up one label at a time asking SOA until an answer holds the
// SOA record of that very name. recursion_desired: false when `servers` are authoritative.
Result<std::string> find_zone(DnsResolver& resolver, std::string_view fqdn,
                              const std::vector<DnsServer>& servers, bool recursion_desired);

// The zone's authoritative servers: its NS set, each name resolved (A, else AAAA) through
// `servers`, on port 53. Sorted, without duplicates.
Result<std::vector<DnsServer>> authoritative_servers(DnsResolver& resolver, std::string_view zone,
                                                     const std::vector<DnsServer>& servers);

struct TxtExpectation {
  std::string fqdn;                 // absolute
  std::vector<std::string> values;  // every one must be served (others may be too)
};

struct PropagationOptions {
  // Asked instead of the authoritative servers (--dns-resolver); RD is set for them. Empty:
  // each name's zone is found with the system's resolvers, and its NS servers are asked
  // directly, without recursion.
  std::vector<DnsServer> servers;
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
  std::chrono::milliseconds interval{std::chrono::seconds(2)};
  std::function<void(const std::string&)> log;  // progress lines; optional
};

// Returns once every server answers every expected value for every name. After `timeout`:
// Errc::kTimeout naming a server, the name and value it lacks, and what it answered.
// Errc::kCancelled when clock.cancelled().
Result<void> wait_for_propagation(DnsResolver& resolver, Clock& clock,
                                  const std::vector<TxtExpectation>& expected,
                                  const PropagationOptions& options);

// ---- providers ---------------------------------------------------------------------------

// Contract:
//  - add_txt() MUST add `value` to the TXT RRset of `fqdn` (absolute) and MUST keep values
//    already there: a wildcard and its apex hold two values under one name. It returns once
//    the provider's primary accepted the change; propagation is checked separately.
//  - remove_txt() MUST remove exactly that value and leave the others; removing a value that
//    is not there is not an error.
//  - Errors name the provider, the name and what the other side answered.
class DnsProvider {
 public:
  virtual ~DnsProvider() = default;
  virtual std::string_view name() const noexcept = 0;
  virtual Result<void> add_txt(const std::string& fqdn, const std::string& value) = 0;
  virtual Result<void> remove_txt(const std::string& fqdn, const std::string& value) = 0;
};

// RFC 8945 §6 algorithms we accept. hmac-md5 is not (RFC 8945 §6: MUST NOT be required).
enum class TsigAlgorithm { kHmacSha256, kHmacSha512, kHmacSha1 };
// "hmac-sha256", "hmac-sha512", "hmac-sha1"; case-insensitive, a trailing dot allowed.
Result<TsigAlgorithm> parse_tsig_algorithm(std::string_view name);
std::string_view to_string(TsigAlgorithm algorithm) noexcept;

struct Rfc2136Options {
  DnsServer server;  // the primary that accepts UPDATE (over TCP)
  std::string tsig_name;
  std::string tsig_secret;  // base64, as in named.conf
  TsigAlgorithm tsig_algorithm = TsigAlgorithm::kHmacSha256;
  uint32_t ttl = 60;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
};

struct ExecOptions {
  std::string program;  // run as PROGRAM present|cleanup FQDN VALUE, no shell
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

// RFC 2136 UPDATE: add/delete one TXT RR, TSIG-signed. The zone is found by asking the update
// server itself for SOA (find_zone), so no outside DNS is needed; `resolver` null: c-ares.
std::unique_ptr<DnsProvider> make_rfc2136_provider(Rfc2136Options options,
                                                   std::shared_ptr<DnsResolver> resolver);
std::unique_ptr<DnsProvider> make_exec_provider(ExecOptions options);

// Everything any registered provider may need; each takes its part.
struct DnsProviderOptions {
  Rfc2136Options rfc2136;
  ExecOptions exec;
  std::shared_ptr<DnsResolver> resolver;  // null: c-ares
};

// The registry: an explicit list, no self-registration. Names in registration order.
std::vector<std::string> dns_provider_names();
// Errc::kInvalidInput naming the known providers when `name` is none of them.
Result<std::unique_ptr<DnsProvider>> make_dns_provider(std::string_view name,
                                                       const DnsProviderOptions& options);

// ---- the solver --------------------------------------------------------------------------

struct Dns01Options {
  // --dns-resolver: used for CNAME lookups and asked for propagation. Empty: CNAMEs are
  // looked up with the system's resolvers and propagation is checked at the authoritative
  // servers of each zone.
  std::vector<DnsServer> resolvers;
  std::chrono::milliseconds propagation_timeout{std::chrono::seconds(120)};
  std::chrono::milliseconds propagation_interval{std::chrono::seconds(2)};
  std::function<void(const std::string&)> log;   // progress; optional
  std::function<void(const std::string&)> warn;  // cleanup failures; optional
};

class Dns01Solver final : public Solver {
 public:
  Dns01Solver(std::unique_ptr<DnsProvider> provider, std::shared_ptr<DnsResolver> resolver,
              Clock& clock, Dns01Options options);
  std::string challenge_type() const override { return "dns-01"; }
  Result<void> present(const ChallengeContext& ctx) override;
  Result<void> wait_ready() override;
  void cleanup(const ChallengeContext& ctx) noexcept override;

 private:
  struct Added {
    std::string fqdn;  // where the value went (the end of the CNAME chain)
    std::string value;
  };
  std::unique_ptr<DnsProvider> provider_;
  std::shared_ptr<DnsResolver> resolver_;
  Clock& clock_;
  Dns01Options options_;
  std::mutex mu_;
  std::unordered_map<std::string, Added> added_;  // by challenge token
};

}  // namespace acme
