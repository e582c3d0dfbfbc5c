//! The console's cooperation steps over HTTP, as officers, supervisors, auditors and admins use
//! them and as each tries what their role must not do: a preservation filed through the form
//! (errors next to their fields first), answered on the requested node (a refusal without
//! grounds refused), four eyes on approval, the auditor kept out of cases, users managed by
//! the admin, and the inbox's event stream.

use std::time::Duration;

use hanoinet_node::ops::signin;
use reqwest::header;
use serde_json::Value;

use crate::harness::*;

both_backends!(
    console_files_answers_and_follows_a_preservation,
    console_four_eyes_and_roles,
    console_admin_manages_users,
    console_inbox_streams_changes,
    console_inbox_puts_what_needs_action_first
);

pub const PASSWORD: &str = "night shift at the 24/7 desk";

/// A signed-in console user of one node.
pub struct Session {
    b: reqwest::Client,
    base: String,
    origin: String,
    cookie: String,
    pub csrf: String,
}

pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub html: String,
}

impl Session {
    /// Enrols user `name` of node `i` with [`PASSWORD`] and signs them in.
    pub async fn open(net: &Net, i: usize, name: &str) -> Self {
        let node = &net.node(i).state;
        let e = signin::enrol(node, name, PASSWORD, "operator".into())
            .await
            .unwrap();
        let secret = signin::secret_from_base32(&e.secret_base32).unwrap();
        Self::sign_in(net, i, name, PASSWORD, &secret).await
    }

