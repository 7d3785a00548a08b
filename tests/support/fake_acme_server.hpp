#pragma once
// An in-process ACME server (RFC 8555) behind the acme::HttpClient seam, for hermetic
// protocol tests of libacme. Base URL https://ca.test, directory https://ca.test/dir.
//
// It verifies every signed request as a strict CA would (RFC 8555 §6.2-§6.5):
// Content-Type application/jose+json, flattened JWS with exactly protected/payload/
// signature, alg matching the key, exactly one of jwk/kid (jwk only on newAccount and
// revokeCert), kid a known account URL, nonce issued here and unused, "url" equal to the
// request URL, and the signature. Every failure is recorded in violations() -- tests
// assert it stays empty -- and answered as a real server would (badNonce or malformed).
//
// Resources live in memory. Certificates are real X.509 (see fake_ca.hpp). Knobs script
// the unhappy paths: nonce rejection, canned responses, failed validation, slow
// authorizations, "processing" orders, authorization reuse, alternate chains.
//
// Thread-safe: every public member takes one (recursive) mutex.

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "acme/clock.hpp"
#include "acme/http.hpp"
#include "acme/result.hpp"

namespace acme::test {

class FakeCa;

class FakeAcmeServer final : public acme::HttpClient {
 public:
  static constexpr std::string_view kBase = "https://ca.test";
  static constexpr std::string_view kDirectoryUrl = "https://ca.test/dir";

  // clock: time for "expires", certificate validity and Retry-After bookkeeping. nullptr:
  // the real clock (then early_polls() is not tracked).
  explicit FakeAcmeServer(const acme::Clock* clock = nullptr);
  ~FakeAcmeServer() override;
  FakeAcmeServer(const FakeAcmeServer&) = delete;
  FakeAcmeServer& operator=(const FakeAcmeServer&) = delete;

  acme::Result<acme::HttpResponse> send(const acme::HttpRequest& request) override;

  // ---- Verification ------------------------------------------------------------------
  // Every protocol violation seen so far, one human-readable line each.
  std::vector<std::string> violations() const;
  void clear_violations();

  // ---- Knobs -------------------------------------------------------------------------
  // Answer badNonce to the next n signed requests whose nonce is otherwise valid.
  void reject_next_nonces(int n);
  // Answer badNonce to every signed request.
  void set_reject_all_nonces(bool on);
  // The next request to endpoint (names as in requests()) gets this answer instead,
  // after its JWS was verified. A fresh Replay-Nonce is added. Queued per endpoint.
  void respond_next(const std::string& endpoint, int status, std::string body,
                    acme::Headers headers = {});
  // Validation of identifier_value ("" = every identifier) fails with this problem.
  void fail_validation(const std::string& identifier_value, std::string problem_type,
                       std::string detail);
  // After a challenge response, the authorization stays "pending" for n more polls.
  void set_authz_pending_polls(int n);
  void set_authz_pending_polls(const std::string& identifier_value, int n);
  // finalize answers "processing" with Retry-After: retry_after_seconds, and the order
  // stays "processing" (same Retry-After) for `polls` more polls before turning valid.
  void set_finalize_processing(int polls, int retry_after_seconds);
  // Authorizations for this identifier are created already "valid" (authorization reuse).
  void add_pre_valid(const std::string& identifier_value);
  // RFC 9773 renewal information: the directory offers renewalInfo, GET renewal-info/ID
  // answers this window (default: from 60 to 61 days after now), and a newOrder whose
  // "replaces" names a certificate already replaced is refused with alreadyReplaced.
  void set_ari(bool on);
  void set_renewal_window(std::chrono::system_clock::time_point start,
                          std::chrono::system_clock::time_point end);
  // Mark an ARI cert ID as replaced already (the next "replaces" of it is refused).
  void mark_replaced(const std::string& cert_id);
  // Certificates offer an alternate chain (Link rel="alternate", RFC 8555 §7.4.2).
  void set_alternate_chains(bool on);
  // With alternate chains: the default chain carries both intermediates (the longer one),
  // the alternate only the second (for --preferred-chain shortest).
  void set_long_default_chain(bool on);
  // dns-persist-01 (draft-ietf-acme-dns-persist): the directory names this issuer domain in
  // meta.issuerDomainNames, every authorization offers a dns-persist-01 challenge (no token,
  // issuerDomainNames), and validation reads the TXT records set with set_persist_txt: the
  // record at _validation-persist.BASE must name the issuer, the requesting account's URL,
  // policy=wildcard for a wildcard, and a persistUntil (if any) still ahead.
  void set_dns_persist(const std::string& issuer_domain);
  void set_persist_txt(const std::string& record_name, const std::string& value);
  // draft-ietf-acme-profiles: the directory advertises these profiles (name -> description)
  // in meta.profiles; a newOrder naming another one is refused with invalidProfile.
  void set_profiles(std::map<std::string, std::string> profiles);
  // RFC 8555 §7.3.4: meta.externalAccountRequired, and newAccount must carry an
  // externalAccountBinding MACed with this raw key under this kid (externalAccountRequired
  // without one, unauthorized when it does not verify).
  void require_eab(std::string kid, std::string hmac_key);
  // When set, validating a challenge asks this function what the CA would fetch (http-01
  // body or dns-01 TXT value) and compares it with the key authorization computed from
  // the account key the server holds. nullopt: nothing there (validation fails).
  // Called at the moment the client responds to the challenge, as a CA validating at
  // once would; it must not call back into the server.
  using KeyAuthorizationSource = std::function<std::optional<std::string>(
      const std::string& challenge_type, const acme::Identifier& identifier,
      const std::string& token)>;
  void set_key_authorization_source(KeyAuthorizationSource source);

