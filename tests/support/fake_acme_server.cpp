// Transport level of the fake ACME server: routing, JWS verification (RFC 8555 §6.2-§6.5),
// nonces, problem documents, knobs and counters. Resources: fake_acme_resources.cpp.

#include "fake_acme_server.hpp"

#include <algorithm>
#include <cctype>

#include "fake_ca.hpp"
#include "fake_jws.hpp"

namespace acme::test {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Endpoint name for counters and canned responses; "" when no resource lives there.
std::string endpoint_for(std::string_view path) {
  static const std::pair<std::string_view, std::string_view> kExact[] = {
      {"/dir", "directory"},      {"/new-nonce", "newNonce"},     {"/new-account", "newAccount"},
      {"/new-order", "newOrder"}, {"/revoke-cert", "revokeCert"}, {"/key-change", "keyChange"}};
  static const std::pair<std::string_view, std::string_view> kPrefix[] = {
      {"/acct/", "account"},
      {"/order/", "order"},
      {"/authz/", "authz"},
      {"/chall/", "challenge"},
      {"/finalize/", "finalize"},
      {"/cert/", "certificate"},
      {"/renewal-info/", "renewalInfo"}};
  for (const auto& [p, name] : kExact) {
    if (path == p) return std::string(name);
  }
  for (const auto& [p, name] : kPrefix) {
    if (starts_with(path, p) && path.size() > p.size()) return std::string(name);
  }
  return "";
}

std::optional<std::string> request_header(const acme::HttpRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (lower(k) == name) return v;
  }
  return std::nullopt;
}

}  // namespace

FakeAcmeServer::FakeAcmeServer(const acme::Clock* clock)
    : clock_(clock), ca_(std::make_unique<FakeCa>(std::chrono::system_clock::to_time_t(now()))) {}

FakeAcmeServer::~FakeAcmeServer() = default;

acme::Result<acme::HttpResponse> FakeAcmeServer::send(const acme::HttpRequest& request) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  const std::string_view url = request.url;
  if (!starts_with(url, kBase) || (url.size() > kBase.size() && url[kBase.size()] != '/')) {
    // Like curl: no HTTP response at all for a host that does not exist.
    return acme::make_error(acme::Errc::kNetwork,
                            request.method + " " + request.url + ": could not resolve host");
  }
  const std::string path(url.substr(kBase.size()));
  const std::string endpoint = endpoint_for(path);
  if (endpoint.empty()) {
    ++requests_["unknown"];
    return problem(404, "malformed", "no resource at " + request.url);
  }
  ++requests_[endpoint];
  return dispatch(request, endpoint, path);
}

