#include "cli/man.hpp"

#include <cstdio>
#include <regex>
#include <set>
#include <sstream>

#include "cli/doc_tree.hpp"

namespace agent::cli {

namespace {

// Text for a roff text line: backslashes escaped, non-ASCII as \[uXXXX], a leading
// '.' or '\'' neutralised.
std::string roff(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\\') {
      out += "\\e";
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      // UTF-8 sequence -> code point.
      int len = (c >= 0xF0) ? 4 : (c >= 0xE0) ? 3 : 2;
      unsigned cp = c & (len == 4 ? 0x07 : len == 3 ? 0x0F : 0x1F);
      for (int k = 1; k < len && i + 1 < text.size(); ++k) {
        cp = (cp << 6) | (static_cast<unsigned char>(text[++i]) & 0x3F);
      }
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\[u%04X]", cp);
      out += buf;
    }
  }
  std::string lines;
  std::istringstream in(out);
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (!first) lines += "\n";
    first = false;
    if (!line.empty() && (line[0] == '.' || line[0] == '\'')) lines += "\\&";
    lines += line;
  }
  return lines;
}

// An option name in bold with its hyphens as \- ("\fB\-\-state\-dir\fR").
std::string bold_name(const std::string& name) {
  std::string out = "\\fB";
  for (char c : name) out += c == '-' ? std::string("\\-") : std::string(1, c);
  return out + "\\fR";
}

std::string option_head(const OptionDoc& o) {
  if (o.positional) return "\\fI" + roff(o.names.front()) + "\\fR" + (o.repeatable ? " ..." : "");
  std::string out;
  for (const auto& n : o.names) out += (out.empty() ? "" : ", ") + bold_name(n);
  if (!o.metavar.empty()) out += " \\fI" + roff(o.metavar) + "\\fR";
  if (o.repeatable && !o.metavar.empty()) out += " ...";
  return out;
}

void put_option(std::ostringstream& s, const OptionDoc& o) {
  s << ".TP\n" << option_head(o) << "\n" << roff(o.description.empty() ? "-" : o.description);
  if (o.required) s << " (required)";
  if (!o.values.empty()) {
    std::string vals;
    for (const auto& v : o.values) vals += (vals.empty() ? "" : ", ") + v;
    s << "\n.br\nValues: " << roff(vals) << ".";
  }
  s << "\n";
}

void put_block(std::ostringstream& s, const std::string& text) {
  s << ".PP\n.nf\n" << roff(text) << "\n.fi\n";
}

bool is_global(const CommandDoc& root, const OptionDoc& o) {
  if (o.positional) return false;
  const OptionDoc* r = root.find(o.names.back());
  return r != nullptr && r->names == o.names && r->description == o.description &&
         o.names.back() != "--help";
}

void put_command(std::ostringstream& s, const CommandDoc& root, const CommandDoc& c) {
  s << ".SS \"acmectl " << roff(c.path) << "\"\n" << roff(c.description) << ".\n";
  for (const auto& o : c.options) {
    if (is_global(root, o) || o.names.back() == "--help") continue;
    put_option(s, o);
  }
  if (!c.subcommands.empty()) {
    std::string subs;
    for (const auto& sub : c.subcommands) subs += (subs.empty() ? "" : ", ") + sub.name;
    s << ".PP\nCommands: " << roff(subs) << " (below).\n";
  }
  if (!c.footer.empty() && c.footer != "\n") put_block(s, c.footer);
  for (const auto& sub : c.subcommands) put_command(s, root, sub);
}

constexpr const char* kDescription = R"(.SH DESCRIPTION
.B acmectl
obtains certificates from an ACME certificate authority (RFC 8555: Let's Encrypt, or any
other ACME server), installs them atomically, and keeps them renewed.
.B acmectl issue
obtains one certificate now and records it;
.B acmectl agent
is the daemon that renews recorded certificates on schedule, answers HTTP-01 challenges
and serves metrics;
.B acmectl renew
renews what is due once, for a systemd timer or cron.
.PP
Global options are accepted before or after the command name.
The command line wins over the environment, which wins over the configuration file
(see
.BR acmectl.toml (5)).
.PP
Habits from certbot and lego are understood:
.B \-m
for
.BR \-\-email ,
.B \-\-cert\-name
for
.BR \-\-name ,
.B \-\-force\-renewal
for
.BR \-\-force ,
.B \-w
for
.BR \-\-webroot ,
.B "\-d a,b"
for two names,
.B \-n
(accepted; acmectl never prompts) and
.BR \-\-staging .
)";