  // ---- Counters ----------------------------------------------------------------------
  // Endpoints: directory newNonce newAccount newOrder revokeCert keyChange account order
  // authz challenge finalize certificate.
  int requests(std::string_view endpoint) const;
  int head_new_nonce_count() const;
  int challenge_responses() const;
  std::vector<acme::Identifier> responded_identifiers() const;
  int authz_deactivations() const;
  int account_deactivations() const;
  int revocations() const;
  // Successful keyChange requests (RFC 8555 §7.3.5).
  int key_changes() const;
  // "replaces" values of the newOrder requests, in order (refused ones included).
  std::vector<std::string> replaces_seen() const;
  // "profile" of every newOrder, in order ("" when it named none; refused ones included).
  std::vector<std::string> profiles_seen() const;
  // newAccount requests whose externalAccountBinding verified.
  int eab_bindings() const;
  // Order polls that came before the Retry-After the server gave had elapsed.
  int early_polls() const;

  // ---- Inspection --------------------------------------------------------------------
  std::string authz_status(const std::string& url) const;
  std::string order_status(const std::string& url) const;
  std::string account_status(const std::string& url) const;
  std::vector<std::string> order_authorizations(const std::string& order_url) const;
  // Identifier of an authorization ({} when unknown).
  acme::Identifier authz_identifier(const std::string& url) const;
  // RFC 8555 §8.1 key authorization for token under this account's key, computed by the
  // server's own code.
  std::string key_authorization(const std::string& account_url, const std::string& token) const;

 private:
  struct AccountRec {
    std::string url;
    nlohmann::json jwk;
    std::string thumbprint;
    std::string status = "valid";
    nlohmann::json contact = nlohmann::json::array();
  };
  struct ChallengeRec {
    std::string url;
    std::string type;
    std::string token;
    std::string status = "pending";
    std::string authz_url;
    std::optional<nlohmann::json> error;
    // Outcome decided when the client responds; revealed after the pending polls.
    std::optional<nlohmann::json> outcome_error;
  };
  struct AuthzRec {
    std::string url;
    acme::Identifier identifier;
    bool wildcard = false;
    std::string status = "pending";
    std::string account_url;
    std::vector<std::string> challenges;
    int pending_polls_left = 0;
    bool responded = false;
  };
  struct OrderRec {
    std::string url;
    std::string account_url;
    std::string status = "pending";
    std::vector<acme::Identifier> identifiers;
    std::vector<std::string> authorizations;
    std::string finalize;
    std::string certificate;
    std::optional<nlohmann::json> error;
    int processing_left = 0;
    std::optional<std::chrono::system_clock::time_point> no_poll_before;
    std::string profile;
  };
  struct CertRec {
    std::string pem;  // leaf + intermediate
    std::vector<std::string> alternates;
    std::string leaf_der;
    std::string account_url;
    bool revoked = false;
  };
  struct Canned {
    int status;
    std::string body;
    acme::Headers headers;
  };
  struct Failure {
    std::string type;
    std::string detail;
  };
  // A verified signed request.
  struct Signed {
    nlohmann::json header;
    std::string payload;      // "" for POST-as-GET
    std::string account_url;  // kid, or the account of the jwk when it has one
    nlohmann::json jwk;       // set when the request carried "jwk"
  };

