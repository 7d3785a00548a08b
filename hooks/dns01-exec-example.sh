#!/bin/sh
# Example DNS-01 hook for acmectl's exec provider:
#
#   acmectl issue --challenge dns-01 --dns-provider exec \
#     --dns-exec /usr/share/acmectl/hooks/dns01-exec-example.sh -d '*.example.com' ...
#
# The contract (docs/dns-01.md):
#   - acmectl runs   HOOK present FQDN VALUE   and later   HOOK cleanup FQDN VALUE
#     directly, without a shell. FQDN is absolute (trailing dot), e.g.
#     _acme-challenge.example.com. (or where its CNAME chain ends); VALUE is the
#     43-character base64url TXT value (RFC 8555 §8.4). The same values are in
#     ACMECTL_DNS01_ACTION, ACMECTL_DNS01_FQDN and ACMECTL_DNS01_VALUE.
#   - present MUST add VALUE to the TXT records of FQDN and keep the others (a
#     wildcard and its apex put two values under one name); cleanup MUST
#     remove that one value only.
#   - Exit 0 on success. Anything else fails the issuance; the last line the
#     hook wrote to stderr becomes part of acmectl's error. stdout is ignored.
#   - The hook is stopped (its process group) after 60 seconds.
#   - Return once the primary server has the change: acmectl itself then waits
#     until every authoritative server answers with the value.
#
# This example sends an RFC 2136 UPDATE with nsupdate (bind9-dnsutils) and a
# TSIG key file as written by `tsig-keygen NAME`. Configure it with environment
# variables (e.g. Environment= in the agent's systemd unit):
#   DNS01_NSUPDATE_KEYFILE  the key file (required)
#   DNS01_NSUPDATE_SERVER   primary server address (default 127.0.0.1)
#   DNS01_NSUPDATE_PORT     its port (default 53)
#   DNS01_NSUPDATE_TTL      TTL of the TXT record (default 60)
# (acmectl's built-in `--dns-provider rfc2136` does the same without a hook.)
set -eu

if [ "$#" -ne 3 ]; then
  echo "usage: $0 present|cleanup FQDN VALUE" >&2
  exit 2
fi
action=$1 fqdn=$2 value=$3
keyfile=${DNS01_NSUPDATE_KEYFILE:?set DNS01_NSUPDATE_KEYFILE to a TSIG key file}
server=${DNS01_NSUPDATE_SERVER:-127.0.0.1}
port=${DNS01_NSUPDATE_PORT:-53}
ttl=${DNS01_NSUPDATE_TTL:-60}

# Refuse anything that could smuggle a second nsupdate command into the input.
case $fqdn in
  *[!A-Za-z0-9._-]* | '') echo "refusing FQDN '$fqdn'" >&2; exit 2 ;;
esac
case $value in
  *[!A-Za-z0-9_-]* | '') echo "refusing VALUE '$value'" >&2; exit 2 ;;
esac

case $action in
  present) change="update add $fqdn $ttl IN TXT \"$value\"" ;;
  cleanup) change="update delete $fqdn IN TXT \"$value\"" ;;
  *) echo "unknown action '$action' (present or cleanup)" >&2; exit 2 ;;
esac

# nsupdate finds the zone by asking the server for the SOA; its errors go to
# stderr, where acmectl picks up the last line.
printf 'server %s %s\n%s\nsend\n' "$server" "$port" "$change" | nsupdate -k "$keyfile"
