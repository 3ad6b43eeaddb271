"""`mentor-lti match` on cohort files: the documented format in and out, clear errors, progress when large."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from lti_tool.matching import commands
from lti_tool.matching.cohort_file import PERSON_FIELDS
from lti_tool.matching.commands import match
from lti_tool.matching.engine import (
    CRITERIA,
    MAX_CAPACITY,
    MAX_HOURS_APART,
    MAX_LEVEL,
    MAX_PREFERENCES,
    MAX_SEED,
    MAX_SKILLS,
    MAX_TEXT,
    MAX_WEIGHT,
)

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
    # Proven: the bound equals the objective, and the summary says every pair was priced out.
    assert (output["upper_bound"], output["gap"]) == (output["objective"], 0.0)
    assert output["summary"]["certified"] is True
    assert "Matched 2 of 3 mentees" in result.stderr
    assert "proven optimal" in result.stderr
    assert "Scoring" not in result.stderr  # small cohorts show no progress


def test_time_zones_in_a_file_are_compared_on_its_reference_date(tmp_path: Path) -> None:
    # Berlin is 4.5 hours from Kolkata in winter and 3.5 in summer (India keeps no summer time).
    document = {
        "skills": ["python"],
        "weights": {k: 0.5 if k in ("goal_gain", "waking_hours") else 0 for k in CRITERIA},
        "rules": {"max_hours_apart": 4},
        "mentors": [{"id": "ana", "skills": {"python": 5}, "availability": ["mon-09"], "timezone": "Europe/Berlin"}],
        "mentees": [{"id": "raj", "goals": ["python"], "availability": ["mon-09"], "timezone": "Asia/Kolkata"}],
    }
    jsonschema.validate(document, INPUT_SCHEMA)
    result, winter = run(tmp_path, document)
    assert result.exit_code == 0, result.output
    assert winter is not None and not winter["matches"]
    assert winter["unmatched"] == [
        {
            "mentee": "raj",
            "reason": "time_zone_too_far",
            "message": "Every mentor who could fit you lives more than 4 hours from your time zone (UTC+05:30), "
            "and this program pairs people at most 4 hours apart.",
        }
    ]
    jsonschema.validate(winter, OUTPUT_SCHEMA)
    result, summer = run(tmp_path, {**document, "reference_date": "2026-07-01"})
    assert summer is not None, result.output
    jsonschema.validate(summer, OUTPUT_SCHEMA)
    [found] = summer["matches"]
    assert math.isclose(found["explanation"]["waking_hours"], 0.5 * 10.5 / 14)  # its share x its value
    assert "ana's time zone is 3.5 hours from yours: you are both awake for 10.5 hours a day." in found["factors"]


def test_reasons_name_each_hour_in_the_time_zone_of_the_people_it_concerns(tmp_path: Path) -> None:
    """Slots written day-HH are UTC hours; the file says them as each person's clock reads them: a pair's
    sentence (to the mentee) in the mentee's zone, and the mentor's beside it where their clock differs."""
    skilled = {"python": 5}
    document = {
        "skills": ["python"],
        "mentors": [
            {"id": "ana", "name": "Ana", "skills": skilled, "availability": ["mon-17"], "timezone": "America/New_York"},
            {"id": "bo", "skills": skilled, "availability": ["tue-08"], "timezone": "Europe/Paris"},
            {"id": "cem", "skills": skilled, "availability": ["wed-08"]},
        ],
        "mentees": [
            {"id": "eva", "goals": ["python"], "availability": ["mon-17"], "timezone": "Europe/Berlin"},
            {"id": "fay", "goals": ["python"], "availability": ["tue-08"], "timezone": "Europe/Berlin"},
            {"id": "gus", "goals": ["python"], "availability": ["wed-08"]},
            {"id": "hal", "goals": ["python"], "availability": ["fri-23"], "timezone": "Asia/Tokyo"},
        ],
    }
    jsonschema.validate(document, INPUT_SCHEMA)
    result, output = run(tmp_path, document)
    assert result.exit_code == 0, result.output
    assert output is not None
    jsonschema.validate(output, OUTPUT_SCHEMA)
    shared = {m["mentee"]: next(f for f in m["factors"] if f.startswith("You share")) for m in output["matches"]}
    assert shared == {
        "eva": "You share 1 free weekly slot, such as Monday 18:00 Europe/Berlin time "
        "(Monday 12:00 America/New_York time for Ana).",
        # Paris and Berlin keep the same clock: said once.
        "fay": "You share 1 free weekly slot, such as Tuesday 09:00 Europe/Berlin time.",
        "gus": "You share 1 free weekly slot, such as Wednesday 08:00 UTC.",  # neither gave a time zone
    }
    assert output["unmatched"] == [
        {
            "mentee": "hal",
            "reason": "no_shared_slot",
            "message": "The mentors who speak your language are never free when you are (Saturday 08:00 Asia/Tokyo "
            "time).",
        }
    ]


def test_a_minimum_score_in_a_file_leaves_weak_pairs_unmatched_with_the_reason(tmp_path: Path) -> None:
    document = cohort_document()
    document["rules"]["min_score"] = 0.6  # cy's only possible pair, with Ana, scores 0.55
    result, output = run(tmp_path, document)
    assert result.exit_code == 0, result.output
    assert output is not None
    jsonschema.validate(output, OUTPUT_SCHEMA)
    assert [(m["mentor"], m["mentee"]) for m in output["matches"]] == [("bea", "di")]
    assert output["unmatched"][0] == {
        "mentee": "cy",
        "reason": "below_min_score",
        "message": "No mentor who fits you reaches the program's minimum score (60 of 100 points).",
    }


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
        # The engine's bounds (lti_tool/matching/engine/cohort.py), each named at its field.
        (lambda d: d["mentors"][1].update(capacity=51), "mentors[1].capacity: 51 is above 50", True),
        (lambda d: d["mentors"][1].update(capacity=10**30), "mentors[1].capacity: the number is too large", True),
        (lambda d: d.update(default_capacity=10**6), "default_capacity: 1000000 is above 50", True),
        (
            lambda d: d["weights"].update(goal_gain=1e308),
            "weights.goal_gain: weight 1e+308 is not a number from 0 to 1",
            True,
        ),
        (lambda d: d.update(seed=2**31), "seed: 2147483648 is not a whole number from 0 to 2147483647", True),
        (
            lambda d: d["mentees"][2].update(id="e\ud800"),
            "mentees[2].id: 'e\\ud800' is not valid Unicode text (it has a lone surrogate)",
            False,
        ),
        (lambda d: d["mentors"][0].update(name="A\x00na"), "mentors[0].name: a NUL character is not allowed", False),
        (
            lambda d: d["mentees"][0].update(department="x" * 501),
            "mentees[0].department: text of at most 500 characters (this has 501)",
            True,
        ),
        (
            lambda d: d["mentees"][2]["skills"].update({"py\ud800\n": 1}),
            "mentees[2].skills.'py\\ud800\\n': unknown skill",
            False,
        ),
        (
            lambda d: d["mentees"][0]["skills"].update(python=[[[1]]]),
            "mentees[0].skills.python: level [...] is not a whole number from 0 to 5",
            True,
        ),
        (lambda d: d.update(skills=[f"s{i}" for i in range(201)]), "skills: at most 200 skills (this has 201)", True),
        (
            lambda d: d["mentees"][0].update(preferences=[f"m{i}" for i in range(101)]),
            "mentees[0].preferences: at most 100 ids (this has 101)",
            True,
        ),
        (
            lambda d: d["mentees"].extend({"id": f"e{i}", "availability": [f"slot-{i}"]} for i in range(1001)),
            "mentees[1001].availability: the cohort names more than 1000 distinct availability slots",
            False,
        ),
        (lambda d: d.update(model=["one-on-one"] * 10**5), "model: [...] is not one of one-on-one, group", True),
        (
            lambda d: d["mentees"][0].update(timezone="Europe/Berln"),
            "mentees[0].timezone: 'Europe/Berln' is not an IANA time zone name (did you mean 'Europe/Berlin'?)",
            False,
        ),
        (lambda d: d["mentors"][0].update(timezone=5), "mentors[0].timezone: expected a string, got a number", True),
        (
            lambda d: d.update(reference_date="13/01/2025"),
            "reference_date: '13/01/2025' is not a date written YYYY-MM-DD",
            False,
        ),
        (
            lambda d: d["rules"].update(max_hours_apart=13),
            "rules.max_hours_apart: 13 is not a number of hours from 0 to 12",
            True,
        ),
        (
            lambda d: d["weights"].update(waking_hours=-1),
            "weights.waking_hours: weight -1 is not a number from 0 to 1",
            True,
        ),
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
    assert len(result.output) < 2000  # one short line per problem, however large the bad value


def test_a_file_that_is_not_json_says_where_it_breaks(tmp_path: Path) -> None:
    result, _ = run(tmp_path, '{"skills": ["python",]}')
    assert result.exit_code == 1
    assert "cohort.json is not valid JSON: Expecting value (line 1, column 22)" in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # More digits than Python turns into an int (4300): read as a number too large for the field.
        (
            json.dumps(cohort_document()).replace('"capacity": 2', '"capacity": ' + "9" * 5000),
            "cohort.json: mentors[0].capacity: the number is too large",
        ),
        ('{"seed": ' + "1" * 5000 + ', "skills": ["python"]}', "cohort.json: seed: the number is too large"),
        ('{"skills": ' + "[" * 100_000 + "]" * 100_000 + "}", "cohort.json nests lists or objects too deeply"),
        ('{"skills": ["python"], "mentees": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}", "too deeply"),
        (
            json.dumps(cohort_document()).replace('"goal_gain": 0.6', '"goal_gain": NaN'),
            "cohort.json: weights.goal_gain: expected a number, got NaN",
        ),
        (
            json.dumps(cohort_document()).replace('"goal_gain": 0.6', '"goal_gain": -Infinity'),
            "cohort.json: weights.goal_gain: the number is too large",
        ),
        ('{"skills": ["py\\ud800"]}', "cohort.json: skills[0]: 'py\\ud800' is not valid Unicode text"),
    ],
)
def test_files_no_parser_can_take_get_one_line_and_no_traceback(tmp_path: Path, text: str, message: str) -> None:
    result, output = run(tmp_path, text)
    assert (result.exit_code, output) == (1, None)
    assert isinstance(result.exception, SystemExit), result.exception
    assert message in result.output
    assert len(result.output.splitlines()) == 1


def test_a_file_that_is_not_utf8_or_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "cohort.json"
    source.write_bytes(b'{"skills": ["caf\xe9"]}')  # Latin-1
    result = CliRunner().invoke(match, [str(source)])
    assert (result.exit_code, result.output) == (
        1,
        "Error: cohort.json is not UTF-8 text (invalid continuation byte)\n",
    )
    # A file the permission checks let through that still cannot be read (here: unmapped memory).
    unreadable = Path("/proc/self/mem")
    if unreadable.exists():
        result = CliRunner().invoke(match, [str(unreadable)])
        assert (result.exit_code, result.output) == (1, "Error: Could not read mem: Input/output error\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed", "-1"], "Invalid value for '--seed': -1 is not in the range 0<=x<=2147483647."),
        (["--seed", str(2**31)], "Invalid value for '--seed': 2147483648 is not in the range 0<=x<=2147483647."),
        (["--seed", "9" * 5000], "is not a valid integer"),
        (["--model", "mesh"], "Invalid value for '--model': 'mesh' is not one of"),
        (["-o", "{tmp}"], "Invalid value for '-o' / '--output': File '{tmp}' is a directory."),
        (["-o", "{tmp}/missing/matches.json"], "Could not write {tmp}/missing/matches.json: No such file or directory"),
        (["{tmp}/missing.json"], "Invalid value for 'INPUT.json': File '{tmp}/missing.json' does not exist."),
        (["{tmp}"], "Invalid value for 'INPUT.json': File '{tmp}' is a directory."),
    ],
)
def test_absurd_options_and_paths_get_one_error_and_no_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    source = tmp_path / "cohort.json"
    source.write_text(json.dumps(cohort_document()))
    args = [arg.format(tmp=tmp_path) for arg in args]
    inputs = [] if not args[0].startswith("-") else [str(source)]
    result = CliRunner().invoke(match, [*inputs, *args])
    assert result.exit_code in (1, 2)  # 2: click's usage errors
    assert message.format(tmp=tmp_path) in result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


def test_the_schema_states_the_engines_bounds() -> None:
    definitions, properties = INPUT_SCHEMA["$defs"], INPUT_SCHEMA["properties"]
    person = definitions["person"]["properties"]
    assert properties["seed"]["maximum"] == MAX_SEED
    assert properties["skills"]["maxItems"] == MAX_SKILLS
    assert {w["maximum"] for w in properties["weights"]["properties"].values()} == {MAX_WEIGHT}
    assert properties["default_capacity"]["maximum"] == person["capacity"]["maximum"] == MAX_CAPACITY
    assert definitions["level"]["maximum"] == MAX_LEVEL
    assert person["preferences"]["maxItems"] == MAX_PREFERENCES
    assert definitions["key"]["maxLength"] == definitions["text"]["maxLength"] == MAX_TEXT
    assert properties["rules"]["properties"]["max_hours_apart"]["maximum"] == MAX_HOURS_APART


def test_weights_at_the_maximum_give_finite_scores_and_the_same_matches_as_smaller_ones(tmp_path: Path) -> None:
    document = cohort_document()
    document["weights"] = {name: MAX_WEIGHT for name in CRITERIA} | {"diversity": 0.0}
    top = run(tmp_path, document)[1]
    document["weights"] = {name: weight * 1e-300 for name, weight in document["weights"].items()}
    tiny = run(tmp_path, document)[1]
    assert top is not None and tiny is not None
    scores = [m["score"] for m in top["matches"]] + [v for m in top["matches"] for v in m["explanation"].values()]
    assert scores and all(math.isfinite(score) for score in scores)
    assert min(m["score"] for m in top["matches"]) > 0
    assert [(m["mentor"], m["mentee"]) for m in top["matches"]] == [(m["mentor"], m["mentee"]) for m in tiny["matches"]]
    assert [m["score"] for m in top["matches"]] == pytest.approx([m["score"] for m in tiny["matches"]])


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


def _junk() -> st.SearchStrategy[object]:
    """Any JSON value, including what Python's JSON reads beyond the standard (NaN, Infinity, lone surrogates)."""
    text = st.one_of(st.text(max_size=8), st.text(st.characters(categories=["Cs", "Cc"]), max_size=3))
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), text)
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3))


