"""Generate the labelled privacy corpus: sentences with known entity spans, and look-alikes.

    python bench/privacy_corpus.py [--seed 7] [--per-type 40] [--negatives 200]
        [--heldout] [--out bench/data/privacy/corpus.jsonl]

Offline and deterministic for a seed. Values are made, not collected: card numbers carry a
valid Luhn digit, IBANs valid mod-97 check digits, phone numbers are valid for their region
(checked with phonenumbers), SSNs and NINOs follow the issuing rules, keys follow each vendor's
published format. Negative sentences hold numbers and words that look like entities but are not
(Luhn-failing card-length numbers, bad IBAN checksums, dates, versions, sums, "key points").

Each line: {"id", "text", "spans": [{"type", "start", "end"}], "kind": "positive"|"negative"}.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import string
from collections.abc import Callable
from pathlib import Path

import phonenumbers

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "bench" / "data" / "privacy" / "corpus.jsonl"

FIRST = ["jane", "omar", "li", "maria", "tom", "aisha", "pavel", "noor", "ken", "sofia", "raj"]
LAST = ["roe", "haddad", "wei", "garcia", "okafor", "novak", "smith", "tanaka", "rossi", "khan"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.net", "example.co.uk", "example.de"]
STREETS = ["Baker", "Maple", "Oak", "Pennsylvania", "Elm", "High", "Station", "Sunset", "Mill"]
STREET_TYPES = ["Street", "Avenue", "Road", "Lane", "Drive", "Boulevard", "Court", "Way", "Place"]
CITIES = [("Springfield", "IL", "62704"), ("Austin", "TX", "78701"), ("Denver", "CO", "80202")]
CONDITIONS = ["type 2 diabetes", "asthma", "hypertension", "epilepsy", "depression", "hiv",
              "multiple sclerosis", "breast cancer", "copd", "bipolar disorder"]  # fmt: skip
DRUGS = ["metformin", "insulin", "sertraline", "lisinopril", "warfarin", "albuterol"]
IBAN_SHAPES = {  # country: (length, BBAN maker: letters L, digits D)
    "GB": "LLLLDDDDDDDDDDDDDD",
    "DE": "DDDDDDDDDDDDDDDDDD",
    "FR": "DDDDDDDDDDDDDDDDDDDDDDD",
    "NL": "LLLLDDDDDDDDDD",
    "ES": "DDDDDDDDDDDDDDDDDDDD",
    "IT": "LDDDDDDDDDDDDDDDDDDDDDD",
}
PHONE_REGIONS = {
    "US": ["({a}) {b}-{c}", "{a}-{b}-{c}", "+1 {a} {b} {c}"],
    "GB": ["+44 {n}", "0{n}"],
    "DE": ["+49 {n}"],
    "FR": ["+33 {n}"],
    "IN": ["+91 {n}"],
}

Maker = Callable[[random.Random], tuple[str, str]]  # -> (entity type, value)


def luhn_complete(digits: str) -> str:
    """``digits`` plus the Luhn check digit."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            value -= 9 if value > 9 else 0
        total += value
    return digits + str((10 - total % 10) % 10)


def iban_for(country: str, bban: str) -> str:
    """A valid IBAN for ``country`` and ``bban`` (check digits by ISO 7064 mod 97-10)."""
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    check = 98 - int(numeric) % 97
    return f"{country}{check:02d}{bban}"


def grouped(value: str, size: int = 4, sep: str = " ") -> str:
    return sep.join(value[i : i + size] for i in range(0, len(value), size))


def make_card(rng: random.Random) -> tuple[str, str]:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("37", 15), ("6011", 16)])
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    number = luhn_complete(body)
    if length == 15:
        return "CREDIT_CARD", f"{number[:4]} {number[4:10]} {number[10:]}"
    return "CREDIT_CARD", rng.choice([grouped(number), grouped(number, sep="-"), number])


def make_iban(rng: random.Random) -> tuple[str, str]:
    country = rng.choice(sorted(IBAN_SHAPES))
    bban = "".join(
        rng.choice(string.ascii_uppercase) if kind == "L" else rng.choice(string.digits)
        for kind in IBAN_SHAPES[country]
    )
    iban = iban_for(country, bban)
    return "IBAN_CODE", grouped(iban) if rng.random() < 0.7 else iban


