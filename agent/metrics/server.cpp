#include "metrics/server.hpp"

#include <httplib.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <string_view>

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

// `seed` is scratch space reused across certificates (no allocation per certificate).
int64_t planned(const CertificateMetrics& c, int renew_before_days, std::string& seed) {
  if (c.ari_chosen_time != 0) return c.ari_chosen_time;
  PolicyInput in;
  in.not_before = SysTime(std::chrono::seconds(c.not_before));
  in.not_after = SysTime(std::chrono::seconds(c.not_after));
  in.renew_before_days = c.renew_before_days > 0 ? c.renew_before_days : renew_before_days;
  seed.assign(c.serial).append(c.name);
  in.random01 = stable_random01(seed);
  return std::chrono::duration_cast<std::chrono::seconds>(
             plan_renewal(in).renew_at.time_since_epoch())
      .count();
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

// One scrape: the store read once (a snapshot), then rendered a slice at a time (a family
// header, then up to kBatch certificates of that family), so /metrics streams the
// exposition as it is written, from one small buffer, instead of building all of it
// (~70 MB at 100,000 certificates) in memory first.
class Scrape {
 public:
  static constexpr size_t kBatch = 1024;  // certificates per slice: ~75 KB of text

  Scrape(std::vector<CertificateMetrics> certs, std::vector<CaHealth> cas, int renew_before_days,
         const Registry* registry)
      : certs_(std::move(certs)),
        cas_(std::move(cas)),
        renew_before_days_(renew_before_days),
        registry_(registry),
        now_(unix_now()) {
    // Each family walks every certificate: the name label is escaped once, not per sample
    // (100,000 certificates make a million samples; see docs/BENCHMARKS.md), into one
    // arena rather than one string each (100,000 allocations fewer per scrape).
    arena_.reserve(certs_.size() * 32);
    ends_.reserve(certs_.size());
    for (const auto& c : certs_) {
      arena_.append("name=\"", 6);
      if (c.name.find_first_of("\\\"\n") == std::string::npos) {
        arena_.append(c.name);
      } else {
        arena_.append(escape_label_value(c.name));
      }
      arena_ += '"';
      ends_.push_back(arena_.size());
    }
  }

  size_t certificates() const noexcept { return certs_.size(); }

  // Appends the next slice to `out`; false when everything is written.
  bool next(Exposition& out) {
    if (step_ == kBuildInfo) {
      out.family("acmectl_build_info", "gauge", "acmectl version");
      out.sample("acmectl_build_info", {{"version", ACMECTL_VERSION}}, 1);
      ++step_;
      return true;
    }
    if (step_ == kTail) {
      write_ca_health(out, cas_);
      if (registry_ != nullptr) registry_->write(out);
      write_process_metrics(out);
      ++step_;
      return true;
    }
    if (step_ > kTail) return false;
    if (pos_ == 0) header(out);
    const size_t end = std::min(pos_ + kBatch, certs_.size());
    for (size_t i = pos_; i < end; ++i) row(out, i);
    pos_ = end;
    if (pos_ == certs_.size()) {
      ++step_;
      pos_ = 0;
    }
    return true;
  }

 private:
  enum Step : int {
    kBuildInfo,
    kExpiration,
    kNotBefore,
    kRenewal,
    kReady,
    kLastSuccess,
    kFailures,
    kIssuer,
    kPersistUntil,
    kRenewals,
    kHookRuns,
    kTail,
  };
  static constexpr std::string_view kSuccess = ",result=\"success\"";
  static constexpr std::string_view kFailure = ",result=\"failure\"";

  std::string_view label(size_t i) const {
    const size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(arena_).substr(begin, ends_[i] - begin);
  }

  void header(Exposition& out) const {
    switch (step_) {
      case kExpiration:
        out.family("acmectl_certificate_expiration_timestamp_seconds", "gauge",
                   "When the installed certificate expires (notAfter)");
        break;
      case kNotBefore:
        out.family("acmectl_certificate_not_before_timestamp_seconds", "gauge",
                   "When the installed certificate became valid (notBefore)");
        break;
      case kRenewal:
        out.family("acmectl_certificate_renewal_timestamp_seconds", "gauge",
                   "When the next renewal is planned");
        break;
      case kReady:
        out.family("acmectl_certificate_ready", "gauge",
                   "1 when a valid certificate is installed, else 0 (none, expired or revoked)");
        break;
      case kLastSuccess:
        out.family("acmectl_certificate_last_renewal_success_timestamp_seconds", "gauge",
                   "When the certificate was last obtained or renewed (0: never)");
        break;
      case kFailures:
        out.family("acmectl_certificate_consecutive_failures", "gauge",
                   "Failed renewal attempts since the last success");
        break;
      case kIssuer:
        out.family("acmectl_certificate_issuer_info", "gauge",
                   "Always 1; server is the ACME directory URL of the CA that issued the "
                   "installed certificate (a fallback CA when the primary failed)");
        break;
      case kPersistUntil:
        // dns-persist-01 (experimental): when the published record's persistUntil passes
        // and the CA stops accepting it -- re-publish before then. Only certificates that
        // set one.
        out.family("acmectl_dns_persist_until_timestamp_seconds", "gauge",
                   "When the dns-persist-01 record's persistUntil passes (certificates that "
                   "set one)");
        break;
      case kRenewals:
        out.family("acmectl_renewals_total", "counter",
                   "Issuance and renewal attempts by result (success, failure)");
        break;
      case kHookRuns:
        out.family("acmectl_hook_runs_total", "counter",
                   "Deploy hook runs by result (success, failure)");
        break;
      default: break;
    }
  }

  void row(Exposition& out, size_t i) {
    const auto& c = certs_[i];
    const std::string_view l = label(i);
    auto num = [](int64_t v) { return static_cast<double>(v); };
    switch (step_) {
      case kExpiration:
        if (c.not_after != 0) {
          out.sample_with("acmectl_certificate_expiration_timestamp_seconds", l, {},
                          num(c.not_after));
        }
        break;
      case kNotBefore:
        if (c.not_after != 0) {
          out.sample_with("acmectl_certificate_not_before_timestamp_seconds", l, {},
                          num(c.not_before));
        }
        break;
      case kRenewal:
        if (c.not_after != 0) {
          out.sample_with("acmectl_certificate_renewal_timestamp_seconds", l, {},
                          num(planned(c, renew_before_days_, seed_)));
        }
        break;
      case kReady:
        out.sample_with(
            "acmectl_certificate_ready", l, {},
            !c.revoked && c.not_after != 0 && c.not_before <= now_ && now_ < c.not_after ? 1 : 0);
        break;
      case kLastSuccess:
        out.sample_with("acmectl_certificate_last_renewal_success_timestamp_seconds", l, {},
                        num(c.last_success));
        break;
      case kFailures:
        out.sample_with("acmectl_certificate_consecutive_failures", l, {},
                        num(c.consecutive_failures));
        break;
      case kIssuer:
        if (c.not_after == 0 || c.issued_by.empty()) break;
        // Most certificates share one or two issuers: the server label is built once per
        // run of equal issued_by values, not once per certificate.
        if (issuer_label_.empty() || c.issued_by != issuer_of_) {
          issuer_of_ = c.issued_by;
          issuer_label_ = ",server=\"" + escape_label_value(c.issued_by) + "\"";
        }
        out.sample_with("acmectl_certificate_issuer_info", l, issuer_label_, 1);
        break;
      case kPersistUntil:
        if (c.persist_until != 0) {
          out.sample_with("acmectl_dns_persist_until_timestamp_seconds", l, {},
                          num(c.persist_until));
        }
        break;
      case kRenewals:
        out.sample_with("acmectl_renewals_total", l, kSuccess, num(c.renewals_success));
        out.sample_with("acmectl_renewals_total", l, kFailure, num(c.renewals_failure));
        break;
      case kHookRuns:
        out.sample_with("acmectl_hook_runs_total", l, kSuccess, num(c.hooks_success));
        out.sample_with("acmectl_hook_runs_total", l, kFailure, num(c.hooks_failure));
        break;
      default: break;
    }
  }

  std::vector<CertificateMetrics> certs_;
  std::vector<CaHealth> cas_;
  int renew_before_days_;
  const Registry* registry_;
  int64_t now_;
  std::string arena_;
  std::vector<size_t> ends_;
  std::string seed_;
  std::string issuer_of_;
  std::string issuer_label_;
  int step_ = kBuildInfo;
  size_t pos_ = 0;  // next certificate of the current family
};

acme::Result<std::unique_ptr<Scrape>> read_scrape(Store& store, int renew_before_days,
                                                  const Registry* registry) {
  ACME_ASSIGN(auto certs, store.certificate_metrics());
  ACME_ASSIGN(auto cas, store.all_ca_health());
  return std::make_unique<Scrape>(std::move(certs), std::move(cas), renew_before_days, registry);
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
  ACME_ASSIGN(auto scrape, read_scrape(store, renew_before_days, registry));
  Exposition out(std::move(buffer));
  out.reserve(scrape->certificates() * 720 + 8192);
  while (scrape->next(out)) {
  }
  return out.take();
}

struct MetricsServer::Impl {
  httplib::Server server;
  ServerOptions options;
  // /metrics: one store connection, used by one scrape's read at a time. The lock covers
  // only the read: the snapshot is then rendered and streamed (chunked) a slice at a time
  // through one ~75 KB buffer, never the whole ~70 MB exposition of 100,000 certificates
  // (under glibc's mmap threshold, so no fresh pages are faulted in per scrape either).
  std::mutex mu;
  std::unique_ptr<Store> store;
  // /healthz has its own connection and lock: a slow scraper never delays it.
  std::mutex health_mu;
  std::unique_ptr<Store> health_store;
  // The status page (/).
  std::mutex page_mu;
  std::unique_ptr<Store> page_store;

  acme::Result<Store*> open_store(std::unique_ptr<Store>& s) {
    if (!s) {
      ACME_ASSIGN(s, options.open_store ? options.open_store() : Store::open(options.db_path));
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
  impl->server.Get("/metrics", [impl](const httplib::Request& req, httplib::Response& res) {
    // httplib gzips a chunked text/* response when the client accepts gzip (Prometheus
    // does): ~1 s of CPU for 70 MB at 100,000 certificates. The exposition is sent as
    // before, uncompressed: httplib reads Accept-Encoding from this same (non-const)
    // request after the handler returns, so it is dropped here.
    const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
    acme::Result<std::unique_ptr<Scrape>> scrape = [impl] {
      std::lock_guard lock(impl->mu);
      auto st = impl->open_store(impl->store);
      if (!st) return acme::Result<std::unique_ptr<Scrape>>(st.error());
      return read_scrape(**st, impl->options.renew_before_days, impl->options.registry);
    }();
    if (!scrape) {
      res.status = 500;
      res.set_content("# " + scrape.error().to_string() + "\n", "text/plain");
      return;
    }
    struct Stream {
      std::unique_ptr<Scrape> scrape;
      std::string chunk;
    };
    auto stream = std::make_shared<Stream>();
    stream->scrape = std::move(*scrape);
    // Each call renders the next slice into the chunk buffer (its capacity kept, ~75 KB)
    // and sends it; the provider runs on this handler's thread until done() or a write
    // fails.
    res.set_chunked_content_provider(
        "text/plain; version=0.0.4; charset=utf-8", [stream](size_t, httplib::DataSink& sink) {
          Exposition out(std::move(stream->chunk));
          const bool more = stream->scrape && stream->scrape->next(out);
          stream->chunk = out.take();
          if (!more) {
            // The snapshot (~25 MB at 100,000 certificates) was allocated in this pool
            // thread's malloc arena: free it and give the pages back, or each of the
            // pool's threads would keep its own high-water mark (docs/BENCHMARKS.md).
            stream->scrape.reset();
            stream->chunk = std::string();
            ::malloc_trim(0);
            sink.done();
            return true;
          }
          return stream->chunk.empty() || sink.write(stream->chunk.data(), stream->chunk.size());
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
