"""The project's own rules for rendered Kubernetes objects (beyond schema validity).

Pure Python over the rendered objects (dicts), so tests can feed it hand-written manifests.
`check(objects)` returns every violation as "Kind/name: problem"; an empty list means clean.

Rules:
- workloads: every container has readiness and liveness probes (betmesh containers: native gRPC
  probes, except the edge, which speaks HTTP: GET /healthz), CPU and memory requests and limits,
  a non-root, read-only, no-escalation, ALL-capabilities-dropped security context;
- termination grace longer than the preStop pause plus the service's BETMESH_GRACE_SECONDS;
- every workload is covered by a PodDisruptionBudget and selected by a NetworkPolicy of its own
  (not only the namespace-wide default deny);
- secrets by reference only: no Secret objects in the manifests, credential-like variables only
  through secretKeyRef, no credentials in ConfigMaps;
- quote replicas: one StatefulSet per sport behind a headless Service, addressed pod by pod in
  the gateway's BETMESH_GATEWAY_REPLICAS with a strict-majority quorum; only the gateway may
  reach them; replicas of a sport kept apart by node (hard) and zone (spread) when
  `strict_scheduling`;
- only the oracle (publishing) and bets (settling from the contract) may egress to the chain RPC
  port; only pods labelled public take traffic from
  outside the namespace, and the Ingress routes only to them;
- every betmesh process runs with BETMESH_AUTH_MODE=tokens (quote replicas included);
- under BETMESH_AUTH_MODE=tokens, every service that calls other services (the gateway, live,
  bets, quote replicas, the edge) has a client credential of its own: BETMESH_CLIENT_ID from a
  Secret and BETMESH_CLIENT_SECRET_FILE on a mounted Secret volume (without one its calls carry
  no token and are refused);
- the live Deployment has a HorizontalPodAutoscaler on CPU and a custom metric;
- the edge: every BETMESH_EDGE_UPSTREAMS address is a Service here with that port, it has a
  public origin (BETMESH_EDGE_PUBLIC_URL), and identity's FranceConnect redirect URIs and
  return-to allow-list are the edge's routes on that origin;
- the live-bet delay (BETMESH_BETS_LIVE_DELAY_SECONDS, BETMESH_BETS_FEED_SPEED) is the same for
  every bets and live process: bets applies it and live announces it to partners, so set once;
  so are live's heartbeat and bets' silence (BETMESH_LIVE_HEARTBEAT_SECONDS,
  BETMESH_BETS_LIVE_SILENCE_SECONDS): the silence must outlast the heartbeat every live sends;
- an Ingress whose targets speak gRPC (ALB backend-protocol-version GRPC) routes each backend
  only on a native gRPC content type: gRPC-web shares the paths and must fall through to the
  edge (a GRPC target group refuses it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

Manifest = Mapping[str, Any]

WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
CHAIN_RPC_PORT = 8545
# The oracle publishes on chain; bets reads the contract's stored results to settle.
CHAIN_READERS = frozenset({"oracle", "bets"})
BETMESH_IMAGE = re.compile(r"(^|/)betmesh(:|@|$)")
# Variables whose value is a credential or carries one (URLs with passwords, keys, tokens).
SECRET_NAME = re.compile(
    r"(PASSWORD|SECRET|TOKEN|_KEY$|DATABASE_URL|REDIS_URL|RPC_URLS|IDENTITY_CLIENTS|CLIENT_ID)"
)
CREDENTIAL_VALUE = re.compile(r"://[^/@\s:]+:[^/@\s]+@|-----BEGIN [A-Z ]*PRIVATE KEY-----")
PUBLIC_LABEL = ("betmesh.io/public", "true")
DEFAULT_GRACE_SECONDS = 10.0
EDGE_MODULE = "services.edge"
EDGE_HEALTH_PATH = "/healthz"
ALB = "alb.ingress.kubernetes.io/"
GRPC_WEB_TYPES = (
    "application/grpc-web",
    "application/grpc-web+proto",
    "application/grpc-web-text",
    "application/grpc-web-text+proto",
)
# The edge's FranceConnect routes (services/edge/README.md), as identity must name them.
FRANCECONNECT_ROUTES = {
    "BETMESH_IDENTITY_FRANCECONNECT_REDIRECT_URI": "/auth/franceconnect/callback",
    "BETMESH_IDENTITY_FRANCECONNECT_POST_LOGOUT_REDIRECT_URI": (
        "/auth/franceconnect/logout/callback"
    ),
}


def ref(obj: Manifest) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def pod_template(obj: Manifest) -> Mapping[str, Any]:
    template: Mapping[str, Any] = obj.get("spec", {}).get("template", {})
    return template


def pod_labels(obj: Manifest) -> dict[str, str]:
    return dict(pod_template(obj).get("metadata", {}).get("labels", {}))


def containers(obj: Manifest) -> list[Mapping[str, Any]]:
    spec = pod_template(obj).get("spec", {})
    return list(spec.get("containers", [])) + list(spec.get("initContainers", []))


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist)."""
    if selector is None:
        return False
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def check(objects: Sequence[Manifest], *, strict_scheduling: bool = True) -> list[str]:
    problems: list[str] = []
    by_kind: dict[str, list[Manifest]] = {}
    for obj in objects:
        by_kind.setdefault(str(obj.get("kind")), []).append(obj)
    workloads = [o for o in objects if o.get("kind") in WORKLOADS]
    config_maps = {o["metadata"]["name"]: o for o in by_kind.get("ConfigMap", [])}
    policies = by_kind.get("NetworkPolicy", [])
    for obj in workloads:
        problems += _container_rules(obj, config_maps)
        problems += _coverage(obj, by_kind.get("PodDisruptionBudget", []), policies)
        problems += _client_credential(obj, config_maps)
        problems += _tokens(obj, config_maps)
    problems += _secrets(objects)
    problems += _quotes(objects, by_kind, strict_scheduling)
    problems += _network(objects, by_kind)
    problems += _autoscaling(by_kind)
    problems += _edge(by_kind, config_maps)
    problems += _grpc_ingress(by_kind)
    problems += _tls(objects, by_kind, config_maps)
    problems += _signers(workloads, config_maps)
    problems += _live_bet_delay(workloads, config_maps)
    return problems


