// RFC 8555 resources of the fake ACME server: directory, accounts, orders,
// authorizations, challenges, finalization, certificates, revocation.

#include <cctype>
#include <cstdlib>
#include <ctime>

#include "acme/base64url.hpp"
#include "acme/jws.hpp"
#include "fake_acme_server.hpp"
#include "fake_ca.hpp"
#include "fake_jws.hpp"

namespace acme::test {
namespace {

constexpr const char* kUrn = "urn:ietf:params:acme:error:";

nlohmann::json identifier_json(const acme::Identifier& id) {
  return {{"type", id.type}, {"value", id.value}};
}

std::string describe(const std::vector<acme::Identifier>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id.type + ":" + id.value;
  return "[" + out + "]";
}

nlohmann::json parse_payload(const std::string& payload) {
  return payload.empty() ? nlohmann::json() : nlohmann::json::parse(payload, nullptr, false);
}

std::string format_time(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::string FakeAcmeServer::expires() const {
  return format_time(now() + std::chrono::hours(24 * 7));
}

acme::HttpResponse FakeAcmeServer::handle_directory() {
  const std::string b(kBase);
  nlohmann::json dir = {{"newNonce", b + "/new-nonce"},
                        {"newAccount", b + "/new-account"},
                        {"newOrder", b + "/new-order"},
                        {"revokeCert", b + "/revoke-cert"},
                        {"keyChange", b + "/key-change"},
                        {"meta",
                         {{"termsOfService", b + "/terms"},
                          {"website", b},
                          {"caaIdentities", {"ca.test"}},
                          {"externalAccountRequired", false}}}};
  if (ari_) dir["renewalInfo"] = b + "/renewal-info/";
  if (!profiles_.empty()) dir["meta"]["profiles"] = profiles_;
  if (!eab_kid_.empty()) dir["meta"]["externalAccountRequired"] = true;
  if (!persist_issuer_.empty()) dir["meta"]["issuerDomainNames"] = {persist_issuer_};
  // Like Pebble, no Replay-Nonce on the directory: the first nonce comes from newNonce.
  acme::HttpResponse resp;
  resp.status = 200;
  resp.headers.emplace_back("content-type", "application/json");
  resp.body = dir.dump();
  return resp;
}

// ---- Renewal information (RFC 9773) ------------------------------------------------------

void FakeAcmeServer::set_ari(bool on) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  ari_ = on;
}

void FakeAcmeServer::set_renewal_window(std::chrono::system_clock::time_point start,
                                        std::chrono::system_clock::time_point end) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  renewal_window_ = std::make_pair(start, end);
}

void FakeAcmeServer::mark_replaced(const std::string& cert_id) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  replaced_.insert(cert_id);
}

std::vector<std::string> FakeAcmeServer::replaces_seen() const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return replaces_seen_;
}

// ---- Profiles (draft-ietf-acme-profiles) -------------------------------------------------

void FakeAcmeServer::set_profiles(std::map<std::string, std::string> profiles) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  profiles_ = std::move(profiles);
}

std::vector<std::string> FakeAcmeServer::profiles_seen() const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return profiles_seen_;
}

acme::HttpResponse FakeAcmeServer::handle_renewal_info(const std::string& path) {
  if (!ari_) return problem(404, "malformed", "no renewal information here");
  const std::string id = path.substr(std::string_view("/renewal-info/").size());
  if (id.find('.') == std::string::npos) {
    return problem(400, "malformed", "renewal-info: not a CertID: " + id);
  }
  const auto window = renewal_window_.value_or(
      std::make_pair(now() + std::chrono::hours(24 * 60), now() + std::chrono::hours(24 * 61)));
  auto rfc3339 = [](std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf);
  };
  acme::HttpResponse resp;
  resp.status = 200;
  resp.headers.emplace_back("content-type", "application/json");
  resp.headers.emplace_back("retry-after", "21600");
  resp.body = nlohmann::json{{"suggestedWindow",
                              {{"start", rfc3339(window.first)}, {"end", rfc3339(window.second)}}}}
                  .dump();
  return resp;
}