TOP_FIELDS = ("model", "seed", "skills", "weights", "rules", "default_capacity", "reference_date", "mentors")
FIELDS = [
    *(("top", key) for key in TOP_FIELDS),
    *((side, key) for side in ("mentor", "mentee") for key in (*sorted(PERSON_FIELDS), "sklls")),
    *(("weights", key) for key in ("goal_gain", "diversity", "waking_hours")),
    *(("rules", key) for key in ("same_language", "min_score", "max_hours_apart", "declined_pairs", "fixed_pairs")),
    ("skill", "python"),
]


# Values at the edges, for every field: each of these failed somewhere before the engine had bounds.
EDGES = (10**30, -(2**63), 1e308, math.nan, -math.inf, "\ud800", "a\x00", "x" * 600, [[[[1]]]], {"a": {}}, "")


def run_with(directory: Path, field: tuple[str, str], value: object) -> Any:
    """The command on the good cohort file with `value` in `field`."""
    document = cohort_document()
    mentor, mentee = document["mentors"][0], document["mentees"][1]
    where, key = field
    targets = {"top": document, "mentor": mentor, "mentee": mentee, "skill": mentee["skills"]}
    targets.get(where, document.get(where))[key] = value
    source, target = directory / "cohort.json", directory / "matches.json"
    source.write_text(json.dumps(document))  # NaN and Infinity as Python's JSON writes them
    return CliRunner().invoke(match, [str(source), "-o", str(target)])


def assert_no_traceback(result: Any) -> None:
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


@pytest.mark.parametrize("field", FIELDS, ids=[f"{where}.{key}" for where, key in FIELDS])
def test_edge_values_in_any_field_are_an_error_or_a_match_never_a_traceback(tmp_path: Path, field: Any) -> None:
    for value in EDGES:
        assert_no_traceback(run_with(tmp_path, field, value))


@pytest.fixture(scope="module")
def junk_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("junk")


@settings(max_examples=150, deadline=None, derandomize=True)
@given(field=st.sampled_from(FIELDS), value=_junk())
def test_junk_in_any_field_is_an_error_or_a_match_never_a_traceback(
    junk_dir: Path, field: tuple[str, str], value: object
) -> None:
    assert_no_traceback(run_with(junk_dir, field, value))