# Read by two processes that must agree: bets waits this long before taking an in-play bet, and
# live tells partners and browsers the same figure (service_runtime/live_bet_delay.py); live
# vouches for in-play fixtures this often and bets refuses in-play bets after this silence
# (service_runtime/live_watch.py).
LIVE_BET_DELAY = (
    "BETMESH_BETS_LIVE_DELAY_SECONDS",
    "BETMESH_BETS_FEED_SPEED",
    "BETMESH_LIVE_HEARTBEAT_SECONDS",
    "BETMESH_BETS_LIVE_SILENCE_SECONDS",
)
LIVE_BET_DELAY_READERS = frozenset({"services.bets", "services.live"})


def _live_bet_delay(
    workloads: Sequence[Manifest], config_maps: Mapping[str, Manifest]
) -> Iterator[str]:
    for name in LIVE_BET_DELAY:
        by_value: dict[str, list[str]] = {}
        for obj in workloads:
            for container in containers(obj):
                args = container.get("args") or [""]
                if args[0] in LIVE_BET_DELAY_READERS:
                    value = _env(container, config_maps).get(name, "(default)")
                    by_value.setdefault(value, []).append(ref(obj))
        if len(by_value) > 1:
            for value, refs in sorted(by_value.items()):
                for where in refs:
                    yield (
                        f"{where}: {name}={value[:60]!r}, unlike other bets/live processes (both "
                        "read it and must agree: set it once, in a ConfigMap both read)"
                    )


