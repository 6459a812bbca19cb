"""A unit's name in a chart fits the room left of the bars: cut with "…", the whole name kept
as the bar's title on the page. "Thanh tra Thành phố Hồ Chí Minh" ran off the left edge of the
dashboard's chart (its 31 letters passed the 28-letter cut: Jinja lets 5 more through), and in
the mailed PNG a name in capitals ran into the bars (letters counted, not measured)."""

from __future__ import annotations

import io

from PIL import Image

from mooc.auth.models import Role
from mooc.reports.charts import rates_png
from tests.conftest import login

LONG = "Thanh tra Thành phố Hồ Chí Minh"


def test_the_mailed_chart_keeps_labels_left_of_the_bars():
    labels = [LONG, LONG.upper(), "Thanh tra tỉnh Ninh Bình"]  # HR files often write names in capitals
    picture = Image.open(io.BytesIO(rates_png([(label, 0.0) for label in labels]))).convert("L")
    label_width, top, row = 220, 10, 26
    for n in range(len(labels)):
        strip = [picture.getpixel((x, y)) for x in range(label_width - 8, label_width)
                 for y in range(top + n * row, top + n * row + 18)]
        assert min(strip) > 200, f"row {n}: the label reaches the bars"


def test_the_dashboard_chart_cuts_a_long_unit_name_and_keeps_it_whole_as_a_title(app, make_unit, make_user):
    make_unit(LONG, code="HCM", kind="province")
    make_unit("Thanh tra tỉnh Ninh Bình", code="NB", kind="province")
    client = app.test_client()
    login(client, make_user(role=Role.REPORTER, email="bo@example.vn").email)
    page = client.get("/reports/").get_data(as_text=True)
    chart = page.split('<figure class="chart">', 1)[1].split("</figure>", 1)[0]
    assert f"<title>{LONG}</title>" in chart
    shown = chart.split(f"<title>{LONG}</title>", 1)[1].split("</text>", 1)[0]
    assert shown.endswith("…") and LONG.startswith(shown[:-1]) and len(shown) < 28
    assert ">Thanh tra tỉnh Ninh Bình</text>" in chart  # a name that fits is whole
