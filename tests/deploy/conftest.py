"""Fixtures for the deployment tests: the rendered Kubernetes manifests."""

from __future__ import annotations

import pytest

from tests.deploy.k8s_render import K8S_BASE, K8S_OVERLAY, Index, Manifest, render


@pytest.fixture(scope="session")
def overlay() -> list[Manifest]:
    return render(K8S_OVERLAY)


@pytest.fixture(scope="session")
def base() -> list[Manifest]:
    return render(K8S_BASE)


@pytest.fixture(scope="session")
def k8s(overlay: list[Manifest]) -> Index:
    return Index(overlay)
