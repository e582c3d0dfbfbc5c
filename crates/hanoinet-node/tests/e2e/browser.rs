//! The console in a real browser: Debian's Chromium driven through chromedriver (WebDriver,
//! with `fantoccini`), against real nodes on loopback, on SQLite and PostgreSQL. Every page a
//! test visits is checked with axe-core (no serious or critical violation) and weighed (at most
//! 150 KB with its CSS and JS), and a screenshot of it is kept under
//! `target/browser-screenshots/`.
//!
//! `scripts/test` installs `chromium` and `chromium-driver` when they are missing; set
//! `CHROMEDRIVER` and `CHROME` to use others.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hanoinet_node::ops::signin;
use serde_json::{Value, json};

use crate::harness::*;

both_backends!(
    browser_vnm_files_a_preservation_and_fra_answers_it,
    browser_four_eyes_and_the_auditor,
    browser_data_with_their_conditions
);

/// A citizen reports a scam on a phone, in Arabic (right to left), on the public side: the form,
/// its faults, the code and secret, the status; every page accessible and not wider than the
/// phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_a_citizen_reports_on_a_phone_in_arabic() {
    let net = Net::start_with(
        hanoinet_store::testing::Backend::Sqlite,
        &IDS,
        std::sync::Arc::new(hanoinet_core::SystemClock),
        |n| {
            if n.id.as_str() == "VNM/247" {
                let path = n.dir.join("node.json");
                let mut config: Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                config["public"] = json!({"listen": "127.0.0.1:0"});
                std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
            }
        },
    )
    .await;
    let base = format!("http://{}", net.node(VNM).public_addr.unwrap());
    let driver = Driver::start().await;
    let p = Page::new(
        driver.browser_sized(390, 844, "ar").await,
        &base,
        "public-phone-ar",
    );
    // The browser's language chooses Arabic.
    p.goto("/").await;
    assert_eq!(p.js("return document.documentElement.dir;").await, "rtl");
    p.check("home").await;
    p.goto("/report").await;
    p.check("report").await;
    // A fault first: a phone number that is not one.
    p.find("#category")
        .await
        .select_by_value("scam_call")
        .await
        .unwrap();
    p.type_into("#description", "اتصل بي شخص ادعى أنه من المصرف")
        .await;
    p.find("#ind_type_0")
        .await
        .select_by_value("phone")
        .await
        .unwrap();
    p.type_into("#ind_value_0", "ليس رقما").await;
    p.submit("button[type=submit]").await;
    assert!(p.has("#errors").await);
    assert_eq!(
        p.js("return document.querySelector('#ind_value_0').getAttribute('aria-invalid');")
            .await,
        "true"
    );
    p.check("report-faults").await;
    // Corrected: the code and the secret.
    p.type_into("#ind_value_0", "0912 345 678").await;
    p.submit("button[type=submit]").await;
    let code = p.text("#report-code").await;
    let secret = p.text("#report-secret").await;
    assert!(code.starts_with("VN-"), "{code}");
    p.check("reported").await;
    p.goto("/status").await;
    p.type_into("#code", &code).await;
    p.type_into("#secret", &secret).await;
    p.submit("button[type=submit]").await;
    assert!(p.text("#report-status").await.contains("مستلم"));
    p.check("status").await;
    p.goto("/check?type=phone&value=0912345678").await;
    assert!(p.has("#check-result").await);
    p.check("check").await;
    p.goto("/warnings").await;
    p.check("warnings").await;
    p.c.close().await.unwrap();
}

/// Every page in every language (on SQLite: the pages are the same on both backends).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_every_page_in_every_language() {
    browser_every_page(hanoinet_store::testing::Backend::Sqlite).await
}

/// Largest page, with its CSS and JS (bytes).
const MAX_PAGE_BYTES: f64 = 150.0 * 1024.0;
const AXE: &str = include_str!("../fixtures/axe-core-4.14.1.min.js");
const PASSWORD: &str = "night shift at the 24/7 desk";

