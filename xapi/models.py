"""xAPI 1.0.3 statement models that refuse what the spec forbids, so a bad statement never leaves us."""

from __future__ import annotations

import functools
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    Tag,
    model_validator,
)

from xapi.vocabulary import VOIDED

# Clocks of the app servers and of whoever reads the statements are never exactly in step; a
# statement stamped a moment "ahead" is not a lie, one stamped minutes ahead is.
MAX_CLOCK_SKEW: Final = timedelta(seconds=5)

# An absolute IRI (RFC 3987): a scheme, then characters that are neither whitespace, controls nor
# the delimiters RFC 3987 excludes, with every percent sign starting an escape.
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_IRI_FORBIDDEN: Final = re.compile(r"[\x00-\x20\x7f-\x9f<>\"{}|\\^`]")
_BAD_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HIERARCHICAL_SCHEMES: Final = frozenset({"http", "https", "ftp", "ws", "wss", "file"})
_URN: Final = re.compile(r"urn:[A-Za-z0-9][A-Za-z0-9\-]{0,31}:\S+", re.IGNORECASE)

# RFC 5646 language tag (well-formed, without the irregular grandfathered tags).
_LANGUAGE_TAG: Final = re.compile(
    r"(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"
    r"(?:-[A-Za-z]{4})?"
    r"(?:-(?:[A-Za-z]{2}|\d{3}))?"
    r"(?:-(?:[A-Za-z0-9]{5,8}|\d[A-Za-z0-9]{3}))*"
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*"
    r"(?:-x(?:-[A-Za-z0-9]{1,8})+)?"
    r"|x(?:-[A-Za-z0-9]{1,8})+"
)

# ISO 8601 duration as xAPI uses it: at least one component, "T" only before a time component, a
# fraction only on seconds. Kept verbatim once valid: LRSs compare durations as strings, so PT45M
# and PT45M00S are different statements.
_DURATION: Final = re.compile(
    r"P(?=\d|T\d)(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?"
)
_UUID: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_MBOX: Final = re.compile(r"mailto:[^@\s:/?#]+@[^@\s/?#]+")
_SHA1: Final = re.compile(r"[0-9a-f]{40}")


# Remembered: a statement checks a dozen IRIs, most of them the same in every statement (vocabulary, the LMS's
# issuer, the course), and a publish of 6,000 matches checked each 6,000 times.
@functools.lru_cache(maxsize=4096)
def is_iri(value: str) -> bool:
    """Whether `value` is an absolute IRI: a scheme and a well-formed rest."""
    scheme, colon, rest = value.partition(":")
    if not colon or not rest or not _SCHEME.fullmatch(scheme):
        return False
    if _IRI_FORBIDDEN.search(value) or _BAD_PERCENT.search(value) or value.count("#") > 1:
        return False
    scheme = scheme.lower()
    if scheme in _HIERARCHICAL_SCHEMES:
        authority = rest[2:].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        return rest.startswith("//") and (bool(authority) or scheme == "file")
    if scheme == "urn":
        return bool(_URN.fullmatch(value))
    return True


def is_language_tag(value: str) -> bool:
    return bool(_LANGUAGE_TAG.fullmatch(value))


def language_tag_of(locale: str | None) -> str | None:
    """The BCP 47 tag an LMS locale stands for, or None when none can be made of it.

    LMSs send POSIX locales ("en_US", "de_DE.UTF-8@euro") as often as tags, and Moodle Workplace sends "en_us_wp",
    which LRSs reject: underscores become hyphens, a POSIX encoding or modifier goes, and the longest run of
    subtags from the start that is a well-formed tag stays ("en-US"), cased as BCP 47 recommends. A locale whose
    language itself is not valid gives None: a statement is better without a language than with a guessed one."""
    if not locale:
        return None
    subtags = re.split(r"[-_]", locale.strip().split(".", 1)[0].split("@", 1)[0])
    if subtags[0].upper() in {"C", "POSIX"}:  # the POSIX "no locale", which says nothing of a language
        return None
    kept: list[str] = []
    for subtag in subtags:
        if not is_language_tag("-".join([*kept, subtag])):
            break
        kept.append(subtag)
    if not kept:
        return None
    return "-".join([kept[0].lower(), *(_cased(subtag) for subtag in kept[1:])])


