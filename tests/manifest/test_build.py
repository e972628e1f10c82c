"""`auditbot manifest build` as an operator runs it."""

from __future__ import annotations

import json
import zipfile

import pytest

from bot.cli import main
from manifest.app import SCHEMA_VERSION, package_version
from manifest.package import HERE, schema_errors

APP_ID = "5d1c5f0e-2b7a-4b53-9d59-3f2f4a8c1e01"
LISTING = {
    "AUDITBOT_APP_DEVELOPER_NAME": "Demo Borough Council",
    "AUDITBOT_APP_WEBSITE_URL": "https://www.demo-council.gov.uk/auditbot",
    "AUDITBOT_APP_PRIVACY_URL": "https://www.demo-council.gov.uk/auditbot/privacy",
    "AUDITBOT_APP_TERMS_URL": "https://www.demo-council.gov.uk/auditbot/terms",
}


@pytest.fixture
def operator_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The service's settings plus the app listing, as a council would set them."""
    for name in ("AUDITBOT_DEMO", "AUDITBOT_APP_CERT_THUMBPRINT", "AUDITBOT_APP_TYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUDITBOT_APP_ID", APP_ID)
    monkeypatch.setenv("AUDITBOT_APP_PASSWORD", "from-the-key-vault")
    monkeypatch.setenv("AUDITBOT_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47")
    for name, value in LISTING.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def built(tmp_path) -> zipfile.ZipFile:
    assert main(["manifest", "build", "--output", str(tmp_path)]) == 0
    return zipfile.ZipFile(tmp_path / "auditbot.zip")


def test_the_zip_holds_exactly_the_manifest_and_two_icons_at_its_root(operator_env, tmp_path):
    with built(tmp_path) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        assert package.read("color.png") == (HERE / "color.png").read_bytes()
        assert package.read("outline.png") == (HERE / "outline.png").read_bytes()


def test_the_zipped_manifest_is_filled_in_and_valid(operator_env, tmp_path, capsys):
    with built(tmp_path) as package:
        manifest = json.loads(package.read("manifest.json"))

    assert schema_errors(manifest) == []
    assert manifest["id"] == manifest["bots"][0]["botId"] == APP_ID
    assert manifest["developer"]["privacyUrl"] == LISTING["AUDITBOT_APP_PRIVACY_URL"]
    assert manifest["version"] == package_version()
    assert manifest["manifestVersion"] == SCHEMA_VERSION
    assert str(tmp_path / "auditbot.zip") in capsys.readouterr().out


def test_building_twice_gives_the_same_bytes(operator_env, tmp_path):
    built(tmp_path / "a").close()
    built(tmp_path / "b").close()

    assert (tmp_path / "a/auditbot.zip").read_bytes() == (tmp_path / "b/auditbot.zip").read_bytes()


@pytest.mark.parametrize("variable", sorted(LISTING))
def test_a_missing_listing_setting_refuses_naming_it(operator_env, tmp_path, capsys, variable):
    operator_env.delenv(variable)

    assert main(["manifest", "build", "--output", str(tmp_path)]) == 2

    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith(f"auditbot: configuration error: {variable}: required")
    assert not (tmp_path / "auditbot.zip").exists()


def test_a_url_that_is_not_https_refuses_naming_it(operator_env, tmp_path, capsys):
    operator_env.setenv("AUDITBOT_APP_TERMS_URL", "http://www.demo-council.gov.uk/terms")

    assert main(["manifest", "build", "--output", str(tmp_path)]) == 2

    err = capsys.readouterr().err.strip()
    assert err.startswith("auditbot: configuration error: AUDITBOT_APP_TERMS_URL: must be an https")


def test_an_app_id_that_is_not_a_guid_refuses(operator_env, tmp_path, capsys):
    operator_env.setenv("AUDITBOT_APP_ID", "auditbot-demo")

    assert main(["manifest", "build", "--output", str(tmp_path)]) == 2

    assert "AUDITBOT_APP_ID: must be a GUID" in capsys.readouterr().err


def test_demo_mode_has_no_app_id_to_package(operator_env, tmp_path, capsys):
    for name in ("AUDITBOT_APP_ID", "AUDITBOT_APP_PASSWORD", "AUDITBOT_TENANT_ID"):
        operator_env.delenv(name)
    operator_env.setenv("AUDITBOT_DEMO", "true")

    assert main(["manifest", "build", "--output", str(tmp_path)]) == 2

    assert "AUDITBOT_APP_ID: required to build the Teams app package" in capsys.readouterr().err
