#!/usr/bin/env bash
# `acmectl gen dockerfile` output against a policy (no Docker engine runs here,
# so nothing is built): multi-stage, every base image pinned to a tag (not
# latest, not untagged), the final stage copies the binary from the build
# stage and its last USER is not root, a static build (CGO_ENABLED=0) with
# -s -w and -X main.version, the module download cached before the sources,
# EXPOSE of the port, a HEALTHCHECK only when asked and then with a tool the
# final image has, an exec-form ENTRYPOINT. The policy is shown to reject
# Dockerfiles that break each rule. Bad options: exit 2, one line, no file.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

# instructions FILE: one instruction per line, continuations joined, comments
# and blank lines dropped.
instructions() {
  awk '
    cont == "" && /^[[:space:]]*#/ { next }
    {
      line = $0
      if (sub(/\\[[:space:]]*$/, "", line)) { cont = cont line " "; next }
      line = cont line
      cont = ""
      if (line ~ /^[[:space:]]*$/) next
      sub(/^[[:space:]]+/, "", line)
      print line
    }' "$1"
}

# policy FILE PORT HEALTH(yes|no): prints one line per broken rule.
policy() {
  local file=$1 port=$2 want_health=$3
  local -a ins words stages=()
  mapfile -t ins < <(instructions "$file")
  local line kw rest image stage k nfrom=0 first_stage="" base="" tag
  local user="" copied=0 health="" exposed=0 entry="" go_build="" final_runs=""
  local mod_copy=-1 mod_dl=-1 src_copy=-1 i=0
  for line in "${ins[@]}"; do
    kw=${line%%[[:space:]]*}
    kw=${kw^^}
    rest=${line#*[[:space:]]}
    case $kw in
      FROM)
        read -ra words <<<"$rest"
        k=0
        while [[ "${words[k]:-}" == --* ]]; do k=$((k + 1)); done
        image=${words[k]:-}
        stage=""
        [[ "${words[k + 1]:-}" =~ ^[Aa][Ss]$ ]] && stage=${words[k + 2]:-}
        nfrom=$((nfrom + 1))
        if ((nfrom == 1)); then first_stage=$stage; fi
        if [[ " ${stages[*]} " == *" $image "* || "$image" == scratch ]]; then
          :
        elif [[ "$image" == *'$'* ]]; then
          echo "FROM $image: not a literal image"
        elif [[ "$image" == *@sha256:* ]]; then
          :
        else
          tag=""
          [[ "${image##*/}" == *:* ]] && tag=${image##*:}
          if [[ -z "$tag" ]]; then
            echo "FROM $image: no tag (means latest)"
          elif [[ "$tag" == latest ]]; then
            echo "FROM $image: the tag latest is not pinned"
          fi
        fi
        [[ -n "$stage" ]] && stages+=("$stage")
        base=$image user="" copied=0 health="" exposed=0 entry="" final_runs=""
        ;;
      USER) user=$rest ;;
      COPY)
        [[ -n "$first_stage" && "$rest" == *"--from=$first_stage "* ]] && copied=1
        if [[ "$rest" == "go.mod go.sum"* ]]; then mod_copy=$i; fi
        if [[ "$rest" == ". ."* ]]; then src_copy=$i; fi
        ;;
      RUN)
        final_runs+="$rest"$'\n'
        if [[ "$rest" == *"go mod download"* ]]; then mod_dl=$i; fi
        if [[ "$rest" == *"go build"* ]]; then go_build=$rest; fi
        ;;
      EXPOSE) [[ " $rest " == *" $port "* || " $rest " == *" $port/tcp "* ]] && exposed=1 ;;
      HEALTHCHECK) health=$rest ;;
      ENTRYPOINT) entry=$rest ;;
    esac
    i=$((i + 1))
  done

  ((nfrom >= 2)) || echo "not multi-stage: $nfrom FROM"
  [[ -n "$first_stage" ]] || echo "the build stage has no name (FROM … AS build)"
  ((copied)) || echo "the final stage does not COPY --from=$first_stage"
  case ${user%%:*} in
    "") echo "the final stage has no USER (runs as root)" ;;
    root | 0) echo "the final stage's last USER is root: $user" ;;
  esac
  [[ -n "$go_build" ]] || echo "no go build"
  [[ "$go_build" == *CGO_ENABLED=0* ]] || echo "go build without CGO_ENABLED=0"
  [[ "$go_build" == *"-s -w"* ]] || echo "go build without -ldflags -s -w"
  [[ "$go_build" == *"-X main.version="* ]] || echo "go build without -X main.version"
  # A default on a platform ARG overrides the platform BuildKit passes (docker/buildx#510).
  if grep -Eq '^ARG (TARGETOS|TARGETARCH|TARGETPLATFORM)=' "$file"; then
    echo "a platform ARG has a default (cross-builds would get the wrong architecture)"
  fi
  ((mod_copy >= 0 && mod_dl > mod_copy && src_copy > mod_dl)) ||
    echo "go.mod/go.sum are not copied and downloaded before the sources"
  ((exposed)) || echo "no EXPOSE $port in the final stage"
  [[ "$entry" == '["'*'"]' ]] || echo "ENTRYPOINT is not in exec form: $entry"
  if [[ "$want_health" == yes ]]; then
    if [[ -z "$health" ]]; then
      echo "no HEALTHCHECK in the final stage"
    else
      # The probe's program must exist in the final image: busybox wget on
      # Alpine/BusyBox, anything else installed by a RUN of the final stage.
      local tool
      tool=$(sed -n 's/.*CMD \["\([^"]*\)".*/\1/p' <<<"$health")
      if ! [[ "$tool" == wget && "$base" =~ ^(alpine|busybox): ]] &&
        ! grep -Eq "(apk add|apt-get install).* $tool( |$)" <<<"$final_runs"; then
        echo "HEALTHCHECK uses '$tool', which $base does not have"
      fi
    fi
  elif [[ -n "$health" ]]; then
    echo "HEALTHCHECK present though not asked for"
  fi
}

