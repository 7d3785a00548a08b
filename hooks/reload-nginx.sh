#!/bin/sh
# acmectl deploy hook: reload nginx after a certificate was installed, but only when the
# configuration (with the new files) passes `nginx -t`; otherwise leave the running nginx
# alone and fail, so acmectl records the hook failure and retries it.
#
# Environment from acmectl: ACMECTL_CERT_NAME, ACMECTL_FULLCHAIN_PATH, ACMECTL_KEY_PATH, ...
# Optional: NGINX (binary, default nginx), NGINX_ARGS (e.g. "-p /srv/nginx -c conf/nginx.conf").
set -eu

# nginx managed by systemd (and no private nginx named by NGINX_ARGS): systemd reloads
# it. This also works from the sandboxed acmectl-agent.service, where `nginx -t` cannot
# open nginx's pid and log files (ProtectSystem=strict). nginx itself refuses a broken
# configuration at reload and keeps serving the previous certificate.
if [ -z "${NGINX_ARGS:-}" ] && command -v systemctl >/dev/null 2>&1 &&
  systemctl is-active --quiet nginx.service 2>/dev/null; then
  if ! out=$(systemctl reload nginx.service 2>&1); then
    # As the package's user acmectl, polkit decides; say what is missing.
    if [ "$(id -u)" != 0 ]; then
      echo "reload-nginx: systemctl reload nginx.service was refused for user $(id -un): $out" \
        "(install polkitd: the acmectl package's rule in /usr/share/polkit-1/rules.d allows" \
        "it; see docs/hooks.md)" | tr '\n' ' ' >&2
      echo >&2
    else
      echo "reload-nginx: systemctl reload nginx.service failed: $out" | tr '\n' ' ' >&2
      echo >&2
    fi
    exit 1
  fi
  echo "reload-nginx: reloaded nginx.service for ${ACMECTL_CERT_NAME:-certificate}"
  exit 0
fi

nginx_bin=${NGINX:-nginx}
# shellcheck disable=SC2086 # NGINX_ARGS is a list of arguments on purpose
if ! out=$("$nginx_bin" ${NGINX_ARGS:-} -t -q 2>&1); then
  echo "reload-nginx: nginx -t failed, not reloading: $out" >&2
  exit 1
fi
# shellcheck disable=SC2086
"$nginx_bin" ${NGINX_ARGS:-} -s reload
echo "reload-nginx: reloaded for ${ACMECTL_CERT_NAME:-certificate}"
