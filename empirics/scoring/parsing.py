"""Strict parsing of chat-completion responses and of the rubric answer inside them.

The answer must be a single JSON object with exactly two keys: the label and a
rationale (the template's keys, or the English ``label`` / ``rationale``).  A
single Markdown code fence around the object is tolerated; nothing else is.
Labels are compared after Unicode NFKC normalisation (so full-width ``Ｅ１``
reads as ``E1``) and upper-casing.  Anything else raises
:class:`~empirics.scoring.errors.AnswerParseError`; nothing defaults to E0.
A response body that is not a chat completion at all raises its subclass
:class:`~empirics.scoring.errors.MalformedResponseError` (a transport failure).
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass

from .errors import AnswerParseError, MalformedResponseError
from .templates import RubricTemplate

MAX_RATIONALE_CHARS = 2000
_FENCE_RE = re.compile(r"^```[A-Za-z]*\n(.*)\n```$", re.DOTALL)


@dataclass(frozen=True)
class ParsedAnswer:
    label: str
    rationale: str
    value: float | None = None  # the number, for ``share`` templates


@dataclass(frozen=True)
class Completion:
    """The parts of a chat-completion body that the pipeline uses."""

    content: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


def _reject_constant(name: str):
    raise ValueError(f"non-finite number {name}")


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _loads(text: str):
    return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)


def parse_completion(body: bytes | str) -> Completion:
    """Read an OpenAI chat-completions response body; raise MalformedResponseError if it is not one."""
    try:
        data = _loads(body.decode("utf-8") if isinstance(body, bytes) else body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedResponseError(f"response body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedResponseError("response body is not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise MalformedResponseError("response has no choices")
    message = choices[0].get("message")
    if not isinstance(message, dict) or not isinstance(message.get("content"), str):
        raise MalformedResponseError("response choice has no message content")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}

    def _int(key: str) -> int:
        v = usage.get(key, 0)
        return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else 0

    pt, ct = _int("prompt_tokens"), _int("completion_tokens")
    tt = _int("total_tokens") or pt + ct
    fr = choices[0].get("finish_reason")
    return Completion(message["content"], fr if isinstance(fr, str) else None, pt, ct, tt)


def parse_answer(content: str, template: RubricTemplate) -> ParsedAnswer:
    """Parse the model's answer text against ``template``; raise AnswerParseError if it does not conform."""
    text = content.strip()
    m = _FENCE_RE.match(text)
    if m:
        text = m.group(1).strip()
    if not text.startswith("{") or not text.endswith("}"):
        raise AnswerParseError("answer is not a single JSON object")
    try:
        obj = _loads(text)
    except ValueError as exc:
        raise AnswerParseError(f"answer is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise AnswerParseError("answer is not a JSON object")
    candidates = [(template.label_key, template.rationale_key), ("label", "rationale")]
    for lk, rk in candidates:
        if set(obj) == {lk, rk}:
            break
    else:
        expected = " or ".join(f"{{{lk!r}, {rk!r}}}" for lk, rk in dict.fromkeys(candidates))
        raise AnswerParseError(f"answer keys {sorted(obj)} are not {expected}")
    rationale = obj[rk]
    if not isinstance(rationale, str) or not rationale.strip():
        raise AnswerParseError("rationale is missing or empty")
    if len(rationale) > MAX_RATIONALE_CHARS:
        raise AnswerParseError(f"rationale longer than {MAX_RATIONALE_CHARS} characters")
    raw_label = obj[lk]
    if template.kind == "share":
        if isinstance(raw_label, bool) or not isinstance(raw_label, (int, float)):
            raise AnswerParseError(f"score {raw_label!r} is not a number")
        value = float(raw_label)
        if not math.isfinite(value) or not 0.0 <= value <= 1.0:
            raise AnswerParseError(f"score {value!r} is outside [0, 1]")
        return ParsedAnswer(f"{value:g}", rationale.strip(), value)
    if not isinstance(raw_label, str):
        raise AnswerParseError(f"label {raw_label!r} is not a string")
    label = unicodedata.normalize("NFKC", raw_label).strip().upper()
    if label not in template.labels:
        raise AnswerParseError(f"label {raw_label!r} is not one of {', '.join(template.labels)}")
    return ParsedAnswer(label, rationale.strip())
