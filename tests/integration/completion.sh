#!/usr/bin/env bash
# `acmectl completion bash|zsh|fish` (issue 16): bash loads the script (complete -p),
# a scripted `acmectl re<TAB>` offers renew and revoke, option values (key types,
# challenges) and certificate names from the store complete; zsh -n and fish -n accept
# theirs where those shells are installed.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

expect_rc 0 completion bash
cp "$OUT_FILE" "$TMP/acmectl.bash"
expect_rc 2 completion tcsh
expect_rc 0 completion bash --help

# complete_words WORD...: COMPREPLY of the bash completion for the command line WORD...
# (the last word is the one being completed), one per line. Runs in a fresh bash with
# the script sourced, acmectl on PATH.
complete_words() {
  local words
  words=$(printf '%q ' "$@")
  PATH="$(dirname "$ACMECTL"):$PATH" bash -c "
    set -u
    source '$TMP/acmectl.bash'
    COMP_WORDS=($words)
    COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1))
    _acmectl
    printf '%s\n' \"\${COMPREPLY[@]}\""
}

spec=$(bash -c "source '$TMP/acmectl.bash'; complete -p acmectl")
assert_eq "$spec" "complete -F _acmectl acmectl" "complete -p acmectl"
ok "bash: complete -p acmectl names _acmectl"

got=$(complete_words acmectl re | sort | paste -sd' ')
assert_eq "$got" "renew revoke" "acmectl re<TAB>"
ok "acmectl re<TAB>: renew revoke"

got=$(complete_words acmectl --state-dir /x account r | sort | paste -sd' ')
assert_eq "$got" "register rollover" "acmectl --state-dir /x account r<TAB>"
got=$(complete_words acmectl issue --key-type rsa | sort | paste -sd' ')
assert_eq "$got" "rsa2048 rsa3072 rsa4096" "issue --key-type rsa<TAB>"
got=$(complete_words acmectl issue -d a.test --challenge '' | sort | paste -sd' ')
assert_eq "$got" "dns-01 dns-persist-01 http-01 tls-alpn-01" "issue --challenge <TAB>"
got=$(complete_words acmectl gen nginx --balance '' | sort | paste -sd' ')
assert_eq "$got" "ip_hash least_conn round_robin" "gen nginx --balance <TAB>"
got=$(complete_words acmectl issue --force | sort | paste -sd' ')
assert_eq "$got" "--force --force-renewal" "issue --force<TAB>"
got=$(complete_words acmectl completion '' | sort | paste -sd' ')
assert_eq "$got" "bash fish zsh" "completion <TAB>"
mkdir -p "$TMP/dirs/webroot-a" "$TMP/dirs/webroot-b"
got=$(cd "$TMP/dirs" && complete_words acmectl issue -w web | sort | paste -sd' ')
assert_eq "$got" "webroot-a webroot-b" "issue -w web<TAB> (directories)"
if complete_words acmectl __ | grep -q .; then fail "hidden commands are offered"; fi
ok "subcommands, option names and values, directories; hidden commands left out"

# Certificate names from the store: two records written straight into a fresh store
# (no CA needed), the schema made by acmectl itself.
state=$TMP/state
expect_rc 0 __complete-names --state-dir "$state"
assert_eq "$(cat "$OUT_FILE")" "" "__complete-names without a store"
# An issue against a closed loopback port makes the store (and records nothing).
expect_rc 1 issue -d one.acmectl.test --state-dir "$state" --server https://127.0.0.1:1/dir \
  --http01-listen 127.0.0.1:0 --agree-tos --timeout 1 -q
assert_file "$state/acmectl.db"
sqlite3 "$state/acmectl.db" "insert into certificates
  (name, domains, key_type, challenge, out_dir, server, created_at, updated_at) values
  ('alpha', '[\"alpha.test\"]', 'ec256', 'http-01', '/tmp/x', 'https://127.0.0.1:1/d', 1, 1),
  ('beta', '[\"beta.test\"]', 'ec256', 'http-01', '/tmp/x', 'https://127.0.0.1:1/d', 1, 1)" ||
  fail "could not add two certificate rows to the store"
