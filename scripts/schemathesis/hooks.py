"""Schemathesis hooks for scripts/schemathesis.sh.

Webhook endpoints: a URL that schemathesis generates for a valid case is pointed at a closed loopback
port instead, padded to the generated length, so the mock delivers nothing off this machine. Negative
cases are sent as generated (the server must refuse them, and does before it stores anything).

Real data in the per-operation phases: random ids find nothing, and a campaign's lifecycle calls need
it in one state (submit a draft, approve a pending one, …). For those operations one valid case in
three (the first, the fourth, …) is sent against a resource made for it through the API with the
demo key (MOMENTS_ST_URL, MOMENTS_ST_SECRET): a campaign in the state the call needs, an issued or
held reward, its link's token, a webhook endpoint. Only values that the document allows anything
for are replaced (ids, tokens, a reward's item among its choices), so a valid case stays valid;
negative cases and the stateful phase, which follows the document's links, are left alone.
"""

import itertools
import os
import re
import uuid

import requests
import schemathesis
from schemathesis import GenerationMode

LOOPBACK = "http://127.0.0.1:9/"
EVERY = 3
ITEM = "itm_gc_10"  # a digital item sold in the US: redeemed without a shipping address
MARKET = "US"
MOMENT = "m1"

_uid = itertools.count(1)
_calls = {}


def _api(method, path, body=None):
    r = requests.request(
        method,
        os.environ["MOMENTS_ST_URL"] + path,
        json=body,
        headers={
            "Authorization": "Bearer " + os.environ["MOMENTS_ST_SECRET"],
            "Idempotency-Key": f"st-{uuid.uuid4()}",
        },
        timeout=10,
    )
    r.raise_for_status()
    return r.json()


def _campaign(status="draft"):
    body = {
        "name": "schemathesis",
        "brand_name": "schemathesis",
        "start_at": "2020-01-01T00:00:00Z",
        "end_at": "2099-01-01T00:00:00Z",
        "budget": {"amount": 500000, "currency": "USD"},
        "cost_per_action": {"amount": 1, "currency": "USD"},
        "marketplaces": [MARKET],
        "reward_groups": [{"id": "g1", "marketplace": MARKET, "items": [ITEM]}],
        "moments": [{"id": MOMENT, "frequency_cap": {"max_rewards": 1000}}],
        "announcement_message": "schemathesis",
        "redemption_message": "schemathesis",
        "fraud": {
            "max_actions_per_customer_per_hour": 1000000,
            "max_actions_per_device_per_hour": 1000000,
            "max_actions_per_ip_per_hour": 1000000,
            "max_customers_per_device": 1,
        },
    }
    cid = _api("POST", "/v1/campaigns", body)["id"]
    steps = {
        "draft": [],
        "pending_approval": ["submit"],
        "live": ["submit", "approve"],
        "suspended": ["submit", "approve", "pause"],
    }[status]
    for step in steps:
        _api("POST", f"/v1/campaigns/{cid}/{step}")
    return cid


def _reward(held=False):
    """A reward of a live campaign; `held`: a second customer on one device, held for review."""
    cid = _campaign("live")
    device = f"st-device-{next(_uid)}"
    reward = None
    for _ in range(2 if held else 1):
        body = {
            "campaign_id": cid,
            "moment_id": MOMENT,
            "customer": {"id": f"st-customer-{next(_uid)}", "marketplace": MARKET},
            "device": {"type": "iOS", "id": device},
        }
        reward = _api("POST", "/v1/triggers", body)["reward"]
    return reward


def _token(reward):
    return re.search(r"/r/([^/?#]+)", reward["url"]).group(1)


def _set_path(case, **values):
    case.path_parameters = {**(case.path_parameters or {}), **values}


def _lifecycle(status):
    return lambda case: _set_path(case, id=_campaign(status))


def _reward_info(case):
    _set_path(case, id=_campaign("live"), moment_id=MOMENT)
    case.query = {**(case.query or {}), "marketplace": MARKET}


