#include "daemon/daemon.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "acme/certificate.hpp"
#include "acme/csr.hpp"
#include "acme/issuer.hpp"
#include "acme/unique_fd.hpp"
#include "base/file_lock.hpp"
#include "base/time.hpp"
#include "challenge/settings.hpp"
#include "config/config.hpp"
#include "daemon/cancellable_clock.hpp"
#include "daemon/config_sync.hpp"
#include "daemon/control.hpp"
#include "daemon/sd_notify.hpp"
#include "deploy/files.hpp"
#include "events/event_sink.hpp"
#include "events/notifier.hpp"
#include "fleet/fleet_store.hpp"
#include "log/log.hpp"
#include "metrics/registry.hpp"
#include "metrics/server.hpp"
#include "pipeline/pipeline.hpp"
#include "session/session.hpp"
#include "store/open_store.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// The longest the main loop sleeps: /healthz and the stall alert read its tick.
constexpr std::chrono::seconds kMaxSleep{30};
// After a run, a certificate is not picked up again from the due list for this long (a run
// that could not move next_check -- locked by another process, a failed store write --
// must not turn into a hot loop). Control requests are not held back.
constexpr std::chrono::seconds kRequeueDelay{10};

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
std::atomic<int> g_wake_fd{-1};

extern "C" void on_signal(int sig) {
  if (sig == SIGHUP) {
    g_reload = true;
  } else {
    g_stop = true;
  }
  const int fd = g_wake_fd.load();
  if (fd >= 0) {
    const char c = 's';
    (void)!::write(fd, &c, 1);
  }
}

// Results a control connection waits for.
struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<ControlReply> replies;
};

struct Job {
  std::string name;
  RunOptions options;
  std::shared_ptr<Waiter> waiter;  // set for control requests
};

class Daemon {
 public:
  Daemon(GlobalOptions g, Config cfg, AgentOptions opts)
      : g_(std::move(g)), cfg_(std::move(cfg)), opts_(std::move(opts)) {}
  ~Daemon();

  int run();

 private:
  acme::Result<void> sync_config();
  // What the shared listeners need, found while sync_config walks the store (so start-up
  // reads the certificates once, and keeps none of them).
  struct ListenerNeeds {
    bool http01 = false;
    std::string http01_listen;  // the first certificate's own http01_listen, if any
    bool tls_alpn = false;
    std::string tls_alpn_listen;
  };
  static void note_listeners(const CertificateRecord& c, ListenerNeeds& needs);
  PipelineSettings pipeline_settings();
  void worker();
  void fleet_sync();
  void enqueue_name(const std::string& name);
  void enqueue_due();
  void finish_pass();
  void serve_control(int fd);
  void wake() {
    const char c = 'w';
    (void)!::write(wake_w_.get(), &c, 1);
  }
  std::chrono::milliseconds sleep_time(bool drained);

  GlobalOptions g_;
  Config cfg_;
  AgentOptions opts_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<acme::Http01Responder> responder_;
  std::string responder_listen_;
  std::unique_ptr<acme::TlsAlpn01Responder> tls_responder_;
  std::string tls_responder_listen_;
  std::unique_ptr<metrics::MetricsServer> metrics_;
  metrics::Registry registry_;
  Notifier notifier_{registry_};  // [notify]; reconfigured by each config sync
  std::mutex serve_mu_;
  std::map<std::string, ServeCheckConfig> serve_checks_;  // by certificate name
  CancellableClock clock_;
  acme::UniqueFd wake_r_;
  acme::UniqueFd wake_w_;
  acme::UniqueFd control_fd_;
  std::unique_ptr<FileLock> agent_lock_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::set<std::string> pending_;  // queued or in flight
  std::set<std::string> force_;    // configured names changed: reissue even if not due
  std::map<std::string, std::chrono::steady_clock::time_point> requeue_after_;
  int in_flight_ = 0;
  std::vector<std::string> renewed_in_pass_;
  std::vector<std::string> failed_in_pass_;
  int failures_ = 0;
  bool workers_stop_ = false;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> control_threads_;
  // Fleet mode: the responder's token lookups share one connection.
  std::mutex lookup_mu_;
  std::unique_ptr<FleetStore> lookup_store_;
  ListenerNeeds listeners_;  // from the last sync_config
  size_t certificates_ = 0;  // in the store at the last sync_config
};

