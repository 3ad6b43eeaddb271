"""The Canvas developer key JSON at /lti/canvas.json: the shape Canvas documents and validates, with the tool's own
URLs, scopes and placements, so a Canvas admin can create the key with "Enter URL"."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema

from lti_tool import create_app
from lti_tool.lti.tool_configuration import DEEP_LINKING, RESOURCE_LINK

SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]
# Canvas's documented keys ("Anatomy of a JSON configuration", lti_dev_key_config.md; navigation_tools.md for
# `visibility` and `default`), with Canvas's own validation (lib/schemas/lti/tool_configuration.rb). Unknown keys are
# refused here, so a misspelt key fails this test instead of being ignored by Canvas.
URL = {"type": "string", "pattern": "^https?://[^/]+/"}
CANVAS_PLACEMENT = {
    "type": "object",
    "required": ["placement", "message_type", "target_link_uri"],
    "additionalProperties": False,
    "properties": {
        "placement": {"enum": ["course_navigation", "link_selection", "assignment_selection"]},
        "message_type": {"enum": [RESOURCE_LINK, DEEP_LINKING]},
        "target_link_uri": URL,
        "text": {"type": "string", "minLength": 1},
        "icon_url": URL,
        "visibility": {"enum": ["admins", "members", "public"]},
        "default": {"enum": ["enabled", "disabled"]},
        "selection_width": {"type": "number"},
        "selection_height": {"type": "number"},
        "custom_fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
CANVAS_DEVELOPER_KEY = {
    "type": "object",
    "required": ["title", "description", "oidc_initiation_url", "target_link_uri", "public_jwk_url", "extensions"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string", "minLength": 1},
        "oidc_initiation_url": URL,
        "target_link_uri": URL,
        "public_jwk_url": URL,
        "scopes": {"type": "array", "items": {"enum": SCOPES}},
        "custom_fields": {"type": "object", "additionalProperties": {"type": "string"}},
        "extensions": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["platform", "privacy_level", "settings"],
                "additionalProperties": False,
                "properties": {
                    "platform": {"const": "canvas.instructure.com"},
                    "domain": {"type": "string"},
                    "tool_id": {"type": "string"},
                    "privacy_level": {"enum": ["public", "email_only", "name_only", "anonymous"]},
                    "settings": {
                        "type": "object",
                        "required": ["placements"],
                        "additionalProperties": False,
                        "properties": {
                            "text": {"type": "string"},
                            "icon_url": URL,
                            "placements": {"type": "array", "items": CANVAS_PLACEMENT},
                        },
                    },
                },
            },
        },
    },
}


def _canvas_json(tool_url: str) -> dict[str, Any]:
    response = httpx.get(f"{tool_url}/lti/canvas.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def test_canvas_json_has_the_shape_canvas_documents(tool_url: str) -> None:
    config = _canvas_json(tool_url)
    jsonschema.validate(config, CANVAS_DEVELOPER_KEY)
    assert config["title"] == "Mentor"
    assert config["oidc_initiation_url"] == f"{tool_url}/lti/login"
    assert config["target_link_uri"] == f"{tool_url}/lti/launch"
    assert config["public_jwk_url"] == f"{tool_url}/lti/jwks"
    # Grades (AGS) and the roster (NRPS).
    assert config["scopes"] == SCOPES
    assert config["custom_fields"] == {"context_id_history": "$Context.id.history"}
    extension = config["extensions"][0]
    assert extension["domain"] == tool_url.removeprefix("http://")
    # Names and emails reach the tool (the roster needs them) only at "public".
    assert extension["privacy_level"] == "public"


def test_the_program_is_in_course_navigation_and_content_is_chosen_by_deep_linking(tool_url: str) -> None:
    placements = {p["placement"]: p for p in _canvas_json(tool_url)["extensions"][0]["settings"]["placements"]}
    assert set(placements) == {"course_navigation", "link_selection", "assignment_selection"}
    navigation = placements["course_navigation"]
    assert navigation["message_type"] == RESOURCE_LINK
    assert navigation["visibility"] == "members" and navigation["default"] == "enabled"
    for name in ("link_selection", "assignment_selection"):
        assert placements[name]["message_type"] == DEEP_LINKING
        assert placements[name]["target_link_uri"] == f"{tool_url}/lti/launch"
        assert placements[name]["selection_width"] <= 800


def test_every_url_in_the_configuration_answers(tool_url: str) -> None:
    config = _canvas_json(tool_url)
    jwks = httpx.get(config["public_jwk_url"])
    assert jwks.status_code == 200 and jwks.json()["keys"]
    icon = httpx.get(config["extensions"][0]["settings"]["icon_url"])
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    # The login URL exists: called without an LMS's parameters it explains what is missing.
    assert httpx.get(config["oidc_initiation_url"]).status_code == 400


def test_urls_follow_the_public_base_url_when_set(tool_settings: dict[str, Any]) -> None:
    # Reached on an internal address the deployment trusts; the URLs still name the public one.
    behind_proxy = create_app(
        {**tool_settings, "public_base_url": "https://mentor.example.edu/", "trusted_hosts": ["10.0.0.5"]}
    )
    config = behind_proxy.test_client().get("/lti/canvas.json", base_url="http://10.0.0.5:5000").get_json()
    jsonschema.validate(config, CANVAS_DEVELOPER_KEY)
    assert config["oidc_initiation_url"] == "https://mentor.example.edu/lti/login"
    assert config["extensions"][0]["domain"] == "mentor.example.edu"
    assert config["extensions"][0]["settings"]["placements"][0]["icon_url"].startswith("https://mentor.example.edu/")
