#include "acme/clock.hpp"

#include <thread>

namespace acme {

std::chrono::system_clock::time_point SystemClock::now() const {
  return std::chrono::system_clock::now();
}

std::chrono::steady_clock::time_point SystemClock::steady_now() const {
  return std::chrono::steady_clock::now();
}

void SystemClock::sleep_for(Duration d) {
  if (d.count() > 0) std::this_thread::sleep_for(d);
}

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

}  // namespace acme
