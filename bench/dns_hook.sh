#!/bin/sh
# DNS-01 hook for bench/compare.sh: sets and clears TXT records in
# pebble-challtestsrv (CHALLTESTSRV_MGMT_URL) for every client's hook contract.
#
#   dns_hook.sh present|cleanup FQDN VALUE           acmectl --dns-exec, lego EXEC_PATH
#   dns_hook.sh begin|done|failed TYPE IDENT TOKEN AUTH   uacme -h
#   dns_hook.sh deploy_challenge|clean_challenge DOMAIN TOKENFILE VALUE  dehydrated HOOK
#   dns_hook.sh certbot-auth|certbot-cleanup          certbot (CERTBOT_DOMAIN, CERTBOT_VALIDATION)
#
# Any other dehydrated event is accepted and ignored. POSIX sh and one curl
# per record, so that the hook costs every client the same.
set -eu
: "${CHALLTESTSRV_MGMT_URL:?}"

set_txt() {
  curl -sf --max-time 5 -X POST -d "{\"host\":\"$1\",\"value\":\"$2\"}" \
    "$CHALLTESTSRV_MGMT_URL/set-txt" >/dev/null
}
clear_txt() {
  curl -sf --max-time 5 -X POST -d "{\"host\":\"$1\"}" "$CHALLTESTSRV_MGMT_URL/clear-txt" >/dev/null
}
# fqdn NAME: the challenge record's name, with the trailing dot.
fqdn() { echo "_acme-challenge.${1%.}."; }

case ${1:-} in
  present) set_txt "$2" "$3" ;;
  cleanup) clear_txt "$2" ;;
  begin)
    [ "$2" = dns-01 ] || exit 1
    set_txt "$(fqdn "$3")" "$5"
    ;;
  done | failed)
    [ "$2" = dns-01 ] || exit 1
    clear_txt "$(fqdn "$3")"
    ;;
  deploy_challenge) set_txt "$(fqdn "$2")" "$4" ;;
  clean_challenge) clear_txt "$(fqdn "$2")" ;;
  certbot-auth) set_txt "$(fqdn "$CERTBOT_DOMAIN")" "$CERTBOT_VALIDATION" ;;
  certbot-cleanup) clear_txt "$(fqdn "$CERTBOT_DOMAIN")" ;;
  *) exit 0 ;;
esac
