#!/usr/bin/env bash
# The package's polkit rule (packaging/polkit/50-acmectl.rules), evaluated by node the way
# polkitd evaluates rules (a `polkit` object with addRule and Result; action.lookup for
# the unit and verb): the user acmectl may reload nginx, apache2 and haproxy, and nothing
# else -- no restart, no stop, no other unit, no other user, no other action.
set -euo pipefail
rule="$(dirname "$0")/../../packaging/polkit/50-acmectl.rules"
command -v node >/dev/null || {
  echo "SKIP: no node (Debian package nodejs) to evaluate the rule"
  exit 77
}
node - "$rule" <<'JS'
const fs = require("fs");
const rules = [];
const polkit = {
  Result: { YES: "yes", NO: "no", NOT_HANDLED: null },
  addRule: (f) => rules.push(f),
};
new Function("polkit", fs.readFileSync(process.argv[2], "utf8"))(polkit);
if (rules.length !== 1) throw new Error(`expected one rule, got ${rules.length}`);
const decide = (id, user, unit, verb) =>
  rules[0]({ id, lookup: (k) => ({ unit, verb })[k] }, { user });
const M = "org.freedesktop.systemd1.manage-units";
const cases = [
  [M, "acmectl", "nginx.service", "reload", "yes"],
  [M, "acmectl", "apache2.service", "reload", "yes"],
  [M, "acmectl", "haproxy.service", "reload-or-try-restart", "yes"],
  [M, "acmectl", "nginx.service", "reload-or-restart", null],
  [M, "acmectl", "nginx.service", "restart", null],
  [M, "acmectl", "nginx.service", "stop", null],
  [M, "acmectl", "nginx.service", "start", null],
  [M, "acmectl", "ssh.service", "reload", null],
  [M, "acmectl", "nginx.service.d", "reload", null],
  [M, "www-data", "nginx.service", "reload", null],
  ["org.freedesktop.systemd1.manage-unit-files", "acmectl", "nginx.service", "reload", null],
];
let bad = 0;
for (const [id, user, unit, verb, want] of cases) {
  const got = decide(id, user, unit, verb);
  const ok = (got === undefined ? null : got) === want;
  console.log(`${ok ? "ok" : "FAIL"} - ${user} ${verb} ${unit} (${id}): ${got}`);
  if (!ok) bad++;
}
process.exit(bad ? 1 : 0);
JS
