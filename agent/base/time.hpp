#pragma once
// The one unix-time helper: seconds since the epoch, conversions, RFC 3339 text.

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>

namespace agent {

inline int64_t to_unix(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

inline std::chrono::system_clock::time_point from_unix(int64_t s) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(s));
}

// Seconds since the epoch, now (the system clock).
inline int64_t unix_now() { return to_unix(std::chrono::system_clock::now()); }

// Unix seconds as RFC 3339 UTC ("2026-11-30T14:17:05Z").
inline std::string rfc3339(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace agent
