"""What the Dockerfile's image runs, run here the same way: the wheel built from this checkout,
installed in a fresh virtual environment, its migration job (`auditbot db upgrade`) and then
the image's CMD started as an unprivileged user with the image's environment, until the image's
HEALTHCHECK passes. (Building the image itself needs a base image from a container registry,
which this machine cannot reach; README, "Deploying", says so.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import DEPLOYED

ROOT = Path(__file__).resolve().parents[1]
NOBODY = 65534


def dockerfile() -> dict[str, list[str] | dict[str, str]]:
    """The final stage's CMD and HEALTHCHECK (exec form) and ENV, read from the Dockerfile."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    final = text.split("\nFROM ")[-1]
    cmd = re.search(r"^CMD (\[.*\])$", final, re.M)
    check = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])$", final, re.M)
    assert cmd and check, "the Dockerfile's CMD and HEALTHCHECK must be in exec (JSON) form"
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV (.*)$", final, re.M):
        env.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    return {"cmd": json.loads(cmd.group(1)), "healthcheck": json.loads(check.group(1)), "env": env}


@pytest.fixture(scope="module")
def installed() -> Iterator[Path]:
    """A fresh virtual environment with the wheel built from this checkout (and what it
    requires, from the package index), readable by an unprivileged user."""
    folder = Path(tempfile.mkdtemp(prefix="auditbot-image-"))
    folder.chmod(0o755)
    try:
        wheels = folder / "wheels"
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(ROOT)], check=True)
        [wheel] = wheels.glob("auditbot-*.whl")
        venv = folder / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = [str(venv / "bin" / "pip"), "--disable-pip-version-check", "-q", "install"]
        subprocess.run([*install, str(wheel)], check=True)
        yield venv
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def as_unprivileged(command: list[str]) -> list[str]:
    """Run as nobody when the tests run as root (CI); otherwise already unprivileged."""
    if os.getuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to drop root"
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_images_command_serves_from_the_wheel_as_an_unprivileged_user(installed: Path):
    image = dockerfile()
    assert image["cmd"] == ["auditbot", "serve", "--no-migrate"]
    home = Path(tempfile.mkdtemp(prefix="auditbot-home-"))
    try:
        if os.getuid() == 0:
            os.chown(home, NOBODY, NOBODY)
        env = {
            "PATH": f"{installed / 'bin'}:/usr/bin:/bin",
            "HOME": str(home),
            **image["env"],  # type: ignore[dict-item]
            **{f"AUDITBOT_{name.upper()}": value for name, value in DEPLOYED.items()},
            "AUDITBOT_DATABASE_URL": f"sqlite:///{home}/auditbot.sqlite3",
            "AUDITBOT_PORT": str(free_port()),
            "AUDITBOT_HOST": "127.0.0.1",  # the image's 0.0.0.0, kept to this machine here
        }
        job = subprocess.run(
            as_unprivileged(["auditbot", "db", "upgrade"]),
            env=env, cwd=home, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert job.returncode == 0, job.stderr
        log = home / "serve.log"
        with log.open("wb") as output:
            service = subprocess.Popen(
                as_unprivileged(list(image["cmd"])),
                env=env, cwd=home, stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while True:
                assert service.poll() is None, log.read_text()
                check = subprocess.run(
                    as_unprivileged(list(image["healthcheck"])),
                    env=env, cwd=home, capture_output=True, timeout=30,
                )  # fmt: skip
                if check.returncode == 0:
                    break
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
            owner = Path(f"/proc/{service.pid}/status").read_text()
            uid = int(re.search(r"^Uid:\s+(\d+)", owner, re.M).group(1))  # type: ignore[union-attr]
            assert uid != 0
        finally:
            service.send_signal(signal.SIGTERM)
            assert service.wait(timeout=60) == 0, log.read_text()
        records = [json.loads(line) for line in log.read_text().splitlines()]
        assert any(r["message"].startswith("auditbot listening") for r in records)
        assert not any("database migrated" in r["message"] for r in records)
    finally:
        shutil.rmtree(home, ignore_errors=True)
