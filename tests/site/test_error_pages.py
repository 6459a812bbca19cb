"""The 400 page of an expired form leads back to the form with what was typed; the 401 page
offers to sign in and come back (issue 19, "Phone and first look")."""

from __future__ import annotations

import html

from tests.conftest import login


def test_expired_form_goes_back_and_keeps_the_typed_text(app, make_user) -> None:
    client = app.test_client()
    login(client, make_user().email)
    response = client.post("/account/password", headers={"Referer": "http://localhost/account/password"},
                           data={"current_password": "mat-khau-cu-bi-mat",
                                 "new_password": "mat-khau-moi-bi-mat",
                                 "note": "Ghi chú dài mà tôi đã gõ", "csrf_token": "cu-het-han"})
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert "Quay lại biểu mẫu" in page and 'href="/account/password" data-back' in page
    assert "Ghi chú dài mà tôi đã gõ" in page  # offered to copy back
    for secret in ("mat-khau-cu-bi-mat", "mat-khau-moi-bi-mat", "cu-het-han"):
        assert secret not in page


def test_expired_form_from_another_site_offers_no_way_back_there(app, make_user) -> None:
    client = app.test_client()
    login(client, make_user().email)
    response = client.post("/account/password", headers={"Referer": "https://evil.example/phish"}, data={})
    assert response.status_code == 400
    assert "data-back" not in response.get_data(as_text=True)


def test_401_offers_sign_in_and_returns_to_the_page(app) -> None:
    client = app.test_client()
    response = client.post("/account/password", headers={"Referer": "http://localhost/courses/luat?tab=2"})
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "Đăng nhập và quay lại" in page
    assert 'href="/login?next=/courses/luat?tab%3D2"' in page or "next=%2Fcourses%2Fluat" in page, page
    outside = client.post("/account/password", headers={"Referer": "https://evil.example/x"})
    assert 'href="/login"' in outside.get_data(as_text=True)
