"""OpenAPI post-processing: the API's one error shape (config/errors.py), on every operation."""

from typing import Any

ERROR_COMPONENT = "Error"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every 4xx answer of the API has this shape.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable machine-readable code, e.g. invalid, not_found, lease_expired."},
                "message": {"type": "string", "description": "What went wrong, for a person."},
                "fields": {
                    "type": "object",
                    "description": "Input errors by field name (nested for nested inputs).",
                    "additionalProperties": True,
                },
                "details": {"type": "object", "description": "Extra facts, e.g. {\"field\": ...}.", "additionalProperties": True},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}
_METHODS = {"get", "put", "post", "patch", "delete"}


def error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: document ``4XX`` with the error shape everywhere."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    response = {
        "description": "Bad input (400), not signed in (401/403), not allowed (403), not found (404), conflict (409), "
        "wrong content type (415); the message says which.",
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}},
    }
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method in _METHODS:
                operation.setdefault("responses", {}).setdefault("4XX", response)
    return result
