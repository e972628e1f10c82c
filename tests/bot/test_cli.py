"""The `auditbot` command as an operator uses it."""

from __future__ import annotations

from bot.cli import main

TEAMS = (
    "service_code,service_name,service_kind,team_code,team_name\n"
    "CSC,Children's Social Care,childrens_social_care,CSC-A,Team A\n"
    "CSC,Children's Social Care,childrens_social_care,CSC-B,Team B\n"
)
STAFF = (
    "aad_object_id,upn,display_name,email,roles,auditor_trained,line_manager_upn\n"
    "11111111-1111-1111-1111-111111111111,pa@c.gov.uk,P A,pa@c.gov.uk,practitioner@CSC-A,no,\n"
    "22222222-2222-2222-2222-222222222222,pb@c.gov.uk,P B,pb@c.gov.uk,practitioner@CSC-B,no,\n"
    "33333333-3333-3333-3333-333333333333,au@c.gov.uk,A U,au@c.gov.uk,auditor@CSC,yes,\n"
    "44444444-4444-4444-4444-444444444444,ma@c.gov.uk,M A,ma@c.gov.uk,auditor@CSC-A,yes,\n"
    "55555555-5555-5555-5555-555555555555,mo@c.gov.uk,M O,mo@c.gov.uk,moderator@CSC,yes,\n"
    "not-a-guid,xx@c.gov.uk,X X,xx@c.gov.uk,auditor@CSC,yes,\n"
)
CASES = (
    "case_ref,team_code,practitioner_upn,status,opened_on,involved_upns\n"
    "CSC-001,CSC-A,pa@c.gov.uk,open,2026-01-05,\n"
    "CSC-002,CSC-B,pb@c.gov.uk,open,2026-02-05,\n"
    "CSC-003,CSC-B,pb@c.gov.uk,open,2026-31-05,\n"
)


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_missing_setting_stops_with_one_line_naming_it(monkeypatch, capsys):
    for name in ("AUDITBOT_DEMO", "AUDITBOT_APP_ID"):
        monkeypatch.delenv(name, raising=False)

    assert main(["db", "upgrade"]) == 2

    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith("auditbot: configuration error: AUDITBOT_APP_ID:")


def test_imports_load_good_rows_and_report_bad_ones_by_row(operator_env, tmp_path, capsys):
    assert main(["import", "teams", write(tmp_path, "teams.csv", TEAMS)]) == 0
    assert main(["import", "staff", write(tmp_path, "staff.csv", STAFF)]) == 1
    out = capsys.readouterr().out
    assert "5 created" in out
    assert "row 7:" in out

    assert main(["import", "cases", write(tmp_path, "cases.csv", CASES)]) == 1
    out = capsys.readouterr().out
    assert "2 created" in out and "row 4:" in out

    assert main(["import", "cases", write(tmp_path, "cases.csv", CASES)]) == 1
    assert "0 created, 0 updated, 2 unchanged" in capsys.readouterr().out


def test_cycle_open_allocates_and_prints_the_seed(operator_env, tmp_path, capsys):
    main(["import", "teams", write(tmp_path, "teams.csv", TEAMS)])
    main(["import", "staff", write(tmp_path, "staff.csv", STAFF)])
    main(["import", "cases", write(tmp_path, "cases.csv", CASES)])
    capsys.readouterr()

    code = main(
        ["cycle", "open", "--service", "csc", "--month", "2026-12", "--cases", "2",
         "--seed", "5", "--kloe", "Is the child's voice heard?",
         "--kloes-approved-elsewhere", "QA board, 3 Nov"]
    )  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 audits allocated" in out
    assert "seed 5" in out


def test_cycle_open_refuses_a_malformed_month(operator_env, capsys):
    code = main(["cycle", "open", "--service", "CSC", "--month", "December", "--cases", "2",
                 "--kloes-approved-elsewhere", "board"])  # fmt: skip

    assert code == 1
    assert "--month must look like 2026-12" in capsys.readouterr().err


def test_cycle_open_without_approval_points_to_propose(operator_env, capsys):
    code = main(["cycle", "open", "--service", "CSC", "--month", "2026-12", "--cases", "2"])

    assert code == 1
    assert "auditbot cycle propose" in capsys.readouterr().err


def test_cycle_propose_needs_the_three_approvers_set_up(operator_env, tmp_path, capsys):
    main(["import", "teams", write(tmp_path, "teams.csv", TEAMS)])
    main(["import", "staff", write(tmp_path, "staff.csv", STAFF)])
    main(["import", "cases", write(tmp_path, "cases.csv", CASES)])
    capsys.readouterr()

    code = main(["cycle", "propose", "--service", "CSC", "--month", "2026-12", "--cases", "1",
                 "--kloe", "Is the child's voice heard?"])  # fmt: skip

    assert code == 1
    assert "No Head of Service is set up for Children's Social Care" in capsys.readouterr().err


def test_reallocating_needs_an_existing_audit(operator_env, capsys):
    assert main(["audit", "reallocate", "999"]) == 1
    assert "There is no audit 999" in capsys.readouterr().err


def test_the_operator_finds_and_purges_attributes_no_longer_declared(
    operator_env, tmp_path, capsys
):
    declared = "attribute,values,description\nplan,CP;CIN,\nfamily,,Family name (a mistake)\n"
    cases = CASES.replace("involved_upns\n", "involved_upns,plan,family\n")
    cases = cases.replace("2026-01-05,\n", "2026-01-05,,CP,Smith\n")
    cases = cases.replace("2026-02-05,\n", "2026-02-05,,CIN,Smith\n")
    main(["import", "teams", write(tmp_path, "teams.csv", TEAMS)])
    main(["import", "staff", write(tmp_path, "staff.csv", STAFF)])
    assert main(["import", "case-attributes", write(tmp_path, "declared.csv", declared)]) == 0
    main(["import", "cases", write(tmp_path, "cases.csv", cases)])
    undeclare = "attribute,values,description\nplan,CP;CIN,\n"
    assert main(["import", "case-attributes", write(tmp_path, "declared.csv", undeclare)]) == 0
    assert "1 removed" in capsys.readouterr().out

    assert main(["cases", "undeclared"]) == 0
    found = capsys.readouterr().out
    assert "attribute family: a value not declared in 2 cases" in found
    assert "auditbot cases purge-undeclared --yes" in found and "Smith" not in found

    assert main(["cases", "purge-undeclared"]) == 0
    assert "Nothing was changed: run again with --yes" in capsys.readouterr().out
    assert main(["cases", "undeclared"]) == 0
    assert "family" in capsys.readouterr().out

    assert main(["cases", "purge-undeclared", "--yes"]) == 0
    purged = capsys.readouterr().out
    assert purged.startswith("Purged:") and "on the audit trail" in purged
    assert main(["cases", "undeclared"]) == 0
    assert capsys.readouterr().out.strip() == "No undeclared case attributes are stored."
