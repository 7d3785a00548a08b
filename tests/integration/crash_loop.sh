#!/usr/bin/env bash
# Crash loop (issue 13): SIGKILL acmectl at seeded random moments across a
# certificate's whole life, and check the state left behind after every kill.
#
#   crash_loop.sh ACMECTL [KILLS] [SEED]
#
#   KILLS  SIGKILLs that land on a live process (default 50, CRASH_LOOP_KILLS)
#   SEED   seed of the schedule (default: random, printed; CRASH_LOOP_SEED).
#          It fixes which command runs, which certificate, and every delay; the
#          moment a delay lands on still depends on the machine's load.
#   CRASH_LOOP_VALIDITY  Pebble certificate lifetime in seconds (default 20:
#          a renewal is due about every 10 s, so kills land in renewals too)
#   CRASH_LOOP_EPOCH     kills per state dir (default 25): each epoch starts
#          on an empty state dir (first start: account registration and three
#          first orders at once), the last one ends with the final phase.
#
# A private Pebble (PEBBLE_VA_NOSLEEP=1, short certificates), a config with three
# certificates (ec256 with two names, ec384, rsa2048), [agent] http01_listen on
# Pebble's http-01 port, concurrency 3, a deploy hook that sleeps 0.3 s and
# records its runs (start/end, name, serial), and a post hook. Each iteration
# runs one of, by the seeded schedule:
#   agent      `acmectl agent` (the first of an epoch on an empty state dir),
#              killed after 0..4 s (0..3 s on the first start)
#   renew      `acmectl renew --force NAME`, killed after 0..1.2 s
#   rollover   `acmectl account rollover`, killed after 0..0.15 s
# then checks what was left behind (see check_state). A command that finished
# before its kill is not counted as a kill. At the end the agent runs without
# kills until every certificate was renewed after the last kill (a certificate
# held in backoff by a failed validation, which a kill during validation
# causes, is nudged once with `renew --force`, counted), stops with SIGTERM
# (exit 0), and the final checks run: nothing owed, every hook ran for every
# installed serial, no temporary file left, the account key usable.
#
# Every violation is collected with its iteration and the loop goes on; the test
# fails at the end listing them all. Prints one summary line:
#   crash_loop: kills=N seed=S ... renewals_seen=R hooks_run=H post_hooks=P
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"

