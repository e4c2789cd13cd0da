"""Turn one chat message into an intent for the offline agent. Pure functions, no I/O.

Covers natural phrasings of the five task operations plus yes/no follow-ups, e.g.
"add buy milk", "remind me to call mom", "what's left to do?", "mark the milk one done",
"complete task 2", "rename buy milk to buy oat milk", "delete everything about milk", "yes".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

IntentKind = Literal["add", "list", "complete", "delete", "update", "confirm", "deny", "help", "unknown"]

ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
    "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "last": -1,
}


@dataclass(frozen=True)
class TaskRef:
    """How the user named a task: a number (position in the last list shown, or an id) or title words."""

    number: int | None = None
    explicit_id: bool = False  # "#7", "id 7": never a list position
    text: str | None = None


@dataclass(frozen=True)
class Intent:
    kind: IntentKind
    title: str | None = None
    description: str | None = None
    status: Literal["all", "pending", "completed"] = "all"
    ref: TaskRef | None = None
    bulk: bool = False  # "delete everything about milk", "delete all milk tasks"
    fields: dict[str, str] = field(default_factory=dict)


_YES = {"yes", "y", "yep", "yeah", "yup", "sure", "ok", "okay", "confirm", "do it", "go ahead", "yes please",
        "please do", "correct", "all", "all of them", "both", "yes all", "yes, all", "yes delete them"}
_NO = {"no", "n", "nope", "nah", "cancel", "stop", "never mind", "nevermind", "don't", "dont", "no thanks", "abort"}
_FILLER = re.compile(r"\b(?:please|pls|could you|can you|would you|kindly|for me|thanks|thank you)\b", re.I)


def _norm(message: str) -> str:
    text = message.strip().strip("\"'“”")
    text = re.sub(r"[!?.]+$", "", text).strip()
    text = re.sub(r"\s+", " ", text)
    return text


def _strip_filler(text: str) -> str:
    return re.sub(r"\s+", " ", _FILLER.sub(" ", text)).strip(" ,")


def _clean_title(text: str) -> str:
    text = text.strip().strip(" ,:;-")
    text = text.strip("\"'“”‘’")
    return text.strip()


def parse_ref(text: str) -> TaskRef:
    text = text.strip().lower().strip(" ,.")
    m = re.fullmatch(r"(?:task|item|todo|number|no\.?)?\s*(?:#|id\s*#?)\s*(\d+)", text)
    if m:
        return TaskRef(number=int(m.group(1)), explicit_id=True)
    m = re.fullmatch(r"(?:the\s+)?(?:task|item|todo|number|no\.?)?\s*#?(\d+)(?:st|nd|rd|th)?(?:\s+(?:one|task|item))?", text)
    if m:
        return TaskRef(number=int(m.group(1)))
    m = re.fullmatch(r"(?:the\s+)?(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last)(?:\s+(?:one|task|item))?", text)
    if m:
        return TaskRef(number=ORDINALS[m.group(1)])
    words = re.sub(r"^(?:the|my|that|this)\s+", "", text)
    words = re.sub(r"\s+(?:one|task|item|todo|thing)$", "", words)
    words = re.sub(r"^(?:task|item|todo)\s+(?:called|named|about)?\s*", "", words)
    words = re.sub(r"^(?:one|task|item)\s+(?:about|with|for)\s+", "", words)
    return TaskRef(text=_clean_title(words))


_LIST_PATTERNS: list[tuple[re.Pattern[str], Literal["all", "pending", "completed"]]] = [
    (re.compile(r"\b(?:completed|finished|done)\s+(?:tasks|items|todos|ones)\b|\bwhat (?:have i|did i)\s+(?:done|finish|complete|completed|finished)\b|\bshow (?:me )?(?:what'?s|what is) done\b", re.I), "completed"),
    (re.compile(r"\b(?:pending|open|remaining|incomplete|unfinished|outstanding)\s*(?:tasks|items|todos|ones)?\b|\bwhat'?s left\b|\bwhat is left\b|\bleft to do\b|\bstill (?:need|have) to do\b|\bnot (?:yet )?done\b|\bwhat do i (?:still )?(?:need|have) to do\b", re.I), "pending"),
    (re.compile(r"^(?:show|list|display|see|view|get|give me|what are|what'?s|tell me)\b.*\b(?:tasks?|todos?|to-?dos?|list|items?)\b|^(?:my )?(?:tasks|todos|to-?do list|list)$|\bwhat'?s on my (?:list|plate)\b|\bwhat do i have\b|\bshow (?:me )?everything\b|\ball (?:my )?tasks\b|^list$|^tasks$", re.I), "all"),
]

_ADD = [
    re.compile(r"^(?:remind me to|remember to|don'?t let me forget to)\s+(?P<title>.+)$", re.I),
    re.compile(r"^(?:add|create|new|make|put|insert|save|note|jot down|schedule)\s+(?:a\s+|an\s+)?(?:new\s+)?(?:task|todo|to-?do|item|reminder)?\s*(?:to|for|called|named|titled)?\s*:?\s*(?P<title>.+?)(?:\s+(?:to|on|in)\s+(?:my\s+)?(?:list|tasks|todo list|to-?do list))?$", re.I),
    re.compile(r"^(?:todo|to-?do|task)\s*:\s*(?P<title>.+)$", re.I),
    re.compile(r"^i (?:need|have|want|must|should|gotta|got) to\s+(?P<title>.+)$", re.I),
]
_DESCRIPTION = re.compile(r"^(?P<title>.+?)(?:\s+with\s+(?:description|details|notes?)\s*:?\s+|\s+(?:description|details|notes?)\s*:\s*|\s+[—–]\s+|\s+--\s+)(?P<description>.+)$", re.I)

_RENAME = [
    re.compile(r"^(?:rename|retitle)\s+(?P<ref>.+?)\s+(?:to|as|into)\s+(?P<title>.+)$", re.I),
    re.compile(r"^(?:change|update|edit|modify|set)\s+(?:the\s+)?(?:title\s+of\s+)?(?P<ref>.+?)(?:'s\s+title|\s+title)?\s+to\s+(?P<title>.+)$", re.I),
]
_REDESCRIBE = re.compile(
    r"^(?:set|change|update|add)\s+(?:the\s+)?(?:description|details|notes?)\s+(?:of|for|on|to)\s+(?P<ref>.+?)\s+(?:to|as|:)\s+(?P<description>.+)$", re.I
)
_COMPLETE = [
    re.compile(r"^(?:mark|set|flag|tick|check)\s+(?P<ref>.+?)\s+(?:as\s+)?(?:done|complete|completed|finished|off)$", re.I),
    re.compile(r"^(?:complete|finish|finished|tick off|check off|cross off|close|done with|completed)\s+(?P<ref>.+)$", re.I),
    re.compile(r"^i(?:'ve| have)?\s+(?:finished|completed|done|did)\s+(?P<ref>.+)$", re.I),
    re.compile(r"^(?P<ref>.+?)\s+is\s+(?:done|complete|completed|finished)$", re.I),
]
_DELETE_BULK = [
    re.compile(r"^(?:delete|remove|clear|drop|erase|get rid of)\s+(?:everything|all(?:\s+(?:the\s+)?(?:tasks|items|todos))?|anything)\s+(?:about|with|mentioning|containing|related to|for|matching)\s+(?P<ref>.+)$", re.I),
    re.compile(r"^(?:delete|remove|clear|drop|erase|get rid of)\s+all\s+(?:the\s+)?(?P<ref>.+?)\s+(?:tasks|items|todos|ones)$", re.I),
]
_DELETE = [
    re.compile(r"^(?:delete|remove|drop|erase|get rid of|cancel|forget|forget about|scrap|trash)\s+(?P<ref>.+?)(?:\s+from\s+(?:my\s+)?(?:list|tasks))?$", re.I),
]


def parse(message: str) -> Intent:
    text = _norm(message)
    lowered = _strip_filler(text.lower())
    if not lowered:
        return Intent("unknown")
    if lowered in _YES:
        return Intent("confirm")
    if lowered in _NO:
        return Intent("deny")
    if re.fullmatch(r"(?:help|hi|hello|hey|what can you do|how does this work)", lowered):
        return Intent("help")

    body = _strip_filler(text)  # keeps the user's casing for titles

    m = _REDESCRIBE.match(body)
    if m:
        return Intent("update", ref=parse_ref(m["ref"]), fields={"description": _clean_title(m["description"])})
    for pattern in _RENAME:
        m = pattern.match(body)
        if m:
            return Intent("update", ref=parse_ref(m["ref"]), fields={"title": _clean_title(m["title"])})
    for pattern in _DELETE_BULK:
        m = pattern.match(body)
        if m:
            return Intent("delete", ref=parse_ref(m["ref"]), bulk=True)
    for pattern in _COMPLETE:
        m = pattern.match(body)
        if m:
            return Intent("complete", ref=parse_ref(m["ref"]))
    for pattern in _DELETE:
        m = pattern.match(body)
        if m:
            return Intent("delete", ref=parse_ref(m["ref"]))
    for pattern, status in _LIST_PATTERNS:
        if pattern.search(lowered):
            return Intent("list", status=status)
    for pattern in _ADD:
        m = pattern.match(body)
        if m:
            title, description = m["title"], None
            d = _DESCRIPTION.match(title)
            if d:
                title, description = d["title"], _clean_title(d["description"])
            title = _clean_title(title)
            if title:
                return Intent("add", title=title, description=description)
    return Intent("unknown")
