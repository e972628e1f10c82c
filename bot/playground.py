"""The Agents Playground's users file, made from the demo staff.

Microsoft 365 Agents Playground (npm @microsoft/m365agentsplayground) reads
`.m365agentsplayground.yml` from the folder it starts in: the tenant, the
current user and exactly five other users. Each user here is a real row of
`storage/demo/staff.csv`, with that person's Entra object id, so the bot
knows who is talking and greets them with their roles. Together they cover
every part a newcomer wants to try: the Audit Team (the current user), an
auditor and moderator, a practitioner, their team manager, the Head of
Service and the coordinator.

`auditbot demo playground` writes the file; the committed copy is its output.
`--as UPN` makes any demo person the current user instead, keeping five others
from the cast: the Playground starts only with at most five other users and
the current user not among them (otherwise it says "Listening" and never
listens, and only its log says why).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from storage.demo import DEMO_FILES
from workflow.roles import Role

PLAYGROUND_FILE = ".m365agentsplayground.yml"
PLAYGROUND_USERS = 5  # the Playground refuses a users list of any other length
TENANT_ID = "4d1f7e2a-6c3b-4f0e-9a51-2b8c7d6e5f40"
BOT_ID = "28:auditbot-demo"
DOMAIN = "demo-council.gov.uk"
TEAM_NAME = "Children's Services"


@dataclass(frozen=True)
class Casting:
    """One demo person, the roles they are cast for and what to try as them."""

    upn: str
    plays: tuple[Role, ...]
    to_try: str


# The first is the current user. The Early Help people share one case: Isaiah
# Langer's work is picked, Adele Vance audits or moderates it, Patti Fernandez
# is his team manager, Samuel Adeyemi and Grace Mensah approve the KLOEs.
CAST: tuple[Casting, ...] = (
    Casting(f"alex.wilber@{DOMAIN}", (Role.AUDIT_TEAM,), "opens cycles and tracks them"),
    Casting(
        f"adele.vance@{DOMAIN}",
        (Role.AUDITOR, Role.MODERATOR),
        "receives audit and moderation allocations",
    ),
    Casting(
        f"isaiah.langer@{DOMAIN}",
        (Role.PRACTITIONER,),
        "is told when their work is picked for audit",
    ),
    Casting(
        f"patti.fernandez@{DOMAIN}",
        (Role.TEAM_MANAGER,),
        "is copied on their practitioners' audits, and audits too",
    ),
    Casting(
        f"samuel.adeyemi@{DOMAIN}",
        (Role.HEAD_OF_SERVICE,),
        "approves the KLOEs and auditors' exemptions",
    ),
    Casting(f"grace.mensah@{DOMAIN}", (Role.COORDINATOR,), "approves the KLOEs"),
)


class PlaygroundError(ValueError):
    """The demo staff no longer match the cast; the message names the person."""


@dataclass(frozen=True)
class DemoPerson:
    aad_object_id: str
    upn: str
    display_name: str
    email: str
    roles: tuple[tuple[Role, str], ...]  # (role, service or team code)

    @property
    def given_name(self) -> str:
        return self.display_name.partition(" ")[0]

    @property
    def surname(self) -> str:
        return self.display_name.partition(" ")[2]

    def holds(self, role: Role) -> bool:
        return any(held == role for held, _ in self.roles)


def read_staff(path: Path) -> dict[str, DemoPerson]:
    """The staff file's people by UPN (lower case)."""
    people = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            roles = []
            for grant in filter(None, (g.strip() for g in row["roles"].split(";"))):
                role, _, scope = grant.partition("@")
                roles.append((Role(role.strip()), scope.strip()))
            upn = row["upn"].strip().lower()
            people[upn] = DemoPerson(
                aad_object_id=row["aad_object_id"].strip(),
                upn=upn,
                display_name=row["display_name"].strip(),
                email=row["email"].strip(),
                roles=tuple(roles),
            )
    return people


def read_scope_names(path: Path) -> dict[str, str]:
    """Service and team codes to their names, from the teams file."""
    names = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            names[row["service_code"].strip()] = row["service_name"].strip()
            names[row["team_code"].strip()] = row["team_name"].strip()
    return names


