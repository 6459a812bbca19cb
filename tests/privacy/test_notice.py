"""The privacy notice: public, linked from the sign-in page and every page's footer, its text a
Markdown file the operator may replace, rendered and sanitised like lessons."""

from __future__ import annotations

import pytest

from mooc.config import ConfigError, build_settings


def test_the_shipped_notice_is_public_and_linked(app):
    client = app.test_client()
    page = client.get("/privacy")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for words in ("Dữ liệu được lưu", "Mục đích", "Thời gian lưu", "Ai được xem", "91/2025/QH15",
                  "356/2025/NĐ-CP"):
        assert words in text
    login_page = client.get("/login").get_data(as_text=True)
    assert login_page.count('href="/privacy"') == 2  # the sign-in card and the footer


def test_an_operators_notice_is_rendered_sanitised(make_app, tmp_path):
    notice = tmp_path / "thong-bao.md"
    notice.write_text("## Thông báo của Thanh tra tỉnh\n\nLiên hệ <script>alert(1)</script> "
                      "[bấm](javascript:alert(2)) <img src=x onerror=alert(3)>\n", encoding="utf-8")
    app = make_app(PRIVACY_NOTICE_FILE=str(notice))
    text = app.test_client().get("/privacy").get_data(as_text=True)
    assert "Thông báo của Thanh tra tỉnh</h2>" in text
    assert "<script>alert" not in text and "javascript:" not in text and "onerror" not in text
    notice.write_text("## Đã sửa\n", encoding="utf-8")  # edited: the next request shows it
    assert "Đã sửa</h2>" in app.test_client().get("/privacy").get_data(as_text=True)


def test_a_missing_notice_file_is_refused_at_start(tmp_path):
    with pytest.raises(ConfigError, match="MOOC_PRIVACY_NOTICE_FILE"):
        build_settings({"ENV": "testing", "SECRET_KEY": "x" * 40,
                        "PRIVACY_NOTICE_FILE": str(tmp_path / "none.md")})
