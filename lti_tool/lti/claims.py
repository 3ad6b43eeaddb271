"""The parts of a validated LTI launch the tool keeps, as plain data (no pylti1p3, no Flask)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lti_tool.errors import LaunchError
from lti_tool.input_checks import nul_path

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_SERVICE = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
_KNOWN_PRODUCTS = {"canvas": "Canvas", "moodle": "Moodle", "mentor-lti-sandbox": "Sandbox LMS"}
# Lengths of the columns the claims are stored in (courses/models.py), and bounds for the JSON-stored ones.
MAX_ID, MAX_TITLE, MAX_LABEL, MAX_PRODUCT, MAX_URL = 255, 500, 200, 100, 1000
MAX_NAME, MAX_NAME_PART, MAX_EMAIL, MAX_LOCALE = 300, 200, 320, 35
MAX_ROLES, MAX_CUSTOM, MAX_CUSTOM_KEY = 100, 100, 255


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
        """What the tool keeps of a launch whose signature and required claims were checked.

        Every claim the tool reads is type- and length-checked here, once, within what the tool stores:
        - claims that identify someone or something (`sub`, `roles`, the context's and resource link's `id`) are
          required: a wrong type or an over-long value refuses the launch with a LaunchError naming the claim;
        - claims the LTI spec makes optional (names, email, locale, titles, labels, `tool_platform`, custom
          parameters, the AGS and NRPS endpoints) are ignored when they are not text of a usable length, and the
          launch goes on without them (a launch that omits them keeps what the tool had).
        A NUL character anywhere in the body was refused before (`refuse_nul`).
        """
        context = _object(body.get(LTI + "context"))
        link = _object(body.get(LTI + "resource_link"))
        platform = _object(body.get(LTI + "tool_platform"))
        launch_presentation = _object(body.get(LTI + "launch_presentation"))
        ags, nrps, custom = (_object(body.get(name)) for name in (AGS_ENDPOINT, NRPS_SERVICE, LTI + "custom"))
        deep_linking = body.get(DEEP_LINKING_SETTINGS)
        resource_link_id = link.get("id")
        return cls(
            launch_id=launch_id,
            platform_id=platform_id,
            deployment_pk=deployment_pk,
            issuer=body["iss"],
            deployment_id=body[LTI + "deployment_id"],
            message_type=body[LTI + "message_type"],
            sub=_required_text(body.get("sub"), "sub", MAX_ID),
            roles=_roles(body.get(LTI + "roles")),
            context_id=_required_text(context.get("id"), "context.id", MAX_ID),
            context_title=_text(context.get("title"), MAX_TITLE),
            context_label=_text(context.get("label"), MAX_LABEL),
            resource_link_id=None
            if resource_link_id is None
            else _required_text(resource_link_id, "resource_link.id", MAX_ID),
            resource_link_title=_text(link.get("title"), MAX_TITLE),
            name=_text(body.get("name"), MAX_NAME),
            given_name=_text(body.get("given_name"), MAX_NAME_PART),
            family_name=_text(body.get("family_name"), MAX_NAME_PART),
            email=_text(body.get("email"), MAX_EMAIL),
            locale=_text(body.get("locale"), MAX_LOCALE) or _text(launch_presentation.get("locale"), MAX_LOCALE),
            lms_product=_lms_product(platform),
            custom=_custom(custom),
            ags_lineitems_url=_text(ags.get("lineitems"), MAX_URL),
            ags_lineitem_url=_text(ags.get("lineitem"), MAX_URL),
            ags_scopes=tuple(s for s in _list(ags.get("scope")) if _text(s, MAX_URL)),
            nrps_url=_text(nrps.get("context_memberships_url"), MAX_URL),
            deep_linking_settings=deep_linking if isinstance(deep_linking, dict) else None,
            lms_page_urls=tuple(
                url
                for url in (
                    _text(launch_presentation.get("return_url"), MAX_URL),
                    _text(platform.get("url"), MAX_URL),
                    _text(_object(deep_linking).get("deep_link_return_url"), MAX_URL),
                )
                if url
            ),
        )


# Claims whose JSON type pylti1p3's validators and the launch checks take for granted, before `LaunchClaims` reads
# the body: one of another type (a `message_type` list, a `nonce` number) would be a TypeError deep in the library.
_CLAIM_TYPES: dict[str, tuple[type, str]] = {
    "sub": (str, "text"),
    "nonce": (str, "text"),
    LTI + "message_type": (str, "text"),
    LTI + "version": (str, "text"),
    LTI + "deployment_id": (str, "text"),
    LTI + "resource_link": (dict, "an object"),
    LTI + "context": (dict, "an object"),
}


def refuse_wrong_types(body: dict[str, Any]) -> None:
    """Refuse an id_token one of whose claims in `_CLAIM_TYPES` is there but of another JSON type (absent ones are
    left to the checks that require them, which say so)."""
    for claim, (kind, described) in _CLAIM_TYPES.items():
        if claim in body and not isinstance(body[claim], kind):
            raise LaunchError(
                "invalid_claim",
                f"The id_token's `{claim}` claim must be {described}.",
                hint="The LMS sent a launch the LTI 1.3 specification does not allow; report it to its administrator.",
            )


def refuse_nul(body: dict[str, Any]) -> None:
    """Refuse an id_token whose body has a NUL character in any claim: no LMS sends one, and PostgreSQL cannot
    store it (see `lti_tool.input_checks`)."""
    where = nul_path(body)
    if where is not None:
        raise LaunchError("invalid_claim", f"The id_token's `{where}` claim contains a NUL character.")


def _required_text(value: Any, claim: str, length: int) -> str:
    if not isinstance(value, str) or not value or len(value) > length:
        raise LaunchError(
            "invalid_claim",
            f"The id_token's `{claim}` claim must be text of 1 to {length} characters.",
            hint="The LMS sent a launch the LTI 1.3 specification does not allow; report it to its administrator.",
        )
    return value


def _roles(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_ROLES or not all(_text(r, MAX_URL) for r in value):
        raise LaunchError(
            "invalid_claim",
            f"The id_token's `roles` claim must be a list of at most {MAX_ROLES} role URIs.",
            hint="The LMS sent a launch the LTI 1.3 specification does not allow; report it to its administrator.",
        )
    return list(value)


def _custom(custom: dict[str, Any]) -> dict[str, str]:
    """Custom parameters are text (LTI 1.3, 5.4.6); numbers and booleans are kept as text, anything else dropped."""
    kept: dict[str, str] = {}
    for key, value in custom.items():
        text = str(value) if isinstance(value, (str, int, float, bool)) else None
        if len(kept) < MAX_CUSTOM and _text(key, MAX_CUSTOM_KEY) and text is not None and len(text) <= MAX_URL:
            kept[key] = text
    return kept


def _lms_product(tool_platform: dict[str, Any]) -> str | None:
    """The LMS product, as statements' `context.platform` names it ("Canvas", "Moodle")."""
    code = _text(tool_platform.get("product_family_code"), MAX_PRODUCT)
    if code:
        return _KNOWN_PRODUCTS.get(code.lower(), code)
    return _text(tool_platform.get("name"), MAX_PRODUCT)


def _text(value: Any, length: int) -> str | None:
    """An optional claim's text, or None when it is not text of 1 to `length` characters."""
    return value if isinstance(value, str) and 0 < len(value) <= length else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