def make_ssn(rng: random.Random) -> tuple[str, str]:
    area = rng.choice([n for n in range(1, 900) if n != 666])
    group, serial = rng.randint(1, 99), rng.randint(1, 9999)
    sep = rng.choice(["-", "-", "-", " "])
    return "US_SSN", f"{area:03d}{sep}{group:02d}{sep}{serial:04d}"


def make_nino(rng: random.Random) -> tuple[str, str]:
    first = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    if first + second in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}:
        second = "A"
    digits = "".join(rng.choice(string.digits) for _ in range(6))
    suffix = rng.choice("ABCD")
    if rng.random() < 0.5:
        return "UK_NINO", f"{first}{second} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"
    return "UK_NINO", f"{first}{second}{digits}{suffix}"


def make_phone(rng: random.Random) -> tuple[str, str]:
    region = rng.choice(sorted(PHONE_REGIONS))
    while True:
        if region == "US":
            area = f"{rng.randint(2, 9)}{rng.randint(0, 9)}{rng.randint(0, 9)}"
            a, b, c = (
                area,
                f"{rng.randint(2, 9)}{rng.randint(10, 99)}",
                f"{rng.randint(0, 9999):04d}",
            )
            text = rng.choice(PHONE_REGIONS[region]).format(a=a, b=b, c=c)
        else:
            example = phonenumbers.example_number_for_type(
                region, phonenumbers.PhoneNumberType.MOBILE
            )
            assert example is not None
            national = str(example.national_number)
            digits = national[:2] + "".join(rng.choice(string.digits) for _ in national[2:])
            spaced = " ".join(digits[i : i + 3] for i in range(0, len(digits), 3))
            text = rng.choice(PHONE_REGIONS[region]).format(n=spaced)
        parsed = phonenumbers.parse(text, region)
        if phonenumbers.is_valid_number(parsed):
            return "PHONE_NUMBER", text


def make_email(rng: random.Random) -> tuple[str, str]:
    local = rng.choice(
        [
            f"{rng.choice(FIRST)}.{rng.choice(LAST)}",
            f"{rng.choice(FIRST)}{rng.randint(1, 99)}",
            f"{rng.choice(FIRST)[0]}{rng.choice(LAST)}",
        ]
    )
    return "EMAIL_ADDRESS", f"{local}@{rng.choice(DOMAINS)}"


