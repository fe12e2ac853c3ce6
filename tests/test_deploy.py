"""The deployment files say what the code does: the committed HAProxy configuration is the one
``bilin haproxy-config`` generates and HAProxy accepts; the compose file brings up the
balancer, three workers, PostgreSQL, Redis, an object store and coturn; the image runs as a
non-root user."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from server.balancer import WorkerAddress, haproxy_config

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"


def body(text: str) -> list[str]:
    """A configuration's lines without comments and blank lines."""
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_the_committed_balancer_config_is_generated_and_valid(tmp_path: Path) -> None:
    workers = [WorkerAddress(f"w{i}", "127.0.0.1", 8100 + i) for i in (1, 2, 3)]
    generated = haproxy_config("0.0.0.0", 8080, workers)  # noqa: S104 (the container listens)
    committed = (DOCKER / "haproxy.cfg").read_text(encoding="utf-8")
    assert body(committed) == body(generated)
    haproxy = shutil.which("haproxy")
    assert haproxy is not None, "scripts/setup.sh --dev installs HAProxy"
    config = tmp_path / "haproxy.cfg"
    config.write_text(committed, encoding="utf-8")
    check = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_compose_brings_up_the_whole_topology() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"haproxy", "w1", "w2", "w3", "postgres", "redis", "minio", "coturn", "migrate"} <= set(
        services
    )
    for worker in ("w1", "w2", "w3"):
        assert services[worker]["environment"]["BILIN_WORKER_ID"] == worker
        assert services[worker]["command"] == ["bilin", "serve", "--worker"]
    env = (DOCKER / "bilin.env.example").read_text(encoding="utf-8")
    for name in ("BILIN_REDIS_URL", "BILIN_DATABASE_URL", "BILIN_S3_ENDPOINT", "BILIN_TURN_SECRET"):
        assert f"{name}=" in env
    turn = (DOCKER / "coturn" / "turnserver.conf").read_text(encoding="utf-8")
    for denied in (
        "10.0.0.0-10.255.255.255",
        "127.0.0.0-127.255.255.255",
        "169.254.0.0-169.254.255.255",
    ):
        assert f"denied-peer-ip={denied}" in turn


def test_the_image_is_multi_stage_and_runs_as_a_user() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.count("\nFROM ") + dockerfile.startswith("FROM ") >= 2
    assert "\nUSER bilin\n" in dockerfile
    assert "build-essential" not in dockerfile.split("AS runtime", 1)[1]
