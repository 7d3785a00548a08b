#!/usr/bin/env bash
# The shipped systemd units (systemd/): `systemd-analyze verify` passes on
# copies whose ExecStart names the built binary; the agent's hardening passes
# `systemd-analyze security --offline=true --threshold=20`; and what verify
# does not check: the timer's Unit= names a shipped oneshot service, WantedBy=
# targets are the right, existing ones, the agent is Type=notify.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

command -v systemd-analyze >/dev/null || fail "systemd-analyze not installed (scripts/deps.sh installs systemd)"
src="$(cd "$(dirname "$0")/../../systemd" && pwd)"
units=$TMP/units
mkdir -p "$units"
for f in "$src"/*.service "$src"/*.timer; do
  sed -E "s|^ExecStart=/usr/bin/acmectl( \|$)|ExecStart=$ACMECTL\\1|" "$f" >"$units/$(basename "$f")"
done
for f in acmectl-agent.service acmectl-renew.service acmectl-renew.timer; do
  assert_file "$units/$f"
done
grep -q "^ExecStart=$ACMECTL agent" "$units/acmectl-agent.service" || fail "ExecStart of the agent not rewritten"
grep -q "^ExecStart=$ACMECTL renew" "$units/acmectl-renew.service" || fail "ExecStart of renew not rewritten"

# key FILE KEY: the values of KEY= in FILE, one a line.
key() { sed -n -E "s/^$2=(.*)$/\\1/p" "$1"; }

for f in "$units"/*; do
  out=$(cd "$units" && systemd-analyze verify --man=no "$f" 2>&1) ||
    fail "systemd-analyze verify $(basename "$f") failed: $out"
  [[ -z "$out" ]] || fail "systemd-analyze verify $(basename "$f") printed warnings: $out"
done
ok "systemd-analyze verify: no errors, no warnings"

out=$(systemd-analyze security --offline=true --threshold=20 --man=no \
  "$units/acmectl-agent.service" 2>&1) || fail "agent unit exposure above 2.0: $(tail -n 3 <<<"$out")"
log "agent: $(grep -i 'overall exposure' <<<"$out" || true)"
out=$(systemd-analyze security --offline=true --threshold=20 --man=no \
  "$units/acmectl-renew.service" 2>&1) || fail "renew unit exposure above 2.0: $(tail -n 3 <<<"$out")"
log "renew: $(grep -i 'overall exposure' <<<"$out" || true)"
ok "systemd-analyze security --threshold=20 passes for both services"

# What verify misses.
timer_unit=$(key "$units/acmectl-renew.timer" Unit)
assert_eq "$timer_unit" acmectl-renew.service "the timer's Unit="
[[ -f "$src/$timer_unit" ]] || fail "the timer's Unit=$timer_unit is not shipped in systemd/"
assert_eq "$(key "$units/$timer_unit" Type)" oneshot "Type of $timer_unit"
[[ -n "$(key "$units/acmectl-renew.timer" OnCalendar)" ]] || fail "the timer has no OnCalendar="
[[ -n "$(key "$units/acmectl-renew.timer" RandomizedDelaySec)" ]] || fail "the timer has no RandomizedDelaySec="
assert_eq "$(key "$units/acmectl-renew.timer" WantedBy)" timers.target "the timer's WantedBy="
assert_eq "$(key "$units/acmectl-agent.service" WantedBy)" multi-user.target "the agent's WantedBy="
assert_eq "$(key "$units/acmectl-agent.service" Type)" notify "the agent's Type="
[[ -z "$(key "$units/acmectl-renew.service" WantedBy)" ]] ||
  fail "acmectl-renew.service has WantedBy= (the timer starts it)"
for t in timers.target multi-user.target; do
  [[ -f "/usr/lib/systemd/system/$t" || -f "/lib/systemd/system/$t" ]] ||
    fail "target $t does not exist on this system"
done
# Two runs a day.
cal=$(key "$units/acmectl-renew.timer" OnCalendar)
n=$(systemd-analyze calendar --iterations=3 "$cal" 2>/dev/null | grep -c 'Next elapse\|Iter' || true)
((n >= 2)) || fail "OnCalendar=$cal does not parse as a calendar spec"
ok "timer: Unit= names the shipped oneshot service, WantedBy=timers.target; agent: Type=notify, WantedBy=multi-user.target"
