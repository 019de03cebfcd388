from __future__ import annotations

import collections

import pytest

from empirics.scoring.errors import DataError
from empirics.scoring.occupations import iter_units, load_csv_table, load_ocd2022, split_numbered_tasks
from empirics.scoring.templates import load_template
from empirics.scoring.occupations import Unit


@pytest.fixture(scope="module")
def ocd():
    return load_ocd2022()


def test_counts_match_the_paper(ocd):
    # 1,634 fine rows - 2 duplicated - 1 small-category header = 1,631; the paper's
    # results exclude large groups 1, 7 and 8 (7 and 8 have no rows) and use 1,606.
    assert len(ocd) == 1631
    assert len(set(ocd.codes())) == 1631
    assert len(ocd.select(exclude_large_groups=[1, 7, 8])) == 1606


def test_defects_are_recorded(ocd):
    kinds = collections.Counter(d.kind for d in ocd.defects)
    assert kinds["duplicate_row"] == 3
    assert {d.code for d in ocd.defects if d.kind == "duplicate_row"} == {"4-12-04-02", "5-03-00-00", "6-20-05-03"}
    assert [d.code for d in ocd.defects if d.kind == "header_as_fine"] == ["6-20-03-00"]
    assert [d.code for d in ocd.defects if d.kind == "code_at_two_levels"] == ["2-03-01-00"]
    assert [d.code for d in ocd.defects if d.kind == "misnamed_small"] == ["4-04-03-00"]
    assert kinds["missing_tasks"] == 7


def test_duplicates_kept_once_and_header_dropped(ocd):
    codes = ocd.codes()
    assert codes.count("4-12-04-02") == 1 and codes.count("6-20-05-03") == 1
    assert "6-20-03-00" not in codes
    assert ocd["6-20-03-01"].small_name == "金属加工机械制造人员"
    with pytest.raises(DataError, match="6-20-03-00"):
        ocd["6-20-03-00"]


def test_code_at_two_levels_is_one_occupation(ocd):
    o = ocd["2-03-01-00"]
    assert o.title == "土壤肥料技术人员" and o.small_name == "土壤肥料技术人员"
    assert len(o.tasks) > 0 and o.definition


def test_misnamed_small_category_fixed(ocd):
    assert ocd["4-04-03-01"].title == "广播电视天线工"
    assert ocd["4-04-03-01"].small_name == "广播电视传输服务人员"


def test_markers_stripped_into_flags(ocd):
    o = ocd["2-02-02-07"]
    assert o.title == "地理信息系统工程技术人员" and o.digital and o.green
    assert not any(x.title.endswith(("S", "L")) for x in ocd)
    assert sum(x.digital for x in ocd) == 95 and sum(x.green for x in ocd) == 134


def test_every_occupation_has_its_hierarchy(ocd):
    for o in ocd:
        assert o.small_name and o.medium_name and o.large_name, o.code
        assert o.code.startswith(o.small_code) and o.small_code.startswith(o.medium_code)


def test_missing_tasks_are_marked_in_the_prompt(ocd):
    o = ocd["4-13-03-02"]
    assert o.tasks == () and "missing_tasks" in o.defects
    zh = load_template("exposure.zh.v1").render(Unit(o.code, o))[1]["content"]
    en = load_template("exposure.en.v1").render(Unit(o.code, o))[1]["content"]
    assert "（未提供）" in zh and "(not provided)" in en
    assert list(iter_units([o], "task")) == []


def test_tasks_split_from_numbered_list(ocd):
    o = ocd["2-02-02-07"]
    assert len(o.tasks) == 6 and [t.index for t in o.tasks] == [1, 2, 3, 4, 5, 6]
    assert sum(len(x.tasks) for x in ocd) == 10567


@pytest.mark.parametrize(
    "text,expected",
    [
        ("1.甲 2.乙 3.丙", ["甲", "乙", "丙"]),
        ("1.装载2.5吨货物 2.清点", ["装载2.5吨货物", "清点"]),
        ("1、甲；2、乙", ["甲；", "乙"]),
        ("没有编号的一段话", ["没有编号的一段话"]),
        ("  ", []),
        ("1.one 3.three", ["one 3.three"]),
    ],
)
def test_split_numbered_tasks(text, expected):
    assert split_numbered_tasks(text) == expected


