#include "metrics/status_page.hpp"

#include <algorithm>
#include <map>

#include "acme/certificate.hpp"
#include "base/time.hpp"
#include "deploy/files.hpp"
#include "schedule/status.hpp"

namespace agent::metrics {

namespace {

std::string esc(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// Problems first: what needs a person's eye is on page 1.
int rank(const std::string& kind) {
  static const std::map<std::string, int> order = {{"expired", 0}, {"failing", 1}, {"revoked", 2},
                                                   {"due", 3},     {"pending", 4}, {"unmanaged", 5},
                                                   {"valid", 6}};
  auto it = order.find(kind);
  return it == order.end() ? 7 : it->second;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// Lifetime (not_before .. not_after) as a bar, the renewal window (planned renewal ..
// not_after) in another shade, and now as a line (clamped to the ends, the label says
// when it is outside).
std::string timeline(const CertificateRecord& c, const CertificateStatus& s, int64_t now) {
  if (c.not_after == 0 || c.not_after <= c.not_before) return "-";
  constexpr double kW = 240, kH = 16, kPad = 4;
  const double span = static_cast<double>(c.not_after - c.not_before);
  auto x = [&](int64_t t) {
    const double f = std::clamp(static_cast<double>(t - c.not_before) / span, 0.0, 1.0);
    return kPad + f * (kW - 2 * kPad);
  };
  std::string svg = "<svg class=\"tl\" width=\"" + fmt(kW) + "\" height=\"" + fmt(kH) +
                    "\" viewBox=\"0 0 " + fmt(kW) + " " + fmt(kH) +
                    "\" role=\"img\" aria-label=\"lifetime " + rfc3339(c.not_before) + " to " +
                    rfc3339(c.not_after) + "\">";
  svg += "<rect class=\"life\" x=\"" + fmt(x(c.not_before)) + "\" y=\"4\" width=\"" +
         fmt(x(c.not_after) - x(c.not_before)) + "\" height=\"8\"/>";
  if (s.planned_renewal > 0) {
    const double w0 = x(s.planned_renewal);
    svg += "<rect class=\"window\" x=\"" + fmt(w0) + "\" y=\"4\" width=\"" +
           fmt(x(c.not_after) - w0) + "\" height=\"8\"><title>renewal window from " +
           rfc3339(s.planned_renewal) + "</title></rect>";
  }
  svg += "<line class=\"now\" x1=\"" + fmt(x(now)) + "\" x2=\"" + fmt(x(now)) +
         "\" y1=\"0\" y2=\"16\"><title>now</title></line></svg>";
  return svg;
}

constexpr const char* kStyle = R"css(
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}table{border-collapse:collapse;width:100%}
th,td{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:middle}
th{background:#f4f4f4}td.num{text-align:right}
.st{font-weight:600;padding:1px 6px;border-radius:3px}
.valid{background:#e3f4e3;color:#185c18}.due{background:#fff4d6;color:#7a5200}
.expired,.failing,.revoked{background:#fde2e2;color:#8b1111}
.pending,.unmanaged{background:#eee;color:#555}
.summary span{margin-right:1em}
svg.tl .life{fill:#9ec5e8}svg.tl .window{fill:#f2b35e}svg.tl .now{stroke:#c00;stroke-width:2}
.legend i{display:inline-block;width:12px;height:8px;margin:0 4px 0 10px}
nav a{margin-right:1em}
)css";

}  // namespace

std::string issuer_from_files(const CertificateRecord& c) {
  if (c.out_dir.empty() || c.not_after == 0) return "-";
  auto pem = read_file(c.out_dir + "/cert.pem");
  if (!pem) return "-";
  auto info = acme::inspect_certificate(*pem);
  if (!info) return "-";
  const std::string& dn = info->issuer;
  const auto cn = dn.find("CN=");
  if (cn == std::string::npos) return dn.empty() ? "-" : dn;
  const auto end = dn.find(',', cn);
  return dn.substr(cn + 3, end == std::string::npos ? std::string::npos : end - cn - 3);
}

std::string render_status_page(const std::vector<CertificateRecord>& certs,
                               const StatusPageInput& in) {
  struct Row {
    const CertificateRecord* c;
    CertificateStatus s;
  };
  std::vector<Row> rows;
  rows.reserve(certs.size());
  std::map<std::string, std::size_t> counts;
  for (const auto& c : certs) {
    rows.push_back({&c, certificate_status(c, in.renew_before_days, in.now)});
    ++counts[rows.back().s.kind];
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    const int ra = rank(a.s.kind), rb = rank(b.s.kind);
    if (ra != rb) return ra < rb;
    return a.c->name < b.c->name;
  });
  const std::size_t pages =
      std::max<std::size_t>(1, (rows.size() + kStatusPageSize - 1) / kStatusPageSize);
  const std::size_t page = std::clamp<std::size_t>(in.page, 1, pages);
  const std::size_t first = (page - 1) * kStatusPageSize;
  const std::size_t last = std::min(rows.size(), first + kStatusPageSize);

  std::string h;
  h.reserve(2048 + (last - first) * 1200);
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width\">"
       "<title>acmectl: certificates</title><style>";
  h += kStyle;
  h += "</style></head><body>\n<h1>acmectl: " + std::to_string(certs.size()) +
       (certs.size() == 1 ? " certificate" : " certificates") + "</h1>\n";
  h += "<p class=\"summary\" id=\"summary\">";
  for (const char* k : {"expired", "failing", "revoked", "due", "pending", "unmanaged", "valid"}) {
    if (auto it = counts.find(k); it != counts.end()) {
      h += "<span><span class=\"st " + std::string(k) + "\">" + k + "</span> " +
           std::to_string(it->second) + "</span>";
    }
  }
  h += "</p>\n<p class=\"legend\">Generated " + rfc3339(in.now) +
       ". Timeline:<i style=\"background:#9ec5e8\"></i>lifetime"
       "<i style=\"background:#f2b35e\"></i>renewal window"
       "<i style=\"background:#c00\"></i>now. <a href=\"/metrics\">/metrics</a></p>\n";
  if (pages > 1) {
    h += "<nav>Page " + std::to_string(page) + " of " + std::to_string(pages) + " (" +
         std::to_string(kStatusPageSize) + " a page, problems first) ";
    if (page > 1) h += "<a href=\"/?page=" + std::to_string(page - 1) + "\">previous</a>";
    if (page < pages) h += "<a href=\"/?page=" + std::to_string(page + 1) + "\">next</a>";
    h += "</nav>\n";
  }
  h += "<table id=\"certificates\"><thead><tr><th>Name</th><th>Domains</th><th>Status</th>"
       "<th>Issuer</th><th>Days left</th><th>Next renewal</th><th>Last result</th>"
       "<th>Timeline</th></tr></thead><tbody>\n";
  for (std::size_t i = first; i < last; ++i) {
    const CertificateRecord& c = *rows[i].c;
    const CertificateStatus& s = rows[i].s;
    std::string domains;
    for (const auto& d : c.domains) domains += (domains.empty() ? "" : ", ") + d;
    std::string result = c.last_error.empty()
                             ? (c.last_success ? "ok at " + rfc3339(c.last_success) : "-")
                             : c.last_error;
    h += "<tr class=\"cert " + s.kind + "\" data-name=\"" + esc(c.name) + "\" data-status=\"" +
         s.kind + "\"><td>" + esc(c.name) + "</td><td>" + esc(domains) +
         "</td><td><span class=\"st " + s.kind + "\">" + esc(s.status) + "</span></td><td>" +
         esc(in.issuer ? in.issuer(c) : std::string("-")) + "</td><td class=\"num\">" +
         (c.not_after ? std::to_string(s.days_left) : std::string("-")) + "</td><td>" +
         esc(next_renewal_text(s)) + "</td><td>" + esc(result) + "</td><td>" +
         timeline(c, s, in.now) + "</td></tr>\n";
  }
  h += "</tbody></table>\n</body></html>\n";
  return h;
}

}  // namespace agent::metrics