Daemon::~Daemon() { g_wake_fd = -1; }

PipelineSettings Daemon::pipeline_settings() {
  PipelineSettings s;
  s.state_dir = g_.state_dir;
  s.acme = g_;
  // Fallback CAs are config-only: from the config as (re)loaded, not the one at start.
  s.acme.failover = merge_globals(GlobalOptions{}, cfg_).failover;
  s.renew_before_days = cfg_.agent.renew_before_days;
  s.check_interval = std::chrono::seconds(cfg_.agent.check_interval_seconds);
  s.shared_responder = responder_.get();
  // Where the shared responder really listens (or, without one, would).
  s.shared_listen = responder_ ? responder_listen_ : cfg_.agent.http01_listen;
  s.shared_tls_responder = tls_responder_.get();
  s.shared_tls_listen = tls_responder_ ? tls_responder_listen_ : cfg_.agent.tls_alpn_listen;
  s.clock = &clock_;
  s.serve_check = [this](const std::string& name) {
    std::lock_guard lock(serve_mu_);
    auto it = serve_checks_.find(name);
    return it == serve_checks_.end() ? ServeCheckConfig{} : it->second;
  };
  s.fleet = cfg_.store;
  return s;
}

void Daemon::enqueue_name(const std::string& name) {
  std::lock_guard lock(mu_);
  if (pending_.insert(name).second) queue_.push_back({name, {}, nullptr});
  cv_.notify_all();
}

