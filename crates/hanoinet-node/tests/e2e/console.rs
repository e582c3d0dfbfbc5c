//! The web console over HTTP, as a browser and as an attacker use it: the sign-in form, the
//! cookie, cross-origin posts, CSRF, the inbox, sign-out and a replayed cookie. (The real
//! browser tests drive Chromium; these need none.)

use hanoinet_node::ops::signin;
use reqwest::header;

use crate::harness::*;

both_backends!(
    console_sign_in_inbox_and_sign_out,
    demo_console_users_sign_in_from_network_json
);

const PASSWORD: &str = "night shift at the 24/7 desk";

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn console_sign_in_inbox_and_sign_out(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let base = net.url(VNM).trim_end_matches('/').to_owned();
    let host = base.trim_start_matches("http://").to_owned();
    let node = &net.node(VNM).state;
    let name = node
        .store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.user.role == hanoinet_core::access::Role::Officer)
        .unwrap()
        .user
        .name;
    let e = signin::enrol(node, &name, PASSWORD, "operator".into())
        .await
        .unwrap();
    let secret = signin::secret_from_base32(&e.secret_base32).unwrap();
    let id = net.send(FRA, VNM).await;
    let b = browser();

    // The sign-in page: in the browser's language, right to left in Arabic, with the
    // autocomplete tokens password managers use, and the security headers.
    let r = b
        .get(format!("{base}/sign-in"))
        .header(header::ACCEPT_LANGUAGE, "fr-FR,fr;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"<html lang="fr" dir="ltr""#), "{html}");
    assert!(html.contains("Connexion"));
    for token in ["username", "current-password", "one-time-code"] {
        assert!(
            html.contains(&format!(r#"autocomplete="{token}""#)),
            "{token}"
        );
    }
    // Scripts only from this origin's files (with their integrity hash), no inline style.
    assert!(
        html.matches("<script").count() == html.matches("<script src=\"/console/").count()
            && !html.contains("style="),
        "inline script or style"
    );
    assert!(html.contains(r#"integrity="sha384-"#));
    let ar = b
        .get(format!("{base}/sign-in?lang=ar"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ar.contains(r#"<html lang="ar" dir="rtl""#));

    let form = |password: &str, code: String| {
        vec![
            ("username", name.clone()),
            ("password", password.to_owned()),
            ("code", code),
            ("lang", "en".to_owned()),
        ]
    };
    let code = || signin::current_code(&secret, net.clock.now()).unwrap();

    // A form posted from another site, or by a client that names no origin, is refused.
    for origin in [Some("https://evil.example"), None] {
        let mut req = b
            .post(format!("{base}/sign-in"))
            .form(&form(PASSWORD, code()));
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        assert_eq!(req.send().await.unwrap().status(), 403, "origin {origin:?}");
    }
    // `Origin: null` (a sandboxed frame, a no-referrer page): only a browser's own word that
    // the form is same-origin lets it through.
    for (site, expected) in [
        ("cross-site", 403),
        ("same-site", 403),
        ("same-origin", 401),
    ] {
        let r = b
            .post(format!("{base}/sign-in"))
            .header(header::ORIGIN, "null")
            .header("sec-fetch-site", site)
            .form(&form("not the password", code()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), expected, "Sec-Fetch-Site: {site}");
    }
    let post = |path: &str| {
        b.post(format!("{base}{path}"))
            .header(header::ORIGIN, format!("http://{host}"))
    };

    // A wrong password: the form again, with the one message for every wrong input.
    let r = post("/sign-in")
        .form(&form("not the password", code()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get(header::SET_COOKIE).is_none());
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Wrong username, password or code.")
    );

    // The right one: a strict cookie, and on to the inbox.
    let r = post("/sign-in")
        .form(&form(PASSWORD, code()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[header::LOCATION], "/inbox");
    let cookie = r.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();

    // The inbox shows the request France sent; without the cookie it is the sign-in page.
    let page = b
        .get(format!("{base}/inbox"))
        .header(header::COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&id) && html.contains("FRA/247"), "{html}");
    let csrf = html
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let r = b.get(format!("{base}/inbox")).send().await.unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()[header::LOCATION].to_str().unwrap()
        ),
        (303, "/sign-in")
    );

    // Sign-out needs the session's CSRF token; after it the cookie opens nothing.
    let r = post("/sign-out")
        .header(header::COOKIE, &session)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = post("/sign-out")
        .header(header::COOKIE, &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let r = b
        .get(format!("{base}/inbox"))
        .header(header::COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        303,
        "a cookie replayed after sign-out still works"
    );

    // An auditor signs in but the inbox (case content) is not theirs: a page that says so.
    let auditor = node
        .store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.user.role == hanoinet_core::access::Role::Auditor)
        .unwrap()
        .user
        .name;
    let e = signin::enrol(node, &auditor, PASSWORD, "operator".into())
        .await
        .unwrap();
    let secret = signin::secret_from_base32(&e.secret_base32).unwrap();
    let r = post("/sign-in")
        .form(&[
            ("username", auditor.as_str()),
            ("password", PASSWORD),
            (
                "code",
                signin::current_code(&secret, net.clock.now())
                    .unwrap()
                    .as_str(),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    let r = b
        .get(format!("{base}/inbox"))
        .header(header::COOKIE, cookie.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Your role does not open this page.") && !html.contains(&id),
        "{html}"
    );
}

/// What the README tells a new user: the credentials in `network.json` sign in to the console.
async fn demo_console_users_sign_in_from_network_json(backend: hanoinet_store::testing::Backend) {
    use hanoinet_node::provision::network;
    let net = Net::start(backend).await;
    let mut file = network::read_network(net.dir()).unwrap();
    network::enrol_console_users(net.dir(), &mut file)
        .await
        .unwrap();
    let file = network::read_network(net.dir()).unwrap();
    let console = file.nodes[VNM]
        .console
        .clone()
        .expect("nodes[].console in network.json");
    assert_eq!(
        console.url,
        format!("{}/", net.url(VNM).trim_end_matches('/'))
    );
    let mut roles: Vec<&str> = console.users.iter().map(|u| u.role.as_str()).collect();
    roles.sort();
    assert_eq!(
        roles,
        [
            "admin",
            "analyst",
            "auditor",
            "csam_analyst",
            "officer",
            "supervisor"
        ]
    );
    let officer = console
        .users
        .iter()
        .find(|u| u.username == "officer")
        .unwrap();
    assert!(officer.password.chars().count() >= signin::MIN_PASSWORD_CHARS);
    let secret = signin::secret_from_base32(&officer.totp_secret).unwrap();
    let host = net
        .url(VNM)
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let r = browser()
        .post(format!("{}sign-in", console.url))
        .header(header::ORIGIN, format!("http://{host}"))
        .form(&[
            ("username", officer.username.as_str()),
            ("password", officer.password.as_str()),
            (
                "code",
                signin::current_code(&secret, net.clock.now())
                    .unwrap()
                    .as_str(),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // Enrolling again keeps what network.json says (a reused demo directory).
    let mut again = file.clone();
    network::enrol_console_users(net.dir(), &mut again)
        .await
        .unwrap();
    assert_eq!(
        network::read_network(net.dir()).unwrap().nodes[VNM]
            .console
            .as_ref()
            .unwrap()
            .users[0]
            .password,
        console.users[0].password
    );
}
