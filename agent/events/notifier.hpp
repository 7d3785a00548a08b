#pragma once
// [notify]: tells a person (a chat webhook, a command) about failures, recoveries, a
// certificate close to expiry and a served-certificate mismatch, for those who run no
// Prometheus. The event sink hands notifications here; delivery happens on a thread of its
// own with a timeout per attempt and bounded retries, so a slow or failing receiver never
// delays or fails a renewal. Each failed delivery is logged and counted
// (acmectl_notifications_total{channel,result}).
//
// Thread-safe: every worker's event sink posts to the one notifier of the process.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "metrics/registry.hpp"

namespace agent {

namespace notify_kind {
inline constexpr std::string_view kFailure = "failure";
inline constexpr std::string_view kRecovery = "recovery";
inline constexpr std::string_view kExpiry = "expiry";
inline constexpr std::string_view kServeMismatch = "serve_mismatch";
}  // namespace notify_kind

struct Notification {
  std::string event;  // a notify_kind
  std::string certificate;
  std::vector<std::string> names;
  std::string error;       // failure, serve_mismatch: what went wrong
  int attempt = 0;         // failure: consecutive failed attempts, this one included
  int64_t next_retry = 0;  // failure: unix seconds of the next attempt; 0: none planned
  int64_t not_after = 0;   // the installed certificate's; 0: none yet
};

// The JSON body (and the command's stdin): event, certificate, names, error, attempt,
// next_retry, not_after (RFC 3339 or null), and `text`, one line for people (Slack and
// Mattermost show a webhook's `text`).
std::string notification_json(const Notification& n);
std::string notification_text(const Notification& n);

class Notifier {
 public:
  explicit Notifier(metrics::Registry& registry);
  // Waits for queued deliveries (and their retries) at most one attempt's timeout more,
  // then drops what is left: a one-shot command exits within that bound.
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void configure(const NotifyConfig& config);
  NotifyConfig config() const;
  bool enabled() const;
  // Queues a notification and returns at once (dropped, and logged, when 100 wait already).
  void post(Notification n);

 private:
  void run();
  // Sleeps the backoff before retry `attempt`; false when the retry is not worth making.
  bool wait_to_retry(int attempt);
  bool deliver_webhook(const std::string& body, const NotifyConfig& c);
  bool deliver_command(const Notification& n, const std::string& body, const NotifyConfig& c);

  metrics::Registry& registry_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  NotifyConfig config_;
  std::deque<Notification> queue_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point give_up_at_{};
  std::thread thread_;
};

}  // namespace agent
