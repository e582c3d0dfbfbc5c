//! The OpenAPI paths of the response centre's analyst API (merged into the document by
//! [`crate::http::openapi::document`]).

use serde_json::{Value, json};

use crate::http::openapi::error_response;

/// The response centre's analyst routes (`/api/v1/reports`, `/api/v1/indicators`); the public
/// side (`/public/v1`) is on its own listener and documented in README.md.
pub fn paths() -> Value {
    let bearer = json!([{"bearer": []}]);
    let obj = json!({"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}});
    let id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "description": "The report's id."});
    let hash = json!({"name": "hash", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "description": "The indicator's identity, sha256(\"<type>:<canonical>\") in hex (PROTOCOL.md §8)."});
    let q = |name: &str, schema: Value, description: &str| json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description});
    json!({
        "/api/v1/reports": {"get": {
            "summary": "A queue of citizens' reports, newest first (analysts; the restricted queue: csam_analyst)",
            "security": bearer,
            "parameters": [
                q("queue", json!({"type": "string", "enum": ["ordinary", "restricted"]}), "The ordinary queue (default) or the restricted one (child sexual abuse material)."),
                q("status", json!({"type": "string", "enum": hanoinet_indicators::report::ReportStatus::ALL}), "Only reports in this status."),
                q("indicator", json!({"type": "string", "pattern": "^[0-9a-f]{64}$"}), "Only reports naming this indicator."),
                q("before", json!({"type": "string"}), "Continue a list: `next_before` of the page before."),
                q("limit", json!({"type": "integer", "minimum": 1, "maximum": 200}), "Reports per page (default 50).")
            ],
            "responses": {"200": obj.clone()}
        }},
        "/api/v1/reports/{id}": {"get": {
            "summary": "A report with its indicators, the reports sharing one of them, and notes; the first analyst to open it puts it in_review",
            "security": bearer,
            "parameters": [id.clone(), q("reveal", json!({"type": "boolean"}), "Show a restricted report's content (logged).")],
            "responses": {"200": obj.clone()}
        }},
        "/api/v1/reports/{id}/notes": {"post": {
            "summary": "Add a note: `{\"body\"}`",
            "security": bearer,
            "parameters": [id.clone()],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["body"], "properties": {"body": {"type": "string", "minLength": 1, "maxLength": 5000}}, "additionalProperties": false}}}},
            "responses": {"201": obj.clone()}
        }},
        "/api/v1/reports/{id}/screenshots/{file}": {"get": {
            "summary": "A screenshot a reporter attached (as kept: decoded and written again without its metadata)",
            "security": bearer,
            "parameters": [id.clone(), {"name": "file", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The image", "content": {"image/png": {}, "image/jpeg": {}}}}
        }},
        "/api/v1/reports/{id}/close": {"post": {
            "summary": "Close a report (the reporter's status becomes closed)",
            "security": bearer,
            "parameters": [id.clone()],
            "responses": {"200": obj.clone(), "409": error_response("`conflict`: already closed")}
        }},
        "/api/v1/reports/{id}/escalate": {"post": {
            "summary": "Draft a cooperation request from this report (and `reports`): `{\"type\": \"preservation\" | \"spontaneous_information\", \"to\": NODE, \"reports\": [ids], \"fields\": {...}}`, pre-filled from the reports (codes, category, period, losses, indicators; never a reporter's contact); an officer submits the draft",
            "security": bearer,
            "parameters": [id.clone()],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["type", "to"], "properties": {
                "type": {"type": "string", "enum": ["preservation", "spontaneous_information"]},
                "to": {"type": "string"},
                "reports": {"type": "array", "items": {"type": "string"}, "maxItems": 200},
                "fields": {"type": "object"}
            }, "additionalProperties": false}}}},
            "responses": {"201": obj.clone()}
        }},
        "/api/v1/statistics": {"get": {
            "summary": "The response centre's figures: reports per category per week, reported losses per currency, indicator types, time to triage (officers, supervisors, analysts; no personal data)",
            "security": bearer,
            "parameters": [
                q("weeks", json!({"type": "integer", "minimum": 1, "maximum": 104}), "Weeks covered, this one included (default 12)."),
                q("format", json!({"type": "string", "enum": ["json", "csv"]}), "json (default) or csv.")
            ],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}}}}}
        }},
        "/api/v1/warnings": {"post": {
            "summary": "Publish a warning on the public pages and feeds (analysts): `{\"title\", \"body\", \"category\"?, \"language\"?}`",
            "security": bearer,
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["title", "body"], "properties": {
                "title": {"type": "string", "minLength": 1, "maxLength": 200},
                "body": {"type": "string", "minLength": 1, "maxLength": 5000},
                "category": {"type": "string", "enum": hanoinet_indicators::report::Category::ALL},
                "language": {"type": "string", "enum": ["ar", "en", "es", "fr", "ru", "vi", "zh"]}
            }, "additionalProperties": false}}}},
            "responses": {"201": obj.clone()}
        }},
        "/api/v1/indicators": {"get": {
            "summary": "Indicators, most reported first, with report counts, first and last seen and reported losses per currency",
            "security": bearer,
            "parameters": [
                q("status", json!({"type": "string", "enum": hanoinet_indicators::IndicatorStatus::ALL}), "Only indicators in this status."),
                q("type", json!({"type": "string", "enum": hanoinet_indicators::IndicatorType::ALL}), "Only indicators of this type."),
                q("limit", json!({"type": "integer", "minimum": 1, "maximum": 200}), "Indicators per page (default 50).")
            ],
            "responses": {"200": obj.clone()}
        }},
        "/api/v1/indicators/{hash}": {"get": {
            "summary": "One indicator",
            "security": bearer,
            "parameters": [hash.clone()],
            "responses": {"200": obj.clone(), "422": error_response("`validation_failed`: not an indicator hash")}
        }},
        "/api/v1/indicators/{hash}/decision": {"post": {
            "summary": "Decide an indicator: `{\"decision\": \"confirm\", \"tlp\": \"clear|green|amber|red\", \"expires\": RFC 3339}` or `{\"decision\": \"false_positive\"}`; a confirmation moves the open reports naming it to confirmed",
            "security": bearer,
            "parameters": [hash],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["decision"], "properties": {
                "decision": {"type": "string", "enum": ["confirm", "false_positive"]},
                "tlp": {"type": "string", "enum": ["clear", "green", "amber", "red"]},
                "expires": {"type": "string", "format": "date-time"}
            }, "additionalProperties": false}}}},
            "responses": {"200": obj}
        }}
    })
}
