#pragma once
// A manual acme::Clock for hermetic tests (STYLE.md: no real time in tests). sleep_for
// returns at once, advances both the system and the steady time by the requested amount
// and records the duration, so tests assert on poll delays and Retry-After handling.

#include <chrono>
#include <mutex>
#include <numeric>
#include <vector>

#include "acme/clock.hpp"

namespace acme::test {

class FakeClock final : public acme::Clock {
 public:
  // 2025-01-01T00:00:00Z: a whole second, so HTTP-dates round-trip exactly.
  static constexpr std::chrono::seconds kDefaultStart{1'735'689'600};

  explicit FakeClock(std::chrono::system_clock::time_point start =
                         std::chrono::system_clock::time_point{kDefaultStart})
      : system_(start), steady_(std::chrono::steady_clock::time_point{std::chrono::hours(1000)}) {}

  std::chrono::system_clock::time_point now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return system_;
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return steady_;
  }
  void sleep_for(Duration d) override {
    std::lock_guard<std::mutex> lock(mu_);
    sleeps_.push_back(d);
    if (d > Duration::zero()) {
      system_ += d;
      steady_ += d;
    }
  }

  // Moves time forward without recording a sleep (time passing elsewhere).
  void advance(Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    system_ += d;
    steady_ += d;
  }

  std::vector<Duration> sleeps() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sleeps_;
  }
  Duration total_slept() const {
    std::lock_guard<std::mutex> lock(mu_);
    return std::accumulate(sleeps_.begin(), sleeps_.end(), Duration::zero());
  }
  void clear_sleeps() {
    std::lock_guard<std::mutex> lock(mu_);
    sleeps_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::chrono::system_clock::time_point system_;
  std::chrono::steady_clock::time_point steady_;
  std::vector<Duration> sleeps_;
};

}  // namespace acme::test
