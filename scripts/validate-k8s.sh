#!/usr/bin/env bash
# Validate the Kubernetes manifests in k8s/ (or the directory given as $1, laid out the same
# way, with ../models/rules/pack.toml beside it). Exits non-zero on any problem.
#
#  1. Installs, once, into $SCAMWATCH_CACHE/k8s-validate (outside the clone):
#     - PyPI kubernetes-validate (bundles the Kubernetes JSON schemas, works offline),
#     - npm @kubernetes-models/keda and @kubernetes-models/prometheus-operator (validators
#       generated from the KEDA and Prometheus Operator CRD schemas; needs node >= 18).
#  2. Checks that each kustomization lists exactly the manifest files beside it and that
#     secret.example.yaml is in none of them.
#  3. Renders k8s/ (kubectl kustomize or kustomize, with --load-restrictor LoadRestrictionsNone
#     for the rule pack generator) and k8s/base on its own. Without either tool it assembles
#     the same objects from the listed files and the configMapGenerator itself.
#  4. Validates every core object (and secret.example.yaml) strictly (unknown fields are errors)
#     against Kubernetes $SCAMWATCH_KUBE_VERSIONS (default: 1.30 and the newest bundled), the
#     ScaledObject, TriggerAuthentication and ServiceMonitor against their CRD schemas, and the
#     wiring between objects (labels, selectors, ports, probes, security context, rule pack
#     mount, Secret keys, KEDA trigger = service config).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
. scripts/env.sh

K8S_DIR="$(cd "${1:-k8s}" && pwd)"
KUBE_VERSIONS="${SCAMWATCH_KUBE_VERSIONS:-1.30 latest}"
KV_VERSION="1.37.0"
NPM_PKGS="@kubernetes-models/keda@2.0.0 @kubernetes-models/prometheus-operator@6.0.0"
TOOLS="$SCAMWATCH_CACHE/k8s-validate"
VENV="$TOOLS/venv-kv-$KV_VERSION"
NODE_DIR="$TOOLS/node-$(printf '%s' "$NPM_PKGS" | sha256sum | cut -c1-12)"

log() { printf '[validate-k8s] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- 1. tools (idempotent; each is built in a temporary directory and moved into place) ------
mkdir -p "$TOOLS"
if [ ! -f "$VENV/.complete" ] || ! "$VENV/bin/python" -c 'import kubernetes_validate' 2>/dev/null; then
  log "installing kubernetes-validate==$KV_VERSION into $VENV (one time)"
  rm -rf "$VENV.tmp" "$VENV"
  python3 -m venv "$VENV.tmp"
  "$VENV.tmp/bin/python" -m pip install -q --disable-pip-version-check \
    "kubernetes-validate==$KV_VERSION" >&2 || die "pip install kubernetes-validate failed"
  mv "$VENV.tmp" "$VENV"
  # venv scripts hard-code their path; we only ever run "$VENV/bin/python -m ...", which works.
  touch "$VENV/.complete"
fi
PY="$VENV/bin/python"

CRD_SCHEMAS=0
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
   node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)'; then
  if [ ! -f "$NODE_DIR/.complete" ]; then
    log "installing $NPM_PKGS into $NODE_DIR (one time)"
    rm -rf "$NODE_DIR.tmp" "$NODE_DIR"
    mkdir -p "$NODE_DIR.tmp"
    printf '{"name":"scamwatch-k8s-validate","private":true,"type":"module"}\n' > "$NODE_DIR.tmp/package.json"
    # shellcheck disable=SC2086
    (cd "$NODE_DIR.tmp" && npm install --no-audit --no-fund --loglevel=error --save-exact $NPM_PKGS >&2) ||
      die "npm install of the CRD validators failed"
    mv "$NODE_DIR.tmp" "$NODE_DIR"
    touch "$NODE_DIR/.complete"
  fi
  CRD_SCHEMAS=1
