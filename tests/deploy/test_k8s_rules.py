"""The project's own Kubernetes rules (deploy/tools/checks.py) on hand-written manifests: a clean
set passes, and each broken rule is reported."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from deploy.tools.checks import check

Obj = dict[str, Any]


def container(name: str, args: list[str], env: list[Obj] | None = None) -> Obj:
    return {
        "name": name,
        "image": "registry.example/betmesh:1",
        "args": args,
        "env": env or [],
        "envFrom": [{"configMapRef": {"name": "common"}}],
        "readinessProbe": {"grpc": {"port": 50051, "service": "x"}},
        "livenessProbe": {"grpc": {"port": 50051}},
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
        "resources": {
            "requests": {"cpu": "1", "memory": "1Gi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def workload(kind: str, name: str, c: Obj, labels: dict[str, str] | None = None) -> Obj:
    pod_labels = {"app.kubernetes.io/name": name, **(labels or {})}
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {
            "replicas": 3,
            "serviceName": name,
            "selector": {"matchLabels": pod_labels},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "terminationGracePeriodSeconds": 45,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                    "containers": [c],
                },
            },
        },
    }


def budget(name: str, labels: dict[str, str]) -> Obj:
    return {
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},
    }


def policy(name: str, labels: dict[str, str], **rules: Any) -> Obj:
    return {
        "kind": "NetworkPolicy",
        "metadata": {"name": name},
        "spec": {"podSelector": {"matchLabels": labels}, **rules},
    }


SPORT_ENV: Obj = {"name": "BETMESH_QUOTES_SPORT", "value": "football"}


def quotes_statefulset() -> Obj:
    sport = {"app.kubernetes.io/name": "quotes", "betmesh.io/sport": "football"}
    sts = workload(
        "StatefulSet",
        "quotes-football",
        container(
            "quotes", ["services.quotes"], [{"name": "BETMESH_QUOTES_SPORT", "value": "football"}]
        ),
        {"betmesh.io/sport": "football"},
    )
    sts["spec"]["template"]["metadata"]["labels"] = sport
    sts["spec"]["template"]["spec"]["affinity"] = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": sport}}
            ]
        }
    }
    sts["spec"]["template"]["spec"]["topologySpreadConstraints"] = [
        {
            "topologyKey": "topology.kubernetes.io/zone",
            "maxSkew": 1,
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": sport},
        }
    ]
    return sts


REPLICAS = ",".join(f"quotes-football-{i}.quotes-football:50051" for i in range(3))


def mesh() -> list[Obj]:
    gateway_env: list[Obj] = [
        {"name": "BETMESH_GATEWAY_REPLICAS", "value": f"football={REPLICAS}"},
        {"name": "BETMESH_GATEWAY_QUORUM", "value": "football=2"},
        {
            "name": "BETMESH_DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}},
        },
    ]
    live = workload(
        "Deployment", "live", container("live", ["services.live"]), {"betmesh.io/public": "true"}
    )
    return [
        {
            "kind": "ConfigMap",
            "metadata": {"name": "common"},
            "data": {
                "BETMESH_GRACE_SECONDS": "30",
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4317",
            },
        },
        {"kind": "Service", "metadata": {"name": "quotes-football"}, "spec": {"clusterIP": "None"}},
        {
            "kind": "Service",
            "metadata": {"name": "live"},
            "spec": {"selector": {"app.kubernetes.io/name": "live"}},
        },
        quotes_statefulset(),
        workload("Deployment", "gateway", container("gateway", ["gateway"], gateway_env)),
        live,
        budget("quotes", {"app.kubernetes.io/name": "quotes"}),
        budget("gateway", {"app.kubernetes.io/name": "gateway"}),
        budget("live", {"app.kubernetes.io/name": "live"}),
        policy(
            "quotes",
            {"app.kubernetes.io/name": "quotes"},
            ingress=[
                {"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}]}
            ],
        ),
        policy("gateway", {"app.kubernetes.io/name": "gateway"}),
        policy(
            "live",
            {"app.kubernetes.io/name": "live"},
            ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/20"}}]}],
        ),
        {
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "live"},
            "spec": {
                "scaleTargetRef": {"kind": "Deployment", "name": "live"},
                "metrics": [{"type": "Resource"}, {"type": "Pods"}],
            },
        },
        {
            "kind": "Ingress",
            "metadata": {"name": "edge"},
            "spec": {"rules": [{"http": {"paths": [{"backend": {"service": {"name": "live"}}}]}}]},
        },
    ]


def find(objects: list[Obj], kind: str, name: str) -> Obj:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def first_container(objects: list[Obj], kind: str, name: str) -> Obj:
    spec: Obj = find(objects, kind, name)["spec"]["template"]["spec"]
    found: Obj = spec["containers"][0]
    return found


def test_a_clean_mesh_passes() -> None:
    assert check(mesh()) == []


def broken(change: Any) -> list[str]:
    objects = copy.deepcopy(mesh())
    change(objects)
    return check(objects)


def test_a_container_without_probes_is_reported() -> None:
    problems = broken(lambda o: first_container(o, "Deployment", "gateway").pop("readinessProbe"))
    assert problems == ["Deployment/gateway container gateway: no readinessProbe"]


def test_a_betmesh_container_must_use_native_grpc_probes() -> None:
    def exec_probe(objects: list[Obj]) -> None:
        first_container(objects, "Deployment", "live")["livenessProbe"] = {
            "exec": {"command": ["true"]}
        }

    assert broken(exec_probe) == [
        "Deployment/live container live: livenessProbe is not a native gRPC probe"
    ]


def test_limits_and_security_context_are_required() -> None:
    def strip(objects: list[Obj]) -> None:
        c = first_container(objects, "Deployment", "gateway")
        del c["resources"]["limits"]
        c["securityContext"]["readOnlyRootFilesystem"] = False
        find(objects, "Deployment", "gateway")["spec"]["template"]["spec"]["securityContext"] = {}

    problems = broken(strip)
    assert "Deployment/gateway container gateway: no cpu limit" in problems
    assert "Deployment/gateway container gateway: no memory limit" in problems
    assert "Deployment/gateway container gateway: root filesystem must be read-only" in problems
    assert any("must run as non-root" in p for p in problems)


def test_termination_grace_must_outlast_the_drain() -> None:
    def short(objects: list[Obj]) -> None:
        find(objects, "Deployment", "live")["spec"]["template"]["spec"][
            "terminationGracePeriodSeconds"
        ] = 30

    assert broken(short) == [
        "Deployment/live container live: terminationGracePeriodSeconds 30 must exceed preStop 5 s"
        " + BETMESH_GRACE_SECONDS 30 s"
    ]


def test_every_workload_needs_a_budget_and_a_policy_of_its_own() -> None:
    def remove(objects: list[Obj]) -> None:
        objects.remove(find(objects, "PodDisruptionBudget", "gateway"))
        objects.remove(find(objects, "NetworkPolicy", "gateway"))
        objects.append(policy("default-deny", {}))

    assert broken(remove) == [
        "Deployment/gateway: no PodDisruptionBudget selects its pods",
        "Deployment/gateway: no NetworkPolicy of its own selects its pods",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda o: o.append(
                {"kind": "Secret", "metadata": {"name": "db"}, "data": {"url": "eA=="}}
            ),
            "Secret/db: Secret objects are not committed; reference them by name",
        ),
        (
            lambda o: first_container(o, "Deployment", "gateway")["env"].__setitem__(
                2, {"name": "BETMESH_DATABASE_URL", "value": "postgresql://u:pw@db/betmesh"}
            ),
            "Deployment/gateway: BETMESH_DATABASE_URL must come from a secretKeyRef",
        ),
        (
            lambda o: find(o, "ConfigMap", "common")["data"].__setitem__(
                "BETMESH_REDIS_URL", "redis://:token@cache:6379"
            ),
            "ConfigMap/common: BETMESH_REDIS_URL looks like a credential; use a Secret",
        ),
    ],
)
def test_secrets_are_by_reference_only(change: Any, expected: str) -> None:
    assert expected in broken(change)


def with_tokens(objects: list[Obj]) -> None:
    find(objects, "ConfigMap", "common")["data"]["BETMESH_AUTH_MODE"] = "tokens"


def give_credential(objects: list[Obj], name: str) -> None:
    workload_ = find(objects, "Deployment", name)
    c = first_container(objects, "Deployment", name)
    c["env"] += [
        {
            "name": "BETMESH_CLIENT_ID",
            "valueFrom": {"secretKeyRef": {"name": f"{name}-client", "key": "client-id"}},
        },
        {"name": "BETMESH_CLIENT_SECRET_FILE", "value": f"/run/secrets/{name}/client-secret"},
    ]
    c["volumeMounts"] = [{"name": "client", "mountPath": f"/run/secrets/{name}"}]
    workload_["spec"]["template"]["spec"]["volumes"] = [
        {"name": "client", "secret": {"secretName": f"{name}-client", "defaultMode": 0o400}}
    ]


def test_under_tokens_a_calling_service_needs_a_client_credential_of_its_own() -> None:
    def tokens_only(objects: list[Obj]) -> None:
        with_tokens(objects)
        give_credential(objects, "live")

    missing = " calls other services under tokens without a client credential"
    problems = broken(tokens_only)
    assert f"Deployment/gateway:{missing} (BETMESH_CLIENT_ID from a Secret)" in problems
    # The quote replicas have none either (they call their peers); live has its own.
    assert any(p.startswith("StatefulSet/") and missing in p for p in problems)
    assert not any(p.startswith("Deployment/live") and "credential" in p for p in problems)

    def both(objects: list[Obj]) -> None:
        tokens_only(objects)
        give_credential(objects, "gateway")

    assert not any("gateway" in p and "credential" in p for p in broken(both))

    def secret_not_mounted(objects: list[Obj]) -> None:
        both(objects)
        first_container(objects, "Deployment", "gateway")["volumeMounts"] = []

    assert (
        "Deployment/gateway: BETMESH_CLIENT_SECRET_FILE is not on a mounted Secret volume"
        in broken(secret_not_mounted)
    )
    # Without tokens, no credential is needed.
    assert not any("credential" in p for p in check(mesh()))


def test_the_gateway_must_list_every_replica_by_its_stable_name() -> None:
    def scale(objects: list[Obj]) -> None:
        find(objects, "StatefulSet", "quotes-football")["spec"]["replicas"] = 5

    problems = broken(scale)
    assert any("BETMESH_GATEWAY_REPLICAS for football" in p for p in problems)
    assert "gateway: quorum 2 of 5 for football is not a strict majority" in problems


def test_quote_replicas_must_not_be_a_deployment() -> None:
    def as_deployment(objects: list[Obj]) -> None:
        objects.append(
            workload("Deployment", "quotes-tennis", container("quotes", ["services.quotes"]))
        )

    assert any("must be a StatefulSet" in p for p in broken(as_deployment))


def test_replicas_of_a_sport_are_kept_apart_in_strict_mode_only() -> None:
    objects = copy.deepcopy(mesh())
    del find(objects, "StatefulSet", "quotes-football")["spec"]["template"]["spec"]["affinity"]
    assert check(objects) == [
        "StatefulSet/quotes-football: no required anti-affinity keeping football replicas apart"
    ]
    assert check(objects, strict_scheduling=False) == []


def test_only_the_gateway_reaches_quote_replicas() -> None:
    def open_up(objects: list[Obj]) -> None:
        rules = find(objects, "NetworkPolicy", "quotes")["spec"]["ingress"]
        rules.append(
            {"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "live"}}}]}
        )

    assert broken(open_up) == [
        "NetworkPolicy/quotes: quote replicas may be reached only by the gateway"
    ]


def test_monitoring_may_scrape_quote_replicas_on_the_metrics_port_only() -> None:
    def scrape(port: int) -> Any:
        def change(objects: list[Obj]) -> None:
            find(objects, "NetworkPolicy", "quotes")["spec"]["ingress"].append(
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {"name": "monitoring"}}},
                    ],
                    "ports": [{"protocol": "TCP", "port": port}],
                }
            )

        return change

    assert broken(scrape(9464)) == []
    assert broken(scrape(50051)) == [
        "NetworkPolicy/quotes: quote replicas may be reached only by the gateway"
    ]


def test_only_the_oracle_reaches_the_chain_rpc() -> None:
    def chain(objects: list[Obj]) -> None:
        find(objects, "NetworkPolicy", "gateway")["spec"]["egress"] = [
            {"to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}], "ports": [{"port": 8545}]}
        ]

    assert broken(chain) == ["NetworkPolicy/gateway: egress to the chain RPC port from ['gateway']"]


def test_only_public_workloads_take_outside_traffic() -> None:
    def expose(objects: list[Obj]) -> None:
        find(objects, "NetworkPolicy", "gateway")["spec"]["ingress"] = [
            {"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}
        ]
        find(objects, "Ingress", "edge")["spec"]["rules"][0]["http"]["paths"].append(
            {"backend": {"service": {"name": "quotes-football"}}}
        )

    problems = broken(expose)
    assert (
        "NetworkPolicy/gateway: lets outside traffic reach non-public Deployment/gateway"
        in problems
    )
    assert "Ingress/edge: routes to quotes-football, which is not public" in problems


def test_live_scales_on_cpu_and_a_custom_metric() -> None:
    def cpu_only(objects: list[Obj]) -> None:
        find(objects, "HorizontalPodAutoscaler", "live")["spec"]["metrics"] = [{"type": "Resource"}]

    assert broken(cpu_only) == [
        "HorizontalPodAutoscaler/live: live scales on CPU and a custom metric"
    ]


ORIGIN = "https://play.example"


def edge_mesh() -> list[Obj]:
    """mesh() plus the edge in front of live, and identity with FranceConnect on its origin."""
    objects = mesh()
    edge = container("edge", ["services.edge"], [{"name": "BETMESH_GRACE_SECONDS", "value": "10"}])
    edge["envFrom"].append({"configMapRef": {"name": "edge"}})
    for probe in ("readinessProbe", "livenessProbe"):
        edge[probe] = {"httpGet": {"path": "/healthz", "port": "http"}}
    fc_env: list[Obj] = [
        {"name": "BETMESH_IDENTITY_FRANCECONNECT_ISSUER", "value": "https://fc.example"},
        {
            "name": "BETMESH_IDENTITY_FRANCECONNECT_REDIRECT_URI",
            "value": f"{ORIGIN}/auth/franceconnect/callback",
        },
        {
            "name": "BETMESH_IDENTITY_FRANCECONNECT_POST_LOGOUT_REDIRECT_URI",
            "value": f"{ORIGIN}/auth/franceconnect/logout/callback",
        },
        {
            "name": "BETMESH_IDENTITY_RETURN_TO_ALLOWED",
            "value": f"https://other.example/,{ORIGIN}/",
        },
    ]
    objects += [
        {
            "kind": "ConfigMap",
            "metadata": {"name": "edge"},
            "data": {
                "BETMESH_EDGE_PUBLIC_URL": ORIGIN,
                "BETMESH_EDGE_UPSTREAMS": "live=live:50051",
            },
        },
        {
            "kind": "Service",
            "metadata": {"name": "edge"},
            "spec": {
                "selector": {"app.kubernetes.io/name": "edge"},
                "ports": [{"name": "http", "port": 8080}],
            },
        },
        workload("Deployment", "edge", edge, {"betmesh.io/public": "true"}),
        workload("Deployment", "identity", container("identity", ["services.identity"], fc_env)),
        budget("edge", {"app.kubernetes.io/name": "edge"}),
        budget("identity", {"app.kubernetes.io/name": "identity"}),
        policy(
            "edge",
            {"app.kubernetes.io/name": "edge"},
            ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/20"}}]}],
        ),
        policy("identity", {"app.kubernetes.io/name": "identity"}),
    ]
    find(objects, "Service", "live")["spec"]["ports"] = [{"name": "grpc", "port": 50051}]
    find(objects, "Ingress", "edge")["spec"]["rules"][0]["http"]["paths"].append(
        {"backend": {"service": {"name": "edge"}}}
    )
    return objects


def broken_edge(change: Any) -> list[str]:
    objects = edge_mesh()
    change(objects)
    return check(objects)


def test_a_clean_mesh_with_the_edge_passes() -> None:
    assert check(edge_mesh()) == []


def test_the_edge_is_probed_over_http_not_grpc() -> None:
    def grpc_probe(objects: list[Obj]) -> None:
        first_container(objects, "Deployment", "edge")["readinessProbe"] = {"grpc": {"port": 8080}}

    assert broken_edge(grpc_probe) == [
        "Deployment/edge container edge: readinessProbe is not GET /healthz (the edge speaks HTTP)"
    ]


def test_the_edge_needs_its_budget_policy_and_security_like_any_workload() -> None:
    def strip(objects: list[Obj]) -> None:
        objects.remove(find(objects, "PodDisruptionBudget", "edge"))
        first_container(objects, "Deployment", "edge")["securityContext"]["capabilities"] = {}

    assert broken_edge(strip) == [
        "Deployment/edge container edge: capabilities must drop ALL",
        "Deployment/edge: no PodDisruptionBudget selects its pods",
    ]


def test_the_edges_upstreams_are_services_here() -> None:
    def typo(objects: list[Obj]) -> None:
        find(objects, "ConfigMap", "edge")["data"]["BETMESH_EDGE_UPSTREAMS"] = (
            "live=live:50052;bets=bets:50051"
        )

    assert broken_edge(typo) == [
        "Deployment/edge: upstream live=live:50052 is not a Service port here",
        "Deployment/edge: upstream bets=bets:50051 is not a Service port here",
    ]


def test_identity_franceconnect_uris_are_the_edges_routes_on_its_origin() -> None:
    def move(objects: list[Obj]) -> None:
        find(objects, "ConfigMap", "edge")["data"]["BETMESH_EDGE_PUBLIC_URL"] = (
            "https://new.example"
        )

    assert broken_edge(move) == [
        "Deployment/identity: BETMESH_IDENTITY_FRANCECONNECT_REDIRECT_URI must be"
        " https://new.example/auth/franceconnect/callback (the edge's route)",
        "Deployment/identity: BETMESH_IDENTITY_FRANCECONNECT_POST_LOGOUT_REDIRECT_URI must be"
        " https://new.example/auth/franceconnect/logout/callback (the edge's route)",
        "Deployment/identity: BETMESH_IDENTITY_RETURN_TO_ALLOWED must allow https://new.example/",
    ]


def test_franceconnect_needs_an_edge_with_a_public_origin() -> None:
    def no_origin(objects: list[Obj]) -> None:
        del find(objects, "ConfigMap", "edge")["data"]["BETMESH_EDGE_PUBLIC_URL"]

    def no_edge(objects: list[Obj]) -> None:
        objects.remove(find(objects, "Deployment", "edge"))

    assert broken_edge(no_origin) == [
        "Deployment/edge: no BETMESH_EDGE_PUBLIC_URL (the origin browsers use)",
        "Deployment/identity: FranceConnect is configured but no edge serves its redirects",
    ]
    assert "Deployment/identity: FranceConnect is configured but no edge serves its redirects" in (
        broken_edge(no_edge)
    )


def grpc_condition(*values: str) -> str:
    header = {"httpHeaderName": "content-type", "values": list(values)}
    return json.dumps([{"field": "http-header", "httpHeaderConfig": header}])


@pytest.mark.parametrize(
    ("condition", "clean"),
    [
        (None, False),
        (grpc_condition("application/grpc", "application/grpc+*"), True),
        # Would also take gRPC-web (application/grpc-web+proto) to the GRPC target group.
        (grpc_condition("application/grpc*"), False),
        # Matches no native gRPC call at all.
        (grpc_condition("application/grpc-web"), False),
    ],
)
def test_a_grpc_ingress_lets_grpc_web_fall_through_to_the_edge(
    condition: str | None, clean: bool
) -> None:
    def grpc_backend(objects: list[Obj]) -> None:
        annotations = {"alb.ingress.kubernetes.io/backend-protocol-version": "GRPC"}
        if condition is not None:
            annotations["alb.ingress.kubernetes.io/conditions.live"] = condition
        find(objects, "Ingress", "edge")["metadata"]["annotations"] = annotations

    expected = [
        "Ingress/edge: gRPC backend live needs a content-type condition for native gRPC only"
        " (conditions.live): gRPC-web must reach the edge"
    ]
    assert broken(grpc_backend) == ([] if clean else expected)


def test_every_betmesh_process_runs_with_tokens() -> None:
    """The quote replicas were once left open behind their network policy: no longer."""

    def replicas_open(objects: list[Obj]) -> None:
        for obj in objects:
            if obj.get("kind") == "StatefulSet":
                container = obj["spec"]["template"]["spec"]["containers"][0]
                container["env"].append({"name": "BETMESH_AUTH_MODE", "value": "anonymous"})

    problems = broken(replicas_open)
    assert any(
        "StatefulSet/" in p and "BETMESH_AUTH_MODE=anonymous; production needs tokens" in p
        for p in problems
    ), problems
    assert "Deployment/gateway: runs with BETMESH_AUTH_MODE=anonymous" in " ".join(
        broken(
            lambda o: find(o, "ConfigMap", "common")["data"].update(BETMESH_AUTH_MODE="anonymous")
        )
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BETMESH_BETS_LIVE_DELAY_SECONDS", "football=9"),
        ("BETMESH_BETS_LIVE_SILENCE_SECONDS", "30"),
        ("BETMESH_LIVE_HEARTBEAT_SECONDS", "4"),
    ],
)
def test_what_bets_and_live_must_agree_on_is_set_once_for_both(name: str, value: str) -> None:
    """Bets applies the delay and live announces it; live vouches for in-play fixtures every
    heartbeat and bets refuses after the silence: set on one Deployment alone, partners are told
    a delay the house does not apply, or live bets are refused (or taken) on a silence the two
    did not agree on."""

    def with_bets(objects: list[Obj], env: list[Obj]) -> None:
        objects.append(workload("Deployment", "bets", container("bets", ["services.bets"], env)))

    def pair_problems(problems: list[str]) -> list[str]:
        return [p for p in problems if f"{name}=" in p]

    assert pair_problems(broken(lambda o: with_bets(o, []))) == []
    problems = pair_problems(broken(lambda o: with_bets(o, [{"name": name, "value": value}])))
    assert len(problems) == 2
    assert problems[0].startswith(f"Deployment/live: {name}='(default)'")
    assert problems[1].startswith(f"Deployment/bets: {name}={value!r}")

    def in_common(objects: list[Obj]) -> None:
        with_bets(objects, [])
        find(objects, "ConfigMap", "common")["data"][name] = value

    assert pair_problems(broken(in_common)) == []


def signer(name: str, account: str | None) -> Obj:
    obj = workload("Deployment", name, container("signer", ["services.signer"]))
    obj["spec"]["replicas"] = 1
    if account is not None:
        obj["spec"]["template"]["spec"]["serviceAccountName"] = account
    obj["spec"]["template"]["spec"]["volumes"] = [{"name": "key", "secret": {"secretName": name}}]
    return obj


def test_signer_keys_stay_apart() -> None:
    """One compromised pod, Secret or role yields at most one signature."""

    def signers(objects: list[Obj]) -> None:
        for index in (1, 2):
            name = f"oracle-signer-{index}"
            objects += [
                signer(name, name),
                budget(name, {"app.kubernetes.io/name": name}),
                policy(name, {"app.kubernetes.io/name": name}),
            ]

    assert not any("signer" in p for p in broken(signers))

    def shared_account(objects: list[Obj]) -> None:
        signers(objects)
        find(objects, "Deployment", "oracle-signer-2")["spec"]["template"]["spec"][
            "serviceAccountName"
        ] = "oracle-signer-1"
        find(objects, "Deployment", "oracle-signer-1")["spec"]["replicas"] = 2
        volumes = find(objects, "Deployment", "oracle-signer-1")["spec"]["template"]["spec"][
            "volumes"
        ]
        volumes.append({"name": "other", "secret": {"secretName": "oracle-signer-2"}})

    problems = broken(shared_account)
    assert (
        "Deployment/oracle-signer-2: shares ServiceAccount oracle-signer-1 with "
        "Deployment/oracle-signer-1" in problems
    )
    assert "Deployment/oracle-signer-1: one signer pod per key (replicas: 1)" in problems
    assert "Deployment/oracle-signer-1: a signer mounts one key Secret at most" in problems

    def keys_in_the_oracle(objects: list[Obj]) -> None:
        env = [{"name": "BETMESH_ORACLE_SIGNER_KEY_FILES", "value": "/keys/1,/keys/2"}]
        objects.append(
            workload("Deployment", "oracle", container("oracle", ["services.oracle"], env))
        )
        objects.append(signer("oracle-signer-9", None))

    problems = broken(keys_in_the_oracle)
    assert "Deployment/oracle: the oracle must hold no signer key (signer pods sign)" in problems
    assert "Deployment/oracle-signer-9: a signer needs a ServiceAccount of its own" in problems