def make_ip(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.8:
        return "IP_ADDRESS", ".".join(str(rng.randint(1, 254)) for _ in range(4))
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    return "IP_ADDRESS", ":".join(["2001", "db8", *groups[2:]])


def make_address(rng: random.Random) -> tuple[str, str]:
    street = f"{rng.randint(1, 9999)} {rng.choice(STREETS)} {rng.choice(STREET_TYPES)}"
    if rng.random() < 0.5:
        city, state, zipcode = rng.choice(CITIES)
        street += f", {city}, {state} {zipcode}"
    return "STREET_ADDRESS", street


def _b64(data: dict[str, object]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _chars(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def make_api_key(rng: random.Random) -> tuple[str, str]:
    alnum = string.ascii_letters + string.digits
    kind = rng.randrange(6)
    if kind == 0:
        return "API_KEY", "AKIA" + _chars(rng, string.ascii_uppercase + string.digits, 16)
    if kind == 1:
        return "API_KEY", "ghp_" + _chars(rng, alnum, 36)
    if kind == 2:
        parts = f"{rng.randint(10**11, 10**12 - 1)}-{rng.randint(10**12, 10**13 - 1)}"
        return "API_KEY", f"xoxb-{parts}-" + _chars(rng, alnum, 24)
    if kind == 3:
        return "API_KEY", "sk_live_" + _chars(rng, alnum, 24)
    if kind == 4:
        return "API_KEY", "AIza" + _chars(rng, alnum + "-_", 35)
    return "API_KEY", "glpat-" + _chars(rng, alnum + "-_", 20)


def make_token(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.6:
        header = _b64({"alg": "HS256", "typ": "JWT"})
        claims = _b64({"sub": str(rng.randint(1000, 99999)), "iat": rng.randint(10**9, 2 * 10**9)})
        signature = _chars(rng, string.ascii_letters + string.digits + "-_", 43)
        return "ACCESS_TOKEN", f"{header}.{claims}.{signature}"
    return "ACCESS_TOKEN", _chars(rng, string.ascii_letters + string.digits, 32)


def make_private_key(rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY"])
    body = "\n".join(_chars(rng, string.ascii_letters + string.digits + "+/", 64) for _ in range(3))
    return "PRIVATE_KEY", f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----"


def make_password(rng: random.Random) -> tuple[str, str]:
    word = rng.choice(["Falcon", "Harbor", "Violet", "Copper", "Nimbus"])
    number, mark = rng.randint(10, 9999), rng.choice("!#$%&*")
    return "PASSWORD", f"{word}{number}{mark}{_chars(rng, string.ascii_lowercase, 3)}"


def make_mrn(rng: random.Random) -> tuple[str, str]:
    return "MEDICAL_RECORD_NUMBER", f"{rng.randint(10**6, 10**8 - 1):08d}"


def make_condition(rng: random.Random) -> tuple[str, str]:
    return "MEDICAL_TERM", rng.choice(CONDITIONS + DRUGS)


# Templates per maker; {v} is the value. Some read like chat, some like pasted config or logs.
TEMPLATES: dict[str, tuple[Maker, list[str]]] = {
    "email": (make_email, [
        "Can you draft a reply to {v} about the invoice?",
        "Forward the minutes to {v} before Friday.",
        "Her address is {v}, please add her to the list.",
        "From: {v}\nSubject: refund request",
    ]),
    "phone": (make_phone, [
        "Call me back on {v} after lunch.",
        "My mobile is {v}; text if urgent.",
        "Customer phone: {v}",
        "Reach the front desk at {v} for the keys.",
    ]),
    "card": (make_card, [
        "Charge the deposit to {v}, expiry 09/27.",
        "My card number is {v} and it was declined.",
        "payment_method: card {v}",
        "Refund the order paid with {v}.",
    ]),
    "iban": (make_iban, [
        "Please wire the balance to {v} by Monday.",
        "IBAN: {v} (account holder M. Rossi)",
        "Update my bank details to {v}.",
    ]),
    "ssn": (make_ssn, [
        "My SSN is {v}, is that needed for the form?",
        "Social security number: {v}",
        "The applicant's SSN {v} did not match the record.",
    ]),
    "nino": (make_nino, [
        "My National Insurance number is {v}.",
        "NI number: {v}",
        "Payroll has NINO {v} for the new starter.",
    ]),
    "ip": (make_ip, [
        "The login came from {v} at 03:12.",
        "Block traffic from {v} on the firewall.",
        "ssh admin@{v} fails with a timeout",
    ]),
    "address": (make_address, [
        "Ship the parcel to {v} please.",
        "I moved to {v} last month.",
        "Billing address: {v}",
    ]),
    "phi": (make_condition, [
        "The patient was diagnosed with {v} last year and needs a follow-up.",
        "My doctor prescribed {v} after the tests.",
        "He has been treated for {v} since 2019, see his medical history.",
    ]),
    "mrn": (make_mrn, [
        "Patient MRN: {v}, admitted on Tuesday.",
        "Please pull the chart for medical record number {v}.",
    ]),
    "api_key": (make_api_key, [
        "Why does my request fail with key {v}?",
        "export API_TOKEN={v}",
        'client = Client(api_key="{v}")',
        "Rotate {v} before the audit.",
    ]),
    "token": (make_token, [
        "Authorization: Bearer {v}",
        "The session token {v} expired, how do I refresh it?",
        "curl -H 'Authorization: Bearer {v}' https://api.example.com/v1/me",
    ]),
    "private_key": (make_private_key, [
        "Here is the deploy key, what format is it?\n{v}\nthanks",
        "id_rsa contents:\n{v}",
    ]),
    "password": (make_password, [
        'db_password = "{v}"',
        "My password is {v} and the login still fails.",
        "PASSWORD={v}",
        "smtp:\n  user: mailer\n  password: {v}",
    ]),
}  # fmt: skip


def bad_card(rng: random.Random) -> str:
    """A 16-digit number that starts like a Visa card but fails the Luhn check."""
    good = luhn_complete("4" + "".join(rng.choice(string.digits) for _ in range(14)))
    return good[:-1] + str((int(good[-1]) + rng.randint(1, 9)) % 10)


# Held-out wording, written before any run against it and never tuned on: the figures on the
# committed corpus were reached while fixing the detector on it, these were not.
HELDOUT: dict[str, list[str]] = {
    "email": ["cc {v} on the thread", "contact: {v}"],
    "phone": ["ph. {v}", "If I miss your call try {v} instead."],
    "card": ["Visa ending... full number {v}", "cc# {v} exp 11/26 cvv 123"],
    "iban": ["Bank: Example Bank, IBAN {v}, BIC EXAMDEFF", "send it to account {v}"],
    "ssn": ["SSN# {v}", "ssn={v}"],
    "nino": ["nino: {v}", "Her NI no. is {v}"],
    "ip": ["Host {v} answered with 502", "X-Forwarded-For: {v}"],
    "address": ["Deliver to: {v}", "We live at {v} near the park"],
    "phi": ["I was diagnosed with {v} two weeks ago.", "Patient history: {v}, stable."],
    "mrn": ["MRN {v}", "medical record no. {v} attached"],
    "api_key": ["OPENAI_KEY={v}", "key: {v}"],
    "token": ["headers = {{'Authorization': 'Bearer {v}'}}", "access_token={v}"],
    "private_key": ["{v}"],
    "password": ['"password": "{v}"', "pwd: {v}"],
}

NEGATIVES: list[Callable[[random.Random], str]] = [
    lambda r: f"Order number {bad_card(r)} shipped today.",
    lambda r: f"Version {r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)} fixes the crash.",
    lambda r: (
        f"The meeting moved to {r.randint(2020, 2026)}-{r.randint(1, 12):02d}-"
        f"{r.randint(1, 28):02d} at {r.randint(1, 12)} pm."
    ),
    lambda r: (
        f"She sold {r.randint(2, 90)} eggs at ${r.randint(2, 9)} each, so "
        f"{r.randint(2, 90)} * {r.randint(2, 9)} = {r.randint(10, 900)}."
    ),
    lambda r: f"Summarise the key points of chapter {r.randint(1, 30)} in three bullets.",
    lambda r: f"Our token budget is {r.randint(1, 64)}k per request; keep prompts short.",
    lambda r: f"Write an essay about the history of {r.choice(CONDITIONS)} research.",
    lambda r: (
        f"ISBN {r.randint(100, 999)}-{r.randint(0, 9)}-{r.randint(10, 99)}-"
        f"{r.randint(100000, 999999)}-{r.randint(0, 9)} is out of print."
    ),
    lambda r: "Transfer to GB00 WEST 1234 5698 7654 32 bounced because the IBAN was wrong.",
    lambda r: f"The secret to good bread is {r.randint(2, 48)} hours of proofing.",
    lambda r: (
        f"Population grew from {r.randint(1, 9)},{r.randint(100, 999)},{r.randint(100, 999)}"
        f" to {r.randint(1, 9)},{r.randint(100, 999)},{r.randint(100, 999)} in a decade."
    ),
    lambda r: f"Commit {''.join(r.choice('0123456789abcdef') for _ in range(12))} broke the tests.",
    lambda r: f"Room {r.randint(100, 999)} on floor {r.randint(1, 9)} has the projector.",
    lambda r: f"Convert {r.randint(10, 999)} km to miles and round to {r.randint(1, 3)} places.",
    lambda r: f"Patients often ask about {r.choice(CONDITIONS)}; write a neutral FAQ entry.",
]


def positive(rng: random.Random, name: str, heldout: bool = False) -> dict[str, object]:
    maker, templates = TEMPLATES[name]
    template = rng.choice(HELDOUT[name] if heldout else templates)
    entity, value = maker(rng)
    template = template.replace("{{", "{").replace("}}", "}")
    start = template.index("{v}")
    text = template.replace("{v}", value)
    return {
        "text": text,
        "spans": [{"type": entity, "start": start, "end": start + len(value)}],
        "kind": "positive",
    }


def build(
    seed: int, per_type: int, negatives: int, heldout: bool = False
) -> list[dict[str, object]]:
    """The corpus for ``seed``: ``per_type`` sentences per template group, then negatives."""
    rng = random.Random(seed)
    rows = [positive(rng, name, heldout) for name in TEMPLATES for _ in range(per_type)]
    rows += [
        {"text": rng.choice(NEGATIVES)(rng), "spans": [], "kind": "negative"}
        for _ in range(negatives)
    ]
    for number, row in enumerate(rows):
        row["id"] = f"p{number:04d}"
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-type", type=int, default=40)
    parser.add_argument("--negatives", type=int, default=200)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--heldout", action="store_true", help="use the held-out wording (never tuned on)"
    )
    args = parser.parse_args(argv)
    rows = build(args.seed, args.per_type, args.negatives, args.heldout)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"wrote {len(rows)} sentences to {args.out}")


if __name__ == "__main__":
    main()
