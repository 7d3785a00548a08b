#include "events/notifier.hpp"

#include <nlohmann/json.hpp>

#include "acme/http.hpp"
#include "base/time.hpp"
#include "hooks/hook_runner.hpp"
#include "log/log.hpp"

namespace agent {

namespace {

constexpr size_t kMaxQueued = 100;

nlohmann::json time_or_null(int64_t t) {
  return t == 0 ? nlohmann::json(nullptr) : nlohmann::json(rfc3339(t));
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

}  // namespace

std::string notification_text(const Notification& n) {
  const std::string cert = "certificate " + n.certificate + " (" + join(n.names) + ")";
  if (n.event == notify_kind::kFailure) {
    std::string t = "acmectl: renewal of " + cert + " failed (attempt " +
                    std::to_string(n.attempt) + "): " + n.error;
    if (n.next_retry != 0) t += "; next retry " + rfc3339(n.next_retry);
    if (n.not_after != 0) t += "; the installed one expires " + rfc3339(n.not_after);
    return t;
  }
  if (n.event == notify_kind::kRecovery) {
    return "acmectl: " + cert + " renewed again after " + std::to_string(n.attempt) +
           " failed attempt(s); valid until " + rfc3339(n.not_after);
  }
  if (n.event == notify_kind::kExpiry) {
    return "acmectl: " + cert + " expires " + rfc3339(n.not_after) + " and has not been renewed" +
           (n.error.empty() ? "" : ": " + n.error);
  }
  return "acmectl: " + cert + " is not served after its install: " + n.error;
}

std::string notification_json(const Notification& n) {
  nlohmann::json j{{"event", n.event},
                   {"certificate", n.certificate},
                   {"names", n.names},
                   {"error", n.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(n.error)},
                   {"attempt", n.attempt},
                   {"next_retry", time_or_null(n.next_retry)},
                   {"not_after", time_or_null(n.not_after)},
                   {"text", notification_text(n)}};
  // Invalid UTF-8 in an error (a server's bytes) is replaced, never a throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Notifier::Notifier(metrics::Registry& registry) : registry_(registry) {}

Notifier::~Notifier() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    give_up_at_ = std::chrono::steady_clock::now() + std::chrono::seconds(config_.timeout_seconds);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Notifier::configure(const NotifyConfig& config) {
  std::lock_guard lock(mu_);
  config_ = config;
}

NotifyConfig Notifier::config() const {
  std::lock_guard lock(mu_);
  return config_;
}

bool Notifier::enabled() const {
  std::lock_guard lock(mu_);
  return config_.enabled();
}

void Notifier::post(Notification n) {
  std::lock_guard lock(mu_);
  if (!config_.enabled() || stopping_) return;
  if (queue_.size() >= kMaxQueued) {
    logger("notify")->warn("cert={} {} notification dropped: {} already wait", n.certificate,
                           n.event, queue_.size());
    if (!config_.webhook.empty()) registry_.notification_sent("webhook", false);
    if (!config_.command.empty()) registry_.notification_sent("command", false);
    return;
  }
  queue_.push_back(std::move(n));
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  cv_.notify_all();
}

void Notifier::run() {
  for (;;) {
    Notification n;
    NotifyConfig c;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      if (stopping_ && std::chrono::steady_clock::now() >= give_up_at_) {
        logger("notify")->warn("{} notification(s) not sent: stopping", queue_.size());
        return;
      }
      n = std::move(queue_.front());
      queue_.pop_front();
      c = config_;
    }
    const std::string body = notification_json(n);
    if (!c.webhook.empty()) registry_.notification_sent("webhook", deliver_webhook(body, c));
    if (!c.command.empty()) registry_.notification_sent("command", deliver_command(n, body, c));
  }
}

bool Notifier::wait_to_retry(int attempt) {
  // Backoff 1 s, 2 s, 4 s ...; once the process is stopping, only while time is left.
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::seconds(1 << std::min(attempt - 1, 5));
  std::unique_lock lock(mu_);
  if (cv_.wait_until(lock, until, [&] { return stopping_ && give_up_at_ < until; })) {
    return false;
  }
  return !(stopping_ && std::chrono::steady_clock::now() >= give_up_at_);
}

bool Notifier::deliver_webhook(const std::string& body, const NotifyConfig& c) {
  auto log = logger("notify");
  // Only "scheme://authority" is ever logged: a webhook's path often holds its secret
  // (Slack, Discord, ntfy tokens).
  const auto authority = c.webhook.find("://") + 3;
  const std::string origin = c.webhook.substr(0, c.webhook.find_first_of("/?#", authority));
  acme::HttpOptions options;
  options.allow_plain_http = true;
  options.connect_timeout = std::chrono::seconds(c.timeout_seconds);
  options.total_timeout = std::chrono::seconds(c.timeout_seconds);
  options.max_response_bytes = 64 * 1024;
  options.user_agent = "acmectl/" ACMECTL_VERSION " notify";
  std::string last;
  for (int attempt = 0; attempt <= c.retries; ++attempt) {
    if (attempt > 0 && !wait_to_retry(attempt)) break;
    // A fresh client (and connection) per attempt; redirects are never followed.
    auto client = acme::make_openssl_http_client(options);
    if (!client) {
      last = client.error().to_string();
      break;
    }
    const auto res =
        (*client)->send({"POST", c.webhook, {{"Content-Type", "application/json"}}, body});
    if (res && res->status >= 200 && res->status < 300) {
      log->info("webhook {} answered {}", origin, res->status);
      return true;
    }
    if (res) {
      last = "HTTP " + std::to_string(res->status);
    } else {
      // The transport's message starts with "POST URL": name the origin only.
      last = res.error().message;
      if (auto at = last.find(c.webhook); at != std::string::npos) {
        last.replace(at, c.webhook.size(), origin);
      }
    }
    // A 4xx other than 408/429 will not change by asking again.
    if (res && res->status >= 400 && res->status < 500 && res->status != 408 &&
        res->status != 429) {
      break;
    }
  }
  log->warn("webhook {} failed: {}", origin, last);
  return false;
}

bool Notifier::deliver_command(const Notification& n, const std::string& body,
                               const NotifyConfig& c) {
  HookContext ctx{n.certificate, n.names, "", n.event, {}};
  ctx.extra_env = {{"ACMECTL_NOTIFY_EVENT", n.event},
                   {"ACMECTL_ERROR", n.error},
                   {"ACMECTL_ATTEMPT", std::to_string(n.attempt)},
                   {"ACMECTL_NEXT_RETRY", n.next_retry == 0 ? "" : rfc3339(n.next_retry)},
                   {"ACMECTL_NOT_AFTER", n.not_after == 0 ? "" : rfc3339(n.not_after)},
                   {"ACMECTL_TEXT", notification_text(n)}};
  ctx.input = body;
  acme::Result<void> r = acme::ok();
  for (int attempt = 0; attempt <= c.retries; ++attempt) {
    if (attempt > 0 && !wait_to_retry(attempt)) break;
    r = run_hook(c.command, ctx, std::chrono::seconds(c.timeout_seconds), *logger("notify"));
    if (r) return true;
  }
  logger("notify")->warn("notify command failed: {}", r.error().to_string());
  return false;
}

}  // namespace agent