// ---- Accounts (RFC 8555 §7.3) ---------------------------------------------------------

namespace {
nlohmann::json account_json(const std::string& url, const std::string& status,
                            const nlohmann::json& contact) {
  return {{"status", status}, {"contact", contact}, {"orders", url + "/orders"}};
}
}  // namespace

acme::HttpResponse FakeAcmeServer::handle_new_account(const Signed& s) {
  const nlohmann::json p = parse_payload(s.payload);
  if (!p.is_object()) {
    violation("newAccount without a payload object (POST-as-GET is not defined here)");
    return problem(400, "malformed", "newAccount needs a JSON object payload");
  }
  if (s.jwk.is_null()) return problem(400, "malformed", "newAccount needs a jwk header");
  if (!s.account_url.empty()) {
    // RFC 8555 §7.3.1: an existing account is returned with 200 and its Location.
    const AccountRec& a = accounts_[s.account_url];
    return respond(200, account_json(a.url, a.status, a.contact), a.url);
  }
  if (p.value("onlyReturnExisting", false)) {
    return problem(400, "accountDoesNotExist", "no account exists with the provided key");
  }
  if (!p.value("termsOfServiceAgreed", false)) {
    return problem(403, "userActionRequired", "the terms of service must be agreed to");
  }
  if (auto refused = check_eab(s, p)) return *refused;
  nlohmann::json contact = p.value("contact", nlohmann::json::array());
  if (!contact.is_array()) return problem(400, "malformed", "contact is not an array");
  for (const auto& c : contact) {
    if (!c.is_string() || c.get<std::string>().rfind("mailto:", 0) != 0) {
      return problem(400, "unsupportedContact", "only mailto: contacts: " + c.dump());
    }
  }
  AccountRec a;
  a.url = make_url("acct");
  a.jwk = s.jwk;
  a.thumbprint = jwk_thumbprint_b64(s.jwk);
  a.contact = contact;
  accounts_[a.url] = a;
  return respond(201, account_json(a.url, a.status, a.contact), a.url);
}

void FakeAcmeServer::require_eab(std::string kid, std::string hmac_key) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  eab_kid_ = std::move(kid);
  eab_key_ = std::move(hmac_key);
}

int FakeAcmeServer::eab_bindings() const {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return eab_bindings_;
}

std::optional<acme::HttpResponse> FakeAcmeServer::check_eab(const Signed& s,
                                                            const nlohmann::json& p) {
  auto e = p.find("externalAccountBinding");
  if (eab_kid_.empty()) {
    if (e != p.end()) violation("externalAccountBinding sent to a CA that does not require it");
    return std::nullopt;
  }
  if (e == p.end()) {
    return problem(403, "externalAccountRequired", "an external account binding is required");
  }
  // RFC 8555 §7.3.4: a flattened JWS; protected {alg (MAC), kid, url}, no nonce; payload
  // the account's JWK; MAC over protected.payload.
  if (!e->is_object() || e->size() != 3 || !e->contains("protected") || !e->contains("payload") ||
      !e->contains("signature") || !(*e)["protected"].is_string() || !(*e)["payload"].is_string() ||
      !(*e)["signature"].is_string()) {
    violation("externalAccountBinding is not a flattened JWS: " + e->dump());
    return problem(400, "malformed", "externalAccountBinding is not a flattened JWS");
  }
  const std::string prot_b64 = (*e)["protected"];
  const std::string payload_b64 = (*e)["payload"];
  auto prot_text = acme::base64url_decode(prot_b64);
  auto payload_text = acme::base64url_decode(payload_b64);
  const auto prot = nlohmann::json::parse(prot_text.value_or(""), nullptr, false);
  const auto jwk = nlohmann::json::parse(payload_text.value_or(""), nullptr, false);
  if (!prot.is_object() || prot.contains("nonce") || prot.contains("jwk") ||
      prot.value("url", "") != std::string(kBase) + "/new-account" || jwk != s.jwk) {
    violation("externalAccountBinding header or payload wrong: " + prot.dump() + " " + jwk.dump());
    return problem(400, "malformed", "externalAccountBinding header or payload wrong");
  }
  const std::string alg = prot.value("alg", "");
  auto mac = acme::jws_hmac(alg, eab_key_, prot_b64 + "." + payload_b64);
  if (prot.value("kid", "") != eab_kid_ || !mac ||
      acme::base64url_encode(*mac) != (*e)["signature"].get<std::string>()) {
    return problem(401, "unauthorized", "external account binding JWS verification error");
  }
  ++eab_bindings_;
  return std::nullopt;
}

