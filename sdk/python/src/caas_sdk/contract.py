"""The SDK against the OpenAPI document: ``problems(spec)`` lists every way they differ.

Checked, for every operation of ``endpoints.ALL`` and the methods marked with it:
- the path and method exist with the same operationId, path parameters and query parameters;
- ``Idempotency-Key`` is declared exactly where the SDK sends one;
- the body fields the SDK sends exist in the request schema, and the schema's required ones are sent;
- the success status is documented;
- the response model has exactly the schema's properties (nested models too), each with the
  schema's JSON type, optional in the model exactly when the schema allows null or omits it;
- each method's parameters are the operation's path and query parameters and body fields;
and every operation of the document is called by the SDK.

``python -m caas_sdk.contract http://localhost:5000`` checks a running deployment.
"""
from __future__ import annotations

import dataclasses
import inspect
import sys
import types
import typing
from typing import Any

from caas_sdk import endpoints as ep
from caas_sdk.endpoints import Endpoint
from caas_sdk.models import unwrap_optional

SDK_ONLY_PARAMS = {"self", "idempotency_key"}
JSON_TYPES = {str: "string", int: "integer", bool: "boolean", float: "number", list: "array", dict: "object"}


def problems(spec: dict, endpoints: tuple[Endpoint, ...] = ep.ALL, methods: list | None = None) -> list[str]:
    found: list[str] = []
    for endpoint in endpoints:
        found += _check_endpoint(spec, endpoint)
    covered = {(e.method.lower(), e.path) for e in endpoints}
    for path, item in spec.get("paths", {}).items():
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"} and (method, path) not in covered:
                found.append(f"{method.upper()} {path}: in the OpenAPI document but not in the SDK")
    for method in (sdk_methods() if methods is None else methods):
        found += _check_method(method)
    return found


def sdk_methods() -> list:
    from caas_sdk import client

    out = []
    for owner in (client.CaaS, client.Applications, client.Offers, client.Loans, client.Providers,
                  client.UsageResource):
        for name, fn in inspect.getmembers(owner, inspect.isfunction):
            if not name.startswith("_") and name not in {"call", "close"}:
                out.append(fn)
    return out


def _check_method(fn) -> list[str]:
    endpoint = getattr(fn, "__caas_endpoint__", None)
    name = fn.__qualname__
    if endpoint is None:
        return [f"{name}: calls no declared endpoint (mark it with @uses)"]
    params = set(inspect.signature(fn).parameters) - SDK_ONLY_PARAMS
    allowed = set(endpoint.path_params) | set(endpoint.query) | set(endpoint.body)
    out = [f"{name}: parameter {p!r} is not a parameter of {endpoint.operation_id}" for p in sorted(params - allowed)]
    out += [f"{name}: lacks the path parameter {p!r}" for p in endpoint.path_params if p not in params]
    return out


def _check_endpoint(spec: dict, endpoint: Endpoint) -> list[str]:
    where = f"{endpoint.method} {endpoint.path}"
    operation = spec.get("paths", {}).get(endpoint.path, {}).get(endpoint.method.lower())
    if operation is None:
        return [f"{where}: not in the OpenAPI document"]
    out = []
    if operation.get("operationId") != endpoint.operation_id:
        out.append(f"{where}: operationId is {operation.get('operationId')!r}, the SDK says {endpoint.operation_id!r}")
    params = [_resolve(spec, p) for p in operation.get("parameters", [])]
    by_place = {place: {p["name"] for p in params if p.get("in") == place} for place in ("path", "query", "header")}
    if by_place["path"] != set(endpoint.path_params):
        out.append(f"{where}: path parameters {sorted(by_place['path'])} in the document, "
                   f"{sorted(endpoint.path_params)} in the SDK")
    if by_place["query"] != set(endpoint.query):
        out.append(f"{where}: query parameters {sorted(by_place['query'])} in the document, "
                   f"{sorted(endpoint.query)} in the SDK")
    declared = "Idempotency-Key" in by_place["header"]
    if declared != endpoint.idempotency_key:
        out.append(f"{where}: Idempotency-Key is {'' if declared else 'not '}declared in the document but "
                   f"{'' if endpoint.idempotency_key else 'not '}sent by the SDK")
    body_schema = _json_schema(spec, operation.get("requestBody"))
    if endpoint.body or body_schema:
        props = set((body_schema or {}).get("properties", {}))
        out += [f"{where}: the SDK sends body field {f!r}, not in the request schema"
                for f in endpoint.body if f not in props]
        out += [f"{where}: the request schema requires {f!r}, which the SDK never sends"
                for f in (body_schema or {}).get("required", []) if f not in endpoint.body]
    response = operation.get("responses", {}).get(str(endpoint.status))
    if response is None:
        out.append(f"{where}: no {endpoint.status} response in the document")
    else:
        out += _check_model(spec, endpoint.response, _json_schema(spec, response) or {}, f"{where} -> ")
    return out


def _check_model(spec: dict, model: type, schema: dict, where: str) -> list[str]:
    schema = _resolve(spec, schema)
    label = f"{where}{model.__name__}"
    properties = schema.get("properties")
    required = set(schema.get("required", []))
    if properties is None:  # an object described by its required keys only
        properties = {name: {} for name in required}
    hints = typing.get_type_hints(model)
    fields = {f.name for f in dataclasses.fields(model)}
    out = [f"{label}: the response has {p!r}, the model does not" for p in sorted(set(properties) - fields)]
    out += [f"{label}: the model has {f!r}, the response schema does not" for f in sorted(fields - set(properties))]
    for name in sorted(fields & set(properties)):
        out += _check_field(spec, f"{label}.{name}", hints[name], _resolve(spec, properties[name]),
                            name in required)
    return out


def _check_field(spec: dict, where: str, hint: Any, prop: dict, required: bool) -> list[str]:
    out = []
    declared = prop.get("type")
    kinds = set(declared if isinstance(declared, list) else [declared] if declared else [])
    nullable = "null" in kinds or not required
    if nullable != _is_optional(hint):
        out.append(f"{where}: {'may be null or absent' if nullable else 'is always present'} in the document, "
                   f"{'optional' if _is_optional(hint) else 'required'} in the model")
    base = unwrap_optional(hint)
    origin = typing.get_origin(base) or base
    kinds.discard("null")
    if "const" in prop and not kinds:
        kinds = {JSON_TYPES.get(type(prop["const"]), "string")}
    if dataclasses.is_dataclass(base):
        return out + _check_model(spec, base, prop, f"{where}: ")
    expected = JSON_TYPES.get(origin)
    if kinds and expected not in kinds:
        out.append(f"{where}: {'/'.join(sorted(kinds))} in the document, {expected or base} in the model")
    if origin is list:
        args = typing.get_args(base)
        if args and dataclasses.is_dataclass(args[0]):
            out += _check_model(spec, args[0], _resolve(spec, prop.get("items", {})), f"{where}[]: ")
    return out


def _is_optional(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)


def _json_schema(spec: dict, holder: dict | None) -> dict | None:
    if not holder:
        return None
    holder = _resolve(spec, holder)
    schema = holder.get("content", {}).get("application/json", {}).get("schema")
    return _resolve(spec, schema) if schema else None


def _resolve(spec: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def main(argv: list[str] | None = None) -> int:
    import httpx

    base = (argv or sys.argv[1:] or ["http://localhost:5000"])[0].rstrip("/")
    found = problems(httpx.get(f"{base}/api/v1/openapi.json", timeout=30).json())
    for line in found:
        print(line)
    print("the SDK matches the OpenAPI document" if not found else f"{len(found)} difference(s)")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
