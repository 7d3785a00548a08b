#!/usr/bin/env bash
# A DNS-01 exec hook for the tests: acmectl runs it as
#   dns01_challtestsrv_hook.sh present|cleanup FQDN VALUE
# and it sets or clears the TXT record in pebble-challtestsrv's mock DNS through
# its management API (CHALLTESTSRV_MGMT_URL, from pebble_fixture.sh's env).
# /clear-txt clears every value of the name: fine for tests, where the values
# of one name are cleaned up together.
#
# Test knobs: DNS01_HOOK_LOG=FILE appends one line per call ("ACTION FQDN VALUE");
# DNS01_HOOK_FAIL=present|cleanup makes that action print a message on stderr
# and exit 1.
set -euo pipefail

action=${1:-} fqdn=${2:-} value=${3:-}
if [[ -z "$action" || -z "$fqdn" || -z "$value" || $# -ne 3 ]]; then
  echo "usage: $0 present|cleanup FQDN VALUE" >&2
  exit 2
fi
[[ -n "${CHALLTESTSRV_MGMT_URL:-}" ]] || {
  echo "CHALLTESTSRV_MGMT_URL is not set" >&2
  exit 2
}
if [[ -n "${DNS01_HOOK_LOG:-}" ]]; then
  printf '%s %s %s\n' "$action" "$fqdn" "$value" >>"$DNS01_HOOK_LOG"
fi
if [[ "${DNS01_HOOK_FAIL:-}" == "$action" ]]; then
  echo "some output first" >&2
  echo "challtestsrv hook: $action refused on purpose for $fqdn" >&2
  exit 1
fi
# The values are base64url and the name is LDH: safe inside the JSON string.
case $action in
  present)
    curl -sf --max-time 5 -X POST -d "{\"host\":\"$fqdn\",\"value\":\"$value\"}" \
      "$CHALLTESTSRV_MGMT_URL/set-txt" >/dev/null
    ;;
  cleanup)
    curl -sf --max-time 5 -X POST -d "{\"host\":\"$fqdn\"}" \
      "$CHALLTESTSRV_MGMT_URL/clear-txt" >/dev/null
    ;;
  *)
    echo "unknown action '$action' (present or cleanup)" >&2
    exit 2
    ;;
esac