// Fleet mode: a version another agent published is installed here promptly (NOTIFY
// acmectl_versions) and, should a notification be missed (a reconnect), within
// [store] poll_seconds: each such certificate goes through the pipeline like any other
// run. Also refreshes the fleet metrics.
void Daemon::fleet_sync() {
  auto log = logger("fleet");
  auto local = open_configured_store(g_.state_dir, cfg_.store);
  if (!local) {
    log->error("fleet sync: {}", local.error().to_string());
    return;
  }
  std::unique_ptr<FleetStore> fs;
  bool was_down = false;
  auto next_poll = std::chrono::steady_clock::now();
  while (!stopping_) {
    if (!fs) {
      auto opened = FleetStore::open(cfg_.store);
      if (!opened) {
        if (!was_down) log->warn("fleet store: {}: retrying", opened.error().to_string());
        was_down = true;
        registry_.set_fleet({}, false);
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      fs = std::move(*opened);
      next_poll = std::chrono::steady_clock::now();
    }
    auto names = fs->wait_notify(1000);
    if (!names) {
      if (!was_down) log->warn("fleet store: {}: reconnecting", names.error().to_string());
      was_down = true;
      registry_.set_fleet({}, false);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    if (was_down) {
      log->info("fleet store: connected again");
      was_down = false;
      next_poll = std::chrono::steady_clock::now();  // catch up on what was missed
    }
    for (const auto& n : *names) {
      auto rec = (*local)->find_certificate(n);
      if (rec && *rec && (*rec)->managed) enqueue_name(n);
    }
    if (!names->empty()) wake();
    if (std::chrono::steady_clock::now() < next_poll) continue;
    next_poll = std::chrono::steady_clock::now() + std::chrono::seconds(cfg_.store.poll_seconds);
    auto latest = fs->latest_versions();
    auto installs = fs->installs();
    auto leases = fs->leases();
    auto mine = (*local)->list_certificates();
    if (!latest || !installs || !leases || !mine) {
      registry_.set_fleet({}, false);
      continue;
    }
    std::map<std::string, metrics::Registry::FleetCert> certs;
    for (const auto& c : *mine) {
      if (c.managed) certs[c.name];
    }
    for (const auto& [name, version] : *latest) {
      if (auto it = certs.find(name); it != certs.end()) it->second.latest_version = version;
    }
    for (const auto& i : *installs) {
      if (i.host != fs->settings().agent_id) continue;
      if (auto it = certs.find(i.cert_name); it != certs.end()) {
        it->second.installed_version = i.version;
      }
    }
    for (const auto& l : *leases) {
      if (auto it = certs.find(l.cert_name); it != certs.end()) {
        it->second.lease_held = l.live && l.holder == fs->settings().agent_id;
      }
    }
    bool queued = false;
    for (const auto& [name, c] : certs) {
      if (c.latest_version > c.installed_version && fs->kek_mismatch().empty()) {
        enqueue_name(name);
        queued = true;
      }
    }
    registry_.set_fleet(std::move(certs), true);
    if (queued) wake();
  }
}

// The JSON settings are parsed only where they can change the answer: the challenge
// column names the settings' challenge (issue and sync_config write both), so a dns-01
// certificate, or an http-01 one once a responder is known to be needed, costs no parse.
void Daemon::note_listeners(const CertificateRecord& c, ListenerNeeds& needs) {
  if (needs.http01_listen.empty() && !c.http01_listen.empty())
    needs.http01_listen = c.http01_listen;
  if (!c.managed) return;
  const bool maybe_http = c.challenge.empty() || c.challenge == "http-01";
  const bool maybe_tls = c.challenge.empty() || c.challenge == "tls-alpn-01";
  if (!(maybe_http && !needs.http01) && !(maybe_tls && needs.tls_alpn_listen.empty())) return;
  auto ch = challenge_settings_from_json(c.challenge_settings);
  if (ch.challenge.empty()) ch.challenge = c.challenge;
  if (ch.challenge == "http-01" && ch.webroot.empty()) needs.http01 = true;
  if (ch.challenge == "tls-alpn-01") {
    needs.tls_alpn = true;
    if (needs.tls_alpn_listen.empty()) needs.tls_alpn_listen = ch.tls_alpn_listen;
  }
}

acme::Result<void> Daemon::sync_config() {
  // The sweep reads every record once; the listener needs are noted as it goes and the
  // records are dropped with it: at 100,000 certificates they are ~150 MB the idle agent
  // must not keep (docs/BENCHMARKS.md).
  ListenerNeeds needs;
  size_t count = 0;
  ACME_ASSIGN(auto synced, sync_configured_certificates(*store_, cfg_.certificates, g_,
                                                        [&](const CertificateRecord& rec) {
                                                          note_listeners(rec, needs);
                                                          ++count;
                                                        }));
  listeners_ = std::move(needs);
  certificates_ = count;
  force_.insert(synced.reissue.begin(), synced.reissue.end());
  {
    std::lock_guard lock(serve_mu_);
    serve_checks_.clear();
    for (const auto& c : cfg_.certificates) serve_checks_[c.name] = c.serve_check;
  }
  notifier_.configure(cfg_.notify);
  return acme::ok();
}

void Daemon::worker() {
  auto store = open_configured_store(g_.state_dir, cfg_.store);
  if (!store) {
    logger("agent")->error("worker: {}", store.error().to_string());
    return;
  }
  EventSink events(**store, registry_, std::chrono::seconds(cfg_.agent.hook_timeout_seconds));
  events.set_notifier(&notifier_);
  Pipeline pipeline(**store, events, pipeline_settings());
  while (true) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return workers_stop_ || !queue_.empty(); });
      if (workers_stop_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      if (force_.erase(job.name) > 0) job.options.force = true;
      ++in_flight_;
    }
    const RunResult r = pipeline.run(job.name, job.options);
    if (r.outcome != Outcome::kNotDue && r.outcome != Outcome::kBackoff) {
      logger("agent")->info("cert={} outcome={} {}", job.name, to_string(r.outcome), r.message);
    }
    {
      std::lock_guard lock(mu_);
      --in_flight_;
      pending_.erase(job.name);
      requeue_after_[job.name] = std::chrono::steady_clock::now() + kRequeueDelay;
      if (r.installed) renewed_in_pass_.push_back(job.name);
      if (r.outcome == Outcome::kFailed || r.outcome == Outcome::kHookFailed) {
        failed_in_pass_.push_back(job.name);
        ++failures_;
      }
    }
    if (job.waiter) {
      std::lock_guard lock(job.waiter->mu);
      job.waiter->replies.push_back({job.name, to_string(r.outcome), r.message, r.installed});
      job.waiter->cv.notify_all();
    }
    cv_.notify_all();
    wake();
  }
}