def _tls(
    objects: Sequence[Manifest],
    by_kind: Mapping[str, list[Manifest]],
    config_maps: Mapping[str, Manifest],
) -> Iterator[str]:
    """Every process that serves TLS mounts a Secret a cert-manager Certificate of ours issues,
    for the names its Service is called by; probes ask the plaintext health port."""
    issuers = {o["metadata"]["name"] for o in by_kind.get("Issuer", [])}
    certificates: dict[str, Manifest] = {}
    for cert in by_kind.get("Certificate", []):
        spec = cert.get("spec", {})
        if spec.get("issuerRef", {}).get("name") not in issuers:
            yield f"{ref(cert)}: its issuer is not an Issuer here"
        if not spec.get("isCA"):
            if not {"server auth", "client auth"} <= set(spec.get("usages", [])):
                yield f"{ref(cert)}: needs usages server auth and client auth"
            certificates[spec.get("secretName")] = cert
    services = by_kind.get("Service", [])
    for obj in (o for o in objects if o.get("kind") in WORKLOADS):
        template = pod_template(obj).get("spec", {})
        volumes = {v.get("name"): v for v in template.get("volumes", [])}
        for container in template.get("containers", []):
            env = _env(container, config_maps)
            cert_file = env.get("BETMESH_TLS_CERT_FILE")
            if not cert_file:
                continue
            folder = cert_file.rsplit("/", 1)[0]
            mount = next(
                (m for m in container.get("volumeMounts", []) if m.get("mountPath") == folder),
                None,
            )
            secret = (volumes.get(mount.get("name")) or {}).get("secret", {}) if mount else {}
            found = certificates.get(str(secret.get("secretName", "")))
            if found is None:
                yield f"{ref(obj)}: BETMESH_TLS_CERT_FILE is not a Certificate's Secret at {folder}"
                continue
            names = set(found["spec"].get("dnsNames", []))
            for service in services:
                selector = {"matchLabels": service.get("spec", {}).get("selector", {})}
                if selects(selector, pod_labels(obj)):
                    called = service["metadata"]["name"]
                    if not names & {called, f"*.{called}"}:
                        yield f"{ref(found)}: not valid for {called}, which {ref(obj)} serves"
            health = env.get("BETMESH_HEALTH_PORT")
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                grpc_probe = container.get(probe, {}).get("grpc")
                if grpc_probe is not None and str(grpc_probe.get("port")) != health:
                    yield f"{ref(obj)}: {probe} asks a TLS port; kubelet's gRPC probes need the"
                    yield f"  plaintext BETMESH_HEALTH_PORT ({health})"


def _signers(workloads: Sequence[Manifest], config_maps: Mapping[str, Manifest]) -> Iterator[str]:
    """One compromised component yields at most one signature: no signer key in the oracle,
    each signer pod with one key source and a ServiceAccount of its own, one pod per key."""
    accounts: dict[str, str] = {}
    for obj in workloads:
        pod = pod_template(obj).get("spec", {})
        for container in containers(obj):
            args = container.get("args") or [""]
            names = {var["name"] for var in container.get("env", [])}
            if args[0] == "services.oracle" and "BETMESH_ORACLE_SIGNER_KEY_FILES" in names:
                yield f"{ref(obj)}: the oracle must hold no signer key (signer pods sign)"
            if args[0] != SIGNER_MODULE:
                continue
            account = pod.get("serviceAccountName", "")
            if not account or account == "default":
                yield f"{ref(obj)}: a signer needs a ServiceAccount of its own"
            elif account in accounts:
                yield f"{ref(obj)}: shares ServiceAccount {account} with {accounts[account]}"
            else:
                accounts[account] = ref(obj)
            if int(obj.get("spec", {}).get("replicas", 1)) != 1:
                yield f"{ref(obj)}: one signer pod per key (replicas: 1)"
            # Its key's Secret; the TLS identity (a cert-manager Secret, *-tls) aside.
            secrets = [
                v
                for v in pod.get("volumes", [])
                if "secret" in v and not str(v["secret"].get("secretName", "")).endswith("-tls")
            ]
            if len(secrets) > 1:
                yield f"{ref(obj)}: a signer mounts one key Secret at most"