acme::HttpResponse FakeAcmeServer::handle_account(const Signed& s, const std::string& url) {
  auto it = accounts_.find(url);
  if (it == accounts_.end()) return problem(404, "accountDoesNotExist", "no account " + url);
  if (s.account_url != url) return problem(403, "unauthorized", "not your account");
  AccountRec& a = it->second;
  const nlohmann::json p = parse_payload(s.payload);
  if (p.is_object()) {
    if (p.contains("contact")) a.contact = p["contact"];
    if (p.contains("status")) {
      if (p["status"] != "deactivated") {
        violation("account update with status " + p["status"].dump());
        return problem(400, "malformed", "status may only be set to deactivated");
      }
      // RFC 8555 §7.3.6.
      a.status = "deactivated";
      ++account_deactivations_;
    }
  }
  return respond(200, account_json(a.url, a.status, a.contact), a.url);
}

// ---- Orders (RFC 8555 §7.4) -----------------------------------------------------------

nlohmann::json FakeAcmeServer::order_json(const OrderRec& o) const {
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& id : o.identifiers) ids.push_back(identifier_json(id));
  nlohmann::json j = {{"status", o.status},
                      {"expires", expires()},
                      {"identifiers", ids},
                      {"authorizations", o.authorizations},
                      {"finalize", o.finalize}};
  if (o.status == "valid") j["certificate"] = o.certificate;
  if (o.error) j["error"] = *o.error;
  if (!o.profile.empty()) j["profile"] = o.profile;
  return j;
}

