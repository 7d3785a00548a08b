// Issuance flow: order -> present all -> wait -> respond -> poll -> finalize -> download.
#include "acme/issuer.hpp"

#include <optional>

#include "acme/base64url.hpp"
#include "acme/csr.hpp"
#include "acme/dns_persist.hpp"

namespace acme {
namespace {

std::chrono::milliseconds since(const Clock& clock, std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.steady_now() - t);
}

// The issuer of the top-most certificate in a chain (closest to the root).
std::string top_issuer(const std::string& pem) {
  auto certs = split_pem_certificates(pem);
  if (certs.empty()) return {};
  auto info = inspect_certificate(certs.back());
  return info ? info->issuer : std::string();
}

}  // namespace

Issuer::Issuer(Client& client, Solver& solver, Clock& clock, ProgressFn progress)
    : client_(client), solver_(solver), clock_(clock), progress_(std::move(progress)) {}

void Issuer::step(std::string_view name, std::chrono::steady_clock::time_point start,
                  std::string_view detail) {
  if (progress_) progress_(name, since(clock_, start), detail);
}

Result<IssuedCertificate> Issuer::issue(const IssueRequest& request) {
  if (request.identifiers.empty()) return make_error(Errc::kInvalidInput, "no identifiers");
  if (client_.account_key() == nullptr || client_.account_url().empty()) {
    return make_error(Errc::kInternal, "issuer: the client has no account set");
  }
  auto t0 = clock_.steady_now();
  Order order;
  bool resumed = false;
  if (!request.order_url.empty()) {
    // A resumed order is only usable while it can still complete with what we hold.
    auto existing = client_.get_order(request.order_url);
    if (existing && existing->status != OrderStatus::kInvalid &&
        (request.key_pem.size() > 0 || (existing->status != OrderStatus::kProcessing &&
                                        existing->status != OrderStatus::kValid))) {
      order = std::move(*existing);
      resumed = true;
    }
  }
  if (!resumed) {
    auto created = client_.new_order(request.identifiers, request.replaces, request.profile);
    // RFC 9773 §5: a CA may refuse "replaces" (already replaced); order without it.
    if (!created && !request.replaces.empty() && created.error().problem &&
        created.error().problem->acme_type() == "alreadyReplaced") {
      created = client_.new_order(request.identifiers, {}, request.profile);
    }
    if (!created) return std::move(created).error();
    order = std::move(*created);
  }
  if (request.on_order_created) request.on_order_created(order.url);
  step("order", t0, resumed ? "resumed " + order.url : order.url);

  std::vector<ChallengeContext> presented;
  std::vector<std::string> pending;
  auto result = run(request, order, presented, pending);
  // Cleanup always runs, success or not.
  for (const auto& ctx : presented) solver_.cleanup(ctx);
  if (!result && result.error().code != Errc::kCancelled) {
    // A cancelled run keeps its authorizations so the order can be resumed.
    // RFC 8555 §7.5.2: deactivate what we left pending so it does not linger.
    for (const auto& url : pending) {
      auto a = client_.get_authorization(url);
      if (a && a->status == AuthorizationStatus::kPending)
        (void)client_.deactivate_authorization(url);
    }
  }
  return result;
}

