"""The kustomize-subset renderer: strategic merge semantics, name suffixes with references, and
refusal of what it does not implement; the real overlays through the deploy tools venv."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from deploy.tools.render import RenderError, build, strategic_merge
from tests.deploy.conftest import DEPLOY_PYTHON, ROOT, needs_deploy_tools


def json_documents(text: str) -> list[Any]:
    # JSON is YAML: these tests write JSON so they need no YAML parser in the main venv.
    return [json.loads(part) for part in text.split("\n---\n") if part.strip()]


def test_strategic_merge_merges_keyed_lists_and_replaces_the_others() -> None:
    base = {
        "containers": [
            {"name": "a", "env": [{"name": "X", "value": "1"}], "args": ["one"]},
            {"name": "b"},
        ],
        "affinity": {"podAntiAffinity": {"required": [1]}, "keep": True},
    }
    patch = {
        "containers": [
            {
                "name": "a",
                "env": [{"name": "Y", "value": "2"}, {"name": "X", "value": "3"}],
                "args": ["two"],
            },
            {"name": "b", "$patch": "delete"},
        ],
        "affinity": {"podAntiAffinity": {"required": None}},
    }
    assert strategic_merge(base, patch) == {
        "containers": [
            {
                "name": "a",
                "env": [{"name": "X", "value": "3"}, {"name": "Y", "value": "2"}],
                "args": ["two"],
            },
        ],
        "affinity": {"podAntiAffinity": {}, "keep": True},
    }


def write(path: Path, *documents: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n---\n".join(json.dumps(d) for d in documents))


def test_a_name_suffix_renames_and_follows_references(tmp_path: Path) -> None:
    write(
        tmp_path / "base" / "app.yaml",
        {"kind": "Service", "metadata": {"name": "quotes"}},
        {
            "kind": "StatefulSet",
            "metadata": {"name": "quotes"},
            "spec": {"serviceName": "quotes", "replicas": 3},
        },
    )
    write(tmp_path / "base" / "kustomization.yaml", {"resources": ["app.yaml"]})
    write(
        tmp_path / "sport" / "patch.yaml",
        {"kind": "StatefulSet", "metadata": {"name": "quotes"}, "spec": {"replicas": 5}},
    )
    write(
        tmp_path / "sport" / "kustomization.yaml",
        {
            "resources": ["../base"],
            "nameSuffix": "-tennis",
            "namespace": "betmesh",
            "patches": [{"path": "patch.yaml"}],
        },
    )
    service, statefulset = build(tmp_path / "sport", json_documents)
    assert service["metadata"] == {"name": "quotes-tennis", "namespace": "betmesh"}
    assert statefulset["spec"] == {"serviceName": "quotes-tennis", "replicas": 5}


def test_unsupported_kustomize_fields_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "kustomization.yaml", {"resources": [], "commonLabels": {"a": "b"}})
    with pytest.raises(RenderError, match="unsupported fields"):
        build(tmp_path, json_documents)


def test_a_patch_that_matches_nothing_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "p.yaml", {"kind": "Deployment", "metadata": {"name": "ghost"}})
    write(tmp_path / "kustomization.yaml", {"resources": [], "patches": [{"path": "p.yaml"}]})
    with pytest.raises(RenderError, match="matches 0 objects"):
        build(tmp_path, json_documents)


def run_tools(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DEPLOY_PYTHON, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=False,
    )


VALIDATE = """
import sys
from pathlib import Path
from deploy.tools.validate_k8s import validate_overlay
problems = validate_overlay(Path(sys.argv[1]))
print("\\n".join(problems))
sys.exit(1 if problems else 0)
"""


@needs_deploy_tools
def test_the_real_overlays_render_and_validate() -> None:
    result = run_tools("-m", "deploy.tools.validate_k8s")
    assert result.returncode == 0, result.stdout + result.stderr
    # 92: the gateway reaches bets for the return-to-player figures (one more NetworkPolicy).
    assert "k8s overlay prod: 92 objects" in result.stdout, result.stdout


RENDER_JSON = """
import json, sys
from pathlib import Path
from deploy.tools.render import build
print(json.dumps(build(Path(sys.argv[1]))))
"""


@needs_deploy_tools
def test_browsers_reach_the_edge_and_partners_the_services_on_one_alb() -> None:
    result = run_tools("-c", RENDER_JSON, str(ROOT / "deploy" / "k8s" / "overlays" / "prod"))
    assert result.returncode == 0, result.stderr[-2000:]
    objects = json.loads(result.stdout)

    def get(kind: str, name: str) -> Any:
        return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)

    ingresses = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Ingress"}
    assert set(ingresses) == {"grpc", "web"}
    groups = {
        i["metadata"]["annotations"]["alb.ingress.kubernetes.io/group.name"]
        for i in ingresses.values()
    }
    assert groups == {"betmesh"}
    web = ingresses["web"]
    (path,) = web["spec"]["rules"][0]["http"]["paths"]
    assert (path["path"], path["backend"]["service"]["name"]) == ("/", "edge")
    annotations = web["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/healthcheck-path"] == "/healthz"
    assert (
        annotations["alb.ingress.kubernetes.io/certificate-arn"]
        == (
            ingresses["grpc"]["metadata"]["annotations"][
                "alb.ingress.kubernetes.io/certificate-arn"
            ]
        )
    )
    edge = get("Deployment", "edge")["spec"]["template"]["spec"]["containers"][0]
    assert edge["args"] == ["services.edge"]
    assert edge["image"].endswith("/betmesh:0.2.0")
    config = get("ConfigMap", "betmesh-edge")["data"]
    assert config["BETMESH_EDGE_PUBLIC_URL"] == "https://betmesh.example"
    assert config["BETMESH_EDGE_CORS_ORIGINS"] == ""
    identity = get("Deployment", "identity")["spec"]["template"]["spec"]["containers"][0]
    env = {v["name"]: v.get("value") for v in identity["env"]}
    assert env["BETMESH_IDENTITY_FRANCECONNECT_REDIRECT_URI"] == (
        "https://betmesh.example/auth/franceconnect/callback"
    )


@needs_deploy_tools
def test_a_broken_overlay_fails_validation(tmp_path: Path) -> None:
    copy = tmp_path / "k8s"
    shutil.copytree(ROOT / "deploy" / "k8s", copy)
    bets = copy / "base" / "bets.yaml"
    text = bets.read_text()
    # No readiness probe, and a schema error (a misspelt field, refused in strict mode).
    probe = (
        "          readinessProbe:\n"
        "            grpc: {port: 50052, service: betmesh.bets.v1.BetService}\n"
        "            periodSeconds: 5\n"
        "            failureThreshold: 2\n"
    )
    assert probe in text
    text = text.replace(probe, "").replace(
        "  replicas: 3\n", "  replicas: 3\n  minReadySecond: 5\n", 1
    )
    bets.write_text(text)
    result = run_tools("-c", VALIDATE, str(copy / "overlays" / "prod"))
    assert result.returncode == 1
    assert "Deployment/bets container bets: no readinessProbe" in result.stdout
    assert "Deployment/bets: schema: spec: Additional properties" in result.stdout


@needs_deploy_tools
def test_cdk_synthesises_the_layout(tmp_path: Path) -> None:
    result = run_tools("-m", "deploy.aws.app", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    template = json.loads((tmp_path / "betmesh-prod.template.json").read_text())
    resources = list(template["Resources"].values())

    def of(kind: str) -> list[dict[str, Any]]:
        return [r["Properties"] for r in resources if r["Type"] == kind]

    (database,) = of("AWS::RDS::DBInstance")
    assert database["MultiAZ"] is True and database["StorageEncrypted"] is True
    (redis,) = of("AWS::ElastiCache::ReplicationGroup")
    assert redis["MultiAZEnabled"] is True and redis["TransitEncryptionEnabled"] is True
    signers = [k for k in of("AWS::KMS::Key") if k.get("KeySpec") == "ECC_SECG_P256K1"]
    assert len(signers) == 3
    assert of("AWS::EKS::Cluster")[0]["Version"] == "1.34"
    # The browser-facing origin: its certificate, and public subnets the load balancer
    # controller can place the internet-facing ALB in (the web app ships in the image).
    (certificate,) = of("AWS::CertificateManager::Certificate")
    assert certificate["DomainName"] == "betmesh.example"
    assert certificate["ValidationMethod"] == "DNS"
    elb_tag = {"Key": "kubernetes.io/role/elb", "Value": "1"}
    assert sum(elb_tag in s.get("Tags", []) for s in of("AWS::EC2::Subnet")) == 3
    assert not of("AWS::CloudFront::Distribution")
    assert of("AWS::Lambda::Function")[0]["PackageType"] == "Image"


TLS_RULES = """
import json
from pathlib import Path
from deploy.tools.checks import check
from deploy.tools.render import build
objects = build(Path("deploy/k8s/overlays/prod"))
found = {}
found["clean"] = check(objects)
without = [o for o in objects if o["metadata"]["name"] != "betmesh-gateway-tls"]
found["no_certificate"] = check(without)
narrow = json.loads(json.dumps(objects))
for o in narrow:
    if o["metadata"]["name"] == "betmesh-live-tls":
        o["spec"]["dnsNames"] = ["elsewhere"]
found["wrong_names"] = check(narrow)
probing = json.loads(json.dumps(objects))
for o in probing:
    if o["kind"] == "Deployment" and o["metadata"]["name"] == "bets":
        o["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["port"] = 50051
found["tls_probe"] = check(probing)
print(json.dumps(found))
"""


@needs_deploy_tools
def test_tls_rules_on_the_real_overlay() -> None:
    """Every TLS process mounts a Certificate of ours valid for its Service; probes go to the
    plaintext health port: the real manifests pass, and each broken variant is named."""
    result = run_tools("-c", TLS_RULES)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["clean"] == []
    assert any("Deployment/gateway: BETMESH_TLS_CERT_FILE" in p for p in found["no_certificate"])
    assert any("not valid for live" in p for p in found["wrong_names"])
    assert any("Deployment/bets: readinessProbe asks a TLS port" in p for p in found["tls_probe"])
