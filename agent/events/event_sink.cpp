#include "events/event_sink.hpp"

#include "base/time.hpp"
#include "deploy/permissions.hpp"
#include "events/notifier.hpp"
#include "hooks/hook_runner.hpp"
#include "log/log.hpp"

namespace agent {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

}  // namespace

EventSink::EventSink(Store& store, metrics::Registry& registry, std::chrono::seconds hook_timeout)
    : store_(store), registry_(registry), hook_timeout_(hook_timeout) {}

bool EventSink::check(const acme::Result<void>& r, std::string_view what) {
  if (r) return true;
  logger("store")->error("{}: {}", what, r.error().to_string());
  registry_.store_write_failed();
  return false;
}

void EventSink::emit(const std::string& cert, std::string_view kind, const std::string& detail) {
  check(store_.add_event({cert, std::string(kind), unix_now(), detail}),
        "recording event " + std::string(kind) + (cert.empty() ? "" : " of " + cert));
}

void EventSink::notify(Notification n) {
  if (notifier_ != nullptr) notifier_->post(std::move(n));
}

acme::Result<void> EventSink::deploy_hook(const CertificateRecord& rec, std::string_view event) {
  HookContext ctx{rec.name, rec.domains, rec.out_dir, std::string(event), {}};
  auto r = check_hook_command(rec.deploy_hook, "deploy hook");
  if (r) r = run_hook(rec.deploy_hook, ctx, hook_timeout_, *logger("hook"));
  emit(rec.name, r ? event::kHookRan : event::kHookFailed,
       r ? rec.deploy_hook : r.error().to_string());
  return r;
}

acme::Result<void> EventSink::post_hook(const std::string& command,
                                        const std::vector<std::string>& renewed,
                                        const std::vector<std::string>& failed) {
  HookContext ctx{"", renewed, "", "renewed", {}};
  ctx.extra_env = {{"ACMECTL_RENEWED_NAMES", join(renewed)},
                   {"ACMECTL_FAILED_NAMES", join(failed)}};
  auto r = check_hook_command(command, "post hook");
  if (r) r = run_hook(command, ctx, hook_timeout_, *logger("hook"));
  emit("", r ? event::kPostHookRan : event::kPostHookFailed, r ? command : r.error().to_string());
  return r;
}

}  // namespace agent
