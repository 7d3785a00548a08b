// bench/scale.sh's helper: fills an acmectl store through the real Store API, and times
// the store queries of one scheduler pass.
//
//   bench_store_fill fill DB TEMPLATE N   N copies of certificate TEMPLATE (bench000001...),
//                                         notBefore/notAfter spread over a year, none due
//   bench_store_fill pass DB RUNS         RUNS scheduler passes (due_certificates +
//                                         next_check_after, as Daemon::enqueue_due and
//                                         the scheduler's sleep do); prints median and max ms
//
// The store opens with synchronous=FULL: on a disk every upsert is an fsync, so scale.sh
// fills a store on tmpfs and copies it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: bench_store_fill fill DB TEMPLATE N | bench_store_fill pass DB RUNS\n");
  return 2;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 && argc != 4) return usage();
  const std::string mode = argv[1];
  auto store = agent::Store::open(argv[2]);
  if (!store) {
    std::fprintf(stderr, "bench_store_fill: %s\n", store.error().to_string().c_str());
    return 1;
  }
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (mode == "fill" && argc == 5) {
    auto tmpl = (*store)->find_certificate(argv[3]);
    if (!tmpl || !*tmpl) {
      std::fprintf(stderr, "bench_store_fill: no certificate %s in the store\n", argv[3]);
      return 1;
    }
    const long n = std::strtol(argv[4], nullptr, 10);
    agent::CertificateRecord rec = **tmpl;
    const std::string live = rec.out_dir.substr(0, rec.out_dir.rfind('/') + 1);
    char name[32];
    for (long i = 1; i <= n; ++i) {
      std::snprintf(name, sizeof(name), "bench%06ld", i);
      rec.name = name;
      rec.domains = {std::string(name) + ".scale.test"};
      rec.out_dir = live + name;
      rec.not_before = now - 86400 * (i % 60);
      rec.not_after = now + 86400 * (30 + i % 330);
      rec.next_check = now + 86400 * 3650;
      rec.last_success = rec.not_before;
      if (auto r = (*store)->upsert_certificate(rec); !r) {
        std::fprintf(stderr, "bench_store_fill: %s\n", r.error().to_string().c_str());
        return 1;
      }
    }
    return 0;
  }
  if (mode == "pass" && argc == 4) {
    const int runs = std::max(1, std::atoi(argv[3]));
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      auto due = (*store)->due_certificates(now, 10'000);
      auto next = (*store)->next_check_after(now);
      ms.push_back(ms_since(t0));
      if (!due || !next) {
        std::fprintf(stderr, "bench_store_fill: pass failed\n");
        return 1;
      }
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%.3f %.3f\n", ms[ms.size() / 2], ms.back());
    return 0;
  }
  return usage();
}
