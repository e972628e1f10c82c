"""The Teams app manifest: valid against Microsoft's schema, with the chat commands and icons."""

from __future__ import annotations

import json

import pytest

from manifest.app import CHAT_COMMANDS, SCHEMA_VERSION, AppListing, build_manifest
from manifest.package import HERE, SCHEMA_FILE, icon_problems, schema_errors
from manifest.png import png_size, read_png

APP_ID = "5d1c5f0e-2b7a-4b53-9d59-3f2f4a8c1e01"


def listing(**changes: str) -> AppListing:
    values = {
        "app_id": APP_ID,
        "developer_name": "Demo Borough Council",
        "website_url": "https://www.demo-council.gov.uk/auditbot",
        "privacy_url": "https://www.demo-council.gov.uk/auditbot/privacy",
        "terms_url": "https://www.demo-council.gov.uk/auditbot/terms",
        "version": "0.1.0",
    }
    return AppListing(**{**values, **changes})


def test_the_vendored_schema_is_the_version_the_manifest_declares():
    schema = json.loads(SCHEMA_FILE.read_text())
    manifest = build_manifest(listing())

    assert schema["properties"]["manifestVersion"]["const"] == SCHEMA_VERSION
    assert manifest["manifestVersion"] == SCHEMA_VERSION
    assert manifest["$schema"].endswith(f"/v{SCHEMA_VERSION}/MicrosoftTeams.schema.json")


def test_the_built_manifest_is_valid_against_the_official_schema():
    assert schema_errors(build_manifest(listing())) == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"app_id": "auditbot"}, "id"),
        ({"privacy_url": "ftp://www.demo-council.gov.uk/privacy"}, "developer/privacyUrl"),
        ({"developer_name": "D" * 33}, "developer/name"),
    ],
)
def test_the_schema_check_catches_what_teams_would_refuse(change, where):
    errors = schema_errors(build_manifest(listing(**change)))

    assert any(error.startswith(f"{where}:") for error in errors), errors


def test_the_schema_check_enforces_const_as_the_official_validator_does():
    manifest = build_manifest(listing()) | {"manifestVersion": "1.29"}

    assert any(error.startswith("manifestVersion:") for error in schema_errors(manifest))


def test_app_and_bot_ids_are_the_app_id_and_urls_come_from_the_listing():
    manifest = build_manifest(listing())

    assert manifest["id"] == APP_ID
    assert manifest["bots"][0]["botId"] == APP_ID
    assert manifest["developer"] == {
        "name": "Demo Borough Council",
        "websiteUrl": "https://www.demo-council.gov.uk/auditbot",
        "privacyUrl": "https://www.demo-council.gov.uk/auditbot/privacy",
        "termsOfUseUrl": "https://www.demo-council.gov.uk/auditbot/terms",
    }
    assert manifest["version"] == "0.1.0"


def test_the_bot_is_personal_scope_without_files():
    bot = build_manifest(listing())["bots"][0]

    assert bot["scopes"] == ["personal"]
    assert bot["supportsFiles"] is False
    assert [command_list["scopes"] for command_list in bot["commandLists"]] == [["personal"]]


def test_the_command_menu_lists_the_chat_commands():
    commands = build_manifest(listing())["bots"][0]["commandLists"][0]["commands"]

    assert [c["title"] for c in commands] == [
        "help",
        "my audits",
        "my actions",
        "status",
        "cycle status",
        "open cycle",
    ]
    # Limits from the Teams bot menu reference, stricter than the schema's.
    assert len(commands) <= 10
    assert all(len(c["title"]) <= 32 and 0 < len(c["description"]) <= 128 for c in commands)


def test_the_menu_lists_exactly_the_chat_commands_the_bot_answers():
    import dialogs.conversation  # noqa: F401 (registers every command, as the service does)
    from dialogs.commands import COMMANDS

    menu = {command.title for command in CHAT_COMMANDS}

    assert {command.name for command in COMMANDS} == menu


def test_descriptions_say_case_references_only():
    description = build_manifest(listing())["description"]

    assert len(description["short"]) <= 80
    assert "case references only" in description["full"]


def test_the_icons_are_the_sizes_teams_requires():
    assert png_size((HERE / "color.png").read_bytes()) == (192, 192)
    assert png_size((HERE / "outline.png").read_bytes()) == (32, 32)
    assert icon_problems() == []


def test_the_outline_icon_is_white_on_transparent_only():
    outline = read_png((HERE / "outline.png").read_bytes())

    assert {pixel[:3] for pixel in outline.pixels} == {(255, 255, 255)}
    assert outline.pixel(0, 0)[3] == 0  # the background is transparent
    assert any(pixel[3] == 255 for pixel in outline.pixels)  # and there is a mark


def test_the_color_icon_is_full_bleed_in_the_accent_colour():
    color = read_png((HERE / "color.png").read_bytes())
    accent = build_manifest(listing())["accentColor"]

    assert all(pixel[3] == 255 for pixel in color.pixels)
    assert "#{:02X}{:02X}{:02X}".format(*color.pixel(0, 0)[:3]) == accent.upper()


def test_the_committed_icons_are_what_the_script_draws():
    from manifest.icons import color_icon, outline_icon

    for name, drawn in (("color.png", color_icon()), ("outline.png", outline_icon())):
        committed = read_png((HERE / name).read_bytes())
        assert committed.pixels == read_png(drawn).pixels, f"run python -m manifest.icons ({name})"


def test_an_outline_icon_with_colour_is_refused(tmp_path):
    from manifest.icons import color_icon
    from manifest.png import write_png

    (tmp_path / "color.png").write_bytes(color_icon())
    (tmp_path / "outline.png").write_bytes(write_png(32, 32, [(200, 30, 30, 255)] * 32 * 32))

    assert icon_problems(tmp_path) == ["outline.png: must be white on a transparent background"]


def test_with_a_domain_the_workspace_is_a_personal_and_a_channel_tab_with_sso():
    manifest = build_manifest(listing(tab_domain="auditbot.council.example"))
    assert schema_errors(manifest) == []
    [personal] = manifest["staticTabs"]
    assert personal["contentUrl"] == "https://auditbot.council.example/tab"
    assert personal["scopes"] == ["personal"]
    [channel] = manifest["configurableTabs"]
    assert channel["configurationUrl"] == "https://auditbot.council.example/tab/configure"
    assert channel["scopes"] == ["team"]
    app_id = manifest["id"]
    assert manifest["webApplicationInfo"] == {
        "id": app_id,
        "resource": f"api://auditbot.council.example/{app_id}",
    }
    assert manifest["validDomains"] == ["auditbot.council.example"]


def test_without_a_domain_there_are_no_tabs():
    manifest = build_manifest(listing())
    assert "staticTabs" not in manifest and "webApplicationInfo" not in manifest