(($# >= 1)) || {
  echo "usage: $0 ACMECTL [KILLS] [SEED]" >&2
  exit 2
}
kills_wanted=${2:-${CRASH_LOOP_KILLS:-50}}
seed=${3:-${CRASH_LOOP_SEED:-$(((RANDOM << 15 | RANDOM) % 1000000))}}
validity=${CRASH_LOOP_VALIDITY:-20}
epoch_len=${CRASH_LOOP_EPOCH:-25}
[[ "$kills_wanted" =~ ^[0-9]+$ && "$seed" =~ ^[0-9]+$ && "$validity" =~ ^[0-9]+$ &&
  "$epoch_len" =~ ^[0-9]+$ ]] || {
  echo "usage: $0 ACMECTL [KILLS] [SEED] (numbers)" >&2
  exit 2
}
((epoch_len > 0)) || epoch_len=1
lib_init "$1"
t_start=$(date +%s)
log "crash loop: $kills_wanted kills, seed $seed (rerun: $0 $ACMECTL $kills_wanted $seed)"

command -v sqlite3 >/dev/null || fail "sqlite3 not installed (scripts/deps.sh installs it)"
command -v jq >/dev/null || fail "jq not installed (scripts/deps.sh installs it)"

PEBBLE_VA_NOSLEEP=1 PEBBLE_CERTIFICATE_VALIDITY_PERIOD=$validity start_fixture "$TMP/pebble"
log "private Pebble at $PEBBLE_DIR_URL ($validity-second certificates)"

# --- the seeded schedule: a 31-bit LCG in the shell itself (never in a subshell,
# so the sequence depends on the seed only). rand N sets R in [0, N).
rng=$seed
R=0
rand() {
  rng=$(((rng * 1103515245 + 12345) % 2147483648))
  R=$(((rng >> 4) % $1))
}
ms_to_s() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

names=(alpha bravo charlie)
declare -A sans=(
  [alpha]="alpha.crash.test www.alpha.crash.test"
  [bravo]="bravo.crash.test"
  [charlie]="charlie.crash.test"
)

hooks=$TMP/hooks
mkdir -p "$hooks"
deploy_log=$TMP/deploy.log # "start|end NAME SERIAL EVENT EPOCH" per hook run
post_log=$TMP/post.log     # "EPOCH NAMES..." per post hook run
: >"$deploy_log"
: >"$post_log"

# --- per epoch: fresh state and output dirs, a config naming them.
epoch=0
state="" out="" db="" cfg=""
new_epoch() {
  epoch=$((epoch + 1))
  state=$TMP/e$epoch/state
  out=$TMP/e$epoch/live
  db=$state/acmectl.db
  cfg=$TMP/e$epoch/acmectl.toml
  mkdir -p "$TMP/e$epoch"
  cat >"$hooks/deploy-$epoch.sh" <<HOOK
#!/bin/sh
# The serial as lower-case hex without leading zeros (lib.sh's norm_serial).
s=\$(openssl x509 -in "\$ACMECTL_CERT_PATH" -noout -serial 2>/dev/null |
  sed -e 's/^serial=//' -e 'y/ABCDEF/abcdef/' -e 's/^0*\\(.\\)/\\1/') || s=unreadable
echo "start \$ACMECTL_CERT_NAME \${s:-unreadable} \$ACMECTL_EVENT $epoch" >>"$deploy_log"
sleep 0.3
echo "end \$ACMECTL_CERT_NAME \${s:-unreadable} \$ACMECTL_EVENT $epoch" >>"$deploy_log"
HOOK
  cat >"$hooks/post-$epoch.sh" <<HOOK
#!/bin/sh
echo "$epoch \$ACMECTL_CERT_NAMES" >>"$post_log"
HOOK
  chmod 755 "$hooks/deploy-$epoch.sh" "$hooks/post-$epoch.sh"
  cat >"$cfg" <<TOML
state_dir = "$state"

[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "crash@example.com"
agree_tos = true

[agent]
http01_listen = "127.0.0.1:$PEBBLE_HTTP_PORT"
metrics_listen = "off"
concurrency = 3
hook_timeout_seconds = 30
post_hook = "$hooks/post-$epoch.sh"

[defaults]
out = "$out"

[[certificate]]
name = "alpha"
domains = ["alpha.crash.test", "www.alpha.crash.test"]
deploy_hook = "$hooks/deploy-$epoch.sh"

[[certificate]]
name = "bravo"
domains = ["bravo.crash.test"]
key_type = "ec384"
deploy_hook = "$hooks/deploy-$epoch.sh"

[[certificate]]
name = "charlie"
domains = ["charlie.crash.test"]
key_type = "rsa2048"
deploy_hook = "$hooks/deploy-$epoch.sh"
TOML
  account_sum="" # sha256 of the account key registered in this epoch
  registered=0   # "(registered)" log lines in this epoch
  log "epoch $epoch: empty state dir $state"
}

# --- violations: collected, the loop goes on; the test fails at the end.
violations=()
iter=0
declare -A violation_seen=()
violation() {
  [[ -z "${violation_seen["$epoch $*"]:-}" ]] || return 0 # reported once
  violation_seen["$epoch $*"]=1
  violations+=("iteration $iter (epoch $epoch): $*")
  echo "VIOLATION: iteration $iter (epoch $epoch): $*" >&2
}

# --- running one command and killing it.
logs=$TMP/logs
mkdir -p "$logs"
run_log=""
kills=0
declare -A n_action=() n_killed=() phase_count=()
backoff_nudges=0
rollovers_done=0
serials_seen=() # "EPOCH NAME SERIAL", every serial found installed or recorded

# kill_after MS CMD...: runs acmectl CMD in the background, SIGKILLs it after MS
# milliseconds; returns 0 when the kill landed on the live process, 1 when it had
# exited before (its status in EXITED_RC).
EXITED_RC=0
kill_after() {
  local ms=$1 pid rc=0
  shift
  run_log=$logs/$(printf '%04d' "$iter")-$1.log
  "$ACMECTL" "$@" </dev/null >"$run_log" 2>&1 &
  pid=$!
  _LIB_PIDS+=("$pid")
  sleep "$(ms_to_s "$ms")"
  kill -KILL "$pid" 2>/dev/null || true
  { wait "$pid"; } 2>/dev/null || rc=$? # no "Killed" job notice
  if ((rc == 137)); then
    return 0
  fi
  EXITED_RC=$rc
  return 1
}

# phase_of LOG: what the killed process had last done, from its log.
phase_of() {
  local last
  last=$(grep -v '^[[:space:]]*$' "$1" | tail -n 1 || true)
  if [[ "$1" == *-account.log ]]; then
    case $last in
      '') echo "before-first-log-line" ;;
      *"account url="*"took_ms"*) echo "after-account-loaded(key written/asked CA)" ;;
      *) echo "other" ;;
    esac
    return
  fi
  case $last in
    '') echo "before-first-log-line" ;;
    *"hook cert="*"exit="*) echo "after-deploy-hook" ;;
    *"outcome="*) echo "after-outcome" ;;
    *" obtained serial="* | *" renewed serial="*) echo "deploy-hook(installed)" ;;
    *" download took_ms"*) echo "install" ;;
    *" finalize took_ms"*) echo "download" ;;
    *" validation took_ms"*) echo "finalize" ;;
    *" authorizations took_ms"*) echo "validation" ;;
    *" order took_ms"*) echo "authorizations" ;;
    *"resuming order"*) echo "resume" ;;
    *"installed but not recorded"*) echo "adopted-install" ;;
    *"account url="*) echo "order" ;;
    *"agent started"*) echo "after-start(keygen/new-order/idle)" ;;
    *"will issue"* | *"responder listening"*) echo "start-up" ;;
    *"rolled over"* | *"rollover"*) echo "rollover-done" ;;
    *) echo "other" ;;
  esac
}

