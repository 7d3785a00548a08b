#!/usr/bin/env bash
# The first side-by-side benchmark (HTTP-01 only, five rounds by default), now a
# special case of bench/compare.sh, which it runs:
#
#   bench/issue_side_by_side.sh [N]   =   BENCH_CHALLENGES=http-01 bench/compare.sh [N]
#
# Every environment knob of compare.sh applies (BENCH_CLIENTS, ACMECTL_BIN...).
set -euo pipefail
export BENCH_CHALLENGES=${BENCH_CHALLENGES:-http-01}
exec "$(dirname "${BASH_SOURCE[0]}")/compare.sh" "${1:-5}"
