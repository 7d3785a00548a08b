#!/usr/bin/env bash
# The long crash loop (issue 13): tests/integration/crash_loop.sh with 500 SIGKILLs
# (20 epochs of 25, each starting on an empty state dir), then its final phase.
#
#   bench/crash_loop.sh [ACMECTL] [KILLS] [SEED]
#
# ACMECTL defaults to $ACMECTL_BIN, else build/bin/acmectl of this tree; KILLS to
# 500; SEED to a random one (printed; pass it back to rerun the same schedule).
# FREE_PORT_BIN is taken from the environment, else the free_port next to ACMECTL.
# Takes about 3 s a kill on a loaded 2-core machine (~25-30 minutes for 500).
# Exit status: the test's (0 when every kill left a consistent state).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
acmectl=${1:-${ACMECTL_BIN:-$root/build/bin/acmectl}}
kills=${2:-500}
[[ -x "$acmectl" ]] || {
  echo "bench/crash_loop.sh: no acmectl at $acmectl (build it, or pass its path)" >&2
  exit 1
}
if [[ -z "${FREE_PORT_BIN:-}" && -x "$(dirname "$acmectl")/free_port" ]]; then
  FREE_PORT_BIN="$(dirname "$acmectl")/free_port"
  export FREE_PORT_BIN
fi
exec bash "$root/tests/integration/crash_loop.sh" "$acmectl" "$kills" ${3:+"$3"}