else
  log "WARNING: node >= 18 with npm not found: CRD objects get structural checks only (no CRD schema)"
fi

# --- 2./3. render ------------------------------------------------------------------------------
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
RENDERER=""
if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help 2>/dev/null | grep -q -- --load-restrictor; then
  RENDERER="kubectl kustomize"
elif command -v kustomize >/dev/null 2>&1; then
  RENDERER="kustomize build"
fi
if [ -n "$RENDERER" ]; then
  $RENDERER --load-restrictor LoadRestrictionsNone "$K8S_DIR" > "$WORK/full.yaml" 2> "$WORK/render.err" ||
    { cat "$WORK/render.err" >&2; die "$RENDERER $K8S_DIR failed"; }
  $RENDERER "$K8S_DIR/base" > "$WORK/base.yaml" 2> "$WORK/render.err" ||
    { cat "$WORK/render.err" >&2; die "$RENDERER $K8S_DIR/base failed (the base must render without load restrictions lifted)"; }
  log "rendered with $RENDERER"
else
  log "no kubectl/kustomize: assembling the listed files and the configMapGenerator directly"
fi

# --- 4. validate -------------------------------------------------------------------------------
cat > "$WORK/crd-check.mjs" <<'JS'
// Validate CRD objects (JSON array on argv[2]) with the validators generated from the CRDs.
import { readFileSync } from "node:fs";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
const models = {
  "keda.sh/v1alpha1/ScaledObject": ScaledObject,
  "keda.sh/v1alpha1/TriggerAuthentication": TriggerAuthentication,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
};
let failed = 0;
for (const doc of JSON.parse(readFileSync(process.argv[2], "utf8"))) {
  const id = `${doc.apiVersion}/${doc.kind}`;
  const name = `${doc.kind.toLowerCase()}/${doc.metadata?.name}`;
  const Model = models[id];
  if (!Model) { console.log(`FAIL ${name}: no CRD schema known for ${id}`); failed++; continue; }
  try { new Model(doc).validate(); console.log(`ok   ${name}: ${id} CRD schema`); }
  catch (e) { console.log(`FAIL ${name}: ${id} CRD schema: ${e.message}`); failed++; }
}
process.exit(failed ? 1 : 0);
JS
if [ "$CRD_SCHEMAS" = 1 ]; then cp "$WORK/crd-check.mjs" "$NODE_DIR/crd-check.mjs"; fi

K8S_DIR="$K8S_DIR" WORK="$WORK" RENDERER="$RENDERER" KUBE_VERSIONS="$KUBE_VERSIONS" \
CRD_SCHEMAS="$CRD_SCHEMAS" NODE_DIR="$NODE_DIR" "$PY" - <<'PY'
import json, os, subprocess, sys
from pathlib import Path

import yaml
import kubernetes_validate.utils as kv

k8s = Path(os.environ["K8S_DIR"])
work = Path(os.environ["WORK"])
versions = [kv.latest_version() if v == "latest" else v for v in os.environ["KUBE_VERSIONS"].split()]
versions = list(dict.fromkeys(kv.major_minor(v) for v in versions))
fails, oks = [], 0


def fail(msg):
    fails.append(msg)
    print(f"FAIL {msg}")


def ok(msg):
    global oks
    oks += 1
    print(f"ok   {msg}")


def load_docs(path):
    try:
        return [d for d in yaml.safe_load_all(Path(path).read_text()) if d is not None]
    except yaml.YAMLError as e:
        fail(f"{path}: not valid YAML: {e}")
        return []


def kust(d):
    return yaml.safe_load((d / "kustomization.yaml").read_text()) or {}


