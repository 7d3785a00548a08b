#include "log/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

namespace agent {

using acme::Errc;
using acme::make_error;

namespace {

// One JSON object per line: {"ts","level","logger","msg"}.
class JsonSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const auto t = std::chrono::system_clock::to_time_t(msg.time);
    char ts[32];
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    nlohmann::json j{{"ts", ts},
                     {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                                           spdlog::level::to_string_view(msg.level).size())},
                     {"logger", std::string(msg.logger_name.data(), msg.logger_name.size())},
                     {"msg", std::string(msg.payload.data(), msg.payload.size())}};
    const std::string line =
        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

// On a terminal: "17:40:02 order (120 ms) https://…", one short line per step. The
// "cert=NAME" context is dropped (one-shot commands handle one certificate at a time
// where a person watches) and "took_ms=N" reads as a duration. Pipes and files keep the
// full line.
class TerminalSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string text(msg.payload.data(), msg.payload.size());
    if (text.rfind("cert=", 0) == 0) {
      const auto sp = text.find(' ');
      text = sp == std::string::npos ? std::string() : text.substr(sp + 1);
    }
    if (const auto t = text.find("took_ms="); t != std::string::npos) {
      auto end = text.find(' ', t);
      if (end == std::string::npos) end = text.size();
      text.replace(t, end - t, "(" + text.substr(t + 8, end - t - 8) + " ms)");
    }
    const auto tt = std::chrono::system_clock::to_time_t(msg.time);
    std::tm tm{};
    localtime_r(&tt, &tm);
    char ts[16];
    std::strftime(ts, sizeof ts, "%H:%M:%S", &tm);
    std::string line = std::string(ts) + " ";
    if (msg.level >= spdlog::level::warn) {
      const auto lv = spdlog::level::to_string_view(msg.level);
      line += std::string(lv.data(), lv.size()) + ": ";
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    line += text + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

spdlog::sink_ptr& shared_sink() {
  static spdlog::sink_ptr sink;
  return sink;
}

}  // namespace

acme::Result<void> setup_logging(const std::string& level, const std::string& format,
                                 bool terminal) {
  const auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return make_error(Errc::kInvalidInput,
                      "--log-level " + level + ": use trace, debug, info, warn, error or off");
  }
  if (format == "json") {
    shared_sink() = std::make_shared<JsonSink>();
  } else if (format == "text" && terminal && lvl >= spdlog::level::info &&
             ::isatty(STDERR_FILENO) == 1) {
    shared_sink() = std::make_shared<TerminalSink>();
  } else if (format == "text") {
    shared_sink() = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    shared_sink()->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%dT%H:%M:%S.%eZ %l %n: %v", spdlog::pattern_time_type::utc));
  } else {
    return make_error(Errc::kInvalidInput, "--log-format " + format + ": use text or json");
  }
  shared_sink()->set_level(lvl);
  spdlog::set_level(lvl);
  return acme::ok();
}

std::shared_ptr<spdlog::logger> logger(const std::string& component) {
  // Workers ask for the same component at once: create each logger once.
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (auto existing = spdlog::get(component)) return existing;
  if (!shared_sink()) (void)setup_logging("info", "text");
  auto l = std::make_shared<spdlog::logger>(component, shared_sink());
  l->set_level(spdlog::get_level());
  spdlog::register_logger(l);
  return l;
}

}  // namespace agent
