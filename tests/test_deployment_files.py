"""The deployment files agree with the code and with each other: every setting they give the
service is one it reads, every value m365agents.yml uses is defined somewhere, the image copies
every package the wheel holds. (checkov and hadolint lint them in .ci/run.)"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]
TOOLKIT_BUILT_INS = {"AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP_NAME", "TEAMSFX_ENV"}


def settings_named(text: str) -> set[str]:
    return set(re.findall(r"\bAUDITBOT_([A-Z_]+)\b", text))


def test_every_setting_the_deployment_gives_is_one_the_service_reads():
    fields = {name.upper() for name in Settings.model_fields}
    for path in ("infra/main.bicep", "Dockerfile", "m365agents.yml"):
        unknown = settings_named((ROOT / path).read_text()) - fields - {"IMAGE", "VERSION"}
        assert not unknown, f"{path} sets settings auditbot does not have: {sorted(unknown)}"


def test_every_value_the_toolkit_uses_is_defined():
    bicep = (ROOT / "infra" / "main.bicep").read_text()
    outputs = set(re.findall(r"^output (\w+) ", bicep, re.M))
    environment = {
        line.split("=", 1)[0]
        for line in (ROOT / "env" / ".env.dev").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    defined = outputs | environment | TOOLKIT_BUILT_INS
    for path in ("m365agents.yml", "infra/main.parameters.json"):
        used = set(re.findall(r"\$\{\{(\w+)\}\}", (ROOT / path).read_text()))
        assert used <= defined, f"{path} uses undefined {sorted(used - defined)}"


def test_the_toolkit_file_points_at_real_files_and_bicep_parameters():
    project = yaml.safe_load((ROOT / "m365agents.yml").read_text())
    assert set(project) >= {"version", "provision", "deploy", "publish"}
    [deploy] = [step for step in project["provision"] if step["uses"] == "arm/deploy"]
    [template] = deploy["with"]["templates"]
    bicep = (ROOT / template["path"]).read_text()
    parameters = json.loads((ROOT / template["parameters"]).read_text())["parameters"]
    declared = set(re.findall(r"^param (\w+) ", bicep, re.M))
    assert set(parameters) <= declared


def test_the_image_copies_every_package_the_wheel_holds():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (ROOT / "Dockerfile").read_text(), re.M))
    assert copied == packages
