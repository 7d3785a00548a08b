// bench/fleet.sh's helper: how many lease cycles and publications one PostgreSQL serves,
// through the real FleetStore (the agent's own queries).
//
//   bench_fleet_lease URL KEK_FILE PASSWORD_FILE THREADS SECONDS NAMES [publish]
//
// THREADS connections (as THREADS agent workers would), each looping over NAMES
// certificate names for SECONDS: take the lease, (with "publish": publish a version with
// a sealed key, as a renewal does, and record the install), release it. Prints cycles per
// second and the median and 99th percentile of one cycle.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "fleet/fleet_store.hpp"

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr,
                 "usage: bench_fleet_lease URL KEK_FILE PASSWORD_FILE THREADS SECONDS NAMES "
                 "[publish]\n");
    return 2;
  }
  agent::FleetSettings s;
  s.url = argv[1];
  s.kek_file = argv[2];
  s.password_file = argv[3];
  const int threads = std::atoi(argv[4]);
  const int seconds = std::atoi(argv[5]);
  const int names = std::atoi(argv[6]);
  const bool publish = argc > 7 && std::string(argv[7]) == "publish";
  // A stand-in certificate: the store does not parse it, only stores it (a few KB, as real).
  const std::string pem(1800, 'C');
  std::atomic<long> cycles{0}, contended{0}, errors{0};
  std::vector<std::vector<double>> lat(static_cast<size_t>(threads));
  std::vector<std::thread> ts;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      agent::FleetSettings mine = s;
      mine.agent_id = "bench-" + std::to_string(t);
      auto fs = agent::FleetStore::open(mine);
      if (!fs) {
        std::fprintf(stderr, "%s\n", fs.error().to_string().c_str());
        ++errors;
        return;
      }
      int i = t;
      while (std::chrono::steady_clock::now() < end) {
        const std::string name = "bench" + std::to_string(i++ % names);
        const auto t0 = std::chrono::steady_clock::now();
        auto lease = (*fs)->try_lease(name);
        if (!lease) {
          ++errors;
          continue;
        }
        if (!*lease) {
          ++contended;
          continue;
        }
        if (publish) {
          agent::FleetVersion v;
          v.serial = std::to_string(i);
          v.not_after = 1;
          v.cert_pem = v.chain_pem = v.fullchain_pem = pem;
          v.key_pem = std::string(240, 'K');
          auto r = (*fs)->publish(name, **lease, v);
          if (!r || !(*fs)->record_install(name, *r, v.serial)) ++errors;
        }
        if (!(*fs)->release_lease(name, **lease)) ++errors;
        lat[static_cast<size_t>(t)].push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
        ++cycles;
      }
    });
  }
  for (auto& t : ts) t.join();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  const double p50 = all.empty() ? 0 : all[all.size() / 2];
  const double p99 = all.empty() ? 0 : all[all.size() * 99 / 100];
  std::printf(
      "threads=%d names=%d mode=%s cycles_per_s=%.0f p50_ms=%.2f p99_ms=%.2f "
      "contended=%ld errors=%ld\n",
      threads, names, publish ? "lease+publish+install+release" : "lease+release",
      static_cast<double>(cycles.load()) / seconds, p50, p99, contended.load(), errors.load());
  return errors.load() == 0 ? 0 : 1;
}
