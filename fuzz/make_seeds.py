#!/usr/bin/env python3
"""Writes the hand-made seed inputs (corpus/<target>/seed_*): wire-format examples of docs/api.md."""
import hashlib
import hmac
import json
import os

os.chdir(os.path.dirname(os.path.abspath(__file__)))
reward = {"object": "reward", "id": "rwd_1", "campaign_id": "cmp_1", "moment_id": "first_workout",
          "reward_group_id": "US", "variant_id": None, "customer_id": "cust_42", "marketplace": "US",
          "segment": None, "device_type": "Android", "status": "issued", "test": False,
          "url": "http://127.0.0.1:8080/r/Xk3abc", "expires_at": "2026-12-23T10:00:00Z",
          "cost": {"amount": 500, "currency": "USD"},
          "offer": {"items": [{"item_id": "itm_echo_dot", "title": "Echo Dot", "kind": "physical",
                               "value": {"amount": 4999, "currency": "USD"}, "image_url": None}]},
          "flag": None, "created_at": "2026-11-23T10:00:00Z", "redeemed_at": None, "shipped_at": None,
          "delivered_at": None, "expired_at": None, "cancelled_at": None}
trigger = {"object": "trigger_result", "outcome": "reward", "campaign_id": "cmp_1",
           "moment_id": "first_workout", "customer_id": "cust_42", "reward": reward, "progress": None}
progress = {"object": "trigger_result", "outcome": "progress", "campaign_id": "cmp_1",
            "moment_id": "five_workouts", "customer_id": "cust_42", "reward": None,
            "progress": {"object": "progress", "campaign_id": "cmp_1", "moment_id": "five_workouts",
                         "customer_id": "cust_42", "current": 3, "target": 5, "window_seconds": 2592000,
                         "window_started_at": "2026-11-20T10:00:00Z", "completed": False}}
error = {"error": {"code": "budget_exhausted", "message": "spent", "param": None,
                   "request_id": "req_1", "retryable": False}}
event = {"object": "event", "id": "evt_1", "type": "reward.issued", "created_at": "2026-11-23T10:00:00Z",
         "data": {"object": reward}}
legacy = {"rewardNotificationText": "Congrats", "rewardNotificationUrl": "http://x/r/abc",
          "campaignEndDate": "2027-01-01T00:00:00Z", "rewardImageUrl": None, "remainingRewardCount": 10}
page = {"object": "list", "data": [reward], "has_more": False, "next_cursor": None}
unknown = dict(reward, status="teleported", new_field={"x": 1})

# client_response_decode: first byte selects the model (see the target), the rest is the body.
seeds = {0: [trigger, progress, error], 1: [reward, unknown], 3: [event, dict(event, type="reward.future")],
         5: [legacy], 9: [page]}
os.makedirs("corpus/client_response_decode", exist_ok=True)
n = 0
for selector, bodies in seeds.items():
    for body in bodies:
        with open(f"corpus/client_response_decode/seed_{n}", "wb") as f:
            f.write(bytes([selector]) + json.dumps(body).encode())
        n += 1

# webhook_signature_header: secret \0 header \0 payload.
secret, t = "whsec_seed", 1790000000
body = json.dumps(event).encode()
sig = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
headers = [f"t={t},v1={sig}", f"t={t},v1={'0' * 64},v1={sig}", "t=abc,v1=00", "v1=00", f"t={t}", ""]
os.makedirs("corpus/webhook_signature_header", exist_ok=True)
for i, h in enumerate(headers):
    with open(f"corpus/webhook_signature_header/seed_{i}", "wb") as f:
        f.write(secret.encode() + b"\0" + h.encode() + b"\0" + body)