# 2. each kustomization lists exactly the manifests beside it; the example Secret is in none
for d in (k8s, k8s / "base"):
    if not (d / "kustomization.yaml").is_file():
        fail(f"{d}/kustomization.yaml is missing")
        continue
    listed = kust(d).get("resources") or []
    files = {p.name for p in d.iterdir() if p.suffix in (".yaml", ".yml") and p.name != "kustomization.yaml"
             and not p.name.endswith((".example.yaml", ".example.yml"))}
    listed_files = {r for r in listed if not (d / r).is_dir()}
    for r in listed:
        if not (d / r).exists():
            fail(f"{d.name}/kustomization.yaml lists {r}, which does not exist")
    if files - listed_files:
        fail(f"{d.name}/: {sorted(files - listed_files)} not listed in kustomization.yaml resources")
    if any("example" in r for r in listed):
        fail(f"{d.name}/kustomization.yaml must not include an example Secret")
    if listed_files == files:
        ok(f"{d.name}/kustomization.yaml lists exactly the {len(files)} manifest files beside it"
           + (f" (and {len(listed) - len(listed_files)} directory)" if len(listed) > len(listed_files) else ""))


# 3. the rendered objects (or the same objects assembled from the files)
def assemble(d):
    docs, k = [], kust(d)
    for r in k.get("resources") or []:
        docs += assemble(d / r) if (d / r).is_dir() else load_docs(d / r)
    for g in k.get("configMapGenerator") or []:
        opts = g.get("options") or {}
        if not opts.get("disableNameSuffixHash"):
            fail(f"configMapGenerator {g['name']}: cannot emulate the name hash without kustomize")
        data = {}
        for f in g.get("files") or []:
            key, _, rel = f.partition("=") if "=" in f else (Path(f).name, "", f)
            data[key] = (d / rel).read_text()
        docs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": g["name"], "labels": opts.get("labels") or {}}, "data": data})
    return docs


if os.environ["RENDERER"]:
    docs = load_docs(work / "full.yaml")
    base_kinds = {(x["kind"], x["metadata"]["name"]) for x in load_docs(work / "base.yaml")}
else:
    docs = assemble(k8s)
    base_kinds = {(x["kind"], x["metadata"]["name"]) for x in assemble(k8s / "base")}

CRD_GROUPS = ("keda.sh", "monitoring.coreos.com")  # everything else must be a built-in kind
core, crds = [], []
for doc in docs:
    if not isinstance(doc, dict) or not {"apiVersion", "kind", "metadata"} <= doc.keys():
        fail(f"object without apiVersion/kind/metadata: {str(doc)[:80]}")
        continue
    (crds if doc["apiVersion"].split("/")[0] in CRD_GROUPS else core).append(doc)
example = load_docs(k8s / "secret.example.yaml") if (k8s / "secret.example.yaml").is_file() else []
if not example:
    fail("secret.example.yaml is missing or empty")


def name(doc):
    return f"{doc['kind'].lower()}/{doc['metadata'].get('name')}"


# 4a. core objects against the Kubernetes schemas (strict: unknown fields are errors)
for doc in core + example:
    for v in versions:
        try:
            kv.validate(doc, v, strict=True)
            ok(f"{name(doc)}: Kubernetes {v} schema")
        except kv.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            fail(f"{name(doc)}: Kubernetes {v} schema: {path}: {e.message}")
        except kv.SchemaNotFoundError as e:
            fail(f"{name(doc)}: {e.message}")

# 4b. CRD objects against the CRD schemas (node), plus structural checks below
if crds:
    if os.environ["CRD_SCHEMAS"] == "1":
        (work / "crds.json").write_text(json.dumps(crds))
        r = subprocess.run(["node", str(Path(os.environ["NODE_DIR"]) / "crd-check.mjs"), str(work / "crds.json")],
                           capture_output=True, text=True)
        for line in r.stdout.splitlines():
            if line.startswith("FAIL "):
                fail(line[5:])
            elif line.startswith("ok   "):
                ok(line[5:])
        if r.returncode and "FAIL" not in r.stdout:
            fail(f"CRD schema check crashed: {r.stderr.strip()[-500:]}")
    else:
        print("SKIP CRD schemas (no node): structural checks only")

