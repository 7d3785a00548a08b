// The agent's status page at fleet size: N certificates in a real SQLite store (on tmpfs),
// then RUNS renders of GET / as the handler does them (list_certificates + render page 1,
// issuers read from cert.pem for the shown rows). Prints the median and max ms.
//
//   bench_status_page DB N RUNS    (DB is created; use a path on /dev/shm: every upsert
//                                   is an fsync)
//
// The budget: < 250 ms at 10,000 certificates (docs/BENCHMARKS.md).
#include "metrics/status_page.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "store/store.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: bench_status_page DB N RUNS\n");
    return 2;
  }
  const std::string db = argv[1];
  const int n = std::atoi(argv[2]);
  const int runs = std::atoi(argv[3]);
  auto store = agent::Store::open(db);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().to_string().c_str());
    return 1;
  }
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (int i = 0; i < n; ++i) {
    agent::CertificateRecord c;
    char name[32];
    std::snprintf(name, sizeof name, "bench%06d", i);
    c.name = name;
    c.domains = {c.name + ".example.com", "www." + c.name + ".example.com"};
    c.out_dir = "/nonexistent/" + c.name;
    c.server = "https://acme-v02.api.letsencrypt.org/directory";
    c.serial = std::to_string(i);
    c.not_before = now - (i % 80) * 86400;
    c.not_after = c.not_before + 90 * 86400;
    if (i % 97 == 0) c.not_after = now - 3600;  // some expired
    if (i % 53 == 0) {
      c.consecutive_failures = 2;
      c.next_attempt = now + 600;
      c.last_error = "authorization for x is invalid";
    }
    c.last_success = c.not_before;
    if (auto r = (*store)->upsert_certificate(c); !r) {
      std::fprintf(stderr, "%s\n", r.error().to_string().c_str());
      return 1;
    }
  }
  std::vector<double> ms, read_ms;  // the whole GET /, and its store read alone
  std::size_t bytes = 0;
  const auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
  };
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    auto certs = (*store)->list_certificates();
    if (!certs) return 1;
    read_ms.push_back(since(t0));
    agent::metrics::StatusPageInput in;
    in.now = now;
    in.issuer = agent::metrics::issuer_from_files;
    const std::string page = agent::metrics::render_status_page(*certs, in);
    bytes = page.size();
    ms.push_back(since(t0));
  }
  std::sort(ms.begin(), ms.end());
  std::sort(read_ms.begin(), read_ms.end());
  std::printf(
      "certificates=%d runs=%d page_bytes=%zu median_ms=%.1f max_ms=%.1f "
      "store_read_median_ms=%.1f\n",
      n, runs, bytes, ms[ms.size() / 2], ms.back(), read_ms[read_ms.size() / 2]);
  return 0;
}
