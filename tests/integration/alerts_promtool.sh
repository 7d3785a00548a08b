#!/usr/bin/env bash
# `acmectl gen alerts` output passes the real `promtool check rules`, and the
# unit tests in tests/prometheus/acmectl_alerts_test.yml (run by the real
# `promtool test rules`) show each alert firing and not firing on the right
# synthetic series. Also: --out writes the same text as stdout, the options
# reach the rules, and bad options are refused.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

command -v promtool >/dev/null || fail "promtool not installed (scripts/deps.sh installs prometheus)"
TEST_YML="$(cd "$(dirname "$0")/../prometheus" && pwd)/acmectl_alerts_test.yml"
assert_file "$TEST_YML"

# promtool resolves rule_files relative to the test file: both go in one dir.
work="$TMP/rules"
mkdir -p "$work"
expect_rc 0 gen alerts --out "$work/acmectl_alerts.yml"
assert_file "$work/acmectl_alerts.yml"
expect_rc 0 gen alerts
cmp -s "$OUT_FILE" "$work/acmectl_alerts.yml" || fail "gen alerts: stdout and --out differ"
ok "gen alerts --out writes the rules"

out=$(promtool check rules "$work/acmectl_alerts.yml" 2>&1) ||
  fail "promtool check rules failed: $out"
assert_match "$out" "SUCCESS: 8 rules found" "promtool check rules"
ok "promtool check rules: 8 rules"

for alert in AcmectlCertificateExpiringSoon AcmectlCertificateExpiryCritical \
  AcmectlRenewalFailing AcmectlHookFailing AcmectlAgentDown AcmectlMetricsAbsent \
  AcmectlSchedulerStalled AcmectlCertificateNotServed; do
  grep -q "alert: $alert\$" "$work/acmectl_alerts.yml" || fail "rule $alert missing"
  grep -q "alertname: $alert\$" "$TEST_YML" || fail "no promtool test for $alert"
done
n=$(grep -c '^ *runbook: ' "$work/acmectl_alerts.yml")
assert_eq "$n" 8 "rules with a runbook annotation"

cp "$TEST_YML" "$work/"
out=$(cd "$work" && promtool test rules acmectl_alerts_test.yml 2>&1) ||
  fail "promtool test rules failed:
$out"
ok "promtool test rules: every alert fires and stays quiet where it should"

# The same tests against rules whose thresholds are wrong must fail: the
# tests can tell a 14-day warning from a 9-day one.
expect_rc 0 gen alerts --warning-days 9 --out "$work/acmectl_alerts.yml"
if (cd "$work" && promtool test rules acmectl_alerts_test.yml >/dev/null 2>&1); then
  fail "promtool test rules passed with --warning-days 9: the tests do not check the threshold"
fi
ok "the tests fail on rules with a different warning threshold"

# Options reach the rules.
expect_rc 0 gen alerts --job edge-agents --warning-days 21 --critical-days 5 --out "$TMP/custom.yml"
out=$(promtool check rules "$TMP/custom.yml" 2>&1) || fail "promtool check rules (custom) failed: $out"
grep -q 'up{job="edge-agents"} == 0' "$TMP/custom.yml" || fail "--job not used in the agent-down rule"
grep -q 'absent(acmectl_build_info{job="edge-agents"})' "$TMP/custom.yml" || fail "--job not used in the absent rule"
grep -q '/ 5, 21 \* 86400)' "$TMP/custom.yml" || fail "--warning-days 21 not used"
grep -q '/ 20, 5 \* 86400)' "$TMP/custom.yml" || fail "--critical-days 5 not used"
ok "--job, --warning-days and --critical-days reach the rules"

# Any job name: quotes, a backslash, ": ", "{{", "#" and an apostrophe once
# gave rules that YAML or the template engine refused (or, for the backslash,
# a selector of another job). The rules must load and select exactly that job.
odd_job=$'we"ird: {{x}} \\job\'s #1'
mkdir -p "$TMP/odd"
expect_rc 0 gen alerts --job "$odd_job" --out "$TMP/odd/acmectl_alerts.yml"
out=$(promtool check rules "$TMP/odd/acmectl_alerts.yml" 2>&1) ||
  fail "promtool check rules with --job '$odd_job' failed: $out"
cat >"$TMP/odd/odd_test.yml" <<'EOF'
rule_files: [acmectl_alerts.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="we\"ird: {{x}} \\job''s #1",instance="a:9469"}'
        values: '0+0x20'
      - series: 'up{job="acmectl",instance="b:9469"}'
        values: '0+0x20'
    alert_rule_test:
      - eval_time: 10m
        alertname: AcmectlAgentDown
        exp_alerts:
          - exp_labels:
              severity: critical
              job: "we\"ird: {{x}} \\job's #1"
              instance: a:9469
            exp_annotations:
              summary: acmectl agent on a:9469 is down
              description: >-
                Prometheus cannot scrape the acmectl agent on a:9469: nothing
                renews certificates there. Run `systemctl status acmectl-agent`
                and `journalctl -u acmectl-agent -n 50`.
              runbook: systemctl status acmectl-agent
      - eval_time: 15m
        alertname: AcmectlMetricsAbsent
        exp_alerts:
          - exp_labels:
              severity: critical
              job: "we\"ird: {{x}} \\job's #1"
            exp_annotations:
              summary: No acmectl metrics are being scraped
              description: >-
                No target of job we"ird: {{x}} \job's #1 exports acmectl metrics.
                Check the scrape configuration and that the agent runs with
                metrics_listen set (`acmectl agent --metrics-listen 127.0.0.1:9469`).
              runbook: curl -s http://127.0.0.1:9469/healthz
EOF
out=$(cd "$TMP/odd" && promtool test rules odd_test.yml 2>&1) ||
  fail "rules for --job '$odd_job' do not select exactly that job:
$out"
ok "gen alerts --job with quotes, a backslash, ': ', '{{', '#' and an apostrophe: working rules"

# Out-of-range thresholds are refused with exit 2 (usage).
expect_rc 2 gen alerts --critical-days 0
expect_rc 2 gen alerts --warning-days 366
ok "out-of-range thresholds are refused"
