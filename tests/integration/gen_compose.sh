#!/usr/bin/env bash
# `acmectl gen compose` output through Debian's docker-compose (v1.29.2, whose
# `config` validates offline, no engine needed), with and without --postgres,
# several -d, --image and a wildcard; then the structure of the normalised
# `docker-compose config` output, read with python3-yaml: the services, a
# healthcheck on each (the app's only with --healthcheck), pinned images, the agent's command and volumes, nginx
# mounting only the certificate volume and read-only, the depends_on
# conditions, the reload loop, the postgres password taken from the
# environment. The `acmectl gen nginx` command the file's comment gives is run
# too, and its certificate path must be where nginx mounts the certificates.
# Bad options: exit 2, one line, no file.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

command -v docker-compose >/dev/null ||
  fail "docker-compose not installed (scripts/deps.sh installs it)"
PY=""
for py in python3 /usr/bin/python3; do
  if "$py" -c 'import yaml' 2>/dev/null; then
    PY=$py
    break
  fi
done
[[ -n "$PY" ]] || fail "python3 with yaml not found (scripts/deps.sh installs python3-yaml)"

# compose_config DIR [ENV...]: `docker-compose config` of DIR/docker-compose.yml
# with only the given environment for interpolation; output in DIR/config.yml.
compose_config() {
  local dir=$1 out
  shift
  out=$(cd "$dir" && env -u POSTGRES_PASSWORD "$@" docker-compose -f docker-compose.yml config -q 2>&1) ||
    fail "docker-compose config -q failed on $dir/docker-compose.yml:
$out"
  (cd "$dir" && env -u POSTGRES_PASSWORD "$@" docker-compose -f docker-compose.yml config \
    >config.yml 2>"$dir/config.err") ||
    fail "docker-compose config failed: $(cat "$dir/config.err")"
}

# check_structure CONFIG KEY=VALUE...: the checks on the normalised config;
# keys: image, port, first (certificate directory name), password (postgres).
check_structure() {
  "$PY" - "$@" <<'EOF'
import sys, yaml

path = sys.argv[1]
opt = dict(a.split("=", 1) for a in sys.argv[2:])
cfg = yaml.safe_load(open(path))
svc = cfg["services"]
problems = []
def need(cond, what):
    if not cond:
        problems.append(what)

postgres = "password" in opt
want = {"app", "acmectl", "nginx"} | ({"postgres"} if postgres else set())
need(set(svc) == want, f"services are {sorted(svc)}, expected {sorted(want)}")

def pinned(image):
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    return ":" in last and last.rsplit(":", 1)[1] != "latest"

def mounts(s):
    out = []
    for v in svc[s].get("volumes", []):
        parts = v.split(":")
        mode = parts[2] if len(parts) > 2 else "rw"
        out.append((parts[0], parts[1], mode))
    return out

health = opt.get("health", "")  # --healthcheck PATH given: the app has a healthcheck
for name, s in svc.items():
    need(pinned(s.get("image", "")), f"{name}: image {s.get('image')} is not pinned")
    test = s.get("healthcheck", {}).get("test")
    if name == "app" and not health:
        need(not test, "app: a healthcheck nobody asked for (--healthcheck PATH)")
    else:
        need(bool(test) and test != ["NONE"], f"{name}: no healthcheck")
    need(s.get("restart") == "unless-stopped", f"{name}: restart is {s.get('restart')}")

app, agent, nginx = svc.get("app", {}), svc.get("acmectl", {}), svc.get("nginx", {})
need(app.get("image") == opt["image"], f"app image {app.get('image')}, expected {opt['image']}")
need(opt["port"] in app.get("expose", []), f"app does not expose {opt['port']}")
if health:
    need(f"http://127.0.0.1:{opt['port']}{health}" in " ".join(app.get("healthcheck", {}).get("test", [])),
         "app healthcheck does not probe the app's port and --healthcheck path")

need(agent.get("command") == ["agent", "--config", "/etc/acmectl/acmectl.toml"],
     f"acmectl command is {agent.get('command')}")
agent_mounts = {t: (src, mode) for src, t, mode in mounts("acmectl")}
state = agent_mounts.get("/var/lib/acmectl")
live = agent_mounts.get("/var/lib/acmectl/live")
need(state and state[1] == "rw" and "/" not in state[0], "acmectl: no state volume at /var/lib/acmectl")
need(live and live[1] == "rw" and "/" not in live[0], "acmectl: no certificate volume at /var/lib/acmectl/live")
need(agent_mounts.get("/etc/acmectl/acmectl.toml", ("", ""))[1] == "ro", "acmectl: config not mounted read-only")

nginx_mounts = {t: (src, mode) for src, t, mode in mounts("nginx")}
if live:
    need(nginx_mounts.get("/var/lib/acmectl/live") == (live[0], "ro"),
         f"nginx does not mount {live[0]} read-only at /var/lib/acmectl/live: {nginx_mounts}")
if state:
    need(all(src != state[0] for src, _ in nginx_mounts.values()), "nginx mounts the agent's state")
site = nginx_mounts.get("/etc/nginx/conf.d/default.conf")
need(site and site[0].endswith("/nginx/site.conf") and site[1] == "ro",
     f"nginx site config mount: {site}")
published = sorted(int(p["published"]) for p in nginx.get("ports", []))
need(published == [80, 443], f"nginx publishes {published}")
command = " ".join(nginx.get("command", []))
need("nginx -s reload" in command and "sleep" in command and "daemon off;" in command,
     f"nginx command has no reload loop: {command}")
deps = nginx.get("depends_on", {})
want_app = "service_healthy" if health else "service_started"
need(deps.get("app", {}).get("condition") == want_app, f"nginx depends_on app: {deps.get('app')}")
need(deps.get("acmectl", {}).get("condition") == "service_started", f"nginx depends_on acmectl: {deps.get('acmectl')}")
# `$$` is compose's literal `$`: the normalised output keeps it escaped.
need("$$(cat /run/nginx.pid)" in " ".join(nginx.get("healthcheck", {}).get("test", [])),
     "nginx healthcheck lost its $$ escape")

volumes = set((cfg.get("volumes") or {}).keys())
for src, _ in list(agent_mounts.values()) + list(nginx_mounts.values()):
    if "/" not in src:
        need(src in volumes, f"volume {src} is not declared")

if postgres:
    pg = svc.get("postgres", {})
    env = pg.get("environment", {})
    need(env.get("POSTGRES_PASSWORD") == opt["password"], "postgres password is not the environment's")
    need(pg.get("image", "").startswith("postgres:"), f"postgres image {pg.get('image')}")
    need("pg_isready" in " ".join(pg.get("healthcheck", {}).get("test", [])), "postgres healthcheck is not pg_isready")
    data = [src for src, t, _ in mounts("postgres") if t == "/var/lib/postgresql/data"]
    need(data and data[0] in volumes, "postgres data is not on a named volume")
    user, db = env.get("POSTGRES_USER"), env.get("POSTGRES_DB")
    need(app.get("environment", {}).get("DATABASE_URL") ==
         f"postgres://{user}:{opt['password']}@postgres:5432/{db}?sslmode=disable",
         f"app DATABASE_URL is {app.get('environment', {}).get('DATABASE_URL')}")
    need(app.get("depends_on", {}).get("postgres", {}).get("condition") == "service_healthy",
         "app does not wait for a healthy postgres")
else:
    need("DATABASE_URL" not in (app.get("environment") or {}), "DATABASE_URL without postgres")

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
EOF
}

