"""Renders a kustomize directory without kustomize: the subset of kustomize this repo uses.

kustomize is not installed on CI machines, and the overlays must render there. This renderer
implements exactly the kustomization fields the repository uses, with kustomize's semantics and
order (patches, then namespace, name prefix/suffix with reference fixing, replicas, images), and
refuses any other field, so a kustomization it renders is one `kubectl kustomize` renders the
same way. Patches are strategic merge patches: maps merge, `null` deletes a key, lists the
Kubernetes API declares mergeable merge on their key (containers by name, env by name...),
`$patch: replace|delete` are honoured, every other list is replaced.

    deploy/.venv/bin/python -m deploy.tools.render deploy/k8s/overlays/prod > prod.yaml
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

Manifest = dict[str, Any]
Loader = Callable[[str], list[Any]]

SUPPORTED_FIELDS = frozenset(
    {
        "apiVersion",
        "kind",
        "namespace",
        "resources",
        "nameSuffix",
        "namePrefix",
        "patches",
        "images",
        "replicas",
    }
)
# Lists the Kubernetes API marks `patchStrategy: merge`, with their merge key.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "topologySpreadConstraints": "topologyKey",
    "hostAliases": "ip",
}
CLUSTER_SCOPED = frozenset(
    {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "StorageClass"}
)
WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"})


class RenderError(ValueError):
    pass


def _ports_key(items: list[Any]) -> str:
    # Container ports merge on containerPort, Service ports on port.
    return (
        "containerPort"
        if any("containerPort" in i for i in items if isinstance(i, dict))
        else "port"
    )


def strategic_merge(base: Any, patch: Any, field: str = "") -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        if patch.get("$patch") == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
        merged = dict(base)
        for key, value in patch.items():
            if key == "$patch":
                continue
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = strategic_merge(merged[key], value, key)
            else:
                merged[key] = copy.deepcopy(_strip_directives(value))
        return merged
    if isinstance(base, list) and isinstance(patch, list):
        key = _ports_key(base + patch) if field == "ports" else MERGE_KEYS.get(field)
        if key is None:
            return copy.deepcopy(patch)
        merged_list = list(base)
        for item in patch:
            if not isinstance(item, dict) or key not in item:
                raise RenderError(f"patch item in {field!r} has no merge key {key!r}: {item!r}")
            index = next(
                (
                    i
                    for i, b in enumerate(merged_list)
                    if isinstance(b, dict) and b.get(key) == item[key]
                ),
                None,
            )
            if item.get("$patch") == "delete":
                if index is not None:
                    del merged_list[index]
            elif index is None:
                merged_list.append(copy.deepcopy(_strip_directives(item)))
            else:
                merged_list[index] = strategic_merge(merged_list[index], item, field)
        return merged_list
    return copy.deepcopy(patch)


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if k != "$patch"}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def _yaml_loader() -> Loader:
    import yaml  # type: ignore[import-untyped]

    def load(text: str) -> list[Any]:
        return [d for d in yaml.safe_load_all(text) if d is not None]

    return load


def build(directory: Path, load: Loader | None = None) -> list[Manifest]:
    """The objects `kubectl kustomize directory` would print, in resource order."""
    load = load or _yaml_loader()
    kustomization_file = directory / "kustomization.yaml"
    if not kustomization_file.is_file():
        raise RenderError(f"{directory} has no kustomization.yaml")
    documents = load(kustomization_file.read_text())
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise RenderError(f"{kustomization_file}: expected one mapping")
    spec: dict[str, Any] = documents[0]
    unsupported = set(spec) - SUPPORTED_FIELDS
    if unsupported:
        raise RenderError(f"{kustomization_file}: unsupported fields {sorted(unsupported)}")
    objects: list[Manifest] = []
    for entry in spec.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            objects.extend(build(path, load))
        elif path.is_file():
            objects.extend(copy.deepcopy(d) for d in load(path.read_text()))
        else:
            raise RenderError(f"{kustomization_file}: resource {entry!r} not found")
    for patch_entry in spec.get("patches", []):
        _apply_patches(objects, directory, patch_entry, load)
    if "namespace" in spec:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = spec["namespace"]
    if "namePrefix" in spec or "nameSuffix" in spec:
        _rename(objects, spec.get("namePrefix", ""), spec.get("nameSuffix", ""))
    for replica in spec.get("replicas", []):
        targets = [o for o in objects if o["kind"] in WORKLOADS and _name(o) == replica["name"]]
        if not targets:
            raise RenderError(f"{kustomization_file}: replicas for unknown {replica['name']!r}")
        for obj in targets:
            obj["spec"]["replicas"] = int(replica["count"])
    for image in spec.get("images", []):
        _set_image(objects, image)
    return objects


def _name(obj: Manifest) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def _apply_patches(
    objects: list[Manifest], directory: Path, entry: dict[str, Any], load: Loader
) -> None:
    if set(entry) - {"path", "patch", "target"}:
        raise RenderError(f"unsupported patch entry {entry!r}")
    text = (directory / entry["path"]).read_text() if "path" in entry else entry["patch"]
    target = entry.get("target", {})
    for patch in load(text):
        kind = target.get("kind", patch.get("kind"))
        name = target.get("name", patch.get("metadata", {}).get("name"))
        matches = [i for i, o in enumerate(objects) if o["kind"] == kind and _name(o) == name]
        if len(matches) != 1:
            raise RenderError(f"patch for {kind}/{name} matches {len(matches)} objects")
        index = matches[0]
        objects[index] = strategic_merge(objects[index], patch)


def _rename(objects: list[Manifest], prefix: str, suffix: str) -> None:
    renamed: dict[tuple[str, str], str] = {}
    for obj in objects:
        if obj["kind"] in CLUSTER_SCOPED:
            continue
        old = _name(obj)
        obj["metadata"]["name"] = f"{prefix}{old}{suffix}"
        renamed[(obj["kind"], old)] = obj["metadata"]["name"]
    # kustomize's nameReference: references to objects renamed in this build follow them.
    for obj in objects:
        spec = obj.get("spec", {})
        if obj["kind"] == "StatefulSet" and ("Service", spec.get("serviceName")) in renamed:
            spec["serviceName"] = renamed[("Service", spec["serviceName"])]
        if obj["kind"] == "HorizontalPodAutoscaler":
            ref = spec.get("scaleTargetRef", {})
            if (ref.get("kind"), ref.get("name")) in renamed:
                ref["name"] = renamed[(ref["kind"], ref["name"])]
        for pod in _pod_specs(obj):
            for volume in pod.get("volumes", []):
                if "configMap" in volume:
                    _follow(volume["configMap"], "name", "ConfigMap", renamed)
                if "secret" in volume:
                    _follow(volume["secret"], "secretName", "Secret", renamed)
            for container in pod.get("containers", []) + pod.get("initContainers", []):
                for source in container.get("envFrom", []):
                    if "configMapRef" in source:
                        _follow(source["configMapRef"], "name", "ConfigMap", renamed)
                    if "secretRef" in source:
                        _follow(source["secretRef"], "name", "Secret", renamed)
                for var in container.get("env", []):
                    value_from = var.get("valueFrom", {})
                    if "configMapKeyRef" in value_from:
                        _follow(value_from["configMapKeyRef"], "name", "ConfigMap", renamed)
                    if "secretKeyRef" in value_from:
                        _follow(value_from["secretKeyRef"], "name", "Secret", renamed)


def _follow(
    ref: dict[str, Any], field: str, kind: str, renamed: dict[tuple[str, str], str]
) -> None:
    if (kind, ref.get(field)) in renamed:
        ref[field] = renamed[(kind, ref[field])]


def _pod_specs(obj: Manifest) -> Iterator[dict[str, Any]]:
    if obj.get("kind") in WORKLOADS:
        yield obj.get("spec", {}).get("template", {}).get("spec", {})
    elif obj.get("kind") == "Pod":
        yield obj.get("spec", {})


def _set_image(objects: list[Manifest], image: dict[str, Any]) -> None:
    for obj in objects:
        for pod in _pod_specs(obj):
            for container in pod.get("containers", []) + pod.get("initContainers", []):
                if _repository(container.get("image", "")) != image["name"]:
                    continue
                name = image.get("newName", image["name"])
                if "digest" in image:
                    container["image"] = f"{name}@{image['digest']}"
                elif "newTag" in image:
                    container["image"] = f"{name}:{image['newTag']}"
                else:
                    container["image"] = name


def _repository(image: str) -> str:
    """ "registry:5000/team/app:tag@sha256:..." -> "registry:5000/team/app"."""
    without_digest = image.split("@", 1)[0]
    head, _, last = without_digest.rpartition("/")
    last = last.split(":", 1)[0]
    return f"{head}/{last}" if head else last


def to_yaml(objects: list[Manifest]) -> str:
    import yaml  # type: ignore[import-untyped]

    text: str = yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False)
    return text


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m deploy.tools.render DIRECTORY", file=sys.stderr)
        return 2
    try:
        sys.stdout.write(to_yaml(build(Path(args[0]))))
    except RenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