acme::HttpResponse FakeAcmeServer::dispatch(const acme::HttpRequest& req,
                                            const std::string& endpoint, const std::string& path) {
  const bool unsigned_endpoint =
      endpoint == "directory" || endpoint == "newNonce" || endpoint == "renewalInfo";
  std::optional<Signed> s;
  if (unsigned_endpoint) {
    if (endpoint == "newNonce" && req.method == "HEAD") ++head_new_nonce_;
    const bool allowed = req.method == "GET" || (endpoint == "newNonce" && req.method == "HEAD");
    if (!allowed) {
      violation(req.method + " " + req.url + ": only GET" +
                (endpoint == "newNonce" ? "/HEAD" : "") + " is allowed here");
      return problem(405, "malformed", req.method + " not allowed on " + path);
    }
  } else {
    if (req.method != "POST") {
      // RFC 8555 §6.3: resources other than directory and newNonce are fetched by
      // POST-as-GET; a server MUST answer GET with 405.
      violation(req.method + " " + req.url + ": RFC 8555 §6.3 requires POST(-as-GET)");
      return problem(405, "malformed", req.method + " not allowed on " + path);
    }
    acme::HttpResponse rejection;
    s = verify(req, endpoint, &rejection);
    if (!s) return rejection;
  }

  if (auto it = canned_.find(endpoint); it != canned_.end() && !it->second.empty()) {
    Canned c = std::move(it->second.front());
    it->second.pop_front();
    acme::HttpResponse resp{c.status, {}, std::move(c.body)};
    for (auto& [k, v] : c.headers) resp.headers.emplace_back(lower(k), std::move(v));
    const bool has_nonce = std::any_of(resp.headers.begin(), resp.headers.end(),
                                       [](const auto& kv) { return kv.first == "replay-nonce"; });
    if (!has_nonce) resp.headers.emplace_back("replay-nonce", new_nonce());
    return resp;
  }

  if (endpoint == "directory") return handle_directory();
  if (endpoint == "renewalInfo") return handle_renewal_info(path);
  if (endpoint == "newNonce") {
    acme::HttpResponse resp;
    resp.status = req.method == "HEAD" ? 200 : 204;  // RFC 8555 §7.2
    resp.headers.emplace_back("cache-control", "no-store");
    finish(resp, true);
    return resp;
  }
  if (endpoint == "newAccount") return handle_new_account(*s);
  if (endpoint == "account") return handle_account(*s, req.url);
  if (endpoint == "newOrder") return handle_new_order(*s);
  if (endpoint == "order") return handle_order(*s, req.url);
  if (endpoint == "authz") return handle_authz(*s, req.url);
  if (endpoint == "challenge") return handle_challenge(*s, req.url);
  if (endpoint == "finalize") return handle_finalize(*s, req.url);
  if (endpoint == "certificate") return handle_certificate(*s, req.url);
  if (endpoint == "revokeCert") return handle_revoke(*s);
  if (endpoint == "keyChange") return handle_key_change(*s, req.url);
  return problem(501, "serverInternal", endpoint + " is not implemented by the fake server");
}

std::optional<FakeAcmeServer::Signed> FakeAcmeServer::verify(const acme::HttpRequest& req,
                                                             const std::string& endpoint,
                                                             acme::HttpResponse* rejection) {
  auto fail = [&](int status, const std::string& type, const std::string& detail) {
    violation("POST " + req.url + ": " + detail);
    *rejection = problem(status, type, detail);
    return std::nullopt;
  };

  // RFC 8555 §6.2: application/jose+json, else 415.
  const auto ctype = request_header(req, "content-type");
  if (!ctype || lower(*ctype) != "application/jose+json") {
    return fail(415, "malformed",
                "Content-Type is '" + ctype.value_or("") + "', want application/jose+json");
  }
  std::string error;
  auto jws = parse_flattened_jws(req.body, &error);
  if (!jws) return fail(400, "malformed", error);
  const nlohmann::json& h = jws->header;

  if (!h.contains("alg") || !h["alg"].is_string()) return fail(400, "malformed", "no alg");
  const std::string alg = h["alg"].get<std::string>();
  if (alg != "ES256" && alg != "ES384" && alg != "RS256") {
    return fail(400, "badSignatureAlgorithm", "alg '" + alg + "' is not supported");
  }
  const bool has_jwk = h.contains("jwk");
  const bool has_kid = h.contains("kid");
  if (has_jwk == has_kid) {
    return fail(400, "malformed", "protected header must hold exactly one of jwk and kid");
  }
  if (has_jwk && endpoint != "newAccount" && endpoint != "revokeCert") {
    return fail(400, "malformed", "jwk header on " + endpoint + ": RFC 8555 §6.2 wants kid");
  }
  if (!h.contains("url") || !h["url"].is_string() || h["url"].get<std::string>() != req.url) {
    // RFC 8555 §6.4: the "url" header MUST equal the request URL, else unauthorized.
    return fail(401, "unauthorized",
                "protected url " + (h.contains("url") ? h["url"].dump() : std::string("(none)")) +
                    " != request URL " + req.url);
  }

  Signed s;
  s.header = h;
  PkeyPtr key;
  if (has_jwk) {
    s.jwk = h["jwk"];
    key = pkey_from_jwk(s.jwk, &error);
    if (!key) return fail(400, "malformed", "bad jwk: " + error);
    const std::string thumb = jwk_thumbprint_b64(s.jwk);
    for (const auto& [url, acct] : accounts_) {
      if (acct.thumbprint == thumb) s.account_url = url;
    }
  } else {
    if (!h["kid"].is_string()) return fail(400, "malformed", "kid is not a string");
    s.account_url = h["kid"].get<std::string>();
    auto it = accounts_.find(s.account_url);
    if (it == accounts_.end()) {
      return fail(400, "accountDoesNotExist", "kid " + s.account_url + " is not an account URL");
    }
    key = pkey_from_jwk(it->second.jwk, &error);
    if (!key) return fail(500, "serverInternal", "stored jwk: " + error);
  }
  const std::string want_alg = alg_for_jwk(has_jwk ? s.jwk : accounts_[s.account_url].jwk);
  if (alg != want_alg) {
    return fail(400, "badSignatureAlgorithm",
                "alg " + alg + " does not match the key (" + want_alg + ")");
  }
  if (!verify_jws_signature(key.get(), alg, jws->signing_input, jws->signature, &error)) {
    return fail(400, "malformed", error);
  }

  // RFC 8555 §6.5: a nonce this server issued, used once.
  if (!h.contains("nonce") || !h["nonce"].is_string()) {
    return fail(400, "badNonce", "protected header has no nonce");
  }
  if (unused_nonces_.erase(h["nonce"].get<std::string>()) == 0) {
    return fail(400, "badNonce",
                "nonce " + h["nonce"].get<std::string>() + " was not issued here or was reused");
  }
  if (reject_all_nonces_ || reject_nonces_ > 0) {
    if (reject_nonces_ > 0) --reject_nonces_;
    *rejection = problem(400, "badNonce", "JWS has an invalid anti-replay nonce");
    return std::nullopt;
  }

  if (!jws->payload.empty()) {
    auto payload = nlohmann::json::parse(jws->payload, nullptr, false);
    if (!payload.is_object()) return fail(400, "malformed", "payload is not a JSON object");
  }
  if (has_kid && accounts_[s.account_url].status != "valid") {
    // RFC 8555 §7.3.6: requests signed by a deactivated account are unauthorized.
    *rejection = problem(401, "unauthorized", "account " + s.account_url + " is deactivated");
    return std::nullopt;
  }
  s.payload = std::move(jws->payload);
  return s;
}

