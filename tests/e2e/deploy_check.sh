#!/usr/bin/env bash
# Checks the Kubernetes deploy bundle under deploy/ without a cluster:
#   1. every kustomization renders (`kubectl kustomize`);
#   2. every rendered object validates against the Kubernetes 1.32 OpenAPI
#      schemas (PyPI kubernetes-validate, strict: unknown fields fail). Only the
#      custom kinds listed in CUSTOM_KINDS may lack a schema, and they get
#      structural checks of their own instead; a core kind without a schema,
#      or any object not validated, fails;
#   3. the chart values files are valid YAML with the settings Cairn relies on;
#   4. `amtool check-config` accepts deploy/alertmanager/alertmanager.yaml and
#      the copy in the kube-prometheus-stack values is the same YAML;
#   5. `cairn check-config` accepts deploy/cairn/cairn.yaml, and the
#      StatefulSet mounts what the config names.
# Run from the repository root:  bash tests/e2e/deploy_check.sh
# Needs: kubectl (with kustomize), amtool, python3 with PyYAML and
# kubernetes-validate, and a cairn binary ($CAIRN_BIN, default
# target/debug/cairn).
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.32.0}"
CAIRN_BIN="${CAIRN_BIN:-target/debug/cairn}"
CUSTOM_KINDS="OpenTelemetryCollector Instrumentation"

fail() { echo "deploy_check: FAIL: $*" >&2; exit 1; }

[ -d deploy ] && [ -f Cargo.toml ] || fail "run from the repository root"
for tool in kubectl amtool python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done
python3 -c 'import yaml, kubernetes_validate' 2>/dev/null \
  || fail "python3 needs PyYAML and kubernetes-validate (pip install kubernetes-validate)"
[ -x "$CAIRN_BIN" ] || fail "no cairn binary at $CAIRN_BIN (build it or set CAIRN_BIN)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# 1. Render every kustomization.
mapfile -t kdirs < <(find deploy -name kustomization.yaml -printf '%h\n' | sort)
[ "${#kdirs[@]}" -ge 4 ] || fail "expected at least 4 kustomizations under deploy/, found ${#kdirs[@]}"
rendered=()
for d in "${kdirs[@]}"; do
  out="$work/$(echo "$d" | tr '/' '_').yaml"
  kubectl kustomize "$d" > "$out" 2> "$work/kustomize.err" \
    || { cat "$work/kustomize.err" >&2; fail "kubectl kustomize $d"; }
  echo "rendered   $d ($(grep -c '^kind:' "$out") objects)"
  rendered+=("$out")
done

# 2.-5. are checked in Python.
python3 - "$K8S_VERSION" "$CUSTOM_KINDS" "$work" "${rendered[@]}" <<'PY'
import sys, yaml, kubernetes_validate
from kubernetes_validate.utils import ValidationError, SchemaNotFoundError

version, custom_kinds, work = sys.argv[1], set(sys.argv[2].split()), sys.argv[3]
files = sys.argv[4:]