acme::HttpResponse FakeAcmeServer::handle_new_order(const Signed& s) {
  const nlohmann::json p = parse_payload(s.payload);
  if (!p.is_object() || !p.contains("identifiers") || !p["identifiers"].is_array() ||
      p["identifiers"].empty()) {
    violation("newOrder payload without identifiers: " + s.payload);
    return problem(400, "malformed", "newOrder needs a non-empty identifiers array");
  }
  if (auto r = p.find("replaces"); r != p.end()) {
    const std::string id = r->is_string() ? r->get<std::string>() : r->dump();
    replaces_seen_.push_back(id);
    if (!ari_) return problem(400, "malformed", "this server does not offer renewal information");
    // RFC 9773 §5: a certificate is replaced once.
    if (!replaced_.insert(id).second) {
      return problem(409, "alreadyReplaced", "certificate " + id + " was already replaced");
    }
  }
  std::string profile;
  if (auto pr = p.find("profile"); pr != p.end()) {
    profile = pr->is_string() ? pr->get<std::string>() : pr->dump();
    if (profile.empty()) violation("newOrder with an empty profile");
  }
  profiles_seen_.push_back(profile);
  if (!profile.empty() && profiles_.count(profile) == 0) {
    return problem(400, "invalidProfile", "profile \"" + profile + "\" is not offered");
  }
  OrderRec o;
  o.url = make_url("order");
  o.account_url = s.account_url;
  o.profile = profile;
  o.finalize = make_url("finalize");
  for (const auto& jid : p["identifiers"]) {
    if (!jid.is_object() || !jid.contains("type") || !jid.contains("value") ||
        !jid["type"].is_string() || !jid["value"].is_string() ||
        (jid["type"] != "dns" && jid["type"] != "ip")) {
      violation("newOrder with a malformed identifier: " + jid.dump());
      return problem(400, "malformed", "bad identifier " + jid.dump());
    }
    const acme::Identifier id{jid["type"].get<std::string>(), jid["value"].get<std::string>()};
    o.identifiers.push_back(id);

    AuthzRec a;
    a.url = make_url("authz");
    a.account_url = s.account_url;
    a.identifier = id;
    if (id.type == "dns" && id.value.rfind("*.", 0) == 0) {
      // RFC 8555 §7.1.4: the authorization names the base domain, wildcard: true.
      a.wildcard = true;
      a.identifier.value = id.value.substr(2);
    }
    const bool pre_valid = pre_valid_.count(id.value) > 0;
    std::vector<std::string> types = {"dns-01"};
    if (!a.wildcard) types = {"http-01", "dns-01", "tls-alpn-01"};
    if (!persist_issuer_.empty()) types.push_back("dns-persist-01");
    for (const auto& type : types) {
      ChallengeRec c;
      c.url = make_url("chall");
      c.type = type;
      if (type != "dns-persist-01") c.token = random_b64url(32);
      c.authz_url = a.url;
      if (pre_valid && type == types.front()) c.status = "valid";
      a.challenges.push_back(c.url);
      challenges_[c.url] = c;
    }
    if (pre_valid) a.status = "valid";
    o.authorizations.push_back(a.url);
    authzs_[a.url] = a;
  }
  refresh_order(o);
  orders_[o.url] = o;
  return respond(201, order_json(o), o.url);
}

void FakeAcmeServer::refresh_order(OrderRec& o) {
  if (o.status != "pending") return;
  bool all_valid = true;
  for (const auto& url : o.authorizations) {
    const AuthzRec& a = authzs_[url];
    if (a.status == "pending") {
      all_valid = false;
    } else if (a.status != "valid") {
      o.status = "invalid";
      o.error =
          nlohmann::json{{"type", std::string(kUrn) + "unauthorized"},
                         {"detail", "authorization for " + a.identifier.value + " is " + a.status}};
      return;
    }
  }
  if (all_valid) o.status = "ready";
}

acme::HttpResponse FakeAcmeServer::handle_order(const Signed& s, const std::string& url) {
  auto it = orders_.find(url);
  if (it == orders_.end()) return problem(404, "malformed", "no order " + url);
  OrderRec& o = it->second;
  if (s.account_url != o.account_url) return problem(403, "unauthorized", "not your order");
  if (!s.payload.empty()) {
    violation("order fetch with a payload (RFC 8555 §6.3 wants POST-as-GET): " + s.payload);
    return problem(400, "malformed", "POST-as-GET must have an empty payload");
  }
  if (clock_ != nullptr && o.no_poll_before && now() < *o.no_poll_before) ++early_polls_;
  o.no_poll_before.reset();
  for (const auto& authz_url : o.authorizations) {
    AuthzRec& a = authzs_[authz_url];
    if (a.responded && a.status == "pending" && a.pending_polls_left == 0) reveal(a);
  }
  refresh_order(o);
  acme::HttpResponse resp;
  if (o.status == "processing") {
    if (o.processing_left > 0) {
      --o.processing_left;
      o.no_poll_before = now() + std::chrono::seconds(processing_retry_after_);
      resp = respond(200, order_json(o));
      resp.headers.emplace_back("retry-after", std::to_string(processing_retry_after_));
      return resp;
    }
    o.status = "valid";
  }
  return respond(200, order_json(o));
}

// ---- Authorizations and challenges (RFC 8555 §7.5) ------------------------------------