void FakeAcmeServer::violation(const std::string& what) { violations_.push_back(what); }

std::string FakeAcmeServer::new_nonce() {
  std::string nonce = random_b64url(16);
  unused_nonces_.insert(nonce);
  return nonce;
}

void FakeAcmeServer::finish(acme::HttpResponse& resp, bool with_nonce) {
  if (with_nonce) resp.headers.emplace_back("replay-nonce", new_nonce());
  // RFC 8555 §7.1: the directory URL as Link rel="index".
  resp.headers.emplace_back("link", "<" + std::string(kDirectoryUrl) + ">;rel=\"index\"");
}

acme::HttpResponse FakeAcmeServer::respond(int status, const nlohmann::json& body,
                                           const std::string& location) {
  acme::HttpResponse resp;
  resp.status = status;
  resp.headers.emplace_back("content-type", "application/json");
  if (!location.empty()) resp.headers.emplace_back("location", location);
  resp.body = body.dump();
  finish(resp, true);
  return resp;
}

acme::HttpResponse FakeAcmeServer::problem(int status, const std::string& type,
                                           const std::string& detail) {
  acme::HttpResponse resp;
  resp.status = status;
  resp.headers.emplace_back("content-type", "application/problem+json");
  const std::string urn =
      type.find(':') == std::string::npos ? "urn:ietf:params:acme:error:" + type : type;
  resp.body = nlohmann::json{{"type", urn}, {"detail", detail}, {"status", status}}.dump();
  finish(resp, true);
  return resp;
}

std::chrono::system_clock::time_point FakeAcmeServer::now() const {
  return clock_ != nullptr ? clock_->now() : std::chrono::system_clock::now();
}

std::string FakeAcmeServer::make_url(const std::string& kind) {
  return std::string(kBase) + "/" + kind + "/" + std::to_string(next_id_++);
}

