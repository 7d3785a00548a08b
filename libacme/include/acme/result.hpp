#pragma once
// Result<T> and Error: expected failures are values (ARCHITECTURE.md).
// Shaped like std::expected so it can be swapped for it later.

#include <cassert>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "acme/problem.hpp"

namespace acme {

enum class Errc {
  kInvalidInput,  // the caller gave something unusable (bad name, bad key type)
  kNetwork,       // could not connect / send / receive
  kTls,           // TLS handshake or certificate verification failed
  kTimeout,       // an overall deadline passed
  kHttp,          // unexpected HTTP status without an ACME problem document
  kProtocol,      // the server answered something that breaks RFC 8555 (bad JSON, missing field)
  kAcmeProblem,   // the server answered an RFC 7807 problem document
  kValidation,    // a challenge or order ended "invalid"
  kCrypto,        // an OpenSSL operation failed
  kIo,            // file system
  kInternal,
  kCancelled,  // the caller asked to stop (Clock::cancelled); state kept for resuming
};

const char* to_string(Errc code) noexcept;

struct Error {
  Errc code = Errc::kInternal;
  std::string message;  // names what failed: "POST https://ca/new-order: connection refused"
  std::optional<Problem> problem;
  std::optional<std::chrono::seconds> retry_after;
  int http_status = 0;

  // One line for humans: message plus the problem document when there is one.
  std::string to_string() const;
  // Prefix the message with context ("new order: " + message).
  Error&& context(const std::string& what) &&;
};

Error make_error(Errc code, std::string message);

// The one place that decides retryable vs permanent (ARCHITECTURE.md): the scheduler
// retries retryable errors later with backoff; permanent ones need a human.
bool is_retryable(const Error& error) noexcept;

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    assert(!has_value());
    return std::get<1>(v_);
  }
  Error&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT

  bool has_value() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const { assert(has_value()); }

  const Error& error() const& {
    assert(!has_value());
    return *error_;
  }
  Error&& error() && {
    assert(!has_value());
    return std::move(*error_);
  }

 private:
  std::optional<Error> error_;
};

inline Result<void> ok() { return {}; }

}  // namespace acme

#define ACME_CONCAT_INNER(a, b) a##b
#define ACME_CONCAT(a, b) ACME_CONCAT_INNER(a, b)
#define ACME_ASSIGN_IMPL(tmp, lhs, expr)   \
  auto tmp = (expr);                       \
  if (!tmp) return std::move(tmp).error(); \
  lhs = std::move(*tmp)
// ACME_ASSIGN(auto x, f()); returns the error from the enclosing function on failure.
#define ACME_ASSIGN(lhs, expr) ACME_ASSIGN_IMPL(ACME_CONCAT(acme_tmp_, __LINE__), lhs, expr)
// ACME_CHECK(f()); for Result<void>.
#define ACME_CHECK(expr)                                 \
  do {                                                   \
    auto acme_chk_ = (expr);                             \
    if (!acme_chk_) return std::move(acme_chk_).error(); \
  } while (0)
