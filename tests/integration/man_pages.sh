#!/usr/bin/env bash
# Man pages (issue 16): acmectl(1) and acmectl.toml(5) come from `acmectl __man 1|5`;
# every option that `acmectl --help` and each (sub)command's --help shows is in acmectl(1),
# every key the config reader accepts is in acmectl.toml(5), both render with groff -ww
# without a warning and through man -l; `cmake --install` puts them under share/man.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"
src=$(cd "$(dirname "$0")/../.." && pwd)

expect_rc 0 __man 1
cp "$OUT_FILE" "$TMP/acmectl.1"
expect_rc 0 __man 5
cp "$OUT_FILE" "$TMP/acmectl.toml.5"
expect_rc 0 __man
cmp -s "$OUT_FILE" "$TMP/acmectl.1" || fail "__man without a section is not acmectl(1)"

# Rendering: no groff warning at all (-ww), and man -l reads both.
for page in acmectl.1 acmectl.toml.5; do
  groff -man -Tutf8 -ww -z "$TMP/$page" 2>"$TMP/groff.err" || fail "groff failed on $page"
  [[ ! -s "$TMP/groff.err" ]] || fail "groff warns on $page: $(head -5 "$TMP/groff.err")"
  MANWIDTH=100 man -l "$TMP/$page" 2>"$TMP/man.err" >"$TMP/$page.txt" || fail "man -l failed on $page"
  [[ ! -s "$TMP/man.err" ]] || fail "man -l warns on $page: $(head -5 "$TMP/man.err")"
done
grep -q 'EXIT STATUS' "$TMP/acmectl.1.txt" || fail "acmectl(1) has no EXIT STATUS"
for section in NAME SYNOPSIS DESCRIPTION 'GLOBAL OPTIONS' COMMANDS ENVIRONMENT FILES 'EXIT STATUS' EXAMPLES 'SEE ALSO'; do
  grep -q "^\.SH \"\?$section\"\?$" "$TMP/acmectl.1" || fail "acmectl(1) lacks section $section"
done
ok "acmectl(1) and acmectl.toml(5) render without warnings; acmectl(1) has every section"

# The roff text with \- as - and without font changes: what a reader searches.
page=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$TMP/acmectl.1")

# help_of PATH...: prints the --help of acmectl PATH...
help_of() {
  "$ACMECTL" "$@" --help || fail "acmectl $* --help failed"
}

# Every command (walking the Subcommands: sections) and every option of its --help.
checked=0
queue=("")
while ((${#queue[@]} > 0)); do
  path=${queue[0]}
  queue=("${queue[@]:1}")
  read -r -a words <<<"$path"
  help=$(help_of "${words[@]}")
  if [[ -n "$path" ]]; then
    grep -qF ".SS \"acmectl $path\"" <<<"$page" || fail "acmectl(1) has no section for 'acmectl $path'"
  fi
  while read -r names; do
    IFS=, read -r -a opts <<<"$names"
    for opt in "${opts[@]}"; do
      grep -qE -- "(^|[^a-zA-Z0-9-])${opt}([^a-zA-Z0-9-]|$)" <<<"$page" ||
        fail "option $opt of 'acmectl $path --help' is not in acmectl(1)"
      checked=$((checked + 1))
    done
  done < <(awk '/^[A-Za-z].*:$/ {s=$0; next} (s=="Options:" || s=="Global options:") && /^  -/ {print $1}' <<<"$help")
  while read -r sub; do
    queue+=("${path:+$path }$sub")
  done < <(awk '/^[A-Za-z].*:$/ {s=$0; next} s=="Subcommands:" && /^  [a-z]/ {print $1}' <<<"$help")
done
((checked > 50)) || fail "only $checked options found in the --help outputs: is the parser wrong?"
ok "$checked option names of every command's --help are in acmectl(1)"

# Every environment variable the options name.
while read -r var; do
  grep -qF "$var" <<<"$page" || fail "$var (from --help) is not in acmectl(1)"
done < <(help_of | grep -oE 'ACMECTL_[A-Z0-9_]+' | sort -u)
ok "every ACMECTL_* variable of --help is in ENVIRONMENT"

# Every key config.cpp reads is in acmectl.toml(5).
keys=$(grep -oE 'key == "[a-z_0-9]+"' "$src/agent/config/config.cpp" | cut -d'"' -f2 | sort -u)
[[ -n "$keys" ]] || fail "found no keys in agent/config/config.cpp"
toml=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$TMP/acmectl.toml.5")
for key in $keys; do
  grep -qE "(^|[^a-z_])${key}([^a-z_0-9]|$)" <<<"$toml" || fail "config key $key is not in acmectl.toml(5)"
done
ok "every config key ($(wc -w <<<"$keys")) is in acmectl.toml(5)"

# cmake --install: share/man/man1/acmectl.1.gz and man5/acmectl.toml.5.gz, gzip'ed as
# Debian's policy wants (when this binary comes from a CMake build tree).
build=$(cd "$(dirname "$ACMECTL")/.." && pwd)
if [[ -f "$build/CMakeCache.txt" && -f "$build/docs-generated/acmectl.1" ]]; then
  cmake --install "$build" --prefix "$TMP/prefix" >/dev/null || fail "cmake --install failed"
  cmp -s <(gzip -dc "$TMP/prefix/share/man/man1/acmectl.1.gz") "$TMP/acmectl.1" ||
    fail "installed acmectl.1.gz differs from __man 1 (rebuild the acmectl_docs target?)"
  cmp -s <(gzip -dc "$TMP/prefix/share/man/man5/acmectl.toml.5.gz") <("$ACMECTL" __man 5) ||
    fail "installed acmectl.toml.5.gz differs from __man 5"
  found=$(MANPATH="$TMP/prefix/share/man" man -w acmectl) || fail "man -w acmectl finds nothing"
  assert_eq "$found" "$TMP/prefix/share/man/man1/acmectl.1.gz" "man -w acmectl"
  assert_file "$TMP/prefix/share/bash-completion/completions/acmectl"
  ok "cmake --install: man1/acmectl.1.gz, man5/acmectl.toml.5.gz, completions; man -w finds it"
else
  log "SKIP install check: $build is not a build tree with docs-generated/ (build target acmectl_docs)"
fi