Result<IssuedCertificate> Issuer::run(const IssueRequest& request, Order& order,
                                      std::vector<ChallengeContext>& presented,
                                      std::vector<std::string>& pending) {
  auto t = clock_.steady_now();
  std::vector<std::pair<std::string, Challenge>> to_respond;  // authz url, challenge
  int reused = 0;
  const std::string type = solver_.challenge_type();
  if (order.status == OrderStatus::kPending) {
    for (const auto& url : order.authorizations) {
      auto authz = client_.get_authorization(url);
      if (!authz) return std::move(authz).error();
      if (authz->status == AuthorizationStatus::kValid) {
        ++reused;  // RFC 8555 §7.1.4: reused authorization, nothing to prove
        continue;
      }
      if (authz->status != AuthorizationStatus::kPending) {
        return make_error(Errc::kValidation, "authorization for " + authz->identifier.value +
                                                 " is " + std::string(to_string(authz->status)));
      }
      const Challenge* ch = authz->find_challenge(type);
      if (ch == nullptr) {
        return make_error(Errc::kProtocol,
                          "the CA offers no " + type + " challenge for " + authz->identifier.value);
      }
      // dns-persist-01 has no token: the persistent record binds the account instead.
      if (type != kDnsPersist01 && !is_base64url(ch->token)) {
        return make_error(Errc::kProtocol,
                          "challenge for " + authz->identifier.value + ": token is not base64url");
      }
      pending.push_back(url);
      ChallengeContext ctx{authz->identifier, type, ch->token, {}};
      ctx.key_authorization = key_authorization(ch->token, *client_.account_key());
      presented.push_back(ctx);
      if (auto r = solver_.present(ctx); !r) {
        return std::move(r).error().context("present " + type + " for " + ctx.identifier.value);
      }
      if (ch->status == ChallengeStatus::kPending) to_respond.emplace_back(url, *ch);
    }
  }
  step("authorizations", t,
       std::to_string(order.authorizations.size()) + " total, " + std::to_string(reused) +
           " already valid");

  t = clock_.steady_now();
  if (!presented.empty()) {
    if (auto r = solver_.wait_ready(); !r) return std::move(r).error();
    for (const auto& [url, ch] : to_respond) {
      auto r = client_.respond_challenge(ch.url);
      if (!r) return std::move(r).error().context("respond to " + ch.type);
    }
    for (const auto& url : pending) {
      auto a = client_.poll_authorization(url, request.poll);
      if (!a) return std::move(a).error();
    }
    pending.clear();
    // Validation is over: take the responses down before finalizing.
    for (const auto& ctx : presented) solver_.cleanup(ctx);
    presented.clear();
  }
  step("validation", t,
       std::to_string(to_respond.size()) + (to_respond.size() == 1 ? " challenge" : " challenges"));

  t = clock_.steady_now();
  if (order.status == OrderStatus::kPending) {
    // Every authorization is valid now, so the order is normally "ready" already: look
    // once at once, and only poll (with its initial delay) when the CA lags behind.
    ACME_ASSIGN(order, client_.get_order(order.url));
    if (order.status == OrderStatus::kPending) {
      ACME_ASSIGN(order, client_.poll_order(order.url, {OrderStatus::kReady, OrderStatus::kValid},
                                            request.poll));
    }
  }
  if (order.status == OrderStatus::kInvalid) {
    Error e = make_error(Errc::kValidation, "order " + order.url + " is invalid");
    e.problem = order.error;
    return e;
  }
  // A fresh key is used as generated; only a supplied key is parsed (PEM decoding is the
  // most expensive step of a one-shot issuance after the TLS handshake). A user's CSR
  // brings its own key, which acmectl never sees.
  const bool own_csr = !request.csr_der.empty();
  std::optional<PrivateKey> cert_key;
  std::string key_pem = request.key_pem;
  if (!own_csr) {
    auto cert_key_r = request.key_pem.empty() ? PrivateKey::generate(request.key_type)
                                              : PrivateKey::from_pem(request.key_pem);
    if (!cert_key_r) return std::move(cert_key_r).error().context("certificate key");
    cert_key.emplace(std::move(*cert_key_r));
    if (key_pem.empty()) {
      ACME_ASSIGN(key_pem, cert_key->to_pem());
    }
  } else {
    key_pem.clear();
  }
  if (order.status == OrderStatus::kReady) {
    std::string csr = request.csr_der;
    if (!own_csr) {
      ACME_ASSIGN(csr, make_csr_der(*cert_key, request.identifiers));
    }
    ACME_ASSIGN(order, client_.finalize(order, csr));
  }
  if (order.status != OrderStatus::kValid) {
    ACME_ASSIGN(order, client_.poll_order(order.url, {OrderStatus::kValid}, request.poll,
                                          order.retry_after));
  }
  if (order.certificate.empty()) {
    return make_error(Errc::kProtocol, "order " + order.url + " is valid but has no certificate");
  }
  step("finalize", t);

  t = clock_.steady_now();
  ACME_ASSIGN(auto chain, client_.download_certificate(order.certificate));
  std::string pem = chain.pem;
  if (request.preferred_chain == kShortestChain) {
    // Every offered chain is fetched; the default wins a tie.
    std::size_t best = chain_facts(pem).bytes;
    for (const auto& alt : chain.alternates) {
      auto other = client_.download_certificate(alt);
      if (!other) continue;
      const std::size_t bytes = chain_facts(other->pem).bytes;
      if (bytes > 0 && bytes < best) {
        best = bytes;
        pem = other->pem;
      }
    }
  } else if (!request.preferred_chain.empty() &&
             top_issuer(pem).find(request.preferred_chain) == std::string::npos) {
    for (const auto& alt : chain.alternates) {
      auto other = client_.download_certificate(alt);
      if (other && top_issuer(other->pem).find(request.preferred_chain) != std::string::npos) {
        pem = other->pem;
        break;
      }
    }
  }
  auto certs = split_pem_certificates(pem);
  if (certs.empty()) return make_error(Errc::kProtocol, "downloaded chain has no certificate");
  IssuedCertificate out;
  out.cert_pem = certs.front();
  for (size_t i = 1; i < certs.size(); ++i) out.chain_pem += certs[i];
  out.fullchain_pem = out.cert_pem + out.chain_pem;
  auto info = inspect_certificate(out.cert_pem);
  if (!info) return std::move(info).error().context("downloaded certificate");
  out.info = std::move(*info);
  if (own_csr) {
    auto cert_spki = certificate_public_key_der(out.cert_pem);
    if (!cert_spki || *cert_spki != request.csr_public_key_der) {
      return make_error(Errc::kProtocol,
                        "downloaded certificate does not carry the public key of the CSR");
    }
  } else if (!key_matches_certificate(*cert_key, out.cert_pem)) {
    return make_error(Errc::kProtocol, "downloaded certificate does not match the CSR key");
  }
  out.key_pem = std::move(key_pem);
  out.order_url = order.url;
  out.certificate_url = order.certificate;
  out.alternate_urls = std::move(chain.alternates);
  step("download", t, "serial " + out.info.serial_hex);
  return out;
}

}  // namespace acme
