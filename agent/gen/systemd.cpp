#include "gen/systemd.hpp"

#include <algorithm>
#include <cctype>

#include "gen/values.hpp"

namespace agent::gen {

namespace {

// '%' starts a specifier in every systemd setting: a literal one is written twice.
std::string escape_specifiers(std::string_view s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == '%') out += '%';
  }
  return out;
}

// ExecStart: an absolute program path and plain words. Quotes, backslashes, '$' and ';'
// mean something to systemd's command-line parser: refused rather than half-escaped.
acme::Result<std::string> exec_line(const std::string& exec) {
  const std::string what = "--exec '" + exec + "'";
  if (exec.empty() || exec.front() != '/') {
    return invalid_input(what + ": must start with the program's absolute path");
  }
  for (char c : exec) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\'' || c == '\\' || c == '$' || c == ';' ||
        c == '`') {
      return invalid_input(what +
                           ": quotes, backslashes, '$', ';' and control characters are not "
                           "supported in the command line");
    }
  }
  const std::string program = exec.substr(0, exec.find(' '));
  ACME_CHECK(check_abs_path(program, "--exec"));
  return escape_specifiers(exec);
}

bool valid_unit_name(std::string_view n) {
  if (n.empty() || n.size() > 200 || n.front() == '-' || n.front() == '.') return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == '@' || c == ':';
  });
}