# 4c. wiring: what this deployment promises (README in k8s/)
by = {}
for doc in docs:
    if isinstance(doc, dict) and "kind" in doc:
        by.setdefault(doc["kind"], {})[doc["metadata"].get("name")] = doc


def one(kind, nm):
    d = by.get(kind, {}).get(nm)
    if d is None:
        fail(f"expected {kind} {nm} in the rendered output")
    return d or {}


def check(cond, msg):
    (ok if cond else fail)(msg)
    return cond


def g(d, *path, default=None):
    for p in path:
        if isinstance(d, dict):
            d = d.get(p)
        elif isinstance(d, list) and isinstance(p, int) and p < len(d):
            d = d[p]
        else:
            return default
    return default if d is None else d


APP = {"app.kubernetes.io/name": "scamwatch"}
for doc in docs:
    if not isinstance(doc, dict) or "metadata" not in doc:
        continue
    md = doc["metadata"]
    if g(md, "labels", "app.kubernetes.io/name") != "scamwatch":
        fail(f"{name(doc)}: missing label app.kubernetes.io/name=scamwatch")
    if "namespace" in md:
        fail(f"{name(doc)}: sets metadata.namespace (manifests must be namespace-agnostic)")
check(all("namespace" not in d["metadata"] for d in docs if isinstance(d, dict) and "metadata" in d),
      "no object sets a namespace")

dep = one("Deployment", "scamwatch")
cfg = one("ConfigMap", "scamwatch-config")
rules = one("ConfigMap", "scamwatch-rules")
svc = one("Service", "scamwatch")
pdb = one("PodDisruptionBudget", "scamwatch")
so = one("ScaledObject", "scamwatch")
ta = one("TriggerAuthentication", "scamwatch-kafka")
sm = one("ServiceMonitor", "scamwatch")
for kind, nm in [("Deployment", "scamwatch"), ("ConfigMap", "scamwatch-config"), ("Service", "scamwatch"),
                 ("PodDisruptionBudget", "scamwatch"), ("ScaledObject", "scamwatch"),
                 ("TriggerAuthentication", "scamwatch-kafka"), ("ServiceMonitor", "scamwatch")]:
    if (kind, nm) not in base_kinds:
        fail(f"k8s/base does not render {kind} {nm}")
check(("ConfigMap", "scamwatch-rules") not in base_kinds, "the rule pack ConfigMap comes from the top-level kustomization only")

# Deployment
pod = g(dep, "spec", "template", "spec", default={})
pod_labels = g(dep, "spec", "template", "metadata", "labels", default={})
check(g(dep, "spec", "replicas") == 2, "deployment: 2 replicas")
check(APP.items() <= g(dep, "spec", "selector", "matchLabels", default={}).items() <= pod_labels.items(),
      "deployment: selector matches the pod labels")
cs = [c for c in pod.get("containers", []) if c.get("name") == "scamwatch"]
c = cs[0] if cs else {}
check(bool(cs), "deployment: has container scamwatch")
ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
check(ports.get("http") == 8080, "deployment: containerPort 8080 named http")
for probe, path in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")]:
    check(g(c, probe, "httpGet", "path") == path and g(c, probe, "httpGet", "port") in ("http", 8080),
          f"deployment: {probe} GET {path} on http")
sc, psc = c.get("securityContext", {}), pod.get("securityContext", {})
check((sc.get("runAsNonRoot") or psc.get("runAsNonRoot")) is True
      and (sc.get("runAsUser") or psc.get("runAsUser")) == 10001, "deployment: non-root uid 10001")
check(sc.get("readOnlyRootFilesystem") is True, "deployment: readOnlyRootFilesystem")
check(sc.get("allowPrivilegeEscalation") is False, "deployment: allowPrivilegeEscalation false")
check(g(sc, "capabilities", "drop", default=[]) == ["ALL"], "deployment: drops ALL capabilities")
check("RuntimeDefault" in (g(sc, "seccompProfile", "type"), g(psc, "seccompProfile", "type")),
      "deployment: seccomp RuntimeDefault")
