//! The OpenAPI 3.1 document of the REST API and the federation endpoint, served at
//! `GET /api/v1/openapi.json`. A test checks that every route the router serves is documented and
//! that every error code appears in it.

use serde_json::{Value, json};

use hanoinet_core::catalogue::{
    art2, art24, art35, art36, art40, art42, art43, art65, art67, offences,
};

use crate::error::ErrorCode;

pub(crate) fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// A response whose body is one of the views (`#/components/schemas/{name}`).
fn view(name: &str, description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}})
}

fn text(description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "description": description})
}

pub fn document() -> Value {
    let mut doc = base();
    // The views' schemas come from the view structs themselves.
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, schema) in crate::http::views::schemas() {
            schemas.insert(name, serde_json::to_value(schema).unwrap_or(Value::Null));
        }
    }
    if let Some(paths) = doc.pointer_mut("/paths").and_then(Value::as_object_mut)
        && let Value::Object(more) = crate::http::openapi_centre::paths()
    {
        paths.extend(more);
    }
    complete(&mut doc);
    doc
}

/// Adds to every operation the answers the shared layers give, so that no status code it can
/// answer is undocumented: authentication (401, 403) where a token is needed, 404 for a path
/// with ids, body errors (400, 408, 413, 415, 422) where there is a body, 422 for bad query
/// parameters.
fn complete(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let has_id = path.contains('{');
        let Some(ops) = item.as_object_mut() else {
            continue;
        };
        for op in ops.values_mut() {
            let secured = op.get("security").is_some();
            let body = op.get("requestBody").is_some();
            let query = op
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            let mut add = |code: &str, text: &str| {
                responses
                    .entry(code)
                    .or_insert_with(|| error_response(text));
            };
            if secured {
                add(
                    "401",
                    "`unauthorized`: no valid token (absent, unknown, disabled or expired)",
                );
                add("403", "`forbidden`: the token's role may not do this");
            }
            if has_id {
                add("404", "`not_found`");
            }
            if body {
                add(
                    "400",
                    "`malformed_json` (or a member named twice), `incomplete_body`",
                );
                add("408", "`request_timeout`: the body did not arrive in time");
                add("413", "`payload_too_large`");
                add(
                    "415",
                    "`unsupported_media_type`: a body declared as something other than JSON",
                );
                add("422", "`validation_failed`");
            }
            if query {
                add(
                    "422",
                    "`validation_failed`: a query parameter is out of range or unknown",
                );
            }
        }
    }
}