expect_policy_ok() { # FILE PORT HEALTH
  local problems
  problems=$(policy "$@")
  [[ -z "$problems" ]] || fail "$1 breaks the policy:
$problems"
}

expect_policy_breaks() { # FILE PORT HEALTH PATTERN
  local problems
  problems=$(policy "$1" "$2" "$3")
  [[ "$problems" == *"$4"* ]] || fail "the policy did not report '$4' on $1; it said: ${problems:-nothing}"
}

# The default: only --binary.
expect_rc 0 gen dockerfile --binary api --out "$TMP/Dockerfile"
assert_file "$TMP/Dockerfile"
expect_policy_ok "$TMP/Dockerfile" 8080 no
expect_rc 0 gen dockerfile --binary api
cmp -s "$OUT_FILE" "$TMP/Dockerfile" || fail "stdout and --out differ"
grep -qx 'ENTRYPOINT \["/usr/local/bin/api"\]' "$TMP/Dockerfile" || fail "ENTRYPOINT is not /usr/local/bin/api"
grep -q -- '-o /out/api \.$' "$TMP/Dockerfile" || fail "the default package is not ."
ok "gen dockerfile --binary api passes the policy"

# Every option.
expect_rc 0 gen dockerfile --binary billing.v2 --main ./cmd/billing --go-version 1.22 \
  --port 9000 --healthcheck /healthz --out "$TMP/Dockerfile.full"
