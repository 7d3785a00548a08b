#!/usr/bin/env bash
# Bad input to `acmectl gen`: one-line usage error naming the problem, exit 2, and
# the --out file neither created nor touched (an existing one keeps its bytes).
# Each generator's own test refuses more of its options the same way.
# Also `acmectl gen` alone lists every generator.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

expect_rc 0 gen
for g in nginx systemd dockerfile compose ci alerts; do
  grep -qE "^  $g +[A-Za-z]" "$OUT_FILE" || fail "'acmectl gen' does not list $g: $(cat "$OUT_FILE")"
done
ok "acmectl gen lists the six generators"

# bad EXPECTED_TEXT GENERATOR ARGS...: refused (tests/support/lib.sh expect_gen_refused).
bad() {
  local want=$1 gen=$2
  shift 2
  expect_gen_refused "$gen" "$want" "$@"
}

up=(--upstream 127.0.0.1:8080)
bad "-d 'exa mple.com'" nginx -d 'exa mple.com' "${up[@]}"
bad "-d 'ex..ample.com'" nginx -d 'ex..ample.com' "${up[@]}"
bad "--upstream '127.0.0.1'" nginx -d example.com --upstream 127.0.0.1
bad "--upstream '127.0.0.1:99999'" nginx -d example.com --upstream 127.0.0.1:99999
bad "--upstream 'bad host:80'" nginx -d example.com --upstream 'bad host:80'
bad "expected PATH=HOST:PORT" nginx -d example.com "${up[@]}" --route /api
bad "--route path 'api'" nginx -d example.com "${up[@]}" --route api=127.0.0.1:1
bad "--acme-proxy" nginx -d example.com "${up[@]}" --acme-proxy 127.0.0.1:1 --webroot /var/www
bad "--hsts-preload" nginx -d example.com "${up[@]}" --hsts-preload
bad "--no-hsts" nginx -d example.com "${up[@]}" --no-hsts --hsts-max-age 5
bad "credentials" nginx -d example.com "${up[@]}" --cors-origin '*' --cors-credentials
bad "--static-path and --static-root go together" nginx -d example.com "${up[@]}" --static-path /s/
bad "--balance" nginx -d example.com "${up[@]}" --balance random
bad "give at least one -d" nginx "${up[@]}"
bad "--upstream" nginx -d example.com
bad "--exec" systemd --name api --exec relative/api
bad "--name" systemd --name 'my api' --exec /usr/bin/true
bad "--env" systemd --name api --exec /usr/bin/true --env NOVALUE
bad "--binary" dockerfile
bad "--port" dockerfile --binary api --port 0
bad "-d" compose -d 'bad..name'
bad "--image" ci --image 'bad image'
bad "--no-such-option" nginx -d example.com "${up[@]}" --no-such-option
