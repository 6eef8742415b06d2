"""Render deploy/k8s and look up the manifests, for the deployment tests.

There is no kustomize library on PyPI that renders offline, so `render()` is a
small loader for exactly the subset deploy/k8s uses (resources, namespace,
images, strategic-merge patches of maps, JSON 6902 patches). Anything else in a
kustomization.yaml is an error, and test_k8s_manifests.py checks the loader's
output against `kubectl kustomize` wherever kubectl is installed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S_BASE = DEPLOY / "k8s" / "base"
K8S_OVERLAY = DEPLOY / "k8s" / "overlays" / "example"

Manifest = dict[str, Any]

_SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
_CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "PersistentVolume",
    "StorageClass",
    "CustomResourceDefinition",
    "IngressClass",
    "PriorityClass",
}


def render(directory: Path) -> list[Manifest]:
    """Build a kustomization directory the way `kubectl kustomize` would."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unsupported = set(spec) - _SUPPORTED_KEYS
    if unsupported:
        raise ValueError(f"{directory}: loader does not support {sorted(unsupported)}")
    docs: list[Manifest] = []
    for entry in spec.get("resources", []):
        path = directory / entry
        if path.is_dir():
            docs.extend(render(path))
        else:
            docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for patch in spec.get("patches", []):
        _apply_patch(docs, directory, patch)
    for image in spec.get("images", []):
        for container in _containers(docs):
            _set_image(container, image)
    if "namespace" in spec:
        for doc in docs:
            if doc["kind"] not in _CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = spec["namespace"]
    return docs


def _apply_patch(docs: list[Manifest], directory: Path, patch: dict[str, Any]) -> None:
    if set(patch) - {"path", "target"}:
        raise ValueError(f"unsupported patch entry {patch}")
    body = yaml.safe_load((directory / patch["path"]).read_text())
    if isinstance(body, list):  # JSON 6902
        targets = [d for d in docs if _matches(d, patch["target"])]
        if len(targets) != 1:
            raise ValueError(f"patch target {patch['target']} matched {len(targets)} resources")
        for op in body:
            _json_patch(targets[0], op)
        return
    selector = {"kind": body["kind"], "name": body["metadata"]["name"]}
    targets = [d for d in docs if _matches(d, patch.get("target", selector))]
    if len(targets) != 1:
        raise ValueError(f"patch {patch['path']} matched {len(targets)} resources")
    _merge(targets[0], body)


def _matches(doc: Manifest, target: dict[str, str]) -> bool:
    if set(target) - {"kind", "name"}:
        raise ValueError(f"unsupported patch target {target}")
    return all(
        (doc["kind"] if key == "kind" else doc["metadata"]["name"]) == value
        for key, value in target.items()
    )


def _merge(into: dict[str, Any], patch: dict[str, Any]) -> None:
    """Strategic merge restricted to maps: lists would need merge keys."""
    for key, value in patch.items():
        if isinstance(value, list) or str(key).startswith("$"):
            raise ValueError(f"loader merges maps only; got {key!r}")
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def _json_patch(doc: Manifest, op: dict[str, Any]) -> None:
    *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in op["path"][1:].split("/")]
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if op["op"] == "remove":
        del node[int(last) if isinstance(node, list) else last]
    elif op["op"] == "add" and isinstance(node, list):
        node.insert(len(node) if last == "-" else int(last), copy.deepcopy(op["value"]))
    elif op["op"] == "replace" and isinstance(node, list):
        node[int(last)] = copy.deepcopy(op["value"])
    elif op["op"] in {"add", "replace"}:
        if op["op"] == "replace" and last not in node:
            raise KeyError(f"replace of missing {op['path']}")
        node[last] = copy.deepcopy(op["value"])
    else:
        raise ValueError(f"unsupported JSON patch op {op}")


def _containers(docs: list[Manifest]) -> Iterator[dict[str, Any]]:
    for doc in docs:
        pod = pod_spec(doc)
        if pod is not None:
            yield from pod.get("initContainers", [])
            yield from pod.get("containers", [])


def _set_image(container: dict[str, Any], image: dict[str, str]) -> None:
    ref = container["image"]
    name = ref.partition("@")[0]
    slash = name.rfind("/")
    if ":" in name[slash + 1 :]:
        name = name[: name.rfind(":")]
    if name != image["name"]:
        return
    tag = image.get("newTag")
    container["image"] = image.get("newName", name) + (f":{tag}" if tag else "")


def pod_spec(doc: Manifest) -> dict[str, Any] | None:
    """The pod template's spec of a workload, or None for other kinds."""
    if doc["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
        spec: dict[str, Any] = doc["spec"]["template"]["spec"]
        return spec
    return None


class Index:
    """Look up rendered manifests by kind and name."""

    def __init__(self, docs: list[Manifest]) -> None:
        self.docs = docs

    def workloads(self) -> list[Manifest]:
        return [d for d in self.docs if pod_spec(d) is not None]

    def of_kind(self, kind: str) -> list[Manifest]:
        return [d for d in self.docs if d["kind"] == kind]

    def get(self, kind: str, name: str) -> Manifest:
        found = [d for d in self.of_kind(kind) if d["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
        return found[0]

    def pod(self, kind: str, name: str) -> dict[str, Any]:
        spec = pod_spec(self.get(kind, name))
        assert spec is not None, f"{kind}/{name} has no pod template"
        return spec

    def container(self, kind: str, name: str) -> dict[str, Any]:
        spec = self.pod(kind, name)
        assert len(spec["containers"]) == 1
        container: dict[str, Any] = spec["containers"][0]
        return container

    def config(self) -> dict[str, str]:
        data: dict[str, str] = self.get("ConfigMap", "jobgate-config")["data"]
        return data