def _cased(subtag: str) -> str:
    # Regions in capitals ("US"), scripts in title case ("Latn"), everything else in lower case.
    if len(subtag) == 2 and subtag.isalpha():
        return subtag.upper()
    if len(subtag) == 4 and subtag.isalpha():
        return subtag.title()
    return subtag.lower()


def _iri(value: str) -> str:
    if not is_iri(value):
        raise ValueError("must be an absolute IRI with a scheme (e.g. https://...)")
    return value


def _irl(value: str) -> str:
    _iri(value)
    if value.split(":", 1)[0].lower() not in ("http", "https"):
        raise ValueError("must be an http(s) URL")
    return value


def _language_tag(value: str) -> str:
    if not is_language_tag(value):
        raise ValueError("must be an RFC 5646 language tag (e.g. en-US)")
    return value


def _duration(value: str) -> str:
    if not _DURATION.fullmatch(value):
        raise ValueError("must be an ISO 8601 duration (e.g. PT45M)")
    return value


def _mbox(value: str) -> str:
    if not _MBOX.fullmatch(value):
        raise ValueError("must be a mailto: IRI of an email address")
    return value


def _sha1(value: str) -> str:
    if not _SHA1.fullmatch(value):
        raise ValueError("must be a lowercase hex SHA-1 of a mailto: IRI")
    return value


def _parse_uuid(value: object) -> uuid.UUID:
    parsed: uuid.UUID | None = None
    if isinstance(value, uuid.UUID):
        parsed = value
    elif isinstance(value, str) and _UUID.fullmatch(value):
        parsed = uuid.UUID(value)
    if parsed is None or parsed.variant != uuid.RFC_4122:
        raise ValueError("must be an RFC 4122 UUID in 8-4-4-4-12 hex form")
    return parsed


def _parse_timestamp(value: object) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an ISO 8601 timestamp") from None
    else:
        raise ValueError("must be an ISO 8601 timestamp")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("must carry a time zone (e.g. Z or +01:00)")
    utc = parsed.astimezone(UTC)
    # Truncated to what we render, so the model holds exactly what is sent and a re-parse is stable.
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def render_timestamp(value: datetime) -> str:
    """UTC with `Z` and millisecond precision: 2026-11-26T04:05:06.123Z."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _no_nulls_or_empty_objects(value: JsonValue, where: str = "value") -> None:
    if value is None:
        raise ValueError(f"{where}: null is not allowed")
    if isinstance(value, dict):
        if not value:
            raise ValueError(f"{where}: an empty object is not allowed")
        for key, item in value.items():
            _no_nulls_or_empty_objects(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _no_nulls_or_empty_objects(item, f"{where}[{index}]")


def _extensions(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    for key, item in value.items():
        _no_nulls_or_empty_objects(item, key)
    return value


Iri = Annotated[StrictStr, AfterValidator(_iri)]
Irl = Annotated[StrictStr, AfterValidator(_irl)]
NonEmptyStr = Annotated[StrictStr, Field(min_length=1)]
LanguageTag = Annotated[StrictStr, AfterValidator(_language_tag)]
LanguageMap = Annotated[dict[LanguageTag, NonEmptyStr], Field(min_length=1)]
Extensions = Annotated[dict[Iri, JsonValue], Field(min_length=1), AfterValidator(_extensions)]
Duration = Annotated[StrictStr, AfterValidator(_duration)]
XapiUuid = Annotated[uuid.UUID, PlainValidator(_parse_uuid), PlainSerializer(str, return_type=str)]
Timestamp = Annotated[datetime, PlainValidator(_parse_timestamp), PlainSerializer(render_timestamp, return_type=str)]
FiniteFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Number = StrictInt | FiniteFloat


class XapiModel(BaseModel):
    """Base of every statement part: no unknown keys, immutable, no nulls."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_nulls(cls, data: Any) -> Any:
        # Optional fields are None in Python only to mean "absent"; an explicit null in a statement is
        # forbidden by xAPI, and serialising drops None, so accepting one would silently change content.
        if isinstance(data, dict):
            nulls = sorted(str(key) for key, value in data.items() if value is None)
            if nulls:
                raise ValueError(f"null is not allowed for: {', '.join(nulls)}")
        return data

    def _require_some(self, *fields: str) -> None:
        if all(getattr(self, name) is None for name in fields):
            raise ValueError(f"an empty object is not allowed: set one of {', '.join(fields)}")


class Account(XapiModel):
    homePage: Irl
    name: NonEmptyStr


