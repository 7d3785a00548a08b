// RFC 8555 resources, one method each. Polling honours Retry-After (RFC 8555 §7.5.1).
#include "acme/client.hpp"

#include <algorithm>

#include "acme/base64url.hpp"
#include "acme/jws.hpp"

namespace acme {

using nlohmann::json;

Client::Client(HttpClient& http, Clock& clock, std::string directory_url)
    : clock_(clock), transport_(http, clock), directory_url_(std::move(directory_url)) {}

Result<void> Client::load_directory() {
  if (directory_loaded_) return ok();
  auto d = transport_.fetch_directory(directory_url_);
  if (!d) return std::move(d).error();
  directory_loaded_ = true;
  return ok();
}

void Client::set_account(const PrivateKey& key, std::string account_url) {
  key_ = &key;
  kid_ = std::move(account_url);
}

Result<json> Client::post_json(const std::string& url, const std::string& payload,
                               HttpResponse* raw) {
  if (key_ == nullptr) return make_error(Errc::kInternal, "no account key set");
  ACME_CHECK(load_directory());
  ACME_ASSIGN(auto resp, transport_.post(url, payload, *key_, kid_));
  ACME_ASSIGN(auto j, parse_json_body(url, resp));
  if (raw != nullptr) *raw = std::move(resp);
  return j;
}

Result<Account> Client::new_account(const PrivateKey& key, const NewAccountOptions& options,
                                    const ExternalAccountBinding* eab) {
  ACME_CHECK(load_directory());
  json payload = json::object();
  if (options.only_return_existing) {
    payload["onlyReturnExisting"] = true;
  } else {
    payload["termsOfServiceAgreed"] = options.terms_agreed;
    if (!options.contact.empty()) payload["contact"] = options.contact;
  }
  const std::string& url = directory().new_account;
  if (eab != nullptr && !options.only_return_existing) {
    ACME_ASSIGN(payload["externalAccountBinding"], sign_eab(*eab, url, key.public_jwk()));
  }
  // newAccount is signed with the "jwk" header: no kid yet (RFC 8555 §7.3).
  auto resp = transport_.post(url, payload.dump(), key, "");
  if (!resp) return std::move(resp).error().context("new account");
  ACME_ASSIGN(auto j, parse_json_body(url, *resp));
  auto account = parse_account(j);
  if (!account) return std::move(account).error().context("new account");
  auto location = resp->header("location");
  if (!location || location->empty()) {
    return make_error(Errc::kProtocol, "new account: " + url + " answered without a Location");
  }
  account->url = *location;
  set_account(key, account->url);
  return account;
}

Result<Account> Client::find_account(const PrivateKey& key) {
  NewAccountOptions options;
  options.only_return_existing = true;
  return new_account(key, options);
}

Result<Account> Client::deactivate_account() {
  ACME_ASSIGN(auto j, post_json(kid_, R"({"status":"deactivated"})"));
  auto a = parse_account(j);
  if (a) a->url = kid_;
  return a;
}

Result<void> Client::change_key(const PrivateKey& new_key) {
  ACME_CHECK(load_directory());
  if (directory().key_change.empty()) {
    return make_error(Errc::kProtocol, "the CA's directory has no keyChange");
  }
  if (key_ == nullptr || kid_.empty()) {
    return make_error(Errc::kInternal, "key change: no account in use");
  }
  if (new_key.thumbprint() == key_->thumbprint()) {
    return make_error(Errc::kInvalidInput, "key change: the new key is the current key");
  }
  const json inner_payload{{"account", kid_}, {"oldKey", key_->public_jwk()}};
  JwsProtected inner_header;
  inner_header.url = directory().key_change;  // same URL as the outer JWS, no nonce, jwk
  ACME_ASSIGN(auto inner, sign_jws(new_key, inner_header, inner_payload.dump()));
  auto resp = transport_.post(directory().key_change, inner.dump(), *key_, kid_);
  if (!resp) return std::move(resp).error().context("key change");
  key_ = &new_key;
  return ok();
}

Result<Order> Client::new_order(const std::vector<Identifier>& ids, const std::string& replaces,
                                const std::string& profile) {
  ACME_CHECK(load_directory());
  json payload;
  payload["identifiers"] = json::array();
  for (const auto& id : ids)
    payload["identifiers"].push_back({{"type", id.type}, {"value", id.value}});
  if (!replaces.empty()) payload["replaces"] = replaces;
  if (!profile.empty()) payload["profile"] = profile;
  HttpResponse raw;
  auto j = post_json(directory().new_order, payload.dump(), &raw);
  if (!j) return std::move(j).error().context("new order");
  auto order = parse_order(*j);
  if (!order) return std::move(order).error().context("new order");
  auto location = raw.header("location");
  if (!location || location->empty()) {
    return make_error(Errc::kProtocol, "new order: answered without a Location header");
  }
  order->url = *location;
  return order;
}

Result<Order> Client::get_order(const std::string& url) {
  HttpResponse raw;
  ACME_ASSIGN(auto j, post_json(url, "", &raw));
  auto order = parse_order(j);
  if (!order) return std::move(order).error().context("order " + url);
  order->url = url;
  if (auto ra = raw.header("retry-after"))
    order->retry_after = parse_retry_after(*ra, clock_.now());
  return order;
}

Result<Authorization> Client::get_authorization(const std::string& url) {
  ACME_ASSIGN(auto j, post_json(url, ""));
  auto a = parse_authorization(j);
  if (!a) return std::move(a).error().context("authorization " + url);
  a->url = url;
  return a;
}

Result<Challenge> Client::respond_challenge(const std::string& url) {
  // RFC 8555 §7.5.1: the response is an empty JSON object.
  ACME_ASSIGN(auto j, post_json(url, "{}"));
  auto c = parse_challenge(j);
  if (!c) return std::move(c).error().context("challenge " + url);
  return c;
}

Result<Authorization> Client::deactivate_authorization(const std::string& url) {
  ACME_ASSIGN(auto j, post_json(url, R"({"status":"deactivated"})"));
  auto a = parse_authorization(j);
  if (a) a->url = url;
  return a;
}

Result<Order> Client::finalize(const Order& order, const std::string& csr_der) {
  json payload{{"csr", base64url_encode(csr_der)}};
  HttpResponse raw;
  auto j = post_json(order.finalize, payload.dump(), &raw);
  if (!j) return std::move(j).error().context("finalize");
  auto o = parse_order(*j);
  if (!o) return std::move(o).error().context("finalize");
  o->url = order.url;
  if (auto ra = raw.header("retry-after")) o->retry_after = parse_retry_after(*ra, clock_.now());
  return o;
}

Result<CertificateChain> Client::download_certificate(const std::string& url) {
  if (key_ == nullptr) return make_error(Errc::kInternal, "no account key set");
  ACME_CHECK(load_directory());
  auto resp = transport_.post(url, "", *key_, kid_);
  if (!resp) return std::move(resp).error().context("download certificate");
  if (resp->body.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return make_error(Errc::kProtocol,
                      "download certificate: " + url + " answered no PEM certificate");
  }
  CertificateChain chain;
  chain.pem = std::move(resp->body);
  // RFC 8555 §7.4.2: alternate chains are offered as Link rel="alternate".
  chain.alternates = parse_links(resp->headers_named("link"), "alternate");
  return chain;
}

Result<void> Client::revoke_certificate(const std::string& cert_der, int reason) {
  ACME_CHECK(load_directory());
  if (directory().revoke_cert.empty()) {
    return make_error(Errc::kProtocol, "the CA's directory has no revokeCert");
  }
  json payload{{"certificate", base64url_encode(cert_der)}};
  if (reason != 0) payload["reason"] = reason;
  if (key_ == nullptr) return make_error(Errc::kInternal, "no account key set");
  auto resp = transport_.post(directory().revoke_cert, payload.dump(), *key_, kid_);
  if (!resp) return std::move(resp).error().context("revoke");
  return ok();
}

Result<void> Client::revoke_certificate_with_key(const std::string& cert_der, int reason,
                                                 const PrivateKey& cert_key) {
  ACME_CHECK(load_directory());
  if (directory().revoke_cert.empty()) {
    return make_error(Errc::kProtocol, "the CA's directory has no revokeCert");
  }
  json payload{{"certificate", base64url_encode(cert_der)}};
  if (reason != 0) payload["reason"] = reason;
  // An empty kid: the JWS carries the certificate key's public JWK (RFC 8555 §6.2, §7.6).
  auto resp = transport_.post(directory().revoke_cert, payload.dump(), cert_key, std::string());
  if (!resp) return std::move(resp).error().context("revoke");
  return ok();
}

Result<RenewalInfo> Client::renewal_info(const std::string& cert_id) {
  ACME_CHECK(load_directory());
  if (directory().renewal_info.empty()) {
    return make_error(Errc::kProtocol, "the CA offers no renewal information (RFC 9773)");
  }
  std::string url = directory().renewal_info;
  if (url.back() != '/') url += '/';
  url += cert_id;
  auto resp = transport_.get(url);
  if (!resp) return std::move(resp).error().context("renewal info");
  ACME_ASSIGN(auto j, parse_json_body(url, *resp));
  auto info = parse_renewal_info(j);
  if (!info) return std::move(info).error().context("renewal info " + url);
  if (auto ra = resp->header("retry-after"))
    info->retry_after = parse_retry_after(*ra, clock_.now());
  return info;
}

std::chrono::milliseconds Client::next_delay(std::chrono::milliseconds current,
                                             const std::optional<std::chrono::seconds>& retry_after,
                                             const PollOptions& options) const {
  // The server's Retry-After always wins (RFC 8555 §7.5.1, §7.4).
  if (retry_after) return std::chrono::duration_cast<std::chrono::milliseconds>(*retry_after);
  auto next = std::chrono::milliseconds(
      static_cast<long long>(static_cast<double>(current.count()) * options.backoff));
  return std::min(next, options.max_delay);
}

namespace {

std::string challenge_failure(const Authorization& a) {
  std::string out =
      "authorization for " + a.identifier.value + " is " + std::string(to_string(a.status));
  for (const auto& c : a.challenges) {
    if (c.error) {
      out += ": " + c.type + " " + c.error->describe();
      break;
    }
  }
  return out;
}

}  // namespace

Result<Authorization> Client::poll_authorization(const std::string& url,
                                                 const PollOptions& options) {
  const auto deadline = clock_.steady_now() + options.timeout;
  auto delay = options.first_delay;
  while (true) {
    if (clock_.steady_now() + delay > deadline) {
      return make_error(Errc::kTimeout, "authorization " + url + " still pending after " +
                                            std::to_string(options.timeout.count() / 1000) + "s");
    }
    clock_.sleep_for(delay);
    if (clock_.cancelled()) return make_error(Errc::kCancelled, "stopped while polling " + url);
    HttpResponse raw;
    ACME_ASSIGN(auto j, post_json(url, "", &raw));
    auto a = parse_authorization(j);
    if (!a) return std::move(a).error().context("authorization " + url);
    a->url = url;
    if (a->status == AuthorizationStatus::kValid) return a;
    if (a->status != AuthorizationStatus::kPending) {
      Error e = make_error(Errc::kValidation, challenge_failure(*a));
      for (const auto& c : a->challenges) {
        if (c.error) e.problem = c.error;
      }
      return e;
    }
    std::optional<std::chrono::seconds> ra;
    if (auto h = raw.header("retry-after")) ra = parse_retry_after(*h, clock_.now());
    delay = next_delay(delay, ra, options);
  }
}

Result<Order> Client::poll_order(const std::string& url, const std::vector<OrderStatus>& want,
                                 const PollOptions& options,
                                 std::optional<std::chrono::seconds> first_retry_after) {
  const auto deadline = clock_.steady_now() + options.timeout;
  auto delay = first_retry_after
                   ? std::chrono::duration_cast<std::chrono::milliseconds>(*first_retry_after)
                   : options.first_delay;
  while (true) {
    if (clock_.steady_now() + delay > deadline) {
      return make_error(Errc::kTimeout, "order " + url + " not ready after " +
                                            std::to_string(options.timeout.count() / 1000) + "s");
    }
    clock_.sleep_for(delay);
    if (clock_.cancelled()) return make_error(Errc::kCancelled, "stopped while polling " + url);
    ACME_ASSIGN(auto order, get_order(url));
    if (std::find(want.begin(), want.end(), order.status) != want.end()) return order;
    if (order.status == OrderStatus::kInvalid) {
      Error e = make_error(Errc::kValidation, "order " + url + " is invalid");
      e.problem = order.error;
      return e;
    }
    delay = next_delay(delay, order.retry_after, options);
  }
}

}  // namespace acme