nlohmann::json FakeAcmeServer::challenge_json(const ChallengeRec& c) const {
  nlohmann::json j = {{"type", c.type}, {"url", c.url}, {"status", c.status}};
  if (c.type == "dns-persist-01") {
    j["issuerDomainNames"] = {persist_issuer_};
  } else {
    j["token"] = c.token;
  }
  if (c.status == "valid") j["validated"] = format_time(now());
  if (c.error) j["error"] = *c.error;
  return j;
}

nlohmann::json FakeAcmeServer::authz_json(const AuthzRec& a) const {
  nlohmann::json chals = nlohmann::json::array();
  for (const auto& url : a.challenges) chals.push_back(challenge_json(challenges_.at(url)));
  nlohmann::json j = {{"identifier", identifier_json(a.identifier)},
                      {"status", a.status},
                      {"expires", expires()},
                      {"challenges", chals}};
  if (a.wildcard) j["wildcard"] = true;
  return j;
}

acme::HttpResponse FakeAcmeServer::handle_authz(const Signed& s, const std::string& url) {
  auto it = authzs_.find(url);
  if (it == authzs_.end()) return problem(404, "malformed", "no authorization " + url);
  AuthzRec& a = it->second;
  if (s.account_url != a.account_url) return problem(403, "unauthorized", "not your authz");
  if (s.payload.empty()) {
    if (a.responded && a.status == "pending") {
      if (a.pending_polls_left > 0) {
        --a.pending_polls_left;
      } else {
        reveal(a);
      }
    }
    return respond(200, authz_json(a));
  }
  const nlohmann::json p = parse_payload(s.payload);
  if (p.size() != 1 || p.value("status", "") != "deactivated") {
    violation("authorization update other than {\"status\":\"deactivated\"}: " + s.payload);
    return problem(400, "malformed", "only deactivation is allowed");
  }
  // RFC 8555 §7.5.2: only pending or valid authorizations can be deactivated.
  if (a.status != "pending" && a.status != "valid") {
    return problem(400, "malformed", "cannot deactivate a " + a.status + " authorization");
  }
  a.status = "deactivated";
  ++authz_deactivations_;
  return respond(200, authz_json(a));
}

void FakeAcmeServer::validate(AuthzRec& a, ChallengeRec& c) {
  auto fail = failures_.find(a.identifier.value);
  if (fail == failures_.end() && a.wildcard) fail = failures_.find("*." + a.identifier.value);
  if (fail == failures_.end()) fail = failures_.find("");
  auto outcome = [](const std::string& type, const std::string& detail) {
    return nlohmann::json{
        {"type", type.find(':') == std::string::npos ? std::string(kUrn) + type : type},
        {"detail", detail},
        {"status", 403}};
  };
  if (fail != failures_.end()) {
    c.outcome_error = outcome(fail->second.type, fail->second.detail);
    return;
  }
  if (c.type == "dns-persist-01") {
    if (auto why = check_persist_record(a)) c.outcome_error = outcome("incorrectResponse", *why);
    return;
  }
  if (!key_authorization_source_) return;
  std::string want = c.token + "." + accounts_[a.account_url].thumbprint;
  if (c.type == "dns-01") want = b64url_encode(sha256_bytes(want));  // RFC 8555 §8.4
  const auto got = key_authorization_source_(c.type, a.identifier, c.token);
  if (!got) {
    c.outcome_error =
        outcome("incorrectResponse", c.type + " response for " + a.identifier.value + " not found");
  } else if (*got != want) {
    c.outcome_error = outcome("incorrectResponse", "got '" + *got + "', want '" + want + "'");
  }
}