class Agent(XapiModel):
    """An Agent identified by exactly one inverse functional identifier."""

    objectType: Literal["Agent"] = "Agent"
    name: NonEmptyStr | None = None
    mbox: Annotated[StrictStr, AfterValidator(_mbox)] | None = None
    mbox_sha1sum: Annotated[StrictStr, AfterValidator(_sha1)] | None = None
    openid: Iri | None = None
    account: Account | None = None

    @model_validator(mode="after")
    def _exactly_one_identifier(self) -> Self:
        given = [name for name in ("mbox", "mbox_sha1sum", "openid", "account") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "an Agent needs exactly one of mbox, mbox_sha1sum, openid, account; "
                f"got {len(given)}: {', '.join(given) or 'none'}"
            )
        return self


class Verb(XapiModel):
    id: Iri
    display: LanguageMap | None = None


class ActivityDefinition(XapiModel):
    type: Iri | None = None
    name: LanguageMap | None = None
    description: LanguageMap | None = None
    extensions: Extensions | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        self._require_some("type", "name", "description", "extensions")
        return self


class Activity(XapiModel):
    objectType: Literal["Activity"] = "Activity"
    id: Iri
    definition: ActivityDefinition | None = None


class StatementRef(XapiModel):
    """Points at another statement; the object of a voiding statement."""

    objectType: Literal["StatementRef"]
    id: XapiUuid


class Score(XapiModel):
    scaled: Annotated[Number, Field(ge=-1, le=1)] | None = None
    raw: Number | None = None
    min: Number | None = None
    max: Number | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        self._require_some("scaled", "raw", "min", "max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("score.min must not exceed score.max")
        if self.raw is not None:
            if self.min is not None and self.raw < self.min:
                raise ValueError("score.raw must not be below score.min")
            if self.max is not None and self.raw > self.max:
                raise ValueError("score.raw must not exceed score.max")
        return self


class Result(XapiModel):
    score: Score | None = None
    success: StrictBool | None = None
    completion: StrictBool | None = None
    response: NonEmptyStr | None = None
    duration: Duration | None = None
    extensions: Extensions | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        self._require_some("score", "success", "completion", "response", "duration", "extensions")
        return self


ActivityList = Annotated[tuple[Activity, ...], Field(min_length=1)]


class ContextActivities(XapiModel):
    parent: ActivityList | None = None
    grouping: ActivityList | None = None
    category: ActivityList | None = None
    other: ActivityList | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        self._require_some("parent", "grouping", "category", "other")
        return self


class Context(XapiModel):
    registration: XapiUuid | None = None
    instructor: Agent | None = None
    contextActivities: ContextActivities | None = None
    platform: NonEmptyStr | None = None
    language: LanguageTag | None = None
    extensions: Extensions | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        self._require_some("registration", "instructor", "contextActivities", "platform", "language", "extensions")
        return self


def _object_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "StatementRef" if value.get("objectType") == "StatementRef" else "Activity"
    return "StatementRef" if isinstance(value, StatementRef) else "Activity"


StatementObject = Annotated[
    Annotated[Activity, Tag("Activity")] | Annotated[StatementRef, Tag("StatementRef")],
    Discriminator(_object_kind),
]


def _not_in_future(value: datetime) -> datetime:
    if value > datetime.now(UTC) + MAX_CLOCK_SKEW:
        raise ValueError("timestamp is in the future")
    return value


class Statement(XapiModel):
    """A statement as we send it: `id` and `timestamp` are ours to set, so a retry is byte-identical.

    `version`, `stored` and `authority` belong to the LRS and are refused here.
    """

    id: XapiUuid
    actor: Agent
    verb: Verb
    object: StatementObject
    result: Result | None = None
    context: Context | None = None
    timestamp: Annotated[Timestamp, AfterValidator(_not_in_future)]

    @model_validator(mode="after")
    def _spec_rules(self) -> Self:
        if self.context is not None and self.context.platform is not None and not isinstance(self.object, Activity):
            raise ValueError("context.platform is only allowed when the object is an Activity")
        if self.verb.id == VOIDED and not isinstance(self.object, StatementRef):
            raise ValueError("a voided statement's object must be a StatementRef")
        return self

    def to_dict(self) -> dict[str, Any]:
        """The statement as JSON-ready data, without absent fields."""
        return self.model_dump(mode="json", exclude_none=True)

    def to_json_bytes(self) -> bytes:
        """Canonical bytes: sorted keys, no whitespace, UTF-8; equal statements give equal bytes."""
        return json.dumps(
            self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