res = c.get("resources", {})
check(all(g(res, a, b) for a in ("requests", "limits") for b in ("cpu", "memory")),
      "deployment: cpu and memory requests and limits")
env = {e["name"]: e for e in c.get("env", [])}
cfg_data = cfg.get("data", {})
grace = int(cfg_data.get("SCAMWATCH_SHUTDOWN_GRACE_SECS", 30))
pre_stop = g(c, "lifecycle", "preStop", "exec", "command", default=[])
pause = int(pre_stop[1]) if pre_stop[:1] == ["sleep"] and len(pre_stop) == 2 and pre_stop[1].isdigit() else 0
check(pod.get("terminationGracePeriodSeconds", 30) >= grace + pause + 5,
      f"deployment: terminationGracePeriodSeconds {pod.get('terminationGracePeriodSeconds')} >= drain {grace}s + preStop {pause}s + 5s")
vols = {v["name"]: v for v in pod.get("volumes", [])}
mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
rm = mounts.get("/etc/scamwatch/rules", {})
check(g(vols, rm.get("name"), "configMap", "name") == "scamwatch-rules" and "subPath" not in rm
      and not g(vols, rm.get("name"), "configMap", "items"),
      "deployment: ConfigMap scamwatch-rules mounted whole (no subPath) at /etc/scamwatch/rules")
check(g(env, "SCAMWATCH_RULE_PACK", "value") == "/etc/scamwatch/rules/pack.toml",
      "deployment: SCAMWATCH_RULE_PACK=/etc/scamwatch/rules/pack.toml")
check("emptyDir" in vols.get(g(mounts, "/tmp", "name"), {}), "deployment: emptyDir at /tmp")
for m in c.get("volumeMounts", []):
    if m["name"] not in vols:
        fail(f"deployment: volumeMount {m['name']} has no volume")
for ref in c.get("envFrom", []):
    cm = g(ref, "configMapRef", "name")
    if cm and ("ConfigMap", cm) not in {(d["kind"], d["metadata"]["name"]) for d in docs if isinstance(d, dict)}:
        fail(f"deployment: envFrom ConfigMap {cm} is not rendered")
check(any(g(r, "configMapRef", "name") == "scamwatch-config" for r in c.get("envFrom", [])),
      "deployment: env from ConfigMap scamwatch-config")
secret_refs = {(g(e, "valueFrom", "secretKeyRef", "name"), g(e, "valueFrom", "secretKeyRef", "key"))
               for e in env.values() if g(e, "valueFrom", "secretKeyRef")}
check({("scamwatch-secrets", "admin-token"), ("scamwatch-secrets", "kafka-options")} <= secret_refs,
      "deployment: reads scamwatch-secrets keys admin-token and kafka-options")
for e in c.get("env", []):
    if not e["name"].startswith(("SCAMWATCH_", "ORT_")):
        fail(f"deployment: env {e['name']} is not an option of the service")
for k in cfg_data:
    if not k.startswith("SCAMWATCH_"):
        fail(f"configmap scamwatch-config: key {k} is not a SCAMWATCH_* option")

# rule pack ConfigMap
pack = g(rules, "data", "pack.toml", default="")
check(bool(pack.strip()), "configmap scamwatch-rules: key pack.toml holds the rule pack")
try:
    import tomllib
    tomllib.loads(pack)
    ok("configmap scamwatch-rules: pack.toml is valid TOML")
except ImportError:
    pass
except Exception as e:
    fail(f"configmap scamwatch-rules: pack.toml is not valid TOML: {e}")

# Service, PDB
check(g(svc, "spec", "selector", default={}).items() <= pod_labels.items() and g(svc, "spec", "selector"),
      "service: selector matches the pod labels")
