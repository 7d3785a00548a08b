#pragma once
// One sink for everything the pipeline reports (certmagic's `emit`): each event is recorded
// in the store, counted in the metrics registry, logged, and handed to the hooks from here.
// No store write is discarded: a failed one is logged and counted.
//
// One sink per store connection (each worker has its own); the registry is shared.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "acme/result.hpp"
#include "metrics/registry.hpp"
#include "store/store.hpp"

namespace agent {

// Event kinds as stored (store column events.kind; `acmectl show` prints them).
namespace event {
inline constexpr std::string_view kOrdered = "ordered";
inline constexpr std::string_view kObtained = "obtained";
inline constexpr std::string_view kRenewed = "renewed";
inline constexpr std::string_view kFailed = "failed";
// An order moved from a CA that failed as a CA to the next one (detail "FROM -> TO").
inline constexpr std::string_view kFailedOver = "failed_over";
inline constexpr std::string_view kHookRan = "hook_ran";
inline constexpr std::string_view kHookFailed = "hook_failed";
inline constexpr std::string_view kPostHookRan = "post_hook_ran";
inline constexpr std::string_view kPostHookFailed = "post_hook_failed";
inline constexpr std::string_view kRevoked = "revoked";
inline constexpr std::string_view kDeleted = "deleted";
// The served-certificate check (per endpoint) and rollbacks (docs/operations.md).
inline constexpr std::string_view kServed = "served";
inline constexpr std::string_view kServeMismatch = "serve_mismatch";
inline constexpr std::string_view kRolledBack = "rolled_back";
// A near-expiry notification was sent for the serial in the detail ("serial X ...").
inline constexpr std::string_view kExpiryNotified = "expiry_notified";
}  // namespace event

class Notifier;
struct Notification;

class EventSink {
 public:
  EventSink(Store& store, metrics::Registry& registry, std::chrono::seconds hook_timeout);

  // Records an event of certificate `cert` ("" for the whole pass) with its detail.
  void emit(const std::string& cert, std::string_view kind, const std::string& detail);
  // A store write's result: true when it worked; otherwise logged (naming `what`) and
  // counted in acmectl_store_write_failures_total.
  bool check(const acme::Result<void>& r, std::string_view what);

  // Runs the certificate's deploy hook for `event` (obtained, renewed) and records the run.
  acme::Result<void> deploy_hook(const CertificateRecord& rec, std::string_view event);
  // Runs the post hook once for a pass, with ACMECTL_RENEWED_NAMES and
  // ACMECTL_FAILED_NAMES (space-separated certificate names) in its environment.
  acme::Result<void> post_hook(const std::string& command, const std::vector<std::string>& renewed,
                               const std::vector<std::string>& failed);

  // [notify]: the process's notifier (none: notifications are off).
  void set_notifier(Notifier* notifier) { notifier_ = notifier; }
  Notifier* notifier() const { return notifier_; }
  // Hands a notification to the notifier, which delivers it on its own thread.
  void notify(Notification n);

  metrics::Registry& metrics() { return registry_; }
  Store& store() { return store_; }

 private:
  Store& store_;
  metrics::Registry& registry_;
  std::chrono::seconds hook_timeout_;
  Notifier* notifier_ = nullptr;
};

}  // namespace agent
