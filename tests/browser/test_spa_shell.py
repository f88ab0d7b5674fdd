"""Django hands the SPA shell to every frontend path, and only to those."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_frontend_paths_get_the_shell(client, spa_build):
    for path in ["/", "/label/helpful/ranking", "/manage/rounds/3", "/ml/exports"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert b'<div id="root">' in response.content
        assert b"/static/assets/" in response.content
        assert "csrftoken" in response.cookies


def test_api_admin_and_static_paths_are_not_the_shell(client):
    assert client.get("/api/no-such-endpoint/").status_code == 404
    assert b'<div id="root">' not in client.get("/static/nope.js").content
    assert client.get("/admin/").status_code in (302, 200)
    assert client.post("/label/x").status_code == 405


def test_missing_build_gives_a_clear_page(client, tmp_path):
    with override_settings(BASE_DIR=tmp_path):
        response = client.get("/label/helpful")
    assert response.status_code == 503
    assert b"make frontend" in response.content