# raw_checks FILE: what the normalised output cannot show.
raw_checks() {
  local f=$1
  ! grep -Eq '^(name|version):' "$f" || fail "$f has a top-level name: or version:"
  # Every '$' is compose's escape '$$' or the required password variable.
  local stray
  # shellcheck disable=SC2016 # literal $ in the patterns
  stray=$(sed -e 's/\$\$//g' -e 's/\${POSTGRES_PASSWORD:?[^}]*}//g' "$f" | grep -n '\$' || true)
  [[ -z "$stray" ]] || fail "unescaped \$ in $f: $stray"
}

# nginx_site_from_comment DIR: runs the `acmectl gen nginx` command the compose
# file's comment gives, writing DIR/nginx/site.conf.
nginx_site_from_comment() {
  local dir=$1 cmd
  cmd=$(sed -n '/acmectl gen nginx/{N;p;}' "$dir/docker-compose.yml" |
    sed -e 's/^#[[:space:]]*nginx\/site\.conf[[:space:]]*//' -e 's/^#[[:space:]]*//' |
    tr -d '\\\n')
  [[ "$cmd" == "acmectl gen nginx "* ]] || fail "no gen nginx command in the comment: $cmd"
  local -a args
  mapfile -d '' args < <("$PY" -c 'import shlex, sys
for a in shlex.split(sys.argv[1])[1:]: sys.stdout.write(a + "\0")' "$cmd")
  # --out is relative to the compose file: write it there.
  local i
  for i in "${!args[@]}"; do
    if [[ "${args[i]}" == --out ]]; then
      assert_eq "${args[i + 1]}" nginx/site.conf "--out of the gen nginx command"
      args[i + 1]=$dir/nginx/site.conf
    fi
  done
  mkdir -p "$dir/nginx" "$dir/acmectl"
  expect_rc 0 "${args[@]}"
  assert_file "$dir/nginx/site.conf"
  : >"$dir/acmectl/acmectl.toml"
}

expect_site_matches() { # DIR CERT-DIR-NAME
  local site=$1/nginx/site.conf
  grep -q "ssl_certificate /var/lib/acmectl/live/$2/fullchain.pem;" "$site" ||
    fail "the nginx site does not read the certificate from the mounted volume ($2)"
  grep -q "ssl_certificate_key /var/lib/acmectl/live/$2/privkey.pem;" "$site" ||
    fail "the nginx site does not read the key from the mounted volume"
  grep -q 'proxy_pass http://acmectl:8402;' "$site" ||
    fail "the nginx site does not send HTTP-01 to acmectl:8402"
}

# 1. Only the required option.
d1=$TMP/plain
mkdir -p "$d1"
expect_rc 0 gen compose -d example.com --out "$d1/docker-compose.yml"
expect_rc 0 gen compose -d example.com
cmp -s "$OUT_FILE" "$d1/docker-compose.yml" || fail "stdout and --out differ"
raw_checks "$d1/docker-compose.yml"
nginx_site_from_comment "$d1"
expect_site_matches "$d1" example.com
compose_config "$d1"
out=$(check_structure "$d1/config.yml" image=app:local port=8080) ||
  fail "gen compose -d example.com:
$out"
ok "gen compose -d example.com: docker-compose config passes, structure as intended"

# 2. --postgres, several names, --image, --port: the password comes from the
# environment, and without it docker-compose refuses to start.
d2=$TMP/postgres
mkdir -p "$d2"
password="pw-$RANDOM$RANDOM"
expect_rc 0 gen compose -d API.example.org -d www.example.org --postgres \
  --image ghcr.io/acme/api:1.4.2 --port 3000 --healthcheck /healthz --out "$d2/docker-compose.yml"
raw_checks "$d2/docker-compose.yml"
! grep -q "$password" "$d2/docker-compose.yml" || fail "the password is in the file"
nginx_site_from_comment "$d2"
expect_site_matches "$d2" api.example.org
grep -q 'server app:3000;' "$d2/nginx/site.conf" || fail "the nginx site does not proxy to app:3000"
compose_config "$d2" POSTGRES_PASSWORD="$password"
out=$(check_structure "$d2/config.yml" image=ghcr.io/acme/api:1.4.2 port=3000 \
  password="$password" health=/healthz) || fail "gen compose --postgres:
$out"
if out=$(cd "$d2" && env -u POSTGRES_PASSWORD docker-compose -f docker-compose.yml config -q 2>&1); then
  fail "docker-compose config passed without POSTGRES_PASSWORD"
fi
[[ "$out" == *POSTGRES_PASSWORD* ]] || fail "the error without a password does not name POSTGRES_PASSWORD: $out"
ok "gen compose --postgres: config passes with POSTGRES_PASSWORD from the environment, fails without"

# 3. A wildcard first name, an image by digest, another acmectl image.
d3=$TMP/wildcard
mkdir -p "$d3"
digest=sha256:$(printf '%064d' 7)
expect_rc 0 gen compose -d '*.example.net' -d example.net --image "app@$digest" \
  --acmectl-image registry.example.net:5000/ops/acmectl:0.1.0 --out "$d3/docker-compose.yml"
raw_checks "$d3/docker-compose.yml"
grep -q '/var/lib/acmectl/live/_wildcard.example.net/{fullchain,privkey}.pem' "$d3/docker-compose.yml" ||
  fail "the comment does not name the _wildcard. certificate directory"
grep -q -- '--challenge dns-01' "$d3/docker-compose.yml" || fail "a wildcard bootstrap without DNS-01"
nginx_site_from_comment "$d3"
expect_site_matches "$d3" _wildcard.example.net
compose_config "$d3"
out=$(check_structure "$d3/config.yml" "image=app@$digest" port=8080) ||
  fail "gen compose with a wildcard:
$out"
grep -q 'image: registry.example.net:5000/ops/acmectl:0.1.0' "$d3/config.yml" ||
  fail "--acmectl-image not used"
ok "a wildcard name, a digest-pinned image and --acmectl-image"

# The structure check itself fails on a file that breaks the rules.
sed -e 's/condition: service_healthy/condition: service_started/' \
  -e 's/acmectl-live:\/var\/lib\/acmectl\/live:ro/acmectl-state:\/var\/lib\/acmectl\/live:ro/' \
  "$d2/config.yml" >"$TMP/broken.yml"
if out=$(check_structure "$TMP/broken.yml" image=ghcr.io/acme/api:1.4.2 port=3000 \
  password="$password" health=/healthz); then
  fail "the structure check passed a broken config"
fi
[[ "$out" == *"nginx depends_on app"* && "$out" == *"nginx mounts the agent's state"* ]] ||
  fail "the structure check missed a problem: $out"
ok "the structure check rejects a broken config"

# Bad options: exit 2, one line naming the problem, no file.
check_bad() { expect_gen_refused compose "$@"; } # EXPECTED-TEXT ARGS...
check_bad "give -d NAME"
check_bad "-d 'bad name.example'" -d 'bad name.example'
check_bad "-d 'a..b'" -d example.com -d a..b
check_bad "given twice" -d example.com -d EXAMPLE.com
check_bad "--image 'app:latest'" -d example.com --image app:latest
check_bad "--image 'app': no tag" -d example.com --image app
check_bad "--image 'bad image'" -d example.com --image 'bad image'
check_bad "--acmectl-image 'acmectl'" -d example.com --acmectl-image acmectl
check_bad "--healthcheck 'healthz'" -d example.com --healthcheck healthz