// draft-ietf-acme-dns-persist-01 §4.1, read independently of libacme's own parser: the
// issue-value syntax of RFC 8659 §4.2 (issuer domain; tag=value pairs, tags compared
// case-insensitively, unknown tags ignored).
std::optional<std::string> FakeAcmeServer::check_persist_record(const AuthzRec& a) const {
  const std::string name = "_validation-persist." + a.identifier.value + ".";
  auto it = persist_txt_.find(name);
  if (it == persist_txt_.end()) return "no TXT record at " + name;
  auto trim = [](std::string v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(0, 1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
    return v;
  };
  auto lower = [](std::string v) {
    for (char& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return v;
  };
  std::vector<std::string> parts;
  std::string part;
  for (char ch : it->second) {
    if (ch == ';') {
      parts.push_back(trim(part));
      part.clear();
    } else {
      part += ch;
    }
  }
  parts.push_back(trim(part));
  if (lower(parts[0]) != persist_issuer_) {
    return "issuer domain '" + parts[0] + "' is not " + persist_issuer_;
  }
  std::map<std::string, std::string> params;
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].empty()) continue;
    const auto eq = parts[i].find('=');
    if (eq == std::string::npos) return "malformed parameter '" + parts[i] + "'";
    params[lower(trim(parts[i].substr(0, eq)))] = trim(parts[i].substr(eq + 1));
  }
  if (params["accounturi"] != a.account_url) {
    return "accounturi '" + params["accounturi"] + "' is not " + a.account_url;
  }
  if (a.wildcard && lower(params["policy"]) != "wildcard")
    return "a wildcard needs policy=wildcard";
  if (params.count("persistuntil") > 0) {
    char* end = nullptr;
    const long long until = std::strtoll(params["persistuntil"].c_str(), &end, 10);
    if (end == nullptr || *end != '\0' || params["persistuntil"].empty()) {
      return "persistUntil '" + params["persistuntil"] + "' is not unix seconds";
    }
    if (until <= static_cast<long long>(std::chrono::system_clock::to_time_t(now()))) {
      return "persistUntil has passed";
    }
  }
  return std::nullopt;
}

void FakeAcmeServer::reveal(AuthzRec& a) {
  for (const auto& url : a.challenges) {
    ChallengeRec& c = challenges_[url];
    if (c.status != "processing") continue;
    if (c.outcome_error) {
      c.status = "invalid";
      c.error = c.outcome_error;
      a.status = "invalid";
    } else {
      c.status = "valid";
      a.status = "valid";
    }
  }
}

acme::HttpResponse FakeAcmeServer::handle_challenge(const Signed& s, const std::string& url) {
  auto it = challenges_.find(url);
  if (it == challenges_.end()) return problem(404, "malformed", "no challenge " + url);
  ChallengeRec& c = it->second;
  AuthzRec& a = authzs_[c.authz_url];
  if (s.account_url != a.account_url) return problem(403, "unauthorized", "not your challenge");
  if (!s.payload.empty()) {
    const nlohmann::json p = parse_payload(s.payload);
    if (!p.is_object() || !p.empty()) {
      violation("challenge response payload is not {} (RFC 8555 §7.5.1): " + s.payload);
      return problem(400, "malformed", "challenge response must be {}");
    }
    ++challenge_responses_;
    acme::Identifier id = a.identifier;
    if (a.wildcard) id.value = "*." + id.value;
    responded_.push_back(id);
    // A response to an authorization that is no longer pending changes nothing.
    if (a.status == "pending" && !a.responded && c.status == "pending") {
      c.status = "processing";
      a.responded = true;
      auto polls = authz_pending_polls_for_.find(a.identifier.value);
      a.pending_polls_left =
          polls != authz_pending_polls_for_.end() ? polls->second : authz_pending_polls_;
      validate(a, c);
    }
  }
  acme::HttpResponse resp = respond(200, challenge_json(c));
  resp.headers.emplace_back("link", "<" + c.authz_url + ">;rel=\"up\"");
  return resp;
}

// ---- Finalize, certificates, revocation (RFC 8555 §7.4, §7.4.2, §7.6) ----------------

