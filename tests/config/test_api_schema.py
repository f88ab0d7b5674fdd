"""The OpenAPI schema is valid, warning-free, describes what the API really answers, and the
frontend's generated types (frontend/src/api/schema.d.ts) are generated from it as it is now."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_TYPESCRIPT = ROOT / "frontend" / "node_modules" / ".bin" / "openapi-typescript"


@pytest.fixture(scope="module")
def schema_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("openapi") / "openapi.yaml"
    call_command("spectacular", file=str(path), validate=True, fail_on_warn=True)
    return path


def test_list_endpoints_are_documented_as_pages(schema_file):
    paths = yaml.safe_load(schema_file.read_text())["paths"]
    for path in ("/api/projects/", "/api/projects/{slug}/prompts/", "/api/assignments/", "/api/users/", "/api/exports/"):
        operation = paths[path]["get"]
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.startswith("#/components/schemas/Paginated"), path
        params = {p["name"]: p["schema"] for p in operation["parameters"]}
        assert params["limit"] == {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}, path


def test_strict_inputs_are_documented_as_closed(schema_file):
    components = yaml.safe_load(schema_file.read_text())["components"]["schemas"]
    login = components["LoginInputRequest"]
    assert login["additionalProperties"] is False
    assert "description" not in login, "StrictInput's own docstring is about its implementation, not the API"


def test_frontend_types_match_the_schema(schema_file, tmp_path):
    node = shutil.which("node")
    assert node and OPENAPI_TYPESCRIPT.exists(), "frontend/node_modules is missing: `make test` installs it (npm ci)"
    generated = tmp_path / "schema.d.ts"
    subprocess.run([str(OPENAPI_TYPESCRIPT), str(schema_file), "-o", str(generated)], check=True, capture_output=True, timeout=120)
    committed = ROOT / "frontend" / "src" / "api" / "schema.d.ts"
    assert generated.read_text() == committed.read_text(), (
        "frontend/src/api/schema.d.ts is out of date with the API: run `npm --prefix frontend run gen:api` and commit it"
    )


def test_every_operation_documents_the_error_shape(schema_file):
    spec = yaml.safe_load(schema_file.read_text())
    operations = [op for item in spec["paths"].values() for method, op in item.items() if method in {"get", "post", "put", "patch", "delete"}]
    assert len(operations) > 40
    for operation in operations:
        ref = operation["responses"]["4XX"]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/Error", operation["operationId"]


@pytest.mark.django_db
def test_real_errors_have_the_documented_shape(client):
    import jsonschema
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    from config.openapi import ERROR_SCHEMA

    admin = User.objects.create_superuser("root", password="pw-test-123456")
    api = APIClient()
    api.force_authenticate(admin)
    answers = [
        client.get("/api/me/"),  # not signed in
        api.get("/api/projects/nope/"),  # not found
        api.get("/api/projects/?limit=x"),  # bad parameter
        api.post("/api/projects/", {"name": "", "slug": "bad slug"}, format="json"),  # bad fields
        api.post("/api/projects/", "name=x", content_type="text/plain"),  # wrong content type
    ]
    assert [a.status_code for a in answers] == [403, 404, 400, 400, 415]
    for answer in answers:
        jsonschema.validate(answer.json(), ERROR_SCHEMA)


@pytest.mark.django_db
def test_unknown_api_paths_answer_json_404s(client):
    import jsonschema

    from config.openapi import ERROR_SCHEMA

    for method, path in (("get", "/api/nope/"), ("post", "/api/projects/x/tasks/nxt/"), ("delete", "/api/prompts/null,null/")):
        answer = getattr(client, method)(path)
        assert answer.status_code == 404 and answer["Content-Type"] == "application/json", path
        jsonschema.validate(answer.json(), ERROR_SCHEMA)
    hint = client.get("/api/me").json()["error"]["message"]
    assert "end with a slash (/api/me/)" in hint
    assert "slash" not in client.get("/api/nope").json()["error"]["message"], "no hint towards another missing path"
    assert client.get("/some/frontend/route").status_code in (200, 503), "the SPA still answers outside /api/"