void Daemon::enqueue_due() {
  auto due = store_->due_certificates(unix_now(), 10'000);
  if (!due) {
    logger("agent")->error("{}", due.error().to_string());
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  for (auto it = requeue_after_.begin(); it != requeue_after_.end();) {
    it = it->second <= now ? requeue_after_.erase(it) : std::next(it);
  }
  for (const auto& n : force_) {
    if (pending_.insert(n).second) queue_.push_back({n, {}, nullptr});
  }
  for (const auto& n : *due) {
    if (requeue_after_.count(n) != 0) continue;
    if (pending_.insert(n).second) queue_.push_back({n, {}, nullptr});
  }
  cv_.notify_all();
}

void Daemon::finish_pass() {
  std::vector<std::string> renewed, failed;
  {
    std::lock_guard lock(mu_);
    renewed.swap(renewed_in_pass_);
    failed.swap(failed_in_pass_);
  }
  if ((renewed.empty() && failed.empty()) || cfg_.agent.post_hook.empty()) return;
  EventSink events(*store_, registry_, std::chrono::seconds(cfg_.agent.hook_timeout_seconds));
  if (!events.post_hook(cfg_.agent.post_hook, renewed, failed)) {
    std::lock_guard lock(mu_);
    ++failures_;
  }
}

// One control connection: read the request, queue each certificate (after any run of it
// already queued or in flight), answer with each result as it comes.
void Daemon::serve_control(int raw_fd) {
  const acme::UniqueFd conn(raw_fd);
  const int fd = conn.get();
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string line;
  char c;
  while (line.size() < 65536) {
    const ssize_t n = ::recv(fd, &c, 1, 0);
    if (n <= 0 || c == '\n') break;
    line += c;
  }
  auto send_line = [fd](const std::string& text) {
    std::string_view data = text;
    while (!data.empty()) {
      const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  };
  auto request = decode_request(line);
  if (!request) {
    send_line(nlohmann::json{{"error", request.error().to_string()}}.dump() + "\n");
    return;
  }
  auto log = logger("control");
  log->info("control request: run {} certificate(s){}", request->names.size(),
            request->force ? " (force)" : "");
  auto waiter = std::make_shared<Waiter>();
  for (const auto& name : request->names) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return workers_stop_ || pending_.count(name) == 0; });
    if (workers_stop_) break;
    pending_.insert(name);
    queue_.push_back({name, RunOptions{request->force, request->ari}, waiter});
    cv_.notify_all();
  }
  size_t sent = 0;
  while (sent < request->names.size()) {
    std::vector<ControlReply> ready;
    {
      std::unique_lock lock(waiter->mu);
      const bool got = waiter->cv.wait_for(lock, std::chrono::milliseconds(500),
                                           [&] { return waiter->replies.size() > sent; });
      if (!got) {
        if (stopping_) return;  // the client sees the connection close: the agent is stopping
        continue;
      }
      ready.assign(waiter->replies.begin() + static_cast<long>(sent), waiter->replies.end());
    }
    for (const auto& r : ready) send_line(encode_reply(r));
    sent += ready.size();
  }
  send_line("{\"done\":true}\n");
}

std::chrono::milliseconds Daemon::sleep_time(bool drained) {
  using namespace std::chrono;
  milliseconds wait = kMaxSleep;
  if (drained) {
    auto next = store_->next_check_after(unix_now());
    if (next && *next > 0) {
      // To the planned second itself (a 6-day or a 2-minute certificate renews on time),
      // measured from the sub-second wall clock, not from the truncated unix_now().
      const auto until =
          system_clock::time_point(seconds(*next)) - system_clock::now() + milliseconds(20);
      wait = std::min(wait, std::max(milliseconds(0), duration_cast<milliseconds>(until)));
    }
    std::lock_guard lock(mu_);
    const auto now = steady_clock::now();
    for (const auto& [name, at] : requeue_after_) {
      wait = std::min(wait, duration_cast<milliseconds>(at - now) + milliseconds(50));
    }
  }
  if (auto wd = sd_watchdog_interval()) {
    wait = std::min(wait, duration_cast<milliseconds>(*wd / 2));
  }
  return std::max(wait, milliseconds(0));
}