def cast_people(people: dict[str, DemoPerson]) -> list[tuple[Casting, DemoPerson]]:
    """Each casting with its person, checked: they exist and hold the roles they play."""
    cast = []
    for casting in CAST:
        person = people.get(casting.upn)
        if person is None:
            raise PlaygroundError(f"{casting.upn} is not in the demo staff")
        missing = [role.value for role in casting.plays if not person.holds(role)]
        if missing:
            raise PlaygroundError(f"{casting.upn} does not hold {', '.join(missing)}")
        cast.append((casting, person))
    if len(cast) != PLAYGROUND_USERS + 1:
        raise PlaygroundError(f"the Playground needs a current user and {PLAYGROUND_USERS} others")
    return cast


def recast(cast: list[tuple[Casting, DemoPerson]], people: dict[str, DemoPerson], upn: str):
    """The cast with `upn` as the current user and five others, none of them twice."""
    person = people.get(upn.lower())
    if person is None:
        raise PlaygroundError(f"{upn} is not in the demo staff (storage/demo/staff.csv)")
    mine = next((c for c, p in cast if p.upn == person.upn), None)
    current = (mine or Casting(person.upn, (), "is who you are in the Playground"), person)
    others = [(c, p) for c, p in cast if p.upn != person.upn][:PLAYGROUND_USERS]
    return [current, *others]


def render_playground_config(
    staff_file: Path = DEMO_FILES / "staff.csv",
    teams_file: Path = DEMO_FILES / "teams.csv",
    *,
    current_upn: str | None = None,
) -> str:
    """The Playground's YAML, with a comment saying who each user is; `current_upn` makes
    that demo person the current user."""
    people = read_staff(staff_file)
    cast = cast_people(people)
    if current_upn is not None:
        cast = recast(cast, people, current_upn)
    scopes = read_scope_names(teams_file)
    lines = [
        "# Microsoft 365 Agents Playground: who you are when you try `auditbot demo`.",
        "# Written from storage/demo/staff.csv by `auditbot demo playground`, which rewrites it.",
        "# The Playground reads this file from the folder it is started in. Every user is",
        "# a member of the demo organisation with their real Entra object id, so the bot",
        "# knows their roles. To be someone else: auditbot demo playground --as THEIR-UPN,",
        "# then restart the Playground (at most five other users, and never the current one).",
        'version: "0.1.1"',
        f"tenantId: {TENANT_ID}",
        "bot:",
        f"  id: {_quote(BOT_ID)}",
        "  name: auditbot",
    ]
    (current_casting, current), *others = cast
    lines.extend(f"# {line}" for line in _who(current, current_casting, scopes))
    lines.append("currentUser:")
    lines.extend(_user(current, indent="  "))
    lines.append("users:")
    for casting, person in others:
        lines.extend(f"  # {line}" for line in _who(person, casting, scopes))
        user = _user(person, indent="    ")
        lines.append("  - " + user[0].lstrip())
        lines.extend(user[1:])
    lines.extend(
        [
            "personalChat:",
            "  id: personal-chat-demo",
            "groupChat:",
            "  id: group-chat-demo",
            "  name: Audit Team chat",
            "team:",
            "  id: team-demo",
            f"  name: {_quote(TEAM_NAME)}",
            "  aadGroupId: 9b2e4c6d-1a3f-4e5b-8c7d-0f1e2d3c4b5a",
            "  channels:",
            "    - id: channel-general",
            "      name: General",
        ]
    )
    return "\n".join(lines) + "\n"


def write_playground_config(
    path: Path = Path(PLAYGROUND_FILE), current_upn: str | None = None
) -> Path:
    path.write_text(render_playground_config(current_upn=current_upn), encoding="utf-8")
    return path


def _who(person: DemoPerson, casting: Casting, scopes: dict[str, str]) -> list[str]:
    """Two comment lines: the person's roles where they hold them, then what to try."""
    where: dict[Role, list[str]] = {}
    for role, scope in person.roles:
        where.setdefault(role, []).append(scopes.get(scope, scope))
    held = "; ".join(f"{role.label} ({', '.join(places)})" for role, places in where.items())
    roles = f"{person.display_name}: {held}." if held else f"{person.display_name}."
    return [roles, casting.to_try[0].upper() + casting.to_try[1:] + "."]


def _user(person: DemoPerson, indent: str) -> list[str]:
    fields = (
        ("id", f"user-{person.upn.partition('@')[0]}"),
        ("name", person.display_name),
        ("userPrincipleName", person.upn),  # sic: the Playground's spelling
        ("aadObjectId", person.aad_object_id),
        ("givenName", person.given_name),
        ("surname", person.surname),
        ("email", person.email),
    )
    return [f"{indent}{key}: {_quote(value)}" for key, value in fields]


def _quote(value: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(value, ensure_ascii=False)
