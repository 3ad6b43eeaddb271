"""Forms of the program setup pages: field-level checks here, the program's own rules in services."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lti_tool.matching.engine import MAX_WEIGHT
from lti_tool.number_fields import DecimalNumberField, WholeNumberField
from lti_tool.programs.limits import (
    CAPACITY_RANGE,
    CHECKIN_RANGE,
    HOURS_APART_RANGE,
    MAX_AGREEMENT,
    MAX_TITLE,
    REQUEST_DAYS_RANGE,
)
from lti_tool.programs.models import DEFAULT_RULES, DEFAULT_WEIGHTS, Eligibility, MentoringModel
from lti_tool.programs.services import (
    LEVEL_NAMES,
    LEVELS,
    ProgramSettings,
    SkillFieldError,
    SkillSpec,
    parse_skill,
)

MODEL_LABELS = {
    MentoringModel.ONE_ON_ONE.value: "One-on-one",
    MentoringModel.GROUP.value: "Group",
    MentoringModel.PEER.value: "Peer-to-peer",
    MentoringModel.REVERSE.value: "Reverse",
}
MODEL_EXPLANATIONS = {
    MentoringModel.ONE_ON_ONE.value: "Each mentee is paired with one mentor.",
    MentoringModel.GROUP.value: "One mentor meets several mentees together.",
    MentoringModel.PEER.value: "Learners mentor each other in complementary skills.",
    MentoringModel.REVERSE.value: "Who mentors is decided by skill, not by seniority.",
}
ELIGIBILITY_LABELS = {
    Eligibility.STAFF.value: "Instructors and teaching assistants",
    Eligibility.LEARNERS.value: "Learners",
    Eligibility.OPT_IN.value: "Anyone in the course who opts in on their profile",
}
WEIGHT_LABELS = {
    "goal_gain": ("Goal gain", "How much the mentor knows of what the mentee wants to learn."),
    "complementarity": ("Complementarity", "How well the two people's strengths and gaps fit each other."),
    "availability": ("Availability", "How many weekly time slots they share."),
    "diversity": ("Diversity", "Different backgrounds (department) bring new perspectives."),
    "preferences": ("Preferences", "Stated wishes, such as a preferred mentor or language."),
    "waking_hours": (
        "Waking hours in common",
        "How much of the day (08:00-22:00 in each person's time zone) both are awake: for cohorts across time zones.",
    ),
}
RULE_LABELS = {
    "same_language": ("Same language", "Only pair people who share at least one language."),
    "shared_slot": ("A shared time slot", "Only pair people who share at least one weekly slot."),
    "different_department": ("Different departments", "Never pair people from the same department."),
    "never_repair_declined": (
        "Never re-pair a declined match",
        "A pair that either person declined or left is not proposed again.",
    ),
}
CATEGORY_LABELS = {"technical": "Technical skills", "soft": "Soft skills"}

_MODEL_CHOICES = [SelectChoice(value, label) for value, label in MODEL_LABELS.items()]
_ELIGIBILITY_CHOICES = [SelectChoice(value, label) for value, label in ELIGIBILITY_LABELS.items()]
_CATEGORY_CHOICES = [SelectChoice("technical", "Technical"), SelectChoice("soft", "Soft")]


def _weight_field(key: str) -> DecimalNumberField:
    return DecimalNumberField(
        WEIGHT_LABELS[key][0],
        [
            InputRequired(f"Enter a number from 0 to {MAX_WEIGHT:g}, such as {MAX_WEIGHT / 2:g}."),
            NumberRange(0, MAX_WEIGHT, f"Enter a number from 0 to {MAX_WEIGHT:g}, such as {MAX_WEIGHT / 2:g}."),
        ],
        invalid_message=f"Enter a number from 0 to {MAX_WEIGHT:g}, such as {MAX_WEIGHT / 2:g}.",
    )


def _rule_field(key: str) -> BooleanField:
    return BooleanField(RULE_LABELS[key][0])


def _title_field() -> StringField:
    return StringField(
        "Program title",
        [DataRequired("Give the program a title."), Length(max=MAX_TITLE, message="At most %(max)d characters.")],
    )


class CreateProgramForm(FlaskForm):  # type: ignore[misc]
    title = _title_field()
    model = RadioField(
        "Mentoring model",
        choices=_MODEL_CHOICES,
        default=MentoringModel.ONE_ON_ONE.value,
        validators=[InputRequired("Choose a mentoring model.")],
    )


class SettingsForm(FlaskForm):  # type: ignore[misc]
    title = _title_field()
    model = RadioField("Mentoring model", choices=_MODEL_CHOICES, validators=[InputRequired("Choose a model.")])
    mentor_eligibility = RadioField(
        "Who may be a mentor", choices=_ELIGIBILITY_CHOICES, validators=[InputRequired("Choose who may mentor.")]
    )
    mentee_eligibility = RadioField(
        "Who may be a mentee",
        choices=_ELIGIBILITY_CHOICES,
        validators=[InputRequired("Choose who may be mentored.")],
    )
    default_capacity = WholeNumberField(
        "Default mentor capacity (mentees per mentor)",
        [
            InputRequired("Enter a whole number."),
            NumberRange(*CAPACITY_RANGE, message="Enter a whole number from %(min)s to %(max)s."),
        ],
        invalid_message="Enter a whole number of mentees, such as 3.",
    )
    starts_on = DateField("Cohort start date", [Optional()])
    ends_on = DateField("Cohort end date", [Optional()])
    checkin_every_days = WholeNumberField(
        "Check-in every (days)",
        [
            InputRequired("Enter a whole number of days."),
            NumberRange(*CHECKIN_RANGE, message="Enter a whole number of days from %(min)s to %(max)s."),
        ],
        invalid_message="Enter a whole number of days, such as 14.",
    )
    agreement_text = TextAreaField(
        "Agreement text",
        [Length(max=MAX_AGREEMENT, message="At most %(max)d characters.")],
    )
    weight_goal_gain = _weight_field("goal_gain")
    weight_complementarity = _weight_field("complementarity")
    weight_availability = _weight_field("availability")
    weight_diversity = _weight_field("diversity")
    weight_preferences = _weight_field("preferences")
    rule_same_language = _rule_field("same_language")
    rule_shared_slot = _rule_field("shared_slot")
    rule_different_department = _rule_field("different_department")
    rule_never_repair_declined = _rule_field("never_repair_declined")
    weight_waking_hours = _weight_field("waking_hours")
    min_score = WholeNumberField(
        "Minimum match score (points of 100)",
        [Optional(), NumberRange(0, 100, "Enter a whole number from %(min)s to %(max)s, or leave it empty.")],
        invalid_message="Enter a whole number of points, such as 60, or leave it empty.",
    )
    max_hours_apart = WholeNumberField(
        "At most this many hours apart",
        [
            Optional(),
            NumberRange(
                *HOURS_APART_RANGE, message="Enter a whole number of hours from %(min)s to %(max)s, or leave it empty."
            ),
        ],
        invalid_message="Enter a whole number of hours, such as 6, or leave it empty.",
    )
    self_match = BooleanField("Self-match: mentees choose among their top suggestions")
    require_reciprocity = BooleanField("Require reciprocity (peer-to-peer): each pair mentors in both directions")
    mentor_accepts = BooleanField("Two-sided self-match: the chosen mentor accepts or declines")
    request_days = WholeNumberField(
        "Days a mentor has to answer",
        [
            InputRequired("Enter a whole number of days."),
            NumberRange(*REQUEST_DAYS_RANGE, message="Enter a whole number of days from %(min)s to %(max)s."),
        ],
        default=7,
        invalid_message="Enter a whole number of days, such as 7.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Errors about a group of inputs (the weights), shown at the group's legend.
        self.weights_errors: list[str] = []

    @classmethod
    def data_of(cls, settings: ProgramSettings) -> dict[str, Any]:
        """Initial field values from a program's settings."""
        data: dict[str, Any] = {
            "title": settings.title,
            "model": settings.model.value,
            "mentor_eligibility": settings.mentor_eligibility.value,
            "mentee_eligibility": settings.mentee_eligibility.value,
            "default_capacity": settings.default_capacity,
            "starts_on": settings.starts_on,
            "ends_on": settings.ends_on,
            "checkin_every_days": settings.checkin_every_days,
            "agreement_text": settings.agreement_text,
            "self_match": settings.self_match,
            "require_reciprocity": settings.require_reciprocity,
            "mentor_accepts": settings.mentor_accepts,
            "request_days": settings.request_days,
            "min_score": round(settings.min_score * 100),
            "max_hours_apart": settings.max_hours_apart,
        }
        data.update({f"weight_{key}": value for key, value in settings.weights.items()})
        data.update({f"rule_{key}": value for key, value in settings.rules.items()})
        return data

    def to_settings(self) -> ProgramSettings | None:
        """The settings as entered (None while a choice is missing); unreadable numbers become 0, which the
        program rules refuse, but their own field error is the one shown."""
        if self.model.errors or self.mentor_eligibility.errors or self.mentee_eligibility.errors:
            return None
        return ProgramSettings(
            title=(self.title.data or "").strip(),
            model=MentoringModel(self.model.data),
            mentor_eligibility=Eligibility(self.mentor_eligibility.data),
            mentee_eligibility=Eligibility(self.mentee_eligibility.data),
            default_capacity=self.default_capacity.data or 0,
            starts_on=self.starts_on.data,
            ends_on=self.ends_on.data,
            checkin_every_days=self.checkin_every_days.data or 0,
            # Browsers send CRLF line ends from a textarea; store one kind.
            agreement_text=(self.agreement_text.data or "").replace("\r\n", "\n").strip(),
            weights={key: float(self[f"weight_{key}"].data or 0.0) for key in DEFAULT_WEIGHTS},
            rules={key: bool(self[f"rule_{key}"].data) for key in DEFAULT_RULES},
            self_match=bool(self.self_match.data),
            require_reciprocity=bool(self.require_reciprocity.data),
            mentor_accepts=bool(self.mentor_accepts.data),
            request_days=self.request_days.data or 0,
            # Entered in percent, as the review page shows scores; empty: 0, match as many mentees as possible.
            min_score=(self.min_score.data or 0) / 100,
            max_hours_apart=self.max_hours_apart.data,
        )

    def weight_values(self) -> dict[str, float]:
        """The weights as entered (unreadable ones count as 0), for the percentages beside the inputs."""
        values: dict[str, float] = {}
        for key in DEFAULT_WEIGHTS:
            value = self[f"weight_{key}"].data
            values[key] = float(value) if isinstance(value, int | float) and 0 <= value <= 1 else 0.0
        return values

    def add_service_errors(self, errors: dict[str, str]) -> None:
        """Show the program rules' errors (from services.settings_errors) next to their fields."""
        for name, message in errors.items():
            if name == "weights":
                if not any(self[f"weight_{key}"].errors for key in DEFAULT_WEIGHTS):
                    self.weights_errors.append(message)
            elif name in self:
                if not self[name].errors:  # one message per field: its own check comes first
                    self[name].errors = [message]
            else:
                self.form_errors.append(message)