constexpr const char* kTrailer = R"(.SH FILES
.TP
.I /etc/acmectl/acmectl.toml
The configuration file read when no \fB\-\-config\fR is given and it exists; see
.BR acmectl.toml (5).
.TP
.I /var/lib/acmectl/acmectl.db
The SQLite database of recorded certificates, their schedule and events (the state
directory of root; other users: \fI$XDG_STATE_HOME/acmectl\fR or
\fI~/.local/state/acmectl\fR).
.TP
.I STATE/accounts/
ACME account keys (mode 0600), one per CA and contact.
.TP
.I STATE/agent.sock
The running agent's control socket (0600); \fBissue\fR and \fBrenew\fR hand their work to it.
.TP
.I OUT/NAME/cert.pem\fR, \fIchain.pem\fR, \fIfullchain.pem\fR, \fIprivkey.pem
The installed certificate (OUT defaults to \fISTATE/live\fR); \fIprivkey.pem\fR is mode 0600
and every file is replaced atomically.
.TP
.I /lib/systemd/system/acmectl\-agent.service\fR, \fIacmectl\-renew.service\fR, \fIacmectl\-renew.timer
The agent's units, or a timer running \fBacmectl renew\fR twice a day.
.SH EXIT STATUS
.TP
.B 0
Success (also: nothing was due).
.TP
.B 1
Failure; one line on standard error says what failed and why.
.TP
.B 2
Usage error: a bad option, value or configuration file.
.SH EXAMPLES
Obtain a certificate with the built-in HTTP-01 responder on port 80:
.PP
.nf
.RS
acmectl issue \-d example.com \-d www.example.com \-\-email ops@example.com \-\-agree\-tos
.RE
.fi
.PP
The same with certbot's spelling, through a web server's document root, on the staging CA:
.PP
.nf
.RS
acmectl issue \-n \-m ops@example.com \-\-agree\-tos \-\-staging \-\-cert\-name example \e
    \-w /var/www/html \-d example.com,www.example.com
