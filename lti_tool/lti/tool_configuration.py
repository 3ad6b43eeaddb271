"""What the tool tells an LMS about itself: one description behind both the LTI Dynamic Registration request and the
Canvas developer key JSON (`/lti/canvas.json`), so the two install paths can never disagree."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINKING = "LtiDeepLinkingRequest"

AGS_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
AGS_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
AGS_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
AGS_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
AGS_SCOPES = (AGS_LINEITEM, AGS_RESULT_READONLY, AGS_SCORE)
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SERVICE_SCOPES = (*AGS_SCOPES, NRPS_SCOPE)

TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
CANVAS_EXTENSION = "https://canvas.instructure.com/lti/"
CANVAS_PLATFORM = "canvas.instructure.com"
TOOL_ID = "mentor-lti"
DESCRIPTION = (
    "Mentorship programs inside the course: participant profiles, matching, mentoring sessions, goals and skill "
    "assessments, with scores in the gradebook and learning records in the institution's LRS."
)
# The roster and the people pages need names and emails: Canvas shares them at "public"; Moodle shares them when
# the registration asks for these claims.
PRIVACY_LEVEL = "public"
CLAIMS = ("iss", "sub", "name", "given_name", "family_name", "email", "locale")
# The ids of the courses this course was copied from (LTI variable substitution), kept with each resource link.
CUSTOM_PARAMETERS = {"context_id_history": "$Context.id.history"}
# Content selection dialogs (deep linking) sized for the tool's pages, which fit an 800 px frame.
SELECTION_WIDTH = 800
SELECTION_HEIGHT = 600


@dataclass(frozen=True)
class Placement:
    """Where the LMS shows the tool, and which LTI message that place launches."""

    name: str
    message_type: str


PLACEMENTS = (
    # The course's mentorship program, from the course menu.
    Placement("course_navigation", RESOURCE_LINK),
    # The instructor chooses what to place (the program, or an assessment as a graded item) through deep linking.
    Placement("link_selection", DEEP_LINKING),
    Placement("assignment_selection", DEEP_LINKING),
)


@dataclass(frozen=True)
class ToolConfiguration:
    """The tool as served at `base_url` (no trailing slash), e.g. https://mentor.example.edu."""

    base_url: str
    name: str
    description: str = DESCRIPTION

    @property
    def login_url(self) -> str:
        return f"{self.base_url}/lti/login"

    @property
    def launch_url(self) -> str:
        return f"{self.base_url}/lti/launch"

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/lti/jwks"

    @property
    def logo_url(self) -> str:
        return f"{self.base_url}/static/mentor-logo.svg"

    def registration_url(self, invitation: str) -> str:
        """The dynamic registration URL of one invitation: in the path, because LMSs add their own query."""
        return f"{self.base_url}/lti/register/{invitation}"

    @property
    def canvas_json_url(self) -> str:
        return f"{self.base_url}/lti/canvas.json"

    @property
    def admin_url(self) -> str:
        return f"{self.base_url}/lti/admin"

    @property
    def domain(self) -> str:
        """The host (and port, when not the default) that LMSs match the tool's links against."""
        return urlsplit(self.base_url).netloc

    def registration_request(self, *, product: str, message_types: Collection[str] | None = None) -> dict[str, Any]:
        """The client registration the tool POSTs (LTI Dynamic Registration 1.0, 3.5).

        `product` is the platform's product_family_code: Canvas gets its placement extensions and privacy level.
        `message_types`, when the platform lists what it supports, leaves out the messages it cannot send.
        """
        canvas = product == "canvas"
        messages = []
        for message_type in (RESOURCE_LINK, DEEP_LINKING):
            if message_types is not None and message_type not in message_types:
                continue
            message: dict[str, Any] = {
                "type": message_type,
                "target_link_uri": self.launch_url,
                "label": self.name,
                "icon_uri": self.logo_url,
                "placements": [p.name for p in PLACEMENTS if p.message_type == message_type],
            }
            if canvas and message_type == RESOURCE_LINK:
                message[CANVAS_EXTENSION + "course_navigation/default_enabled"] = True
                message[CANVAS_EXTENSION + "visibility"] = "members"
            messages.append(message)
        tool_configuration: dict[str, Any] = {
            "domain": self.domain,
            "description": self.description,
            "target_link_uri": self.launch_url,
            "custom_parameters": dict(CUSTOM_PARAMETERS),
            "claims": list(CLAIMS),
            "messages": messages,
        }
        if canvas:
            tool_configuration[CANVAS_EXTENSION + "privacy_level"] = PRIVACY_LEVEL
            tool_configuration[CANVAS_EXTENSION + "tool_id"] = TOOL_ID
        return {
            "application_type": "web",
            "response_types": ["id_token"],
            "grant_types": ["implicit", "client_credentials"],
            "initiate_login_uri": self.login_url,
            "redirect_uris": [self.launch_url],
            "client_name": self.name,
            "jwks_uri": self.jwks_url,
            "logo_uri": self.logo_url,
            "token_endpoint_auth_method": "private_key_jwt",
            "scope": " ".join(SERVICE_SCOPES),
            TOOL_CONFIGURATION: tool_configuration,
        }

    def canvas_developer_key(self) -> dict[str, Any]:
        """The JSON configuration of a Canvas LTI developer key ("Enter URL" or "Paste JSON")."""
        placements = []
        for placement in PLACEMENTS:
            entry: dict[str, Any] = {
                "placement": placement.name,
                "message_type": placement.message_type,
                "target_link_uri": self.launch_url,
                "text": self.name,
                "icon_url": self.logo_url,
            }
            if placement.name == "course_navigation":
                entry |= {"visibility": "members", "default": "enabled"}
            else:
                entry |= {"selection_width": SELECTION_WIDTH, "selection_height": SELECTION_HEIGHT}
            placements.append(entry)
        return {
            "title": self.name,
            "description": self.description,
            "oidc_initiation_url": self.login_url,
            "target_link_uri": self.launch_url,
            "public_jwk_url": self.jwks_url,
            "scopes": list(SERVICE_SCOPES),
            "custom_fields": dict(CUSTOM_PARAMETERS),
            "extensions": [
                {
                    "platform": CANVAS_PLATFORM,
                    "domain": self.domain,
                    "tool_id": TOOL_ID,
                    "privacy_level": PRIVACY_LEVEL,
                    "settings": {"text": self.name, "icon_url": self.logo_url, "placements": placements},
                }
            ],
        }
