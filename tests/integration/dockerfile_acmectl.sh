#!/usr/bin/env bash
# The repository's Dockerfile (the acmectl image that `acmectl gen compose` runs as
# its agent). No image can be built on these machines, so its promises are checked
# against what can be known here:
#   - every base image is pinned to a version tag; the final USER is not root
#   - the final stage installs the Debian package of every shared library the
#     built acmectl links (readelf NEEDED -> dpkg -S), besides what debian-slim has
#   - the build stage installs every library -dev package scripts/deps.sh lists
#   - the HEALTHCHECK's tool is installed; the tag in the build comment and the
#     default image of `gen compose` are this version
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
df=$repo/Dockerfile
assert_file "$df"
command -v readelf >/dev/null || fail "readelf not installed (binutils)"

# Continuation lines joined, comments dropped.
joined=$(sed -e '/^[[:space:]]*#/d' "$df" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta')
mapfile -t froms < <(awk 'toupper($1) == "FROM" {for (i = 2; i <= NF; i++) if ($i !~ /^--/) {print $i; break}}' <<<"$joined")
((${#froms[@]} >= 2)) || fail "expected a multi-stage build, found ${#froms[@]} FROM lines"
for img in "${froms[@]}"; do
  [[ "$img" =~ :[0-9][^:]*$ && "$img" != *:latest ]] || fail "base image '$img' is not pinned to a version tag"
done
final_start=$(grep -n -i '^FROM ' <<<"$joined" | tail -n 1 | cut -d: -f1)
final=$(tail -n +"$final_start" <<<"$joined")
user=$(grep -i '^USER ' <<<"$final" | tail -n 1 | awk '{print $2}')
[[ -n "$user" && "${user%%:*}" != root && "${user%%:*}" != 0 ]] || fail "the final stage's USER is '$user'"
ok "multi-stage, pinned base images (${froms[*]}), final USER $user"

# packages STAGE_TEXT: the packages its apt-get install lines name.
packages() {
  grep -o 'apt-get install [^&]*' <<<"$1" | tr ' ' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' |
    grep -v -x -e apt-get -e install | LC_ALL=C sort -u
}
final_pkgs=$(packages "$final")
build_pkgs=$(packages "$(head -n "$((final_start - 1))" <<<"$joined")")

# What debian:12-slim already has.
base_pkgs=$'libc6\nlibgcc-s1\nlibstdc++6'
missing=()
while read -r soname; do
  # The file the loader really uses (ldd), so that a soname several packages ship
  # (libm.so.6: libc6 and libc6-i386) names the package of this architecture.
  file=$(ldd "$ACMECTL" | awk -v s="$soname" '$1 == s && $3 ~ /^\// {print $3; exit}')
  path=""
  [[ -z "$file" ]] || path=$(dpkg -S "$file" 2>/dev/null | head -n 1) || true
  [[ -n "$path" ]] || path=$(dpkg -S "*/$soname" 2>/dev/null | head -n 1) || true
  [[ -n "$path" ]] || fail "no Debian package ships $soname (linked by acmectl)"
  pkg=${path%%:*}
  grep -qxF "$pkg" <<<"$final_pkgs"$'\n'"$base_pkgs" || missing+=("$pkg ($soname)")
done < <(readelf -d "$ACMECTL" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
((${#missing[@]} == 0)) || fail "the final stage lacks runtime packages: ${missing[*]}"
ok "the final stage installs the package of every library acmectl links"

# Library -dev packages from scripts/deps.sh (tests and fuzz targets are not built in the
# image: doctest, and clang's libFuzzer runtime; nor the .deb: dpkg-dev).
mapfile -t devs < <(sed -n 's/^  \([a-z0-9.+-]*-dev\)$/\1/p' "$repo/scripts/deps.sh" |
  grep -v -x -e doctest-dev -e 'libclang-rt-[0-9]*-dev' -e dpkg-dev)
((${#devs[@]} > 5)) || fail "could not read the -dev packages from scripts/deps.sh"
for d in "${devs[@]}"; do
  grep -qxF "$d" <<<"$build_pkgs" || fail "the build stage lacks $d (listed in scripts/deps.sh)"
done
grep -q -- '-DACMECTL_BUILD_TESTS=OFF' <<<"$joined" || fail "the image build should not build the tests"
ok "the build stage installs all ${#devs[@]} library -dev packages of scripts/deps.sh"

hc=$(grep -i '^HEALTHCHECK ' <<<"$final") || fail "no HEALTHCHECK in the final stage"
tool=$(sed -n 's/.*CMD \["\([^"]*\)".*/\1/p' <<<"$hc")
grep -qxF "$tool" <<<"$final_pkgs" || fail "HEALTHCHECK uses '$tool', which the final stage does not install"
grep -q '9469/healthz' <<<"$hc" || fail "HEALTHCHECK does not ask the agent's /healthz"

version=$("$ACMECTL" --version | awk '{print $2}')
grep -q "docker build -t acmectl:$version \." "$df" || fail "the Dockerfile's build comment does not tag acmectl:$version"
expect_rc 0 gen compose -d example.com
grep -q "image: acmectl:$version\$" "$OUT_FILE" || fail "gen compose does not default to acmectl:$version"
grep -qx 'build\*/' "$repo/.dockerignore" || fail ".dockerignore does not keep build directories out of the context"
ok "HEALTHCHECK with $tool on /healthz; acmectl:$version in the Dockerfile and in gen compose"