# --- the checks after each kill.
sql() { sqlite3 -batch -noheader "$db" "$@" 2>&1; }
account_dir() { find "$state/accounts" -mindepth 1 -maxdepth 1 -type d 2>/dev/null; }

# One sqlite3 run per check: integrity, the number of accounts, each
# certificate's recorded serial (DB_SERIAL[NAME], normalised).
declare -A DB_SERIAL=()
check_db() {
  DB_SERIAL=()
  [[ -e "$db" ]] || return 0
  local out line integrity="" accounts="" section=i
  # Killed within milliseconds of its first start, a process may leave the database
  # file before its first migration commits: no tables at all is a whole (empty) store,
  # migrated at the next start. Half a schema would not be (migrations are transactions).
  if [[ "$(sql "SELECT count(*) FROM sqlite_master")" == 0 ]]; then
    [[ "$(sql "PRAGMA integrity_check")" == ok ]] || violation "PRAGMA integrity_check of the empty store"
    return 0
  fi
  out=$(sql "PRAGMA integrity_check; SELECT '--accounts'; SELECT count(*) FROM accounts;
    SELECT '--certs'; SELECT name || ' ' || serial FROM certificates;") || true
  while IFS= read -r line; do
    case $line in
      --accounts) section=a ;;
      --certs) section=c ;;
      *)
        case $section in
          i) integrity+="$line " ;;
          a) accounts=$line ;;
          c) DB_SERIAL[${line%% *}]=$(norm_serial "${line#* }") ;;
        esac
        ;;
    esac
  done <<<"$out"
  [[ "$integrity" == "ok " ]] || violation "PRAGMA integrity_check: ${integrity:-$out}"
  [[ "$accounts" =~ ^[01]$ ]] || violation "the store holds '$accounts' accounts for one ACME server"
}