def _trigger(case):
    if isinstance(case.body, dict):
        case.body = {
            **case.body,
            "campaign_id": _campaign("live"),
            "moment_id": MOMENT,
            "customer": {"id": f"st-customer-{next(_uid)}", "marketplace": MARKET},
        }


def _redeem(case):
    _set_path(case, token=_token(_reward()))
    if isinstance(case.body, dict):
        case.body = {**case.body, "item_id": ITEM}


def _landing_form(case):
    _set_path(case, token=_token(_reward()))
    case.body = f"item_id={ITEM}"


def _endpoint(case):
    _set_path(case, id=_api("POST", "/v1/webhook_endpoints", {"url": LOOPBACK})["id"])


PREPARE = {
    ("GET", "/v1/campaigns/{id}"): _lifecycle("draft"),
    ("PATCH", "/v1/campaigns/{id}"): _lifecycle("draft"),
    ("POST", "/v1/campaigns/{id}/submit"): _lifecycle("draft"),
    ("POST", "/v1/campaigns/{id}/approve"): _lifecycle("pending_approval"),
    ("POST", "/v1/campaigns/{id}/reject"): _lifecycle("pending_approval"),
    ("POST", "/v1/campaigns/{id}/pause"): _lifecycle("live"),
    ("POST", "/v1/campaigns/{id}/resume"): _lifecycle("suspended"),
    ("POST", "/v1/campaigns/{id}/end"): _lifecycle("live"),
    ("GET", "/v1/campaigns/{id}/moments/{moment_id}/reward_info"): _reward_info,
    ("POST", "/v1/triggers"): _trigger,
    ("GET", "/v1/rewards/{id}"): lambda case: _set_path(case, id=_reward()["id"]),
    ("POST", "/v1/rewards/{id}/cancel"): lambda case: _set_path(case, id=_reward()["id"]),
    ("POST", "/v1/fraud_reviews/{reward_id}/release"): lambda case: _set_path(
        case, reward_id=_reward(held=True)["id"]
    ),
    ("POST", "/v1/fraud_reviews/{reward_id}/block"): lambda case: _set_path(
        case, reward_id=_reward(held=True)["id"]
    ),
    ("GET", "/v1/redemptions/{token}"): lambda case: _set_path(case, token=_token(_reward())),
    ("POST", "/v1/redemptions/{token}"): _redeem,
    ("GET", "/r/{token}"): lambda case: _set_path(case, token=_token(_reward())),
    ("POST", "/r/{token}"): _landing_form,
    ("GET", "/v1/catalog/items/{id}"): lambda case: _set_path(case, id=ITEM),
    ("GET", "/v1/webhook_endpoints/{id}"): _endpoint,
    ("DELETE", "/v1/webhook_endpoints/{id}"): _endpoint,
    ("POST", "/v1/webhook_endpoints/{id}/rotate_secret"): _endpoint,
}


def _positive(case):
    return case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE


def _phase(case):
    return case.meta.phase.name if case.meta is not None else None


def _loopback_webhook(case):
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("url"), str):
        return
    schema = case.operation.schema.raw_schema["components"]["schemas"]["WebhookEndpointCreate"]
    url = body["url"]
    # JSON Schema's `$` is the end of the string; Python's also matches before a final newline.
    if re.search(schema["properties"]["url"]["pattern"].replace("$", r"\Z"), url):
        # A new object: generated bodies may share parts with other cases.
        case.body = {**body, "url": LOOPBACK + "x" * max(0, len(url) - len(LOOPBACK))}


@schemathesis.hook
def before_call(context, case, kwargs):
    if not _positive(case):
        return
    key = (case.method.upper(), case.path)
    if key == ("POST", "/v1/webhook_endpoints"):
        _loopback_webhook(case)
        return
    prepare = PREPARE.get(key)
    if prepare is None or _phase(case) == "stateful":
        return
    n = _calls.get(key, 0)
    _calls[key] = n + 1
    if n % EVERY == 0:
        prepare(case)
