//! The response centre in the console, as analysts use it and as the wrong people try it: the
//! queue grouped by shared indicators, a report's page (opened, in review), a confirmation
//! through the form that the public check then finds, a refused expiry shown next to its form,
//! notes, escalation to a draft an officer then sees, closing (the reporter's status follows),
//! the restricted queue withheld from analysts and hidden by default from csam analysts,
//! warnings published and refused, statistics and their CSV for officers; no CSRF, no entry.

use reqwest::Method;
use serde_json::json;

use crate::console_flows::Session;
use crate::harness::*;
use crate::response_centre::{analyst, centre, check, post_report, report_status};

both_backends!(analysts_triage_in_the_console);

/// The report id of the report with `code` (the analyst's API).
async fn id_of(net: &Net, code: &str) -> String {
    let (_, list) = net
        .call_as(analyst(net), VNM, Method::GET, "/api/v1/reports", None)
        .await;
    list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == code)
        .unwrap_or_else(|| panic!("{code} in {list}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn name_of_role(net: &Net, role: hanoinet_core::access::Role) -> impl Future<Output = String> {
    let store = net.store(VNM).clone();
    async move {
        store
            .list_users()
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.user.role == role)
            .unwrap()
            .user
            .name
    }
}

async fn analysts_triage_in_the_console(backend: hanoinet_store::testing::Backend) {
    use hanoinet_core::access::Role;
    let net = centre(backend).await;
    let mut codes = Vec::new();
    for (phone, words) in [
        ("0912 345 678", "The caller said my account was frozen."),
        (
            "+84912345678",
            "Same caller, asked for a transfer to a safe account.",
        ),
    ] {
        let (status, r) = post_report(
            &net,
            json!({"category": "impersonation_of_authority", "description": words,
                   "loss": {"amount": 2500000, "currency": "VND"},
                   "contact": "reporter@example.com", "consent": true,
                   "indicators": [{"type": "phone", "value": phone}]}),
        )
        .await;
        assert_eq!(status, 201, "{r}");
        codes.push((
            r["code"].as_str().unwrap().to_owned(),
            r["secret"].as_str().unwrap().to_owned(),
            r["indicators"][0]["hash"].as_str().unwrap().to_owned(),
        ));
    }
    let hash = codes[0].2.clone();
    assert_eq!(hash, codes[1].2, "one number, two spellings, one identity");
    let first = id_of(&net, &codes[0].0).await;
    let second = id_of(&net, &codes[1].0).await;

    let a = Session::open(&net, VNM, &name_of_role(&net, Role::Analyst).await).await;
    // The menu of an analyst opens the centre's pages, and the queue groups the two reports.
    let q = a.get("/reports").await;
    assert_eq!(q.status, 200, "{}", q.html);
    for page in ["/reports", "/indicators", "/warnings", "/statistics"] {
        assert!(q.html.contains(&format!("href=\"{page}\"")), "menu: {page}");
    }
    assert!(q.html.contains(&codes[0].0) && q.html.contains(&codes[1].0));
    assert!(
        q.html.contains("+84912345678") && q.html.contains(&format!("indicator={hash}")),
        "the shared number is a group: {}",
        q.html
    );
    let group = a.get(&format!("/reports?indicator={hash}")).await;
    assert_eq!(group.status, 200);
    assert!(group.html.contains(&codes[0].0) && group.html.contains(&codes[1].0));
    assert_eq!(a.get("/reports?status=nonsense").await.status, 404);

    // Opening a report puts it in review; the page shows what the reporter wrote, the number
    // with its count, and the related report.
    let page = a.get(&format!("/reports/{first}")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("being reviewed"), "{}", page.html);
    assert!(page.html.contains("my account was frozen"));
    assert!(page.html.contains("reporter@example.com"));
    assert!(page.html.contains(&format!("/reports/{second}")));
    assert!(page.html.contains("named by 2 report(s)"), "{}", page.html);
    assert_eq!(
        report_status(&net, &codes[0].0, Some(&codes[0].1)).await.1["status"],
        "in_review"
    );

    // Forms without the session's CSRF token are refused, and change nothing.
    let no_csrf = a
        .post_raw(
            &format!("/indicators/{hash}/decision"),
            &[("decision", "false_positive")],
        )
        .await;
    assert_eq!(no_csrf.status, 403);
    // A confirmation that lapses in the past is refused on the report's page, named.
    let late = a
        .post(
            &format!("/indicators/{hash}/decision"),
            &[
                ("report", &first),
                ("decision", "confirm"),
                ("tlp", "clear"),
                ("expires", "2001-01-01"),
            ],
        )
        .await;
    assert_eq!(late.status, 422, "{}", late.html);
    assert!(
        late.html.contains("id=\"form-errors\"") && late.html.contains("expires"),
        "{}",
        late.html
    );
    assert_eq!(check(&net, "phone", "0912345678").await.1["listed"], false);
    // A redirect goes back only to a report (never to a URL the form names).
    let expires = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30))
        .strftime("%Y-%m-%d")
        .to_string();
    let ok = a
        .post(
            &format!("/indicators/{hash}/decision"),
            &[
                ("report", "https://evil.example/"),
                ("decision", "confirm"),
                ("tlp", "clear"),
                ("expires", &expires),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.html);
    assert_eq!(
        ok.location.as_deref(),
        Some(&*format!("/indicators/{hash}"))
    );
    let (status, c) = check(&net, "phone", "0912 345 678").await;
    assert_eq!((status, c["listed"].as_bool()), (200, Some(true)), "{c}");
    let ind = a.get(&format!("/indicators/{hash}")).await;
    assert!(ind.html.contains("TLP:CLEAR") && ind.html.contains(&codes[1].0));
    let confirmed = a.get("/indicators?status=confirmed").await;
    assert!(
        confirmed.html.contains("+84912345678"),
        "{}",
        confirmed.html
    );

    // A note, then an empty one refused.
    let note = a
        .post(
            &format!("/reports/{first}/notes"),
            &[("body", "Called the bank: account frozen on our request.")],
        )
        .await;
    assert_eq!(note.status, 303);
    assert!(
        a.get(&format!("/reports/{first}"))
            .await
            .html
            .contains("account frozen on our request")
    );
    let empty = a
        .post(&format!("/reports/{first}/notes"), &[("body", "  ")])
        .await;
    assert_eq!(empty.status, 422, "{}", empty.html);

    // Escalation drafts one request for both reports; an officer sees the draft.
    let esc = a
        .post(
            &format!("/reports/{first}/escalate"),
            &[
                ("type", "preservation"),
                ("to", "FRA/247"),
                ("reports", &second),
            ],
        )
        .await;
    assert_eq!(esc.status, 303, "{}", esc.html);
    let (_, shown) = net
        .call_as(
            analyst(&net),
            VNM,
            Method::GET,
            &format!("/api/v1/reports/{second}"),
            None,
        )
        .await;
    let request = shown["report"]["request_id"]
        .as_str()
        .or(shown["request_id"].as_str())
        .unwrap_or_else(|| panic!("linked: {shown}"))
        .to_owned();
    let draft = net.get(VNM, &request).await;
    assert_eq!(draft["status"], "draft", "{draft}");
    assert!(
        !draft.to_string().contains("reporter@example.com"),
        "no contact in the draft"
    );
    let bad = a
        .post(
            &format!("/reports/{first}/escalate"),
            &[("type", "interception"), ("to", "FRA/247")],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.html);

    // Closing: the reporter sees it.
    assert_eq!(
        a.post(&format!("/reports/{first}/close"), &[]).await.status,
        303
    );
    assert_eq!(
        report_status(&net, &codes[0].0, Some(&codes[0].1)).await.1["status"],
        "closed"
    );
    assert_eq!(
        a.post(&format!("/reports/{first}/close"), &[]).await.status,
        409
    );

    // Warnings: a blank title is named; a good one reaches the public page.
    let blank = a
        .post(
            "/warnings",
            &[("title", ""), ("body", "x"), ("language", "en")],
        )
        .await;
    assert_eq!(blank.status, 422, "{}", blank.html);
    assert!(blank.html.contains("title"));
    let w = a
        .post(
            "/warnings",
            &[
                ("title", "Calls from fake police officers"),
                (
                    "body",
                    "The police never ask you to move money to a safe account.",
                ),
                ("category", "impersonation_of_authority"),
                ("language", "en"),
            ],
        )
        .await;
    assert_eq!(w.status, 303, "{}", w.html);
    let public_page = net
        .http
        .get(format!("{}/warnings", crate::response_centre::public(&net)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(public_page.contains("Calls from fake police officers"));

    // Statistics: counted, and the CSV is the API's.
    let stats = a.get("/statistics").await;
    assert_eq!(stats.status, 200);
    assert!(
        stats.html.contains("id=\"statistics-reports\">2<"),
        "{}",
        stats.html
    );
    assert!(!stats.html.contains("reporter@example.com"));

    // The restricted queue: not for an analyst; hidden by default from a csam analyst.
    let (status, r) = post_report(
        &net,
        json!({"category": "child_sexual_abuse_material", "description": "Link shared in a school group.",
               "indicators": [{"type": "url", "value": "http://abuse.example/x"}]}),
    )
    .await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(a.get("/reports?queue=restricted").await.status, 403);
    let csam = Session::open(&net, VNM, &name_of_role(&net, Role::CsamAnalyst).await).await;
    let restricted = csam.get("/reports?queue=restricted").await;
    assert_eq!(restricted.status, 200);
    let code = r["code"].as_str().unwrap();
    assert!(restricted.html.contains(code));
    let rid = restricted
        .html
        .split("href=\"/reports/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    assert_eq!(a.get(&format!("/reports/{rid}")).await.status, 403);
    let hidden = csam.get(&format!("/reports/{rid}")).await;
    assert_eq!(hidden.status, 200);
    assert!(hidden.html.contains("id=\"withheld\""));
    assert!(!hidden.html.contains("school group") && !hidden.html.contains("abuse.example"));
    let shown = csam.get(&format!("/reports/{rid}?reveal=1")).await;
    assert!(shown.html.contains("school group"));
    let entries = crate::response_centre::eventually_entries(net.store(VNM)).await;
    assert!(
        entries
            .iter()
            .any(|e| e.contains("report_opened") && e.contains(code) && e.contains("true")),
        "revealing is logged"
    );

    // Officers: statistics and CSV, no reports.
    let o = Session::open(&net, VNM, &name_of_role(&net, Role::Officer).await).await;
    assert_eq!(o.get("/reports").await.status, 403);
    assert_eq!(o.get(&format!("/reports/{first}")).await.status, 403);
    assert_eq!(
        o.post(
            &format!("/indicators/{hash}/decision"),
            &[("decision", "false_positive")]
        )
        .await
        .status,
        403
    );
    let os = o.get("/statistics").await;
    assert_eq!(os.status, 200);
    assert!(os.html.contains("href=\"/statistics\""));
    let csv = o.get("/statistics.csv").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.html
            .starts_with("table,week,category,currency,type,count,amount\r\n"),
        "{}",
        csv.html
    );
    assert!(csv.html.contains("reports,") && !csv.html.contains("abuse.example"));
}