.RE
.fi
.PP
A wildcard through RFC 2136 dynamic DNS updates:
.PP
.nf
.RS
acmectl issue \-d \(aq*.example.com\(aq \-\-challenge dns\-01 \-\-dns\-provider rfc2136 \e
    \-\-rfc2136\-server 192.0.2.53:53 \-\-rfc2136\-tsig\-name acme\-key \e
    \-\-rfc2136\-tsig\-secret\-file /etc/acmectl/tsig.secret
.RE
.fi
.PP
Renew what is due, quietly (for cron), and reload nginx when anything changed:
.PP
.nf
.RS
acmectl renew \-q \-\-post\-hook \(aqsystemctl reload nginx\(aq
.RE
.fi
.PP
List the certificates; run the agent; enable completion in bash:
.PP
.nf
.RS
acmectl list
acmectl agent \-\-metrics\-listen 127.0.0.1:9469
source <(acmectl completion bash)
.RE
.fi
.SH SEE ALSO
.BR acmectl.toml (5),
.BR systemd.timer (5),
.BR certbot (1)
.PP
RFC 8555 (ACME), RFC 8738 (IP identifiers), RFC 2136 (dynamic DNS updates).
)";

constexpr const char* kOtherEnvironment = R"(.TP
.B ACMECTL_RFC2136_SERVER\fR, \fBACMECTL_RFC2136_TSIG_NAME\fR, \fBACMECTL_RFC2136_TSIG_SECRET\fR, \fBACMECTL_RFC2136_TSIG_SECRET_FILE\fR, \fBACMECTL_RFC2136_TSIG_ALGORITHM
Defaults for the \fB\-\-rfc2136\-*\fR options of \fBissue\fR.
.TP
.B HTTPS_PROXY\fR, \fBNO_PROXY
The ACME connection goes through this HTTP CONNECT proxy, except to the hosts listed in
\fBNO_PROXY\fR.
.TP
.B XDG_STATE_HOME
Where the state directory of a user other than root is (\fI$XDG_STATE_HOME/acmectl\fR).
.TP
.B NOTIFY_SOCKET
Set by systemd for \fBType=notify\fR: the agent reports readiness and stopping.
.PP
Hooks run with \fBACMECTL_CERT_NAME\fR, \fBACMECTL_DOMAINS\fR, \fBACMECTL_CERT_DIR\fR,
\fBACMECTL_CERT_PATH\fR, \fBACMECTL_KEY_PATH\fR, \fBACMECTL_CHAIN_PATH\fR and
\fBACMECTL_FULLCHAIN_PATH\fR (deploy hook), \fBACMECTL_RENEWED_NAMES\fR and
\fBACMECTL_FAILED_NAMES\fR (post hook), \fBACMECTL_EVENT\fR; a DNS-01 exec program with
\fBACMECTL_DNS01_ACTION\fR, \fBACMECTL_DNS01_FQDN\fR and \fBACMECTL_DNS01_VALUE\fR.
)";

}  // namespace

std::string command_man_page(const CLI::App& app) {
  const CommandDoc root = describe(app);
  std::ostringstream s;
  s << ".\\\" Generated by `acmectl __man 1` from the command-line definition: do not edit.\n"
    << ".TH ACMECTL 1 \"\" \"acmectl " << ACMECTL_VERSION << "\" \"User Commands\"\n"
    << ".SH NAME\nacmectl \\- " << roff(root.description.substr(root.description.find(':') + 2))
    << "\n.SH SYNOPSIS\n.B acmectl\n[\\fIglobal options\\fR] \\fIcommand\\fR "
       "[\\fIoptions\\fR] [\\fIarguments\\fR]\n";
  s << kDescription;
  s << ".SH GLOBAL OPTIONS\n";
  for (const auto& o : root.options) put_option(s, o);
  s << ".SH COMMANDS\n";
  for (const auto& c : root.subcommands) put_command(s, root, c);
  // Environment: every option whose help names its variable ("(env ACMECTL_X)").
  s << ".SH ENVIRONMENT\n";
  static const std::regex kEnv("env (ACMECTL_[A-Z0-9_]+)");
  std::set<std::string> seen;
  for (const auto& o : root.options) {
    std::smatch m;
    if (!std::regex_search(o.description, m, kEnv) || !seen.insert(m[1]).second) continue;
    s << ".TP\n.B " << m[1].str() << "\nDefault for " << bold_name(o.names.back()) << ".\n";
  }
  s << kOtherEnvironment << kTrailer;
  return s.str();
}

std::string config_man_page() {
  std::ostringstream s;
  s << ".\\\" Generated by `acmectl __man 5`: do not edit.\n"
    << ".TH ACMECTL.TOML 5 \"\" \"acmectl " << ACMECTL_VERSION << "\" \"File Formats\"\n";
  s << R"(.SH NAME
acmectl.toml \- configuration file of acmectl
.SH SYNOPSIS
.I /etc/acmectl/acmectl.toml
(or \fB\-\-config\fR \fIFILE\fR, \fBACMECTL_CONFIG\fR)
.SH DESCRIPTION
The agent and every command of
.BR acmectl (1)
read this TOML file when it exists or is named. Every command-line option has a config
spelling (\fB\-\-dns\-resolver\fR is \fBdns_resolver\fR, and so on); the command line
wins. An unknown key is an error that names the file, line and key; the agent then exits 2.
A SIGHUP makes the running agent read the file again.
.SH TOP LEVEL
.TP
.B state_dir
The state directory (\fB\-\-state\-dir\fR): the SQLite database and account keys.
.SH [acme]
.TP
.B server
ACME directory URL, or \fBletsencrypt\fR (default) or \fBletsencrypt\-staging\fR.
.TP
.B ca_bundle
Extra trusted roots (PEM file) for the ACME server's TLS.
.TP
.B email
Account contact.
.TP
.B agree_tos
\fBtrue\fR: agree to the CA's terms of service.
.TP
.B eab_kid\fR, \fBeab_hmac_key_file\fR, \fBeab_alg
External Account Binding: key id, a file holding the base64url MAC key, and
HS256 (default), HS384 or HS512.
.TP
.B profile
The certificate profile to ask the CA for.
.TP
.B fallback_after_failures
Server errors (5xx, serverInternal) in a row before a CA rests and orders go to the
next CA, 1 to 100 (default 3); an unreachable or rate-limited CA rests at once.
.TP
.B fallback_retry_seconds
How long a failed CA rests before an order tries it again (default 600).
.TP
.B return_to_primary
\fBtrue\fR (default): once the primary works again, orders go back to it;
\fBfalse\fR: a certificate stays with the CA that issued it while that CA works.
.SH [[acme.fallback]]
A CA to fall over to when the primary fails as a CA (never for a failed validation);
repeatable, tried in order, each with its own account. Keys: \fBserver\fR (required),
\fBca_bundle\fR, \fBemail\fR (default: the primary's), \fBeab_kid\fR,
\fBeab_hmac_key_file\fR, \fBeab_alg\fR, \fBprofile\fR.
.SH [agent]
.TP
.B metrics_listen
Address of \fI/metrics\fR and \fI/healthz\fR (default 127.0.0.1:9469; \fBoff\fR: none).
.TP
.B http01_listen
Address of the built-in HTTP-01 responder shared by every http-01 certificate
(default :80).
.TP
.B tls_alpn_listen
Address of the built-in TLS-ALPN-01 listener (RFC 8737) shared by every
tls\-alpn\-01 certificate (default :443).
.TP
.B renew_before_days
Renewal window in days, 1 to 365 (default 30), capped by the certificate's lifetime.
.TP
.B concurrency
Renewals at once, 1 to 64 (default 4).
.TP
.B post_hook
Command run once after any renewal in a pass (\fBACMECTL_RENEWED_NAMES\fR,
\fBACMECTL_FAILED_NAMES\fR).
.TP
.B check_interval_seconds
Each certificate is examined at least this often (default 3600).
.TP
.B hook_timeout_seconds
A hook running longer is stopped (default 300).
.SH [store]
A fleet: several agents share one PostgreSQL store (see \fIdocs/fleet.md\fR).
.TP
.B url
\fBpostgresql://USER@HOST:PORT/DB\fR; never a password.
.TP
.B password_file
A file holding the database password (else libpq's \fBPGPASSFILE\fR).
.TP
.B kek_file
The key-encryption key (64 hex digits, mode 0600, the same on every host).
.TP
.B agent_id
This host's name in leases and installs (default: the host name).
.TP
.B lease_seconds
How long a renewal lease holds before another agent may take over (default 300).
.TP
.B poll_seconds
Fallback check for newer versions when a notification is missed (default 60).
.SH [defaults] AND [[certificate]]
Each \fB[[certificate]]\fR table is one certificate the agent keeps; \fB[defaults]\fR
gives any of its keys (except \fBname\fR and \fBdomains\fR) to every certificate that does
not set it.
.TP
.B name
The certificate's name (default: the first name, \fB*.\fR written as \fB_wildcard.\fR).
.TP
.B domains
The names (an array; the first is the subject); IP addresses are identifiers too.
.TP
.B key_type
\fBec256\fR (default), \fBec384\fR, \fBrsa2048\fR, \fBrsa3072\fR or \fBrsa4096\fR.
.TP
.B out
Output directory; files go to \fIOUT/NAME/\fR (default \fISTATE/live\fR).
.TP
.B deploy_hook
Command run after this certificate's files were installed.
.TP
.B server
This certificate's CA, overriding \fB[acme] server\fR.
.TP
.B preferred_chain
\fBshortest\fR (the offered chain with the fewest bytes), or pick the alternate chain
whose top issuer contains this text.
.TP
.B reuse_key
\fBtrue\fR: renewals keep the installed private key (for DANE/TLSA pins).
.TP
.B persist_until
dns\-persist\-01 (experimental): when the published record's persistUntil passes (unix
seconds or \fB"YYYY-MM-DD"\fR); exported as \fBacmectl_dns_persist_until_timestamp_seconds\fR.
.TP
.B csr_file
A CSR (PEM or DER) to finalize every order with: the names come from it
(\fBdomains\fR optional, must match), no private key is written.
.TP
.B pkcs12
\fBtrue\fR: also write \fIcertificate.p12\fR (PKCS#12, key and chain, 0600) with the PEM files.
.TP
.B pkcs12_password_file
File whose first line is the PKCS#12 password (default: an empty password).
.TP
.B renew_before_days
This certificate's renewal window.
.TP
.B challenge
\fBhttp\-01\fR (default), \fBdns\-01\fR, \fBtls\-alpn\-01\fR or \fBdns\-persist\-01\fR (experimental).
.TP
.B http01_listen
This certificate's own HTTP-01 responder address.
.TP
.B tls_alpn_listen
This certificate's own TLS-ALPN-01 listener address.
.TP
.B webroot
Write HTTP-01 responses under this directory instead.
.TP
.B dns_provider
DNS-01 provider: \fBrfc2136\fR or \fBexec\fR.
.TP
.B dns_exec
Program run as \fIPATH\fR \fBpresent\fR|\fBcleanup\fR \fIFQDN VALUE\fR.
.TP
.B rfc2136_server\fR, \fBrfc2136_tsig_name\fR, \fBrfc2136_tsig_secret\fR, \fBrfc2136_tsig_secret_file\fR, \fBrfc2136_tsig_algorithm
RFC 2136 UPDATE server (ADDR:PORT), TSIG key name, secret (base64; better from a file
readable by acmectl only) and algorithm (\fBhmac\-sha256\fR default, \fBhmac\-sha512\fR,
\fBhmac\-sha1\fR).
.TP
.B dns_resolver\fR (or \fBdns_resolvers\fR)
Where propagation is checked, ADDR:PORT (a string or an array; default: the zone's
authoritative servers).
.TP
.B propagation_timeout\fR, \fBpropagation_interval
Seconds to wait for DNS propagation (default 120), and between two checks (default 2).
.TP
.B verify_endpoints
After an install and its deploy hook, each \fIHOST:PORT\fR of this array must serve the
installed certificate (TLS; SNI is the first name, none for an IP address); else an event,
a warning and \fBacmectl_certificate_served\fR 0.
.TP
.B verify_timeout
Seconds the served serial may lag the install (1 to 600, default 30).
.TP
.B rollback_on_serve_failure
\fBtrue\fR: a renewal whose certificate is not served is rolled back (as
\fBacmectl rollback\fR) and counted as a failure.
.SH [notify]
Failures, recoveries, a certificate near expiry and a served-certificate mismatch, for
people (delivered in the background; a failing receiver never fails a renewal).
.TP
.B webhook
An \fBhttp://\fR or \fBhttps://\fR URL that gets a JSON POST (with a Slack-style
\fBtext\fR field).
.TP
.B command
Run with \fBACMECTL_NOTIFY_EVENT\fR, \fBACMECTL_CERT_NAME\fR, \fBACMECTL_ERROR\fR, ...
and the same JSON on stdin.
.TP
.B expiry_fraction
Notify (once per certificate version) when less than this part of the lifetime is left
(default 0.2).
.TP
.B timeout\fR, \fBretries
Seconds per attempt (default 10) and further attempts after a failed one (default 2).
.SH [gen.NAME]
Options of \fBacmectl gen NAME\fR, spelled like its flags with \fB_\fR for \fB\-\fR
(\fBhsts_max_age\fR for \fB\-\-hsts\-max\-age\fR); an array stands for a repeated flag.
.SH EXAMPLE
.nf
state_dir = "/var/lib/acmectl"

[acme]
server = "https://acme\-v02.api.letsencrypt.org/directory"
email = "ops@example.com"
agree_tos = true

[agent]
metrics_listen = "127.0.0.1:9469"
http01_listen = "127.0.0.1:8402"
renew_before_days = 30
post_hook = "systemctl reload nginx"

[defaults]
out = "/etc/acmectl/live"
key_type = "ec256"

[[certificate]]
name = "example"
domains = ["example.com", "www.example.com"]
deploy_hook = "/usr/share/acmectl/hooks/reload\-nginx.sh"

[[certificate]]
name = "wildcard"
domains = ["*.example.com", "example.com"]
challenge = "dns\-01"
dns_provider = "rfc2136"
rfc2136_server = "127.0.0.1:53"
rfc2136_tsig_name = "acme\-key"
rfc2136_tsig_secret_file = "/etc/acmectl/tsig.secret"
.fi
.SH SEE ALSO
.BR acmectl (1)
)";
  return s.str();
}

}  // namespace agent::cli
