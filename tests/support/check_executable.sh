#!/usr/bin/env bash
# Every script of the project with a #! line is executable: scripts/demo.sh execs
# scripts/demo_fleet.sh, ctest and users run the others directly. Prints each one that
# is not and exits 1.
set -euo pipefail
cd "$(dirname "$0")/../.."
bad=0
while IFS= read -r -d '' f; do
  if [[ "$(head -c 2 "$f")" == '#!' && ! -x "$f" ]]; then
    echo "not executable (chmod +x, git update-index --chmod=+x): $f"
    bad=1
  fi
done < <(find scripts bench hooks tests packaging -type f \( -name '*.sh' -o -name '*.py' \) -print0 2>/dev/null)
exit "$bad"