// ---- Knobs ---------------------------------------------------------------------------

std::vector<std::string> FakeAcmeServer::violations() const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return violations_;
}
void FakeAcmeServer::clear_violations() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  violations_.clear();
}
void FakeAcmeServer::reject_next_nonces(int n) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  reject_nonces_ = n;
}
void FakeAcmeServer::set_reject_all_nonces(bool on) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  reject_all_nonces_ = on;
}
void FakeAcmeServer::respond_next(const std::string& endpoint, int status, std::string body,
                                  acme::Headers headers) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  canned_[endpoint].push_back({status, std::move(body), std::move(headers)});
}
void FakeAcmeServer::fail_validation(const std::string& identifier_value, std::string problem_type,
                                     std::string detail) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  failures_[identifier_value] = {std::move(problem_type), std::move(detail)};
}
void FakeAcmeServer::set_authz_pending_polls(int n) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  authz_pending_polls_ = n;
}
void FakeAcmeServer::set_authz_pending_polls(const std::string& identifier_value, int n) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  authz_pending_polls_for_[identifier_value] = n;
}
void FakeAcmeServer::set_finalize_processing(int polls, int retry_after_seconds) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  processing_polls_ = polls;
  processing_retry_after_ = retry_after_seconds;
}
void FakeAcmeServer::add_pre_valid(const std::string& identifier_value) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  pre_valid_.insert(identifier_value);
}
void FakeAcmeServer::set_alternate_chains(bool on) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  alternate_chains_ = on;
}
void FakeAcmeServer::set_long_default_chain(bool on) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  long_default_chain_ = on;
}
void FakeAcmeServer::set_dns_persist(const std::string& issuer_domain) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  persist_issuer_ = issuer_domain;
}
void FakeAcmeServer::set_persist_txt(const std::string& record_name, const std::string& value) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  persist_txt_[record_name] = value;
}
void FakeAcmeServer::set_key_authorization_source(KeyAuthorizationSource source) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  key_authorization_source_ = std::move(source);
}

// ---- Counters and inspection ---------------------------------------------------------

int FakeAcmeServer::requests(std::string_view endpoint) const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto it = requests_.find(endpoint);
  return it == requests_.end() ? 0 : it->second;
}
int FakeAcmeServer::head_new_nonce_count() const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return head_new_nonce_;
}
int FakeAcmeServer::challenge_responses() const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return challenge_responses_;
}
std::vector<acme::Identifier> FakeAcmeServer::responded_identifiers() const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return responded_;
}
int FakeAcmeServer::authz_deactivations() const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return authz_deactivations_;
}
int FakeAcmeServer::account_deactivations() const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return account_deactivations_;
}
int FakeAcmeServer::revocations() const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return revocations_;
}

int FakeAcmeServer::key_changes() const {
  std::lock_guard lock(mu_);
  return key_changes_;
}
int FakeAcmeServer::early_polls() const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return early_polls_;
}
std::string FakeAcmeServer::authz_status(const std::string& url) const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto it = authzs_.find(url);
  return it == authzs_.end() ? "" : it->second.status;
}
std::string FakeAcmeServer::order_status(const std::string& url) const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto it = orders_.find(url);
  return it == orders_.end() ? "" : it->second.status;
}
std::string FakeAcmeServer::account_status(const std::string& url) const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto it = accounts_.find(url);
  return it == accounts_.end() ? "" : it->second.status;
}
std::vector<std::string> FakeAcmeServer::order_authorizations(const std::string& order_url) const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto it = orders_.find(order_url);
  return it == orders_.end() ? std::vector<std::string>{} : it->second.authorizations;
}
acme::Identifier FakeAcmeServer::authz_identifier(const std::string& url) const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto it = authzs_.find(url);
  return it == authzs_.end() ? acme::Identifier{} : it->second.identifier;
}
std::string FakeAcmeServer::key_authorization(const std::string& account_url,
                                              const std::string& token) const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto it = accounts_.find(account_url);
  return it == accounts_.end() ? "" : token + "." + it->second.thumbprint;
}

}  // namespace acme::test
