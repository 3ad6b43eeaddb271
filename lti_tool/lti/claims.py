"""The parts of a validated LTI launch the tool keeps, as plain data (no pylti1p3, no Flask)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_SERVICE = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
_KNOWN_PRODUCTS = {"canvas": "Canvas", "moodle": "Moodle", "mentor-lti-sandbox": "Sandbox LMS"}


@dataclass(frozen=True)
class LaunchClaims:
    """A launch after every check passed: who, where, in which role, from which platform and deployment."""

    launch_id: str
    platform_id: int
    deployment_pk: int
    issuer: str
    deployment_id: str
    message_type: str
    sub: str
    roles: list[str]
    context_id: str
    context_title: str | None
    context_label: str | None
    resource_link_id: str | None
    resource_link_title: str | None
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    locale: str | None = None
    lms_product: str | None = None
    custom: dict[str, str] = field(default_factory=dict)
    ags_lineitems_url: str | None = None
    ags_lineitem_url: str | None = None  # the launched link's own line item (graded placements)
    ags_scopes: tuple[str, ...] = ()
    nrps_url: str | None = None
    deep_linking_settings: dict[str, Any] | None = None  # LtiDeepLinkingRequest only
    # Pages of the LMS the platform vouches for (launch_presentation.return_url, tool_platform.url, the deep
    # linking return URL): their origins may frame the tool (lti_tool/lti/frame_origins.py).
    lms_page_urls: tuple[str, ...] = ()

    @classmethod
    def from_body(cls, body: dict[str, Any], *, launch_id: str, platform_id: int, deployment_pk: int) -> LaunchClaims:
        context = body.get(LTI + "context") or {}
        link = body.get(LTI + "resource_link") or {}
        platform = body.get(LTI + "tool_platform") or {}
        launch_presentation = body.get(LTI + "launch_presentation") or {}
        ags, nrps, custom = (_object(body.get(name)) for name in (AGS_ENDPOINT, NRPS_SERVICE, LTI + "custom"))
        deep_linking = body.get(DEEP_LINKING_SETTINGS)
        return cls(
            launch_id=launch_id,
            platform_id=platform_id,
            deployment_pk=deployment_pk,
            issuer=body["iss"],
            deployment_id=body[LTI + "deployment_id"],
            message_type=body[LTI + "message_type"],
            sub=body["sub"],
            roles=list(body.get(LTI + "roles") or []),
            context_id=context["id"],
            context_title=context.get("title"),
            context_label=context.get("label"),
            resource_link_id=link.get("id"),
            resource_link_title=link.get("title"),
            name=body.get("name"),
            given_name=body.get("given_name"),
            family_name=body.get("family_name"),
            email=body.get("email"),
            locale=body.get("locale") or launch_presentation.get("locale"),
            lms_product=_lms_product(platform),
            custom={str(k): str(v) for k, v in custom.items()},
            ags_lineitems_url=_text(ags.get("lineitems")),
            ags_lineitem_url=_text(ags.get("lineitem")),
            ags_scopes=tuple(str(s) for s in ags.get("scope") or ()),
            nrps_url=_text(nrps.get("context_memberships_url")),
            deep_linking_settings=deep_linking if isinstance(deep_linking, dict) else None,
            lms_page_urls=tuple(
                url
                for url in (
                    _text(_object(launch_presentation).get("return_url")),
                    _text(_object(platform).get("url")),
                    _text(_object(deep_linking).get("deep_link_return_url")),
                )
                if url
            ),
        )


def _lms_product(tool_platform: dict[str, Any]) -> str | None:
    """The LMS product, as statements' `context.platform` names it ("Canvas", "Moodle")."""
    code = tool_platform.get("product_family_code")
    if isinstance(code, str) and code:
        return _KNOWN_PRODUCTS.get(code.lower(), code)
    name = tool_platform.get("name")
    return name if isinstance(name, str) and name else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