acme::HttpResponse FakeAcmeServer::handle_finalize(const Signed& s, const std::string& url) {
  OrderRec* order = nullptr;
  for (auto& [order_url, o] : orders_) {
    if (o.finalize == url) order = &o;
  }
  if (order == nullptr) return problem(404, "malformed", "no order finalizes at " + url);
  OrderRec& o = *order;
  if (s.account_url != o.account_url) return problem(403, "unauthorized", "not your order");
  const nlohmann::json p = parse_payload(s.payload);
  if (!p.is_object() || !p.contains("csr") || !p["csr"].is_string()) {
    violation("finalize without a csr member: " + s.payload);
    return problem(400, "malformed", "finalize needs {\"csr\": base64url(DER)}");
  }
  refresh_order(o);
  if (o.status != "ready") {
    return problem(403, "orderNotReady", "order is " + o.status + ", not ready");
  }
  auto bad_csr = [&](const std::string& why) {
    violation("finalize " + url + ": " + why);
    return problem(400, "badCSR", why);
  };
  const auto der = b64url_decode(p["csr"].get<std::string>());
  if (!der) return bad_csr("csr is not base64url (RFC 8555 §7.4)");
  std::string error;
  auto csr = parse_csr(*der, &error);
  if (!csr) return bad_csr(error);
  if (!same_identifier_set(csr->sans, o.identifiers)) {
    return bad_csr("CSR names " + describe(csr->sans) + " != order identifiers " +
                   describe(o.identifiers));
  }
  PkeyPtr account_key = pkey_from_jwk(accounts_[o.account_url].jwk, &error);
  if (account_key && EVP_PKEY_eq(account_key.get(), csr->public_key.get()) == 1) {
    return bad_csr("CSR uses the account key (RFC 8555 §11.1)");
  }
  CertRec cert;
  cert.account_url = o.account_url;
  const std::string leaf =
      ca_->issue_leaf(csr->public_key.get(), o.identifiers,
                      std::chrono::system_clock::to_time_t(now()), &cert.leaf_der, &error);
  if (leaf.empty()) return problem(500, "serverInternal", error);
  o.certificate = make_url("cert");
  cert.pem = leaf + ca_->intermediate_pem(0);
  if (alternate_chains_) {
    CertRec alt = cert;
    alt.pem = leaf + ca_->intermediate_pem(1);
    alt.alternates = {o.certificate};
    cert.alternates = {o.certificate + "/alt"};
    if (long_default_chain_) cert.pem = leaf + ca_->intermediate_pem(0) + ca_->intermediate_pem(1);
    certs_[o.certificate + "/alt"] = alt;
  }
  certs_[o.certificate] = cert;

  if (processing_polls_ > 0) {
    o.status = "processing";
    o.processing_left = processing_polls_;
    o.no_poll_before = now() + std::chrono::seconds(processing_retry_after_);
    acme::HttpResponse resp = respond(200, order_json(o), o.url);
    resp.headers.emplace_back("retry-after", std::to_string(processing_retry_after_));
    return resp;
  }
  o.status = "valid";
  return respond(200, order_json(o), o.url);
}

acme::HttpResponse FakeAcmeServer::handle_certificate(const Signed& s, const std::string& url) {
  auto it = certs_.find(url);
  if (it == certs_.end()) return problem(404, "malformed", "no certificate " + url);
  if (s.account_url != it->second.account_url) {
    return problem(403, "unauthorized", "not your certificate");
  }
  if (!s.payload.empty()) {
    violation("certificate download with a payload (RFC 8555 §7.4.2 is POST-as-GET)");
    return problem(400, "malformed", "POST-as-GET must have an empty payload");
  }
  acme::HttpResponse resp;
  resp.status = 200;
  resp.headers.emplace_back("content-type", "application/pem-certificate-chain");
  for (const auto& alt : it->second.alternates) {
    resp.headers.emplace_back("link", "<" + alt + ">;rel=\"alternate\"");
  }
  resp.body = it->second.pem;
  finish(resp, true);
  return resp;
}

