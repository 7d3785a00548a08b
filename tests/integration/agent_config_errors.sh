#!/usr/bin/env bash
# A broken config stops `acmectl agent` before it does anything: exit 2, one
# line on stderr naming the file, the line (and column) and what is wrong, and
# nothing written to the state directory.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

state=$TMP/state
n=0

# bad_config LINE ERE: writes stdin to a new config file, runs the agent on it
# and checks exit 2, a single "acmectl: error: FILE:LINE:COL: ..." line matching
# ERE, and an untouched state directory.
bad_config() {
  local line=$1 want=$2 file
  n=$((n + 1))
  file=$TMP/bad-$n.toml
  cat >"$file"
  expect_rc 2 agent --once --config "$file"
  local lines
  lines=$(wc -l <"$ERR_FILE")
  ((lines == 1)) || fail "expected one line on stderr, got $lines"
  error_line
  assert_match "$ERR_LINE" "^acmectl: error: $file:$line:[0-9]+: $want" "error line"
  assert_absent "$state"
  ok "config $n: $ERR_LINE"
}

bad_config 3 'TOML syntax error' <<TOML
state_dir = "$state"

[agent
concurrency = 2
TOML

bad_config 5 "unknown key 'renew_befor_days' in \\[agent\\]" <<TOML
state_dir = "$state"

[agent]
concurrency = 2
renew_befor_days = 10
TOML

bad_config 8 "unknown key 'deploy_hok' in \\[\\[certificate\\]\\]" <<TOML
state_dir = "$state"

[acme]
server = "https://127.0.0.1:1/dir"

[[certificate]]
domains = ["a.acmectl.test"]
deploy_hok = "/bin/true"
TOML

bad_config 4 "unknown key 'emial'" <<TOML
state_dir = "$state"

[acme]
emial = "ops@example.com"
TOML

bad_config 2 "unknown key 'stat_dir' at top level" <<TOML
# a comment
stat_dir = "$state"
TOML

bad_config 4 "'concurrency' must be an integer" <<TOML
state_dir = "$state"

[agent]
concurrency = "4"
TOML

bad_config 4 "'renew_before_days' must be an integer between" <<TOML
state_dir = "$state"

[agent]
renew_before_days = 0
TOML

bad_config 4 "'agree_tos' must be a boolean" <<TOML
state_dir = "$state"

[acme]
agree_tos = "yes"
TOML

bad_config 4 "'metrics_listen' must be ADDR:PORT" <<TOML
state_dir = "$state"

[agent]
metrics_listen = "localhost"
TOML

bad_config 5 "'key_type' must be one of" <<TOML
state_dir = "$state"

[[certificate]]
domains = ["a.acmectl.test"]
key_type = "ec521"
TOML

bad_config 4 "'domains' must be an array of strings" <<TOML
state_dir = "$state"

[[certificate]]
domains = "a.acmectl.test"
TOML

bad_config 8 "duplicate certificate name 'a'" <<TOML
state_dir = "$state"

[[certificate]]
name = "a"
domains = ["a.acmectl.test"]

[[certificate]]
name = "a"
domains = ["b.acmectl.test"]
TOML

# A missing file: exit 2, one line naming it.
expect_rc 2 agent --once --config "$TMP/missing.toml"
error_line
assert_match "$ERR_LINE" "$TMP/missing.toml" "error line for a missing config"
assert_absent "$state"
ok "missing config file: $ERR_LINE"

# A certificate without domains: exit 2, the file and the certificate named.
printf 'state_dir = "%s"\n\n[[certificate]]\nname = "nodomains"\n' "$state" >"$TMP/nodomains.toml"
expect_rc 2 agent --once --config "$TMP/nodomains.toml"
error_line
assert_match "$ERR_LINE" "^acmectl: error: $TMP/nodomains.toml.*nodomains.*domains must not be empty" "error line"
assert_absent "$state"
ok "certificate without domains: $ERR_LINE"
