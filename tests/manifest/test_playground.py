"""The Agents Playground users file: demo staff only, with their real ids, covering every role."""

from __future__ import annotations

import csv
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.playground import CAST, PlaygroundError, cast_people, read_staff, render_playground_config
from storage.demo import DEMO_FILES

ROOT = Path(__file__).resolve().parents[2]
ROLES_TO_PLAY = {
    "audit_team",
    "auditor",
    "moderator",
    "practitioner",
    "team_manager",
    "head_of_service",
    "coordinator",
}


def demo_staff() -> dict[str, dict[str, str]]:
    with (DEMO_FILES / "staff.csv").open(encoding="utf-8") as handle:
        return {row["upn"]: row for row in csv.DictReader(handle)}


def everyone(config: dict) -> list[dict]:
    return [config["currentUser"], *config["users"]]


def test_every_user_is_demo_staff_with_their_own_ids():
    config = yaml.safe_load(render_playground_config())
    staff = demo_staff()

    for user in everyone(config):
        row = staff[user["userPrincipleName"]]
        assert user["aadObjectId"] == row["aad_object_id"]
        assert user["name"] == row["display_name"]
        assert user["email"] == row["email"]
        assert f"{user['givenName']} {user['surname']}" == row["display_name"]


def test_the_users_cover_every_role_a_newcomer_wants_to_play():
    config = yaml.safe_load(render_playground_config())
    staff = demo_staff()

    held = {
        grant.partition("@")[0]
        for user in everyone(config)
        for grant in staff[user["userPrincipleName"]]["roles"].split(";")
    }
    assert ROLES_TO_PLAY <= held


def test_alex_wilber_of_the_audit_team_is_the_current_user():
    current = yaml.safe_load(render_playground_config())["currentUser"]

    assert current["name"] == "Alex Wilber"
    assert "audit_team@" in demo_staff()[current["userPrincipleName"]]["roles"]


def test_the_file_is_what_the_playground_accepts():
    config = yaml.safe_load(render_playground_config())

    assert len(config["users"]) == 5  # the Playground's schema: exactly five
    ids = [user["id"] for user in everyone(config)]
    assert len(set(ids)) == len(ids)
    assert set(config) == {
        "version",
        "tenantId",
        "bot",
        "currentUser",
        "users",
        "personalChat",
        "groupChat",
        "team",
    }


def test_each_user_has_a_comment_saying_who_they_are():
    text = render_playground_config()

    assert "# Alex Wilber: Audit Team (Early Help, Children's Social Care)." in text
    assert "  # Isaiah Langer: Practitioner (Early Help North)." in text
    assert "  # Samuel Adeyemi: Head of Service (Early Help)." in text


def test_the_committed_file_is_the_generated_one():
    assert committed_playground_file(ROOT) == render_playground_config(), (
        "run: auditbot demo playground"
    )


def committed_playground_file(root: Path) -> str:
    """The Playground file in `root` as committed. The README has a newcomer rewrite it
    with `demo playground --as THEIR-UPN` to be someone else: a file that is exactly that
    rendering is theirs, and the committed one is read from git instead (with no git, the
    file as it is)."""
    working = (root / ".m365agentsplayground.yml").read_text(encoding="utf-8")
    try:
        current = yaml.safe_load(working)["currentUser"]["userPrincipleName"]
        played = render_playground_config(current_upn=current)
    except (yaml.YAMLError, KeyError, TypeError, PlaygroundError):
        return working  # not a rendering at all: compared as it is
    if working != played or working == render_playground_config():
        return working
    shown = subprocess.run(
        ["git", "show", "HEAD:.m365agentsplayground.yml"], cwd=root, capture_output=True
    )
    return shown.stdout.decode("utf-8") if shown.returncode == 0 else working


def test_a_newcomer_playing_someone_else_is_held_only_to_the_committed_file(tmp_path):
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )

    working = tmp_path / ".m365agentsplayground.yml"
    git("init", "-q")
    working.write_text(render_playground_config(), encoding="utf-8")
    git("add", ".")
    git("commit", "-qm", "generated")

    assert main(["demo", "playground", "--as", CAST[1].upn, "--output", str(working)]) == 0
    assert committed_playground_file(tmp_path) == render_playground_config()

    working.write_text(render_playground_config() + "# edited by hand\n", encoding="utf-8")
    assert committed_playground_file(tmp_path) != render_playground_config()

    working.write_text(render_playground_config(current_upn=CAST[1].upn), encoding="utf-8")
    git("commit", "-qam", "committed as Adele")  # someone committed their --as file
    assert committed_playground_file(tmp_path) != render_playground_config()


def test_a_cast_member_who_lost_their_role_stops_generation():
    people = read_staff(DEMO_FILES / "staff.csv")
    adele = people[CAST[1].upn]
    people[adele.upn] = replace(adele, roles=())

    with pytest.raises(PlaygroundError, match="adele.vance@demo-council.gov.uk does not hold"):
        cast_people(people)


def test_the_cli_writes_the_file(tmp_path, capsys):
    target = tmp_path / ".m365agentsplayground.yml"

    assert main(["demo", "playground", "--output", str(target)]) == 0

    assert target.read_text(encoding="utf-8") == render_playground_config()
    assert str(target) in capsys.readouterr().out


@pytest.mark.parametrize(
    "upn",
    [
        "adele.vance@demo-council.gov.uk",
        "samuel.adeyemi@demo-council.gov.uk",
        "daniel.kowalski@demo-council.gov.uk",
    ],
)
def test_anyone_can_be_the_current_user_and_the_playground_still_starts(tmp_path, capsys, upn: str):
    """Reported: swapping someone into currentUser by hand, leaving them in users too (or
    six others), made the Playground say "Listening" and never listen."""
    target = tmp_path / ".m365agentsplayground.yml"

    assert main(["demo", "playground", "--output", str(target), "--as", upn]) == 0

    config = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert config["currentUser"]["userPrincipleName"] == upn
    others = [user["userPrincipleName"] for user in config["users"]]
    assert len(others) == 5 and upn not in others and len(set(others)) == 5
    assert config["currentUser"]["aadObjectId"] == demo_staff()[upn]["aad_object_id"]


def test_someone_not_in_the_demo_cannot_be_the_current_user(tmp_path, capsys):
    target = tmp_path / ".m365agentsplayground.yml"

    assert main(["demo", "playground", "--output", str(target), "--as", "nobody@x.gov.uk"]) == 2

    assert "nobody@x.gov.uk is not in the demo staff" in capsys.readouterr().err
    assert not target.exists()
