"""Street addresses of many countries by their shape, with no cue word needed.

Streets are named the same way across a language: a type word before the name and the house
number after it ("Rue Gafsa 12", "Via Roma 5", "Calle de la Paz 3", "ul. Długa 7", "Rua Cyro
Franco 1213"), or a type word that ends the name ("Hauptstraße 5", "Kapelaniestraat 88",
"Frørupvej 58", "Opplands gate 8"). The type words of the languages the benchmark generates,
and of their neighbours, are trigger literals (found in the detector's one multi-literal pass);
a short anchored pattern checks the name and the number after each. Post boxes, and address
blocks whose lines end in a city ("652 R Rei Lavrador 20\\nRibeirão, BR 24849"), are found from
their numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from parity.privacy.types import Candidate, ScanText

__all__ = ["AddressScanner"]

# The type word comes first: "Rue X 12", "12 rue X", "Via X 5", "ul. X 7".
PREFIX_TYPES = ("rue", "avenue", "av.", "boulevard", "bd", "bd.", "chemin", "allée", "impasse",
                "place", "quai", "route", "faubourg", "fbg", "sentier", "esplanade", "cité",
                "résidence", "lotissement", "hameau", "lieu-dit", "rond-point",
                "via", "viale", "v.le", "piazza", "p.za", "p.zza", "piazzale", "piazzetta", "corso",
                "c.so", "vicolo", "largo", "l.go", "strada", "contrada", "lungomare", "borgo",
                "salita", "traversa", "località", "loc.", "frazione", "fraz.",
                "calle", "c/", "avenida", "avda", "avda.", "plaza", "pza.", "paseo", "camino",
                "carretera", "ctra", "ctra.", "ronda", "rda.", "rúa", "rambla", "travesía",
                "trav.", "pasaje", "pje.", "glorieta", "gta.", "callejón", "vía", "senda",
                "urbanización", "urb.", "colonia", "barrio", "carrer", "passeig",
                "rua", "travessa", "praça", "pça.", "alameda", "estrada", "estr.", "beco",
                "ladeira", "rodovia", "bairro",
                "ulica", "ul.", "aleja", "al.", "plac", "os.", "osiedle", "trg",
                "str.", "calea", "aleea", "bulevardul", "piața", "șoseaua", "splaiul",
                "intrarea", "náměstí", "nám.", "třída", "nábřeží", "námestie", "nábrežie",
                "οδός", "οδ.", "πλ.", "πλ", "λεωφ.")  # fmt: skip
# The type word ends the name, in one word or as a word of its own: "Hauptstraße 5".
SUFFIX_TYPES = ("straße", "strasse", "str.", "weg", "gasse", "gässli", "allee", "platz", "damm",
                "ufer", "chaussee", "pfad", "steig", "zeile",
                "straat", "laan", "gracht", "plein", "kade", "dijk", "steeg", "singel", "dreef",
                "vej", "vejen", "gade", "vænget", "vænge", "stræde", "strædet", "plads", "torv",
                "bakke", "bakken", "veien", "vegen", "plass", "stien", "gata", "gatan", "vägen",
                "gränd", "torg", "torget", "stigen", "katu", "polku", "kuja",
                "utca", "útja", "körút", "rakpart", "sétány", "fasor", "allé",
                "náměstí", "nábřeží", "třída", "cesta", "gatvė", "tänav", "maantee",
                "puiestee", "sokak", "sokağı", "caddesi", "bulvarı", "mahallesi")  # fmt: skip
# Only as a word of their own after a name: "Opplands gate 8", "Luige tee 56", "Victor Hugo
# u. 36" (utca), "Gedimino pr. 9", "Pärnu mnt 10".
WORD_TYPES = ("gate", "tee", "tie", "veg", "vei", "út", "u.", "tér", "köz", "krt.", "iela",
              "g.", "pr.", "mnt", "pst", "sok.", "sk.", "cad.", "cd.", "mah.")  # fmt: skip
# Czech and Slovak streets named with a preposition: "Na Příkopě 12", "U Lesa 3", "Pod Hájem 7".
PREPOSITIONS = ("za", "na", "u", "k", "ke", "pod", "nad", "v", "ve", "před", "při", "pri",
                "mezi")  # fmt: skip
# Found as " na " and "\nna " (a street line's start); a text's start is checked on its own.
_PREPOSITION_CUES = tuple(f"{lead}{word} " for word in PREPOSITIONS for lead in (" ", "\n"))
PO_BOXES = ("p.o. box", "po box", "p. o. box", "postbox", "postfach", "postbus", "apartado",
            "casella postale", "boîte postale", "skrytka pocztowa")  # fmt: skip

_WORD = r"[^\W\d_][\w'’.-]*"
_NUMBER = r"\d{1,5}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?"
# A quantity, not a house number: "5 times", "200 g", "12 km".
_NOT_AFTER = (
    r"(?![\w%€$£]|[.,:]\d|\s*(?:%|percent|times\b|minutes?|hours?|days?|weeks?|months?"
    r"|years?|seconds?|people|persons?|euros?|dollars?|km|m\b|kg|g\b))"
)
# After a prefix type: up to six name words, then the house number.
_NAME_THEN_NUMBER = re.compile(
    rf"[ \t]+((?:{_WORD}[ \t]+){{0,5}}?{_WORD}),?[ \t]+({_NUMBER}){_NOT_AFTER}"
)
_NAME_AFTER = re.compile(rf"[ \t]+((?:{_WORD})(?:[ \t]+{_WORD}){{0,4}})")
_NUMBER_BEFORE = re.compile(r"(?<![\w.,/-])\d{1,5}[A-Za-z]?,?[ \t]+$")
_AFTER_PREPOSITION = re.compile(
    rf"[^\W\d_]{{1,4}}[ \t]+((?:{_WORD}[ \t]+){{0,2}}{_WORD}),?[ \t]+({_NUMBER}){_NOT_AFTER}"
)
_HOUSE = re.compile(rf",?[ \t]+({_NUMBER}){_NOT_AFTER}")
_WORD_BEFORE = re.compile(rf"({_WORD})[ \t]+$")
_BOX_NUMBER = re.compile(r"[ \t]*:?[ \t]*\d{1,6}(?:[ \t]\d{2,4})?\b")
# A street line and the city line below it: "20046 Avenida Júlio S Dias 94\nSPRINGDALE".
_BLOCK_LINE = re.compile(
    rf"[ \t]+((?:{_WORD}[ \t]+){{0,4}}{_WORD})[ \t]+\d{{1,5}}[A-Za-z]?\.?[ \t]*"
    r"(?:\n|,)[ \t]*,?[ \t]*(?=[^\W\d_])"
)
# The same line found from its second number: "478 Erick Hollow 1753,\n Springfield".
_LINE_END = re.compile(r"\.?(?:\n|,|\\n)(?:[ \t]*\n)?[ \t]*,?[ \t]*(?=[^\W\d_])")
_LINE_STARTS = frozenset(",.\n\\")
_SHORT_FIRST = re.compile(
    rf"(?<![\w.,/-])(\d{{1,3}}[A-Za-z]?)[ \t]+((?:{_WORD}[ \t]+){{0,4}}{_WORD})[ \t]+$"
)
# "City, XX 12345" after a street line: the post code anchors the block.
_STATE_BEFORE = re.compile(r"[A-Z]{2}[ \t]$")
_CITY_STATE = re.compile(rf"{_WORD}(?:[ \t]+{_WORD}){{0,2}},?[ \t]+[A-Z]{{2}}[ \t]+$")
_STREET_LINE = re.compile(
    rf"(?:\d{{1,6}}[A-Za-z]?[ \t]+{_WORD}|{_WORD}[ \t]+\d{{1,6}}[A-Za-z]?)[^\n,]*[ \t]*(?:\n|,)"
    r"[ \t]*,?[ \t]*$"
)

PARTICLES = frozenset({"de", "del", "della", "delle", "dei", "degli", "di", "da", "do", "dos",
                        "das", "du", "des", "la", "le", "les", "van", "von", "der", "den",
                        "het", "ten", "ter", "y", "e", "el", "am", "im", "zum", "zur", "st.",
                        "san", "santa", "sankt", "d'", "l'"})  # fmt: skip
_STOP = frozenset({"the", "a", "an", "in", "on", "at", "to", "for", "with", "by", "from", "of",
                   "and", "or", "is", "are", "was", "were", "be", "been", "has", "have", "had",
                   "it", "this", "that", "these", "those", "your", "my", "our", "their", "his",
                   "her", "its", "about", "into", "over", "under", "than", "then", "step",
                   "chapter", "section", "page", "version", "level", "round", "room", "table",
                   "figure", "part", "item", "question", "number", "no", "only", "all", "each",
                   "every", "per", "after", "before", "since", "until", "during", "around",
                   "between", "among", "some", "any", "next", "last", "first", "top"})  # fmt: skip
_NOT_STREETS = frozenset({"brigade", "renegade", "blockade", "escapade", "foreweg"})
_YEAR_BEFORE = re.compile(
    r"\b(?:in|since|by|during|from|until|of|after|before|around|circa)[ \t]+$"
)

_SCORE = 0.7


def _literal_kinds() -> dict[str, tuple[str, ...]]:
    """Literal -> what it is (a literal may be two: "str." begins "Str. Mihai Eminescu 5" and
    ends "Hauptstr. 5")."""
    kinds: dict[str, tuple[str, ...]] = {}
    for kind, literals in (("prefix", PREFIX_TYPES), ("suffix", SUFFIX_TYPES),
                           ("word", WORD_TYPES), ("box", PO_BOXES),
                           ("preposition", _PREPOSITION_CUES)):  # fmt: skip
        for literal in literals:
            kinds[literal] = (*kinds.get(literal, ()), kind)
    return kinds


_KINDS = _literal_kinds()


class AddressScanner:
    """Street addresses by their type word, post boxes, and street-and-city blocks."""

    name = "address"
    triggers: tuple[str, ...] = (*PREFIX_TYPES, *SUFFIX_TYPES, *WORD_TYPES, *PO_BOXES,
                                 *_PREPOSITION_CUES)  # fmt: skip

    def __init__(self, entities: Iterable[str]):
        self._on = "STREET_ADDRESS" in frozenset(entities)

    def scan(self, doc: ScanText, out: list[Candidate]) -> None:
        """Append a STREET_ADDRESS candidate for each street, post box and address block."""
        if not self._on:
            return
        spans: list[tuple[int, int]] = []
        prepositions: list[int] = []
        # Only the literals this text holds: most of the hundreds of street words are absent.
        for cue, kinds in doc.present(_KINDS):
            for kind in kinds:
                for at in doc.hits(cue):
                    if kind == "prefix":
                        _prefixed(doc, at, at + len(cue), spans)
                    elif kind in ("suffix", "word"):
                        _suffixed(doc, at, at + len(cue), kind == "word", spans)
                    elif kind == "box":
                        _box(doc, at, at + len(cue), spans)
                    else:
                        prepositions.append(at + 1)
        _prepositional(doc, prepositions, spans)
        _blocks(doc, spans)
        for start, end in sorted(set(spans)):
            out.append(Candidate("STREET_ADDRESS", start, end, _SCORE, "address"))


def _prefixed(doc: ScanText, at: int, end: int, spans: list[tuple[int, int]]) -> None:
    """'Rue X 12' and '12 rue X' at the prefix type lower[at:end]."""
    text, lower = doc.text, doc.lower
    if not _word_start(lower, at) or (
        lower.endswith("al.", 0, end) and lower[at - 3 : at] == "et "
    ):
        return
    if end < len(text) and not text[end].isspace():
        return
    lowercase = _lowercase(text, at)
    match = _NAME_THEN_NUMBER.match(text, end, min(len(text), end + 80))
    if match and _name_ok(match.group(1).split(), lowercase):
        spans.append((at, match.end()))
        return
    before = _NUMBER_BEFORE.search(text, max(0, at - 10), at)
    name = _NAME_AFTER.match(text, end, min(len(text), end + 60))
    if before and name and _name_ok(name.group(1).split()[:3], lowercase):
        spans.append((before.start(), name.end()))


def _suffixed(doc: ScanText, at: int, end: int, alone: bool, spans: list[tuple[int, int]]) -> None:
    """'Hauptstraße 5', 'Marseiller Strasse 81', 'Opplands gate 8' at lower[at:end]."""
    text, lower = doc.text, doc.lower
    if end < len(text) and (text[end].isalpha() or text[end] in "'’-"):
        return
    start = at
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] in "'’-"):
        start -= 1
    if (alone and start != at) or lower[start:end] in _NOT_STREETS:
        return
    house = _HOUSE.match(text, end, min(len(text), end + 16))
    if not house:
        return
    lowercase = _lowercase(text, at)
    if start == at:  # the type is a word of its own: a name must come before it
        name = _WORD_BEFORE.search(text, max(0, start - 40), start)
        if not name or not _name_ok([name.group(1)], lowercase):
            return
        start = name.start()
    elif not (text[start].isupper() or lowercase):
        return
    spans.append((start, house.end()))


def _box(doc: ScanText, at: int, end: int, spans: list[tuple[int, int]]) -> None:
    """'P.O. Box 4412', 'Postfach 1220' at lower[at:end]."""
    box = _BOX_NUMBER.match(doc.text, end)
    if box and _word_start(doc.lower, at):
        spans.append((at, box.end()))


def _prepositional(doc: ScanText, starts: list[int], spans: list[tuple[int, int]]) -> None:
    """'Za Školou 1348', 'Na Příkopě 12': a capitalised preposition, a name and a number."""
    text, lower = doc.text, doc.lower
    head = lower[:6].split(" ", 1)[0]
    if head in PREPOSITIONS:
        starts.append(0)
    for at in starts:
        if not text[at].isupper():
            continue  # a street's preposition is capitalised; "u" and "na" in prose are not
        match = _AFTER_PREPOSITION.match(text, at, min(len(text), at + 60))
        if match and _name_ok(match.group(1).split(), False):
            spans.append((at, match.end()))


def _blocks(doc: ScanText, spans: list[tuple[int, int]]) -> None:
    """Street lines found from their numbers: '20046 Avenida X 94\\nCITY', 'City, BR 24849'."""
    text = doc.text
    for start, end, digits in doc.digit_runs:
        if digits > 6 or (start and (text[start - 1].isalnum() or text[start - 1] in ".,/-")):
            continue
        after = text[end + 1 : end + 2]
        named = text[end : end + 1] in (" ", "\t") and (
            after.isupper() or (after.isalpha() and _lowercase(text, end))
        )
        line = _BLOCK_LINE.match(text, end, min(len(text), end + 80)) if named else None
        if line and not _year_in_prose(doc, start, end):
            words = line.group(1).split()
            if text[line.start(1)].isupper() and not any(w.lower() in _STOP for w in words):
                spans.append((start, line.end(1)))
                continue
        if text[end : end + 1] in _LINE_STARTS and _short_first(text, start, end, spans):
            continue
        state = digits == 5 and _STATE_BEFORE.match(text, max(0, start - 3), start)
        city = _CITY_STATE.search(text, max(0, start - 40), start) if state else None
        if city:
            street = _STREET_LINE.search(text, max(0, city.start() - 80), city.start())
            if street:
                spans.append((street.start(), end))


def _short_first(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    """'478 Erick Hollow 1753,\\n Springfield': the first house number too short for a digit
    run, found from the second. The line starts a line (or follows a name), the next line
    is capitalised, and the second number is no year ("5 Boston Marathons 2019, then")."""
    ending = _LINE_END.match(text, end, min(len(text), end + 8))
    if not ending or not text[ending.end()].isupper():
        return False
    value = text[start:end]
    if value.isdigit() and 1800 <= int(value) <= 2099:
        return False
    line = _SHORT_FIRST.search(text, max(0, start - 70), start)
    if line is None or not text[line.start(2)].isupper():
        return False
    if any(w.lower() in _STOP for w in line.group(2).split()):
        return False
    before = text[max(0, line.start() - 40) : line.start()].rstrip(" \t")
    last = before.rsplit(None, 1)[-1] if before.split() else ""
    opens = not before or before[-1] in "\n,:;" or before.endswith("\\n")
    if not opens and not (last[:1].isupper() and last.lower() not in _STOP):
        return False
    spans.append((line.start(), end))
    return True


def _year_in_prose(doc: ScanText, start: int, end: int) -> bool:
    """'In 2010 Apple sold 200, …': a year after a preposition, not a house number."""
    value = doc.text[start:end]
    return (
        value.isdigit()
        and 1800 <= int(value) <= 2099
        and bool(_YEAR_BEFORE.search(doc.lower, max(0, start - 10), start))
    )


def _name_ok(words: list[str], lowercase: bool) -> bool:
    """A street's name: no function words, and a capital unless the whole text is lower case."""
    if not words or any(w.lower() in _STOP for w in words):
        return False
    if lowercase:
        return True
    named = [w for w in words if w.lower() not in PARTICLES]
    return bool(named) and all(w[0].isupper() or w[0].isdigit() for w in named[:1])


def _word_start(lower: str, at: int) -> bool:
    return at == 0 or not lower[at - 1].isalnum()


def _lowercase(text: str, at: int) -> bool:
    """True when the text around ``at`` has no capital letters (a lower-cased message)."""
    window = text[max(0, at - 80) : at + 80]
    return window == window.lower()
