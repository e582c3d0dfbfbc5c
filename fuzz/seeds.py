#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/seeds/<target>/) from the protocol and ledger
test vectors and the catalogue's examples. Run from the repository root after the vectors change."""
import base64, json, os, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
proto = json.load(open(os.path.join(root, "crates/hanoinet-protocol/testvectors/v1.json")))
ledger = json.load(open(os.path.join(root, "crates/hanoinet-ledger/testvectors/v1.json")))

def put(target, name, data):
    d = os.path.join(root, "fuzz", "seeds", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    open(os.path.join(d, name), "wb").write(data)

env = proto["envelope"]
put("envelope", "wire", env["wire_json"])
put("envelope", "receipt", json.dumps(proto["receipt"]["receipt"]))
put("envelope", "reduced", proto["reduced_envelope"]["reduced_json"])

signed = proto["registry"]["signed"]
put("registry", "signed", json.dumps(signed))
put("registry", "inner", signed["registry"])

for i, e in enumerate(ledger["entries"]):
    put("canonical", f"entry{i}", base64.b64decode(e["leaf_b64"]))
put("canonical", "tree_head", json.dumps(ledger["tree_head"]["signed"]))
put("canonical", "authorization", json.dumps(proto["onward_authorization"]["authorization"]))
put("canonical", "approval", json.dumps(proto["approval"]["approval"]))

# A valid API body (the README's preservation request), and as a request payload.
examples = {"preservation": {
    "type": "preservation", "to": "FRA/247",
    "requesting_authority": "Cybercrime Unit, Ministry of Public Security, Viet Nam",
    "offence": "ICT-enabled fraud (Art. 13)",
    "summary_of_facts": "Phishing campaign against customers of Vietnamese banks.",
    "data_to_preserve": "Subscriber and login records of the mail account x@example.fr",
    "relationship_to_offence": "The account registered the phishing domain.",
    "custodian_or_location": "Example Mail SAS, Paris",
    "necessity": "The provider deletes login records after 30 days.",
    "mla_request_to_follow": True, "confidential": True,
    "offence_category": "ict_theft_or_fraud", "language": "fr",
    "proportionality_justification": "One account, the two months of the campaign.",
    "time_limit": "2027-01-15", "time_limit_reasons": "Trial date"}}
for name, body in examples.items():
    put("api_json", name, json.dumps(body))
    fields = {k: v for k, v in body.items() if k not in ("type", "to")}
    payload = {"request_id": "01a20000-0000-7000-8000-0000000000aa", "type": name,
               "created_at": "2026-11-22T08:00:00Z", "fields": fields,
               "history": [{"status": "queued", "at": "2026-11-22T08:00:00Z", "by": "requesting"}]}
    put("payloads", "request_" + name, b"\x00" + json.dumps(payload).encode())
put("api_json", "move", json.dumps({"status": "refused", "grounds": ["essential_interests"], "explanation": "x", "note": "n"}))
put("api_json", "decision", json.dumps({"decision": "accept_with_conditions", "conditions": "c"}))
now = "2026-11-22T08:00:00Z"
rid = "01a20000-0000-7000-8000-0000000000aa"
put("payloads", "update", b"\x01" + json.dumps({"request_id": rid, "expect_seq": 2, "delivered_at": now,
    "steps": [{"status": "acknowledged", "at": now, "by": "requested"},
              {"status": "refused", "at": now, "by": "requested", "details": {"decision": "refuse", "grounds": ["essential_interests"], "explanation": "x"}}],
    "decision": {"decision": "refuse", "grounds": ["essential_interests"], "explanation": "x"}}).encode())
put("payloads", "proposal", b"\x02" + json.dumps({"request_id": rid, "proposal_id": rid, "status": "withdrawn", "note": "n", "seen_seq": 3}).encode())
put("payloads", "message", b"\x03" + json.dumps({"request_id": rid, "message_id": rid, "kind": "status_enquiry", "body": {"note": "n"}}).encode())
put("payloads", "transfer", b"\x04" + json.dumps({"transfer_id": rid, "request_id": rid,
    "conditions": {"purpose": "p", "use_limitation": "u", "retention_until": "2027-01-01", "onward_transfer": "prohibited"},
    "results": {"a": 1}, "attachments": [{"id": rid, "name": "a.csv", "sha256": "00" * 32, "size": 10, "chunks": 1}],
    "forwarded_from": rid, "authorization": proto["onward_authorization"]["authorization"]}).encode())
put("payloads", "chunk", b"\x05" + json.dumps({"transfer_id": rid, "request_id": rid, "attachment_id": rid, "idx": 0, "data": "AAEC"}).encode())
