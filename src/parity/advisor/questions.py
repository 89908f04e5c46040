"""The questions of the decision framework of docs/sources.md S0, and the answers they take.

docs/sources.md S0, "The Practical Decision Framework", names six factors: data sensitivity,
volume, team size/expertise, customisation needs, task difficulty and regulatory environment.
``Answers`` holds one value per factor plus what the licence check and the hardware fit need.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from parity.catalog.license import OrgProfile

__all__ = [
    "QUESTIONS",
    "Answers",
    "Customisation",
    "Difficulty",
    "Question",
    "Regulation",
    "Sensitivity",
    "Team",
    "Traffic",
]


class Sensitivity(StrEnum):
    CLOUD_OK = "cloud_ok"  # "Can use cloud processing"
    SOME_SENSITIVE = "some_sensitive"  # some requests carry data that must stay
    ON_PREM_ONLY = "on_prem_only"  # "Must not leave premises"


class Traffic(StrEnum):
    STEADY = "steady"
    SPIKY = "spiky"


class Team(StrEnum):
    NONE = "none"  # "No AI infrastructure team"
    DEVOPS = "devops"  # runs servers, no ML serving experience
    ML_INFRA = "ml_infra"  # "ML/infra team in-house"


class Customisation(StrEnum):
    NONE = "none"  # "General-purpose tasks"
    FINE_TUNING = "fine_tuning"  # "Domain-specific fine-tuning required"


class Difficulty(StrEnum):
    STANDARD = "standard"  # "Standard complexity tasks"
    MIXED = "mixed"  # mostly standard, some hard
    FRONTIER = "frontier"  # "Maximum capability needed"


class Regulation(StrEnum):
    STANDARD = "standard"  # "Standard enterprise environment"
    STRICT_RESIDENCY = "strict_residency"  # "Strict data residency requirements"


class Answers(BaseModel):
    """One organisation's answers; the JSON form of ``parity advise --answers FILE``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sensitivity: Sensitivity = Field(description="Where may the data be processed?")
    tokens_per_day: float = Field(ge=0, description="Input (prompt) tokens per day.")
    traffic: Traffic = Field(description="Is the volume steady or spiky?")
    team: Team = Field(description="Who would run GPUs and model servers?")
    customisation: Customisation = Field(description="Is domain fine-tuning required?")
    difficulty: Difficulty = Field(description="How hard are the tasks?")
    regulation: Regulation = Field(description="Which regulatory environment applies?")
    output_per_input: float = Field(0.5, ge=0, description="Output tokens per input token.")
    hard_share: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Share of tokens that need the frontier (docs/sources.md S3: the hard 20%).",
    )
    context_tokens: int = Field(8192, gt=0, description="The longest prompt + answer needed.")
    gpu: str | None = Field(None, description="GPUs you have or would rent, e.g. '2xH100'.")
    gpu_usd_per_month: float | None = Field(
        None,
        gt=0,
        description="Lease per GPU-month; default: the catalog's (docs/sources.md S1 for H100).",
    )
    monthly_active_users: int = Field(0, ge=0)
    commercial_use: bool = True
    osi_approved_only: bool = False
    regions: tuple[str, ...] = ()

    @property
    def profile(self) -> OrgProfile:
        """The licence-check profile these answers describe."""
        return OrgProfile(
            monthly_active_users=self.monthly_active_users,
            commercial_use=self.commercial_use,
            osi_approved_only=self.osi_approved_only,
            regions=self.regions,
        )


class Question(BaseModel):
    """One interactive question: the answer field it fills, its prompt and its choices."""

    model_config = ConfigDict(frozen=True)

    field: str
    prompt: str
    choices: tuple[tuple[str, str], ...] = ()  # (value, meaning)


QUESTIONS: tuple[Question, ...] = (
    Question(
        field="sensitivity",
        prompt="Data sensitivity: may prompts leave your premises for a vendor's cloud?",
        choices=(
            ("cloud_ok", "yes, cloud processing is fine"),
            ("some_sensitive", "some requests carry data that must stay on premises"),
            ("on_prem_only", "no, nothing may leave the premises"),
        ),
    ),
    Question(field="tokens_per_day", prompt="Volume: input (prompt) tokens per day (e.g. 50M)"),
    Question(
        field="traffic",
        prompt="Is that volume steady, or spiky (bursts, quiet nights)?",
        choices=(("steady", "steady, predictable"), ("spiky", "spiky or bursty")),
    ),
    Question(
        field="team",
        prompt="Team and infrastructure: who would run GPUs and model servers?",
        choices=(
            ("none", "nobody: no AI infrastructure team"),
            ("devops", "a DevOps/platform team, no ML serving experience"),
            ("ml_infra", "an ML/infra team in-house"),
        ),
    ),
    Question(
        field="customisation",
        prompt="Customisation: do you need domain-specific fine-tuning?",
        choices=(("none", "no, general-purpose tasks"), ("fine_tuning", "yes, fine-tuning")),
    ),
    Question(
        field="difficulty",
        prompt="Task difficulty: how hard are the tasks?",
        choices=(
            ("standard", "standard: classification, extraction, summaries"),
            ("mixed", "mostly standard, some hard reasoning"),
            ("frontier", "maximum capability needed throughout"),
        ),
    ),
    Question(
        field="regulation",
        prompt="Regulation: do strict data-residency rules apply (HIPAA, GDPR localisation, ...)?",
        choices=(
            ("standard", "standard enterprise environment"),
            ("strict_residency", "strict data residency"),
        ),
    ),
)