def fail(msg):
    print("deploy_check: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)

def validate(obj):
    """'ok', 'no-schema' or raises ValidationError."""
    try:
        kubernetes_validate.validate(obj, version, strict=True)
        return "ok"
    except SchemaNotFoundError:
        return "no-schema"

# The validator must be live: a Deployment with a misspelt field and one
# with a wrong type both have to fail, a correct one has to pass.
good = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
        "spec": {"selector": {"matchLabels": {"a": "b"}},
                 "template": {"metadata": {"labels": {"a": "b"}},
                              "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
if validate(good) != "ok":
    fail("kubernetes-validate has no schema for apps/v1 Deployment at " + version)
import copy
bad_field = copy.deepcopy(good); bad_field["spec"]["replica"] = 1
bad_type = copy.deepcopy(good); bad_type["spec"]["replicas"] = "one"
for name, bad in (("unknown field", bad_field), ("wrong type", bad_type)):
    try:
        validate(bad)
        fail("kubernetes-validate accepted a Deployment with a " + name)
    except ValidationError:
        pass
from kubernetes_validate.version import __version__ as kv_version
print(f"validator  kubernetes-validate {kv_version}, strict, Kubernetes {version}: "
      "rejects an unknown field and a wrong type")

objects = []
for f in files:
    for doc in yaml.safe_load_all(open(f)):
        if doc:
            objects.append((f, doc))
# deploy/kustomization.yaml must compose every other kustomization: each
# object rendered from a subdirectory must be in the top-level rendering.
# The consistency checks below read the top-level rendering only.
top = [obj for f, obj in objects if f.endswith("/deploy.yaml")]
if not top:
    fail("deploy/kustomization.yaml did not render")
def ident(o):
    return (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])
top_ids = {ident(o): o for o in top}
for f, obj in objects:
    if not f.endswith("/deploy.yaml"):
        if top_ids.get(ident(obj)) != obj:
            fail(f"{ident(obj)} from {f} is not in (or differs in) the rendering of deploy/")
print(f"composed   deploy/ renders all {len(top)} objects of its parts")
checked, skipped = {}, {}
for f, obj in objects:
    kind, name = obj.get("kind"), obj.get("metadata", {}).get("name")
    try:
        res = validate(obj)
    except ValidationError as e:
        path = ".".join(str(p) for p in e.path)
        fail(f"{kind}/{name} ({f}): {path}: {e.message}")
    if res == "no-schema":
        if kind not in custom_kinds:
            fail(f"{kind}/{name} ({f}) has no schema in kubernetes-validate for "
                 f"{version} and is not a known custom kind: it was not validated")
        skipped[kind] = skipped.get(kind, 0) + 1
    else:
        checked[kind] = checked.get(kind, 0) + 1
total = sum(checked.values()) + sum(skipped.values())
if total != len(objects):
    fail(f"{len(objects)} objects rendered but {total} accounted for")
for required in ("StatefulSet", "Service", "ConfigMap", "ServiceAccount",
                 "ClusterRole", "ClusterRoleBinding"):
    if required not in checked:
        fail(f"no {required} was validated")
# No Namespace in any kustomization: `kubectl delete -k deploy/` would
# delete it, and with it Cairn's volume claim and (reclaim policy Delete)
# its EBS volume. The install steps create `observability` instead, and
# every namespaced object names its namespace.
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding"}
for f, obj in objects:
    kind, meta = obj["kind"], obj["metadata"]
    if kind == "Namespace":
        fail(f"Namespace/{meta['name']} ({f}) is in a kustomization: "
             "`kubectl delete -k` would delete it with Cairn's data")
    if kind not in CLUSTER_SCOPED and meta.get("namespace") not in ("observability", "monitoring"):
        fail(f"{kind}/{meta['name']} ({f}) has namespace {meta.get('namespace')!r}, "
             "expected observability or monitoring")
doc = open("docs/kubernetes.md").read()
if "kubectl create namespace observability" not in doc:
    fail("docs/kubernetes.md does not create the namespace observability before the apply")
print("validated  (every rendering) " + ", ".join(f"{k} x{v}" for k, v in sorted(checked.items())))
print("custom     " + ", ".join(f"{k} x{v}" for k, v in sorted(skipped.items()))
      + " (no Kubernetes schema; structure checked below)")

by_kind = {}
for obj in top:
    by_kind.setdefault(obj["kind"], []).append(obj)

# Custom resources: the fields the operator needs, and a collector config
# whose pipelines only name components it defines.
for col in by_kind.get("OpenTelemetryCollector", []):
    if col["apiVersion"] != "opentelemetry.io/v1beta1":
        fail("OpenTelemetryCollector must be opentelemetry.io/v1beta1")
    cfg = col["spec"]["config"]
    defined = {sec: set(cfg.get(sec) or {}) for sec in ("receivers", "processors", "exporters", "extensions")}
    pipelines = cfg["service"]["pipelines"]
    if set(pipelines) != {"traces", "logs", "metrics"}:
        fail(f"collector pipelines are {sorted(pipelines)}, want traces, logs, metrics")
    for pname, p in pipelines.items():
        for sec in ("receivers", "processors", "exporters"):
            for comp in p.get(sec, []):
                if comp not in defined[sec]:
                    fail(f"collector pipeline {pname} uses {sec[:-1]} {comp}, which is not defined")
        if p["processors"][0] != "memory_limiter" or p["processors"][-1] != "batch":
            fail(f"collector pipeline {pname}: memory_limiter must come first and batch last")
    for ext in cfg["service"].get("extensions", []):
        if ext not in defined["extensions"]:
            fail(f"collector extension {ext} is not defined")
    eps = [e.get("endpoint", "") for e in cfg["exporters"].values()]
    if not any("cairn.observability.svc" in e for e in eps):
        fail("no collector exporter points at cairn.observability.svc")
for ins in by_kind.get("Instrumentation", []):
    env = {e["name"]: e["value"] for e in ins["spec"]["python"]["env"]}
    for k, v in (("OTEL_SEMCONV_STABILITY_OPT_IN", "http"),
                 ("OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED", "true")):
        if env.get(k) != v:
            fail(f"Instrumentation python env {k} should be {v!r}")
    # inject-sdk (the default for wp-k8s-service) applies spec.env only:
    # metrics scraped from :9464, traces over OTLP, logs through Fluent Bit.
    sdk_env = {e["name"]: e["value"] for e in ins["spec"].get("env", [])}
    for k, v in (("OTEL_SEMCONV_STABILITY_OPT_IN", "http"),
                 ("OTEL_TRACES_EXPORTER", "otlp"),
                 ("OTEL_METRICS_EXPORTER", "prometheus"),
                 ("OTEL_EXPORTER_PROMETHEUS_HOST", "0.0.0.0"),
                 ("OTEL_EXPORTER_PROMETHEUS_PORT", "9464"),
                 ("OTEL_LOGS_EXPORTER", "none")):
        if sdk_env.get(k) != v:
            fail(f"Instrumentation spec.env {k} should be {v!r} (inject-sdk path)")
    if ins["spec"]["sampler"]["type"] != "parentbased_always_on":
        fail("Instrumentation sampler should be parentbased_always_on (100 %)")
print("custom     collector pipelines and Python instrumentation are consistent")

# Grafana dashboards: one labelled ConfigMap per dashboard, each holding JSON.
dash = [cm for cm in by_kind.get("ConfigMap", [])
        if cm["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
names = sorted(k for cm in dash for k in cm["data"])
want = ["karpenter.json", "system-overview.json", "wordpress-clones.json", "wp-k8s-service.json"]
if names != want:
    fail(f"dashboard ConfigMaps hold {names}, want {want}")
import json
for cm in dash:
    if cm["metadata"].get("namespace") != "monitoring":
        fail(f"dashboard ConfigMap {cm['metadata']['name']} is not in namespace monitoring")
    for k, v in cm["data"].items():
        try:
            json.loads(v)
        except ValueError as e:
            fail(f"dashboard {k} is not JSON: {e}")
print(f"grafana    {len(dash)} dashboard ConfigMaps labelled grafana_dashboard=1")

# Cairn: the StatefulSet mounts what cairn.yaml names, and waits long enough.
sts = [s for s in by_kind.get("StatefulSet", []) if s["metadata"]["name"] == "cairn"]
if len(sts) != 1:
    fail("expected one StatefulSet named cairn")
sts = sts[0]
cms = {cm["metadata"]["name"]: cm for cm in by_kind.get("ConfigMap", [])}
cfg = yaml.safe_load(cms["cairn-config"]["data"]["cairn.yaml"])
open(f"{work}/cairn.yaml", "w").write(cms["cairn-config"]["data"]["cairn.yaml"])
pod = sts["spec"]["template"]["spec"]
cairn = [c for c in pod["containers"] if c["name"] == "cairn"][0]
mounts = {m["name"]: m["mountPath"] for m in cairn["volumeMounts"]}
vols = {v["name"]: v for v in pod["volumes"]}
args = cairn["args"]
conf_path = args[args.index("--config") + 1]
if mounts.get("config", "") != conf_path:
    fail(f"--config {conf_path} but the config volume is mounted at {mounts.get('config')}")
if mounts.get("data") != cfg["storage"]["data_dir"]:
    fail(f"storage.data_dir {cfg['storage']['data_dir']} is not the data volume ({mounts.get('data')})")
for glob in cfg["rules"]["files"]:
    if glob.rsplit("/", 1)[0] != mounts.get("rules"):
        fail(f"rules.files {glob} is not under the rules mount {mounts.get('rules')}")
rules_cm = vols["rules"]["configMap"]["name"]
if sorted(cms[rules_cm]["data"]) != ["alerts.yaml", "recording.yaml"]:
    fail(f"ConfigMap {rules_cm} holds {sorted(cms[rules_cm]['data'])}")
def seconds(d):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for u in ("ms", "s", "m", "h"):
        if d.endswith(u) and d[: -len(u)].isdigit():
            return int(d[: -len(u)]) * units[u]
    fail(f"cannot read duration {d}")
grace = seconds(cfg["server"].get("graceful_shutdown_timeout", "30s"))
if pod["terminationGracePeriodSeconds"] <= grace + 5:
    fail(f"terminationGracePeriodSeconds {pod['terminationGracePeriodSeconds']} is not above "
         f"graceful_shutdown_timeout {grace}s plus the 5s notifier flush")
claim = sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
def bytes_of(s):
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "KiB": 2**10, "MiB": 2**20,
             "GiB": 2**30, "TiB": 2**40, "GB": 10**9, "MB": 10**6}
    for u in sorted(units, key=len, reverse=True):
        if s.endswith(u):
            return int(float(s[: -len(u)]) * units[u])
    return int(s)
if not 0 < bytes_of(cfg["storage"]["max_disk_bytes"]) < bytes_of(claim):
    fail(f"storage.max_disk_bytes {cfg['storage']['max_disk_bytes']} must be set and below the {claim} volume")
ret = cfg["retention"]
if (ret["logs"], ret["traces"], ret["metrics"]) != ("7d", "48h", "15d"):
    fail(f"retention is {ret}, want logs 7d, traces 48h, metrics 15d")
sc = cairn["securityContext"]
if not (sc.get("readOnlyRootFilesystem") and sc.get("runAsNonRoot")
        and sc.get("allowPrivilegeEscalation") is False and sc["capabilities"]["drop"] == ["ALL"]):
    fail("cairn container securityContext is not non-root, read-only, no escalation, no capabilities")
for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
    if cairn[probe]["httpGet"]["path"] != "/ready":
        fail(f"{probe} is not on /ready")
print(f"cairn      StatefulSet mounts config, rules and data where cairn.yaml expects them; "
      f"grace {pod['terminationGracePeriodSeconds']}s > {grace}s; disk cap below {claim}")

# Chart values files.
vals = {}
import glob as globmod
for path in sorted(globmod.glob("deploy/collectors/*-values.yaml")):
    try:
        vals[path.split("/")[-1]] = yaml.safe_load(open(path))
    except yaml.YAMLError as e:
        fail(f"{path} is not valid YAML: {e}")
want = {"fluent-bit-values.yaml", "fluent-bit-cloudwatch-values.yaml",
        "kube-prometheus-stack-values.yaml", "opentelemetry-operator-values.yaml"}
if set(vals) != want:
    fail(f"values files are {sorted(vals)}, want {sorted(want)}")

fb = vals["fluent-bit-values.yaml"]
import re
out = fb["config"]["outputs"]
labels_line = re.search(r"^\s*Labels\s+(.*)$", out, re.M | re.I).group(1)
label_names = sorted(p.split("=")[0].strip() for p in labels_line.split(","))
if label_names != ["app", "container", "job", "namespace"]:
    fail(f"Fluent Bit stream labels are {label_names}, the contract says app, container, job, namespace")
for needle in ("Name                      loki", "Host                      cairn.observability.svc",
               "storage.total_limit_size", "Retry_Limit"):
    if needle not in out:
        fail(f"Fluent Bit output lacks {needle.split()[0]}")
# The filesystem buffer lives on the node's root volume (20 GiB by default):
# it must stay a small share of it.
m = re.search(r"storage\.total_limit_size\s+(\d+)([KMG])", out)
if not m or int(m.group(1)) * {"K": 2**10, "M": 2**20, "G": 2**30}[m.group(2)] > 2 * 2**30:
    fail("Fluent Bit storage.total_limit_size must be set and at most 2G (node root volume)")
ins = fb["config"]["inputs"]
for ns in ("wordpress-staging", "wordpress-production", "wp-system"):
    if f"_{ns}_" not in ins:
        fail(f"Fluent Bit does not tail namespace {ns}")
for needle in ("multiline.parser  cri", "storage.type      filesystem", "Mem_Buf_Limit"):
    if needle not in ins:
        fail(f"Fluent Bit input lacks {needle.split()[0]}")
if {"operator": "Exists"} not in fb["tolerations"]:
    fail("Fluent Bit does not tolerate every taint")
for name, script in fb.get("luaScripts", {}).items():
    if f"/fluent-bit/scripts/{name}" not in fb["config"]["filters"]:
        fail(f"Lua script {name} is not used by a filter")
cw = vals["fluent-bit-cloudwatch-values.yaml"]
if "cloudwatch_logs" not in cw["config"]["outputs"] or "log_retention_days        7" not in cw["config"]["outputs"]:
    fail("CloudWatch values lack the cloudwatch_logs output with 7-day retention")
if "eks.amazonaws.com/role-arn" not in cw["serviceAccount"]["annotations"]:
    fail("CloudWatch values lack the IRSA role annotation")

kps = vals["kube-prometheus-stack-values.yaml"]
ps = kps["prometheus"]["prometheusSpec"]
rw = ps["remoteWrite"][0]
if rw["url"] != "http://cairn.observability.svc:3100/api/v1/write":
    fail(f"remote write goes to {rw['url']}")
if not rw["queueConfig"].get("retryOnRateLimit") or "maxBackoff" not in rw["queueConfig"]:
    fail("remote write queueConfig must retry on 429 and set maxBackoff")
jobs = sorted(j["job_name"] for j in ps["additionalScrapeConfigs"])
if jobs != ["karpenter", "wp-k8s-service"]:
    fail(f"additional scrape jobs are {jobs}")
if kps["defaultRules"]["create"] is not False:
    fail("the chart's default rules must be off (Cairn evaluates the rules)")
if kps["grafana"]["sidecar"]["datasources"]["defaultDatasourceEnabled"] is not False:
    fail("the chart's own Prometheus datasource must be off")
ds = {d["uid"]: d for d in kps["grafana"]["additionalDataSources"]}
for uid, typ in (("cairn-prometheus", "prometheus"), ("cairn-loki", "loki"), ("cairn-tempo", "tempo")):
    if uid not in ds or ds[uid]["type"] != typ or ds[uid]["url"] != "http://cairn.observability.svc:3100":
        fail(f"datasource {uid} ({typ}) must point at http://cairn.observability.svc:3100")
def refs(x):
    if isinstance(x, dict):
        for k, v in x.items():
            if k == "datasourceUid":
                yield v
            else:
                yield from refs(v)
    elif isinstance(x, list):
        for v in x:
            yield from refs(v)
for uid, d in ds.items():
    for r in refs(d.get("jsonData", {})):
        if r not in ds:
            fail(f"datasource {uid} links to unknown datasource uid {r}")
t = ds["cairn-tempo"]["jsonData"]
for key in ("tracesToLogsV2", "tracesToMetrics", "serviceMap", "nodeGraph", "lokiSearch"):
    if key not in t:
        fail(f"Tempo datasource lacks {key}")
for q in t["tracesToMetrics"]["queries"]:
    if "$__tags" in q["query"].replace("$$__tags", ""):
        fail("write $$__tags in provisioned datasources (Grafana expands $VAR)")
ksm = kps["kube-state-metrics"]["metricLabelsAllowlist"]
if "nodes=[karpenter.sh/nodepool,karpenter.sh/capacity-type]" not in ksm:
    fail("kube-state-metrics must export the Karpenter node labels")
if "alertmanager-receivers" not in kps["alertmanager"]["alertmanagerSpec"]["secrets"]:
    fail("Alertmanager must mount the alertmanager-receivers Secret")
# Every datasource a dashboard names must be one Grafana is provisioned with.
def ds_uids(x):
    if isinstance(x, dict):
        d = x.get("datasource")
        if isinstance(d, dict) and isinstance(d.get("uid"), str):
            yield d["uid"]
        for v in x.values():
            yield from ds_uids(v)
    elif isinstance(x, list):
        for v in x:
            yield from ds_uids(v)
for cm in dash:
    for k, v in cm["data"].items():
        for uid in set(ds_uids(json.loads(v))):
            if uid not in ds and not uid.startswith(("$", "-- ")):
                fail(f"dashboard {k} uses datasource uid {uid}, which Grafana is not provisioned with")
am = yaml.safe_load(open("deploy/alertmanager/alertmanager.yaml"))
if kps["alertmanager"]["config"] != am:
    import difflib
    a = yaml.safe_dump(am, sort_keys=True).splitlines()
    b = yaml.safe_dump(kps["alertmanager"]["config"], sort_keys=True).splitlines()
    print("\n".join(difflib.unified_diff(a, b, "alertmanager.yaml", "values alertmanager.config", lineterm="")),
          file=sys.stderr)
    fail("alertmanager.config in kube-prometheus-stack-values.yaml differs from deploy/alertmanager/alertmanager.yaml")
print("values     4 chart values files parse; Fluent Bit labels job/namespace/app/container; "
      "remote write, scrape jobs, datasources and their links as documented; "
      "dashboards use only provisioned datasources")
# The one inhibit rule: KarpenterCannotProvisionNodes mutes the two warnings
# it usually causes. amtool cannot test inhibitions, so the names are checked
# against the alerts in Cairn's rule file instead.
rules_doc = yaml.safe_load(cms[rules_cm]["data"]["alerts.yaml"])
alert_labels = {r["alert"]: r.get("labels", {}) for g in rules_doc["groups"] for r in g["rules"] if "alert" in r}
inh = am.get("inhibit_rules", [])
want_inh = {"source_matchers": ['alertname="KarpenterCannotProvisionNodes"'],
            "target_matchers": ['alertname=~"WordPressCloneProvisioningSlow|WordPressActiveClonesHigh"'],
            "equal": ["team"]}
if inh != [want_inh]:
    fail(f"alertmanager.yaml inhibit_rules are {inh}, want [{want_inh}]")
for name in ("KarpenterCannotProvisionNodes", "WordPressCloneProvisioningSlow", "WordPressActiveClonesHigh"):
    if name not in alert_labels:
        fail(f"the inhibit rule names {name}, which alerts.yaml does not define")
teams = {alert_labels[n].get("team") for n in ("KarpenterCannotProvisionNodes",
                                               "WordPressCloneProvisioningSlow", "WordPressActiveClonesHigh")}
if len(teams) != 1 or None in teams:
    fail(f"the inhibit rule's equal: [team] needs one team label on all three alerts, got {teams}")
print("alertmgr   kube-prometheus-stack alertmanager.config == deploy/alertmanager/alertmanager.yaml; "
      "inhibit rule names existing alerts of one team")

# The laptop provisioning file: the same three datasources, URL from $CAIRN_URL.
laptop = yaml.safe_load(open("deploy/grafana/provisioning/datasources/cairn.yaml"))
laptop_ds = {d["uid"]: d for d in laptop["datasources"]}
for uid in ("cairn-prometheus", "cairn-loki", "cairn-tempo"):
    if uid not in laptop_ds:
        fail(f"deploy/grafana/provisioning lacks datasource {uid}")
    a = {k: v for k, v in ds[uid].items() if k != "url"}
    b = {k: v for k, v in laptop_ds[uid].items() if k != "url"}
    if a != b:
        fail(f"datasource {uid}: deploy/grafana/provisioning differs from the kube-prometheus-stack values")
    if laptop_ds[uid]["url"] != "$CAIRN_URL":
        fail(f"datasource {uid}: the laptop URL should be $CAIRN_URL")
prov = yaml.safe_load(open("deploy/grafana/provisioning/dashboards/cairn.yaml"))
if prov["providers"][0]["options"]["path"] != "/var/lib/grafana/dashboards/cairn":
    fail("deploy/grafana/provisioning/dashboards: unexpected dashboards path")
print("grafana    laptop provisioning == kube-prometheus-stack datasources (but the URL)")
PY

# 4. Alertmanager's own validation.
amtool check-config deploy/alertmanager/alertmanager.yaml > "$work/amtool.out" 2>&1 \
  || { cat "$work/amtool.out" >&2; fail "amtool check-config deploy/alertmanager/alertmanager.yaml"; }
echo "amtool     $(head -1 "$work/amtool.out" | sed 's/^ *//')"

# 5. Cairn's own validation, of the file and of the copy in the rendered ConfigMap.
# Cairn reads every CAIRN_* variable as a config override (CAIRN_BIN would be
# an unknown key `bin`), so the binary runs without CAIRN_BIN in its
# environment.
env -u CAIRN_BIN "$CAIRN_BIN" check-config deploy/cairn/cairn.yaml > "$work/cc.out" 2>&1 \
  || { cat "$work/cc.out" >&2; fail "cairn check-config deploy/cairn/cairn.yaml"; }
env -u CAIRN_BIN "$CAIRN_BIN" check-config "$work/cairn.yaml" > /dev/null 2>&1 \
  || fail "cairn check-config on the rendered cairn-config ConfigMap"
echo "cairn      $(head -1 "$work/cc.out")"
env -u CAIRN_BIN "$CAIRN_BIN" check-config deploy/cairn-laptop.yaml > "$work/cl.out" 2>&1 \
  || { cat "$work/cl.out" >&2; fail "cairn check-config deploy/cairn-laptop.yaml"; }
env -u CAIRN_BIN "$CAIRN_BIN" check-rules deploy/cairn/rules/recording.yaml deploy/cairn/rules/alerts.yaml > /dev/null 2>&1 \
  || fail "the laptop config's rule files do not pass cairn check-rules"
echo "cairn      $(head -1 "$work/cl.out")"
echo "deploy_check: OK"
