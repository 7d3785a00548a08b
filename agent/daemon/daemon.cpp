#include "daemon/daemon.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "acme/certificate.hpp"
#include "acme/issuer.hpp"
#include "config/config.hpp"
#include "daemon/cancellable_clock.hpp"
#include "daemon/sd_notify.hpp"
#include "deploy/files.hpp"
#include "hooks/hook_runner.hpp"
#include "metrics/registry.hpp"
#include "metrics/server.hpp"
#include "renew/renewer.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

extern "C" void on_signal(int sig) {
  if (sig == SIGHUP) {
    g_reload = true;
  } else {
    g_stop = true;
  }
}

int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}


// True when the installed certificate is missing or does not cover exactly these names.
bool needs_reissue(const CertificateRecord& rec, const std::vector<std::string>& domains) {
  if (rec.not_after == 0) return true;
  auto pem = read_file(rec.out_dir + "/cert.pem");
  if (!pem) return true;
  auto info = acme::inspect_certificate(*pem);
  if (!info) return true;
  std::set<std::string> have(info->dns_names.begin(), info->dns_names.end());
  have.insert(info->ip_addresses.begin(), info->ip_addresses.end());
  return have != std::set<std::string>(domains.begin(), domains.end());
}

class Daemon {
 public:
  Daemon(cli::GlobalOptions g, Config cfg, AgentCmdOptions opts)
      : g_(std::move(g)), cfg_(std::move(cfg)), opts_(std::move(opts)) {}

  int run();

 private:
  acme::Result<void> sync_config();
  RenewerSettings renewer_settings() const;
  void worker();
  void enqueue_due();
  void run_post_hook();

  cli::GlobalOptions g_;
  Config cfg_;
  AgentCmdOptions opts_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<acme::Http01Responder> responder_;
  std::unique_ptr<metrics::MetricsServer> metrics_;
  CancellableClock clock_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::set<std::string> pending_;  // queued or in flight
  std::set<std::string> force_;    // configured names changed: reissue even if not due
  int in_flight_ = 0;
  bool installed_in_pass_ = false;
  std::vector<std::string> installed_names_;
  int failures_in_pass_ = 0;
  bool workers_stop_ = false;
};

RenewerSettings Daemon::renewer_settings() const {
  RenewerSettings s;
  s.state_dir = g_.state_dir;
  s.acme = g_;
  s.renew_before_days = cfg_.agent.renew_before_days;
  s.hook_timeout = std::chrono::seconds(cfg_.agent.hook_timeout_seconds);
  s.check_interval = std::chrono::seconds(cfg_.agent.check_interval_seconds);
  s.shared_responder = responder_.get();
  s.clock = const_cast<CancellableClock*>(&clock_);
  return s;
}

acme::Result<void> Daemon::sync_config() {
  auto log = cli::logger("agent");
  for (const auto& c : cfg_.certificates) {
    ACME_ASSIGN(auto ids, acme::normalize_identifiers(c.domains, c.challenge.challenge == "dns-01"));
    std::vector<std::string> domains;
    for (const auto& id : ids) domains.push_back(id.value);
    ACME_ASSIGN(auto existing, store_->find_certificate(c.name));
    CertificateRecord rec = existing ? *existing : CertificateRecord{};
    const bool reissue = !existing || needs_reissue(rec, domains);
    rec.name = c.name;
    rec.domains = domains;
    rec.key_type = c.key_type;
    rec.challenge = c.challenge.challenge;
    rec.challenge_settings = cli::to_json(c.challenge);
    rec.http01_listen = c.challenge.http01_listen;
    rec.webroot = c.challenge.webroot;
    const std::string out_root = c.out.empty() ? g_.state_dir + "/live" : c.out;
    rec.out_dir = out_root + "/" + c.name;
    auto server = cli::resolve_server(c.server.empty() ? g_.server : c.server);
    if (!server) return std::move(server).error().context("certificate " + c.name);
    rec.server = *server;
    rec.deploy_hook = c.deploy_hook;
    rec.ca_bundle = g_.ca_bundle;
    rec.renew_before_days = c.renew_before_days.value_or(0);
    rec.preferred_chain = c.preferred_chain;
    if (reissue) {
      rec.next_check = 0;
      // A certificate never issued is due anyway (and the renewer honours its backoff);
      // forcing it made every restart ignore a persisted backoff. Force only a reissue for
      // changed names, and not while a failure's backoff runs.
      if (rec.not_after != 0 && rec.next_attempt <= now_unix()) force_.insert(c.name);
      log->info("cert={} {}", c.name,
                !existing             ? "new: will issue"
                : rec.not_after == 0 ? "not issued yet: will issue"
                                     : "names changed: will reissue");
    }
    // An existing row gets only its settings updated: a renewal finishing right now (its
    // worker holds the certificate's lock, not this thread) keeps what it wrote.
    if (existing) {
      ACME_CHECK(store_->update_certificate_settings(rec, reissue));
    } else {
      ACME_CHECK(store_->upsert_certificate(rec));
    }
  }
  return acme::ok();
}

