#pragma once
// systemd readiness/watchdog notifications (sd_notify(3) protocol): one datagram to
// $NOTIFY_SOCKET. Written out instead of linking libsystemd: it is twenty lines and the
// binary stays free of a dependency that containers do not have.

#include <chrono>
#include <optional>
#include <string>

namespace agent {

// Sends "READY=1", "WATCHDOG=1", "STOPPING=1", "STATUS=..."; false when not under systemd.
bool sd_notify_send(const std::string& state);
// The watchdog interval systemd expects pings within ($WATCHDOG_USEC), if enabled.
std::optional<std::chrono::microseconds> sd_watchdog_interval();

}  // namespace agent