expect_policy_ok "$TMP/Dockerfile.full" 9000 yes
f=$TMP/Dockerfile.full
grep -q '^FROM .*golang:1\.22-bookworm AS build$' "$f" || fail "--go-version 1.22 not used"
grep -q -- '-o /out/billing\.v2 \./cmd/billing$' "$f" || fail "--binary/--main not used"
grep -q 'http://127\.0\.0\.1:9000/healthz' "$f" || fail "--healthcheck not probing port 9000"
grep -qx 'ENTRYPOINT \["/usr/local/bin/billing\.v2"\]' "$f" || fail "ENTRYPOINT"
ok "--main, --go-version, --port and --healthcheck reach the Dockerfile"

expect_rc 0 gen dockerfile --binary api --main example.com/svc/cmd/api --go-version 1.23.4 \
  --port 80 --out "$TMP/Dockerfile.import"
expect_policy_ok "$TMP/Dockerfile.import" 80 no
ok "an import path as --main"

# The policy catches each kind of bad Dockerfile (so the passes above mean
# something).
mutate() { # NAME SED-SCRIPT: a broken copy of the full Dockerfile
  sed -e "$2" "$f" >"$TMP/bad.$1"
  echo "$TMP/bad.$1"
}
expect_policy_breaks "$(mutate latest 's/^FROM alpine:3.20.3$/FROM alpine:latest/')" 9000 yes "not pinned"
expect_policy_breaks "$(mutate untagged 's/golang:1.22-bookworm/golang/')" 9000 yes "no tag"
expect_policy_breaks "$(mutate root 's/^USER .*/USER root/')" 9000 yes "USER is root"
expect_policy_breaks "$(mutate uid0 's/^USER .*/USER 0:0/')" 9000 yes "USER is root"
expect_policy_breaks "$(mutate nouser '/^USER /d')" 9000 yes "no USER"
expect_policy_breaks "$(mutate single "/^FROM alpine/,\$d")" 9000 yes "not multi-stage"
expect_policy_breaks "$(mutate nocopy 's/--from=build/--from=other/')" 9000 yes "COPY --from=build"
expect_policy_breaks "$(mutate cgo 's/CGO_ENABLED=0 //')" 9000 yes "CGO_ENABLED=0"
expect_policy_breaks "$(mutate strip 's/-s -w //')" 9000 yes "-s -w"
expect_policy_breaks "$(mutate arch 's/^ARG TARGETARCH$/ARG TARGETARCH=amd64/')" 9000 yes "platform ARG has a default"
expect_policy_breaks "$(mutate version 's/-X main.version=[^"]*//')" 9000 yes "-X main.version"
expect_policy_breaks "$(mutate expose 's/^EXPOSE .*/EXPOSE 81/')" 9000 yes "EXPOSE 9000"
expect_policy_breaks "$(mutate shellform 's/^ENTRYPOINT .*/ENTRYPOINT \/usr\/local\/bin\/api/')" 9000 yes "exec form"
expect_policy_breaks "$(mutate curl 's/"wget", "-q", "-O", "\/dev\/null"/"curl", "-f"/')" 9000 yes "uses 'curl'"
expect_policy_breaks "$(mutate layer '/^RUN go mod download/d')" 9000 yes "before the sources"
expect_policy_breaks "$f" 9000 no "not asked for"
expect_policy_breaks "$TMP/Dockerfile" 8080 yes "no HEALTHCHECK"
ok "the policy rejects unpinned, root, single-stage, dynamic and unstripped builds"

# Bad options: exit 2, one usage line naming the problem (flag parsing errors
# add a hint line), no file written, an existing --out file left alone.
check_bad() { expect_gen_refused dockerfile "$@"; } # EXPECTED-TEXT ARGS...
check_bad "give --binary NAME"
check_bad "--binary '../api'" --binary ../api
check_bad "--binary '-x'" --binary=-x
check_bad "--go-version 'latest'" --binary api --go-version latest
check_bad "--go-version '1'" --binary api --go-version 1
check_bad "--main './...'" --binary api --main ./...
check_bad "--main './cmd;rm'" --binary api --main './cmd;rm'
check_bad "--healthcheck 'healthz'" --binary api --healthcheck healthz
check_bad "--port" --binary api --port 0
