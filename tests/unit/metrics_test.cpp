#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "metrics/exposition.hpp"
#include "metrics/registry.hpp"

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

TEST_CASE("exposition: HELP and TYPE precede samples; values are formatted as Prometheus reads them") {
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
