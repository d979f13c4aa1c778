#!/usr/bin/env bash
# Checks the deploy bundle's rules and dashboards without a cluster:
#   - promtool check rules and cairn check-rules accept both rule files;
#   - promtool's unit tests (deploy/cairn/rules/tests/) pass: each of the
#     seven alerts fires when it should and stays silent when it should not;
#   - every alert has severity, team, summary, description and a runbook_url
#     to docs/runbooks/<AlertName>.md, and that runbook exists;
#   - the four dashboards parse, carry the expected uid and exactly the
#     expected panel titles, use only Cairn's datasource uids, describe every
#     panel, and every PromQL query (variables substituted) and LogQL
#     annotation parses (checked with promtool and cairn check-rules);
#   - every metric the rules and dashboards read is in
#     docs/metrics-contract.md or is recorded by recording.yaml;
#   - wp_clones_active (reported by every replica) is always read as
#     max by (target_namespace) (...), never summed across pods;
#   - every LogQL `level` matcher in dashboards and runbooks uses the
#     contract's values (debug, info, warn, error, fatal);
#   - the two histogram panels that show exemplars keep a raw-histogram
#     target with "exemplar": true.
#
# Run from the repository root:
#   CAIRN_BIN=target/debug/cairn bash tests/e2e/rules_check.sh
# Needs promtool (Prometheus 2.42 or later), python3 with PyYAML, and a
# built cairn binary (default target/debug/cairn).
set -euo pipefail

CAIRN_BIN="${CAIRN_BIN:-target/debug/cairn}"
RULES_DIR=deploy/cairn/rules
RULE_FILES=("$RULES_DIR/recording.yaml" "$RULES_DIR/alerts.yaml")
DASHBOARD_DIR=deploy/grafana/dashboards
RUNBOOK_DIR=docs/runbooks

fail() { echo "rules_check: FAILED: $*" >&2; exit 1; }

[ -f "${RULE_FILES[0]}" ] || fail "run from the repository root (${RULE_FILES[0]} not found)"
command -v promtool >/dev/null || fail "promtool not found"
[ -x "$CAIRN_BIN" ] || fail "cairn binary $CAIRN_BIN not found or not executable (set CAIRN_BIN)"
python3 -c 'import yaml' 2>/dev/null || fail "python3 needs PyYAML (python3-yaml)"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "== promtool check rules ${RULE_FILES[*]}"
promtool check rules "${RULE_FILES[@]}" || fail "promtool check rules"

echo "== $CAIRN_BIN check-rules ${RULE_FILES[*]}"
"$CAIRN_BIN" check-rules "${RULE_FILES[@]}" || fail "cairn check-rules"