/// A chromedriver process for one test (killed when dropped).
pub struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub async fn start() -> Self {
        let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {bin} ({e}): the browser tests need Chromium and chromedriver \
                     (apt-get install chromium chromium-driver; scripts/test does it)"
                )
            });
        let d = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let status = format!("{}/status", d.url);
        let ready = eventually(Duration::from_secs(20), || async {
            reqwest::get(&status).await.is_ok_and(|r| r.status() == 200)
        })
        .await;
        assert!(ready, "chromedriver did not start on port {port}");
        d
    }

    /// A new browser (its own profile, so its own cookies), 1280×720, headless.
    pub async fn browser(&self) -> Client {
        self.browser_sized(1280, 720, "en-US").await
    }

    /// A new browser with this window and language (a phone: 390×844).
    pub async fn browser_sized(&self, width: u32, height: u32, lang: &str) -> Client {
        let chrome = std::env::var("CHROME").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chrome,
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--disable-gpu", format!("--window-size={width},{height}"), format!("--lang={lang}"),
                         "--force-device-scale-factor=1", "--hide-scrollbars"],
                "prefs": {"intl.accept_languages": lang},
            },
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open Chromium through chromedriver: {e}"))
    }
}

/// Where screenshots go: `target/browser-screenshots/<group>/<name>.png`.
fn shots_dir(group: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    let dir = target.join("browser-screenshots").join(group);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One browser on one node's console, with the checks every page passes.
pub struct Page {
    pub c: Client,
    pub base: String,
    group: String,
}

impl Page {
    pub fn new(c: Client, base: &str, group: &str) -> Self {
        Self {
            c,
            base: base.trim_end_matches('/').to_owned(),
            group: group.to_owned(),
        }
    }

    pub async fn goto(&self, path: &str) {
        self.c.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    pub async fn path(&self) -> String {
        self.c.current_url().await.unwrap().path().to_owned()
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on {}: {e}", self.base))
    }

    pub async fn has(&self, css: &str) -> bool {
        !self.c.find_all(Locator::Css(css)).await.unwrap().is_empty()
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    /// Clicks something that loads a new page, and waits until the new page is there (so that
    /// nothing is read from the old one).
    pub async fn submit(&self, css: &str) {
        self.js("window.__hn_old_page = true; return 1;").await;
        self.click(css).await;
        let c = self.c.clone();
        let loaded = eventually(Duration::from_secs(15), || {
            let c = c.clone();
            async move {
                c.execute(
                    "return window.__hn_old_page === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await
                .is_ok_and(|v| v == Value::Bool(true))
            }
        })
        .await;
        assert!(loaded, "{css} did not load a page");
    }

    /// Ticks a checkbox (leaves it ticked if it is).
    pub async fn tick(&self, css: &str) {
        let e = self.find(css).await;
        if !e.is_selected().await.unwrap() {
            e.click().await.unwrap();
        }
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    pub async fn js(&self, script: &str) -> Value {
        self.c.execute(script, vec![]).await.unwrap()
    }

    /// axe-core on this page: no serious or critical violation of WCAG 2.0–2.2 A/AA.
    pub async fn accessible(&self, name: &str) {
        let found = self.violations().await;
        assert!(
            found.is_empty(),
            "{name}: accessibility violations: {found:#?}"
        );
    }

    /// The serious and critical WCAG violations axe-core finds on this page.
    pub async fn violations(&self) -> Vec<String> {
        self.c.execute(AXE, vec![]).await.unwrap();
        let found = self
            .c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: {type: 'tag', values:
                     ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})
                   .then(r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ' (' + v.impact + '): ' +
                          v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))))
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(found).unwrap()
    }

    /// The page with its CSS and JS, in bytes (uncompressed).
    pub async fn weight(&self) -> f64 {
        self.js(
            "return new Blob([document.documentElement.outerHTML]).size +
               performance.getEntriesByType('resource')
                 .filter(e => e.initiatorType !== 'fetch' && e.initiatorType !== 'xmlhttprequest'
                              && e.initiatorType !== 'other')
                 .reduce((a, e) => a + (e.decodedBodySize || 0), 0);",
        )
        .await
        .as_f64()
        .unwrap()
    }

    /// Every check a page passes, and its screenshot kept.
    pub async fn check(&self, name: &str) {
        self.accessible(name).await;
        let w = self.weight().await;
        assert!(w <= MAX_PAGE_BYTES, "{name} weighs {w} bytes");
        // Usable in its window (1280×720, or a phone's): nothing wider than the window.
        let overflow = self
            .js("return document.documentElement.scrollWidth > window.innerWidth;")
            .await;
        assert_eq!(overflow, Value::Bool(false), "{name} scrolls sideways");
        let png = self.c.screenshot().await.unwrap();
        std::fs::write(shots_dir(&self.group).join(format!("{name}.png")), png).unwrap();
    }

    pub async fn sign_in(&self, name: &str, password: &str, code: &str) {
        self.goto("/sign-in").await;
        self.type_into("#username", name).await;
        self.type_into("#password", password).await;
        self.type_into("#code", code).await;
        self.submit("form[action='/sign-in'] button[type=submit]")
            .await;
    }
}

/// Enrols user `name` of node `i` and returns its TOTP secret.
async fn enrol(net: &Net, i: usize, name: &str) -> Vec<u8> {
    let e = signin::enrol(&net.node(i).state, name, PASSWORD, "operator".into())
        .await
        .unwrap();
    signin::secret_from_base32(&e.secret_base32).unwrap()
}

fn code(net: &Net, secret: &[u8]) -> String {
    signin::current_code(secret, net.clock.now()).unwrap()
}

fn group(backend: hanoinet_store::testing::Backend, test: &str) -> String {
    format!("{test}-{backend:?}").to_lowercase()
}

async fn browser_vnm_files_a_preservation_and_fra_answers_it(
    backend: hanoinet_store::testing::Backend,
) {
    let net = Net::start(backend).await;
    let driver = Driver::start().await;
    let g = group(backend, "preservation");
    let vnm_secret = enrol(&net, VNM, "officer").await;
    let fra_secret = enrol(&net, FRA, "officer").await;
    let vnm = Page::new(driver.browser().await, net.url(VNM), &g);
    let fra = Page::new(driver.browser().await, net.url(FRA), &g);

    // A wrong code: the sign-in page again, with the one message for every wrong input.
    vnm.goto("/sign-in").await;
    vnm.check("sign-in").await;
    // The accessibility check can fail: an unlabelled field and unreadable text are found.
    vnm.js("document.body.insertAdjacentHTML('beforeend', \
            '<input id=\"canary\"><p style=\"color:#eee\">faint</p>'); return 1;")
        .await;
    let found = vnm.violations().await;
    assert!(
        found.iter().any(|v| v.starts_with("label")),
        "axe missed an unlabelled field: {found:?}"
    );
    vnm.sign_in("officer", PASSWORD, "000000").await;
    assert_eq!(
        vnm.text("#sign-in-error").await,
        "Wrong username, password or code."
    );
    assert_eq!(vnm.path().await, "/sign-in");

    // VNM's officer signs in with the code of the moment.
    vnm.sign_in("officer", PASSWORD, &code(&net, &vnm_secret))
        .await;
    vnm.find("#inbox-rows").await;
    assert_eq!(vnm.path().await, "/inbox");
    vnm.check("inbox-empty").await;

    // France's officer opens the inbox and leaves it open.
    fra.sign_in("officer", PASSWORD, &code(&net, &fra_secret))
        .await;
    fra.find("#inbox-rows").await;

    // VNM files a preservation through the form: the chooser, then the form of the type.
    vnm.goto("/requests/new").await;
    vnm.check("new-request").await;
    vnm.submit("a[href='/requests/new/preservation']").await;
    vnm.find("#f-data_to_preserve").await;
    vnm.check("new-preservation").await;
    // Sent half-filled first: the errors show next to their fields.
    vnm.find("#f-to")
        .await
        .select_by_value("FRA/247")
        .await
        .unwrap();
    vnm.type_into("#f-offence", "ICT fraud (Art. 13)").await;
    vnm.submit("button[value=send]").await;
    vnm.find("#e-data_to_preserve").await;
    assert_eq!(vnm.path().await, "/requests/new/preservation");
    vnm.check("new-preservation-errors").await;
    let Value::Object(fields) = preservation("FRA/247") else {
        unreachable!()
    };
    for (k, v) in &fields {
        let css = format!("#f-{k}");
        match v {
            Value::Bool(true) => vnm.tick(&css).await,
            Value::String(s) if k == "offence_category" || k == "legal_basis" => {
                vnm.find(&css).await.select_by_value(s).await.unwrap();
            }
            Value::String(s) if k != "type" && k != "to" => vnm.type_into(&css, s).await,
            _ => {}
        }
    }
    vnm.submit("button[value=send]").await;
    vnm.find("#status").await;
    let id = vnm.path().await.trim_start_matches("/requests/").to_owned();
    assert_eq!(id.len(), 36, "on the request's page, not {id}");
    vnm.check("request-outgoing").await;

    // France's inbox shows it without a reload (the event stream fetches the table again).
    let marker = fra.js("window.__same_page = 42; return 1;").await;
    assert_eq!(marker, json!(1));
    fra.find(&format!("#inbox-rows a[href='/requests/{id}']"))
        .await;
    assert_eq!(
        fra.js("return window.__same_page;").await,
        json!(42),
        "the inbox page was reloaded"
    );
    // The acknowledgement deadline counts down.
    let countdown = fra.text(".countdown").await;
    assert!(
        countdown.contains("left") || countdown.contains("overdue"),
        "{countdown}"
    );
    fra.check("inbox-one").await;

    // France opens it; a refusal without grounds shows the error, nothing changes.
    fra.submit(&format!("#inbox-rows a[href='/requests/{id}']"))
        .await;
    fra.find("#move-refused").await;
    fra.check("request-incoming").await;
    fra.type_into("#explanation-refused", "No.").await;
    fra.submit("#move-refused").await;
    fra.find("#move-errors").await;
    assert!(fra.text("#move-errors").await.contains("required"));
    assert_eq!(net.get(FRA, &id).await["status"], "delivered");
    fra.check("request-refusal-errors").await;

    // A form without its CSRF token (as a forged page would send) is refused.
    fra.js("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove()); return 1;")
        .await;
    fra.submit("#move-acknowledged").await;
    assert!(fra.text("main").await.contains("out of date"));
    assert_eq!(net.get(FRA, &id).await["status"], "delivered");

    // Acknowledge, accept.
    fra.goto(&format!("/requests/{id}")).await;
    fra.submit("#move-acknowledged").await;
    fra.find("#move-accepted").await;
    fra.submit("#move-accepted").await;
    fra.find("#status").await;
    net.wait_status(VNM, &id, "accepted").await;

    // VNM sees "accepted" and the preservation date.
    vnm.goto(&format!("/requests/{id}")).await;
    assert_eq!(vnm.text("#status").await, "accepted");
    assert!(!vnm.text("#preserved-until").await.is_empty());
    vnm.check("request-accepted").await;

    // VNM asks for 30 more days of preservation (Art. 42): the message goes to France.
    vnm.type_into("#extend-days", "30").await;
    vnm.submit("#extend-send").await;
    vnm.find("#status").await;
    assert!(
        vnm.text("#h-messages + ul")
            .await
            .contains("Extension asked")
    );

    // The Arabic inbox reads right to left, its menu mirrored.
    fra.goto("/inbox?lang=ar").await;
    assert_eq!(
        fra.js("return getComputedStyle(document.body).direction;")
            .await,
        json!("rtl")
    );
    let (brand_x, menu_x) = (
        fra.find(".brand").await.rectangle().await.unwrap().0,
        fra.find(".menu").await.rectangle().await.unwrap().0,
    );
    assert!(brand_x > menu_x, "the brand is on the right in Arabic");
    fra.check("inbox-ar").await;

    // Sign-out, then the stolen cookie replayed: it opens nothing.
    let cookie = vnm
        .c
        .get_named_cookie(hanoinet_node::http::console::COOKIE)
        .await
        .unwrap();
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(format!("{:?}", cookie.same_site()), "Some(Strict)");
    vnm.submit("form[action='/sign-out'] button").await;
    vnm.find("#username").await;
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/inbox", vnm.base))
        .header(
            reqwest::header::COOKIE,
            format!("{}={}", cookie.name(), cookie.value()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 303, "a cookie replayed after sign-out");

    vnm.c.close().await.unwrap();
    fra.c.close().await.unwrap();
}

async fn browser_four_eyes_and_the_auditor(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let driver = Driver::start().await;
    let g = group(backend, "four-eyes");
    let officer_secret = enrol(&net, VNM, "officer").await;
    let supervisor_secret = enrol(&net, VNM, "supervisor").await;
    let auditor_secret = enrol(&net, VNM, "auditor").await;

    // The officer writes an interception (the API, for brevity: the form is tested above).
    let mut body = hanoinet_core::catalogue::examples::example(
        hanoinet_core::request::RequestType::Interception,
        "FRA/247",
        "",
    );
    body["type"] = json!("interception");
    let (s, v) = net.create(VNM, body.clone()).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(v["status"], "awaiting_approval");
    let _ = officer_secret;

    // The supervisor's own interception, written in the browser.
    let sup = Page::new(driver.browser().await, net.url(VNM), &g);
    sup.sign_in("supervisor", PASSWORD, &code(&net, &supervisor_secret))
        .await;
    sup.find("#inbox-rows").await;
    let (s, v) = net
        .call_as(
            net.supervisor(VNM),
            VNM,
            reqwest::Method::POST,
            "/api/v1/requests",
            Some(body),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let own = v["id"].as_str().unwrap().to_owned();

    // The queue: the officer's request has a button, the supervisor's own says why not.
    sup.goto("/approvals").await;
    sup.find(&format!("form[action='/requests/{id}/approve']"))
        .await;
    assert!(
        !sup.has(&format!("form[action='/requests/{own}/approve']"))
            .await
    );
    sup.check("approvals").await;
    sup.goto(&format!("/requests/{own}")).await;
    assert!(
        sup.text("#h-approval + p")
            .await
            .contains("another supervisor")
    );
    sup.check("request-own-awaiting-approval").await;

    // Approving the other: it goes.
    sup.goto("/approvals").await;
    sup.submit(&format!("form[action='/requests/{id}/approve'] button"))
        .await;
    sup.find("#status").await;
    net.wait_status(FRA, &id, "delivered").await;
    assert_eq!(net.get(VNM, &own).await["status"], "awaiting_approval");

    // The auditor: the ledger, and no case.
    let aud = Page::new(driver.browser().await, net.url(VNM), &g);
    aud.sign_in("auditor", PASSWORD, &code(&net, &auditor_secret))
        .await;
    aud.find("#tree-size").await;
    assert_eq!(aud.path().await, "/audit");
    aud.check("audit").await;
    aud.submit("#verify-now").await;
    let verdict = aud.text("#verify-result").await;
    assert!(verdict.contains("verified"), "{verdict}");
    aud.check("audit-verified").await;
    aud.goto(&format!("/requests/{id}")).await;
    assert!(!aud.text("main").await.contains(&id));
    assert!(!aud.has("#status").await, "the auditor opened a case");

    sup.c.close().await.unwrap();
    aud.c.close().await.unwrap();
}

/// Signs in every role of VNM, fills the node with one request of each kind of page, then
/// visits every console page in each of the seven languages (and a phone-sized window):
/// accessibility, weight, no sideways scrolling, no English left on a translated page, and a
/// screenshot of each.
async fn browser_every_page(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let driver = Driver::start().await;
    let officer = enrol(&net, VNM, "officer").await;
    let supervisor = enrol(&net, VNM, "supervisor").await;
    let auditor = enrol(&net, VNM, "auditor").await;
    let admin = enrol(&net, VNM, "admin").await;
    let analyst = enrol(&net, VNM, "analyst").await;
    // The demo's sample reports, for the response centre's pages.
    hanoinet_node::provision::sample_reports::seed(&net.node(VNM).state)
        .await
        .unwrap();
    let report = net
        .store(VNM)
        .reports(&hanoinet_store::ReportFilter {
            restricted: Some(false),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0)
        .id;
    let indicator = net
        .store(VNM)
        .indicators(&hanoinet_store::IndicatorFilter {
            status: None,
            kind: None,
            restricted: false,
            limit: 1,
        })
        .await
        .unwrap()
        .remove(0)
        .hash;
    // Something on every page: an incoming request, an outgoing one, one awaiting approval.
    let incoming = net.send(FRA, VNM).await;
    net.wait_status(VNM, &incoming, "delivered").await;
    let outgoing = net.send(VNM, FRA).await;
    let mut body = hanoinet_core::catalogue::examples::example(
        hanoinet_core::request::RequestType::Interception,
        "FRA/247",
        "",
    );
    body["type"] = json!("interception");
    let (s, v) = net.create(VNM, body).await;
    assert_eq!(s, 201, "{v}");
    let waiting = v["id"].as_str().unwrap().to_owned();

    let pages: Vec<(&str, Vec<String>)> = vec![
        (
            "officer",
            vec![
                "/inbox".into(),
                "/outgoing".into(),
                "/requests/new".into(),
                "/requests/new/preservation".into(),
                format!("/requests/{incoming}"),
                format!("/requests/{outgoing}"),
                "/alerts".into(),
                "/registry".into(),
                "/settings".into(),
            ],
        ),
        (
            "supervisor",
            vec!["/approvals".into(), format!("/requests/{waiting}")],
        ),
        ("auditor", vec!["/audit".into()]),
        ("admin", vec!["/admin".into()]),
        (
            "analyst",
            vec![
                "/reports".into(),
                format!("/reports/{report}"),
                "/indicators".into(),
                format!("/indicators/{indicator}"),
                "/warnings".into(),
                "/statistics".into(),
            ],
        ),
    ];
    let secrets = [
        ("officer", &officer),
        ("supervisor", &supervisor),
        ("auditor", &auditor),
        ("admin", &admin),
        ("analyst", &analyst),
    ];
    for (role, paths) in &pages {
        let secret = secrets.iter().find(|(r, _)| r == role).unwrap().1;
        let p = Page::new(driver.browser().await, net.url(VNM), "every-page");
        p.sign_in(role, PASSWORD, &code(&net, secret)).await;
        p.find("main h1").await;
        for lang in hanoinet_node::http::i18n::Lang::ALL {
            for path in paths {
                let sep = if path.contains('?') { '&' } else { '?' };
                p.goto(&format!("{path}{sep}lang={lang}")).await;
                p.find("main h1").await;
                let name = format!(
                    "{role}{}-{lang}",
                    path.replace(&incoming, "incoming")
                        .replace(&report, "report")
                        .replace(&indicator, "indicator")
                        .replace(&outgoing, "outgoing")
                        .replace(&waiting, "awaiting-approval")
                        .replace('/', "-")
                );
                assert_eq!(
                    p.js("return document.documentElement.lang;").await,
                    json!(lang.as_str()),
                    "{name}"
                );
                if *lang != hanoinet_node::http::i18n::Lang::En {
                    crate::console_flows::assert_no_english(
                        &p.c.source().await.unwrap(),
                        lang.as_str(),
                    );
                }
                p.check(&name).await;
            }
        }
        // On a phone: one column, nothing wider than the screen.
        p.c.set_window_size(390, 844).await.unwrap();
        for path in paths.iter().take(3) {
            p.goto(path).await;
            p.find("main h1").await;
            p.check(&format!(
                "{role}{}-phone",
                path.replace(&report, "report")
                    .replace(&indicator, "indicator")
                    .replace('/', "-")
                    .replace(&incoming, "incoming")
                    .replace(&outgoing, "outgoing")
                    .replace(&waiting, "awaiting-approval")
            ))
            .await;
        }
        p.c.close().await.unwrap();
    }
    // The sign-in page in every language.
    let p = Page::new(driver.browser().await, net.url(VNM), "every-page");
    for lang in hanoinet_node::http::i18n::Lang::ALL {
        p.goto(&format!("/sign-in?lang={lang}")).await;
        p.find("#username").await;
        p.check(&format!("sign-in-{lang}")).await;
    }
    p.c.close().await.unwrap();
}

/// France gives data on an accepted request through the form (conditions, a summary, a file,
/// the upload's progress); a transfer without its conditions is refused and its file dropped;
/// Viet Nam sees the data with their Art. 36 conditions and downloads the file.
async fn browser_data_with_their_conditions(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let driver = Driver::start().await;
    let g = group(backend, "data");
    let vnm_secret = enrol(&net, VNM, "officer").await;
    let fra_secret = enrol(&net, FRA, "officer").await;
    let id = net.send_stored_data(VNM, FRA).await;
    net.wait_status(FRA, &id, "delivered").await;
    let (s, v) = net.respond(FRA, &id, json!({"decision": "accept"})).await;
    assert_eq!(s, 201, "{v}");

    let fra = Page::new(driver.browser().await, net.url(FRA), &g);
    fra.sign_in("officer", PASSWORD, &code(&net, &fra_secret))
        .await;
    fra.find("#inbox-rows").await;
    fra.goto(&format!("/requests/{id}")).await;
    fra.find("#give-send").await;
    fra.check("give-form").await;

    let dir = hanoinet_store::testing::TempDir::new("upload");
    let file = dir.path().join("subscriber-records.csv");
    let content = "account,created\nx@example.fr,2026-01-02\n".repeat(2000);
    std::fs::write(&file, &content).unwrap();

    // Without a purpose: refused, nothing sent, the file not kept.
    fra.type_into("#give-use", "Only for case 2026/17").await;
    fra.type_into("#give-retention", "12312027").await;
    fra.find("#give-file")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    fra.click("#give-send").await;
    fra.find("#move-errors, .error").await;
    assert!(fra.text("#move-errors").await.contains("Purpose"));
    let (_, data) = net
        .call(
            FRA,
            reqwest::Method::GET,
            &format!("/api/v1/requests/{id}/data"),
            None,
        )
        .await;
    assert_eq!(data["transfers"].as_array().unwrap().len(), 0, "{data}");
    let kept = hanoinet_store::tamper::execute_raw(
        net.store(FRA),
        "DELETE FROM attachments WHERE transfer_id IS NULL",
    )
    .await
    .unwrap();
    assert_eq!(kept, 0, "the refused transfer's file was kept");

    // Complete: sent, with the upload's progress bar filled.
    fra.goto(&format!("/requests/{id}")).await;
    fra.type_into("#give-purpose", "Evidence in case 2026/17")
        .await;
    fra.type_into("#give-use", "Only for case 2026/17").await;
    fra.type_into("#give-retention", "12312027").await;
    fra.type_into("#give-results", "Subscriber records of the account.")
        .await;
    fra.find("#give-file")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    fra.submit("#give-send").await;
    fra.find("a[href*='/attachments/']").await;
    fra.check("request-data-given").await;

    // Viet Nam: the data with their conditions, and the file as sent.
    let vnm = Page::new(driver.browser().await, net.url(VNM), &g);
    vnm.sign_in("officer", PASSWORD, &code(&net, &vnm_secret))
        .await;
    vnm.find("#inbox-rows").await;
    let arrived = eventually(Duration::from_secs(20), || async {
        vnm.goto(&format!("/requests/{id}")).await;
        vnm.has("a[href*='/attachments/']").await
            && vnm
                .text("#h-data + div, #h-data ~ div")
                .await
                .contains("complete")
    })
    .await;
    assert!(arrived, "the data did not arrive");
    let page = vnm.text("main").await;
    assert!(page.contains("Evidence in case 2026/17") && page.contains("Only for case 2026/17"));
    vnm.check("request-data-received").await;
    let href = vnm
        .find("a[href*='/attachments/']")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let cookie = vnm
        .c
        .get_named_cookie(hanoinet_node::http::console::COOKIE)
        .await
        .unwrap();
    let got = reqwest::Client::new()
        .get(format!("{}{href}", vnm.base))
        .header(
            reqwest::header::COOKIE,
            format!("{}={}", cookie.name(), cookie.value()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.text().await.unwrap(), content);

    fra.c.close().await.unwrap();
    vnm.c.close().await.unwrap();
}