def _level_field(level: int) -> TextAreaField:
    return TextAreaField(
        f"Level {level}: {LEVEL_NAMES[level - 1]}",
        [
            DataRequired(f"Describe what level {level} looks like."),
            Length(max=500, message="At most %(max)d characters."),
        ],
    )


class SkillForm(FlaskForm):  # type: ignore[misc]
    """A skill's editable fields; its key is fixed once created (see NewSkillForm)."""

    name = StringField("Name", [DataRequired("Give the skill a name."), Length(max=120, message="At most 120.")])
    category = RadioField(
        "Category", choices=_CATEGORY_CHOICES, validators=[InputRequired("Choose technical or soft.")]
    )
    description = TextAreaField("One-line description", [Length(max=500, message="At most %(max)d characters.")])
    level1 = _level_field(1)
    level2 = _level_field(2)
    level3 = _level_field(3)
    level4 = _level_field(4)
    level5 = _level_field(5)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.descriptors_errors: list[str] = []

    @staticmethod
    def data_of(spec: SkillSpec) -> dict[str, Any]:
        data: dict[str, Any] = {"name": spec.name, "category": spec.category, "description": spec.description}
        data.update({f"level{n}": text for n, text in enumerate(spec.descriptors, start=1)})
        return data

    def to_spec(self, key: str) -> SkillSpec | None:
        """The skill as services.parse_skill accepts it, or None with the error shown next to its field."""
        entry = {
            "key": key,
            "name": self.name.data,
            "category": self.category.data,
            "description": self.description.data or "",
            "descriptors": [self[f"level{n}"].data or "" for n in range(1, LEVELS + 1)],
        }
        try:
            return parse_skill(entry, where="skill")
        except SkillFieldError as error:
            self.add_skill_error(error)
            return None

    def add_skill_error(self, error: SkillFieldError) -> None:
        if error.field == "descriptors":
            self.descriptors_errors.append(error.detail)
        elif error.field in self:
            self[error.field].errors = [*self[error.field].errors, error.detail]
        else:
            self.form_errors.append(error.detail)


class NewSkillForm(SkillForm):
    key = StringField(
        "Key",
        [DataRequired("Give the skill a key."), Length(max=64, message="At most 64 characters.")],
        description="Lowercase letters, digits, '-' or '_'; it cannot change later.",
    )

    def to_new_spec(self) -> SkillSpec | None:
        return self.to_spec((self.key.data or "").strip())


class ImportForm(FlaskForm):  # type: ignore[misc]
    framework = FileField(
        "Framework file (.csv or .json)",
        [FileRequired("Choose a CSV or JSON file."), FileAllowed(["csv", "json"], "Upload a .csv or .json file.")],
        render_kw={"accept": ".csv,.json,text/csv,application/json"},
    )


class ConfirmForm(FlaskForm):  # type: ignore[misc]
    """A button-only form (remove a skill): CSRF is its only field."""
