"""What the OpenAPI document says beyond what ninja derives from the views: the error body
every 4xx carries and the Idempotency-Key header of every POST (both are added outside the
views, by errors.py and idempotency.py)."""

from ninja import Schema

from banditore.api.idempotency import HEADER, KEY_MAX


class ErrorDetail(Schema):
    code: str
    message: str
    message_en: str


class ErrorOut(Schema):
    error: ErrorDetail


ERROR_REF = {"$ref": "#/components/schemas/Error"}
IDEMPOTENCY = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": "Any unique string; a retry with the same one and the same body gets the "
    "first response again and does not act twice. Kept for 24 hours.",
    "schema": {"type": "string", "minLength": 1, "maxLength": KEY_MAX},
}


def complete(schema: dict) -> dict:
    error = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(error.pop("$defs", {}))
    components["Error"] = error
    for operations in schema["paths"].values():
        for method, operation in operations.items():
            if method == "post":
                operation.setdefault("parameters", []).append(IDEMPOTENCY)
            operation["responses"]["4XX"] = {
                "description": "Refused: the code says why, in Italian and English.",
                "content": {"application/json": {"schema": ERROR_REF}},
            }
    return schema