void Daemon::worker() {
  auto store = Store::open(g_.state_dir + "/acmectl.db");
  if (!store) {
    cli::logger("agent")->error("worker: {}", store.error().to_string());
    return;
  }
  Renewer renewer(**store, renewer_settings());
  while (true) {
    std::string name;
    bool force = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return workers_stop_ || !queue_.empty(); });
      if (workers_stop_) return;
      name = queue_.front();
      queue_.pop_front();
      force = force_.erase(name) > 0;
      ++in_flight_;
    }
    const RenewResult r = renewer.run(name, force);
    if (r.outcome != Outcome::kNotDue && r.outcome != Outcome::kBackoff) {
      cli::logger("agent")->info("cert={} outcome={} {}", name, to_string(r.outcome), r.message);
    }
    {
      std::lock_guard lock(mu_);
      --in_flight_;
      pending_.erase(name);
      if (r.installed) {
        installed_in_pass_ = true;
        installed_names_.push_back(name);
      }
      if (r.outcome == Outcome::kFailed || r.outcome == Outcome::kHookFailed) ++failures_in_pass_;
    }
    cv_.notify_all();
  }
}

void Daemon::enqueue_due() {
  auto due = store_->due_certificates(now_unix(), 10'000);
  if (!due) {
    cli::logger("agent")->error("{}", due.error().to_string());
    return;
  }
  std::lock_guard lock(mu_);
  for (const auto& n : force_) {
    if (pending_.insert(n).second) queue_.push_back(n);
  }
  for (const auto& n : *due) {
    if (pending_.insert(n).second) queue_.push_back(n);
  }
  cv_.notify_all();
}

void Daemon::run_post_hook() {
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    if (!installed_in_pass_) return;
    installed_in_pass_ = false;
    names.swap(installed_names_);
  }
  if (cfg_.agent.post_hook.empty()) return;
  HookContext ctx{"", names, "", "renewed"};
  auto r = run_hook(cfg_.agent.post_hook, ctx, std::chrono::seconds(cfg_.agent.hook_timeout_seconds),
                    *cli::logger("hook"));
  (void)store_->add_event({"", r ? "post_hook_ran" : "post_hook_failed", 0,
                           r ? cfg_.agent.post_hook : r.error().to_string()});
  if (!r) {
    std::lock_guard lock(mu_);
    ++failures_in_pass_;
  }
}

