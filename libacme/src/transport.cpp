// Signed POST / POST-as-GET with a nonce pool and bounded badNonce retry (RFC 8555 §6).
#include "acme/transport.hpp"

#include "acme/base64url.hpp"
#include "acme/jws.hpp"
#include "acme/problem.hpp"

namespace acme {

void NoncePool::collect(const HttpResponse& response) {
  auto nonce = response.header("replay-nonce");
  // RFC 8555 §6.5.1: the value is base64url; anything else is ignored rather than echoed.
  if (!nonce || !is_base64url(*nonce) || nonce->size() > 512) return;
  if (nonces_.size() >= capacity_) nonces_.pop_front();
  nonces_.push_back(std::move(*nonce));
}

std::optional<std::string> NoncePool::take() {
  if (nonces_.empty()) return std::nullopt;
  // Newest first: the most recent nonce is the least likely to have expired.
  std::string n = std::move(nonces_.back());
  nonces_.pop_back();
  return n;
}

Transport::Transport(HttpClient& http, Clock& clock) : http_(http), clock_(clock) {}

Result<HttpResponse> Transport::exchange(const HttpRequest& req) {
  const auto start = clock_.steady_now();
  auto resp = http_.send(req);
  ++requests_;
  if (observer_) {
    observer_({endpoint_name(req.url), resp ? resp->status : 0,
               std::chrono::duration_cast<std::chrono::milliseconds>(clock_.steady_now() - start)});
  }
  if (resp) nonces_.collect(*resp);
  return resp;
}

std::string Transport::endpoint_name(const std::string& url) const {
  const Directory& d = directory_;
  if (url == d.new_nonce) return "newNonce";
  if (url == d.new_account) return "newAccount";
  if (url == d.new_order) return "newOrder";
  if (url == d.revoke_cert) return "revokeCert";
  if (url == d.key_change) return "keyChange";
  if (!d.renewal_info.empty() && url.rfind(d.renewal_info, 0) == 0) return "renewalInfo";
  if (d.new_nonce.empty()) return "directory";
  return "other";
}

Result<Directory> Transport::fetch_directory(const std::string& url) {
  ACME_ASSIGN(auto resp, get(url));
  ACME_ASSIGN(auto j, parse_json_body(url, resp));
  auto dir = parse_directory(j);
  if (!dir) return std::move(dir).error().context("directory " + url);
  directory_ = *dir;
  return dir;
}

Result<HttpResponse> Transport::get(const std::string& url) {
  HttpRequest req{"GET", url, {}, {}};
  ACME_ASSIGN(auto resp, exchange(req));
  if (resp.status < 200 || resp.status > 299) {
    return error_from_response(req, resp, clock_.now());
  }
  return resp;
}

Result<std::string> Transport::next_nonce() {
  if (auto n = nonces_.take()) return *n;
  if (directory_.new_nonce.empty()) {
    return make_error(Errc::kInternal, "no directory loaded: cannot get a nonce");
  }
  // RFC 8555 §7.2: HEAD newNonce answers 200 with a Replay-Nonce.
  HttpRequest req{"HEAD", directory_.new_nonce, {}, {}};
  ACME_ASSIGN(auto resp, exchange(req));
  if (resp.status < 200 || resp.status > 299) {
    return error_from_response(req, resp, clock_.now());
  }
  if (auto n = nonces_.take()) return *n;
  return make_error(Errc::kProtocol,
                    "HEAD " + directory_.new_nonce + ": no valid Replay-Nonce header");
}

Result<HttpResponse> Transport::post(const std::string& url, const std::string& payload,
                                     const PrivateKey& key, const std::string& kid) {
  for (int attempt = 0;; ++attempt) {
    ACME_ASSIGN(auto nonce, next_nonce());
    ACME_ASSIGN(auto jws, sign_jws(key, JwsProtected{url, std::move(nonce), kid}, payload));
    HttpRequest req{"POST", url, {{"Content-Type", "application/jose+json"}}, jws.dump()};
    ACME_ASSIGN(auto resp, exchange(req));
    if (resp.status >= 200 && resp.status <= 299) return resp;
    Error err = error_from_response(req, resp, clock_.now());
    // RFC 8555 §6.5: on badNonce the client retries with the nonce from this response.
    const bool bad_nonce = err.problem && err.problem->acme_type() == "badNonce";
    if (bad_nonce && attempt < max_bad_nonce_retries_) {
      ++bad_nonce_retries_;
      continue;
    }
    return err;
  }
}

Error error_from_response(const HttpRequest& req, const HttpResponse& resp,
                          std::chrono::system_clock::time_point now) {
  Error e;
  e.http_status = resp.status;
  e.problem = parse_problem(resp.body);
  e.code = e.problem ? Errc::kAcmeProblem : Errc::kHttp;
  e.message = req.method + " " + req.url + ": HTTP " + std::to_string(resp.status);
  if (auto ra = resp.header("retry-after")) e.retry_after = parse_retry_after(*ra, now);
  return e;
}

Result<nlohmann::json> parse_json_body(const std::string& url, const HttpResponse& resp) {
  nlohmann::json j = nlohmann::json::parse(resp.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return make_error(Errc::kProtocol, url + ": response is not valid JSON (HTTP " +
                                           std::to_string(resp.status) + ", " +
                                           std::to_string(resp.body.size()) + " bytes)");
  }
  return j;
}

}  // namespace acme
