#pragma once
// One method per RFC 8555 resource. Stateless apart from the transport (nonces, the
// reused connection) and the account in use. Polling helpers honour Retry-After.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "acme/clock.hpp"
#include "acme/http.hpp"
#include "acme/jws.hpp"
#include "acme/key.hpp"
#include "acme/result.hpp"
#include "acme/transport.hpp"
#include "acme/types.hpp"

namespace acme {

struct NewAccountOptions {
  std::vector<std::string> contact;  // "mailto:ops@example.com"
  bool terms_agreed = false;
  bool only_return_existing = false;  // RFC 8555 §7.3.1
};

struct PollOptions {
  // RFC 8555 §7.5.1: clients poll. The first poll comes after 50 ms (a CA that validates
  // at once, as Pebble does, has answered by then: an issuance waits twice 50 ms, not
  // twice 150 ms), then each delay is `backoff` times the last (50, 80, 128, 205 ms...)
  // up to max_delay; a Retry-After from the server always replaces the computed delay.
  std::chrono::milliseconds first_delay{50};
  std::chrono::milliseconds max_delay{5'000};
  double backoff = 1.6;
  std::chrono::milliseconds timeout{300'000};  // overall
};

class Client {
 public:
  Client(HttpClient& http, Clock& clock, std::string directory_url);

  // Fetches the directory once; other methods call it when needed.
  Result<void> load_directory();
  const Directory& directory() const noexcept { return transport_.directory(); }

  // Uses this key (and account URL, once known) for signed requests.
  void set_account(const PrivateKey& key, std::string account_url);
  const std::string& account_url() const noexcept { return kid_; }
  const PrivateKey* account_key() const noexcept { return key_; }

  // newAccount (RFC 8555 §7.3). 200 (existing) and 201 (created) both succeed; the
  // returned account's url becomes the kid for later requests.
  // eab: RFC 8555 §7.3.4 "externalAccountBinding" (not sent with onlyReturnExisting).
  Result<Account> new_account(const PrivateKey& key, const NewAccountOptions& options,
                              const ExternalAccountBinding* eab = nullptr);
  // onlyReturnExisting: kAcmeProblem accountDoesNotExist when the CA has none.
  Result<Account> find_account(const PrivateKey& key);
  Result<Account> deactivate_account();
  // RFC 8555 §7.3.5 account key rollover: the inner JWS is signed by new_key (jwk header,
  // no nonce) over {"account", "oldKey"}, the outer one by the current key. On success the
  // client signs with new_key from then on (it must outlive the client's use of it).
  Result<void> change_key(const PrivateKey& new_key);

  // newOrder (RFC 8555 §7.4); replaces: RFC 9773 ARI cert ID of the predecessor; profile:
  // draft-ietf-acme-profiles, one of directory().profiles ("": the CA's default).
  Result<Order> new_order(const std::vector<Identifier>& ids, const std::string& replaces = {},
                          const std::string& profile = {});
  Result<Order> get_order(const std::string& url);
  Result<Authorization> get_authorization(const std::string& url);
  // RFC 8555 §7.5.1: POST {} to the challenge URL.
  Result<Challenge> respond_challenge(const std::string& url);
  // RFC 8555 §7.5.2: {"status":"deactivated"}.
  Result<Authorization> deactivate_authorization(const std::string& url);
  // RFC 8555 §7.4: CSR as base64url DER.
  Result<Order> finalize(const Order& order, const std::string& csr_der);
  // Downloads the chain (application/pem-certificate-chain) and its alternates.
  Result<CertificateChain> download_certificate(const std::string& url);
  // RFC 8555 §7.6 revocation by the account key; reason per RFC 5280 (0 unspecified).
  Result<void> revoke_certificate(const std::string& cert_der, int reason);
  // RFC 8555 §7.6 revocation signed by the certificate's own key (a "jwk" header, no
  // account): for a subscriber who lost the account. cert_key MUST be the key of the
  // certificate; the CA refuses the request otherwise.
  Result<void> revoke_certificate_with_key(const std::string& cert_der, int reason,
                                           const PrivateKey& cert_key);
  // RFC 9773: GET renewalInfo/CERTID. kProtocol when the CA has no renewalInfo.
  Result<RenewalInfo> renewal_info(const std::string& cert_id);

  // Polls an authorization until it leaves "pending" (valid: success; invalid: kValidation
  // with the challenge error). Honours Retry-After; fails with kTimeout after options.timeout.
  Result<Authorization> poll_authorization(const std::string& url, const PollOptions& options);
  // Polls an order until its status is one of want ("ready", "valid") or invalid.
  // first_retry_after: the Retry-After of the response that led here (finalize answering
  // "processing"), which then replaces the first delay.
  Result<Order> poll_order(const std::string& url, const std::vector<OrderStatus>& want,
                           const PollOptions& options,
                           std::optional<std::chrono::seconds> first_retry_after = std::nullopt);

  Transport& transport() noexcept { return transport_; }

 private:
  Result<nlohmann::json> post_json(const std::string& url, const std::string& payload,
                                   HttpResponse* raw = nullptr);
  std::chrono::milliseconds next_delay(std::chrono::milliseconds current,
                                       const std::optional<std::chrono::seconds>& retry_after,
                                       const PollOptions& options) const;

  Clock& clock_;
  Transport transport_;
  std::string directory_url_;
  bool directory_loaded_ = false;
  const PrivateKey* key_ = nullptr;
  std::string kid_;
};

}  // namespace acme
