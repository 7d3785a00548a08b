#include "metrics/server.hpp"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>

#include "acme/host_port.hpp"
#include "base/time.hpp"
#include "metrics/exposition.hpp"
#include "metrics/registry.hpp"
#include "metrics/status_page.hpp"
#include "schedule/policy.hpp"
#include "store/store.hpp"

namespace agent::metrics {

using acme::Errc;
using acme::make_error;

namespace {

int64_t planned(const CertificateMetrics& c, int renew_before_days) {
  if (c.ari_chosen_time != 0) return c.ari_chosen_time;
  PolicyInput in;
  in.not_before = SysTime(std::chrono::seconds(c.not_before));
  in.not_after = SysTime(std::chrono::seconds(c.not_after));
  in.renew_before_days = c.renew_before_days > 0 ? c.renew_before_days : renew_before_days;
  in.random01 = stable_random01(c.serial + c.name);
  return std::chrono::duration_cast<std::chrono::seconds>(
             plan_renewal(in).renew_at.time_since_epoch())
      .count();
}

void write_certificates(Exposition& out, const std::vector<CertificateMetrics>& certs,
                        int renew_before_days) {
  const int64_t now = unix_now();
  // Each family walks every certificate: the name label is escaped once, not per sample
  // (100,000 certificates make a million samples; see docs/BENCHMARKS.md).
  std::vector<std::string> labels;
  labels.reserve(certs.size());
  for (const auto& c : certs) labels.push_back("name=\"" + escape_label_value(c.name) + "\"");
  auto per_cert = [&](const char* name, const char* type, const char* help, auto value,
                      bool issued_only) {
    out.family(name, type, help);
    for (size_t i = 0; i < certs.size(); ++i) {
      const auto& c = certs[i];
      if (issued_only && c.not_after == 0) continue;
      out.sample_with(name, labels[i], {}, static_cast<double>(value(c)));
    }
  };
  per_cert(
      "acmectl_certificate_expiration_timestamp_seconds", "gauge",
      "When the installed certificate expires (notAfter)",
      [](const CertificateMetrics& c) { return c.not_after; }, true);
  per_cert(
      "acmectl_certificate_not_before_timestamp_seconds", "gauge",
      "When the installed certificate became valid (notBefore)",
      [](const CertificateMetrics& c) { return c.not_before; }, true);
  per_cert(
      "acmectl_certificate_renewal_timestamp_seconds", "gauge", "When the next renewal is planned",
      [&](const CertificateMetrics& c) { return planned(c, renew_before_days); }, true);
  per_cert(
      "acmectl_certificate_ready", "gauge",
      "1 when a valid certificate is installed, else 0 (none, expired or revoked)",
      [&](const CertificateMetrics& c) {
        return !c.revoked && c.not_after != 0 && c.not_before <= now && now < c.not_after ? 1 : 0;
      },
      false);
  per_cert(
      "acmectl_certificate_last_renewal_success_timestamp_seconds", "gauge",
      "When the certificate was last obtained or renewed (0: never)",
      [](const CertificateMetrics& c) { return c.last_success; }, false);
  per_cert(
      "acmectl_certificate_consecutive_failures", "gauge",
      "Failed renewal attempts since the last success",
      [](const CertificateMetrics& c) { return c.consecutive_failures; }, false);
  out.family("acmectl_certificate_issuer_info", "gauge",
             "Always 1; server is the ACME directory URL of the CA that issued the installed "
             "certificate (a fallback CA when the primary failed)");
  for (size_t i = 0; i < certs.size(); ++i) {
    const auto& c = certs[i];
    if (c.not_after == 0 || c.issued_by.empty()) continue;
    out.sample_with("acmectl_certificate_issuer_info", labels[i],
                    ",server=\"" + escape_label_value(c.issued_by) + "\"", 1);
  }
  // dns-persist-01 (experimental): when the published record's persistUntil passes and the
  // CA stops accepting it -- re-publish before then. Only certificates that set one.
  out.family("acmectl_dns_persist_until_timestamp_seconds", "gauge",
             "When the dns-persist-01 record's persistUntil passes (certificates that set one)");
  for (size_t i = 0; i < certs.size(); ++i) {
    if (certs[i].persist_until == 0) continue;
    out.sample_with("acmectl_dns_persist_until_timestamp_seconds", labels[i], {},
                    static_cast<double>(certs[i].persist_until));
  }
  static constexpr std::string_view kSuccess = ",result=\"success\"";
  static constexpr std::string_view kFailure = ",result=\"failure\"";
  out.family("acmectl_renewals_total", "counter",
             "Issuance and renewal attempts by result (success, failure)");
  for (size_t i = 0; i < certs.size(); ++i) {
    out.sample_with("acmectl_renewals_total", labels[i], kSuccess,
                    static_cast<double>(certs[i].renewals_success));
    out.sample_with("acmectl_renewals_total", labels[i], kFailure,
                    static_cast<double>(certs[i].renewals_failure));
  }
  out.family("acmectl_hook_runs_total", "counter", "Deploy hook runs by result (success, failure)");
  for (size_t i = 0; i < certs.size(); ++i) {
    out.sample_with("acmectl_hook_runs_total", labels[i], kSuccess,
                    static_cast<double>(certs[i].hooks_success));
    out.sample_with("acmectl_hook_runs_total", labels[i], kFailure,
                    static_cast<double>(certs[i].hooks_failure));
  }
}

// Per CA (pipeline/ca_choice.hpp): whether orders go to it, and its failures in a row.
void write_ca_health(Exposition& out, const std::vector<CaHealth>& cas) {
  const int64_t now = unix_now();
  out.family("acmectl_ca_available", "gauge",
             "1 when orders may go to this CA, 0 while it rests after failing as a CA");
  for (const auto& h : cas) {
    out.sample("acmectl_ca_available", {{"server", h.server}}, h.unavailable_until <= now ? 1 : 0);
  }
  out.family("acmectl_ca_consecutive_failures", "gauge",
             "Failures of this CA itself (unreachable, 5xx, rate limited) since it last worked");
  for (const auto& h : cas) {
    out.sample("acmectl_ca_consecutive_failures", {{"server", h.server}}, h.consecutive_failures);
  }
}

// ADDR:PORT through the shared parser; the host may be a name httplib resolves
// ("localhost"), port 0 binds any free port (tests read it back).
acme::Result<acme::HostPort> parse_metrics_listen(const std::string& listen) {
  ACME_ASSIGN(auto hp, acme::parse_host_port(listen, "metrics listen", /*allow_empty_host=*/true,
                                             /*allow_port_zero=*/true));
  if (hp.host.empty()) hp.host = "127.0.0.1";  // never all interfaces unless asked explicitly
  return hp;
}

}  // namespace

acme::Result<std::string> render_metrics(const std::string& db_path, int renew_before_days) {
  ACME_ASSIGN(auto store, Store::open(db_path));
  return render_metrics(*store, renew_before_days);
}

acme::Result<std::string> render_metrics(Store& store, int renew_before_days) {
  return render_metrics(store, renew_before_days, std::string());
}

acme::Result<std::string> render_metrics(Store& store, int renew_before_days, std::string buffer,
                                         const Registry* registry) {
  ACME_ASSIGN(auto certs, store.certificate_metrics());
  Exposition out(std::move(buffer));
  out.reserve(certs.size() * 720 + 8192);
  out.family("acmectl_build_info", "gauge", "acmectl version");
  out.sample("acmectl_build_info", {{"version", ACMECTL_VERSION}}, 1);
  write_certificates(out, certs, renew_before_days);
  ACME_ASSIGN(auto cas, store.all_ca_health());
  write_ca_health(out, cas);
  if (registry != nullptr) registry->write(out);
  write_process_metrics(out);
  return out.take();
}

struct MetricsServer::Impl {
  httplib::Server server;
  ServerOptions options;
  // /metrics: one store connection and one output buffer, used by one scrape at a time
  // (held until the response is sent: the buffer is reused, so a scrape of 100,000
  // certificates does not fault in ~70 MB of fresh pages each time).
  std::mutex mu;
  std::unique_ptr<Store> store;
  std::string buffer;
  // /healthz has its own connection and lock: a slow scraper never delays it.
  std::mutex health_mu;
  std::unique_ptr<Store> health_store;
  // The status page (/).
  std::mutex page_mu;
  std::unique_ptr<Store> page_store;

