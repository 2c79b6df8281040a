"""Drives tower-failed-dependency's BatchLayer with the Microsoft Graph Python
core SDK (msgraph-core 1.5.2), through the SDK's own batch API only:
``BatchRequestItem`` (with its ``depends_on``) and ``BatchRequestContent``
build each batch, ``BatchRequestBuilder.post`` sends it through a
``BaseGraphRequestAdapter`` (``GraphClientFactory``'s middleware, kiota's
``AnonymousAuthenticationProvider``) pointed at the local service, and
``BatchResponseContent`` reads every answer.

    target/interop/venv/bin/python examples/interop/graph-python/graph_batch.py http://127.0.0.1:PORT

Prints one JSON document on stdout: per scenario, the batch request body
the SDK put on the wire (``sent``) and the batch response body it got
(``raw``), both recorded by httpx event hooks on the client the adapter
uses, and per part id what ``BatchResponseContent`` gave back: the status,
the headers dict, ``content_type``, and the body as bytes (hex; ``null``
when the SDK gives ``None``). Failures of the SDK are recorded, not raised.
The assertions are all in examples/tests/graph_sdks.rs.
"""

import asyncio
import json
import sys
from importlib.metadata import version

import httpx
from kiota_abstractions.authentication import AnonymousAuthenticationProvider
from kiota_abstractions.headers_collection import HeadersCollection
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from kiota_abstractions.serialization import (
    ParseNodeFactoryRegistry,
    SerializationWriterFactoryRegistry,
)
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
from kiota_serialization_json.json_serialization_writer_factory import (
    JsonSerializationWriterFactory,
)
from msgraph_core import BaseGraphRequestAdapter, GraphClientFactory
from msgraph_core.requests.batch_request_builder import BatchRequestBuilder
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem

# The JSON serialization the full msgraph-sdk registers; msgraph-core alone
# registers none.
ParseNodeFactoryRegistry().CONTENT_TYPE_ASSOCIATED_FACTORIES["application/json"] = (
    JsonParseNodeFactory()
)
SerializationWriterFactoryRegistry().CONTENT_TYPE_ASSOCIATED_FACTORIES["application/json"] = (
    JsonSerializationWriterFactory()
)

BASE = sys.argv[1] if len(sys.argv) > 1 else None
if not BASE:
    print("usage: graph_batch.py http://127.0.0.1:PORT", file=sys.stderr)
    sys.exit(2)

# What went over the wire for the current batch, from httpx's event hooks.
wire: dict = {}


async def on_request(request: httpx.Request) -> None:
    if request.url.path.endswith("/$batch"):
        wire["sent"] = json.loads(request.content)
        wire["sent_content_type"] = request.headers.get("content-type")


async def on_response(response: httpx.Response) -> None:
    if response.request.url.path.endswith("/$batch"):
        body = await response.aread()
        wire["outer_status"] = response.status_code
        try:
            wire["raw"] = json.loads(body)
        except ValueError:
            wire["raw_text"] = body.decode("utf-8", "replace")


def adapter() -> BaseGraphRequestAdapter:
    client = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(
            timeout=20.0,
            # Loopback only: no proxy from the environment.
            trust_env=False,
            event_hooks={"request": [on_request], "response": [on_response]},
        )
    )
    graph = BaseGraphRequestAdapter(AnonymousAuthenticationProvider(), http_client=client)
    graph.base_url = BASE
    return graph


def item(id, method, path, headers=None, body=None, depends_on=None):
    """A part built the way the SDK documents it: a RequestInformation with an
    absolute URL (the SDK keeps it absolute), its headers and content."""
    info = RequestInformation()
    info.http_method = method
    info.url = f"{BASE}{path}"
    info.headers = HeadersCollection()
    for name, value in (headers or {}).items():
        info.headers.try_add(name, value)
    if body is not None:
        info.content = body
    return BatchRequestItem(info, id=id, depends_on=depends_on)


