"""Past completions are planned by the same layer as the roster import (roster/planning.py):
every refused row says where and why in Vietnamese (the site's language; English on request),
a missing column names the headers it accepts, and dates read as in the roster files."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from mooc import clock
from mooc.extensions import db
from mooc.roster.planning import PlanHasErrors
from mooc.training.history import apply_history, plan_history
from mooc.training.models import Enrolment
from tests.training.conftest import org, person  # noqa: F401  (fixtures)


def _errors(app, path):
    result = app.test_cli_runner().invoke(args=["training", "import-history", str(path), "--format", "json"])
    assert result.exit_code == 1, result.output
    return [(e["row"], e["column"], e["message"]) for e in json.loads(result.output)["errors"]]


def test_every_refused_row_says_why_in_vietnamese(org, person, tmp_path):  # noqa: F811
    app, o = org
    staff, _ = person(o.section_a)
    code = staff.staff_code
    today = clock.today()
    source = tmp_path / "lich-su.csv"
    source.write_text(
        "Mã cán bộ;Khóa học;Ngày hoàn thành\n"
        f"999999;LTT;15/01/2025\n"                      # 2: nobody has this code
        f"{code};KHONG;15/01/2025\n"                    # 3: no such course
        f"{code};LTT;32/01/2025\n"                      # 4: not a date
        f"{code};LTT;01/01/0001\n"                      # 5: no completion is that old
        f"{code};LTT;{today.replace(year=today.year + 1):%d/%m/%Y}\n"  # 6: in the future
        f"{code};LTT;\n"                                # 7: no date
        f";;15/01/2025\n"                               # 8: no code, no course
        f"{code};LTT;15/01/2025\n"                      # 9: fine
        f"{code};ltt;2025-01-15\n",                     # 10: the same completion again
        encoding="utf-8")
    future = today.replace(year=today.year + 1).strftime("%d/%m/%Y")
    assert _errors(app, source) == [
        (2, "Mã cán bộ", "Không có mã cán bộ “999999”."),
        (3, "Khóa học", "Không có khóa học “KHONG”. Hãy ghi mã khóa học."),
        (4, "Ngày hoàn thành", "“32/01/2025” không phải là ngày. Hãy ghi ngày theo dạng dd/mm/yyyy."),
        (5, "Ngày hoàn thành", "“01/01/0001” không phải là một ngày hợp lý (năm từ 1900 đến 2200)."),
        (6, "Ngày hoàn thành", f"Ngày hoàn thành {future} là một ngày trong tương lai."),
        (7, "Ngày hoàn thành", "Bắt buộc phải có giá trị này."),
        (8, "Mã cán bộ", "Bắt buộc phải có giá trị này."),
        (8, "Khóa học", "Bắt buộc phải có giá trị này."),
        (10, "Mã cán bộ", "Lần hoàn thành này cũng có ở dòng 9."),
    ]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 0
        plan = plan_history(source, clock.today())
        with force_locale("en"):
            assert plan.issues[0].message == "Unknown staff code “999999”."
        with pytest.raises(PlanHasErrors):
            apply_history(plan)


def test_a_missing_column_names_the_headers_it_accepts(org, tmp_path):  # noqa: F811
    app, _o = org
    source = tmp_path / "lich-su.csv"
    source.write_text("Mã cán bộ;Khóa học\n001;LTT\n", encoding="utf-8")
    [(row, column, message)] = _errors(app, source)
    assert (row, column) == (1, "Ngày hoàn thành")
    assert "Ngày hoàn thành" in message and "Completed on" in message and "“Mã cán bộ”, “Khóa học”" in message
