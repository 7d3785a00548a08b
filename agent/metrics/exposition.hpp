#pragma once
// Prometheus text exposition format 0.0.4: families with HELP and TYPE, samples with
// correctly escaped label values.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agent::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Label values escape backslash, double quote and line feed (exposition format spec).
std::string escape_label_value(std::string_view value);
// HELP text escapes backslash and line feed.
std::string escape_help(std::string_view help);
// Shortest round-trip form; +Inf, -Inf, NaN spelled as Prometheus expects.
std::string format_value(double v);

class Exposition {
 public:
  Exposition() = default;
  // Writes into `buffer` (cleared, its capacity kept: a scrape reuses the last one's memory).
  explicit Exposition(std::string buffer) : out_(std::move(buffer)) { out_.clear(); }
  // Starts a family; every sample that follows until the next family belongs to it.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  void sample(std::string_view name, double value) { sample(name, {}, value); }
  // Fast path for one-label series (the per-certificate families): `label` is
  // `name="ESCAPED"` as built once per certificate; `extra` is appended after it
  // (e.g. `,result="success"`) and may be empty.
  void sample_with(std::string_view name, std::string_view label, std::string_view extra,
                   double value);
  const std::string& text() const noexcept { return out_; }
  std::string take() { return std::move(out_); }
  void reserve(size_t n) { out_.reserve(n); }

 private:
  std::string out_;
};

}  // namespace agent::metrics
