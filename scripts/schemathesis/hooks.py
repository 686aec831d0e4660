"""Schemathesis hooks for scripts/schemathesis.sh.

A webhook endpoint that schemathesis registers would make the mock deliver events to whatever
host it generated: a URL valid by the document's pattern is pointed at a closed loopback port
instead, padded to the generated length (so a case about `maxLength` stays one), and the run
sends nothing off this machine.
"""

import re

import schemathesis

LOOPBACK = "http://127.0.0.1:9/"


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.method.upper() != "POST" or case.path != "/v1/webhook_endpoints":
        return
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("url"), str):
        return
    schema = case.operation.schema.raw_schema["components"]["schemas"]["WebhookEndpointCreate"]
    url = body["url"]
    # JSON Schema's `$` is the end of the string; Python's also matches before a final newline.
    if re.search(schema["properties"]["url"]["pattern"].replace("$", r"\Z"), url):
        # A new object: generated bodies may share parts with other cases.
        case.body = {**body, "url": LOOPBACK + "x" * max(0, len(url) - len(LOOPBACK))}
