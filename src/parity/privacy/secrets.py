"""Fast-path secrets: detect-secrets' plugins, run only on the few spots that could hold one.

detect-secrets scans a whole file with every plugin. Here each plugin runs on a short window:
token plugins (vendor key formats) on long tokens that contain a digit or start with a vendor
prefix, line plugins (``password = …``) around credential keywords, and the private-key plugin
where a PEM header starts. Only ``analyze_string`` is called: ``analyze_line`` may try to verify
a key against its vendor over the network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from parity.privacy.types import Candidate, ScanText, windows
from parity.privacy.validators import shannon_entropy

__all__ = ["SecretScanner", "load_plugins", "plugin_entity"]

# Plugins whose patterns describe a token's own shape.
_TOKEN_PLUGINS = frozenset(
    {
        "ArtifactoryDetector",
        "AWSKeyDetector",
        "DiscordBotTokenDetector",
        "GitHubTokenDetector",
        "GitLabTokenDetector",
        "JwtTokenDetector",
        "MailchimpDetector",
        "NpmDetector",
        "OpenAIDetector",
        "PypiTokenDetector",
        "SendGridDetector",
        "SlackDetector",
        "SquareOAuthDetector",
        "StripeDetector",
        "TelegramBotTokenDetector",
        "TwilioKeyDetector",
    }
)
# Plugins that need a keyword next to the value, and the trigger keywords worth running them for.
_VALUE_WORDS = ("key", "passw", "_pass", "pwd", "secret", "token", "contrase")
_LINE_PLUGINS: dict[str, tuple[str, ...]] = {
    "AWSKeyDetector": ("aws",),
    "AzureStorageKeyDetector": ("key",),
    "CloudantDetector": ("key", "passw", "_pass", "pwd", "token", "cloudant"),
    "IbmCloudIamDetector": ("key", "passw", "_pass", "pwd", "token"),
    "IbmCosHmacDetector": ("key",),
    "KeywordDetector": _VALUE_WORDS,
    "NpmDetector": ("auth",),
    "SoftlayerDetector": ("key", "softlayer"),
}
_ENTITY_OF_PLUGIN = {
    "PrivateKeyDetector": "PRIVATE_KEY",
    "JwtTokenDetector": "ACCESS_TOKEN",
    "KeywordDetector": "PASSWORD",
    "BasicAuthDetector": "PASSWORD",
}
# Vendor prefixes (lower-cased) that start a key even when it happens to hold no digit.
_VENDOR_TRIGGERS = (
    "akia", "asia", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xox",
    "sk-", "sk_live_", "sk_test_", "rk_live_", "sg.", "eyj", "npm_", "pypi-", "aiza", "sq0",
    "hf_",
)  # fmt: skip
# Keywords after which a value may be a credential; each starts a line-plugin check.
_OWN_LINE_WORDS = ("passw", "passphrase", "passcode", "pwd", "bearer")
_KEYWORD_TRIGGERS = tuple(
    sorted({w for words in _LINE_PLUGINS.values() for w in words} | set(_OWN_LINE_WORDS))
)
_PEM_TRIGGERS = ("-----begin", "putty-user-key-file")

_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-./+=:")
_KEY_CHARS = _TOKEN_CHARS - frozenset("=:")
# A digit followed, in the same word, by a letter and six more key characters, on the
# digit-marked bytes (see ScanText.spans): where a random key is, since nearly every one mixes
# digits and letters early on; "<<250-135-50=65>>" in a worked sum is not. Every repeat is
# bounded: an unbounded one made a 16,000-digit prompt cost seconds.
_DIGIT_IN_WORD = re.compile(rb"0[0_\-./+=]{0,24}[A-Za-z][A-Za-z0_\-./+=]{6}")
_MIN_TOKEN = 16
_MIN_NAMED = 20
_MIN_ENTROPY = 3.5
_SCORE_NAMED = 0.7
_RANDOM_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+=")
_NAMING_WORDS = (
    ("token", "ACCESS_TOKEN"),
    ("bearer", "ACCESS_TOKEN"),
    ("session", "ACCESS_TOKEN"),
    ("password", "PASSWORD"),
    ("passwd", "PASSWORD"),
    ("secret", "API_KEY"),
    ("credential", "API_KEY"),
    ("key", "API_KEY"),
)
_MAX_TOKEN = 512
_LINE_REACH = 160
_VALUE_REACH = 100
_ASSIGNMENT_MARKS = ("=", ":", '"', "'", "`", " is ", " was ")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")

# Formats detect-secrets 1.5 has no plugin for, and credentials written as prose.
_OWN_TOKEN_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"AIza[0-9A-Za-z_-]{35}"), "API_KEY"),
    (re.compile(r"sk-ant-[A-Za-z0-9_-]{20,}"), "API_KEY"),
    (re.compile(r"sk-(?:proj-)?[A-Za-z0-9_-]{32,}"), "API_KEY"),
    (re.compile(r"hf_[A-Za-z0-9]{30,}"), "API_KEY"),
    (re.compile(r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}"), "API_KEY"),
)
_BEARER = re.compile(r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{16,}=*)")
_PROSE_PASSWORD = re.compile(
    r"(?i)\b(?:password|passwd|pwd|passphrase|passcode)\b(?:\s+(?:for|of|to)\s+\S+)?"
    r"\s*(?:is|was|:=|=|:)\s*[\"'`]?([^\s\"'`]{4,})"
)
# access_token=…, "apiKey": "…", client_secret: … (values only; the plugins miss unquoted ones)
_NAMED_ASSIGNMENT = re.compile(
    r"(?i)\b([\w.-]*(?:token|secret|api[_-]?key)[\w-]*)[\"']?\s*(?:=|:=|=>|:)\s*[\"']?"
    r"([A-Za-z0-9\-._~+/]{16,}=*)"
)
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*-----|---- END SSH2 ENCRYPTED PRIVATE KEY ----")
_SCORE = 0.9


def load_plugins(names: Iterable[str]) -> dict[str, Any]:
    """Instantiate the named detect-secrets plugins; an unknown name is an error."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    mapping: dict[str, Any] = get_mapping_from_secret_type_to_class()
    by_name = {cls.__name__: cls for cls in mapping.values()}
    unknown = sorted(set(names) - set(by_name))
    if unknown:
        raise ValueError(f"unknown detect-secrets plugins: {', '.join(unknown)}")
    return {name: by_name[name]() for name in names}


