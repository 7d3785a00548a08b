#!/usr/bin/env bash
# The Debian package (issue 16), installed the way a user installs it: cpack builds
# acmectl_VERSION_ARCH.deb from this build tree, `apt-get install ./acmectl_*.deb`
# puts it into a fresh Debian 12 root (debootstrap --variant=minbase bookworm, plus
# man-db and systemd, as on a server) with its dependencies from the Debian mirror
# this machine uses. Then, in that root: `acmectl --version`; `man -w acmectl` and
# `man -w 5 acmectl.toml`; the acmectl system user; /var/lib/acmectl 0700 acmectl and
# /etc/acmectl 0750 root:acmectl; `systemd-analyze verify --root=ROOT` on the installed
# units (systemd 252 resolves ExecStart= and the units' dependencies inside ROOT);
# bash loads the completion; `acmectl list` and `acmectl renew` as the acmectl user on
# the fresh state exit 0; a reinstall keeps the user; a purge keeps keys and state and
# says so.
#
# Skips (exit 77) only where the machine cannot: not root, no debootstrap, no route to
# the mirror. The debootstrapped root is cached as a tarball in the build directory
# (deb-install-cache/), so a rerun takes seconds; set ACMECTL_DEB_MIRROR to choose the
# mirror.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"

skip() {
  echo "# SKIP deb_install: $*" >&2
  exit 77
}
((EUID == 0)) || skip "needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || skip "debootstrap not installed (scripts/deps.sh installs it)"
command -v cpack >/dev/null || fail "cpack not found (cmake)"
command -v dpkg-shlibdeps >/dev/null || fail "dpkg-shlibdeps not found (scripts/deps.sh installs dpkg-dev)"
command -v systemd-analyze >/dev/null || fail "systemd-analyze not found (scripts/deps.sh installs systemd)"

# The Debian mirror this machine uses for bookworm: ACMECTL_DEB_MIRROR, else the first
# URI of a bookworm entry in /etc/apt/sources.list{,.d/*.list} or sources.list.d/*.sources.
mirror=${ACMECTL_DEB_MIRROR:-}
if [[ -z "$mirror" ]]; then
  mirror=$({ cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } |
    sed -nE 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+bookworm[[:space:]].*/\2/p' |
    head -n 1)
fi
if [[ -z "$mirror" ]]; then
  mirror=$(awk 'BEGIN { RS = ""; FS = "\n" }
    /(^|\n)Suites:([^\n]*[[:space:]])?bookworm([[:space:]]|\n|$)/ {
      for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/) { split($i, u, /[[:space:]]+/); print u[2]; exit }
    }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
fi
[[ -n "$mirror" ]] || skip "no Debian 12 (bookworm) mirror in /etc/apt/sources.list* (set ACMECTL_DEB_MIRROR)"
curl -fsS --max-time 15 -o /dev/null "${mirror%/}/dists/bookworm/Release" ||
  skip "mirror $mirror is not reachable (dists/bookworm/Release)"
# Skipped above, before lib_init, so that a skip is not reported as a failure.
lib_init "$@"
log "mirror: $mirror"

build=$(cd "$(dirname "$ACMECTL")/.." && pwd)
[[ -f "$build/CPackConfig.cmake" ]] || fail "$build is not a configured build tree (no CPackConfig.cmake)"
[[ -f "$build/docs-generated/acmectl.1.gz" ]] ||
  fail "no man pages in $build/docs-generated (build the acmectl_docs target)"

root=$TMP/root
# Nothing is mounted into the root (dpkg, apt and useradd need no /proc for this
# package); if something ever is, it is unmounted before lib.sh removes $TMP.
unmount_root() {
  local m
  while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done < <(awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r)
}
trap 'rc=$?; set +e; unmount_root; (exit "$rc"); _lib_cleanup' EXIT

