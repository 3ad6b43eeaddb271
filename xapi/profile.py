"""Load our xAPI Profile and check statements against its Statement Templates (Profiles spec 1.0, §2.1)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from xapi.exceptions import ProfileError
from xapi.vocabulary import DEFAULT_BASE, DEFAULT_VOCABULARY, Vocabulary

PROFILE_FILENAME: Final = "xapi-profile.jsonld"

_CONTEXT_ACTIVITY_PROPERTIES: Final = {
    "contextParentActivityType": "parent",
    "contextGroupingActivityType": "grouping",
    "contextCategoryActivityType": "category",
    "contextOtherActivityType": "other",
}

# The JSONPath subset the profile uses: $.a, $.a[*], $.a['iri.with.dots'], $.a["x"], $.a[0], $.*
_STEP: Final = re.compile(
    r"""\.(?P<name>[A-Za-z_][A-Za-z0-9_\-]*)"""
    r"""|(?P<star>\.\*|\[\*\])"""
    r"""|\[(?P<index>\d+)\]"""
    r"""|\[\s*'(?P<single>[^']*)'\s*\]"""
    r"""|\[\s*"(?P<double>[^"]*)"\s*\]"""
)


def default_profile_path() -> Path:
    """The profile in the source tree's config/, or where the wheel installs config/."""
    root = Path(__file__).resolve().parent.parent
    candidates = (
        root / "config" / PROFILE_FILENAME,
        root / "lti_tool" / "_resources" / "config" / PROFILE_FILENAME,
    )
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ProfileError("xAPI profile not found; looked at " + ", ".join(str(c) for c in candidates))


def load_profile(path: Path | None = None, *, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> dict[str, Any]:
    """The profile document, with our IRIs moved under `vocabulary.base` when it is not the default."""
    source = path if path is not None else default_profile_path()
    try:
        text = source.read_text(encoding="utf-8")
        if vocabulary.base != DEFAULT_BASE:
            # Our IRIs appear as ids, values and inside JSONPath strings alike; all start with the base.
            text = text.replace(DEFAULT_BASE, vocabulary.base)
        document = json.loads(text)
    except (OSError, ValueError) as exc:
        raise ProfileError(f"cannot read the xAPI profile at {source}: {exc}") from exc
    if not isinstance(document, dict) or document.get("type") != "Profile":
        raise ProfileError(f"{source} is not an xAPI Profile document")
    return document


def _split_union(path: str) -> list[str]:
    parts, depth, quote, current = [], 0, "", ""
    for char in path:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += char
    parts.append(current.strip())
    return parts


def jsonpath_values(document: Any, path: str) -> list[Any]:
    """Values at `path` (a JSONPath of the subset above, `|` for unions); missing parts give nothing."""
    found: list[Any] = []
    for single in _split_union(path):
        if not single.startswith("$"):
            raise ProfileError(f"JSONPath must start with $: {single!r}")
        values = [document]
        position = 1
        while position < len(single):
            step = _STEP.match(single, position)
            if step is None:
                raise ProfileError(f"unsupported JSONPath {single!r} at {single[position:]!r}")
            position = step.end()
            values = _apply_step(values, step)
        found.extend(values)
    return found


def _apply_step(values: list[Any], step: re.Match[str]) -> list[Any]:
    selected: list[Any] = []
    key = step.group("name") or step.group("single") or step.group("double")
    for value in values:
        if step.group("star"):
            if isinstance(value, dict):
                selected.extend(value.values())
            elif isinstance(value, list):
                selected.extend(value)
        elif step.group("index") is not None:
            index = int(step.group("index"))
            if isinstance(value, list) and index < len(value):
                selected.append(value[index])
        elif isinstance(value, dict) and key is not None and key in value:
            selected.append(value[key])
    return selected


def _activity_types(activities: Any) -> set[str]:
    types: set[str] = set()
    if isinstance(activities, list):
        for activity in activities:
            if isinstance(activity, dict) and isinstance(activity.get("definition"), dict):
                activity_type = activity["definition"].get("type")
                if isinstance(activity_type, str):
                    types.add(activity_type)
    return types


def _matches_determining_properties(statement: Mapping[str, Any], template: Mapping[str, Any]) -> bool:
    verb = template.get("verb")
    if verb is not None and jsonpath_values(statement, "$.verb.id") != [verb]:
        return False
    object_type = template.get("objectActivityType")
    if object_type is not None and jsonpath_values(statement, "$.object.definition.type") != [object_type]:
        return False
    context_activities = jsonpath_values(statement, "$.context.contextActivities")
    context_activities = context_activities[0] if context_activities else {}
    for key, property_name in _CONTEXT_ACTIVITY_PROPERTIES.items():
        required = set(template.get(key, ()))
        if required and not required <= _activity_types(context_activities.get(property_name)):
            return False
    return True


_UNMATCHABLE: Final = object()


def _rule_problem(statement: Mapping[str, Any], rule: Mapping[str, Any]) -> str | None:
    location = rule.get("location")
    if not isinstance(location, str):
        raise ProfileError(f"a rule without a location: {rule!r}")
    values: list[Any] = jsonpath_values(statement, location)
    if "selector" in rule:
        selected: list[Any] = []
        for value in values:
            selection = jsonpath_values(value, rule["selector"])
            selected.extend(selection if selection else [_UNMATCHABLE])
        values = selected
    where = location + (f" / {rule['selector']}" if "selector" in rule else "")
    strict = True
    presence = rule.get("presence")
    if presence == "included" and (not values or _UNMATCHABLE in values):
        return f"{where} must be present"
    if presence == "excluded" and any(value is not _UNMATCHABLE for value in values):
        return f"{where} must be absent"
    if presence == "recommended":
        strict = False
    checked = strict or bool(values)
    if "any" in rule and checked and not any(value in rule["any"] for value in values):
        return f"{where} must contain one of {rule['any']!r}, found {_shown(values)}"
    if "all" in rule and checked and (_UNMATCHABLE in values or any(v not in rule["all"] for v in values)):
        return f"{where} must only contain {rule['all']!r}, found {_shown(values)}"
    if "none" in rule and checked and any(value in rule["none"] for value in values):
        return f"{where} must not contain any of {rule['none']!r}, found {_shown(values)}"
    return None


def _shown(values: Sequence[Any]) -> str:
    return repr(["<unmatchable>" if value is _UNMATCHABLE else value for value in values])


def matching_templates(statement: Mapping[str, Any], profile: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The profile's Statement Templates whose determining properties the statement has."""
    templates = profile.get("templates", [])
    return [t for t in templates if _matches_determining_properties(statement, t)]


def check_statement_against_profile(statement: Mapping[str, Any], profile: Mapping[str, Any]) -> list[str]:
    """Problems found validating `statement` against the profile's templates; empty when it conforms.

    As in the spec's `validates`: every template whose determining properties match must have all its
    rules followed, and a statement that matches no template is a problem too.
    """
    templates = matching_templates(statement, profile)
    if not templates:
        verb = jsonpath_values(statement, "$.verb.id")
        object_type = jsonpath_values(statement, "$.object.definition.type")
        return [f"no statement template for verb {verb!r} and object type {object_type!r}"]
    problems: list[str] = []
    object_type = jsonpath_values(statement, "$.object.objectType")
    for template in templates:
        if "objectStatementRefTemplate" in template and object_type != ["StatementRef"]:
            problems.append(f"{template['id']}: the object must be a StatementRef")
        for rule in template.get("rules", []):
            problem = _rule_problem(statement, rule)
            if problem is not None:
                problems.append(f"{template['id']}: {problem}")
    return problems