  acme::Result<Store*> open_store(std::unique_ptr<Store>& s) {
    if (!s) {
      ACME_ASSIGN(s, Store::open(options.db_path));
    }
    return s.get();
  }
};

acme::Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const ServerOptions& options) {
  ACME_ASSIGN(const acme::HostPort hp, parse_metrics_listen(options.listen));
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  s->impl_ = std::make_unique<Impl>();
  s->impl_->options = options;
  Impl* impl = s->impl_.get();
  impl->server.Get("/metrics", [impl](const httplib::Request&, httplib::Response& res) {
    auto lock = std::make_shared<std::unique_lock<std::mutex>>(impl->mu);
    auto st = impl->open_store(impl->store);
    auto text = st ? render_metrics(**st, impl->options.renew_before_days, std::move(impl->buffer),
                                    impl->options.registry)
                   : acme::Result<std::string>(st.error());
    if (!text) {
      res.status = 500;
      res.set_content("# " + text.error().to_string() + "\n", "text/plain");
      return;
    }
    // Served from the buffer itself (set_content would copy it); the provider and the
    // releaser run on this handler's thread, which then gives the buffer back and unlocks.
    auto body = std::make_shared<std::string>(std::move(*text));
    const size_t size = body->size();
    res.set_content_provider(
        size, "text/plain; version=0.0.4; charset=utf-8",
        [body](size_t offset, size_t length, httplib::DataSink& sink) {
          if (offset >= body->size()) return false;
          return sink.write(body->data() + offset, std::min(length, body->size() - offset));
        },
        [impl, body, lock](bool) mutable {
          impl->buffer = std::move(*body);
          lock->unlock();
        });
  });
  // The HTML status page: its own connection and lock, like /healthz.
  impl->server.Get("/", [impl](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(impl->page_mu);
    auto store = impl->open_store(impl->page_store);
    auto certs = store ? (*store)->list_certificates()
                       : acme::Result<std::vector<CertificateRecord>>(store.error());
    if (!certs) {
      res.status = 500;
      res.set_content("store unreadable: " + certs.error().to_string() + "\n", "text/plain");
      return;
    }
    StatusPageInput in;
    in.renew_before_days = impl->options.renew_before_days;
    in.now = unix_now();
    in.issuer = issuer_from_files;
    if (req.has_param("page")) {
      const std::string p = req.get_param_value("page");
      if (!p.empty() && p.size() < 9 && p.find_first_not_of("0123456789") == std::string::npos) {
        in.page = static_cast<std::size_t>(std::stoul(p));
      }
    }
    res.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
    res.set_content(render_status_page(*certs, in), "text/html; charset=utf-8");
  });
  impl->server.Get("/healthz", [impl](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(impl->health_mu);
    auto store = impl->open_store(impl->health_store);
    if (!store) {
      res.status = 503;
      res.set_content("store unreadable: " + store.error().to_string() + "\n", "text/plain");
      return;
    }
    if (auto probe = (*store)->next_check_after(0); !probe) {
      res.status = 503;
      res.set_content("store unreadable: " + probe.error().to_string() + "\n", "text/plain");
      return;
    }
    const int64_t tick = impl->options.registry ? impl->options.registry->last_tick() : 0;
    const int64_t age = unix_now() - tick;
    if (tick == 0 || age > impl->options.stall_seconds) {
      res.status = 503;
      res.set_content(tick == 0 ? std::string("scheduler has not run yet\n")
                                : "scheduler stalled: last tick " + std::to_string(age) + "s ago\n",
                      "text/plain");
      return;
    }
    res.set_content("ok\n", "text/plain");
  });
  if (hp.port == 0) {
    s->port_ = impl->server.bind_to_any_port(hp.host);
    if (s->port_ <= 0) {
      return make_error(Errc::kIo, "metrics: cannot listen on " + options.listen);
    }
  } else {
    if (!impl->server.bind_to_port(hp.host, hp.port)) {
      return make_error(Errc::kIo, "metrics: cannot listen on " + options.listen +
                                       " (address in use or not local?)");
    }
    s->port_ = hp.port;
  }
  s->thread_ = std::thread([impl] { impl->server.listen_after_bind(); });
  return s;
}

MetricsServer::~MetricsServer() {
  if (impl_) impl_->server.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace agent::metrics