fn base() -> Value {
    let types: Vec<&str> = hanoinet_core::request::RequestType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    let grounds: Vec<&str> = hanoinet_core::request::RefusalGround::ALL
        .iter()
        .map(|g| g.code())
        .collect();
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    let directions: Vec<&str> = hanoinet_core::request::Direction::ALL
        .iter()
        .map(|d| d.as_str())
        .collect();
    let statuses: Vec<&str> = hanoinet_core::request::Status::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    let bearer = json!([{"bearer": []}]);
    let id_param = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}, "description": "The request's global id (the same on both nodes)."});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "hanoinet node API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "REST API of a hanoinet node (UN Convention against Cybercrime cooperation). Authenticate with `Authorization: Bearer TOKEN` (`hanoinet user add` prints one). Errors are `{\"error\": code, \"message\": text, \"details\": [...]}` with a stable code."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message", "details"],
                    "properties": {
                        "error": {"type": "string", "enum": codes},
                        "message": {"type": "string"},
                        "details": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}}
                    }
                },
                "FieldError": {
                    "type": "object",
                    "properties": {
                        "field": {"type": "string"},
                        "code": {"type": "string", "description": "A stable snake_case code, e.g. `missing`, `empty`, `invalid`, `too_long`, `control_character`, `bidi_control`, `out_of_range`, `unknown_field`, `not_a_ground`, `not_allowed`, `unknown_node`, `same_state`, `unknown_request`, `convention_not_in_force`."},
                        "message": {"type": "string"},
                        "article": {"type": "string", "description": format!("The Convention paragraph, e.g. `{}`.", art42::AUTHORITY)},
                        "article_approximate": {"type": "boolean", "description": "Present (true) where that paragraph number is not yet confirmed against the adopted text."}
                    }
                },
                "NewRequest": {
                    "type": "object",
                    "description": "A new request of any type. `type` and `to` plus the type's own fields and the fields every request carries; `GET /api/v1/catalogue` lists them per type with the paragraph each cites, and gives a valid example of each. Unknown fields are refused.",
                    "required": ["type", "to", "offence_category", "language", "proportionality_justification"],
                    "properties": {
                        "type": {"type": "string", "enum": types},
                        "to": {"type": "string", "pattern": "^[A-Z]{2,8}/[A-Z0-9-]{1,32}$", "description": "The requested node, e.g. `FRA/247`."},
                        "offence_category": {"type": "string", "enum": ["illegal_access", "illegal_interception", "data_interference", "system_interference", "misuse_of_devices", "ict_forgery", "ict_theft_or_fraud", "child_sexual_abuse_material", "grooming", "non_consensual_intimate_images", "laundering", "serious_crime"], "description": format!("{}, {}.", art35::SCOPE, offences::range())},
                        "max_penalty_years": {"type": "integer", "minimum": 4, "description": format!("Required for serious_crime ({}: at least four years).", art2::SERIOUS_CRIME)},
                        "legal_basis": {"type": "string", "enum": ["convention", "bilateral_treaty", "multilateral_treaty", "reciprocity", "domestic_law"], "default": "convention", "description": format!("A request under the Convention needs it in force for both States on the day ({}, {}): otherwise 422 `convention_not_in_force` says why and from when.", art65::GENERAL, art67::DENUNCIATION)},
                        "legal_basis_detail": text("Required when legal_basis is not convention."),
                        "urgency": {"type": "string", "enum": ["normal", "urgent", "emergency"], "default": "normal"},
                        "emergency_reason": text(&format!("Required for urgency emergency: the imminent risk to life or safety ({}).", art2::EMERGENCY)),
                        "language": {"type": "string", "pattern": "^[a-z]{2}$", "description": format!("ISO 639-1. A language the requested State does not list gives a warning, not an error ({}).", art40::GENERAL)},
                        "proportionality_justification": text(&format!("{}.", art24::PROPORTIONALITY)),
                        "follows_request": {"type": "string", "format": "uuid", "description": "An earlier request between the same States (required for traffic_disclosure)."},
                        "time_limit": {"type": "string", "format": "date", "description": format!("{}: execution wished by this date; with time_limit_reasons.", art40::GENERAL)},
                        "time_limit_reasons": text("Required with time_limit.")
                    },
                    "additionalProperties": true
                },
                "Move": {
                    "type": "object",
                    "required": ["status"],
                    "description": format!("A status change. The lifecycle table decides which moves each side may make from each status; `409 conflict` names the allowed ones. Notes are required where the move needs a reason (more information, consultation, postponement, {}, returning a draft, partial execution).", art42::INFORM_REQUESTER),
                    "properties": {
                        "status": {"type": "string", "enum": statuses.clone()},
                        "note": {"type": "string"},
                        "grounds": {"type": "array", "items": {"type": "string"}, "description": "For refused."},
                        "explanation": {"type": "string", "description": "For refused."},
                        "conditions": {"type": "string", "description": "For accepted_with_conditions."}
                    }
                },
                "Decision": {
                    "oneOf": [
                        {"type": "object", "additionalProperties": false, "required": ["decision"], "properties": {"decision": {"const": "accept"}}},
                        {"type": "object", "additionalProperties": false, "required": ["decision", "conditions"], "properties": {"decision": {"const": "accept_with_conditions"}, "conditions": {"type": "string", "minLength": 1}}},
                        {"type": "object", "additionalProperties": false, "required": ["decision", "grounds", "explanation"], "properties": {
                            "decision": {"const": "refuse"},
                            "grounds": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": grounds}, "description": "Each type allows its own set: `refusal_grounds` per type in `GET /api/v1/catalogue`, with the article each ground cites for that type in `refusal_ground_articles`. dual_criminality_reservation only against a preservation, by a State that made the reservation, for an offence outside the Convention's own (serious_crime); cooperation_declined is how law_enforcement and joint_investigation are declined. `fiscal_matters` and `bank_secrecy` are not grounds."},
                            "explanation": {"type": "string", "minLength": 1}
                        }}
                    ]
                },
                "Receipt": {
                    "type": "object",
                    "required": ["envelope_id", "envelope_hash", "from", "to", "received_at", "signature"],
                    "properties": {
                        "envelope_id": {"type": "string", "format": "uuid"},
                        "envelope_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                        "from": {"type": "string"},
                        "to": {"type": "string"},
                        "received_at": {"type": "string", "format": "date-time"},
                        "signature": {"type": "string", "contentEncoding": "base64"},
                        "tree_head": {"$ref": "#/components/schemas/SignedTreeHead"}
                    }
                },
                "SignedTreeHead": {
                    "type": "object",
                    "required": ["log_id", "tree_size", "root_hash", "timestamp", "signature"],
                    "properties": {
                        "log_id": {"type": "string"},
                        "tree_size": {"type": "integer", "minimum": 0},
                        "root_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                        "timestamp": {"type": "string", "format": "date-time"},
                        "signature": {"type": "string", "contentEncoding": "base64"}
                    }
                },
                "Envelope": {
                    "type": "object",
                    "description": "See PROTOCOL.md.",
                    "required": ["header", "enc", "ciphertext", "signature"],
                    "additionalProperties": false,
                    "properties": {
                        "header": {"type": "object", "additionalProperties": false, "required": ["id", "from", "to", "kind", "created_at"], "properties": {
                            "id": {"type": "string", "format": "uuid"},
                            "from": {"type": "string", "pattern": "^[A-Z]{2,8}/[A-Z0-9-]{1,32}$"},
                            "to": {"type": "string", "pattern": "^[A-Z]{2,8}/[A-Z0-9-]{1,32}$"},
                            "kind": {"type": "string", "pattern": "^[a-z0-9_]{1,64}$"},
                            "created_at": {"type": "string", "format": "date-time"},
                            "in_reply_to": {"type": ["string", "null"], "format": "uuid"}
                        }},
                        "enc": {"type": "string", "contentEncoding": "base64", "pattern": "^[A-Za-z0-9+/]{43}=$", "description": "32 bytes."},
                        "ciphertext": {"type": "string", "contentEncoding": "base64", "pattern": "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$", "minLength": 24},
                        "signature": {"type": "string", "contentEncoding": "base64", "pattern": "^[A-Za-z0-9+/]{86}==$", "description": "64 bytes."}
                    }
                }
            }
        },
        "paths": {
            "/api/v1/requests": {
                "post": {
                    "summary": "Create and send a cooperation request",
                    "description": "With an `Idempotency-Key` (every creating POST of the API takes one), the same call sent again answers the first answer again (`Idempotent-Replayed: true`) and creates nothing; see OPERATING.md.",
                    "security": bearer,
                    "parameters": [
                        {"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}, "description": "Unique per call (a UUID); kept 24 hours per user."}
                    ],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewRequest"}}}, "description": "Add `\"draft\": true` to keep it on this node until submitted. Types in the node policy's `approval_required` start as `awaiting_approval`."},
                    "responses": {
                        "201": {"description": "Stored and queued for delivery (status `queued`).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Request"}}}, "links": {
                            "Show": {"operationRef": "#/paths/~1api~1v1~1requests~1{id}/get", "parameters": {"id": "$response.body#/id"}},
                            "Move": {"operationRef": "#/paths/~1api~1v1~1requests~1{id}~1transitions/post", "parameters": {"id": "$response.body#/id"}},
                            "Approve": {"operationRef": "#/paths/~1api~1v1~1requests~1{id}~1approve/post", "parameters": {"id": "$response.body#/id"}},
                            "Enquire": {"operationRef": "#/paths/~1api~1v1~1requests~1{id}~1status-enquiry/post", "parameters": {"id": "$response.body#/id"}},
                            "Data": {"operationRef": "#/paths/~1api~1v1~1requests~1{id}~1data/get", "parameters": {"id": "$response.body#/id"}}
                        }},
                        "400": error_response("`malformed_json`"),
                        "401": error_response("`unauthorized`"),
                        "403": error_response("`forbidden`: the role may not send requests"),
                        "413": error_response("`payload_too_large`"),
                        "409": error_response("`idempotency_key_in_use`: a call with this key is still running (`Retry-After`)"),
                        "422": error_response("`validation_failed`: one detail per field, naming the Convention paragraph; nothing was stored or sent; `idempotency_key_reused`: the key was used for another call")
                    }
                },
                "get": {
                    "summary": "List requests, newest first: one page, filtered",
                    "description": "Keyset pages: pass `next_cursor` as `cursor` for the next page (absent on the last); `total` counts every request that matches the filters.",
                    "security": bearer,
                    "parameters": [
                        {"name": "direction", "in": "query", "schema": {"type": "string", "enum": directions}},
                        {"name": "status", "in": "query", "schema": {"type": "string", "enum": statuses}},
                        {"name": "type", "in": "query", "schema": {"type": "string", "enum": types}},
                        {"name": "peer", "in": "query", "schema": {"type": "string"}, "description": "The other node (e.g. `FRA/247`): the requested node of an outgoing request, the requesting node of an incoming one."},
                        {"name": "urgency", "in": "query", "schema": {"type": "string", "enum": ["normal", "urgent", "emergency"]}},
                        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "Created at or after (RFC 3339)."},
                        {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "Created before (RFC 3339)."},
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "A `next_cursor` of the same list (same sort)."},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}},
                        {"name": "sort", "in": "query", "schema": {"type": "string", "enum": ["created_at", "time_limit"], "default": "created_at"}, "description": format!("`time_limit`: earliest requested time limit first ({}), requests without one last.", art40::GENERAL)}
                    ],
                    "responses": {
                        "200": {"description": "Requests (without history).", "content": {"application/json": {"schema": {"type": "object", "required": ["requests", "total"], "properties": {
                            "requests": {"type": "array", "items": {"$ref": "#/components/schemas/Request"}},
                            "next_cursor": {"type": ["string", "null"]},
                            "total": {"type": "integer"}
                        }}}}},
                        "401": error_response("`unauthorized`"),
                        "422": error_response("`validation_failed`")
                    }
                }
            },
            "/api/v1/requests/{id}": {
                "get": {
                    "summary": "One request with its status history and receipts",
                    "security": bearer,
                    "parameters": [id_param.clone()],
                    "responses": {
                        "200": {"description": "The request.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Request"}}}},
                        "401": error_response("`unauthorized`"),
                        "404": error_response("`not_found`")
                    }
                }
            },
            "/api/v1/requests/{id}/responses": {
                "post": {
                    "summary": "Answer an incoming request (requested node only)",
                    "security": bearer,
                    "parameters": [id_param.clone()],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Decision"}}}},
                    "responses": {
                        "201": {"description": "Decision recorded and queued to the requesting node.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Request"}}}},
                        "400": error_response("`malformed_json`"),
                        "401": error_response("`unauthorized`"),
                        "403": error_response("`forbidden`"),
                        "404": error_response("`not_found`"),
                        "409": error_response("`conflict`: not an incoming request, or not a move allowed now (e.g. an MLA request is refused only after consultation); `details[0].allowed` lists the allowed moves"),
                        "422": error_response("`validation_failed`")
                    }
                }
            },
            "/api/v1/ledger/head": {
                "get": {
                    "summary": "The latest signed tree head of this node's log (auditor or supervisor)",
                    "security": bearer,
                    "responses": {
                        "200": {"description": "Signed tree head.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SignedTreeHead"}}}},
                        "401": error_response("`unauthorized`"),
                        "403": error_response("`forbidden`"),
                        "404": error_response("`not_found`: the log is empty")
                    }
                }
            },
            "/api/v1/ledger/entries": {
                "get": {
                    "summary": "Log entries with index in [start, end), at most 1,000 per page",
                    "security": bearer,
                    "parameters": [
                        {"name": "start", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
                        {"name": "end", "in": "query", "schema": {"type": "integer", "minimum": 0}}
                    ],
                    "responses": {
                        "200": {"description": "Entries.", "content": {"application/json": {"schema": {"type": "object", "properties": {
                            "entries": {"type": "array", "items": {"type": "object", "properties": {"index": {"type": "integer"}, "leaf": {"type": "string", "contentEncoding": "base64"}}}},
                            "tree_size": {"type": "integer"},
                            "next": {"type": ["integer", "null"]}
                        }}}}},
                        "401": error_response("`unauthorized`"),
                        "403": error_response("`forbidden`"),
                        "422": error_response("`validation_failed`")
                    }
                }
            },
            "/api/v1/ledger/proof/inclusion": {
                "get": {
                    "summary": "RFC 9162 inclusion proof",
                    "security": bearer,
                    "parameters": [
                        {"name": "index", "in": "query", "required": true, "schema": {"type": "integer", "minimum": 0}},
                        {"name": "tree_size", "in": "query", "required": true, "schema": {"type": "integer", "minimum": 1}}
                    ],
                    "responses": {
                        "200": {"description": "Proof.", "content": {"application/json": {"schema": {"type": "object", "properties": {
                            "leaf_index": {"type": "integer"}, "tree_size": {"type": "integer"},
                            "inclusion_path": {"type": "array", "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}
                        }}}}},
                        "401": error_response("`unauthorized`"),
                        "403": error_response("`forbidden`"),
                        "422": error_response("`validation_failed`: index or size out of range")
                    }
                }
            },
            "/api/v1/ledger/proof/consistency": {
                "get": {
                    "summary": "RFC 9162 consistency proof",
                    "security": bearer,
                    "parameters": [
                        {"name": "first", "in": "query", "required": true, "schema": {"type": "integer", "minimum": 1}},
                        {"name": "second", "in": "query", "required": true, "schema": {"type": "integer", "minimum": 1}}
                    ],
                    "responses": {
                        "200": {"description": "Proof.", "content": {"application/json": {"schema": {"type": "object", "properties": {
                            "first": {"type": "integer"}, "second": {"type": "integer"},
                            "consistency_path": {"type": "array", "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}
                        }}}}},
                        "401": error_response("`unauthorized`"),
                        "403": error_response("`forbidden`"),
                        "422": error_response("`validation_failed`: need 0 < first <= second <= tree size")
                    }
                }
            },
            "/api/v1/ledger/commitment": {
                "post": {
                    "summary": "The keyed commitment this node records for some content (auditor or supervisor; the question is logged)",
                    "security": bearer,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"oneOf": [
                        {"type": "object", "additionalProperties": false, "required": ["content"], "properties": {"content": {"type": "string"}}},
                        {"type": "object", "additionalProperties": false, "required": ["content_base64"], "properties": {"content_base64": {"type": "string", "contentEncoding": "base64"}}}
                    ]}}}},
                    "responses": {
                        "200": {"description": "`{\"commitment\": \"hmac-sha256:<hex>\"}`, as it appears in ledger entries (PROTOCOL.md §7.1).", "content": {"application/json": {"schema": {"type": "object", "required": ["commitment"], "properties": {"commitment": {"type": "string", "pattern": "^hmac-sha256:[0-9a-f]{64}$"}}}}}}
                    }
                }
            },
            "/api/v1/requests/{id}/confidentiality-notice": {
                "post": {
                    "summary": format!("Tell the requesting State that the request cannot be kept confidential (requested node; {}); it decides whether to proceed", art40::CONFIDENTIALITY),
                    "security": bearer,
                    "parameters": [id_param.clone()],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "required": ["note"], "properties": {"note": {"type": "string", "minLength": 1}}}}}},
                    "responses": {
                        "202": view("Message", "The notice, sent to the requesting node (message kind `confidentiality_cannot_be_kept`)."),
                        "409": error_response("`conflict`: this node sent the request")
                    }
                }
            },
            "/api/v1/requests/{id}/traffic-disclosure": {
                "post": {
                    "summary": format!("The preserving node's own disclosure of traffic data identifying a service provider in another State and the path ({}), on a preservation it accepted", art43::DISCLOSURE),
                    "security": bearer,
                    "parameters": [id_param.clone()],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false,
                        "required": ["conditions", "service_provider", "transmission_path", "traffic_data"],
                        "properties": {
                            "conditions": {"type": "object", "description": format!("The {} conditions, as for any data: purpose, use_limitation, retention_until, onward_transfer.", art36::CONDITIONS)},
                            "service_provider": {"type": "string", "minLength": 1},
                            "transmission_path": {"type": "string", "minLength": 1},
                            "traffic_data": {"type": "string", "minLength": 1}
                        }}}}},
                    "responses": {
                        "201": view("Transfer", "The transfer, sent to the requesting node."),
                        "409": error_response("`conflict`: not a preservation this node accepted")
                    }
                }
            },
            "/api/v1/alerts": {
                "get": {
                    "summary": "Alerts for people to act on (e.g. a peer whose log is inconsistent)",
                    "security": bearer,
                    "responses": {
                        "200": {"description": "Alerts, newest first.", "content": {"application/json": {"schema": {"type": "object", "properties": {"alerts": {"type": "array", "items": {"type": "object", "properties": {
                            "id": {"type": "string"}, "kind": {"type": "string"}, "subject": {"type": "string"}, "message": {"type": "string"},
                            "evidence": {"type": "object"}, "created_at": {"type": "string", "format": "date-time"}
                        }}}}}}}},
                        "401": error_response("`unauthorized`")
                    }
                }
            },
            "/api/v1/requests/{id}/transitions": {
                "post": {
                    "summary": "Move a request through its lifecycle",
                    "security": bearer,
                    "parameters": [id_param.clone()],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Move"}}}},
                    "responses": {
                        "201": {"description": "Moved (and sent to the peer where it must know).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Request"}}}},
                        "202": {"description": "Proposed to the requested node (a requesting-side move after sending); applied when it confirms, or declined with a message.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Request"}}}},
                        "403": error_response("`forbidden`: approval needs a supervisor other than the author"),
                        "404": error_response("`not_found`"),
                        "409": error_response("`conflict`: not an allowed move; `details[0].allowed` lists the allowed ones"),
                        "422": error_response("`validation_failed`: e.g. a missing note, grounds not allowed for the type, or the Convention not in force when a draft is sent")
                    }
                }
            },
            "/api/v1/requests/{id}/status": {
                "post": {
                    "summary": "Alias of /api/v1/requests/{id}/transitions",
                    "security": bearer,
                    "parameters": [id_param.clone()],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Move"}}}},
                    "responses": {"201": {"description": "Moved."}, "202": {"description": "Proposed."}, "409": error_response("`conflict`")}
                }
            },
            "/api/v1/requests/{id}/approve": {
                "post": {
                    "summary": "Approve a request awaiting approval (four eyes: a supervisor of this node other than its author); it is sent",
                    "security": bearer,
                    "parameters": [id_param.clone()],
                    "responses": {
                        "201": {"description": "Approved and queued.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Request"}}}},
                        "403": error_response("`forbidden`: not a supervisor, or the request's author"),
                        "409": error_response("`conflict`: not awaiting approval"),
                        "422": error_response("`validation_failed`: e.g. the Convention is not in force for both States today")
                    }
                }
            },
            "/api/v1/requests/{id}/status-enquiry": {
                "post": {
                    "summary": format!("Ask the requested node where a request stands ({}); its node answers with a status_reply message", art40::GENERAL),
                    "security": bearer,
                    "parameters": [id_param.clone()],
                    "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "properties": {"note": {"type": "string"}}, "additionalProperties": false}}}},
                    "responses": {
                        "202": view("Message", "The enquiry message, queued for delivery."),
                        "409": error_response("`conflict`: only the requesting node asks, about a request it has sent"),
                        "422": error_response("`validation_failed`")
                    }
                }
            },
            "/api/v1/requests/{id}/extension": {
                "post": {
                    "summary": format!("Extend an accepted preservation ({}): asked by the requesting node (202), granted by the requested node (201; the new preserved_until reaches the requesting node)", art42::ARTICLE),
                    "security": bearer,
                    "parameters": [id_param.clone()],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["days"], "additionalProperties": false, "properties": {"days": {"type": "integer", "minimum": 1, "maximum": 3650}, "note": {"type": "string"}}}}}},
                    "responses": {
                        "201": {"description": "Granted: the request with its new preserved_until."},
                        "202": view("Message", "Asked: the extension_request message."),
                        "409": error_response("`conflict`: not a preservation in force"),
                        "422": error_response("`validation_failed`")
                    }
                }
            },
            "/api/v1/requests/{id}/attachments": {
                "post": {
                    "summary": "Upload an attachment (raw body, streamed into chunks; SHA-256 and size computed); `?name=FILE`",
                    "security": bearer,
                    "parameters": [id_param.clone(), {"name": "name", "in": "query", "required": true, "schema": {"type": "string"}}],
                    "requestBody": {"required": true, "content": {"application/octet-stream": {}}},
                    "responses": {
                        "201": view("Attachment", "Staged: its SHA-256, size and chunk count, state `staged`."),
                        "413": error_response("`payload_too_large`: over the attachment limit (8 GiB by default)"),
                        "422": error_response("`validation_failed`: a missing or unsafe name, an empty body")
                    }
                }
            },
            "/api/v1/requests/{id}/attachments/{aid}": {
                "get": {
                    "summary": "Download an attachment while it is held, streamed (logged in the ledger, with the range); `Range: bytes=N-` resumes (206), `If-Range` with the `ETag` (the SHA-256) guards the resume",
                    "security": bearer,
                    "parameters": [id_param.clone(), {"name": "aid", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "responses": {
                        "200": {"description": "The bytes (`ETag` the quoted SHA-256, `Accept-Ranges: bytes`).", "content": {"application/octet-stream": {}}},
                        "206": {"description": "The bytes of the range asked for (`Content-Range`).", "content": {"application/octet-stream": {}}},
                        "416": error_response("`range_not_satisfiable`: the range starts beyond the end (`Content-Range: bytes */SIZE`)"),
                        "404": error_response("`not_found`"),
                        "409": error_response("`conflict`: not all chunks have arrived, or the content does not match its hash"),
                        "410": error_response(&format!("`gone`: purged at the end of its retention period ({}); hash and size remain", art36::CONDITIONS))
                    }
                }
            },
            "/api/v1/requests/{id}/uploads": {
                "post": {
                    "summary": "Start a resumable upload: `{name, size, sha256?}` (`Idempotency-Key` applies); the bytes follow with PATCH",
                    "security": bearer,
                    "parameters": [id_param.clone()],
                    "responses": {
                        "201": view("Upload", "The upload, at offset 0."),
                        "409": error_response("`conflict`: this node cannot give data on this request now"),
                        "422": error_response("`validation_failed`: a missing or unsafe name, a size out of range, a malformed sha256")
                    }
                }
            },
            "/api/v1/requests/{id}/uploads/{uid}": {
                "get": {
                    "summary": "Where an upload stands: `offset` (the byte to send from), and its attachment once complete",
                    "security": bearer,
                    "parameters": [id_param.clone(), {"name": "uid", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "responses": {"200": view("Upload", "The upload."), "404": error_response("`not_found`")}
                },
                "patch": {
                    "summary": "Add bytes from `Upload-Offset: N` (the upload's offset); whole 256 KiB chunks are kept as they fill, the last with the last byte, when the SHA-256 is checked and the attachment made",
                    "security": bearer,
                    "parameters": [id_param.clone(), {"name": "uid", "in": "path", "required": true, "schema": {"type": "string"}}, {"name": "Upload-Offset", "in": "header", "required": true, "schema": {"type": "integer", "minimum": 0}}],
                    "requestBody": {"required": true, "content": {"application/octet-stream": {}}},
                    "responses": {
                        "200": view("Upload", "The offset reached; `complete` and `attachment` with the last byte."),
                        "403": error_response("`forbidden`: another user's upload"),
                        "409": error_response("`conflict` with detail `upload_offset_mismatch` and `offset`: send from there; or the upload is complete"),
                        "413": error_response("`payload_too_large`: bytes beyond the declared size"),
                        "422": error_response("`validation_failed`: no `Upload-Offset`; or the bytes do not hash to the declared sha256 (the upload is discarded)")
                    }
                },
                "delete": {
                    "summary": "Abandon an upload and what it stored",
                    "security": bearer,
                    "parameters": [id_param.clone(), {"name": "uid", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "responses": {"204": {"description": "Abandoned."}, "404": error_response("`not_found`")}
                }
            },
            "/api/v1/requests/{id}/data": {
                "post": {
                    "summary": format!("Give data on a request, with its conditions ({}, {}): `{{conditions: {{purpose, use_limitation, retention_until, onward_transfer: prohibited|with_authorization}}, results?, attachments?: [ids]}}`", art36::CONDITIONS, art40::USE_LIMITATION),
                    "security": bearer,
                    "parameters": [id_param.clone()],
                    "responses": {
                        "201": view("Transfer", "The transfer, queued: one envelope for it and one per chunk."),
                        "409": error_response("`conflict`: data are given by the requested node once it accepted (or with spontaneous information)"),
                        "422": error_response("`validation_failed`")
                    }
                },
                "get": {
                    "summary": "Data transfers of a request, both ways, with conditions, attachments (sha256, size, state) and purge time",
                    "security": bearer,
                    "parameters": [id_param.clone()],
                    "responses": {"200": {"description": "Every transfer on the request, each with its conditions and attachments.", "content": {"application/json": {"schema": {"type": "object", "required": ["transfers"], "properties": {"transfers": {"type": "array", "items": {"$ref": "#/components/schemas/Transfer"}}}}}}}}
                }
            },
            "/api/v1/requests/{id}/data/{tid}/onward-requests": {
                "post": {
                    "summary": "Ask the original sender for an onward-transfer authorization: `{to, purpose}`",
                    "security": bearer,
                    "parameters": [id_param.clone(), {"name": "tid", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "responses": {"202": view("Message", "The message, queued."), "409": error_response("`conflict`")}
                }
            },
            "/api/v1/requests/{id}/data/{tid}/onward-authorizations": {
                "post": {
                    "summary": "Authorize (signed with this node's key) passing a transfer this node sent on to one third node for one purpose: `{to, purpose}`",
                    "security": bearer,
                    "parameters": [id_param.clone(), {"name": "tid", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "responses": {"201": view("Message", "The message carrying the signed authorization."), "409": error_response("`conflict`: onward transfer prohibited by the transfer's own conditions")}
                }
            },
            "/api/v1/requests/{id}/data/{tid}/forward": {
                "post": {
                    "summary": "Pass received data on to a third node (as spontaneous information, onward transfer then prohibited): `{to, purpose}`",
                    "security": bearer,
                    "parameters": [id_param.clone(), {"name": "tid", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "responses": {
                        "201": {"description": "The request to the third node and the transfer it carries.", "content": {"application/json": {"schema": {"type": "object", "required": ["request", "transfer"], "properties": {"request": {"$ref": "#/components/schemas/Request"}, "transfer": {"$ref": "#/components/schemas/Transfer"}}}}}},
                        "403": error_response(&format!("`forbidden` with detail `onward_transfer_not_authorized`: prohibited by the conditions, or no verified authorization of the original sender for that node ({})", art36::ONWARD_TRANSFER)),
                        "410": error_response("`gone`: purged")
                    }
                }
            },
            "/api/v1/catalogue": {
                "get": {
                    "summary": "The Convention catalogue: request types and their fields with the paragraph each cites, an example of each, offence categories, refusal grounds (no token)",
                    "responses": {"200": {"description": "Catalogue."}}
                }
            },
            "/api/v1/registry": {
                "get": {
                    "summary": format!("The registry as this node verified it, with entry-into-force dates computed ({}, {}), contacts and nodes (no token)", art65::GENERAL, art67::DENUNCIATION),
                    "responses": {"200": {"description": "`{general_in_force_from, states: [{code, name, regional_organization, members, signed, instrument: {kind, deposited}|null, denounced, reservations: [{article, text, made, withdrawn}], in_force_from, in_force_until, in_force_today, languages, central_authority, point_of_contact, diplomatic_channel_required, interpol_accepted, nodes}], nodes, today, serial, issued_at, demo}`; dates YYYY-MM-DD."}}
                },
                "post": {
                    "summary": "Install a newer signed registry in the running node (administrators). The body is the signed registry file as the depositary published it (PROTOCOL.md §6); it must verify against the node's trust anchor, carry a higher serial than the installed one and list this node with keys it holds. Every replica takes it up within seconds. Refusals are logged.",
                    "security": bearer,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["format", "registry", "signed_by", "signature"], "properties": {"format": {"type": "string"}, "registry": {"type": "string"}, "signed_by": {"type": "string"}, "signature": {"type": "string"}}}}}},
                    "responses": {
                        "200": {"description": "`{serial, previous_serial}`.", "content": {"application/json": {"schema": {"type": "object", "required": ["serial", "previous_serial"], "properties": {"serial": {"type": "integer"}, "previous_serial": {"type": "integer"}}}}}},
                        "400": error_response("`malformed_json`: the body is not UTF-8"),
                        "401": error_response("`unauthorized`"),
                        "403": error_response("`forbidden`: not an administrator"),
                        "409": error_response("`registry_rollback`: the serial is not higher than the installed one's"),
                        "415": error_response("`unsupported_media_type`"),
                        "422": error_response("`registry_invalid` (signature, format or content), `registry_drops_node`, `registry_unknown_keys`, `malformed_json`")
                    }
                }
            },
            "/api/v1/registry/signed": {
                "get": {
                    "summary": "The signed registry file this node runs on (for verifiers)",
                    "security": bearer,
                    "responses": {"200": {"description": "Signed registry (PROTOCOL.md §6)."}, "401": error_response("`unauthorized`")}
                }
            },
            "/federation/v1/ledger/head": {
                "get": {"summary": "The latest signed tree head, for peers (no token)", "responses": {"200": {"description": "Signed tree head.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SignedTreeHead"}}}}, "404": error_response("`not_found`")}}
            },
            "/federation/v1/ledger/proof/inclusion": {
                "get": {"summary": "Inclusion proof, for peers (no token); same as /api/v1/ledger/proof/inclusion", "responses": {"200": {"description": "Proof."}, "422": error_response("`validation_failed`")}}
            },
            "/federation/v1/ledger/proof/consistency": {
                "get": {"summary": "Consistency proof, for peers (no token); same as /api/v1/ledger/proof/consistency", "responses": {"200": {"description": "Proof."}, "422": error_response("`validation_failed`")}}
            },
            "/api/v1/openapi.json": {
                "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1 document."}}}
            },
            "/healthz": {
                "get": {"summary": "Liveness, with the version and commit of the build", "responses": {"200": {"description": "The node is up: `node`, `status` (`ok`), `version`, `commit`, `started_at`."}}}
            },
            "/readyz": {
                "get": {"summary": "Readiness: the database answers and the node is in its registry", "responses": {
                    "200": {"description": "Ready: `status` `ready`, `version`, `commit`, `checks` (`database`, `registry`, `registry_serial`)."},
                    "503": {"description": "Not ready: `status` `not_ready` and the failed check (`database`: `unavailable` or `timed_out`; `registry`: `node_not_listed`)."}
                }}
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (text format 0.0.4): outbox backlog per peer, peer outages, delivery latency histogram, delivery failures by peer and reason, envelopes refused by sender and code, acknowledgement deadlines pending and missed, ledger size, HTTP requests by route, method and status, registry serial, build. No token from the node's own host (a local scraper); from elsewhere an auditor's or administrator's token.",
                    "security": [{}, {"bearer": []}],
                    "responses": {
                        "200": {"description": "Metrics.", "content": {"text/plain": {"schema": {"type": "string"}}}},
                        "401": error_response("`unauthorized`: a token is needed from another host"),
                        "403": error_response("`forbidden`: neither auditor nor administrator")
                    }
                }
            },
            "/federation/v1/envelopes": {
                "post": {
                    "summary": "Deliver an envelope (node to node)",
                    "description": "Checks, in order: size, encoding, known sender, signature, recipient, freshness, replay (same receipt again), kind, payload. See PROTOCOL.md.",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}},
                    "responses": {
                        "201": {"description": "Stored; the signed receipt.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Receipt"}}}},
                        "200": {"description": "Already received; the same receipt again.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Receipt"}}}},
                        "400": error_response("`malformed_envelope`, `stale_envelope`, `incomplete_body`"),
                        "401": error_response("`bad_signature`"),
                        "403": error_response("`unknown_sender`"),
                        "408": error_response("`request_timeout`"),
                        "409": error_response("`envelope_id_taken` (the id was another sender's), `history_conflict` (a status update would rewrite the history)"),
                        "413": error_response("`envelope_too_large`"),
                        "415": error_response("`unsupported_media_type`"),
                        "421": error_response("`wrong_recipient`"),
                        "422": error_response("`unsupported_kind`, `undecryptable_payload`, `invalid_payload`, `unknown_request`"),
                        "500": error_response("`internal`")
                    }
                }
            }
        }
    })
}
