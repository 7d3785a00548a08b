#pragma once
// Clock seam: production uses the real clock; tests use a fake one so polling and
// backoff are tested without real time (STYLE.md: no real time in tests).

#include <chrono>

namespace acme {

class Clock {
 public:
  using Duration = std::chrono::milliseconds;
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point now() const = 0;
  // Monotonic time for deadlines.
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
  virtual void sleep_for(Duration d) = 0;
  // True once the owner wants long operations to stop (agent shutdown). Polling loops
  // check it after every sleep and give up with Errc::kCancelled.
  virtual bool cancelled() const { return false; }
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override;
  std::chrono::steady_clock::time_point steady_now() const override;
  void sleep_for(Duration d) override;
};

// Process-wide real clock.
Clock& system_clock();

}  // namespace acme
