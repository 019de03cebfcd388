from __future__ import annotations

import json

import pytest

from empirics.scoring.errors import AnswerParseError
from empirics.scoring.parsing import parse_answer, parse_completion
from empirics.scoring.templates import load_template

ZH = load_template("exposure.zh.v1")
EN = load_template("exposure.en.v1")
EXPERT_ZH = load_template("expert.zh.v1")
COMPOSITE = load_template("composite.en.v1")


@pytest.mark.parametrize(
    "tpl,content,label",
    [
        (EN, '{"label": "E1", "rationale": "Drafting reports is text work."}', "E1"),
        (EN, '  {"label": "e2", "rationale": "Needs tools."}\n', "E2"),
        (EN, '```json\n{"label": "E3", "rationale": "Needs images."}\n```', "E3"),
        (ZH, '{"等级": "E0", "理由": "该职业以体力劳动为主。"}', "E0"),
        (ZH, '{"等级": "Ｅ１", "理由": "主要是文字工作。"}', "E1"),
        (ZH, '{"label": "E2", "rationale": "需要结合专业软件。"}', "E2"),
        (COMPOSITE, '{"category": "nrca", "rationale": "Analysis."}', "NRCA"),
    ],
)
def test_valid_answers(tpl, content, label):
    a = parse_answer(content, tpl)
    assert a.label == label and a.rationale and a.value is None


def test_zh_rationale_is_kept():
    a = parse_answer('{"等级": "E1", "理由": "主要是文字工作。"}', ZH)
    assert a.rationale == "主要是文字工作。"


@pytest.mark.parametrize(
    "content,msg",
    [
        ('{"label": "E5", "rationale": "x"}', "not one of E0, E1, E2, E3"),
        ('{"label": "E1级", "rationale": "x"}', "not one of"),
        ('{"label": 1, "rationale": "x"}', "not a string"),
        ('{"label": "", "rationale": "x"}', "not one of"),
        ("I would say E1.", "not a single JSON object"),
        ("E1", "not a single JSON object"),
        ('{"label": "E1"}', "keys"),
        ('{"label": "E1", "rationale": "x", "confidence": 0.9}', "keys"),
        ('{"等级": "E1", "rationale": "x"}', "keys"),
        ('{"label": "E1", "rationale": "   "}', "rationale is missing or empty"),
        ('{"label": "E1", "label": "E0", "rationale": "x"}', "duplicate key"),
        ('{"label": "E1", "rationale": "x"} {"label": "E0", "rationale": "y"}', "not valid JSON"),
        ('{"label": "E1", "rationale": "x"', "not a single JSON object"),
        ("", "not a single JSON object"),
    ],
)
def test_invalid_answers_raise_and_never_default(content, msg):
    with pytest.raises(AnswerParseError, match=msg):
        parse_answer(content, EN)


def test_expert_share_answers():
    a = parse_answer('{"分数": 0.4, "理由": "文字工作可部分替代。"}', EXPERT_ZH)
    assert a.value == pytest.approx(0.4) and a.label == "0.4"
    assert parse_answer('{"label": 1, "rationale": "x"}', EXPERT_ZH).value == 1.0
    with pytest.raises(AnswerParseError, match="keys"):
        parse_answer('{"score": 1, "rationale": "x"}', EXPERT_ZH)
    for bad in ('{"分数": 1.2, "理由": "x"}', '{"分数": -0.1, "理由": "x"}', '{"分数": NaN, "理由": "x"}',
                '{"分数": true, "理由": "x"}', '{"分数": "0.4", "理由": "x"}'):
        with pytest.raises(AnswerParseError):
            parse_answer(bad, EXPERT_ZH)


def _body(content, usage=None):
    d = {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}
    if usage is not None:
        d["usage"] = usage
    return json.dumps(d).encode()


def test_parse_completion_reads_content_and_usage():
    c = parse_completion(_body("hi", {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}))
    assert (c.content, c.prompt_tokens, c.completion_tokens, c.total_tokens, c.finish_reason) == ("hi", 10, 3, 13, "stop")
    c = parse_completion(_body("hi", {"prompt_tokens": 10, "completion_tokens": 3}))
    assert c.total_tokens == 13
    assert parse_completion(_body("hi")).total_tokens == 0


@pytest.mark.parametrize(
    "body,msg",
    [
        (b"<html>Bad gateway</html>", "not JSON"),
        (_body("x")[:30], "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"choices": []}', "no choices"),
        (b'{"choices": [{"message": {"content": null}}]}', "no message content"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_parse_completion_rejects_garbage(body, msg):
    with pytest.raises(AnswerParseError, match=msg):
        parse_completion(body)