int Daemon::run() {
  auto log = cli::logger("agent");
  auto store = cli::open_store(g_.state_dir);
  if (!store) {
    std::fprintf(stderr, "acmectl: error: %s\n", store.error().to_string().c_str());
    return cli::kExitFailure;
  }
  store_ = std::move(*store);
  if (auto r = sync_config(); !r) {
    std::fprintf(stderr, "acmectl: error: %s: %s\n", cfg_.path.c_str(),
                 r.error().to_string().c_str());
    return cli::kExitUsage;
  }
  // One responder for every http-01 certificate without a webroot (nginx proxies
  // /.well-known/acme-challenge/ to it, so nginx never stops).
  bool needs_responder = false;
  auto all = store_->list_certificates();
  if (all) {
    for (const auto& c : *all) {
      const auto ch = cli::challenge_settings_from_json(c.challenge_settings);
      if (ch.challenge == "http-01" && ch.webroot.empty()) needs_responder = true;
    }
  }
  if (needs_responder) {
    std::string listen = cfg_.agent.http01_listen;
    if (listen.empty() && all) {
      for (const auto& c : *all) {
        if (!c.http01_listen.empty()) {
          listen = c.http01_listen;
          break;
        }
      }
    }
    if (listen.empty()) listen = ":80";
    auto r = acme::Http01Responder::start(listen);
    if (!r) {
      std::fprintf(stderr, "acmectl: error: %s\n", r.error().to_string().c_str());
      return cli::kExitFailure;
    }
    responder_ = std::move(*r);
    log->info("http-01 responder listening on {}", listen);
  }

  if (!cfg_.agent.metrics_listen.empty() && cfg_.agent.metrics_listen != "off") {
    metrics::ServerOptions mo;
    mo.listen = cfg_.agent.metrics_listen;
    mo.db_path = g_.state_dir + "/acmectl.db";
    mo.renew_before_days = cfg_.agent.renew_before_days;
    auto m = metrics::MetricsServer::start(mo);
    if (!m) {
      std::fprintf(stderr, "acmectl: error: %s\n", m.error().to_string().c_str());
      return cli::kExitFailure;
    }
    metrics_ = std::move(*m);
    log->info("metrics on http://{}/metrics (port {})", mo.listen, metrics_->port());
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);

  std::vector<std::thread> workers;
  const int n = std::max(1, cfg_.agent.concurrency);
  for (int i = 0; i < n; ++i) workers.emplace_back([this] { worker(); });
  log->info("agent started: state_dir={} certificates={} concurrency={}", g_.state_dir,
            all ? all->size() : 0, n);
  sd_notify_send("READY=1\nSTATUS=renewing on schedule");
  const auto watchdog = sd_watchdog_interval();

  while (!g_stop) {
    if (g_reload.exchange(false)) {
      auto fresh = cfg_.path.empty() ? acme::Result<Config>(make_error(Errc::kInvalidInput, "no config file"))
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
    metrics::Registry::instance().set_last_tick(now_unix());
    if (watchdog) sd_notify_send("WATCHDOG=1");
    // Wait up to a second for the pass to drain (signals are noticed within 200 ms); the
    // due query is indexed, so looking again every second costs next to nothing.
    bool drained = false;
    {
      std::unique_lock lock(mu_);
      const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      while (!g_stop && !g_reload) {
        drained = in_flight_ == 0 && queue_.empty();
        if (drained && opts_.once) break;
        if (std::chrono::steady_clock::now() >= limit) break;
        cv_.wait_for(lock, std::chrono::milliseconds(200));
      }
      drained = in_flight_ == 0 && queue_.empty();
    }
    if (drained) run_post_hook();
    if (opts_.once && drained) break;
  }

  const bool stopping = g_stop;
  if (stopping) {
    log->info("stopping: in-flight orders are kept and resumed at the next start");
    sd_notify_send("STOPPING=1");
  }
  clock_.cancel();
  {
    std::lock_guard lock(mu_);
    workers_stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : workers) t.join();
  responder_.reset();
  metrics_.reset();
  log->info("agent stopped");
  if (opts_.once) return failures_in_pass_ > 0 ? cli::kExitFailure : cli::kExitOk;
  return cli::kExitOk;
}

}  // namespace

CLI::App* add_agent_command(CLI::App& app, AgentCmdOptions& o) {
  auto* cmd = app.add_subcommand("agent", "Run the renewal daemon");
  cmd->add_option("--metrics-listen", o.metrics_listen,
                  "Address for /metrics and /healthz (default 127.0.0.1:9469)");
  cmd->add_flag("--once", o.once, "Process what is due once, then exit");
  return cmd;
}

int run_agent(const cli::GlobalOptions& g, const AgentCmdOptions& o) {
  const std::string path = config_path(g.config);
  Config cfg;
  if (!path.empty()) {
    auto loaded = load_config(path);
    if (!loaded) {
      std::fprintf(stderr, "acmectl: error: %s\n", loaded.error().to_string().c_str());
      return cli::kExitUsage;
    }
    cfg = std::move(*loaded);
  }
  if (!o.metrics_listen.empty()) cfg.agent.metrics_listen = o.metrics_listen;
  cli::GlobalOptions merged = merge_globals(g, cfg);  // before cfg is moved into the daemon
  Daemon d(std::move(merged), std::move(cfg), o);
  return d.run();
}

}  // namespace agent
