"""The shipped example task: support tickets -> JSON, generated with a fixed seed.

Each ticket is a short customer message built from a closed vocabulary (names, order ids,
products, issue phrasings, urgency markers) in varied templates and sentence orders. The
answer is one compact JSON object with fixed keys. Because the vocabulary is closed,
``solve`` recovers the right answer from the text alone: that is what the example's teacher,
a local fake vendor, does (no frontier model is reachable from here; see docs/tune.md).
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

__all__ = ["ISSUES", "SCHEMA", "SYSTEM", "TASK", "generate", "solve", "ticket_messages"]

TASK = "ticket-extract"
SYSTEM = (
    "Extract the support ticket into one JSON object with the keys customer, order_id, "
    "product, issue (refund, shipping, broken, login or billing) and urgency (high or low). "
    "Answer with the JSON only."
)
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["customer", "order_id", "product", "issue", "urgency"],
    "additionalProperties": False,
    "properties": {
        "customer": {"type": "string"},
        "order_id": {"type": "string", "pattern": "^[A-Z]-[0-9]{5}$"},
        "product": {"type": "string"},
        "issue": {"enum": ["refund", "shipping", "broken", "login", "billing"]},
        "urgency": {"enum": ["high", "low"]},
    },
}

_FIRST = (
    "Maria",
    "James",
    "Aiko",
    "Omar",
    "Lena",
    "Carlos",
    "Priya",
    "Tom",
    "Sofia",
    "Kwame",
    "Elena",
    "Noah",
    "Fatima",
    "Lucas",
    "Hana",
    "Ivan",
    "Grace",
    "Mateo",
    "Zara",
    "Felix",
)
_LAST = (
    "Lopez",
    "Smith",
    "Tanaka",
    "Haddad",
    "Fischer",
    "Silva",
    "Patel",
    "Baker",
    "Rossi",
    "Mensah",
    "Petrova",
    "Brown",
    "Khan",
    "Martin",
    "Kim",
    "Novak",
    "Lee",
    "Garcia",
    "Ali",
    "Weber",
)
_PRODUCTS = (
    "wireless headphones",
    "standing desk",
    "coffee grinder",
    "phone case",
    "yoga mat",
    "desk lamp",
    "electric kettle",
    "backpack",
    "smart watch",
    "blender",
    "office chair",
    "air purifier",
    "bluetooth speaker",
    "hiking boots",
    "monitor stand",
    "rice cooker",
)
ISSUES: dict[str, tuple[str, ...]] = {
    "refund": (
        "I would like my money back for the {p}",
        "please refund the {p}, I no longer want it",
        "I returned the {p} and want a refund",
    ),
    "shipping": (
        "the {p} has not arrived yet",
        "tracking for the {p} has not moved in a week",
        "the {p} was delivered to the wrong address",
    ),
    "broken": (
        "the {p} arrived broken",
        "the {p} stopped working after two days",
        "the {p} came with a cracked part",
    ),
    "login": (
        "I cannot log in to my account to check the {p}",
        "my password reset link does not work, so I cannot see the {p}",
        "the app keeps logging me out while I look at the {p}",
    ),
    "billing": (
        "I was charged twice for the {p}",
        "the invoice for the {p} shows the wrong amount",
        "my card was billed for the {p} I cancelled",
    ),
}
_URGENT = ("This is urgent.", "Please fix this today.", "I need this sorted ASAP.")
_CALM = ("No rush.", "Whenever you have time.", "Thanks in advance.")
_OPENINGS = ("Hi, this is {c}.", "Hello, my name is {c}.", "Dear support, {c} here.")
_ORDER = ("My order is {o}.", "Order number {o}.", "It was order {o}.")

_ORDER_ID = re.compile(r"\b[A-Z]-\d{5}\b")
_NAME = re.compile(rf"\b({'|'.join(_FIRST)}) ({'|'.join(_LAST)})\b")


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + "."


def _ticket(rng: random.Random) -> tuple[str, dict[str, str]]:
    customer = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    order = f"{rng.choice('ABCDEFGHJK')}-{rng.randrange(10000, 100000)}"
    product = rng.choice(_PRODUCTS)
    issue = rng.choice(sorted(ISSUES))
    urgent = rng.random() < 0.5
    body = [
        rng.choice(_ORDER).format(o=order),
        _sentence(rng.choice(ISSUES[issue]).format(p=product)),
        rng.choice(_URGENT if urgent else _CALM),
    ]
    rng.shuffle(body)
    text = " ".join([rng.choice(_OPENINGS).format(c=customer), *body])
    answer = {
        "customer": customer,
        "order_id": order,
        "product": product,
        "issue": issue,
        "urgency": "high" if urgent else "low",
    }
    return text, answer


def ticket_messages(ticket: str) -> list[dict[str, str]]:
    """The chat request for one ticket."""
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ticket}]


def generate(count: int, *, seed: int = 0) -> list[tuple[str, str]]:
    """``count`` distinct (ticket, JSON answer) pairs, the same for the same seed."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(out) < count:
        text, answer = _ticket(rng)
        if text in seen:
            continue
        seen.add(text)
        out.append((text, json.dumps(answer)))
    return out


def solve(ticket: str) -> str | None:
    """The right JSON answer for a generated ticket, read from its text; None if not one."""
    name, order = _NAME.search(ticket), _ORDER_ID.search(ticket)
    product = next((p for p in _PRODUCTS if p in ticket.lower()), None)
    lowered = ticket.lower()
    issue = next(
        (
            kind
            for kind, phrasings in ISSUES.items()
            for phrase in phrasings
            if product and phrase.format(p=product).lower() in lowered
        ),
        None,
    )
    if name is None or order is None or product is None or issue is None:
        return None
    urgent = any(marker.lower() in lowered for marker in _URGENT)
    answer = {
        "customer": name.group(0),
        "order_id": order.group(0),
        "product": product,
        "issue": issue,
        "urgency": "high" if urgent else "low",
    }
    return json.dumps(answer)