def plugin_entity(name: str) -> str:
    """The entity type a detect-secrets plugin's findings are reported as."""
    return _ENTITY_OF_PLUGIN.get(name, "API_KEY")


class SecretScanner:
    """API keys, tokens, private keys and passwords, via detect-secrets plus a few formats."""

    name = "secrets"
    triggers: tuple[str, ...] = (*_VENDOR_TRIGGERS, *_KEYWORD_TRIGGERS, *_PEM_TRIGGERS, "@")

    def __init__(self, plugins: dict[str, Any], entities: Iterable[str]):
        self._on = frozenset(entities)
        self._token = [(n, p) for n, p in plugins.items() if n in _TOKEN_PLUGINS]
        # keyword -> the line plugins it calls for
        self._by_word: dict[str, list[tuple[str, Any]]] = {}
        for name, plugin in plugins.items():
            for word in _LINE_PLUGINS.get(name, ()):
                self._by_word.setdefault(word, []).append((name, plugin))
        self._pem = plugins.get("PrivateKeyDetector")
        self._basic = plugins.get("BasicAuthDetector")

    def scan(self, doc: ScanText, out: list[Candidate]) -> None:
        """Append secret candidates found in ``doc``."""
        found: list[Candidate] = []
        for start, end in self._tokens(doc):
            self._check_token(doc, start, end, found)
        for lo, hi, names in self._line_windows(doc):
            self._check_line(doc.text, lo, hi, names, found)
        if self._basic is not None:
            for span in windows(doc.hits("@"), _LINE_REACH, 1, len(doc.text)):
                self._run(self._basic, "BasicAuthDetector", doc.text, span, found)
        if self._pem is not None:
            for start in _merged(doc, _PEM_TRIGGERS):
                self._check_pem(doc.text, start, found)
        seen: set[tuple[int, int]] = set()
        # The lines of a PEM block look like keys of their own; the block is reported whole.
        blocks = [(c.start, c.end) for c in found if c.type == "PRIVATE_KEY"]
        for candidate in found:
            span = (candidate.start, candidate.end)
            inside = candidate.type != "PRIVATE_KEY" and any(
                lo <= span[0] and span[1] <= hi for lo, hi in blocks
            )
            if candidate.type in self._on and span not in seen and not inside:
                seen.add(span)
                out.append(candidate)

    def _tokens(self, doc: ScanText) -> Iterator[tuple[int, int]]:
        """Spans of long tokens that hold a digit or start with a vendor prefix."""
        text = doc.text
        starts = [start for start, _ in doc.spans(_DIGIT_IN_WORD)]
        starts.extend(_merged(doc, _VENDOR_TRIGGERS))
        covered = -1
        for position in sorted(starts):
            if position < covered:
                continue
            start, end = _token_around(text, position)
            covered = end
            if end - start >= _MIN_TOKEN:
                yield start, end

    def _check_token(self, doc: ScanText, start: int, end: int, found: list[Candidate]) -> None:
        text = doc.text
        # A little context on the left: some formats need "AccountKey=" or a quote before them.
        lo = max(0, start - 24)
        hi = min(len(text), end + 2)
        before = len(found)
        for name, plugin in self._token:
            self._run(plugin, name, text, (lo, hi), found)
        # Plugins report a capture group ("ghp") or stop short (a JWT without its signature):
        # mask the whole key.
        for candidate in found[before:]:
            start_, end_ = _key_around(text, candidate.start, candidate.end)
            candidate.start, candidate.end = start_, end_
        for pattern, entity in _OWN_TOKEN_PATTERNS:
            for match in pattern.finditer(text, start, end):
                found.append(Candidate(entity, *match.span(), _SCORE, "fast"))
        if len(found) == before:
            self._named_token(doc, start, end, found)

    @staticmethod
    def _named_token(doc: ScanText, start: int, end: int, found: list[Candidate]) -> None:
        """A random-looking token right after a word like "token" or "key", in any format:
        "the session token 6vYuE50i…", "rotate key Qo3j9Vr98…"."""
        value = doc.text[start:end]
        if len(value) < _MIN_NAMED or not _RANDOM_CHARS.issuperset(value):
            return
        if not _looks_random(value):
            return
        before = doc.lower[max(0, start - 32) : start]
        for word, entity in _NAMING_WORDS:
            if word in before:
                found.append(Candidate(entity, start, end, _SCORE_NAMED, "fast"))
                return

    def _line_windows(self, doc: ScanText) -> list[tuple[int, int, dict[str, Any]]]:
        """Windows from a keyword's name to the end of its value, where an assignment follows
        the name, merged when they overlap, each with the plugins its keywords call for.

        The window starts at the name on purpose: detect-secrets' keyword patterns cost
        hundreds of microseconds per hundred characters when they have to search.
        """
        text = doc.text
        spots: list[tuple[int, int, str]] = []
        for word in _KEYWORD_TRIGGERS:
            for at in doc.hits(word):
                start, end = _name_around(text, at)
                follow = text[end : end + 24]
                if word == "bearer" or any(mark in follow for mark in _ASSIGNMENT_MARKS):
                    newline = text.find("\n", end, end + _VALUE_REACH)
                    stop = newline if newline != -1 else min(len(text), end + _VALUE_REACH)
                    spots.append((start, stop, word))
        spots.sort()
        windows: list[tuple[int, int, dict[str, Any]]] = []
        for lo, hi, word in spots:
            if windows and lo <= windows[-1][1]:
                last_lo, last_hi, names = windows[-1]
                windows[-1] = (last_lo, max(last_hi, hi), names)
            else:
                names = {}
                windows.append((lo, hi, names))
            names.update(self._by_word.get(word, ()))
        return windows

    def _check_line(
        self, text: str, lo: int, hi: int, plugins: dict[str, Any], found: list[Candidate]
    ) -> None:
        for name, plugin in plugins.items():
            self._run(plugin, name, text, (lo, hi), found)
        for match in _BEARER.finditer(text, lo, hi):
            found.append(Candidate("ACCESS_TOKEN", *match.span(1), _SCORE, "fast"))
        for match in _PROSE_PASSWORD.finditer(text, lo, hi):
            found.append(Candidate("PASSWORD", *match.span(1), _SCORE, "fast"))
        for match in _NAMED_ASSIGNMENT.finditer(text, lo, hi):
            value = match.group(2)
            if _looks_random(value):
                entity = "ACCESS_TOKEN" if "token" in match.group(1).lower() else "API_KEY"
                found.append(Candidate(entity, *match.span(2), _SCORE, "fast"))

    def _check_pem(self, text: str, at: int, found: list[Candidate]) -> None:
        line_end = text.find("\n", at)
        header = text[at : line_end if line_end != -1 else len(text)]
        if self._pem is None or not any(True for _ in self._pem.analyze_string(header)):
            return
        # Mask the whole block (header to END line), not just the header.
        end_match = _PEM_END.search(text, at, at + 20_000)
        end = end_match.end() if end_match else at + len(header)
        found.append(Candidate("PRIVATE_KEY", at, end, _SCORE, "detect-secrets:PrivateKeyDetector"))

    @staticmethod
    def _run(
        plugin: Any, name: str, text: str, span: tuple[int, int], found: list[Candidate]
    ) -> None:
        lo, hi = span
        window = text[lo:hi]
        entity = plugin_entity(name)
        for secret in _secrets_of(plugin, name, window):
            offset = window.find(secret)
            if offset != -1:
                start = lo + offset
                found.append(
                    Candidate(entity, start, start + len(secret), _SCORE, f"detect-secrets:{name}")
                )


