#pragma once
// The agent's clock: real time, but every sleep ends at once when the agent stops, and
// cancelled() then tells libacme's polling loops to give up (keeping the order to resume).

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "acme/clock.hpp"

namespace agent {

class CancellableClock final : public acme::Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
  void sleep_for(Duration d) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [this] { return cancelled_.load(); });
  }
  bool cancelled() const override { return cancelled_.load(); }
  void cancel() {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace agent