echo "== promtool test rules $RULES_DIR/tests/*.yaml"
shopt -s nullglob
TESTS=("$RULES_DIR"/tests/*.yaml)
shopt -u nullglob
[ "${#TESTS[@]}" -gt 0 ] || fail "no unit test files in $RULES_DIR/tests"
promtool test rules "${TESTS[@]}" || fail "promtool test rules"

echo "== alerts: labels, annotations, runbooks; dashboards: uids, panels, datasources, queries"
python3 - "$RULES_DIR/alerts.yaml" "$RULES_DIR/tests" "$DASHBOARD_DIR" "$RUNBOOK_DIR" "$WORK" "$RULES_DIR/recording.yaml" docs/metrics-contract.md <<'PY' || fail "alert or dashboard checks (PROBLEM lines above)"
import json, os, re, sys
import yaml

alerts_file, tests_dir, dash_dir, runbook_dir, work, recording_file, contract_file = sys.argv[1:8]
problems = []

# ---------------------------------------------------------------- alerts
EXPECTED_ALERTS = {
    "WpK8sServiceCrashLooping": "critical",
    "WordPressCloneFailureRateHigh": "critical",
    "RDSConnectionFailures": "critical",
    "KarpenterCannotProvisionNodes": "critical",
    "WordPressCloneProvisioningSlow": "warning",
    "WordPressActiveClonesHigh": "warning",
    "NodeDiskUsageHigh": "warning",
}
RUNBOOK_BASE = "https://github.com/cairn-observability/cairn/blob/main/docs/runbooks/"

with open(alerts_file) as f:
    doc = yaml.safe_load(f)
alerts = {}
for group in doc["groups"]:
    for rule in group["rules"]:
        if "alert" in rule:
            alerts[rule["alert"]] = rule
if set(alerts) != set(EXPECTED_ALERTS):
    problems.append(f"alerts are {sorted(alerts)}, expected {sorted(EXPECTED_ALERTS)}")
for name, rule in sorted(alerts.items()):
    labels = rule.get("labels", {})
    ann = rule.get("annotations", {})
    if labels.get("severity") != EXPECTED_ALERTS.get(name):
        problems.append(f"{name}: severity {labels.get('severity')!r}, expected {EXPECTED_ALERTS.get(name)!r}")
    if not labels.get("team"):
        problems.append(f"{name}: no team label")
    for key in ("summary", "description", "runbook_url"):
        if not str(ann.get(key, "")).strip():
            problems.append(f"{name}: no {key} annotation")
    url = ann.get("runbook_url", "")
    if url != RUNBOOK_BASE + name + ".md":
        problems.append(f"{name}: runbook_url {url!r}, expected {RUNBOOK_BASE + name + '.md'!r}")
    if not os.path.isfile(os.path.join(runbook_dir, name + ".md")):
        problems.append(f"{name}: runbook {runbook_dir}/{name}.md missing")
    print(f"  alert {name}: severity={labels.get('severity')}, for={rule.get('for', '0s')}, runbook {runbook_dir}/{name}.md")
if not os.path.isfile(os.path.join(runbook_dir, "README.md")):
    problems.append(f"{runbook_dir}/README.md missing")

# Every alert has a firing case and a silent case in the unit tests.
fires, silent = set(), set()
for fn in sorted(os.listdir(tests_dir)):
    if not fn.endswith(".yaml"):
        continue
    with open(os.path.join(tests_dir, fn)) as f:
        tdoc = yaml.safe_load(f)
    for test in tdoc.get("tests", []):
        for case in test.get("alert_rule_test", []) or []:
            (fires if case.get("exp_alerts") else silent).add(case["alertname"])
for name in EXPECTED_ALERTS:
    if name not in fires:
        problems.append(f"{name}: no unit test where it fires")
    if name not in silent:
        problems.append(f"{name}: no unit test where it stays silent")
print(f"  unit tests: {len(fires)} alerts with a firing case, {len(silent)} with a silent case")

# ---------------------------------------------------------------- dashboards
EXPECTED_DASHBOARDS = {
    "system-overview.json": ("cairn-system-overview", [
        "Cluster CPU utilisation", "Cluster memory utilisation", "Karpenter node count",
        "Pods by namespace", "API server request rate"]),
    "wordpress-clones.json": ("cairn-wordpress-clones", [
        "Active clones", "Provisioning time", "Provisioning success rate", "Clones per day"]),
    "wp-k8s-service.json": ("cairn-wp-k8s-service", [
        "Request rate by endpoint", "Latency p50 / p95 / p99", "4xx / 5xx error rate",
        "Kubernetes API call latency"]),
    "karpenter.json": ("cairn-karpenter", [
        "Nodes provisioned / deprovisioned", "Provisioning time", "Node utilisation", "Spot interruptions"]),
}
DATASOURCES = {"prometheus": "cairn-prometheus", "loki": "cairn-loki", "tempo": "cairn-tempo",
               "grafana": "-- Grafana --"}
# Values the variables take when a test substitutes them ($__rate_interval: 4 x a 15 s scrape).
SUBST = {"$__rate_interval": "1m", "$namespace": "wordpress-staging|wordpress-production", "$nodepool": ".*"}

def substitute(expr):
    for k, v in SUBST.items():
        expr = expr.replace(k, v)
    if "$" in expr.replace("$value", ""):
        problems.append(f"unsubstituted variable left in {expr!r}")
    return expr

promql, logql = [], []

def check_ds(where, ds):
    if not isinstance(ds, dict) or DATASOURCES.get(ds.get("type")) != ds.get("uid"):
        problems.append(f"{where}: datasource {ds!r} is not one of Cairn's ({DATASOURCES})")

present = sorted(fn for fn in os.listdir(dash_dir) if fn.endswith(".json"))
if present != sorted(EXPECTED_DASHBOARDS):
    problems.append(f"dashboards are {present}, expected {sorted(EXPECTED_DASHBOARDS)}")
for fn, (uid, titles) in sorted(EXPECTED_DASHBOARDS.items()):
    path = os.path.join(dash_dir, fn)
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        problems.append(f"{path}: {e}")
        continue
    if d.get("uid") != uid:
        problems.append(f"{fn}: uid {d.get('uid')!r}, expected {uid!r}")
    if "__inputs" in d:
        problems.append(f"{fn}: has __inputs (not provisionable as is)")
    if "cairn" not in d.get("tags", []):
        problems.append(f"{fn}: no 'cairn' tag (dashboard links use it)")
    if d.get("refresh") != "30s":
        problems.append(f"{fn}: refresh {d.get('refresh')!r}, expected '30s'")
    panels = d.get("panels", [])
    got = [p.get("title") for p in panels]
    if got != titles:
        problems.append(f"{fn}: panel titles {got}, expected exactly {titles}")
    for p in panels:
        where = f"{fn} panel {p.get('title')!r}"
        if not p.get("description", "").strip():
            problems.append(f"{where}: no description")
        check_ds(where, p.get("datasource"))
        if not p.get("targets"):
            problems.append(f"{where}: no queries")
        for t in p.get("targets", []):
            check_ds(where, t.get("datasource"))
            if t.get("datasource", {}).get("type") == "prometheus":
                promql.append((where, substitute(t["expr"])))
            elif t.get("datasource", {}).get("type") == "loki":
                logql.append((where, substitute(t["expr"])))
    for a in d.get("annotations", {}).get("list", []):
        where = f"{fn} annotation {a.get('name')!r}"
        check_ds(where, a.get("datasource"))
        if a.get("builtIn"):
            continue
        expr = a.get("target", {}).get("expr") or a.get("expr")
        (promql if a["datasource"]["type"] == "prometheus" else logql).append((where, substitute(expr)))
    for v in d.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            check_ds(f"{fn} variable {v.get('name')}", v.get("datasource"))
    print(f"  dashboard {fn}: uid {d.get('uid')}, {len(panels)} panels: {', '.join(got)}")
    if os.path.basename(fn) in ("wordpress-clones.json", "wp-k8s-service.json"):
        kinds = {a["datasource"]["type"] for a in d["annotations"]["list"] if not a.get("builtIn")}
        if kinds != {"prometheus", "loki"}:
            problems.append(f"{fn}: annotations from {sorted(kinds)}, expected a Loki and a Prometheus one")

# ---------------------------------------------------------------- metric names
# Every series a rule or a PromQL dashboard query reads is in the metrics
# contract (histogram _bucket/_count/_sum of a contract histogram included)
# or is written by a recording rule. Names are the identifiers left once
# strings, label matchers, ranges and grouping clauses are removed and
# function calls are skipped.
with open(contract_file) as f:
    contract = set(re.findall(r"`([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^`]*\})?`", f.read()))
with open(recording_file) as f:
    rec_doc = yaml.safe_load(f)
recorded = {r["record"] for g in rec_doc["groups"] for r in g["rules"] if "record" in r}
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
            "bool", "offset", "inf", "nan"}

def metric_names(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        if e[m.end():].lstrip().startswith("(") or m.group(0).lower() in KEYWORDS:
            continue
        names.add(m.group(0))
    return names

rule_exprs = [(f"{os.path.basename(recording_file)} {r['record']}", r["expr"])
              for g in rec_doc["groups"] for r in g["rules"]]
rule_exprs += [(f"{os.path.basename(alerts_file)} {n}", r["expr"]) for n, r in alerts.items()]
checked = set()
for where, expr in rule_exprs + promql:
    for name in metric_names(expr):
        base = re.sub(r"_(bucket|count|sum)$", "", name)
        checked.add(name)
        if name not in contract and base not in contract and name not in recorded and name != "ALERTS":
            problems.append(f"{where}: reads {name}, which is neither in {contract_file} nor recorded")
print(f"  {len(checked)} metric names read by rules and dashboards, all in the contract or recorded"
      if not any("neither in" in p for p in problems) else "  metric names: see PROBLEM lines")

# wp_clones_active: every replica of wp-k8s-service reports the same count
# of clone objects, so each read combines the pods with
# max by (target_namespace) (summing them would count a clone per replica).
all_exprs = rule_exprs + promql
for where, expr in all_exprs:
    for m in re.finditer(r"\bwp_clones_active\b(?!:)", expr):
        before = expr[:m.start()].rstrip()
        if not re.search(r"max by \(target_namespace\) \($", before):
            problems.append(f"{where}: reads wp_clones_active without max by (target_namespace) (...): {expr!r}")

# Log levels: LogQL in dashboards and runbooks matches only the contract's
# values (debug, info, warn, error, fatal).
LEVELS = {"debug", "info", "warn", "error", "fatal"}
level_sources = [(w, e) for w, e in logql]
for fn in sorted(os.listdir(runbook_dir)):
    if fn.endswith(".md"):
        with open(os.path.join(runbook_dir, fn)) as f:
            level_sources.append((f"{runbook_dir}/{fn}", f.read()))
n_levels = 0
for where, text in level_sources:
    for m in re.finditer(r'\blevel\s*(=~|!~|!=|=)\s*"([^"]*)"', text):
        n_levels += 1
        values = set(m.group(2).split("|")) if "~" in m.group(1) else {m.group(2)}
        if not values <= LEVELS:
            problems.append(f"{where}: level {m.group(1)} {m.group(2)!r} uses {sorted(values - LEVELS)}, "
                            f"not one of the contract's levels {sorted(LEVELS)}")
print(f"  {n_levels} LogQL level matchers in dashboards and runbooks, all on {sorted(LEVELS)}")

# Exemplars: these panels have a target on the raw histogram with
# "exemplar": true (a recording rule's series carry no exemplars).
EXEMPLAR_PANELS = {"wp-k8s-service.json": ("Latency p50 / p95 / p99", "http_server_request_duration_seconds_bucket"),
                   "wordpress-clones.json": ("Provisioning time", "wp_clone_provisioning_duration_seconds_bucket")}
for fn, (title, series) in EXEMPLAR_PANELS.items():
    with open(os.path.join(dash_dir, fn)) as f:
        d = json.load(f)
    panel = next((p for p in d["panels"] if p.get("title") == title), {})
    if not any(t.get("exemplar") is True and series in t.get("expr", "") and not t.get("hide")
               for t in panel.get("targets", [])):
        problems.append(f"{fn} panel {title!r}: no visible target on {series} with \"exemplar\": true")
print(f"  exemplars on: " + ", ".join(f"{fn} {t!r}" for fn, (t, _) in EXEMPLAR_PANELS.items()))

# Queries become rules of two throw-away files so that promtool (PromQL) and
# cairn check-rules --logql (LogQL, wrapped in count_over_time) parse them.
def rule_file(name, exprs):
    rules = [{"record": f"dashboard:query_{i}:check", "expr": e} for i, (_, e) in enumerate(exprs)]
    with open(os.path.join(work, name), "w") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}, f, sort_keys=False)
rule_file("promql.yaml", promql)
rule_file("logql.yaml", [(w, f"count_over_time({e} [5m])") for w, e in logql])
print(f"  {len(promql)} PromQL and {len(logql)} LogQL dashboard queries to parse")

if problems:
    for p in problems:
        print("  PROBLEM: " + p, file=sys.stderr)
    sys.exit(1)
PY

echo "== dashboard PromQL queries: promtool check rules"
promtool check rules "$WORK/promql.yaml" || fail "a dashboard PromQL query does not parse"
echo "== dashboard PromQL queries: $CAIRN_BIN check-rules"
"$CAIRN_BIN" check-rules "$WORK/promql.yaml" || fail "Cairn cannot parse a dashboard PromQL query"
echo "== dashboard LogQL annotations: $CAIRN_BIN check-rules --logql"
"$CAIRN_BIN" check-rules --logql "$WORK/logql.yaml" || fail "Cairn cannot parse a dashboard LogQL query"

echo "rules_check: OK (2 rule files, ${#TESTS[@]} unit test files, 7 alerts with runbooks, 4 dashboards)"
