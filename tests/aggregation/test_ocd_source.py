"""The one reader of the bundled OCD 2022 tables (`empirics.ocd`) and the hierarchy built from them."""
import hashlib

import pytest

from empirics import ocd
from empirics.aggregation.data import load_ocd_hierarchy

# sha256 of the hierarchy CSV bundled before the hierarchy was built from the OCD 2022 source tables
HIERARCHY_CSV_SHA256 = "aaf2c72fb1d90b7f1f2c3a6af4e01aeac41f35ba4836a0a043edfa9889388d39"


def test_hierarchy_is_the_former_bundled_table_byte_for_byte():
    text = load_ocd_hierarchy().to_csv(index=False)
    assert hashlib.sha256(text.encode()).hexdigest() == HIERARCHY_CSV_SHA256


def test_hierarchy_takes_the_final_editions_small_categories():
    h = load_ocd_hierarchy().set_index(["level", "code"])
    assert h.loc[("small", "2-07-10"), "name_zh"] == "宗教教职人员"
    assert h.loc[("small", "2-07-11"), "name_zh"] == "社会工作专业人员"
    assert h.loc[("small", "2-07-11"), "parent"] == "2-07"


def test_reader_keeps_repeats_once_and_lists_them():
    src = ocd.read_ocd2022()
    assert sorted((r.level, r.code) for r in src.repeats) == [("2", "5-03-00-00"), ("4", "4-12-04-02"), ("4", "6-20-05-03")]
    keys = [(r["level"].strip(), r["code"].strip()) for r in src.rows]
    assert len(keys) == len(set(keys)) == 2051 - 3
    assert len(src.lines) == len(src.rows) and src.lines[0] == 2


def test_reader_errors_name_the_file_and_line(tmp_path):
    csco = tmp_path / "c.csv"
    draft = tmp_path / "d.csv"
    draft.write_text("level,code,name\n", encoding="utf-8")
    csco.write_text("level,code,name,definition,tasks\n4,2-01-01-01,A,d,1.x\n\n4,2-01-01-01,A,e,1.x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"c\.csv: line 4: code 2-01-01-01 repeated at level 4 with different content"):
        ocd.read_ocd2022(csco, draft)
    csco.write_text("level,code,name,definition,tasks\n4,2-1-01-01,A,d,1.x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"c\.csv: line 2: code '2-1-01-01' is not of the form d-dd-dd-dd"):
        ocd.read_ocd2022(csco, draft)
