"""`mentor-lti match` on cohort files: the documented format in and out, clear errors, progress when large."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from lti_tool.matching import commands
from lti_tool.matching.commands import match

CONFIG = Path(__file__).resolve().parents[2] / "config"
INPUT_SCHEMA = json.loads((CONFIG / "matching-input.schema.json").read_text())
OUTPUT_SCHEMA = json.loads((CONFIG / "matching-output.schema.json").read_text())


def cohort_document() -> dict[str, Any]:
    return {
        "skills": ["python", {"key": "sql", "name": "SQL"}, "writing"],
        "weights": {"goal_gain": 0.6, "complementarity": 0.1, "availability": 0.2, "diversity": 0.1},
        "rules": {"different_department": True, "declined_pairs": [{"mentor": "bea", "mentee": "cy"}]},
        "mentors": [
            {
                "id": "ana",
                "name": "Ana",
                "skills": {"python": 5, "sql": 2},
                "capacity": 2,
                "languages": ["en"],
                "availability": ["mon-09", "tue-09"],
                "department": "it",
            },
            {
                "id": "bea",
                "skills": {"sql": 5},
                "languages": ["en", "fr"],
                "availability": ["mon-09"],
                "department": "finance",
            },
        ],
        "mentees": [
            {
                "id": "cy",
                "skills": {"python": 1},
                "goals": ["python", "sql"],
                "languages": ["en"],
                "availability": ["mon-09"],
                "department": "sales",
            },
            {
                "id": "di",
                "skills": {"sql": 0},
                "goals": ["sql"],
                "languages": ["fr"],
                "availability": ["mon-09"],
                "department": "sales",
                "preferences": ["bea"],
            },
            {"id": "ed", "skills": {}, "goals": ["writing"], "languages": ["de"], "availability": ["mon-09"]},
        ],
    }


def run(tmp_path: Path, document: object, *args: str) -> tuple[Any, dict[str, Any] | None]:
    source = tmp_path / "cohort.json"
    source.write_text(json.dumps(document) if not isinstance(document, str) else document)
    target = tmp_path / "matches.json"
    result = CliRunner().invoke(match, [str(source), "-o", str(target), *args])
    return result, json.loads(target.read_text()) if target.exists() else None


def test_a_cohort_file_is_matched_explained_and_written_in_the_documented_format(tmp_path: Path) -> None:
    document = cohort_document()
    jsonschema.validate(document, INPUT_SCHEMA)
    result, output = run(tmp_path, document)
    assert result.exit_code == 0, result.output
    assert output is not None
    jsonschema.validate(output, OUTPUT_SCHEMA)
    assert [(m["mentor"], m["mentee"]) for m in output["matches"]] == [("ana", "cy"), ("bea", "di")]
    for found in output["matches"]:
        assert math.isclose(sum(found["explanation"].values()), found["score"], abs_tol=1e-12)
        assert found["factors"]
    first = output["matches"][0]
    assert (
        first["factors"][0]
        == "Ana is 4 levels ahead of you in python, one of your goals, and can help with 1 more goal."
    )
    assert first["teaches"] == {"python": "ana", "sql": "ana"}
    assert output["unmatched"] == [
        {"mentee": "ed", "reason": "no_shared_language", "message": "No mentor speaks any of your languages (de)."}
    ]
    assert math.isclose(output["objective"], sum(m["score"] for m in output["matches"]))
    assert "Matched 2 of 3 mentees" in result.stderr
    assert "Scoring" not in result.stderr  # small cohorts show no progress


def test_the_same_file_and_seed_give_the_same_output(tmp_path: Path) -> None:
    first = run(tmp_path, cohort_document(), "--seed", "3")[1]
    second = run(tmp_path, cohort_document(), "--seed", "3")[1]
    assert first == second
    assert first is not None and first["seed"] == 3


def test_every_model_runs_from_a_file(tmp_path: Path) -> None:
    document = cohort_document()
    for model in ("one-on-one", "group", "reverse"):
        result, output = run(tmp_path, document, "--model", model, "--exact")
        assert result.exit_code == 0, result.output
        assert output is not None and output["model"] == model
        jsonschema.validate(output, OUTPUT_SCHEMA)
    peers = {
        "model": "peer",
        "skills": ["python", "sql"],
        "rules": {"require_reciprocity": True},
        "participants": [
            {"id": "ana", "skills": {"python": 5}, "goals": ["sql"], "availability": ["mon-09"]},
            {"id": "bo", "skills": {"sql": 5}, "goals": ["python"], "availability": ["mon-09"]},
        ],
    }
    jsonschema.validate(peers, INPUT_SCHEMA)
    result, output = run(tmp_path, peers)
    assert result.exit_code == 0, result.output
    assert output is not None
    jsonschema.validate(output, OUTPUT_SCHEMA)
    assert {(m["mentor"], m["mentee"], m.get("reciprocal")) for m in output["matches"]} == {
        ("ana", "bo", True),
        ("bo", "ana", True),
    }


@pytest.mark.parametrize(
    ("change", "message", "schema_catches"),
    [
        (
            lambda d: d["mentees"][2]["skills"].update(python=7),
            "cohort.json: mentees[2].skills.python: level 7 is above 5",
            True,
        ),
        (
            lambda d: d["mentees"][0]["skills"].update(python="high"),
            "mentees[0].skills.python: level 'high' is not a whole number from 0 to 5",
            True,
        ),
        (
            lambda d: d["mentees"][1].update(goals=["sqll"]),
            "mentees[1].goals[0]: unknown skill 'sqll' (did you mean 'sql'?)",
            False,
        ),
        (
            lambda d: d["mentors"][0].update(availabilty=["mon-09"]),
            "mentors[0].availabilty: unknown field (did you mean 'availability'?)",
            True,
        ),
        (lambda d: d["mentors"][1].update(capacity=-2), "mentors[1].capacity: -2 is below 0", True),
        (lambda d: d["mentors"][1].update(id="ana"), "mentors[1].id: id 'ana' is used twice in mentors", False),
        (
            lambda d: d["rules"].update(fixed_pairs=[{"mentor": "zoe", "mentee": "cy"}]),
            "rules.fixed_pairs[0].mentor: no mentor has id 'zoe'",
            False,
        ),
        (lambda d: d.update(model="mesh"), "model: 'mesh' is not one of one-on-one, group, peer, reverse", True),
        (
            lambda d: d.update(participants=[]),
            "participants: the one-on-one model takes mentors and mentees, not participants",
            True,
        ),
        (lambda d: d["weights"].update(goal_gain="most"), "weights.goal_gain: expected a number, got a string", True),
    ],
)
def test_bad_files_get_an_error_naming_the_field_and_no_traceback(
    tmp_path: Path, change: Any, message: str, schema_catches: bool
) -> None:
    document = cohort_document()
    change(document)
    # The schema documents the format; what it cannot express (ids, references to skills) the command checks.
    schema_errors = list(jsonschema.Draft202012Validator(INPUT_SCHEMA).iter_errors(document))
    assert bool(schema_errors) == schema_catches
    result, output = run(tmp_path, document)
    assert result.exit_code == 1
    assert output is None
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_file_that_is_not_json_says_where_it_breaks(tmp_path: Path) -> None:
    result, _ = run(tmp_path, '{"skills": ["python",]}')
    assert result.exit_code == 1
    assert "cohort.json is not valid JSON: Expecting value (line 1, column 22)" in result.output


def test_large_cohorts_show_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "PROGRESS_PAIRS", 6)  # this cohort has 2 x 3 pairs: "large" for the test
    result, output = run(tmp_path, cohort_document())
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "Matching 3 mentees with 2 mentors (one-on-one)."
    assert "Scoring pairs: 100%" in lines
    assert any(line.startswith("Finding the optimal assignment...") for line in lines)
    assert any(line.startswith("Explaining...") for line in lines)
    assert output is not None and len(output["matches"]) == 2
    quiet = CliRunner().invoke(match, [str(tmp_path / "cohort.json"), "--no-progress"])
    assert "Scoring" not in quiet.stderr
    assert json.loads(quiet.stdout)["objective"] == output["objective"]