expect_rc 0 __complete-names --state-dir "$state"
assert_eq "$(paste -sd' ' "$OUT_FILE")" "alpha beta" "__complete-names"
got=$(complete_words acmectl show --state-dir "$state" a)
assert_eq "$got" "alpha" "show a<TAB>"
got=$(complete_words acmectl --state-dir "$state" renew --force '' | sort | paste -sd' ')
assert_eq "$got" "alpha beta" "renew --force <TAB>"
ok "certificate names complete from the store (--state-dir on the line)"

# zsh and fish: syntax checks, and a real fish completion where fish exists.
expect_rc 0 completion zsh
cp "$OUT_FILE" "$TMP/_acmectl"
if command -v zsh >/dev/null; then
  zsh -n "$TMP/_acmectl" || fail "zsh -n rejects the zsh completion"
  # The function itself, with the completion system's builtins stubbed to print what
  # they were given (no prefix filtering: the stubs print every candidate).
  cat >"$TMP/zsh_stubs.zsh" <<'ZSH'
compdef() { :; }
_describe() { local -a items; items=("${(@P)4}"); print -l -- "${items[@]%%:*}"; }
compadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }
_files() { print -- "<files $*>"; }
_message() { :; }
source "$1"
shift
words=("$@")
CURRENT=$#words
PREFIX=${words[CURRENT]}
_acmectl
ZSH
  zsh_complete() {
    PATH="$(dirname "$ACMECTL"):$PATH" zsh -f "$TMP/zsh_stubs.zsh" "$TMP/_acmectl" "$@" |
      sort | paste -sd' '
  }
  assert_eq "$(zsh_complete acmectl account '')" "deactivate register rollover show" "zsh: account <TAB>"
  assert_eq "$(zsh_complete acmectl --json issue --key-type '')" \
    "ec256 ec384 rsa2048 rsa3072 rsa4096" "zsh: --json issue --key-type <TAB>"
  assert_eq "$(zsh_complete acmectl issue -w '')" "<files -/>" "zsh: issue -w <TAB>"
  assert_match "$(zsh_complete acmectl show --state-dir "$state" '')" "alpha beta" "zsh: show <TAB>"
  ok "zsh -n accepts the zsh completion; commands, values, directories and names complete"
else
  log "SKIP zsh: not installed (scripts/deps.sh installs it)"
fi
expect_rc 0 completion fish
cp "$OUT_FILE" "$TMP/acmectl.fish"
if command -v fish >/dev/null; then
  fish -n "$TMP/acmectl.fish" || fail "fish -n rejects the fish completion"
  got=$(PATH="$(dirname "$ACMECTL"):$PATH" HOME=$TMP fish --no-config -c \
    "source '$TMP/acmectl.fish'; complete -C 'acmectl re'" | cut -f1 | sort | paste -sd' ')
  assert_eq "$got" "renew revoke" "fish: acmectl re<TAB>"
  got=$(PATH="$(dirname "$ACMECTL"):$PATH" HOME=$TMP fish --no-config -c \
    "source '$TMP/acmectl.fish'; complete -C 'acmectl issue --key-type ec'" | cut -f1 | sort | paste -sd' ')
  assert_eq "$got" "ec256 ec384" "fish: issue --key-type ec<TAB>"
  got=$(PATH="$(dirname "$ACMECTL"):$PATH" HOME=$TMP fish --no-config -c \
    "source '$TMP/acmectl.fish'; complete -C 'acmectl show --state-dir $state '" | cut -f1 | sort | paste -sd' ')
  assert_eq "$got" "alpha beta" "fish: show --state-dir DIR <TAB>"
  ok "fish -n accepts the fish completion; commands, values and names complete"
else
  log "SKIP fish: not installed (scripts/deps.sh installs it)"
fi