sp = {p.get("name"): p for p in g(svc, "spec", "ports", default=[])}
check(g(sp, "http", "port") == 8080 and g(sp, "http", "targetPort") in ("http", 8080), "service: port 8080 named http")
check(g(pdb, "spec", "minAvailable") == 1, "pdb: minAvailable 1")
check(g(pdb, "spec", "selector", "matchLabels", default={}).items() <= pod_labels.items()
      and g(pdb, "spec", "selector", "matchLabels"), "pdb: selector matches the pod labels")

# ScaledObject / TriggerAuthentication (structural, independent of the CRD schema step)
check(so.get("apiVersion") == "keda.sh/v1alpha1" and ta.get("apiVersion") == "keda.sh/v1alpha1",
      "keda: apiVersion keda.sh/v1alpha1")
check(g(so, "spec", "scaleTargetRef", "name") == dep.get("metadata", {}).get("name")
      and g(so, "spec", "scaleTargetRef", "kind", default="Deployment") == "Deployment",
      "scaledobject: scaleTargetRef is Deployment scamwatch")
lo, hi = g(so, "spec", "minReplicaCount"), g(so, "spec", "maxReplicaCount")
check(isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi, f"scaledobject: 1 <= minReplicaCount {lo} <= maxReplicaCount {hi}")
trig = [t for t in g(so, "spec", "triggers", default=[]) if t.get("type") == "kafka"]
t = g(trig, 0, "metadata", default={})
check(bool(trig), "scaledobject: has a kafka trigger")
for key, env_name in [("bootstrapServers", "SCAMWATCH_BROKERS"), ("consumerGroup", "SCAMWATCH_GROUP_ID"),
                      ("topic", "SCAMWATCH_INPUT_TOPIC")]:
    check(t.get(key) and t.get(key) == cfg_data.get(env_name),
          f"scaledobject: kafka {key} {t.get(key)!r} = configmap {env_name} {cfg_data.get(env_name)!r}")
check(str(t.get("lagThreshold", "")).isdigit() and int(t["lagThreshold"]) > 0, "scaledobject: lagThreshold is a positive integer")
check(t.get("sasl", "none") in ("none", "plaintext", "scram_sha256", "scram_sha512", "oauthbearer", "gssapi", "aws_msk_iam")
      and t.get("tls", "disable") in ("enable", "disable"), "scaledobject: sasl/tls values known to KEDA")
auth = g(trig, 0, "authenticationRef", "name")
if auth:
    check(auth == g(ta, "metadata", "name"), f"scaledobject: authenticationRef {auth} is rendered")
example_keys = {(d["metadata"]["name"], k) for d in example if isinstance(d, dict) and d.get("kind") == "Secret"
                for k in {**(d.get("data") or {}), **(d.get("stringData") or {})}}
ta_refs = {(r.get("name"), r.get("key")) for r in g(ta, "spec", "secretTargetRef", default=[])}
missing = (secret_refs | ta_refs) - example_keys
check(not missing, f"secret.example.yaml has every referenced Secret key {sorted(k for _, k in secret_refs | ta_refs)}"
      + (f" (missing {sorted(missing)})" if missing else ""))

# ServiceMonitor
check(sm.get("apiVersion") == "monitoring.coreos.com/v1", "servicemonitor: apiVersion monitoring.coreos.com/v1")
sel = g(sm, "spec", "selector", "matchLabels", default={})
check(bool(sel) and sel.items() <= g(svc, "metadata", "labels", default={}).items(), "servicemonitor: selector matches the Service labels")
eps = g(sm, "spec", "endpoints", default=[])
check(bool(eps) and all(e.get("port") in sp and e.get("path") == "/metrics" for e in eps),
      "servicemonitor: scrapes /metrics on a named Service port")

print(f"\nk8s manifests: {oks} checks ok, {len(fails)} problems "
      f"({len(core)} core objects vs Kubernetes {', '.join(versions)}, {len(crds)} CRD objects)")
sys.exit(1 if fails else 0)
PY