# The account key: one account.key per server, the same as the first one
# registered in this epoch, or rolled over cleanly (the previous one kept as
# account.key.prev-*). account.key.next may be left by a killed rollover (the
# next command that uses the account finishes or abandons it).
check_account() {
  local dirs d f sum base prev_ok
  mapfile -t dirs < <(account_dir)
  ((${#dirs[@]} <= 1)) || violation "more than one account dir: ${dirs[*]}"
  ((${#dirs[@]} == 1)) || return 0
  d=${dirs[0]}
  for f in "$d"/* "$d"/.[!.]*; do
    [[ -e "$f" || -L "$f" ]] || continue
    base=${f##*/}
    case $base in
      account.key | account.key.next | account.key.prev-[0-9]* | account.key.next.abandoned-[0-9]* | \
        account.key.deactivated-[0-9]*) ;;
      *.tmp-* | *.tmp) ;; # counted by check_temps
      *) violation "unexpected file in the account dir: $f" ;;
    esac
  done
  if [[ ! -f "$d/account.key" ]]; then
    if [[ -n "$account_sum" ]]; then
      violation "$d/account.key is missing ($(find "$d" -mindepth 1 -printf '%f ' 2>/dev/null))"
    fi
    return 0
  fi
  sum=$(sha256sum <"$d/account.key")
  if [[ -z "$account_sum" ]]; then
    # The first key seen in this epoch: it must be the one the store records
    # once an account is recorded (checked by the account show at the end).
    if [[ -n "$(sql 'select account_url from accounts' 2>/dev/null || true)" ]]; then
      account_sum=$sum
    fi
    return 0
  fi
  [[ "$sum" == "$account_sum" ]] && return 0
  prev_ok=0
  for f in "$d"/account.key.prev-*; do
    [[ -f "$f" && "$(sha256sum <"$f")" == "$account_sum" ]] && prev_ok=1
  done
  if ((prev_ok)); then
    log "account key rolled over (previous kept as .prev-*)"
    account_sum=$sum
    rollovers_done=$((rollovers_done + 1))
  else
    violation "account.key changed without a rollover (no .prev-* holds the registered key)"
    account_sum=$sum
  fi
}

# cert_info CERT: one openssl run: CI_SERIAL (normalised), CI_SANS (sorted,
# space separated), CI_PUB (the public key PEM).
CI_SERIAL="" CI_SANS="" CI_PUB=""
cert_info() {
  local out
  out=$(openssl x509 -in "$1" -noout -serial -ext subjectAltName -pubkey 2>&1) || {
    CI_SERIAL="" CI_SANS="" CI_PUB=""
    return 1
  }
  CI_SERIAL=$(norm_serial "$(sed -n 's/^serial=//p' <<<"$out")")
  CI_SANS=$(sed -n '/Subject Alternative Name/{n;p;}' <<<"$out" | tr ',' '\n' |
    sed -e 's/^ *//' -e 's/^DNS://' | grep -v '^$' | LC_ALL=C sort | paste -sd' ')
  CI_PUB=$(sed -n '/BEGIN PUBLIC KEY/,/END PUBLIC KEY/p' <<<"$out")
}

# installed_serial NAME: the serial of OUT/NAME/cert.pem (empty when none),
# openssl run only when the link or the file changed (a version directory is
# never written again once the link points at it).
declare -A serial_cache=()
installed_serial() {
  local link=$out/$1 key
  [[ -s "$link/cert.pem" ]] || return 0
  key="$epoch $(readlink "$link" 2>/dev/null) $(stat -L -c %i "$link/cert.pem" 2>/dev/null)"
  if [[ -z "${serial_cache[$key]:-}" ]]; then
    cert_info "$link/cert.pem" || return 0
    serial_cache[$key]=$CI_SERIAL
  fi
  echo "${serial_cache[$key]}"
}

# check_set NAME: OUT/NAME, when there, is a whole matching set: a link to
# .NAME.d/vN holding the four files, privkey.pem 0600 matching cert.pem, the chain
# verifying against Pebble's root (time not checked: a certificate may expire
# while the agent is dead), fullchain = cert + chain, the configured names.
# The store's serial is the installed one, or the installed key is the pending
# key (an install the next start adopts). A set is checked in full once.
declare -A set_ok=() adoptable_seen=()
check_set() {
  local name=$1 link=$out/$1 target f key_pub v inst ino db_serial
  if [[ ! -e "$link" && ! -L "$link" ]]; then
    db_serial=${DB_SERIAL[$name]:-}
    [[ -z "$db_serial" ]] || violation "$name: the store records serial $db_serial but $link is missing"
    return 0
  fi
  [[ -L "$link" ]] || {
    violation "$link is not a symlink"
    return 0
  }
  target=$(readlink "$link")
  [[ "$target" =~ ^\.$name\.d/v[0-9]+$ ]] || violation "$link points at '$target'"
  for f in cert.pem chain.pem fullchain.pem privkey.pem; do
    [[ -s "$link/$f" ]] || {
      violation "$link/$f missing or empty (link -> $target)"
      return 0
    }
  done
  ino=$(stat -L -c %i "$link/cert.pem")
  if [[ "${set_ok[$name]:-}" != "$epoch $target $ino" ]]; then
    set_ok[$name]="$epoch $target $ino"
    [[ "$(stat -c %a "$link/privkey.pem")" == 600 ]] || violation "$link/privkey.pem mode $(stat -c %a "$link/privkey.pem")"
    cert_info "$link/cert.pem" || violation "$link/cert.pem is not a certificate"
    key_pub=$(openssl pkey -in "$link/privkey.pem" -pubout 2>&1 || true)
    [[ -n "$CI_PUB" && "$CI_PUB" == "$key_pub" ]] || violation "$link: privkey.pem does not match cert.pem"
    v=$(openssl verify -no_check_time -CAfile "$PEBBLE_ROOT_PEM" -untrusted "$link/chain.pem" \
      "$link/cert.pem" 2>&1) || violation "$link: chain does not verify: $v"
    diff <(cat "$link/cert.pem" "$link/chain.pem" | grep -v '^[[:space:]]*$') \
      <(grep -v '^[[:space:]]*$' "$link/fullchain.pem") >/dev/null ||
      violation "$link/fullchain.pem is not cert.pem + chain.pem"
    local -a want
    read -ra want <<<"${sans[$name]}"
    [[ "$CI_SANS" == "$(printf '%s\n' "${want[@]}" | LC_ALL=C sort | paste -sd' ')" ]] ||
      violation "$link: SANs '$CI_SANS'"
  fi
  inst=$(installed_serial "$name")
  serials_seen+=("$epoch $name $inst")
  db_serial=${DB_SERIAL[$name]:-}
  if [[ "$db_serial" != "$inst" && -z "${adoptable_seen["$epoch $name $inst"]:-}" ]]; then
    local pending=$state/pending/$name.key pk=""
    [[ -f "$pending" ]] && pk=$(openssl pkey -in "$pending" -pubout 2>/dev/null || true)
    if [[ -n "$pk" && "$pk" == "$(openssl pkey -in "$link/privkey.pem" -pubout 2>/dev/null)" ]]; then
      log "$name: installed $inst not recorded yet (store: '$db_serial'); its key is the pending key: adoptable"
      adoptable_seen["$epoch $name $inst"]=1
      phase_count[adoptable-install]=$((${phase_count[adoptable-install]:-0} + 1))
    else
      violation "$name: installed serial $inst, the store records '$db_serial', and STATE/pending/$name.key is not its key: the next start orders again (finding 5)"
    fi
  fi
}

# Temporary files (*.tmp, *.tmp-*) under the state and output dirs: remembered
# with the iteration that left them; any still there at the end is a violation.
declare -A temp_first=()
temps_left_total=0
check_temps() {
  local f
  while IFS= read -r -d '' f; do
    if [[ -z "${temp_first[$f]:-}" ]]; then
      temp_first[$f]="$iter $(phase_of "$run_log")"
      temps_left_total=$((temps_left_total + 1))
      log "temporary file left: ${f#"$TMP"/} (after ${temp_first[$f]#* })"
    fi
  done < <(find "$TMP/e$epoch" \( -name '*.tmp' -o -name '*.tmp-*' -o -name '*.tmp.*' \) -print0 2>/dev/null)
}

check_state() {
  check_db
  check_account
  local n
  for n in "${names[@]}"; do check_set "$n"; done
  check_temps
}

# --- the loop
new_epoch
epoch_kills=0
first_of_epoch=1
max_iter=$((kills_wanted * 3 + 10))
while ((kills < kills_wanted && iter < max_iter)); do
  iter=$((iter + 1))
  if ((epoch_kills >= epoch_len && kills_wanted - kills >= 5)); then
    new_epoch
    epoch_kills=0
    first_of_epoch=1
  fi
  rand 100
  action=agent
  if ((!first_of_epoch)) && [[ -n "$account_sum" ]]; then
    if ((R >= 88)); then
      action=rollover
    elif ((R >= 74)); then
      action=renew
    fi
  fi
  case $action in
    agent)
      if ((first_of_epoch)); then rand 3000; else rand 4000; fi
      delay=$R
      set -- agent --config "$cfg"
      ;;
    renew)
      rand 3
      target=${names[$R]}
      rand 1200 # a forced renewal takes ~1 s
      delay=$R
      set -- renew --force "$target" --config "$cfg"
      action="renew"
      ;;
    rollover)
      rand 150 # a rollover takes ~50-150 ms from exec
      delay=$R
      set -- account rollover --config "$cfg"
      ;;
  esac
  first_of_epoch=0
  n_action[$action]=$((${n_action[$action]:-0} + 1))
  kill_ok=0
  kill_after "$delay" "$@" && kill_ok=1
  # One account key per epoch: a second "registered" means two keys were made
  # and registered (the first-start race of several certificates at once).
  registered=$((registered + $(grep -c 'account url=.*(registered)' "$run_log" || true)))
  ((registered <= 1)) || violation "$registered account keys registered in this epoch (account creation raced)"
  if ((kill_ok)); then
    kills=$((kills + 1))
    epoch_kills=$((epoch_kills + 1))
    n_killed[$action]=$((${n_killed[$action]:-0} + 1))
    phase=$(phase_of "$run_log")
    if [[ "$action" == rollover ]]; then # where the rollover was, from its files
      if compgen -G "$state/accounts/*/account.key.next" >/dev/null; then
        phase="left account.key.next"
      elif compgen -G "$state/accounts/*/.account.key.next.tmp-*" >/dev/null; then
        phase="writing account.key.next"
      fi
    fi
    phase_count["$action:$phase"]=$((${phase_count["$action:$phase"]:-0} + 1))
    log "iteration $iter: kill $kills: $action killed after $(ms_to_s "$delay") s ($phase)"
  else
    log "iteration $iter: $action exited $EXITED_RC before its kill at $(ms_to_s "$delay") s"
    if [[ "$action" == agent ]]; then
      violation "the agent exited by itself (status $EXITED_RC): $(tail -n 3 "$run_log" | paste -sd'|')"
    elif ((EXITED_RC != 0)); then
      log "  $(grep 'acmectl: error' "$run_log" | head -n 1)"
    fi
  fi
  check_state
  if ((${#violations[@]} > 30)); then
    log "more than 30 violations: stopping the loop"
    break
  fi
done
t_loop=$(date +%s)
log "loop done: $kills kills in $iter iterations, $((t_loop - t_start)) s"

# --- the final phase: the agent without kills until every certificate renewed.
declare -A before_final=()
for s in "${serials_seen[@]}"; do before_final[$s]=1; done
while read -r _ n s _ e; do before_final["$e $n $s"]=1; done <"$deploy_log"
if [[ -e "$db" ]]; then
  while IFS='|' read -r n d; do
    before_final["$epoch $n $(norm_serial "${d#serial }")"]=1
  done < <(sql "select cert_name, detail from events where kind in ('obtained','renewed')")
fi
iter=$((iter + 1))
run_log=$logs/$(printf '%04d' "$iter")-final-agent.log
"$ACMECTL" agent --config "$cfg" </dev/null >"$run_log" 2>&1 &
agent=$!
_LIB_PIDS+=("$agent")
final_deadline=$(($(date +%s) + 3 * validity + 60))
# A live SQLite connection in WAL mode holds a POSIX read lock on the -shm file
# (its "DMS" byte) for as long as it is open; a process that holds none lets
# another process (acmectl list, renew, sqlite3) take the store for unused and
# reset the shared memory under it (SIGBUS, or a corrupted WAL index). Checked
# once the agent's workers have opened the store.
shm_locks() {
  local ino
  ino=$(stat -c %i "$db-shm" 2>/dev/null) || {
    echo none
    return
  }
  awk -v p="$1" -v i=":$ino\$" '$5 == p && $6 ~ i' /proc/locks | wc -l
}
for ((i = 0; i < 20; i++)); do
  grep -q 'agent started' "$run_log" && break
  sleep 0.1
done
sleep 0.5
locks=$(shm_locks "$agent")
[[ "$locks" != 0 ]] ||
  violation "the running agent (PID $agent) holds no POSIX lock on $db-shm (/proc/locks): its store connection lost its locks"
declare -A nudged=() renewed_final=()
hook_done() { grep -q "^end $1 $2 [a-z]* $epoch\$" "$deploy_log"; }
while :; do
  kill -0 "$agent" 2>/dev/null || {
    tail -n 20 "$run_log" >&2
    fail "the agent exited during the final phase"
  }
  pending=0
  for n in "${names[@]}"; do
    [[ -n "${renewed_final[$n]:-}" ]] && continue
    s=$(installed_serial "$n")
    if [[ -n "$s" && -z "${before_final["$epoch $n $s"]:-}" ]] && hook_done "$n" "$s"; then
      renewed_final[$n]=$s
      log "final phase: $n renewed (serial $s) and its deploy hook ran"
      continue
    fi
    pending=1
    # A failed validation (a kill while Pebble validated) holds a certificate in
    # backoff for a minute or more: nudge it once, as an operator would.
    if [[ -z "${nudged[$n]:-}" ]]; then
      na=$(sql "select next_attempt from certificates where name = '$n' and consecutive_failures > 0" || true)
      if [[ "$na" =~ ^[0-9]+$ ]] && ((na > $(date +%s) + 5)); then
        nudged[$n]=1
        backoff_nudges=$((backoff_nudges + 1))
        log "final phase: $n is in backoff ($(sql "select last_error from certificates where name = '$n'" || true)): acmectl renew --force $n"
        "$ACMECTL" renew --force "$n" --config "$cfg" </dev/null >>"$logs/final-renew.log" 2>&1 || true
      fi
    fi
  done
  ((pending)) || break
  if (($(date +%s) > final_deadline)); then
    tail -n 30 "$run_log" >&2
    violation "final phase: not every certificate renewed within $((3 * validity + 60)) s (renewed: ${!renewed_final[*]})"
    break
  fi
  sleep 0.5
done
# The post hook runs when the pass drains; give it a moment. Every certificate
# must have been named by a post hook run of the last epoch.
post_ok() {
  local n
  for n in "${names[@]}"; do
    awk -v e="$epoch" '$1 == e' "$post_log" | grep -qw -- "$n" || return 1
  done
}
for ((i = 0; i < 40; i++)); do
  post_ok && break
  sleep 0.25
done
post_ok || violation "the post hook never named every certificate in the last epoch: $(awk -v e="$epoch" '$1 == e' "$post_log" | tail -n 3 | paste -sd'|')"
kill -TERM "$agent"
rc=0
wait "$agent" || rc=$?
((rc == 0)) || violation "the agent exited $rc after SIGTERM in the final phase"
sleep 0.4 # a deploy hook a killed agent left running finishes

# --- the final checks (last epoch).
check_state
expect_rc 0 account show --json --config "$cfg"
status=$(jq -r '.status // empty' "$OUT_FILE")
[[ -z "$status" || "$status" == valid ]] || violation "account show: status '$status'"
acct=$(account_dir)
[[ -f "$acct/account.key" ]] || violation "no account key at the end"
[[ ! -e "$acct/account.key.next" ]] || violation "account.key.next still there at the end"
for f in "${!temp_first[@]}"; do
  if [[ -e "$f" || -L "$f" ]]; then
    if [[ "$f" == "$TMP/e$epoch/"* ]]; then
      violation "temporary file left since iteration ${temp_first[$f]% *} (killed in ${temp_first[$f]#* }) and not cleaned by the restarts and renewals after it: ${f#"$TMP"/}"
    fi
  fi
done
for n in "${names[@]}"; do
  vs=$(find "$out/.$n.d" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  ((vs <= 2)) || violation "$out/.$n.d holds $vs entries after a clean renewal (current + previous expected): $(find "$out/.$n.d" -mindepth 1 -maxdepth 1 -printf '%f ')"
done
# A pending key without an order in flight is left over.
for k in "$state"/pending/*.key; do
  [[ -e "$k" ]] || continue
  n=${k##*/}
  n=${n%.key}
  [[ -n "$(sql "select order_url from orders where cert_name = '$n'" || true)" ]] ||
    violation "$k is left without an order in flight"
done
expect_rc 0 list --json --config "$cfg"
for n in "${names[@]}"; do
  lr=$(jq -r --arg n "$n" '.[] | select(.name == $n) | .last_result' "$OUT_FILE")
  [[ "$lr" == ok ]] || violation "$n: last_result '$lr' at the end (hook owed or failing)"
done
for n in "${names[@]}"; do
  expect_rc 0 show "$n" --json --config "$cfg"
  # Events are newest first: the newest install must be followed by a hook_ran.
  owed=$(jq -r '[.events[].kind] as $k
    | ($k | index("obtained")) as $o | ($k | index("renewed")) as $r
    | ([$o, $r] | map(select(. != null)) | min) as $inst
    | ($k | index("hook_ran")) as $h
    | if $inst == null then "no-install-event" elif $h == null or $h > $inst then "owed" else "ok" end' "$OUT_FILE")
  [[ "$owed" == ok ]] || violation "$n: deploy hook after the newest install: $owed ($(jq -c '[.events[].kind]' "$OUT_FILE"))"
  hp=$(sql "select hook_pending from certificates where name = '$n'" 2>/dev/null || true)
  [[ "$hp" != 1 ]] || violation "$n: hook_pending = 1 in the store at the end"
done

# Every serial installed in the last epoch (seen installed, or recorded as an
# install event) had its deploy hook run to the end at least once.
declare -A installed_serials=()
for s in "${serials_seen[@]}"; do
  [[ "$s" == "$epoch "* ]] && installed_serials[$s]=1
done
while IFS='|' read -r n d; do
  installed_serials["$epoch $n $(norm_serial "${d#serial }")"]=1
done < <(sql "select cert_name, detail from events where kind in ('obtained','renewed')")
no_hook=()
for s in "${!installed_serials[@]}"; do
  read -r e n ser <<<"$s"
  grep -q "^end $n $ser [a-z]* $e\$" "$deploy_log" || no_hook+=("$n $ser")
done
((${#no_hook[@]} == 0)) || violation "deploy hook never ran to the end for installed serial(s): ${no_hook[*]}"

# --- summary
hooks_run=$(grep -c '^end ' "$deploy_log" || true)
hooks_started=$(grep -c '^start ' "$deploy_log" || true)
post_hooks=$(grep -c '' "$post_log" || true)
declare -A all_serials=()
for s in "${serials_seen[@]}"; do all_serials[$s]=1; done
while read -r _ n s _ e; do all_serials["$e $n $s"]=1; done <"$deploy_log"
declare -A certs_with_serial=()
for s in "${!all_serials[@]}"; do
  read -r e n _ <<<"$s"
  certs_with_serial["$e $n"]=1
done
renewals_seen=$((${#all_serials[@]} - ${#certs_with_serial[@]}))
runtime=$(($(date +%s) - t_start))
log "actions: $(for a in "${!n_action[@]}"; do printf '%s=%s(killed %s) ' "$a" "${n_action[$a]}" "${n_killed[$a]:-0}"; done)"
log "kills by what the process had last logged:"
for p in "${!phase_count[@]}"; do printf '#   %-40s %s\n' "$p" "${phase_count[$p]}"; done | LC_ALL=C sort >&2
adopted=$(cat "$logs"/*.log | grep -c 'installed but not recorded' || true)
resumed=$(cat "$logs"/*.log | grep -c 'resuming order' || true)
log "temporary files seen after kills: $temps_left_total; rollovers completed: $rollovers_done; installs adopted after a kill: $adopted; orders resumed: $resumed; backoff nudges in the final phase: $backoff_nudges"
echo "crash_loop: kills=$kills seed=$seed epochs=$epoch iterations=$iter renewals_seen=$renewals_seen adopted=$adopted resumed=$resumed rollovers=$rollovers_done hooks_run=$hooks_run hooks_started=$hooks_started post_hooks=$post_hooks violations=${#violations[@]} runtime=${runtime}s"
if ((${#violations[@]} > 0)); then
  printf '  %s\n' "${violations[@]}" >&2
  fail "${#violations[@]} violation(s) after $kills kills (seed $seed; rerun: $0 $ACMECTL $kills_wanted $seed)"
fi
((kills >= kills_wanted)) || fail "only $kills kills landed in $iter iterations (wanted $kills_wanted)"
ok "$kills kills survived (seed $seed) in ${runtime}s"
