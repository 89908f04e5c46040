"""Fast-path PHI: medical terms said about a person, and medical record numbers.

"Diabetes" in an essay prompt is not health information; "the patient was diagnosed with
diabetes" is. A term counts only when a personal medical cue (patient, diagnosed, prescribed,
MRN…) stands within a few hundred characters. Terms and cues are trigger literals, so they cost
nothing beyond the detector's one multi-literal pass, however long the lists grow.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable

from parity.privacy.types import Candidate, ScanText

__all__ = ["MEDICAL_CUES", "MEDICAL_TERMS", "PhiScanner"]

MEDICAL_CUES: tuple[str, ...] = (
    "patient", "diagnos", "prescri", "symptom", "my doctor", "physician", "clinic", "hospital",
    "admitted", "discharged", "medical history", "medical record", "mrn", "treated for",
    "treatment for", "suffers from", "suffering from", "date of birth", "dob", "lab result",
    "test result", "tested positive", "referred to", "nurse", "therap", "medication",
    "dosage", "taking ",
)  # fmt: skip

MEDICAL_TERMS: tuple[str, ...] = (
    # conditions
    "diabetes", "type 1 diabetes", "type 2 diabetes", "hypertension", "asthma", "copd",
    "cancer", "leukemia", "lymphoma", "melanoma", "carcinoma", "tumor", "tumour", "hiv",
    "hepatitis", "hepatitis b", "hepatitis c", "tuberculosis", "pneumonia",
    "covid-19", "influenza", "depression", "major depressive disorder", "anxiety disorder",
    "bipolar disorder", "schizophrenia", "ptsd", "adhd", "autism", "dementia", "alzheimer's",
    "parkinson's", "epilepsy", "multiple sclerosis", "stroke", "heart attack",
    "myocardial infarction", "heart failure", "arrhythmia", "atrial fibrillation",
    "kidney disease", "renal failure", "cirrhosis", "crohn's disease", "ulcerative colitis",
    "celiac disease", "arthritis", "rheumatoid arthritis", "osteoporosis", "lupus",
    "psoriasis", "eczema", "obesity", "anorexia", "bulimia", "substance use disorder",
    "alcoholism", "opioid use disorder", "pregnancy", "pregnant", "miscarriage", "infertility",
    "chlamydia", "gonorrhea", "syphilis", "herpes", "hpv", "sickle cell", "hemophilia",
    "cystic fibrosis", "migraine", "sleep apnea", "hypothyroidism", "hyperthyroidism",
    "anemia", "sepsis", "fracture", "concussion",
    # medications
    "insulin", "metformin", "lisinopril", "atorvastatin", "simvastatin", "amlodipine",
    "metoprolol", "warfarin", "apixaban", "levothyroxine", "albuterol", "prednisone",
    "sertraline", "fluoxetine", "escitalopram", "citalopram", "bupropion", "venlafaxine",
    "lithium", "quetiapine", "olanzapine", "risperidone", "aripiprazole", "adderall",
    "methylphenidate", "oxycodone", "hydrocodone", "morphine", "fentanyl", "buprenorphine",
    "methadone", "naloxone", "gabapentin", "pregabalin", "ibuprofen", "acetaminophen",
    "amoxicillin", "azithromycin", "ciprofloxacin", "doxycycline", "antiretroviral",
    "chemotherapy", "tamoxifen", "semaglutide", "ozempic", "omeprazole",
    # procedures and results
    "biopsy", "mri", "ct scan", "x-ray", "ultrasound", "mammogram", "colonoscopy",
    "dialysis", "chemo", "radiation therapy", "surgery", "appendectomy", "mastectomy",
    "hysterectomy", "bypass surgery", "transplant", "blood test", "hba1c", "a1c",
    "blood pressure", "cholesterol", "ecg", "ekg", "vaccination", "abortion",
)  # fmt: skip

_MRN = re.compile(
    r"(?i)\b(?:mrn|medical record(?: number| no\.?| #)?)\s*(?:is\s*)?[:#]?\s*"
    r"([A-Z0-9][A-Z0-9-]{4,})"
)
_SCORE_TERM = 0.6
_SCORE_MRN = 0.85


class PhiScanner:
    """Medical terms near a personal medical cue, and medical record numbers."""

    name = "phi"

    def __init__(self, entities: Iterable[str], *, context_chars: int):
        on = frozenset(entities)
        self._terms_on = "MEDICAL_TERM" in on
        self._mrn_on = "MEDICAL_RECORD_NUMBER" in on
        self._reach = context_chars
        self._cues = frozenset(MEDICAL_CUES)
        self._terms = frozenset(MEDICAL_TERMS)
        self.triggers: tuple[str, ...] = (*MEDICAL_CUES, *MEDICAL_TERMS)

    def scan(self, doc: ScanText, out: list[Candidate]) -> None:
        """Append PHI candidates found in ``doc``."""
        lower = doc.lower
        cues = sorted(
            at
            for cue in self._cues & doc.triggers.keys()
            for at in doc.hits(cue)
            if (at == 0 or not lower[at - 1].isalnum()) and not _plural(lower, cue, at)
        )
        if not cues:
            return
        if self._mrn_on:
            for at in doc.hits("mrn") + doc.hits("medical record"):
                match = _MRN.match(doc.text, at, min(len(doc.text), at + 64))
                if match is not None:
                    out.append(
                        Candidate("MEDICAL_RECORD_NUMBER", *match.span(1), _SCORE_MRN, "fast")
                    )
        if self._terms_on:
            for term in self._terms & doc.triggers.keys():
                for at in doc.hits(term):
                    end = at + len(term)
                    if not _whole_word(doc.lower, at, end):
                        continue
                    # In "Transplant nurse" the cue is the job itself: other cues must be near.
                    job = _job_title(doc.lower, end)
                    near = [c for c in cues if not end < c <= job] if job else cues
                    if _near(near, at, self._reach):
                        out.append(Candidate("MEDICAL_TERM", at, end, _SCORE_TERM, "fast"))


# "Transplant nurse", "cancer researcher": a term before one of these names a job, not anyone's
# health.
_JOBS = frozenset({"nurse", "nurses", "surgeon", "surgeons", "physician", "physicians",
                   "doctor", "doctors", "therapist", "therapists", "technician", "technicians",
                   "technologist", "specialist", "specialists", "coordinator", "consultant",
                   "researcher", "researchers", "scientist", "scientists", "counsellor",
                   "counselor", "practitioner", "assistant", "engineer", "sales", "rep",
                   "representative"})  # fmt: skip
_NEXT_WORD = re.compile(r"s?[ \t-]+([a-z]+)")


def _job_title(lower: str, end: int) -> int:
    """Where the job word starts when the term ending at ``end`` begins a job's name, else 0."""
    word = _NEXT_WORD.match(lower, end, min(len(lower), end + 24))
    return word.start(1) if word is not None and word.group(1) in _JOBS else 0


def _plural(lower: str, cue: str, at: int) -> bool:
    """True for "patients": a group, not a person (an FAQ for patients holds no PHI)."""
    end = at + len(cue)
    return cue == "patient" and lower[end : end + 1] == "s"


def _whole_word(lower: str, start: int, end: int) -> bool:
    """True when lower[start:end] is a word of its own (a plural "s" may follow)."""
    if start > 0 and lower[start - 1].isalnum():
        return False
    if end < len(lower) and lower[end] == "s":
        end += 1
    return end >= len(lower) or not lower[end].isalnum()


def _near(cues: list[int], position: int, reach: int) -> bool:
    """True when some cue offset lies within ``reach`` characters of ``position``."""
    index = bisect.bisect_left(cues, position - reach)
    return index < len(cues) and cues[index] <= position + reach
