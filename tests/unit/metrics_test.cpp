#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "metrics/exposition.hpp"
#include "metrics/registry.hpp"
#include "metrics/server.hpp"
#include "store/store.hpp"

using agent::metrics::Exposition;

TEST_CASE("exposition: label values escape backslash, double quote and newline") {
  CHECK(agent::metrics::escape_label_value("plain") == "plain");
  CHECK(agent::metrics::escape_label_value(R"(a"b)") == R"(a\"b)");
  CHECK(agent::metrics::escape_label_value(R"(C:\dir)") == R"(C:\\dir)");
  CHECK(agent::metrics::escape_label_value("two\nlines") == R"(two\nlines)");
  CHECK(agent::metrics::escape_label_value("\\\"\n") == R"(\\\"\n)");
  // Other bytes (UTF-8, tabs) are passed through as the format allows.
  CHECK(agent::metrics::escape_label_value("caf\xc3\xa9\t") == "caf\xc3\xa9\t");
}

TEST_CASE(
    "exposition: HELP and TYPE precede samples; values are formatted as Prometheus reads them") {
  Exposition out;
  out.family("acmectl_x_total", "counter", "A help line\nwith a newline and \\ backslash");
  out.sample("acmectl_x_total", {{"name", "we\"ird\\na\nme"}, {"result", "success"}}, 3);
  out.sample("acmectl_x_total", 0.25);
  CHECK(out.text() ==
        "# HELP acmectl_x_total A help line\\nwith a newline and \\\\ backslash\n"
        "# TYPE acmectl_x_total counter\n"
        "acmectl_x_total{name=\"we\\\"ird\\\\na\\nme\",result=\"success\"} 3\n"
        "acmectl_x_total 0.25\n");
  CHECK(agent::metrics::format_value(1.8e9) == "1800000000");
  CHECK(agent::metrics::format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(agent::metrics::format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(agent::metrics::format_value(std::nan("")) == "NaN");
}

TEST_CASE("exposition: histograms are cumulative with +Inf, _sum and _count") {
  agent::metrics::Histogram h({0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(7);
  Exposition out;
  h.write(out, "d_seconds", {{"k", "v"}});
  CHECK(out.text() ==
        "d_seconds_bucket{k=\"v\",le=\"0.1\"} 1\n"
        "d_seconds_bucket{k=\"v\",le=\"1\"} 2\n"
        "d_seconds_bucket{k=\"v\",le=\"+Inf\"} 3\n"
        "d_seconds_sum{k=\"v\"} 7.55\n"
        "d_seconds_count{k=\"v\"} 3\n");
}

// ---- render_metrics over a real store -----------------------------------------------------

namespace {

struct MetricsTempDir {
  std::string path;
  MetricsTempDir() {
    char tmpl[] = "/tmp/acmectl-metrics-test.XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~MetricsTempDir() { (void)!system(("rm -rf '" + path + "'").c_str()); }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const auto& l : lines_of(text)) {
    if (l == line) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("render_metrics: counters at 0 from the start; no timestamps before the first issue") {
  MetricsTempDir dir;
  auto store = agent::Store::open(dir.path + "/acmectl.db");
  REQUIRE(store);
  agent::CertificateRecord fresh;
  fresh.name = "fresh";
  fresh.domains = {"fresh.example"};
  fresh.out_dir = dir.path + "/live/fresh";
  fresh.server = "https://ca.test/dir";
  REQUIRE((*store)->upsert_certificate(fresh));
  agent::CertificateRecord issued = fresh;
  issued.name = "issued";
  issued.domains = {"issued.example"};
  issued.not_before = 1'700'000'000;
  issued.not_after = 1'700'000'000 + 90 * 86400;
  issued.serial = "0a1b";
  issued.last_success = 1'700'000'000;
  REQUIRE((*store)->upsert_certificate(issued));
  REQUIRE((*store)->add_event({"issued", "obtained", 0, ""}));
  REQUIRE((*store)->add_event({"issued", "hook_failed", 0, "exit 1"}));

  const agent::metrics::Registry registry;  // the agent hands in its own
  auto text = agent::metrics::render_metrics(**store, 30, std::string(), &registry);
  REQUIRE(text);
  for (const char* name : {"fresh", "issued"}) {
    const std::string n = name;
    CHECK(has_line(*text, "acmectl_renewals_total{name=\"" + n + "\",result=\"failure\"} 0"));
    CHECK(has_line(*text, "acmectl_certificate_consecutive_failures{name=\"" + n + "\"} 0"));
    CHECK(has_line(*text, "acmectl_hook_runs_total{name=\"" + n + "\",result=\"success\"} 0"));
  }
  CHECK(has_line(*text, "acmectl_renewals_total{name=\"fresh\",result=\"success\"} 0"));
  CHECK(has_line(*text, "acmectl_hook_runs_total{name=\"fresh\",result=\"failure\"} 0"));
  CHECK(has_line(*text, "acmectl_renewals_total{name=\"issued\",result=\"success\"} 1"));
  CHECK(has_line(*text, "acmectl_hook_runs_total{name=\"issued\",result=\"failure\"} 1"));
  CHECK(has_line(*text, "acmectl_certificate_ready{name=\"fresh\"} 0"));
  CHECK(has_line(*text,
                 "acmectl_certificate_expiration_timestamp_seconds{name=\"issued\"} 1707776000"));
  CHECK(has_line(*text,
                 "acmectl_certificate_not_before_timestamp_seconds{name=\"issued\"} 1700000000"));
  // A certificate never issued has no timestamps that could trip an expiry alert at 0.
  CHECK(text->find("acmectl_certificate_expiration_timestamp_seconds{name=\"fresh\"}") ==
        std::string::npos);
  CHECK(text->find("acmectl_certificate_renewal_timestamp_seconds{name=\"fresh\"}") ==
        std::string::npos);
  // The process-wide counters exist at 0 too.
  CHECK(has_line(*text, "acmectl_acme_rate_limited_total 0"));
  CHECK(has_line(*text, "acmectl_acme_bad_nonce_retries_total 0"));
}

TEST_CASE("render_metrics: one HELP and TYPE per family, before its samples, families contiguous") {
  MetricsTempDir dir;
  auto store = agent::Store::open(dir.path + "/acmectl.db");
  REQUIRE(store);
  for (const char* name : {"a", "b", "c"}) {
    agent::CertificateRecord r;
    r.name = name;
    r.domains = {std::string(name) + ".example"};
    r.out_dir = dir.path + "/live/" + name;
    r.server = "https://ca.test/dir";
    r.not_before = 1'700'000'000;
    r.not_after = 1'700'000'000 + 90 * 86400;
    REQUIRE((*store)->upsert_certificate(r));
  }
  const agent::metrics::Registry registry;  // the agent hands in its own
  auto text = agent::metrics::render_metrics(**store, 30, std::string(), &registry);
  REQUIRE(text);
  std::map<std::string, std::string> types;
  std::set<std::string> finished;
  std::string current;
  for (const auto& l : lines_of(*text)) {
    REQUIRE(!l.empty());
    if (l.rfind("# HELP ", 0) == 0) {
      const std::string family = l.substr(7, l.find(' ', 7) - 7);
      CHECK(types.count(family) == 0);
      if (!current.empty()) finished.insert(current);
      current = family;
      continue;
    }
    if (l.rfind("# TYPE ", 0) == 0) {
      const auto sp = l.find(' ', 7);
      CHECK(l.substr(7, sp - 7) == current);
      types[current] = l.substr(sp + 1);
      continue;
    }
    const std::string sample = l.substr(0, l.find_first_of("{ "));
    INFO("sample line: " << l);
    REQUIRE(!current.empty());
    // A sample belongs to the family announced last (histograms: _bucket, _sum, _count).
    const bool belongs =
        sample == current || (types[current] == "histogram" &&
                              (sample == current + "_bucket" || sample == current + "_sum" ||
                               sample == current + "_count"));
    CHECK(belongs);
    CHECK(finished.count(sample) == 0);
    // Counters end in _total, as promtool's lint wants.
    if (types[current] == "counter") CHECK(current.size() > 6);
    if (types[current] == "counter") CHECK(current.substr(current.size() - 6) == "_total");
  }
  CHECK(types.count("acmectl_renewal_duration_seconds") == 1);
  CHECK(types["acmectl_renewal_duration_seconds"] == "histogram");
  CHECK(types.count("process_cpu_seconds_total") == 1);
}

TEST_CASE(
    "render_metrics: a name with quotes, backslashes and a newline is escaped in every series") {
  // Names are validated by the CLI and config; the store takes any string, and the
  // exposition must stay parseable whatever it holds.
  MetricsTempDir dir;
  auto store = agent::Store::open(dir.path + "/acmectl.db");
  REQUIRE(store);
  agent::CertificateRecord r;
  r.name = "we\"ird\\na\nme";
  r.domains = {"weird.example"};
  r.out_dir = dir.path + "/live/weird";
  r.server = "https://ca.test/dir";
  r.not_before = 1'700'000'000;
  r.not_after = 1'700'000'000 + 90 * 86400;
  REQUIRE((*store)->upsert_certificate(r));
  auto text = agent::metrics::render_metrics(**store, 30);
  REQUIRE(text);
  const std::string label = R"(name="we\"ird\\na\nme")";
  CHECK(has_line(*text, "acmectl_certificate_ready{" + label + "} 0"));
  CHECK(has_line(*text, "acmectl_renewals_total{" + label + ",result=\"failure\"} 0"));
  CHECK(has_line(*text,
                 "acmectl_certificate_expiration_timestamp_seconds{" + label + "} 1707776000"));
  // No raw newline inside a sample: every line is a comment or starts with a metric name.
  for (const auto& l : lines_of(*text)) {
    INFO("line: " << l);
    CHECK((l.rfind("# ", 0) == 0 || l.rfind("acmectl_", 0) == 0 || l.rfind("process_", 0) == 0));
  }
}

TEST_CASE("exposition: values Prometheus must read back exactly") {
  using agent::metrics::format_value;
  CHECK(format_value(0) == "0");
  CHECK(format_value(-3) == "-3");
  CHECK(format_value(1e15) == "1e+15");
  CHECK(format_value(0.1) == "0.1");
  CHECK(format_value(1.5e-7) == "1.5e-07");
  CHECK(std::stod(format_value(1763000000.123)) == 1763000000.123);
  CHECK(agent::metrics::escape_label_value("") == "");
}

TEST_CASE("render_metrics: a revoked certificate is not ready, its replacement is") {
  MetricsTempDir dir;
  auto store = agent::Store::open(dir.path + "/acmectl.db");
  REQUIRE(store);
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  agent::CertificateRecord c;
  c.name = "site";
  c.domains = {"site.example"};
  c.not_before = now - 86400;
  c.not_after = now + 60 * 86400;
  c.serial = "0a1b";
  REQUIRE((*store)->upsert_certificate(c));
  auto text = agent::metrics::render_metrics(**store, 30);
  REQUIRE(text);
  CHECK(has_line(*text, "acmectl_certificate_ready{name=\"site\"} 1"));
  REQUIRE((*store)->mark_revoked("site", "0a1b"));
  text = agent::metrics::render_metrics(**store, 30);
  REQUIRE(text);
  CHECK(has_line(*text, "acmectl_certificate_ready{name=\"site\"} 0"));
  c.serial = "0c2d";
  c.revoked_serial = "0a1b";
  REQUIRE((*store)->upsert_certificate(c));
  text = agent::metrics::render_metrics(**store, 30);
  REQUIRE(text);
  CHECK(has_line(*text, "acmectl_certificate_ready{name=\"site\"} 1"));
}

TEST_CASE("render_metrics: the planned renewal uses the certificate's own window") {
  MetricsTempDir dir;
  auto store = agent::Store::open(dir.path + "/acmectl.db");
  REQUIRE(store);
  agent::CertificateRecord c;
  c.domains = {"a.example"};
  c.not_before = 1'700'000'000;
  c.not_after = 1'700'000'000 + 90 * 86400;
  c.serial = "01";
  c.name = "global";
  REQUIRE((*store)->upsert_certificate(c));
  c.name = "own";
  c.renew_before_days = 7;
  REQUIRE((*store)->upsert_certificate(c));
  auto text = agent::metrics::render_metrics(**store, 30);
  REQUIRE(text);
  auto planned = [&](const std::string& name) {
    const std::string key = "acmectl_certificate_renewal_timestamp_seconds{name=\"" + name + "\"} ";
    const size_t at = text->find(key);
    REQUIRE(at != std::string::npos);
    return std::stoll(text->substr(at + key.size()));
  };
  // Window minus a jitter of at most an hour (policy.hpp).
  CHECK(planned("global") <= c.not_after - 30 * 86400);
  CHECK(planned("global") >= c.not_after - 30 * 86400 - 3600);
  CHECK(planned("own") <= c.not_after - 7 * 86400);
  CHECK(planned("own") >= c.not_after - 7 * 86400 - 3600);
}

TEST_CASE("served check and notification metrics") {
  agent::metrics::Registry r;
  agent::metrics::Exposition out;
  r.write(out);
  // Notification counters exist at 0 from the start; no served series before a check.
  CHECK(
      out.text().find("acmectl_notifications_total{channel=\"webhook\",result=\"failure\"} 0\n") !=
      std::string::npos);
  CHECK(out.text().find("acmectl_certificate_served{") == std::string::npos);
  r.set_served("web", "127.0.0.1:443", false);
  r.set_served("web", "127.0.0.1:8443", true);
  r.set_served("api", "127.0.0.1:443", true);
  r.notification_sent("webhook", false);
  CHECK(r.not_served("web"));
  CHECK_FALSE(r.not_served("api"));
  CHECK_FALSE(r.not_served("we"));
  agent::metrics::Exposition again;
  r.write(again);
  const std::string text = again.text();
  CHECK(text.find("acmectl_certificate_served{name=\"web\",endpoint=\"127.0.0.1:443\"} 0\n") !=
        std::string::npos);
  CHECK(text.find("acmectl_certificate_served{name=\"web\",endpoint=\"127.0.0.1:8443\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("acmectl_notifications_total{channel=\"webhook\",result=\"failure\"} 1\n") !=
        std::string::npos);
  r.set_served("web", "127.0.0.1:443", true);
  CHECK_FALSE(r.not_served("web"));
}