def _env(container: Mapping[str, Any], config_maps: Mapping[str, Manifest]) -> dict[str, str]:
    """Literal environment as the kubelet builds it: envFrom ConfigMaps, then env."""
    values: dict[str, str] = {}
    for source in container.get("envFrom", []):
        name = source.get("configMapRef", {}).get("name")
        if name in config_maps:
            values.update(config_maps[name].get("data", {}))
    for var in container.get("env", []):
        if "value" in var:
            values[var["name"]] = str(var["value"])
        else:
            values.pop(var["name"], None)
    return values


def _container_rules(obj: Manifest, config_maps: Mapping[str, Manifest]) -> Iterator[str]:
    name = ref(obj)
    pod = pod_template(obj).get("spec", {})
    pod_security = pod.get("securityContext", {})
    grace = float(pod.get("terminationGracePeriodSeconds", 30))
    if not containers(obj):
        yield f"{name}: no containers"
    for container in containers(obj):
        where = f"{name} container {container.get('name')}"
        betmesh = bool(BETMESH_IMAGE.search(str(container.get("image", ""))))
        edge = EDGE_MODULE in container.get("args", [])
        for probe in ("readinessProbe", "livenessProbe"):
            spec = container.get(probe)
            if not spec:
                yield f"{where}: no {probe}"
            elif betmesh and edge:
                if spec.get("httpGet", {}).get("path") != EDGE_HEALTH_PATH:
                    yield f"{where}: {probe} is not GET {EDGE_HEALTH_PATH} (the edge speaks HTTP)"
            elif betmesh and "grpc" not in spec:
                yield f"{where}: {probe} is not a native gRPC probe"
        resources = container.get("resources", {})
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in resources.get(kind, {}):
                    yield f"{where}: no {resource} {kind[:-1]}"
        security = container.get("securityContext", {})
        non_root = security.get("runAsNonRoot", pod_security.get("runAsNonRoot"))
        user = security.get("runAsUser", pod_security.get("runAsUser"))
        if non_root is not True or user == 0:
            yield f"{where}: must run as non-root (runAsNonRoot: true, runAsUser != 0)"
        if security.get("readOnlyRootFilesystem") is not True:
            yield f"{where}: root filesystem must be read-only"
        if security.get("allowPrivilegeEscalation") is not False:
            yield f"{where}: allowPrivilegeEscalation must be false"
        if "ALL" not in security.get("capabilities", {}).get("drop", []):
            yield f"{where}: capabilities must drop ALL"
        if betmesh:
            env = _env(container, config_maps)
            pre_stop = container.get("lifecycle", {}).get("preStop", {})
            pause = float(pre_stop.get("sleep", {}).get("seconds", 0))
            drain = float(env.get("BETMESH_GRACE_SECONDS", DEFAULT_GRACE_SECONDS))
            if grace <= pause + drain:
                yield (
                    f"{where}: terminationGracePeriodSeconds {grace:g} must exceed preStop "
                    f"{pause:g} s + BETMESH_GRACE_SECONDS {drain:g} s"
                )
            if "OTEL_EXPORTER_OTLP_ENDPOINT" not in env:
                yield f"{where}: no OTEL_EXPORTER_OTLP_ENDPOINT"


def _coverage(obj: Manifest, budgets: list[Manifest], policies: list[Manifest]) -> Iterator[str]:
    labels = pod_labels(obj)
    if not any(selects(b.get("spec", {}).get("selector"), labels) for b in budgets):
        yield f"{ref(obj)}: no PodDisruptionBudget selects its pods"
    own = [
        p
        for p in policies
        if p.get("spec", {}).get("podSelector")
        and selects(p["spec"]["podSelector"], labels)
        and "app.kubernetes.io/name" in p["spec"]["podSelector"].get("matchLabels", {})
    ]
    if not own:
        yield f"{ref(obj)}: no NetworkPolicy of its own selects its pods"