  // fake_acme_server.cpp: transport level.
  acme::HttpResponse dispatch(const acme::HttpRequest& req, const std::string& endpoint,
                              const std::string& path);
  std::optional<Signed> verify(const acme::HttpRequest& req, const std::string& endpoint,
                               acme::HttpResponse* rejection);
  void violation(const std::string& what);
  std::string new_nonce();
  acme::HttpResponse respond(int status, const nlohmann::json& body,
                             const std::string& location = {});
  acme::HttpResponse problem(int status, const std::string& type, const std::string& detail);
  void finish(acme::HttpResponse& resp, bool with_nonce);
  std::chrono::system_clock::time_point now() const;
  std::string make_url(const std::string& kind);

  // fake_acme_resources.cpp: RFC 8555 resources.
  acme::HttpResponse handle_directory();
  acme::HttpResponse handle_renewal_info(const std::string& path);
  acme::HttpResponse handle_new_account(const Signed& s);
  // The "externalAccountBinding" of a newAccount payload; nullopt when it verifies.
  std::optional<acme::HttpResponse> check_eab(const Signed& s, const nlohmann::json& payload);
  acme::HttpResponse handle_account(const Signed& s, const std::string& url);
  acme::HttpResponse handle_new_order(const Signed& s);
  acme::HttpResponse handle_order(const Signed& s, const std::string& url);
  acme::HttpResponse handle_authz(const Signed& s, const std::string& url);
  acme::HttpResponse handle_challenge(const Signed& s, const std::string& url);
  // dns-persist-01: why the TXT record does not authorize the authorization's account.
  std::optional<std::string> check_persist_record(const AuthzRec& a) const;
  acme::HttpResponse handle_finalize(const Signed& s, const std::string& url);
  acme::HttpResponse handle_certificate(const Signed& s, const std::string& url);
  acme::HttpResponse handle_revoke(const Signed& s);
  acme::HttpResponse handle_key_change(const Signed& s, const std::string& url);
  nlohmann::json order_json(const OrderRec& o) const;
  nlohmann::json authz_json(const AuthzRec& a) const;
  nlohmann::json challenge_json(const ChallengeRec& c) const;
  void validate(AuthzRec& authz, ChallengeRec& chall);
  void reveal(AuthzRec& authz);
  void refresh_order(OrderRec& order);
  std::string expires() const;

  mutable std::recursive_mutex mu_;
  const acme::Clock* clock_;
  std::unique_ptr<FakeCa> ca_;

  std::vector<std::string> violations_;
  std::set<std::string> unused_nonces_;
  int next_id_ = 1;

  int reject_nonces_ = 0;
  bool reject_all_nonces_ = false;
  std::map<std::string, std::deque<Canned>> canned_;
  std::map<std::string, Failure> failures_;
  int authz_pending_polls_ = 0;
  std::map<std::string, int> authz_pending_polls_for_;
  int processing_polls_ = 0;
  int processing_retry_after_ = 0;
  std::set<std::string> pre_valid_;
  bool alternate_chains_ = false;
  bool long_default_chain_ = false;
  std::string persist_issuer_;
  std::map<std::string, std::string> persist_txt_;  // "DNS" for dns-persist-01
  KeyAuthorizationSource key_authorization_source_;
  bool ari_ = false;
  std::optional<
      std::pair<std::chrono::system_clock::time_point, std::chrono::system_clock::time_point>>
      renewal_window_;
  std::set<std::string> replaced_;
  std::vector<std::string> replaces_seen_;
  std::map<std::string, std::string> profiles_;
  std::vector<std::string> profiles_seen_;
  std::string eab_kid_;
  std::string eab_key_;
  int eab_bindings_ = 0;

  std::map<std::string, int, std::less<>> requests_;
  int head_new_nonce_ = 0;
  int challenge_responses_ = 0;
  std::vector<acme::Identifier> responded_;
  int authz_deactivations_ = 0;
  int account_deactivations_ = 0;
  int revocations_ = 0;
  int key_changes_ = 0;
  int early_polls_ = 0;

  std::map<std::string, AccountRec> accounts_;  // by URL
  std::map<std::string, OrderRec> orders_;
  std::map<std::string, AuthzRec> authzs_;
  std::map<std::string, ChallengeRec> challenges_;
  std::map<std::string, CertRec> certs_;
};

}  // namespace acme::test