def _secrets_of(plugin: Any, name: str, window: str) -> Iterator[str]:
    """The secret values a plugin reports in ``window``.

    KeywordDetector only knows quoted values unless told the file type; chat text has no file
    type, so its config-file forms (``api_key: abc123``) are tried too, keeping one-word values.
    """
    for secret in plugin.analyze_string(window):
        if isinstance(secret, str) and secret:
            yield secret
    if name == "KeywordDetector":
        from detect_secrets.plugins import keyword

        unquoted = plugin.analyze_string(
            window, denylist_regex_to_group=keyword.CONFIG_DENYLIST_REGEX_TO_GROUP
        )
        for secret in unquoted:
            value = secret.strip() if isinstance(secret, str) else ""
            if len(value) >= 4 and not any(ch.isspace() for ch in value):
                yield value


def _looks_random(value: str) -> bool:
    """Letters and digits mixed, with the spread of characters of a generated key."""
    mixed = any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
    return mixed and shannon_entropy(value) >= _MIN_ENTROPY


def _merged(doc: ScanText, literals: Iterable[str]) -> list[int]:
    """Offsets of any of ``literals`` in ``doc``, in order."""
    hits: list[int] = []
    for literal in literals:
        hits.extend(doc.hits(literal))
    hits.sort()
    return hits


def _key_around(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen ``start``..``end`` over adjacent key characters (not "=" or ":", which separate
    a key from its name)."""
    while start > 0 and text[start - 1] in _KEY_CHARS:
        start -= 1
    while end < len(text) and text[end] in _KEY_CHARS:
        end += 1
    while end > start + 1 and text[end - 1] == ".":
        end -= 1
    return start, end


def _name_around(text: str, position: int) -> tuple[int, int]:
    """The identifier (``db_password``, ``aws.secret``) that holds ``position``."""
    start = position
    floor = max(0, position - 40)
    while start > floor and text[start - 1] in _NAME_CHARS:
        start -= 1
    end = position
    ceiling = min(len(text), position + 40)
    while end < ceiling and text[end] in _NAME_CHARS:
        end += 1
    return start, end


def _token_around(text: str, position: int) -> tuple[int, int]:
    """The run of token characters around ``position`` (at most _MAX_TOKEN each way)."""
    start = position
    floor = max(0, position - _MAX_TOKEN)
    while start > floor and text[start - 1] in _TOKEN_CHARS:
        start -= 1
    end = position
    ceiling = min(len(text), position + _MAX_TOKEN)
    while end < ceiling and text[end] in _TOKEN_CHARS:
        end += 1
    return start, end