# Processes (the container's first argument) that call other services (launcher.mesh's
# SERVICE_CALLS): each needs a token of its own when tokens are enforced.
CALLERS = frozenset(
    {
        "gateway",
        "services.edge",
        "services.live",
        "services.bets",
        "services.quotes",
        "services.oracle",
    }
)
SIGNER_MODULE = "services.signer"


def _tokens(obj: Manifest, config_maps: Mapping[str, Manifest]) -> Iterator[str]:
    """Every betmesh process runs with tokens: no workload is left open to whoever reaches it on
    the network (a NetworkPolicy is a second wall, not the only one)."""
    for container in containers(obj):
        args = container.get("args") or [""]
        if args[0] not in BETMESH_PROCESSES:
            continue
        mode = _env(container, config_maps).get("BETMESH_AUTH_MODE", "tokens")
        if mode != "tokens":
            yield f"{ref(obj)}: runs with BETMESH_AUTH_MODE={mode}; production needs tokens"


# Every betmesh process a manifest may run (the container's first argument).
BETMESH_PROCESSES = CALLERS | {"services.identity", "services.oracle"}


def _client_credential(obj: Manifest, config_maps: Mapping[str, Manifest]) -> Iterator[str]:
    volumes = pod_template(obj).get("spec", {}).get("volumes", [])
    secret_volumes = {v["name"] for v in volumes if "secret" in v}
    for container in containers(obj):
        args = container.get("args") or [""]
        env = _env(container, config_maps)
        if args[0] not in CALLERS or env.get("BETMESH_AUTH_MODE") != "tokens":
            continue
        by_name = {var["name"]: var for var in container.get("env", [])}
        client_id = by_name.get("BETMESH_CLIENT_ID", {})
        if "secretKeyRef" not in client_id.get("valueFrom", {}):
            yield (
                f"{ref(obj)}: calls other services under tokens without a client credential"
                " (BETMESH_CLIENT_ID from a Secret)"
            )
            continue
        path = env.get("BETMESH_CLIENT_SECRET_FILE", "")
        mounted = any(
            mount.get("name") in secret_volumes
            and path.startswith(mount.get("mountPath", "").rstrip("/") + "/")
            for mount in container.get("volumeMounts", [])
        )
        if not mounted:
            yield f"{ref(obj)}: BETMESH_CLIENT_SECRET_FILE is not on a mounted Secret volume"


def _secrets(objects: Sequence[Manifest]) -> Iterator[str]:
    for obj in objects:
        if obj.get("kind") == "Secret":
            yield f"{ref(obj)}: Secret objects are not committed; reference them by name"
        if obj.get("kind") == "ConfigMap":
            for key, value in obj.get("data", {}).items():
                if SECRET_NAME.search(key.upper()) or CREDENTIAL_VALUE.search(str(value)):
                    yield f"{ref(obj)}: {key} looks like a credential; use a Secret"
        if obj.get("kind") in WORKLOADS:
            for container in containers(obj):
                for var in container.get("env", []):
                    name = var["name"]
                    by_reference = "secretKeyRef" in var.get("valueFrom", {})
                    if SECRET_NAME.search(name) and not name.endswith("_FILE") and not by_reference:
                        yield f"{ref(obj)}: {name} must come from a secretKeyRef"
                    if CREDENTIAL_VALUE.search(str(var.get("value", ""))):
                        yield f"{ref(obj)}: {name} holds a credential inline"