bool valid_user(std::string_view u) {
  if (u.empty() || u.size() > 32 || u.front() == '-' ||
      std::isdigit(static_cast<unsigned char>(u.front()))) {
    return false;
  }
  return std::all_of(u.begin(), u.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

// The hardening every unit shares, in two parts around its ReadWritePaths= lines: a
// process that needs the network and its own state, and nothing else.
constexpr const char* kHardeningHead =
    "NoNewPrivileges=yes\n"
    "ProtectSystem=strict\n";

// `caps`: the capabilities the process may keep (empty: none).
std::string sandbox(const std::string& caps) {
  return "ProtectHome=yes\n"
         "PrivateTmp=yes\n"
         "PrivateDevices=yes\n"
         "ProtectKernelTunables=yes\n"
         "ProtectKernelModules=yes\n"
         "ProtectKernelLogs=yes\n"
         "ProtectControlGroups=yes\n"
         "ProtectClock=yes\n"
         "ProtectHostname=yes\n"
         "ProtectProc=invisible\n"
         "ProcSubset=pid\n"
         "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n"
         "RestrictNamespaces=yes\n"
         "RestrictRealtime=yes\n"
         "RestrictSUIDSGID=yes\n"
         "LockPersonality=yes\n"
         "MemoryDenyWriteExecute=yes\n"
         "RemoveIPC=yes\n"
         "SystemCallArchitectures=native\n"
         "SystemCallFilter=@system-service\n"
         "SystemCallFilter=~@privileged @resources\n"
         "CapabilityBoundingSet=" +
         caps + "\n" + (caps.empty() ? std::string() : "AmbientCapabilities=" + caps + "\n") +
         "DevicePolicy=closed\n"
         "KeyringMode=private\n";
}

}  // namespace

acme::Result<UnitFile> app_unit(const AppUnitOptions& o) {
  std::string name = o.name;
  if (name.ends_with(".service")) name.resize(name.size() - 8);
  if (!valid_unit_name(name)) {
    return invalid_input("--name '" + o.name + "': a unit name is letters, digits and - _ . @ :");
  }
  ACME_ASSIGN(const std::string exec, exec_line(o.exec));
  if (!o.user.empty() && !valid_user(o.user)) {
    return invalid_input("--user '" + o.user + "': expected a user name such as www-app");
  }
  if (o.user == "root") return invalid_input("--user root: the application must not run as root");
  const std::string workdir = o.workdir.empty() ? "/var/lib/" + name : o.workdir;
  ACME_CHECK(check_abs_path(workdir, "--workdir"));
  for (const auto& p : o.read_write_paths) ACME_CHECK(check_abs_path(p, "--read-write-path"));

  std::vector<std::pair<std::string, std::string>> env;
  for (const auto& kv : o.env) {
    const size_t eq = kv.find('=');
    const std::string key = kv.substr(0, eq);
    if (eq == std::string::npos || key.empty() ||
        std::isdigit(static_cast<unsigned char>(key.front())) ||
        !std::all_of(key.begin(), key.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        })) {
      return invalid_input("--env '" + kv +
                           "': expected KEY=VALUE with KEY of letters, digits and _");
    }
    const std::string value = kv.substr(eq + 1);
    if (std::any_of(value.begin(), value.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
      return invalid_input("--env '" + key + "': the value contains a control character");
    }
    auto it = std::find_if(env.begin(), env.end(), [&](const auto& e) { return e.first == key; });
    if (it != env.end()) return invalid_input("--env " + key + " given twice");
    env.emplace_back(key, value);
  }
  if (std::none_of(env.begin(), env.end(), [](const auto& e) { return e.first == "GIN_MODE"; })) {
    env.insert(env.begin(), {"GIN_MODE", "release"});
  }

  std::string u;
  u += "# " + name + ".service (generated by `acmectl gen systemd`).\n";
  u += "# Install: cp " + name + ".service /etc/systemd/system/ && systemctl daemon-reload &&\n";
  u += "#          systemctl enable --now " + name + ".service\n";
  u += "[Unit]\n";
  u += "Description=" + escape_specifiers(name) + "\n";
  u += "Wants=network-online.target\n";
  u += "After=network-online.target\n\n";
  u += "[Service]\n";
  u += "Type=simple\n";
  if (o.user.empty()) {
    u += "DynamicUser=yes\n";
  } else {
    // No Group=: the user's primary group (adduser --system puts users in nogroup and
    // creates no group of their name).
    u += "User=" + o.user + "\n";
  }
  u += "ExecStart=" + exec + "\n";
  u += "WorkingDirectory=" + escape_specifiers(workdir) + "\n";
  for (const auto& [k, v] : env) {
    u += "Environment=" + double_quoted(escape_specifiers(k + "=" + v)) + "\n";
  }
  u += "Restart=always\n";
  u += "RestartSec=2s\n";
  u += "TimeoutStopSec=30s\n";
  u += "LimitNOFILE=65536\n";
  u += "StateDirectory=" + name + "\n";
  u += "StateDirectoryMode=0750\n";
  u += "UMask=0027\n\n";
  u += "# Hardening: network, its state directory";
  u += o.read_write_paths.empty() ? "" : " and the paths given";
  u += ", nothing else.\n";
  u += "# Denied system calls fail with EPERM instead of killing the process (the Go runtime\n";
  u += "# tolerates a refused setrlimit).\n";
  u += kHardeningHead;
  for (const auto& p : o.read_write_paths) u += "ReadWritePaths=" + escape_specifiers(p) + "\n";
  u += sandbox(o.bind_low_port ? "CAP_NET_BIND_SERVICE" : "");
  u += "SystemCallErrorNumber=EPERM\n\n";
  u += "[Install]\n";
  u += "WantedBy=multi-user.target\n";
  return UnitFile{name + ".service", u};
}

acme::Result<std::vector<UnitFile>> agent_units(const AgentUnitOptions& o) {
  ACME_CHECK(check_abs_path(o.acmectl, "--acmectl"));
  ACME_CHECK(check_abs_path(o.config, "--agent-config"));
  std::string extra_rw;  // e.g. a webroot or an output directory outside /etc/acmectl
  for (const auto& p : o.read_write_paths) {
    ACME_CHECK(check_abs_path(p, "--read-write-path"));
    extra_rw += "ReadWritePaths=" + escape_specifiers(p) + "\n";
  }
  const std::string acmectl = escape_specifiers(o.acmectl);
  const std::string config = escape_specifiers(o.config);
  const std::string doc = "Documentation=file:///usr/share/doc/acmectl/agent.md\n";
  const std::string env_and_state =
      "Environment=ACMECTL_STATE_DIR=/var/lib/acmectl\n"
      "StateDirectory=acmectl\n"
      "StateDirectoryMode=0700\n";

  std::string agent =
      "[Unit]\n"
      "Description=acmectl certificate renewal agent\n" +
      doc +
      "Wants=network-online.target\n"
      "After=network-online.target\n\n"
      "[Service]\n"
      "Type=notify\n"
      "ExecStart=" +
      acmectl + " agent --config " + config + "\n" +
      "ExecReload=/bin/kill -HUP $MAINPID\n"
      "Restart=on-failure\n"
      "RestartSec=10s\n"
      "WatchdogSec=5min\n"
      "TimeoutStopSec=60s\n"
      "# The Debian package creates this user; elsewhere first run: useradd --system\n"
      "# --home-dir /var/lib/acmectl --shell /usr/sbin/nologin acmectl\n"
      "User=acmectl\n"
      "Group=acmectl\n"
      "StateDirectory=acmectl\n"
      "StateDirectoryMode=0700\n"
      "ConfigurationDirectory=acmectl\n"
      "ConfigurationDirectoryMode=0750\n"
      "Environment=ACMECTL_STATE_DIR=/var/lib/acmectl\n"
      "UMask=0077\n\n"
      "# Hardening: the agent needs the network, its state, the certificate output directory\n"
      "# and (for HTTP-01 on port 80) the right to bind a low port. Nothing else.\n" +
      kHardeningHead + std::string("ReadWritePaths=/etc/acmectl\n") + extra_rw +
      sandbox("CAP_NET_BIND_SERVICE") +
      "\n[Install]\n"
      "WantedBy=multi-user.target\n";

  std::string renew =
      "[Unit]\n"
      "Description=acmectl: renew certificates that are due\n" +
      doc +
      "Wants=network-online.target\n"
      "After=network-online.target\n\n"
      "[Service]\n"
      "Type=oneshot\n"
      "ExecStart=" +
      acmectl + " renew\n" + "User=acmectl\nGroup=acmectl\n" + env_and_state + "UMask=0077\n" +
      kHardeningHead + std::string("ReadWritePaths=/etc/acmectl\n") + extra_rw +
      sandbox("CAP_NET_BIND_SERVICE");

  std::string timer =
      "[Unit]\n"
      "Description=Run acmectl renew twice a day\n" +
      doc +
      "\n[Timer]\n"
      "OnCalendar=*-*-* 00,12:00:00\n"
      "RandomizedDelaySec=1h\n"
      "Persistent=true\n"
      "Unit=acmectl-renew.service\n\n"
      "[Install]\n"
      "WantedBy=timers.target\n";

  return std::vector<UnitFile>{{"acmectl-agent.service", agent},
                               {"acmectl-renew.service", renew},
                               {"acmectl-renew.timer", timer}};
}

}  // namespace agent::gen
