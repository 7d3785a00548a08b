#include "metrics/server.hpp"

#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "acme/host_port.hpp"
#include "acme/poll_server.hpp"
#include "acme/unique_fd.hpp"
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

// ADDR:PORT through the shared parser; the host may be a name, resolved when binding
// ("localhost"), port 0 binds any free port (tests read it back).
acme::Result<acme::HostPort> parse_metrics_listen(const std::string& listen) {
  ACME_ASSIGN(auto hp, acme::parse_host_port(listen, "metrics listen", /*allow_empty_host=*/true,
                                             /*allow_port_zero=*/true));
  if (hp.host.empty()) hp.host = "127.0.0.1";  // never all interfaces unless asked explicitly
  return hp;
}

// ---- The HTTP/1.1 server (acme/poll_server.hpp's loop; no HTTP library) ----

using SteadyClock = std::chrono::steady_clock;
constexpr std::size_t kMaxHead = 16 * 1024;  // request line and headers: more is 431
constexpr std::size_t kMaxHeaders = 100;
constexpr std::size_t kMaxConnections = 64;
constexpr std::size_t kMaxJobs = 4;  // /metrics snapshots (~25 MB each at 100,000) and pages
constexpr auto kReadTimeout = std::chrono::seconds(5);    // a request head; keep-alive idle
constexpr auto kWriteTimeout = std::chrono::seconds(10);  // the client takes no byte
constexpr auto kJobTimeout = std::chrono::seconds(60);    // the store read of a scrape
constexpr int kSlicesPerTurn = 4;  // slices rendered per connection before polling again

enum class State {
  kReading,
  kWaiting,  // for the worker
  kWriting,
  kDraining,  // answered and shut down for writing: reads what the client still sends
};
constexpr auto kLinger = std::chrono::seconds(2);
constexpr std::size_t kMaxDrain = 1 << 20;

struct Conn {
  acme::UniqueFd fd;
  SteadyClock::time_point deadline;
  uint64_t id = 0;
  State state = State::kReading;
  bool eof = false;          // the client sent FIN
  std::string in;            // received, not yet taken by a request
  std::string out;           // the response head (or a chunk header), then
  std::string body;          // the body (a rendered slice while streaming)
  std::size_t sent = 0;      // of out + body
  bool close_after = false;  // close once the response is sent
  bool head_only = false;    // HEAD: the headers a GET would get, no body
  bool http10 = false;
  bool keep_alive = true;
  std::unique_ptr<Scrape> scrape;  // /metrics while streaming
  std::unique_ptr<Scrape> spent;   // written out: freed once the last chunk is sent
};

struct Request {
  std::string method, path, query;
  bool http10 = false;
  bool keep_alive = true;
  bool has_body = false;
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) {
    v.remove_suffix(1);
  }
  return v;
}

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// Where the head ends (past its empty line), 0 while incomplete. Lines end in CRLF or LF.
std::size_t head_end(std::string_view in) {
  for (std::size_t pos = 0;;) {
    const auto nl = in.find('\n', pos);
    if (nl == std::string_view::npos) return 0;
    const std::string_view line = in.substr(pos, nl - pos);
    if (pos != 0 && (line.empty() || line == "\r")) return nl + 1;
    pos = nl + 1;
  }
}

// The head (request line and headers); nullopt: malformed (400). `too_many` is set when
// there are more than kMaxHeaders headers (431).
std::optional<Request> parse_head(std::string_view head, bool& too_many) {
  Request r;
  auto nl = head.find('\n');
  const std::string_view line = trim(head.substr(0, nl));
  head.remove_prefix(nl + 1);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return std::nullopt;
  r.method = std::string(line.substr(0, sp1));
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (r.method.empty() || target.empty() || target.find(' ') != std::string_view::npos) {
    return std::nullopt;
  }
  if (version == "HTTP/1.0") {
    r.http10 = true;
    r.keep_alive = false;
  } else if (version != "HTTP/1.1") {
    return std::nullopt;
  }
  const auto q = target.find('?');
  r.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
  std::size_t count = 0;
  while (!head.empty()) {
    nl = head.find('\n');
    const std::string_view h = head.substr(0, nl);
    head.remove_prefix(nl == std::string_view::npos ? head.size() : nl + 1);
    if (trim(h).empty()) break;
    if (++count > kMaxHeaders) {
      too_many = true;
      return std::nullopt;
    }
    const auto colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    const std::string_view name = h.substr(0, colon);
    const std::string_view value = trim(h.substr(colon + 1));
    if (iequals(name, "Connection")) {
      if (has_token(value, "close")) r.keep_alive = false;
      if (r.http10 && has_token(value, "keep-alive")) r.keep_alive = true;
    } else if (iequals(name, "Content-Length")) {
      if (value != "0") r.has_body = true;
    } else if (iequals(name, "Transfer-Encoding")) {
      r.has_body = true;
    }
  }
  return r;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '+') {
      out += ' ';
    } else if (v[i] == '%' && i + 2 < v.size() && hex_digit(v[i + 1]) >= 0 &&
               hex_digit(v[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(v[i + 1]) * 16 + hex_digit(v[i + 2]));
      i += 2;
    } else {
      out += v[i];
    }
  }
  return out;
}

