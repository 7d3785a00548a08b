#!/usr/bin/env bash
# `acmectl gen systemd`: the application's unit passes `systemd-analyze verify` and
# `systemd-analyze security --offline=true --threshold=20` (exposure <= 2.0) in its
# variants; `--agent` reproduces the shipped systemd/ units byte for byte (so they
# cannot drift apart) and `--out-dir` writes all three.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"
command -v systemd-analyze >/dev/null || fail "systemd-analyze not installed (scripts/deps.sh installs systemd)"

# A program for ExecStart= (verify requires it to exist).
app=$TMP/bin/api
mkdir -p "$TMP/bin"
printf '#!/bin/sh\nexec sleep 1\n' >"$app"
chmod 755 "$app"

# analyze UNIT_FILE: verify without errors or warnings, and exposure <= 2.0.
analyze() {
  local f=$1 out
  out=$(cd "$(dirname "$f")" && systemd-analyze verify --man=no "$f" 2>&1) ||
    fail "systemd-analyze verify $(basename "$f") failed: $out"
  [[ -z "$out" ]] || fail "systemd-analyze verify $(basename "$f") warned: $out"
  out=$(systemd-analyze security --offline=true --threshold=20 --man=no "$f" 2>&1) ||
    fail "$(basename "$f"): exposure above 2.0: $(tail -n 3 <<<"$out")"
  log "$(basename "$f"): $(grep -i 'overall exposure' <<<"$out" || true)"
}

d=$TMP/app1
mkdir -p "$d"
expect_rc 0 gen systemd --name api --exec "$app --port 8080" --out "$d/api.service"
analyze "$d/api.service"
for line in 'DynamicUser=yes' "ExecStart=$app --port 8080" 'Restart=always' \
  'Environment="GIN_MODE=release"' 'WorkingDirectory=/var/lib/api' 'WantedBy=multi-user.target'; do
  grep -qxF "$line" "$d/api.service" || fail "api.service lacks '$line'"
done
ok "app unit (defaults): verify clean, exposure <= 2.0, the guide's settings present"

d=$TMP/app2
mkdir -p "$d"
expect_rc 0 gen systemd --name shop-api --exec "$app" --user www-data --workdir /srv/shop \
  --env PORT=8080 --env 'DATABASE_URL=postgres://shop@127.0.0.1/shop?sslmode=disable' \
  --env GIN_MODE=debug --read-write-path /srv/shop/uploads --bind-low-port
mv "$OUT_FILE" "$d/shop-api.service"
analyze "$d/shop-api.service"
grep -qxF 'User=www-data' "$d/shop-api.service" || fail "no User=www-data"
grep -qxF 'Environment="GIN_MODE=debug"' "$d/shop-api.service" || fail "--env GIN_MODE did not replace the default"
ok "app unit (user, env, low port, rw path): verify clean, exposure <= 2.0"

# The agent's units equal the shipped ones.
src="$(cd "$(dirname "$0")/../../systemd" && pwd)"
for u in acmectl-agent.service acmectl-renew.service acmectl-renew.timer; do
  expect_rc 0 gen systemd --agent --unit "$u"
  diff -u "$src/$u" "$OUT_FILE" >"$TMP/diff" || fail "gen systemd --agent --unit $u differs from systemd/$u: $(cat "$TMP/diff")"
done
expect_rc 0 gen systemd --agent
diff -q "$src/acmectl-agent.service" "$OUT_FILE" >/dev/null || fail "gen systemd --agent is not the agent service"
ok "gen systemd --agent reproduces systemd/ byte for byte"

d=$TMP/agent
mkdir -p "$d"
expect_rc 0 gen systemd --agent --acmectl "$ACMECTL" --agent-config /etc/acmectl/site.toml --out-dir "$d"
for u in acmectl-agent.service acmectl-renew.service acmectl-renew.timer; do assert_file "$d/$u"; done
grep -qxF "ExecStart=$ACMECTL agent --config /etc/acmectl/site.toml" "$d/acmectl-agent.service" ||
  fail "--acmectl/--agent-config not in ExecStart"
for u in acmectl-agent.service acmectl-renew.service; do analyze "$d/$u"; done
out=$(cd "$d" && systemd-analyze verify --man=no "$d/acmectl-renew.timer" 2>&1) || fail "timer: $out"
ok "gen systemd --agent --out-dir: three units, verify clean, services exposure <= 2.0"

expect_rc 2 gen systemd --agent --name api
expect_rc 2 gen systemd --name api
grep -q 'give --name APP --exec PATH' "$ERR_FILE" || fail "missing --exec not explained: $(cat "$ERR_FILE")"
expect_rc 2 gen systemd --name api --exec "$app" --out-dir "$TMP/nope"
assert_absent "$TMP/nope"
ok "contradicting or missing options: exit 2"