int Daemon::run() {
  auto log = logger("agent");
  // glibc's defaults let a long-lived agent keep what one scrape or start-up read of a
  // large store touched: each thread gets an arena whose free top is never trimmed
  // (malloc_trim trims only the main heap's), and freeing one large block raises the
  // mmap and trim thresholds to up to 32/64 MB. At 100,000 certificates that left
  // ~10 MB per metrics thread. Fixed thresholds and two arenas give it back
  // (docs/BENCHMARKS.md).
  ::mallopt(M_ARENA_MAX, 2);
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 4 << 20);
  auto fail = [](const std::string& what) {
    std::fprintf(stderr, "acmectl: error: %s\n", what.c_str());
    return kExitFailure;
  };
  // One agent per state dir, decided atomically: this lock is held for the agent's life
  // (the socket check alone left a window between two agents starting at once). Taken
  // before the store is opened and the config synced into it, so the loser changes nothing.
  if (auto r = make_dirs(g_.state_dir, 0700); !r) return fail(r.error().to_string());
  if (auto r = make_dirs(g_.state_dir + "/locks", 0700); !r) return fail(r.error().to_string());
  auto agent_lock = FileLock::try_take(g_.state_dir + "/locks/agent.lock");
  if (!agent_lock) return fail(agent_lock.error().to_string());
  if (!*agent_lock) {
    return fail("another acmectl agent is running on " + g_.state_dir + " (" + g_.state_dir +
                "/locks/agent.lock is held)");
  }
  agent_lock_ = std::move(*agent_lock);
  auto store = open_store(g_.state_dir, cfg_.store);
  if (!store) return fail(store.error().to_string());
  store_ = std::move(*store);

  if (auto r = sync_config(); !r) {
    std::fprintf(stderr, "acmectl: error: %s: %s\n", cfg_.path.c_str(),
                 r.error().to_string().c_str());
    return kExitUsage;
  }
  if (cfg_.store.enabled()) {
    // Checked once at start: a bad URL, password or kek_file is reported at once.
    auto fs = FleetStore::open(cfg_.store);
    if (!fs) return fail(fs.error().to_string());
    if (!(*fs)->kek_mismatch().empty()) log->error("fleet: {}", (*fs)->kek_mismatch());
    log->info("fleet store {} agent_id={} lease_seconds={} schema={}", redact_url(cfg_.store.url),
              (*fs)->settings().agent_id, cfg_.store.lease_seconds, (*fs)->schema_version());
  }
  auto control = control_listen(g_.state_dir);
  if (!control) return fail(control.error().to_string());
  control_fd_.reset(*control);

  // One responder for every http-01 certificate without a webroot or listen address of its
  // own (nginx proxies /.well-known/acme-challenge/ to it, so nginx never stops).
  const ListenerNeeds& needs = listeners_;
  if (needs.http01) {
    std::string listen = cfg_.agent.http01_listen;
    if (listen.empty()) listen = needs.http01_listen;
    if (listen.empty()) listen = ":80";
    acme::Http01ResponderOptions ro;
    if (cfg_.store.enabled()) {
      // Tokens another agent of the fleet presented are answered from the fleet store.
      ro.lookup = [this](const std::string& token) -> std::optional<std::string> {
        std::lock_guard lock(lookup_mu_);
        if (!lookup_store_) {
          auto opened = FleetStore::open(cfg_.store);
          if (!opened) return std::nullopt;
          lookup_store_ = std::move(*opened);
        }
        auto found = lookup_store_->find_token(token);
        if (!found) return std::nullopt;
        return *found;
      };
    }
    auto r = acme::Http01Responder::start(listen, ro);
    if (!r) return fail(r.error().to_string());
    responder_ = std::move(*r);
    responder_listen_ = listen;
    log->info("http-01 responder listening on {}", listen);
  }
  // Likewise one tls-alpn-01 listener (RFC 8737) for every tls-alpn-01 certificate.
  const bool needs_tls = needs.tls_alpn;
  std::string tls_listen = cfg_.agent.tls_alpn_listen;
  if (tls_listen.empty()) tls_listen = needs.tls_alpn_listen;
  if (needs_tls) {
    if (tls_listen.empty()) tls_listen = ":443";
    auto r = acme::TlsAlpn01Responder::start(tls_listen);
    if (!r) return fail(r.error().to_string());
    tls_responder_ = std::move(*r);
    tls_responder_listen_ = tls_listen;
    log->info("tls-alpn-01 listener on {}", tls_listen);
  }

  if (!cfg_.agent.metrics_listen.empty() && cfg_.agent.metrics_listen != "off") {
    metrics::ServerOptions mo;
    mo.listen = cfg_.agent.metrics_listen;
    mo.db_path = g_.state_dir + "/acmectl.db";
    mo.open_store = [dir = g_.state_dir, st = cfg_.store] {
      return open_configured_store(dir, st);
    };
    mo.renew_before_days = cfg_.agent.renew_before_days;
    mo.registry = &registry_;
    auto m = metrics::MetricsServer::start(mo);
    if (!m) return fail(m.error().to_string());
    metrics_ = std::move(*m);
    log->info("metrics on http://{}/metrics (port {})", mo.listen, metrics_->port());
  }

  // Start-up read every certificate once (sync_config); give the freed heap back, so the
  // idle agent's RSS does not keep the high-water mark of that read.
  ::malloc_trim(0);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return fail("pipe: cannot create");
  wake_r_.reset(pipe_fds[0]);
  wake_w_.reset(pipe_fds[1]);
  g_wake_fd = wake_w_.get();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);

  std::vector<std::thread> workers;
  const int n = std::max(1, cfg_.agent.concurrency);
  for (int i = 0; i < n; ++i) workers.emplace_back([this] { worker(); });
  std::thread fleet_thread;
  if (cfg_.store.enabled()) fleet_thread = std::thread([this] { fleet_sync(); });
  log->info("agent started: state_dir={} certificates={} concurrency={} control={}", g_.state_dir,
            certificates_, n, control_socket_path(g_.state_dir));
  sd_notify_send("READY=1\nSTATUS=renewing on schedule");

  while (!g_stop) {
    if (g_reload.exchange(false)) {
      auto fresh = cfg_.path.empty()
                       ? acme::Result<Config>(make_error(Errc::kInvalidInput, "no config file"))
                       : load_config(cfg_.path);
      if (!fresh) {
        log->error("reload: keeping the running config: {}", fresh.error().to_string());
      } else {
        Config old = cfg_;
        cfg_ = std::move(*fresh);
        if (auto r = sync_config(); !r) {
          log->error("reload: keeping the running config: {}", r.error().to_string());
          cfg_ = std::move(old);
        } else {
          log->info("reload: config {} applied ({} certificates)", cfg_.path,
                    cfg_.certificates.size());
        }
      }
    }
    enqueue_due();
    registry_.set_last_tick(unix_now());
    sd_notify_send("WATCHDOG=1");
    bool drained;
    {
      std::lock_guard lock(mu_);
      drained = in_flight_ == 0 && queue_.empty();
    }
    if (drained) finish_pass();
    if (opts_.once && drained) break;

    pollfd fds[2] = {{wake_r_.get(), POLLIN, 0}, {control_fd_.get(), POLLIN, 0}};
    const int rc = ::poll(fds, 2, static_cast<int>(sleep_time(drained).count()));
    if (rc <= 0) continue;
    if (fds[0].revents & POLLIN) {
      char buf[256];
      while (::read(wake_r_.get(), buf, sizeof buf) > 0) {
      }
    }
    if (fds[1].revents & POLLIN) {
      while (true) {
        const int conn = ::accept4(control_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (conn < 0) break;
        control_threads_.emplace_back([this, conn] { serve_control(conn); });
      }
    }
  }

  const bool stopping = g_stop;
  if (stopping) {
    log->info("stopping: in-flight orders are kept and resumed at the next start");
    sd_notify_send("STOPPING=1");
  }
  clock_.cancel();
  stopping_ = true;
  control_fd_.reset();
  ::unlink(control_socket_path(g_.state_dir).c_str());
  {
    std::lock_guard lock(mu_);
    workers_stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : workers) t.join();
  if (fleet_thread.joinable()) fleet_thread.join();
  for (auto& t : control_threads_) t.join();
  responder_.reset();
  metrics_.reset();
  log->info("agent stopped");
  if (opts_.once) return failures_ > 0 ? kExitFailure : kExitOk;
  return kExitOk;
}

}  // namespace

int run_agent(const GlobalOptions& g, const AgentOptions& o) {
  const std::string path = config_path(g.config);
  Config cfg;
  if (!path.empty()) {
    auto loaded = load_config(path);
    if (!loaded) {
      std::fprintf(stderr, "acmectl: error: %s\n", loaded.error().to_string().c_str());
      return kExitUsage;
    }
    cfg = std::move(*loaded);
  }
  if (!o.metrics_listen.empty()) cfg.agent.metrics_listen = o.metrics_listen;
  GlobalOptions merged = merge_globals(g, cfg);  // before cfg is moved into the daemon
  Daemon d(std::move(merged), std::move(cfg), o);
  return d.run();
}

}  // namespace agent