def _quotes(
    objects: Sequence[Manifest], by_kind: Mapping[str, list[Manifest]], strict: bool
) -> Iterator[str]:
    services = {o["metadata"]["name"]: o for o in by_kind.get("Service", [])}
    replica_sets: dict[str, list[str]] = {}
    for obj in by_kind.get("Deployment", []):
        for container in containers(obj):
            if "services.quotes" in container.get("args", []):
                yield f"{ref(obj)}: quote replicas must be a StatefulSet (stable per-pod names)"
    for obj in by_kind.get("StatefulSet", []):
        quotes = [c for c in containers(obj) if "services.quotes" in c.get("args", [])]
        if not quotes:
            continue
        sport = next(
            (v["value"] for v in quotes[0].get("env", []) if v["name"] == "BETMESH_QUOTES_SPORT"),
            None,
        )
        if sport is None:
            yield f"{ref(obj)}: no BETMESH_QUOTES_SPORT"
            continue
        spec = obj["spec"]
        service = services.get(spec.get("serviceName", ""))
        if service is None or service["spec"].get("clusterIP") != "None":
            yield f"{ref(obj)}: serviceName must name a headless Service"
        port = 50051
        replica_sets[sport] = [
            f"{obj['metadata']['name']}-{i}.{spec.get('serviceName')}:{port}"
            for i in range(int(spec.get("replicas", 1)))
        ]
        labels = pod_labels(obj)
        if labels.get("betmesh.io/sport") != sport:
            yield f"{ref(obj)}: pods must carry betmesh.io/sport={sport}"
        if strict:
            pod = pod_template(obj).get("spec", {})
            terms = (
                pod.get("affinity", {})
                .get("podAntiAffinity", {})
                .get("requiredDuringSchedulingIgnoredDuringExecution", [])
            )
            if not any(
                t.get("topologyKey") == "kubernetes.io/hostname"
                and t.get("labelSelector", {}).get("matchLabels", {}).get("betmesh.io/sport")
                == sport
                for t in terms
            ):
                yield f"{ref(obj)}: no required anti-affinity keeping {sport} replicas apart"
            spreads = pod.get("topologySpreadConstraints", [])
            if not any(
                s.get("topologyKey") == "topology.kubernetes.io/zone"
                and s.get("whenUnsatisfiable") == "DoNotSchedule"
                and s.get("labelSelector", {}).get("matchLabels", {}).get("betmesh.io/sport")
                == sport
                for s in spreads
            ):
                yield f"{ref(obj)}: no zone spread (DoNotSchedule) for {sport} replicas"
    if not replica_sets:
        return
    gateway_envs = [
        _literal_env(c)
        for o in by_kind.get("Deployment", [])
        for c in containers(o)
        if "gateway" in c.get("args", [])
    ]
    if not gateway_envs:
        yield "Deployment/gateway: missing (quote replicas exist)"
    for env in gateway_envs:
        declared = _parse_sets(env.get("BETMESH_GATEWAY_REPLICAS", ""))
        quorum = _parse_quorum(env.get("BETMESH_GATEWAY_QUORUM", "2"))
        for sport, addresses in replica_sets.items():
            if declared.get(sport) != addresses:
                yield (
                    f"gateway: BETMESH_GATEWAY_REPLICAS for {sport} is {declared.get(sport)}, "
                    f"the StatefulSet gives {addresses}"
                )
            k = quorum.get(sport, quorum.get("*", 2))
            if not (k <= len(addresses) and 2 * k > len(addresses)):
                yield (
                    f"gateway: quorum {k} of {len(addresses)} for {sport} is not a strict majority"
                )
        for sport in set(declared) - set(replica_sets):
            yield f"gateway: BETMESH_GATEWAY_REPLICAS names {sport}, which has no StatefulSet"


def _literal_env(container: Mapping[str, Any]) -> dict[str, str]:
    return {v["name"]: str(v["value"]) for v in container.get("env", []) if "value" in v}


def _parse_sets(value: str) -> dict[str, list[str]]:
    sets = {}
    for part in filter(None, (p.strip() for p in value.split(";"))):
        sport, _, addresses = part.partition("=")
        # "host:port@engine": the engine is the gateway's business, the address is compared.
        sets[sport.strip()] = [
            a.partition("@")[0].strip() for a in addresses.split(",") if a.strip()
        ]
    return sets


def _parse_quorum(value: str) -> dict[str, int]:
    if "=" not in value:
        return {"*": int(value)}
    found = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        sport, _, k = part.partition("=")
        found[sport.strip()] = int(k)
    return found


