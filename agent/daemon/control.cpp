#include "daemon/control.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "acme/unique_fd.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;

namespace {

acme::Result<sockaddr_un> socket_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return make_error(Errc::kInvalidInput, "control socket path " + path + " is longer than " +
                                               std::to_string(sizeof addr.sun_path - 1) +
                                               " bytes: use a shorter --state-dir");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// Connects to the socket; -1 with errno when nobody listens.
int connect_to(const sockaddr_un& addr) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

std::string control_socket_path(const std::string& state_dir) { return state_dir + "/agent.sock"; }

std::string encode_request(const ControlRequest& r) {
  return nlohmann::json{{"op", "run"}, {"names", r.names}, {"force", r.force}, {"ari", r.ari}}
             .dump() +
         "\n";
}

acme::Result<ControlRequest> decode_request(const std::string& line) {
  const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.value("op", "") != "run" || !j.contains("names") ||
      !j["names"].is_array()) {
    return make_error(Errc::kInvalidInput, "control request: expected {\"op\":\"run\",...}");
  }
  ControlRequest r;
  for (const auto& n : j["names"]) {
    if (!n.is_string()) return make_error(Errc::kInvalidInput, "control request: bad name");
    r.names.push_back(n.get<std::string>());
  }
  if (auto it = j.find("force"); it != j.end() && it->is_boolean()) r.force = it->get<bool>();
  if (auto it = j.find("ari"); it != j.end() && it->is_boolean()) r.ari = it->get<bool>();
  return r;
}

std::string encode_reply(const ControlReply& r) {
  return nlohmann::json{{"name", r.name},
                        {"outcome", r.outcome},
                        {"message", r.message},
                        {"installed", r.installed}}
             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

acme::Result<int> control_listen(const std::string& state_dir) {
  const std::string path = control_socket_path(state_dir);
  ACME_ASSIGN(const sockaddr_un addr, socket_address(path));
  if (const int other = connect_to(addr); other >= 0) {
    ::close(other);
    return make_error(Errc::kInvalidInput,
                      "another acmectl agent is running on " + state_dir + " (" + path + ")");
  }
  ::unlink(path.c_str());  // a crashed agent's socket: nobody answers on it
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return make_error(Errc::kIo, "control socket: " + std::string(std::strerror(errno)));
  // Created 0600 from the start: no window in which others could connect.
  const mode_t old = ::umask(0177);
  const int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int err = errno;
  ::umask(old);
  if (rc != 0 || ::listen(fd, 16) != 0) {
    ::close(fd);
    return make_error(Errc::kIo, "control socket " + path + ": " + std::strerror(err));
  }
  return fd;
}

bool agent_listening(const std::string& state_dir) {
  auto addr = socket_address(control_socket_path(state_dir));
  if (!addr) return false;
  const acme::UniqueFd conn(connect_to(*addr));
  return conn.valid();
}

acme::Result<std::optional<std::vector<ControlReply>>> control_run(const std::string& state_dir,
                                                                   const ControlRequest& request) {
  using Out = std::optional<std::vector<ControlReply>>;
  const std::string path = control_socket_path(state_dir);
  auto addr = socket_address(path);
  if (!addr) return Out();  // no agent can listen there either
  const acme::UniqueFd conn(connect_to(*addr));
  if (!conn.valid()) return Out();
  const int fd = conn.get();
  if (!write_all(fd, encode_request(request))) {
    return make_error(Errc::kIo, "control socket " + path + ": the agent closed the connection");
  }
  std::vector<ControlReply> replies;
  std::string buf;
  char chunk[4096];
  while (true) {
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      const std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object()) {
        return make_error(Errc::kProtocol, "control socket " + path + ": bad reply");
      }
      if (j.value("done", false)) return Out(std::move(replies));
      if (j.contains("error")) {
        return make_error(Errc::kIo, "agent: " + j.value("error", std::string()));
      }
      replies.push_back({j.value("name", ""), j.value("outcome", ""), j.value("message", ""),
                         j.value("installed", false)});
    }
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return make_error(Errc::kIo, "control socket " + path +
                                       ": the agent stopped before answering (it keeps "
                                       "unfinished orders and resumes them at its next start)");
    }
    buf.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace agent
