"""Seeds the running demo clinic with events whose every free-text field is an HTML-injection attempt, for the
browser suite to check that the console renders them inert. Keys: fresh ones (named with the same attempt),
registered by the demo's admin key; events are written, signed and submitted with vigilctl.

    python3 Tests/Browser/seed_injection.py --url URL --vigilctl PATH --demo DIR --tokens FILE --out MANIFEST

Writes MANIFEST (JSON): the attempt's text and the codes, ids and key files the suite needs.
"""

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_env  # noqa: E402

# Every free-text field gets this (short enough for the 100-character fields: site, substance).
MARKER = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=1\">\"'&"
PARTICIPANT = "P-XSS-01"
SESSION = "P-XSS-01-S1"
LOT = "L-XSS-01"
AE_ID = "AE-XSS-01"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--vigilctl", required=True)
    parser.add_argument("--demo", required=True)
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    out = Path(args.out).resolve()
    signer = demo_env.Signer(args.vigilctl, args.url, out.parent / "injection")
    admin = demo_env.admin_key_file(args.demo, args.vigilctl).resolve()
    api = demo_env.Api(args.url, demo_env.officer_token(args.tokens))

    keys = {role: signer.keygen(role) for role in ("clinician", "witness", "pharmacist", "officer")}
    signer.register(admin, keys["clinician"], "Clin " + MARKER, "clinician")
    signer.register(admin, keys["witness"], "Wit " + MARKER, "clinician")
    signer.register(admin, keys["pharmacist"], "Pharm " + MARKER, "pharmacist")
    signer.register(admin, keys["officer"], "Officer " + MARKER, "safety_officer")

    now = datetime.now(timezone.utc)
    signer.submit("participant.enrolled", {
        "site": MARKER, "medications": [{"name": "Med " + MARKER, "serotonergic": False}],
    }, keys["clinician"], participant=PARTICIPANT)
    signer.submit("participant.medication_changed", {
        "name": "Started " + MARKER, "serotonergic": False, "action": "started",
    }, keys["clinician"], participant=PARTICIPANT)
    signer.submit("inventory.received", {
        "lot": LOT, "substance": MARKER, "quantityMg": 500, "supplier": MARKER,
    }, keys["pharmacist"])
    signer.submit("session.started", {"number": 1}, keys["clinician"], participant=PARTICIPANT, session=SESSION)
    signer.submit("dose.dispensed", {"lot": LOT, "doseMg": 80, "kind": "initial"}, keys["pharmacist"],
                  witnesses=[keys["witness"]], participant=PARTICIPANT, session=SESSION)
    signer.submit("vitals.recorded", {"systolic": 186, "diastolic": 112, "heartRate": 96},
                  keys["clinician"], participant=PARTICIPANT, session=SESSION)
    signer.submit("adverse_event.reported", {
        "aeId": AE_ID, "term": MARKER, "onset": now.strftime("%Y-%m-%d"), "severity": 3, "serious": True,
        "criteria": ["hospitalization"], "expected": False, "suspected": True,
        "awareAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }, keys["clinician"], participant=PARTICIPANT, session=SESSION)

    def raised():
        alerts = api.alerts(participant=PARTICIPANT)
        rules = {alert["rule"]: alert for alert in alerts}
        return rules if {"hypertension", "serious_adverse_event"} <= rules.keys() else None

    rules = api.wait_for("the injection participant's alerts", raised)
    acknowledged = rules["serious_adverse_event"]["alertId"]
    signer.submit("alert.acknowledged", {"alertId": acknowledged, "note": "Ack " + MARKER}, keys["officer"])
    api.wait_for("the acknowledgement", lambda: api.get(f"/v1/alerts/{acknowledged}").get("acknowledged"))

    manifest = {
        "marker": MARKER, "participant": PARTICIPANT, "session": SESSION, "lot": LOT, "aeId": AE_ID,
        "acknowledgedAlert": acknowledged, "openAlert": rules["hypertension"]["alertId"],
        "keys": {role: str(path) for role, path in keys.items()}, "adminKey": str(admin),
    }
    out.write_text(json.dumps(manifest, indent=2))
    print(f"seed_injection: {signer.count} events stored; manifest {out}")


if __name__ == "__main__":
    main()