// The value of the first `name` parameter of a query string (percent-decoded).
std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view kv = query.substr(0, amp);
    const auto eq = kv.find('=');
    if (percent_decode(kv.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? std::string() : percent_decode(kv.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

// Binds `hp`: an IP address as is, a name ("localhost") through getaddrinfo (its first
// address that binds).
acme::Result<acme::SocketAddress> resolve_listen(const acme::HostPort& hp) {
  if (auto a = acme::to_socket_address(hp, "metrics listen"); a) return a;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(hp.port);
  if (const int rc = ::getaddrinfo(hp.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return make_error(Errc::kIo,
                      "metrics: cannot listen on " + hp.str() + ": " + ::gai_strerror(rc));
  }
  acme::SocketAddress out;
  std::memcpy(&out.storage, res->ai_addr, res->ai_addrlen);
  out.length = static_cast<socklen_t>(res->ai_addrlen);
  ::freeaddrinfo(res);
  return out;
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

// One thread polls the listener and every connection (acme/poll_server.hpp, as the
// challenge responders do): /healthz is answered on it at once, and /metrics is rendered
// on it a slice (1024 certificates of one family, ~75 KB) at a time, only when the
// client's socket takes more, at most kSlicesPerTurn slices per connection per turn. So a
// slow scraper holds one slice in memory and delays nobody. What may take long -- the
// store read of a scrape (~50 ms at 100,000 certificates) and the status page -- runs on
// one worker thread (started with the first such request) that hands the result back
// through the loop's wake-up pipe.
struct MetricsServer::Impl : acme::detail::PollServer<MetricsServer::Impl, Conn> {
  ServerOptions options;
  uint64_t next_id = 1;
  // /healthz: the loop thread's own store connection (opened by the first probe).
  std::unique_ptr<Store> health_store;

  // The worker: its own connections for /metrics and the status page (opened lazily).
  struct Job {
    uint64_t id;
    bool page;
    std::size_t page_no;
  };
  struct Done {
    uint64_t id;
    bool page;
    std::unique_ptr<Scrape> scrape;  // /metrics: the snapshot; null on error
    int status = 200;
    std::string content_type;
    std::string body;  // the page, or the error
  };
  std::mutex jobs_mu;
  std::condition_variable jobs_cv;
  std::deque<Job> jobs;
  std::vector<Done> done;
  bool stop_worker = false;
  std::thread worker;
  std::size_t jobs_in_flight = 0;  // the loop thread's count: submitted, not yet taken back
  std::unique_ptr<Store> scrape_store;
  std::unique_ptr<Store> page_store;

  ~Impl() {
    stop();
    {
      std::lock_guard lock(jobs_mu);
      stop_worker = true;
    }
    jobs_cv.notify_all();
    if (worker.joinable()) worker.join();
  }

  acme::Result<Store*> open_store(std::unique_ptr<Store>& s) {
    if (!s) {
      ACME_ASSIGN(s, options.open_store ? options.open_store() : Store::open(options.db_path));
    }
    return s.get();
  }

  // ---- PollServer's interface (the loop thread) ----

  std::optional<Conn> adopt(acme::UniqueFd fd) {
    Conn c;
    c.fd = std::move(fd);
    c.id = next_id++;
    c.deadline = SteadyClock::now() + kReadTimeout;
    return c;
  }

  // The table is full: drops the reader with the earliest deadline (an idle keep-alive
  // connection or a client that sends nothing); false when every connection is busy.
  bool make_room() {
    std::size_t victim = conns_.size();
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      if (conns_[i].state != State::kReading) continue;
      if (victim == conns_.size() || conns_[i].deadline < conns_[victim].deadline) victim = i;
    }
    if (victim == conns_.size()) return false;
    dropped.fetch_add(1);
    close_at(victim);
    return true;
  }

  short events(const Conn& c) const {
    switch (c.state) {
      case State::kReading: return POLLIN;
      case State::kWriting: return POLLOUT;
      case State::kWaiting: return 0;  // POLLHUP/POLLERR still wake it
      case State::kDraining: return POLLIN;
    }
    return 0;
  }

  bool step(Conn& c, short revents) {
    if ((revents & (POLLERR | POLLNVAL)) != 0) return false;
    switch (c.state) {
      case State::kReading:
        if (!receive(c)) return false;
        return handle(c);
      case State::kWaiting: return (revents & POLLHUP) == 0;
      case State::kWriting: return pump(c);
      case State::kDraining: return drain(c);
    }
    return false;
  }

  // A worker result: the connection (if still open) starts streaming or sends the page.
  void on_notify() {
    std::vector<Done> results;
    {
      std::lock_guard lock(jobs_mu);
      results.swap(done);
    }
    for (auto& d : results) {
      --jobs_in_flight;
      Conn* c = nullptr;
      for (auto& x : conns_) {
        if (x.id == d.id && x.state == State::kWaiting) c = &x;
      }
      if (c == nullptr) {
        d.scrape.reset();
        if (!d.page) ::malloc_trim(0);
        continue;  // the client left meanwhile
      }
      if (d.page || !d.scrape) {
        std::string extra;
        if (d.page && d.status == 200) {
          extra = "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n";
        }
        respond(*c, d.status, d.content_type, d.body, extra);
        continue;
      }
      c->scrape = std::move(d.scrape);
      if (c->http10) c->keep_alive = false;  // no chunked encoding: the end is the close
      c->out = status_line(*c, 200, "text/plain; version=0.0.4; charset=utf-8", "");
      if (!c->http10) c->out.append("Transfer-Encoding: chunked\r\n");
      c->out.append("\r\n");
      start_writing(*c);
    }
  }

  // ---- Reading and routing ----

  // Reads what is there (up to one byte past kMaxHead of unanswered request); false when
  // the connection failed or the client left without a whole request.
  bool receive(Conn& c) {
    char buf[4096];
    while (c.in.size() <= kMaxHead && !c.eof) {
      const ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) {
        c.eof = true;
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return false;
    }
    return true;
  }

  // Answers the request in c.in when it is complete; false: close the connection now.
  bool handle(Conn& c) {
    const std::size_t end = head_end(c.in);
    if (end == 0) {
      if (c.in.size() > kMaxHead) {
        error(c, 431, "request head too large\n");
        return true;
      }
      // The client closed with nothing (or half a request) sent: nothing to answer.
      return !c.eof;
    }
    if (end > kMaxHead) {
      error(c, 431, "request head too large\n");
      return true;
    }
    c.head_only = false;
    c.http10 = false;
    bool too_many = false;
    const auto req = parse_head(std::string_view(c.in).substr(0, end), too_many);
    c.in.erase(0, end);
    if (!req) {
      error(c, too_many ? 431 : 400, too_many ? "too many headers\n" : "bad request\n");
      return true;
    }
    c.http10 = req->http10;
    c.keep_alive = req->keep_alive && !c.eof;
    c.head_only = req->method == "HEAD";
    const bool known = req->path == "/metrics" || req->path == "/" || req->path == "/healthz";
    if (!known) {
      if (req->has_body) c.keep_alive = false;  // the body is not read
      respond(c, 404, "text/plain", "not found\n", "");
      return true;
    }
    if (req->method != "GET" && req->method != "HEAD") {
      c.keep_alive = false;
      respond(c, 405, "text/plain", "method not allowed\n", "Allow: GET, HEAD\r\n");
      return true;
    }
    if (req->has_body) {
      error(c, 413, "a request body is not accepted\n");
      return true;
    }
    if (req->path == "/healthz") {
      healthz(c);
    } else if (req->path == "/metrics") {
      metrics(c);
    } else {
      std::size_t page = 0;
      if (auto p = query_param(req->query, "page"); p) {
        if (!p->empty() && p->size() < 9 &&
            p->find_first_not_of("0123456789") == std::string::npos) {
          page = static_cast<std::size_t>(std::stoul(*p));
        }
      }
      if (c.head_only) {
        // The headers only: the page is not rendered for them (so no Content-Length).
        c.out = status_line(
            c, 200, "text/html; charset=utf-8",
            "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n");
        c.out.append("\r\n");
        start_writing(c);
      } else {
        submit(c, Job{c.id, true, page});
      }
    }
    return true;
  }

  void healthz(Conn& c) {
    auto store = open_store(health_store);
    if (!store) {
      respond(c, 503, "text/plain", "store unreadable: " + store.error().to_string() + "\n", "");
      return;
    }
    if (auto probe = (*store)->next_check_after(0); !probe) {
      respond(c, 503, "text/plain", "store unreadable: " + probe.error().to_string() + "\n", "");
      return;
    }
    const int64_t tick = options.registry ? options.registry->last_tick() : 0;
    const int64_t age = unix_now() - tick;
    if (tick == 0 || age > options.stall_seconds) {
      respond(c, 503, "text/plain",
              tick == 0 ? std::string("scheduler has not run yet\n")
                        : "scheduler stalled: last tick " + std::to_string(age) + "s ago\n",
              "");
      return;
    }
    respond(c, 200, "text/plain", "ok\n", "");
  }

  void metrics(Conn& c) {
    if (c.head_only) {
      c.out = status_line(c, 200, "text/plain; version=0.0.4; charset=utf-8", "");
      if (!c.http10) c.out.append("Transfer-Encoding: chunked\r\n");
      c.out.append("\r\n");
      if (c.http10) c.keep_alive = false;
      start_writing(c);
      return;
    }
    submit(c, Job{c.id, false, 0});
  }

  // Hands a store read to the worker; 503 when kMaxJobs are queued or streaming already
  // (each scrape holds a snapshot of the store until it is sent).
  void submit(Conn& c, Job job) {
    std::size_t streaming = 0;
    for (const auto& x : conns_) streaming += x.scrape || x.spent ? 1 : 0;
    if (jobs_in_flight + streaming >= kMaxJobs) {
      respond(c, 503, "text/plain", "busy: too many scrapes at once\n", "Retry-After: 1\r\n");
      return;
    }
    ++jobs_in_flight;
    c.state = State::kWaiting;
    c.deadline = SteadyClock::now() + kJobTimeout;
    {
      std::lock_guard lock(jobs_mu);
      jobs.push_back(job);
      if (!worker.joinable()) worker = std::thread([this] { work(); });
    }
    jobs_cv.notify_one();
  }

  // ---- Writing ----

  std::string status_line(const Conn& c, int status, std::string_view type,
                          std::string_view extra) const {
    std::string h = c.http10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    h.append(std::to_string(status)).append(" ").append(reason(status)).append("\r\n");
    h.append("Content-Type: ").append(type).append("\r\n");
    h.append(extra);
    if (!c.keep_alive) {
      h.append("Connection: close\r\n");
    } else if (c.http10) {
      h.append("Connection: keep-alive\r\n");
    }
    return h;
  }

  void respond(Conn& c, int status, std::string_view type, std::string body,
               std::string_view extra) {
    c.out = status_line(c, status, type, extra);
    c.out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
    if (c.head_only) body.clear();
    c.body = std::move(body);
    start_writing(c);
  }

  void error(Conn& c, int status, std::string body) {
    c.keep_alive = false;
    c.in.clear();
    respond(c, status, "text/plain", std::move(body), "");
  }

  void start_writing(Conn& c) {
    c.sent = 0;
    c.close_after = !c.keep_alive;
    c.state = State::kWriting;
    c.deadline = SteadyClock::now() + kWriteTimeout;
  }

  // Sends what is pending; when it is out, renders the next slice of a scrape (up to
  // kSlicesPerTurn per call), else finishes the response. False: close the connection.
  bool pump(Conn& c) {
    int slices = 0;
    while (true) {
      const std::size_t total = c.out.size() + c.body.size();
      while (c.sent < total) {
        iovec iov[2];
        int n = 0;
        if (c.sent < c.out.size()) {
          iov[n++] = {c.out.data() + c.sent, c.out.size() - c.sent};
          if (!c.body.empty()) iov[n++] = {c.body.data(), c.body.size()};
        } else {
          const std::size_t off = c.sent - c.out.size();
          iov[n++] = {c.body.data() + off, c.body.size() - off};
        }
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = static_cast<std::size_t>(n);
        const ssize_t w = ::sendmsg(c.fd.get(), &msg, MSG_NOSIGNAL);
        if (w < 0) {
          if (errno == EINTR) continue;
          return errno == EAGAIN || errno == EWOULDBLOCK;
        }
        c.sent += static_cast<std::size_t>(w);
        c.deadline = SteadyClock::now() + kWriteTimeout;
      }
      if (c.scrape) {
        if (slices++ == kSlicesPerTurn) return true;  // the others' turn
        next_slice(c);
        continue;
      }
      // The response is out.
      if (c.spent) {
        // The snapshot (~25 MB at 100,000 certificates) goes back to the system now.
        c.spent.reset();
        ::malloc_trim(0);
      }
      if (c.close_after) {
        // Closing with unread input would reset the connection, and the client might
        // lose the answer (a 431 for instance): shut down writing, read until it closes.
        ::shutdown(c.fd.get(), SHUT_WR);
        c.state = State::kDraining;
        c.deadline = SteadyClock::now() + kLinger;
        c.sent = c.in.size();
        c.in = std::string();
        return drain(c);
      }
      c.out.clear();
      c.body = std::string();
      c.sent = 0;
      c.state = State::kReading;
      c.deadline = SteadyClock::now() + kReadTimeout;
      return handle(c);  // a pipelined request may be waiting in c.in already
    }
  }

  bool drain(Conn& c) {
    char buf[4096];
    while (c.sent < kMaxDrain) {
      const ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
      if (n > 0) {
        c.sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
    return false;
  }

  void next_slice(Conn& c) {
    Exposition out(std::move(c.body));
    const bool more = c.scrape->next(out);
    c.body = out.take();
    c.sent = 0;
    c.out.clear();
    if (!more) {
      c.body = std::string();
      c.spent = std::move(c.scrape);  // freed after the last chunk: the client is done first
      if (!c.http10) c.out = "0\r\n\r\n";
      return;
    }
    if (c.http10 || c.body.empty()) return;
    char size[24];
    const int len = std::snprintf(size, sizeof size, "%zx\r\n", c.body.size());
    c.out.assign(size, static_cast<std::size_t>(len));
    c.body.append("\r\n");
  }

  // ---- The worker thread ----

  void work() {
    std::unique_lock lock(jobs_mu);
    while (true) {
      jobs_cv.wait(lock, [this] { return stop_worker || !jobs.empty(); });
      if (stop_worker) return;
      const Job job = jobs.front();
      jobs.pop_front();
      lock.unlock();
      Done d = job.page ? render_page(job) : read_snapshot(job);
      lock.lock();
      done.push_back(std::move(d));
      notify();
    }
  }

  Done read_snapshot(const Job& job) {
    Done d{job.id, false, nullptr, 200, {}, {}};
    auto store = open_store(scrape_store);
    auto scrape = store ? read_scrape(**store, options.renew_before_days, options.registry)
                        : acme::Result<std::unique_ptr<Scrape>>(store.error());
    if (scrape) {
      d.scrape = std::move(*scrape);
    } else {
      d.status = 500;
      d.content_type = "text/plain";
      d.body = "# " + scrape.error().to_string() + "\n";
    }
    return d;
  }

  Done render_page(const Job& job) {
    Done d{job.id, true, nullptr, 200, "text/html; charset=utf-8", {}};
    auto store = open_store(page_store);
    auto certs = store ? (*store)->list_certificates()
                       : acme::Result<std::vector<CertificateRecord>>(store.error());
    if (!certs) {
      d.status = 500;
      d.content_type = "text/plain";
      d.body = "store unreadable: " + certs.error().to_string() + "\n";
      return d;
    }
    StatusPageInput in;
    in.renew_before_days = options.renew_before_days;
    in.now = unix_now();
    in.issuer = issuer_from_files;
    in.page = job.page_no;
    d.body = render_status_page(*certs, in);
    return d;
  }
};

acme::Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const ServerOptions& options) {
  ACME_ASSIGN(const acme::HostPort hp, parse_metrics_listen(options.listen));
  ACME_ASSIGN(const acme::SocketAddress addr, resolve_listen(hp));
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  s->impl_ = std::make_unique<Impl>();
  s->impl_->options = options;
  ACME_CHECK(s->impl_->bind_listener(options.listen, addr, kMaxConnections, "metrics"));
  s->port_ = s->impl_->port();
  s->impl_->start();
  return s;
}

MetricsServer::~MetricsServer() = default;

}  // namespace agent::metrics
