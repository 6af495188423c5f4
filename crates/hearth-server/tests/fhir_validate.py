"""Validates FHIR R4 resources with fhir.resources 6.4.0 (FHIR 4.0.1, pydantic < 2).

Usage: python fhir_validate.py FILE...   Each file holds one resource. Prints one JSON line per file,
{"file": ..., "ok": true} or {"file": ..., "ok": false, "error": ...}; exits 1 if any is invalid.
"""
import json
import sys

import fhir.resources
from fhir.resources import get_fhir_model_class

assert fhir.resources.__fhir_version__ == "4.0.1", fhir.resources.__fhir_version__

failed = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    try:
        get_fhir_model_class(data["resourceType"]).parse_obj(data)
        print(json.dumps({"file": path, "ok": True}))
    except Exception as e:  # noqa: BLE001 - report every kind of validation failure
        failed += 1
        print(json.dumps({"file": path, "ok": False, "error": str(e)}))
sys.exit(1 if failed else 0)
