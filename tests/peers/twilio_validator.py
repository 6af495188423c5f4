"""Twilio's own RequestValidator, for the cross-check in crates/hearth-server/tests/api/providers.rs.

Reads one JSON request on stdin and prints one JSON answer:
  {"auth_token", "url", "params": {...}, "signature"}  -> {"signature": computed, "valid": bool}
  {"auth_token", "url", "body": "...", "signature"}    -> {"body_hash", "signature", "valid"}
For a JSON body, `url` must already carry bodySHA256 (as Twilio sends it).
"""
import json
import sys

from twilio.request_validator import RequestValidator

req = json.load(sys.stdin)
validator = RequestValidator(req["auth_token"])
if "params" in req:
    out = {
        "signature": validator.compute_signature(req["url"], req["params"]),
        "valid": validator.validate(req["url"], req["params"], req["signature"]),
    }
else:
    out = {
        "body_hash": validator.compute_hash(req["body"]),
        "signature": validator.compute_signature(req["url"], {}),
        # Twilio's validate() only understands a string body when the URL carries bodySHA256.
        "valid": validator.validate(req["url"], req["body"], req["signature"])
        if "bodySHA256=" in req["url"]
        else None,
    }
print(json.dumps(out))