# 1. The package, from this build tree.
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$TMP/pkg" >"$TMP/cpack.log" 2>&1 ||
  fail "cpack -G DEB failed: $(tail -n 5 "$TMP/cpack.log")"
debs=("$TMP"/pkg/acmectl_*_amd64.deb)
[[ -f "${debs[0]}" && ${#debs[@]} == 1 ]] || fail "expected one acmectl_VERSION_amd64.deb, got: ${debs[*]}"
deb=${debs[0]}
version=$("$ACMECTL" --version | awk '{ print $2 }')
assert_eq "$(basename "$deb")" "acmectl_${version}_amd64.deb" "package file name"
depends=$(dpkg-deb -f "$deb" Depends)
assert_match "$depends" '(^|, )libc6 \(>= [0-9.]+\)' "Depends computed by dpkg-shlibdeps"
# OpenSSL and the C++ runtime are linked statically (ACMECTL_STATIC_RUNTIME): the package
# depends on the package of each library the binary still needs, and on no other.
while read -r soname; do
  pkg=$(dpkg -S "*/$soname" 2>/dev/null | grep -v i386 | head -n 1 | cut -d: -f1)
  [[ -n "$pkg" ]] || fail "no Debian package ships $soname"
  assert_match "$depends" "(^|, )$pkg( |,|$)" "Depends covers $soname"
done < <(objdump -p "$ACMECTL" | awk '$1 == "NEEDED" {print $2}')
assert_match "$depends" '(^|, )passwd(,|$)' "Depends (useradd in postinst)"
assert_match "$(dpkg-deb -f "$deb" Recommends)" '(^|, )libpq5(,|$)' "Recommends"
assert_match "$(dpkg-deb -f "$deb" Recommends)" '(^|, )polkitd(,|$)' "Recommends"
# libpq is loaded at run time, only for a PostgreSQL store: Recommends, never Depends.
[[ ! "$depends" =~ (^|[ ,])libpq5([ ,]|$) ]] || fail "libpq5 is in Depends (acmectl links libpq again?): $depends"
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$TMP/contents"
for f in /usr/bin/acmectl /usr/lib/systemd/system/acmectl-agent.service \
  /usr/lib/systemd/system/acmectl-renew.service /usr/lib/systemd/system/acmectl-renew.timer \
  /usr/share/acmectl/hooks/reload-nginx.sh /usr/share/doc/acmectl/agent.md \
  /usr/share/man/man1/acmectl.1.gz /usr/share/man/man5/acmectl.toml.5.gz \
  /usr/share/bash-completion/completions/acmectl /usr/share/zsh/vendor-completions/_acmectl \
  /usr/share/fish/vendor_completions.d/acmectl.fish /usr/share/polkit-1/rules.d/50-acmectl.rules; do
  grep -qxF "$f" "$TMP/contents" || fail "the package lacks $f"
done
ok "$(basename "$deb"): Depends: $depends; Recommends: libpq5, polkitd; every file in place"

# 2. A fresh Debian 12 root, from the cache or debootstrapped into it.
cache=$build/deb-install-cache/bookworm-minbase.tar.gz
mkdir -p "$root" "$(dirname "$cache")"
if [[ -f "$cache" ]] && tar -xzf "$cache" -C "$root" 2>"$TMP/tar.err"; then
  log "debian 12 root from the cache $cache"
else
  rm -rf "$root" && mkdir -p "$root"
  log "debootstrap --variant=minbase bookworm (cached afterwards in $cache)"
  t0=$SECONDS
  debootstrap --variant=minbase --include=man-db,systemd,procps bookworm "$root" "$mirror" \
    >"$TMP/debootstrap.log" 2>&1 || fail "debootstrap failed: $(tail -n 5 "$TMP/debootstrap.log")"
  log "debootstrap took $((SECONDS - t0)) s"
  tar -czf "$cache.tmp" -C "$root" . && mv "$cache.tmp" "$cache"
fi
[[ "$(cat "$root/etc/debian_version")" == 12.* ]] || fail "the root is not Debian 12: $(cat "$root/etc/debian_version")"

# 3. apt-get install ./acmectl_*.deb in the root, dependencies from the mirror.
cp /etc/resolv.conf "$root/etc/resolv.conf"
echo "deb $mirror bookworm main" >"$root/etc/apt/sources.list"
cp "$deb" "$root/tmp/"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  ${http_proxy:+http_proxy=$http_proxy} DEBIAN_FRONTEND=noninteractive "$@"; }
in_root apt-get update -q >"$TMP/apt.log" 2>&1 || fail "apt-get update in the root failed: $(tail -n 5 "$TMP/apt.log")"
in_root apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")" >>"$TMP/apt.log" 2>&1 ||
  fail "apt-get install ./$(basename "$deb") failed: $(tail -n 8 "$TMP/apt.log")"
# shellcheck disable=SC2016 # dpkg-query's own ${Status}
assert_eq "$(in_root dpkg-query -W -f='${Status}' acmectl)" "install ok installed" "dpkg status of acmectl"
ok "apt-get install ./$(basename "$deb") in a fresh Debian $(cat "$root/etc/debian_version") root"

# 4. What a user checks first.
assert_eq "$(in_root acmectl --version)" "$("$ACMECTL" --version)" "acmectl --version in the root"
assert_eq "$(in_root man -w acmectl)" /usr/share/man/man1/acmectl.1.gz "man -w acmectl"
assert_eq "$(in_root man -w 5 acmectl.toml)" /usr/share/man/man5/acmectl.toml.5.gz "man -w 5 acmectl.toml"
in_root env MANWIDTH=80 man -P cat acmectl 2>"$TMP/man.err" | grep -q '^EXIT STATUS' ||
  fail "man acmectl does not render an EXIT STATUS section: $(cat "$TMP/man.err")"
ok "acmectl --version, man -w acmectl, man -w 5 acmectl.toml, man acmectl renders"

# 5. The system user and the directories postinst made.
pw=$(in_root getent passwd acmectl) || fail "no acmectl user in the root"
IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
((uid < 1000)) || fail "acmectl is not a system user (uid $uid)"
assert_eq "$(in_root getent group acmectl | cut -d: -f3)" "$gid" "acmectl's primary group is acmectl"
assert_eq "$shell" /usr/sbin/nologin "acmectl's shell"
assert_eq "$home" /var/lib/acmectl "acmectl's home"
assert_eq "$(stat -c '%a %u %g' "$root/var/lib/acmectl")" "700 $uid $gid" "/var/lib/acmectl mode and owner"
assert_eq "$(stat -c '%a %u %g' "$root/etc/acmectl")" "750 0 $gid" "/etc/acmectl mode and owner"
ok "system user acmectl ($uid:$gid, nologin); /var/lib/acmectl 0700 acmectl; /etc/acmectl 0750 root:acmectl"

# 6. The installed units: systemd-analyze verify inside the root, and they run
# /usr/bin/acmectl as acmectl.
units=(acmectl-agent.service acmectl-renew.service acmectl-renew.timer)
out=$(systemd-analyze verify --root="$root" --man=no "${units[@]}" 2>&1) ||
  fail "systemd-analyze verify --root failed: $out"
[[ -z "$out" ]] || fail "systemd-analyze verify --root printed warnings: $out"
for u in acmectl-agent.service acmectl-renew.service; do
  f=$root/usr/lib/systemd/system/$u
  grep -qE '^ExecStart=/usr/bin/acmectl ' "$f" || fail "$u does not run /usr/bin/acmectl"
  grep -qxF 'User=acmectl' "$f" || fail "$u does not run as User=acmectl"
  grep -qxF 'Group=acmectl' "$f" || fail "$u does not run as Group=acmectl"
done
ok "systemd-analyze verify --root: ${units[*]} clean; services run /usr/bin/acmectl as acmectl"

# 7. Completion: bash loads it from the path bash-completion looks in.
spec=$(in_root bash -c 'source /usr/share/bash-completion/completions/acmectl && complete -p acmectl')
assert_eq "$spec" "complete -F _acmectl acmectl" "complete -p acmectl in the root"
ok "bash: complete -p acmectl"

# 8. A fresh install, as the services run it: nothing recorded is not an error.
as_acmectl() { chroot --userspec=acmectl:acmectl "$root" env -i PATH=/usr/bin:/bin \
  HOME=/var/lib/acmectl ACMECTL_STATE_DIR=/var/lib/acmectl "$@"; }
listed=$(as_acmectl acmectl list 2>&1) || fail "acmectl list on a fresh install failed: $listed"
assert_match "$listed" '^no certificates recorded in /var/lib/acmectl yet' "acmectl list on a fresh install"
out=$(as_acmectl acmectl list --json 2>&1) || fail "acmectl list --json on a fresh install failed: $out"
assert_eq "$out" "[]" "acmectl list --json on a fresh install"
out=$(as_acmectl acmectl renew 2>&1) || fail "acmectl renew on a fresh install (the timer's first runs) failed: $out"
ok "as acmectl on the fresh state: list ('$listed'), list --json [] and renew exit 0"

# The configuration as README's Install section writes it (0640 root:acmectl): the
# services, as acmectl, read it from its default path.
cat >"$root/etc/acmectl/acmectl.toml" <<'TOML'
[acme]
email = "ops@example.com"
agree_tos = true

[agent]
renew_before_days = 20

[defaults]
out = "/etc/acmectl/live"
TOML
chown "0:$gid" "$root/etc/acmectl/acmectl.toml"
chmod 0640 "$root/etc/acmectl/acmectl.toml"
echo 'renew_before_days = "not a number"' >>"$root/etc/acmectl/acmectl.toml"
if out=$(as_acmectl acmectl renew 2>&1); then
  fail "renew as acmectl ignored a broken /etc/acmectl/acmectl.toml: $out"
fi
assert_match "$out" 'acmectl\.toml' "the error names the config file"
sed -i '$d' "$root/etc/acmectl/acmectl.toml"
out=$(as_acmectl acmectl renew 2>&1) || fail "renew as acmectl with /etc/acmectl/acmectl.toml failed: $out"
out=$(as_acmectl acmectl list 2>&1) || fail "list as acmectl with /etc/acmectl/acmectl.toml failed: $out"
ok "as acmectl: /etc/acmectl/acmectl.toml (0640 root:acmectl) is read (a broken one refused), renew and list exit 0"

# 9. Reinstall keeps the user; purge keeps keys and state and says so.
echo keep >"$root/var/lib/acmectl/marker"
in_root apt-get install -y -q --reinstall "/tmp/$(basename "$deb")" >>"$TMP/apt.log" 2>&1 ||
  fail "reinstall failed: $(tail -n 5 "$TMP/apt.log")"
assert_eq "$(in_root getent passwd acmectl)" "$pw" "the acmectl user after a reinstall"
assert_eq "$(stat -c '%a %u %g' "$root/var/lib/acmectl")" "700 $uid $gid" "/var/lib/acmectl after a reinstall"
in_root dpkg --purge acmectl >"$TMP/purge.log" 2>&1 || fail "dpkg --purge failed: $(cat "$TMP/purge.log")"
[[ ! -e "$root/usr/bin/acmectl" ]] || fail "/usr/bin/acmectl left after purge"
assert_file "$root/var/lib/acmectl/marker"
[[ -d "$root/etc/acmectl" ]] || fail "/etc/acmectl removed by purge"
grep -q 'purge keeps /var/lib/acmectl /etc/acmectl' "$TMP/purge.log" ||
  fail "purge did not say what it kept: $(cat "$TMP/purge.log")"
ok "reinstall keeps user and modes; purge removes the files, keeps state, config and user, and says so"