acme::HttpResponse FakeAcmeServer::handle_revoke(const Signed& s) {
  const nlohmann::json p = parse_payload(s.payload);
  if (!p.is_object() || !p.contains("certificate") || !p["certificate"].is_string()) {
    violation("revokeCert without a certificate member: " + s.payload);
    return problem(400, "malformed", "revokeCert needs {\"certificate\": base64url(DER)}");
  }
  const auto der = b64url_decode(p["certificate"].get<std::string>());
  if (!der) {
    violation("revokeCert certificate is not base64url");
    return problem(400, "malformed", "certificate is not base64url");
  }
  const int reason = p.value("reason", 0);
  // RFC 5280 §5.3.1 reason codes; 7 is unused.
  if (reason < 0 || reason > 10 || reason == 7) {
    return problem(400, "badRevocationReason", "reason " + std::to_string(reason));
  }
  for (auto& [url, cert] : certs_) {
    if (cert.leaf_der != *der) continue;
    if (s.jwk.is_null() && s.account_url != cert.account_url) {
      return problem(403, "unauthorized", "the account did not order this certificate");
    }
    if (cert.revoked) return problem(400, "alreadyRevoked", "certificate already revoked");
    for (auto& [other_url, other] : certs_) {
      if (other.leaf_der == *der) other.revoked = true;
    }
    ++revocations_;
    acme::HttpResponse resp;
    resp.status = 200;
    finish(resp, true);
    return resp;
  }
  return problem(404, "malformed", "unknown certificate");
}

// RFC 8555 §7.3.5: the outer JWS (already verified, kid) carries an inner JWS signed by
// the new key with a jwk header, the same url, no nonce, over {"account", "oldKey"}.
acme::HttpResponse FakeAcmeServer::handle_key_change(const Signed& s, const std::string& url) {
  auto reject = [&](int status, const std::string& type, const std::string& detail) {
    violation("keyChange: " + detail);
    return problem(status, type, detail);
  };
  std::string error;
  auto inner = parse_flattened_jws(s.payload, &error);
  if (!inner) return reject(400, "malformed", "inner JWS: " + error);
  const nlohmann::json& h = inner->header;
  if (!h.contains("jwk") || h.contains("kid")) {
    return reject(400, "malformed", "inner JWS must have a jwk header and no kid");
  }
  if (h.contains("nonce")) return reject(400, "malformed", "inner JWS must not have a nonce");
  if (!h.contains("url") || h["url"] != url) {
    return reject(400, "malformed", "inner JWS url differs from the outer one");
  }
  const nlohmann::json new_jwk = h["jwk"];
  PkeyPtr key = pkey_from_jwk(new_jwk, &error);
  if (!key) return reject(400, "malformed", "inner jwk: " + error);
  const std::string alg = h.value("alg", "");
  if (alg != alg_for_jwk(new_jwk)) {
    return reject(400, "badSignatureAlgorithm", "inner alg does not match the new key");
  }
  if (!verify_jws_signature(key.get(), alg, inner->signing_input, inner->signature, &error)) {
    return reject(400, "malformed", "inner signature: " + error);
  }
  const nlohmann::json p = parse_payload(inner->payload);
  if (!p.is_object() || p.value("account", "") != s.account_url) {
    return reject(400, "malformed", "inner payload account is not the signer's account URL");
  }
  AccountRec& acct = accounts_[s.account_url];
  if (!p.contains("oldKey") || jwk_thumbprint_b64(p["oldKey"]) != acct.thumbprint) {
    return reject(400, "malformed", "inner payload oldKey is not the account's current key");
  }
  const std::string thumb = jwk_thumbprint_b64(new_jwk);
  for (const auto& [other_url, other] : accounts_) {
    if (other.thumbprint == thumb) {
      // §7.3.5: 409 Conflict with the account that already uses the key.
      auto resp = problem(409, "malformed", "the new key is already in use");
      resp.headers.emplace_back("location", other_url);
      return resp;
    }
  }
  acct.jwk = new_jwk;
  acct.thumbprint = thumb;
  ++key_changes_;
  return respond(200, account_json(acct.url, acct.status, acct.contact), acct.url);
}

}  // namespace acme::test