# BETMESH_METRICS_PORT in betmesh-common: Prometheus text, read-only.
METRICS_PORT = 9464


def _peers(rule: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    return list(rule.get(key, []))


def _network(objects: Sequence[Manifest], by_kind: Mapping[str, list[Manifest]]) -> Iterator[str]:
    workloads = [o for o in objects if o.get("kind") in WORKLOADS]
    policies = by_kind.get("NetworkPolicy", [])
    for policy in policies:
        spec = policy.get("spec", {})
        selected = [w for w in workloads if selects(spec.get("podSelector"), pod_labels(w))]
        names = {pod_labels(w).get("app.kubernetes.io/name") for w in selected}
        for rule in spec.get("egress", []):
            ports = {p.get("port") for p in rule.get("ports", [])}
            others = sorted(str(n) for n in names - CHAIN_READERS)
            # No ports listed means every port, the chain RPC's included.
            if (CHAIN_RPC_PORT in ports or not ports) and others:
                yield f"{ref(policy)}: egress to the chain RPC port from {others}"
        for rule in spec.get("ingress", []):
            sources = _peers(rule, "from")
            outside = not sources or any(
                "ipBlock" in s or ("namespaceSelector" in s and "podSelector" not in s)
                for s in sources
            )
            external = not sources or any("ipBlock" in s for s in sources)
            if external:
                for workload in selected:
                    if pod_labels(workload).get(PUBLIC_LABEL[0]) != PUBLIC_LABEL[1]:
                        yield (
                            f"{ref(policy)}: lets outside traffic reach non-public {ref(workload)}"
                        )
            ports = {p.get("port") for p in rule.get("ports", [])}
            # The scrape of the metrics port carries no request a replica acts on.
            if "quotes" in names and ports != {METRICS_PORT}:
                for source in sources:
                    allowed = source.get("podSelector", {}).get("matchLabels", {})
                    if outside or allowed != {"app.kubernetes.io/name": "gateway"}:
                        yield f"{ref(policy)}: quote replicas may be reached only by the gateway"
    services = {o["metadata"]["name"]: o for o in by_kind.get("Service", [])}
    for ingress in by_kind.get("Ingress", []):
        for rule in ingress.get("spec", {}).get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                backend = path.get("backend", {}).get("service", {}).get("name")
                service = services.get(backend)
                if service is None:
                    yield f"{ref(ingress)}: backend {backend} is not a Service here"
                    continue
                targets = [
                    w
                    for w in workloads
                    if selects({"matchLabels": service["spec"].get("selector", {})}, pod_labels(w))
                ]
                if not targets or any(
                    pod_labels(w).get(PUBLIC_LABEL[0]) != PUBLIC_LABEL[1] for w in targets
                ):
                    yield f"{ref(ingress)}: routes to {backend}, which is not public"


def _autoscaling(by_kind: Mapping[str, list[Manifest]]) -> Iterator[str]:
    targets = {(o["kind"], o["metadata"]["name"]) for k in WORKLOADS for o in by_kind.get(k, [])}
    scaled = set()
    for hpa in by_kind.get("HorizontalPodAutoscaler", []):
        target = hpa["spec"]["scaleTargetRef"]
        key = (target["kind"], target["name"])
        if key not in targets:
            yield f"{ref(hpa)}: scales {key[0]}/{key[1]}, which does not exist"
        scaled.add(key)
        kinds = {m["type"] for m in hpa["spec"].get("metrics", [])}
        if key == ("Deployment", "live") and not (
            "Resource" in kinds and kinds & {"Pods", "Object", "External"}
        ):
            yield f"{ref(hpa)}: live scales on CPU and a custom metric"
    if ("Deployment", "live") in targets and ("Deployment", "live") not in scaled:
        yield "Deployment/live: no HorizontalPodAutoscaler"


def _edge(
    by_kind: Mapping[str, list[Manifest]], config_maps: Mapping[str, Manifest]
) -> Iterator[str]:
    services = {o["metadata"]["name"]: o for o in by_kind.get("Service", [])}
    edges = [
        (o, c)
        for o in by_kind.get("Deployment", [])
        for c in containers(o)
        if EDGE_MODULE in c.get("args", [])
    ]
    origins = set()
    for obj, container in edges:
        env = _env(container, config_maps)
        for area, address in _parse_upstreams(env.get("BETMESH_EDGE_UPSTREAMS", "")):
            host, _, port = address.rpartition(":")
            service = services.get(host)
            ports = {str(p.get("port")) for p in (service or {}).get("spec", {}).get("ports", [])}
            if service is None or port not in ports:
                yield f"{ref(obj)}: upstream {area}={address} is not a Service port here"
        origin = env.get("BETMESH_EDGE_PUBLIC_URL", "").rstrip("/")
        if not origin:
            yield f"{ref(obj)}: no BETMESH_EDGE_PUBLIC_URL (the origin browsers use)"
        else:
            origins.add(origin)
    for obj in by_kind.get("Deployment", []):
        for container in containers(obj):
            if "services.identity" not in container.get("args", []):
                continue
            env = _env(container, config_maps)
            if not env.get("BETMESH_IDENTITY_FRANCECONNECT_ISSUER"):
                continue
            if not origins:
                yield f"{ref(obj)}: FranceConnect is configured but no edge serves its redirects"
            for origin in sorted(origins):
                for name, route in FRANCECONNECT_ROUTES.items():
                    if env.get(name) != origin + route:
                        yield f"{ref(obj)}: {name} must be {origin}{route} (the edge's route)"
                allowed = [
                    a.strip() for a in env.get("BETMESH_IDENTITY_RETURN_TO_ALLOWED", "").split(",")
                ]
                if origin + "/" not in allowed:
                    yield f"{ref(obj)}: BETMESH_IDENTITY_RETURN_TO_ALLOWED must allow {origin}/"


def _parse_upstreams(value: str) -> Iterator[tuple[str, str]]:
    """`bets=h:p;live=h:p,h:p` as the edge reads it (services/edge/settings.py)."""
    for part in filter(None, (p.strip() for p in value.split(";"))):
        area, _, addresses = part.partition("=")
        for address in filter(None, (a.strip() for a in addresses.split(","))):
            yield area.strip(), address


def _grpc_ingress(by_kind: Mapping[str, list[Manifest]]) -> Iterator[str]:
    for ingress in by_kind.get("Ingress", []):
        annotations = ingress.get("metadata", {}).get("annotations", {})
        if annotations.get(ALB + "backend-protocol-version") != "GRPC":
            continue
        backends = {
            path.get("backend", {}).get("service", {}).get("name")
            for rule in ingress.get("spec", {}).get("rules", [])
            for path in rule.get("http", {}).get("paths", [])
        }
        for backend in sorted(str(b) for b in backends):
            values = _content_type_values(annotations.get(f"{ALB}conditions.{backend}", ""))
            # ALB header values: case-insensitive, * and ? wildcards.
            matches = [t for t in ("application/grpc", *GRPC_WEB_TYPES) if _any_match(values, t)]
            if matches != ["application/grpc"]:
                yield (
                    f"{ref(ingress)}: gRPC backend {backend} needs a content-type condition"
                    f" for native gRPC only (conditions.{backend}): gRPC-web must reach the edge"
                )


def _content_type_values(raw: str) -> list[str]:
    try:
        conditions = json.loads(raw) if raw else []
    except json.JSONDecodeError:
        return []
    values: list[str] = []
    for condition in conditions if isinstance(conditions, list) else []:
        header = condition.get("httpHeaderConfig", {}) if isinstance(condition, dict) else {}
        if str(header.get("httpHeaderName", "")).lower() == "content-type":
            values += [str(v) for v in header.get("values", [])]
    return values


def _any_match(patterns: list[str], value: str) -> bool:
    return any(fnmatchcase(value.lower(), p.lower()) for p in patterns)