    pub async fn sign_in(net: &Net, i: usize, name: &str, password: &str, secret: &[u8]) -> Self {
        let base = net.url(i).trim_end_matches('/').to_owned();
        let origin = base.clone();
        let b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let code = signin::current_code(secret, net.clock.now()).unwrap();
        let r = b
            .post(format!("{base}/sign-in"))
            .header(header::ORIGIN, &origin)
            .form(&[("username", name), ("password", password), ("code", &code)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{name} signs in");
        let cookie = r.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let mut s = Self {
            b,
            base,
            origin,
            cookie,
            csrf: String::new(),
        };
        let home = s.get("/settings").await;
        s.csrf = home
            .html
            .split(r#"name="csrf" value=""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_owned();
        s
    }

    async fn answer(r: reqwest::Response) -> Answer {
        Answer {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get(header::LOCATION)
                .map(|v| v.to_str().unwrap().to_owned()),
            html: r.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        Self::answer(
            self.b
                .get(format!("{}{path}", self.base))
                .header(header::COOKIE, &self.cookie)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// A form post with this session's CSRF token added.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        let mut all: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(form);
        self.post_raw(path, &all).await
    }

    /// A form post exactly as given (no CSRF token unless it is in `form`).
    pub async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        Self::answer(
            self.b
                .post(format!("{}{path}", self.base))
                .header(header::COOKIE, &self.cookie)
                .header(header::ORIGIN, &self.origin)
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

/// The form fields of the harness's preservation, as an officer types them.
fn preservation_form(to: &str) -> Vec<(String, String)> {
    form_of(preservation(to))
}

/// A request body as the form fields an officer fills in.
fn form_of(body: Value) -> Vec<(String, String)> {
    let Value::Object(o) = body else {
        unreachable!()
    };
    o.into_iter()
        .filter(|(k, _)| k != "type")
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s,
                Value::Bool(b) => b.to_string(),
                other => other.to_string(),
            };
            (k, v)
        })
        .collect()
}

fn borrowed(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn request_id(location: &str) -> String {
    location.trim_start_matches("/requests/").to_owned()
}

async fn console_files_answers_and_follows_a_preservation(
    backend: hanoinet_store::testing::Backend,
) {
    let net = Net::start(backend).await;
    let vnm = Session::open(&net, VNM, "officer").await;
    let fra = Session::open(&net, FRA, "officer").await;

    // The form is generated from the catalogue: every field labelled with its article.
    let form = vnm.get("/requests/new/preservation").await;
    assert_eq!(form.status, 200);
    assert!(
        form.html.contains("Data to preserve") && form.html.contains("Art. 42"),
        "{}",
        form.html
    );

    // Sent half-filled: 422, the form again with what was typed and each error by its field.
    let half = [
        ("to", "FRA/247"),
        ("offence", "ICT fraud"),
        ("action", "send"),
    ];
    let r = vnm.post("/requests/new/preservation", &half).await;
    assert_eq!(r.status, 422, "{}", r.html);
    assert!(r.html.contains(r#"id="e-data_to_preserve""#), "{}", r.html);
    assert!(r.html.contains("This field is required."));
    assert!(
        r.html.contains(">ICT fraud</textarea>"),
        "what was typed is kept"
    );
    assert!(r.html.contains(r#"aria-invalid="true""#));
    assert!(
        net.list(VNM, "outgoing").await.is_empty(),
        "nothing was created"
    );

    // Complete: created and sent, the request's page next.
    let mut full = preservation_form("FRA/247");
    full.push(("action".into(), "send".into()));
    let r = vnm
        .post("/requests/new/preservation", &borrowed(&full))
        .await;
    assert_eq!(r.status, 303, "{}", r.html);
    let id = request_id(r.location.as_deref().unwrap());
    let created = net.get(VNM, &id).await;
    assert_eq!(created["type"], "preservation");
    assert_eq!(created["mla_request_to_follow"], true, "{created}");
    net.wait_status(FRA, &id, "delivered").await;

    // France sees it in the inbox and opens it: the moves the table allows, with the grounds.
    let inbox = fra.get("/inbox").await;
    assert!(inbox.html.contains(&id), "{}", inbox.html);
    let page = fra.get(&format!("/requests/{id}")).await;
    assert_eq!(page.status, 200);
    for m in ["acknowledged", "accepted", "refused"] {
        assert!(
            page.html.contains(&format!(r#"value="{m}""#)),
            "move {m}: {}",
            page.html
        );
    }
    assert!(page.html.contains(r#"value="essential_interests""#));

    // A refusal without grounds: refused, the reason shown, nothing changed.
    let r = fra
        .post(
            &format!("/requests/{id}/move"),
            &[("status", "refused"), ("explanation", "No.")],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.html);
    assert!(r.html.contains(r#"id="move-errors""#), "{}", r.html);
    assert_eq!(net.get(FRA, &id).await["status"], "delivered");

    // A move without the CSRF token is refused.
    let r = fra
        .post_raw(
            &format!("/requests/{id}/move"),
            &[("status", "acknowledged")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(net.get(FRA, &id).await["status"], "delivered");

    // Acknowledge, then accept.
    for status in ["acknowledged", "accepted"] {
        let r = fra
            .post(&format!("/requests/{id}/move"), &[("status", status)])
            .await;
        assert_eq!(r.status, 303, "{status}: {}", r.html);
    }
    net.wait_status(VNM, &id, "accepted").await;
    let mine = vnm.get(&format!("/requests/{id}")).await;
    assert!(
        mine.html
            .contains(r#"<strong id="status">accepted</strong>"#),
        "{}",
        mine.html
    );
    assert!(mine.html.contains(r#"id="preserved-until""#));
    assert!(mine.html.contains("Acknowledge") || mine.html.contains("acknowledged"));

    // The request's ledger entries, each with its inclusion proof checked.
    let proofs = |html: &str| html.matches("proof-ok").count();
    let before = proofs(&mine.html);
    assert!(before >= 3, "{}", mine.html);
    assert!(!mine.html.contains("DOES NOT VERIFY"));

    // Entries logged before the subject index existed are indexed at start-up.
    let store = net.store(VNM);
    hanoinet_store::tamper::execute_raw(store, "DELETE FROM ledger_subjects")
        .await
        .unwrap();
    hanoinet_store::tamper::execute_raw(
        store,
        "UPDATE ledger_state SET subjects_from = size, subjects_backfilled = 0",
    )
    .await
    .unwrap();
    let first_index = |html: &str| -> u64 {
        html.split(r#"<tbody><tr><td>"#)
            .nth(1)
            .and_then(|r| r.split('<').next())
            .unwrap()
            .parse()
            .unwrap()
    };
    let created_at = first_index(&mine.html);
    let without = first_index(&vnm.get(&format!("/requests/{id}")).await.html);
    assert!(without > created_at, "the old entries are not listed");
    store.backfill_ledger_subjects().await.unwrap();
    let index = first_index(&vnm.get(&format!("/requests/{id}")).await.html);
    assert_eq!(index, created_at, "indexed again");

    // An entry rewritten in the database: its proof no longer verifies, and the page says so.
    hanoinet_store::tamper::execute_raw(
        store,
        &format!(
            "UPDATE ledger_entries SET entry = (SELECT entry FROM ledger_entries WHERE idx = {}) WHERE idx = {index}",
            index + 1
        ),
    )
    .await
    .unwrap();
    let after = vnm.get(&format!("/requests/{id}")).await;
    assert!(after.html.contains("DOES NOT VERIFY"), "{}", after.html);

    // The same page in Vietnamese for a Vietnamese officer who chose it.
    let r = vnm
        .post(
            "/settings",
            &[("language", "vi"), ("time_zone", "Asia/Ho_Chi_Minh")],
        )
        .await;
    assert_eq!(r.status, 303);
    let vi = vnm.get(&format!("/requests/{id}")).await;
    assert!(vi.html.contains(r#"<html lang="vi""#));
    assert!(vi.html.contains("đã chấp nhận"), "{}", vi.html);
    assert_no_english(&vi.html, "vi");
}

/// No English message text shows on a page rendered in another language (a missing key, or a
/// string written outside the message files, would): every English message of some length
/// that the language translates differently must not be on the page.
pub fn assert_no_english(html: &str, lang: &str) {
    let messages = |text: &str| -> std::collections::HashMap<String, String> {
        text.lines()
            .filter_map(|l| l.split_once(" = "))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect()
    };
    let english = messages(include_str!("../../locales/en/console.ftl"));
    let path = format!("{}/locales/{lang}/console.ftl", env!("CARGO_MANIFEST_DIR"));
    let theirs = messages(&std::fs::read_to_string(&path).unwrap());
    // Case data and names are marked `translate="no"` (they are not the console's text).
    let mut html = html.to_owned();
    while let Some(a) = html.find(r#"translate="no">"#) {
        let start = a + r#"translate="no">"#.len();
        let end = html[start..].find("</").map_or(html.len(), |e| start + e);
        html.replace_range(a..end, "");
    }
    let visible = visible_text(&html);
    for (key, text) in &english {
        if text.len() >= 10
            && !text.contains('{')
            && !text.contains('%')
            && theirs.get(key) != Some(text)
        {
            // As a whole phrase: "Instrument" inside "Instrumento" is Spanish.
            let whole = visible.match_indices(text.as_str()).any(|(i, _)| {
                let before = visible[..i].chars().next_back();
                let after = visible[i + text.len()..].chars().next();
                !before.is_some_and(char::is_alphabetic) && !after.is_some_and(char::is_alphabetic)
            });
            assert!(
                !whole,
                "{lang}: English on the page: {text:?} ({key})\n{visible}"
            );
        }
    }
}

fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

async fn console_four_eyes_and_roles(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let officer = Session::open(&net, VNM, "officer").await;
    let supervisor = Session::open(&net, VNM, "supervisor").await;
    let auditor = Session::open(&net, VNM, "auditor").await;

    // An interception needs a supervisor's approval (node policy): "send" submits it. The
    // form is filled with the catalogue's own example.
    let mut form = form_of(hanoinet_core::catalogue::examples::example(
        hanoinet_core::request::RequestType::Interception,
        "FRA/247",
        "",
    ));
    form.push(("action".into(), "send".into()));
    let r = officer
        .post("/requests/new/interception", &borrowed(&form))
        .await;
    if r.status != 303 {
        // The form names what the catalogue wants: keep this test in step with it.
        panic!("interception form: {}", r.html);
    }
    let id = request_id(r.location.as_deref().unwrap());
    assert_eq!(net.get(VNM, &id).await["status"], "awaiting_approval");

    // The officer cannot approve; the supervisor's queue lists it with an approve button.
    let r = officer.post(&format!("/requests/{id}/approve"), &[]).await;
    assert_eq!(r.status, 403, "{}", r.html);
    let queue = supervisor.get("/approvals").await;
    assert!(
        queue.html.contains(&id) && queue.html.contains(&format!("/requests/{id}/approve")),
        "{}",
        queue.html
    );
    assert_eq!(officer.get("/approvals").await.status, 403);

    // The supervisor's own request: no button, and a forced post is refused (four eyes).
    let r = supervisor
        .post("/requests/new/interception", &borrowed(&form))
        .await;
    assert_eq!(r.status, 303, "{}", r.html);
    let own = request_id(r.location.as_deref().unwrap());
    let queue = supervisor.get("/approvals").await;
    assert!(!queue.html.contains(&format!("/requests/{own}/approve")));
    let r = supervisor
        .post(&format!("/requests/{own}/approve"), &[])
        .await;
    assert_eq!(r.status, 403);
    assert!(r.html.contains("Four eyes"), "{}", r.html);
    assert_eq!(net.get(VNM, &own).await["status"], "awaiting_approval");

    // The other one is approved, and goes.
    let r = supervisor
        .post(&format!("/requests/{id}/approve"), &[])
        .await;
    assert_eq!(r.status, 303, "{}", r.html);
    net.wait_status(FRA, &id, "delivered").await;

    // The auditor sees the ledger, never a case; no link to a case on their pages.
    for path in [
        format!("/requests/{id}"),
        "/inbox".into(),
        "/outgoing".into(),
        "/requests/new".into(),
    ] {
        let r = auditor.get(&path).await;
        assert_eq!(r.status, 403, "{path}");
        assert!(!r.html.contains(&id), "{path}");
    }
    let audit = auditor.get("/audit").await;
    assert_eq!(audit.status, 200);
    assert!(audit.html.contains(r#"id="tree-size""#), "{}", audit.html);
    assert!(!audit.html.contains("/requests/"));
    let r = auditor
        .post(&format!("/requests/{id}/move"), &[("status", "withdrawn")])
        .await;
    assert_eq!(r.status, 403);

    // The registry is for every role.
    let reg = auditor.get("/registry").await;
    assert!(
        reg.html.contains("<svg") && reg.html.contains("VNM"),
        "{}",
        reg.html
    );
}

async fn console_admin_manages_users(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let admin = Session::open(&net, VNM, "admin").await;
    let officer = Session::open(&net, VNM, "officer").await;

    // Only the admin opens administration; the admin opens no case.
    assert_eq!(officer.get("/admin").await.status, 403);
    assert_eq!(admin.get("/inbox").await.status, 403);
    let page = admin.get("/admin").await;
    assert!(page.html.contains("supervisor") && page.html.contains("auditor"));

    // A new user: the QR code and the secret, shown once; they can sign in with them.
    let r = admin
        .post(
            "/admin/users",
            &[
                ("username", "night-duty-2"),
                ("role", "officer"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.html);
    assert!(
        r.html.contains("<svg") && r.html.contains("<path"),
        "a QR code"
    );
    let secret = r
        .html
        .split(r#"<code id="totp-secret">"#)
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .to_owned();
    let new = Session::sign_in(
        &net,
        VNM,
        "night-duty-2",
        "a long enough password",
        &signin::secret_from_base32(&secret).unwrap(),
    )
    .await;
    assert_eq!(new.get("/inbox").await.status, 200);

    // Bad input: a clear message, nothing added.
    for (name, password) in [("bad name!", "a long enough password"), ("short", "short")] {
        let r = admin
            .post(
                "/admin/users",
                &[
                    ("username", name),
                    ("role", "officer"),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(r.status, 422, "{name}");
        assert!(r.html.contains(r#"id="admin-error""#));
    }
    let r = admin
        .post(
            "/admin/users",
            &[
                ("username", "officer"),
                ("role", "officer"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "a name already taken");

    // Disabling ends the user's session at once; the admin cannot disable themself.
    let r = admin.post("/admin/users/night-duty-2/disable", &[]).await;
    assert_eq!(r.status, 303);
    assert_eq!(new.get("/inbox").await.status, 303, "signed out");
    let r = admin.post("/admin/users/admin/disable", &[]).await;
    assert_eq!(r.status, 409);

    // Resetting the officer's sign-in ends their session; the old secret stops working.
    let r = admin
        .post(
            "/admin/users/officer/reset",
            &[("password", "a brand new password")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.html);
    assert_eq!(officer.get("/inbox").await.status, 303);

    // The ledger names the admin for each change.
    let logged = eventually(Duration::from_secs(20), || async {
        let h = crate::ledger::head(&net, VNM).await;
        let events =
            crate::ledger::events_of(&crate::ledger::entries(&net, VNM, h.head.tree_size).await);
        ["user_created", "user_disabled", "console_enrolled"]
            .iter()
            .all(|e| events.iter().any(|x| x == e))
    })
    .await;
    assert!(
        logged,
        "user_created, user_disabled and console_enrolled in the ledger"
    );
}

async fn console_inbox_streams_changes(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let fra = Session::open(&net, FRA, "officer").await;
    let mut stream = fra
        .b
        .get(format!("{}/console/events", fra.base))
        .header(header::COOKIE, &fra.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream.headers()[header::CONTENT_TYPE].to_str().unwrap(),
        "text/event-stream"
    );
    // Let the stream take its first look, then a request arrives.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let id = net.send(VNM, FRA).await;
    net.wait_status(FRA, &id, "delivered").await;
    let mut seen = String::new();
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: changed") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(got, "no change event: {seen:?}");
    let rows = fra.get("/inbox/rows").await;
    assert!(rows.html.contains(&id) && !rows.html.contains("<html"));

    // Without a session there is no stream.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/console/events", fra.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
}

/// The 24/7 inbox: awaiting acknowledgement first, emergencies first among them, then by
/// deadline; what was already acknowledged after.
async fn console_inbox_puts_what_needs_action_first(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let vnm = Session::open(&net, VNM, "officer").await;
    let acknowledged = net.send(FRA, VNM).await;
    let normal = net.send(FRA, VNM).await;
    let mut body = preservation("VNM/247");
    body["urgency"] = serde_json::json!("emergency");
    body["emergency_reason"] = serde_json::json!("A child is at risk of abuse tonight.");
    let (s, v) = net.create(FRA, body).await;
    assert_eq!(s, 201, "{v}");
    let emergency = v["id"].as_str().unwrap().to_owned();
    for id in [&acknowledged, &normal, &emergency] {
        net.wait_status(VNM, id, "delivered").await;
    }
    let (s, v) = net
        .move_to(
            VNM,
            &acknowledged,
            serde_json::json!({"status": "acknowledged"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let html = vnm.get("/inbox").await.html;
    let at = |id: &str| {
        html.find(id)
            .unwrap_or_else(|| panic!("{id} not in the inbox"))
    };
    assert!(at(&emergency) < at(&normal), "the emergency first");
    assert!(
        at(&normal) < at(&acknowledged),
        "what awaits acknowledgement first"
    );
    assert!(html.contains(r#"<tr class="emergency">"#));
}