def error_text(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


async def run(build) -> dict:
    wire.clear()
    out: dict = {}
    try:
        content = build()
    except Exception as e:  # the SDK refused to build the batch
        out["build_error"] = error_text(e)
        return out
    try:
        answers = await BatchRequestBuilder(adapter()).post(content)
    except Exception as e:  # the SDK failed to send it or to read the answer
        out["post_error"] = error_text(e)
        answers = None
    out.update(wire)
    if answers is None:
        return out
    out["status_codes"] = answers.get_response_status_codes()
    out["parts"] = {}
    for id in content.requests:
        response = answers.get_response_by_id(id)
        if response is None:
            out["parts"][id] = None
            continue
        stream = answers.get_response_stream_by_id(id)
        out["parts"][id] = {
            "status": response.status,
            "headers": {k: str(v) for k, v in (response.headers or {}).items()},
            "content_type": response.content_type,
            "body_type": type(response.body).__name__,
            "body_hex": None if stream is None else stream.getvalue().hex(),
        }
    return out


JSON = {"Content-Type": "application/json"}


def chain() -> BatchRequestContent:
    # Issue 19: a create that fails (409: the email is taken), an update that
    # depends on it and a read that depends on the update, each with the
    # SDK's own `depends_on`, which it writes as `depends_on`.
    content = BatchRequestContent()
    content.add_request(
        None,
        item("create", Method.POST, "/users", JSON, json.dumps({"email": "taken@example.com"}).encode()),
    )
    content.add_request(
        None,
        item(
            "update",
            Method.PATCH,
            "/users/taken@example.com",
            JSON,
            json.dumps({"display_name": "Ada"}).encode(),
            depends_on=["create"],
        ),
    )
    content.add_request(
        None, item("read", Method.GET, "/users/taken@example.com", depends_on=["update"])
    )
    return content


def answers() -> BatchRequestContent:
    # Independent parts: JSON, octet-stream answers (UTF-8 and not), a
    # latin-1 header byte, a relative URL and a lower-case method.
    content = BatchRequestContent()
    content.add_request(None, item("user1", Method.GET, "/users/1"))
    content.add_request(None, item("utf8", Method.GET, "/binary/utf8"))
    content.add_request(None, item("raw", Method.GET, "/binary/raw"))
    content.add_request(None, item("latin1", Method.GET, "/latin1"))
    relative = item("relative", Method.GET, "/users/2")
    relative.url = "users/2"  # Graph's own docs write part URLs relative.
    content.add_request(None, relative)
    lower = item("lower", Method.GET, "/health")
    lower.method = "get"
    content.add_request(None, lower)
    return content


# A binary request body. The SDK's BatchRequestItem.serialize runs
# json.loads on every body: a body that is not JSON text cannot be sent at
# all, and one that is JSON but not an object is sent as standard base64.
# These bytes are a JSON string (U+FFFF) whose base64, "Iu+/vyI=", has '+',
# '/' and padding.
BINARY_JSON_TEXT = b'"\xef\xbf\xbf"'
NOT_JSON = bytes([0, 159, 146, 150, 255])


def binary_body() -> BatchRequestContent:
    content = BatchRequestContent()
    content.add_request(
        None,
        item(
            "binary",
            Method.POST,
            "/echo/binary",
            {"Content-Type": "application/octet-stream"},
            BINARY_JSON_TEXT,
        ),
    )
    return content


def not_json_body() -> BatchRequestContent:
    content = BatchRequestContent()
    content.add_request(
        None,
        item(
            "raw",
            Method.POST,
            "/echo/raw",
            {"Content-Type": "application/octet-stream"},
            NOT_JSON,
        ),
    )
    return content


def text_answer() -> BatchRequestContent:
    # A text/plain answer is a JSON string in the batch; the SDK's
    # BatchResponseItem reads every string body with base64.b64decode.
    content = BatchRequestContent()
    content.add_request(None, item("text", Method.GET, "/text"))
    return content


async def main() -> None:
    scenarios = {
        "chain": await run(chain),
        "answers": await run(answers),
        "binary_body": await run(binary_body),
        "not_json_body": await run(not_json_body),
        "text_answer": await run(text_answer),
    }
    print(
        json.dumps(
            {
                "sdk": "msgraph-core",
                "version": version("msgraph-core"),
                "python": sys.version.split()[0],
                "scenarios": scenarios,
            }
        )
    )


asyncio.run(main())
