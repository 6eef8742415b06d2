"""The kustomize layout renders, and every manifest is valid Kubernetes.

Validation is offline, against the JSON schemas kubernetes-validate ships, in
strict mode (an unknown or misspelt field is an error).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.deploy.k8s_render import K8S_BASE, K8S_OVERLAY, Manifest, pod_spec, render

# The oldest Kubernetes minor we promise to run on, and the newest known.
K8S_VERSIONS = ["1.29", kubernetes_validate.utils.latest_version()]


def _key(doc: Manifest) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


@pytest.mark.parametrize("directory", [K8S_BASE, K8S_OVERLAY], ids=["base", "overlay"])
def test_loader_matches_kubectl_kustomize(directory: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not on PATH: the test loader is not cross-checked here")
    out = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    expected = {_key(d): d for d in yaml.safe_load_all(out) if d}
    got = {_key(d): d for d in render(directory)}
    assert got.keys() == expected.keys()
    for key, doc in expected.items():
        assert got[key] == doc, f"{key} differs from kubectl kustomize"


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_manifest_matches_the_kubernetes_schema(
    overlay: list[Manifest], version: str
) -> None:
    errors = []
    for doc in overlay:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")
    assert not errors, "\n".join(errors)


def test_overlay_renders_the_expected_objects(overlay: list[Manifest]) -> None:
    assert sorted(_key(d) for d in overlay) == sorted(
        [
            ("ConfigMap", "jobgate-config"),
            ("Secret", "jobgate-secrets"),
            ("Service", "valkey"),
            ("StatefulSet", "valkey"),
            ("NetworkPolicy", "valkey"),
            ("Deployment", "jobgate-api"),
            ("Service", "jobgate-api"),
            ("HorizontalPodAutoscaler", "jobgate-api"),
            ("PodDisruptionBudget", "jobgate-api"),
            ("Deployment", "jobgate-worker"),
            ("HorizontalPodAutoscaler", "jobgate-worker"),
            ("PodDisruptionBudget", "jobgate-worker"),
            ("Deployment", "jobgate-frontend"),
            ("Service", "jobgate-frontend"),
            ("Ingress", "jobgate"),
        ]
    )
    assert {d["metadata"].get("namespace") for d in overlay} == {"jobgate-example"}


def test_base_ships_no_secret_and_the_overlay_secret_is_fake(
    base: list[Manifest], overlay: list[Manifest]
) -> None:
    assert not [d for d in base if d["kind"] == "Secret"]
    (secret,) = [d for d in overlay if d["kind"] == "Secret"]
    assert "data" not in secret
    assert secret["stringData"]
    for value in secret["stringData"].values():
        assert value.startswith("FAKE-"), "example Secret values must be visibly fake"


def test_overlay_pins_image_tags(overlay: list[Manifest]) -> None:
    images = {
        c["image"] for d in overlay if (spec := pod_spec(d)) is not None for c in spec["containers"]
    }
    assert images == {
        "registry.example.invalid/jobgate:0.1.0",
        "registry.example.invalid/jobgate-frontend:0.1.0",
        "valkey/valkey:8",
    }


def test_loader_rejects_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\ncommonLabels: {a: b}\n")
    with pytest.raises(ValueError, match="commonLabels"):
        render(tmp_path)


def test_loader_applies_patches_images_and_namespace(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {A: '1', B: '2'}\n"
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
        "spec: {template: {spec: {containers: [{name: x, image: 'app:1'}]}}}\n"
    )
    (tmp_path / "p.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {B: '3'}\n"
    )
    (tmp_path / "j.yaml").write_text("- {op: add, path: /data/C, value: '4'}\n")
    (tmp_path / "kustomization.yaml").write_text(
        "namespace: ns\nresources: [cm.yaml]\n"
        "images: [{name: app, newName: reg/app, newTag: '2'}]\n"
        "patches: [{path: p.yaml}, {path: j.yaml, target: {kind: ConfigMap, name: c}}]\n"
    )
    cm, deploy = render(tmp_path)
    assert cm["data"] == {"A": "1", "B": "3", "C": "4"}
    assert cm["metadata"]["namespace"] == "ns"
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "reg/app:2"
