from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from empirics.scoring.errors import TemplateError
from empirics.scoring.occupations import Occupation, Task, Unit
from empirics.scoring.templates import bundled_templates, load_template

OCC = Occupation("9-99-99-99", "测试员", "从事测试的人员。", (Task(1, "编写测试"), Task(2, "运行测试")))


def test_bundled_templates_cover_both_languages_and_rubrics():
    assert bundled_templates() == ["composite.en.v1", "composite.zh.v1", "expert.en.v1", "expert.zh.v1",
                                   "exposure.en.v1", "exposure.zh.v1"]
    for ident in bundled_templates():
        t = load_template(ident)
        assert t.ident == ident
        with open(t.path, "rb") as fh:
            assert t.sha256 == hashlib.sha256(fh.read()).hexdigest()


def test_render_occupation_and_task():
    t = load_template("exposure.zh.v1")
    sys_msg, user = t.render(Unit(OCC.code, OCC))
    assert sys_msg["role"] == "system" and "E3" in sys_msg["content"]
    assert user["content"] == "职业：测试员\n定义：从事测试的人员。\n主要工作任务：\n1. 编写测试\n2. 运行测试"
    _, user = t.render(Unit(OCC.code + "#2", OCC, OCC.tasks[1]))
    assert user["content"].endswith("待评估的任务：运行测试")


def test_edited_template_has_a_new_hash(tmp_path):
    src = load_template("exposure.en.v1")
    p = tmp_path / "mine.yaml"
    shutil.copy(src.path, p)
    assert load_template(str(p)).sha256 == src.sha256
    p.write_text(p.read_text(encoding="utf-8").replace("50%", "40%"), encoding="utf-8")
    assert load_template(str(p)).sha256 != src.sha256
    assert load_template("mine.yaml", base_dir=tmp_path).path == str(p)


@pytest.mark.parametrize(
    "edit,msg",
    [
        (lambda s: s.replace("kind: exposure", "kind: vibes"), "key 'kind' must be one of"),
        (lambda s: s.replace("labels: [E0, E1, E2, E3]", "labels: [E0, E1]"), "key 'labels' must be"),
        (lambda s: s.replace("answer_keys: {label: label, rationale: rationale}", "answer_keys: {label: x}"),
         "key 'answer_keys'"),
        (lambda s: s.replace("version: 1", "version: one"), "key 'version' must be an integer"),
        (lambda s: s.replace("name: exposure\n", ""), "key 'name' is required"),
        (lambda s: "broken: [unclosed\n" + s, "not valid UTF-8 YAML"),
    ],
)
def test_bad_templates_name_file_and_key(tmp_path, edit, msg):
    p = tmp_path / "bad.yaml"
    p.write_text(edit(Path(load_template("exposure.en.v1").path).read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(TemplateError, match="bad.yaml") as ei:
        load_template(str(p))
    assert msg in str(ei.value)


def test_unknown_template_reference():
    with pytest.raises(TemplateError, match="neither a bundled template"):
        load_template("exposure.fr.v1")


def test_unknown_placeholder_is_an_error(tmp_path):
    p = tmp_path / "ph.yaml"
    p.write_text(Path(load_template("exposure.en.v1").path).read_text(encoding="utf-8").replace("$title", "$job"),
                 encoding="utf-8")
    with pytest.raises(TemplateError, match="cannot render"):
        load_template(str(p)).render(Unit(OCC.code, OCC))
