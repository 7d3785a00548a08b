#!/usr/bin/env bash
# The agent's HTML status page (GET / on its metrics listener) in a real browser:
# headless Chromium loads it from a running agent whose certificates come from the
# shared Pebble; the rendered DOM has one row per certificate with its status, an
# expired certificate is marked EXPIRED (and listed first), every row has its SVG
# timeline, a screenshot is taken; the page loads nothing from elsewhere, runs no script.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

CHROMIUM=$(command -v chromium || true)
[[ -n "$CHROMIUM" ]] || fail "chromium not installed (scripts/deps.sh installs it)"

read -r METRICS_PORT < <(free_ports 1)
URL="http://127.0.0.1:$METRICS_PORT/"
cat >"$TMP/agent.toml" <<TOML
state_dir = "$TMP/state"

[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "test@example.com"
agree_tos = true

[agent]
metrics_listen = "127.0.0.1:$METRICS_PORT"
http01_listen = "127.0.0.1:$PEBBLE_HTTP_PORT"
check_interval_seconds = 3600

[[certificate]]
name = "web"
domains = ["web.status.acmectl.test", "www.status.acmectl.test"]

[[certificate]]
name = "old"
domains = ["old.status.acmectl.test"]
TOML

"$ACMECTL" agent --config "$TMP/agent.toml" </dev/null >>"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
_LIB_PIDS+=("$AGENT_PID")
wait_port "$METRICS_PORT" "$AGENT_PID" 15 || {
  cat "$TMP/agent.log" >&2
  fail "the agent did not listen on 127.0.0.1:$METRICS_PORT"
}

issued() { sqlite3 "$TMP/state/acmectl.db" "select count(*) from certificates where not_after > 0" 2>/dev/null || echo 0; }
deadline=$((SECONDS + 45))
until (($(issued) == 2)); do
  if ((SECONDS >= deadline)); then
    cat "$TMP/agent.log" >&2
    fail "the agent did not issue both certificates in 45 s"
  fi
  sleep 0.5
done
ok "the agent issued web and old"

# 'old' lived 90 days and expired yesterday (the agent looks again only in an hour:
# check_interval).
sqlite3 "$TMP/state/acmectl.db" \
  "update certificates set not_before=$(($(date +%s) - 91 * 86400)), not_after=$(($(date +%s) - 86400)) where name='old'"

curl -fsS -D "$TMP/headers" -o "$TMP/page.html" "$URL" || fail "GET / failed"
grep -qi '^content-type: text/html' "$TMP/headers" || fail "GET / is not text/html"
grep -qi "^content-security-policy: default-src 'none'" "$TMP/headers" ||
  fail "no Content-Security-Policy forbidding external loads"
if grep -qiE '<script|src="http|href="http' "$TMP/page.html"; then
  fail "the page has a script or an external reference"
fi
ok "GET /: HTML, no script, nothing external, CSP default-src 'none'"

export HOME=$TMP/home
mkdir -p "$HOME"
# shellcheck disable=SC2054 # --window-size takes W,H
browser=("$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage
  --no-first-run --user-data-dir="$TMP/chromium" --window-size=1280,800)
timeout 60 "${browser[@]}" --dump-dom "$URL" >"$TMP/dom.html" 2>"$TMP/chromium.err" ||
  fail "chromium --dump-dom failed: $(tail -5 "$TMP/chromium.err")"
python3 - "$TMP/dom.html" <<'PY' || fail "the DOM is not as expected"
import sys
from html.parser import HTMLParser

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.cur = {}, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "cert" in (a.get("class") or "").split():
            self.cur = a["data-name"]
            self.rows[self.cur] = {"status": a.get("data-status"), "text": "", "svg": False}
        if tag == "svg" and self.cur:
            self.rows[self.cur]["svg"] = True
    def handle_endtag(self, tag):
        if tag == "tr":
            self.cur = None
    def handle_data(self, data):
        if self.cur:
            self.rows[self.cur]["text"] += data + " "

p = P()
p.feed(open(sys.argv[1]).read())
problems = []
if sorted(p.rows) != ["old", "web"]:
    problems.append(f"rows {sorted(p.rows)}")
web, old = p.rows.get("web", {}), p.rows.get("old", {})
if old.get("status") != "expired" or "EXPIRED" not in old.get("text", ""):
    problems.append(f"old is not marked EXPIRED: {old}")
if "now (expired)" not in old.get("text", ""):
    problems.append("old's next renewal does not say now (expired)")
if web.get("status") != "valid" or "www.status.acmectl.test" not in web.get("text", ""):
    problems.append(f"web row: {web}")
if "Pebble" not in web.get("text", ""):
    problems.append("web row does not name its issuer")
if not all(r["svg"] for r in p.rows.values()):
    problems.append("a row without its timeline")
if list(p.rows) != ["old", "web"]:
    problems.append(f"problems are not first: {list(p.rows)}")
for x in problems:
    print(x, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
ok "chromium's DOM: old (EXPIRED, first) and web (valid, issuer, names), each with a timeline"

timeout 60 "${browser[@]}" --screenshot="$TMP/status.png" "$URL" >/dev/null 2>>"$TMP/chromium.err" ||
  fail "chromium --screenshot failed: $(tail -5 "$TMP/chromium.err")"
[[ -s "$TMP/status.png" ]] || fail "no screenshot"
[[ "$(head -c 4 "$TMP/status.png" | tail -c 3)" == PNG ]] || fail "the screenshot is not a PNG"
(($(stat -c %s "$TMP/status.png") > 10000)) || fail "the screenshot is suspiciously small"
if [[ -n "${STATUS_PAGE_SCREENSHOT:-}" ]]; then cp "$TMP/status.png" "$STATUS_PAGE_SCREENSHOT"; fi
ok "screenshot taken ($(stat -c %s "$TMP/status.png") bytes)"
stop_pid "$AGENT_PID"
