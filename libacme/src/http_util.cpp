// Header helpers shared by every HttpClient: lookup, Retry-After, Link.
#include <time.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "acme/http.hpp"

namespace acme {

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::vector<std::string> HttpResponse::headers_named(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (k == name) out.push_back(v);
  }
  return out;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    long long secs = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
    if (ec != std::errc() || p != value.data() + value.size()) {
      // Overflow: absurdly far in the future; clamp to a year.
      return std::chrono::seconds(365LL * 86400);
    }
    return std::chrono::seconds(std::min(secs, 365LL * 86400));
  }
  // RFC 9110 §5.6.7 HTTP-date: IMF-fixdate, plus the obsolete RFC 850 and asctime forms.
  // strptime reads a C string: a NUL inside the header would cut the date short.
  if (value.find('\0') != std::string_view::npos) return std::nullopt;
  const std::string text(value);
  static const char* const kFormats[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                         "%a %b %e %H:%M:%S %Y"};
  for (const char* fmt : kFormats) {
    struct tm tm {};
    const char* end = strptime(text.c_str(), fmt, &tm);
    if (end == nullptr || *end != '\0') continue;
    const time_t t = timegm(&tm);
    if (t == static_cast<time_t>(-1)) continue;
    // In whole seconds, not system_clock time points: those hold nanoseconds in 64 bits
    // (years 1678 to 2262), and a date like year 202 or 9999 overflowed them (UB).
    const long long now_s =
        std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
    if (t <= now_s) return std::chrono::seconds(0);
    // Same cap as delay-seconds.
    return std::chrono::seconds(std::min<long long>(t - now_s, 365LL * 86400));
  }
  return std::nullopt;
}

std::vector<std::string> parse_links(const std::vector<std::string>& link_headers,
                                     std::string_view rel) {
  // RFC 8288 §3: Link = #( "<" URI-Reference ">" *( ";" link-param ) ).
  std::vector<std::string> out;
  for (const auto& header : link_headers) {
    std::string_view rest = header;
    while (true) {
      const auto open = rest.find('<');
      if (open == std::string_view::npos) break;
      const auto close = rest.find('>', open);
      if (close == std::string_view::npos) break;
      const std::string_view uri = rest.substr(open + 1, close - open - 1);
      rest = rest.substr(close + 1);
      // Params run to the next "<" that starts another link (commas inside quotes are rare
      // enough in ACME that splitting at ",<" is safe).
      auto next = rest.find('<');
      std::string_view params = rest.substr(0, next);
      bool match = false;
      size_t pos = 0;
      while (pos < params.size()) {
        auto semi = params.find(';', pos);
        if (semi == std::string_view::npos) break;
        auto end = params.find_first_of(";,", semi + 1);
        std::string_view param = trim(
            params.substr(semi + 1, end == std::string_view::npos ? params.npos : end - semi - 1));
        pos = end == std::string_view::npos ? params.size() : end;
        auto eq = param.find('=');
        if (eq == std::string_view::npos) continue;
        std::string name(trim(param.substr(0, eq)));
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        std::string_view val = trim(param.substr(eq + 1));
        if (val.size() >= 2 && val.front() == '"' && val.back() == '"') {
          val = val.substr(1, val.size() - 2);
        }
        if (name != "rel") continue;
        // rel may hold several space-separated relation types.
        size_t start = 0;
        while (start <= val.size()) {
          auto sp = val.find(' ', start);
          std::string_view one =
              val.substr(start, sp == std::string_view::npos ? val.npos : sp - start);
          if (one == rel) match = true;
          if (sp == std::string_view::npos) break;
          start = sp + 1;
        }
      }
      if (match) out.emplace_back(uri);
      if (next == std::string_view::npos) break;
      rest = rest.substr(next);
    }
  }
  return out;
}

}  // namespace acme