def _write(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_conflicting_duplicate_is_an_error(tmp_path):
    csco = _write(tmp_path, "level,code,code_num,name,definition,tasks,csco_code_num,alias\n"
                            "4,2-01-01-01,1,A,d1,1.x,1,A\n4,2-01-01-01,1,A,d2,1.x,1,A\n")
    draft = _write(tmp_path, "level,code,name\n", "d.csv")
    with pytest.raises(DataError, match=r"t\.csv: line 3: code 2-01-01-01 repeated at level 4 with different"):
        load_ocd2022(csco, draft)


def test_csv_table_with_core_tasks(tmp_path):
    p = _write(tmp_path, "O*NET-SOC Code,Title,Task,Task Type\n"
                         "15-1252.00,Software Developers,Write code,Core\n"
                         "15-1252.00,Software Developers,Train users,Supplemental\n"
                         "43-9021.00,Data Entry Keyers,Key data,Core\n")
    t = load_csv_table(p, {"code": "O*NET-SOC Code", "title": "Title", "task": "Task", "task_type": "Task Type"})
    assert t.codes() == ["15-1252.00", "43-9021.00"]
    assert [(x.text, x.core, x.weight) for x in t["15-1252.00"].tasks] == [
        ("Write code", True, 2.0), ("Train users", False, 1.0)]
    units = list(iter_units(t, "task"))
    assert [u.unit_id for u in units] == ["15-1252.00#1", "15-1252.00#2", "43-9021.00#1"]
    assert [u.weight for u in units] == [2.0, 1.0, 2.0]


def test_csv_table_errors_name_file_and_column(tmp_path):
    p = _write(tmp_path, "code,title\nA,x\n")
    with pytest.raises(DataError, match=r"t\.csv: column 'Task' \(role 'task'\) not in header"):
        load_csv_table(p, {"code": "code", "title": "title", "task": "Task"})
    with pytest.raises(DataError, match="role 'title' is required"):
        load_csv_table(p, {"code": "code"})
    q = _write(tmp_path, "code,title\nA,x\nA,y\n", "two.csv")
    with pytest.raises(DataError, match=r"two\.csv: line 3: code 'A' has two titles"):
        load_csv_table(q, {"code": "code", "title": "title"})


GBK_CSV = "code,title,tasks\nA-1,软件工程师,1.编写代码 2.测试\nA-2,数据录入员,1.录入数据\n"


def test_non_utf8_csv_names_the_line_and_the_likely_encoding(tmp_path):
    roles = {"code": "code", "title": "title", "tasks": "tasks"}
    p = tmp_path / "gbk.csv"
    p.write_bytes(GBK_CSV.encode("gbk"))
    with pytest.raises(DataError, match=r"gbk\.csv: line 2, column 5: not valid utf-8 \(byte 0xc8\); the file looks "
                                        r"gbk-encoded: read it with encoding gbk \(--encoding gbk"):
        load_csv_table(p, roles)
    t = load_csv_table(p, roles, encoding="gbk")
    assert t.codes() == ["A-1", "A-2"] and t["A-1"].title == "软件工程师" and len(t["A-1"].tasks) == 2
    assert load_csv_table(p, roles, encoding="gb18030")["A-2"].title == "数据录入员"
    q = tmp_path / "latin.csv"
    q.write_bytes("code,title\n11-1011,Chief Executives\n27-2011,Acteur de théâtre\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.csv: line 3, column 21: not valid utf-8 \(byte 0xe9\); the file "
                                        r"looks latin-1-encoded"):
        load_csv_table(q, {"code": "code", "title": "title"})
    assert load_csv_table(q, {"code": "code", "title": "title"}, encoding="latin-1")["27-2011"].title == \
        "Acteur de théâtre"
    bom = tmp_path / "bom.csv"
    bom.write_bytes(GBK_CSV.encode("utf-8-sig"))
    assert load_csv_table(bom, roles).codes() == ["A-1", "A-2"]


@pytest.mark.parametrize("text,line", [
    ("code,title\nA,x\n,,\nB,y\n", 3),
    ("code,title\n\nA,x\n\n,,\n", 5),  # blank lines count
    ('code,title,tasks\nA,x,"1.one\n2.two"\n,,\n', 4),  # so do the lines of a quoted cell
    ("code,title\nA,x\nB,\n", 3),
])
def test_empty_row_is_reported_at_its_own_line(tmp_path, text, line):
    p = _write(tmp_path, text)
    role = "title" if text.endswith("B,\n") else "code"
    with pytest.raises(DataError, match=rf"t\.csv: line {line}: empty {role} \(column '{role}'\)$"):
        load_csv_table(p, {"code": "code", "title": "title"})
