"""GET /v1/openapi.json describes exactly what this aio-apid serves; /v1/docs shows it."""
import re

import pytest
import requests

from test_apid import apid, start  # noqa: F401  (fixtures)


@pytest.fixture
def doc(apid):  # noqa: F811
    r = apid.get("/v1/openapi.json")
    assert r.status_code == 200
    return r.json()


def test_document_shape(doc):
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["version"]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"]["name"] == "X-AIO-API-Key"
    assert schemes["Bearer"]["scheme"] == "bearer"
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    hooks = doc["paths"]["/v1/sandbox/hooks/{name}"]["delete"]
    assert hooks["parameters"] == [{"name": "name", "in": "path", "required": True,
                                    "schema": {"type": "string"}}]
    reg = doc["paths"]["/v1/sandbox/hooks"]["post"]
    assert "application/json" in reg["requestBody"]["content"]
    assert "422" in reg["responses"]
    for p in ("/v1/sandbox", "/v1/openapi.json", "/v1/docs", "/tickets"):
        assert p in doc["paths"], p


def test_every_documented_route_is_served(apid, doc):  # noqa: F811
    """A documented route never answers 404 or 405 (bodies aside, which may be refused)."""
    for path, ops in doc["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        for method in ops:
            if method not in ("get", "delete") or "ws" in path.split("/"):
                continue
            r = requests.request(method.upper(), apid.url + concrete, timeout=10)
            if "{" in path:
                assert r.status_code != 405, (method, path)
            else:
                assert r.status_code not in (404, 405), (method, path, r.status_code)


def test_undocumented_route_is_not_served(apid, doc):  # noqa: F811
    assert "/v1/nosuch" not in doc["paths"]
    assert apid.get("/v1/nosuch").status_code == 404


def test_docs_page(apid):  # noqa: F811
    r = apid.get("/v1/docs")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "openapi.json" in r.text and "<script" in r.text
    assert "http://" not in r.text and "https://" not in r.text  # nothing from elsewhere
