#include "metrics/exposition.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

namespace agent::metrics {

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

// Writes the value into buf (at least 64 bytes); returns its length.
size_t format_value_to(double v, char* buf) {
  if (std::isnan(v)) return std::char_traits<char>::length(std::strcpy(buf, "NaN"));
  if (std::isinf(v))
    return std::char_traits<char>::length(std::strcpy(buf, v > 0 ? "+Inf" : "-Inf"));
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    auto [p, ec] = std::to_chars(buf, buf + 64, static_cast<long long>(v));
    return static_cast<size_t>(p - buf);
  }
  auto [p, ec] = std::to_chars(buf, buf + 64, v);
  return static_cast<size_t>(p - buf);
}

}  // namespace

std::string format_value(double v) {
  char buf[64];
  return std::string(buf, format_value_to(v, buf));
}

void Exposition::sample_with(std::string_view name, std::string_view label, std::string_view extra,
                             double value) {
  char buf[64];
  const size_t n = format_value_to(value, buf);
  out_.append(name).append(1, '{').append(label).append(extra).append("} ", 2).append(buf, n);
  out_ += '\n';
}

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void Exposition::sample(std::string_view name, const Labels& labels, double value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += k;
      out_ += "=\"";
      out_ += escape_label_value(v);
      out_ += '"';
    }
    out_ += '}';
  }
  char buf[64];
  const size_t n = format_value_to(value, buf);
  out_ += ' ';
  out_.append(buf, n);
  out_ += '\n';
}

}  // namespace agent::metrics
