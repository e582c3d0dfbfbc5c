//! Built-in TLS: two nodes serve HTTPS with certificates of a private CA (node.json → `tls`),
//! reach each other at `https://` registry URLs trusting that CA (`tls.peer_ca`), and refuse
//! plain HTTP on the TLS port.

use std::time::Duration;

use serde_json::Value;

use hanoinet_node::provision::{dir, network};
use hanoinet_protocol::SignedRegistry;
use hanoinet_protocol::keys::DepositaryKey;
use hanoinet_store::testing::{Backend, TempDir};

use crate::harness::*;

struct Ca {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl Ca {
    fn new() -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "hanoinet test network CA");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self { cert, key }
    }

    /// A leaf certificate for 127.0.0.1 and its key, as PEM.
    fn leaf(&self) -> (String, String) {
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_speak_https_to_each_other() {
    log();
    let tmp = TempDir::new("tls");
    let local = network::local(tmp.path(), &IDS[..2], Backend::Sqlite)
        .await
        .unwrap();
    let ca = Ca::new();
    let dep = tmp.path().join("depositary");
    let key = DepositaryKey::from_key_file_json(&dir::read(&dep.join("depositary.key")).unwrap())
        .unwrap();
    let mut registry = SignedRegistry::parse(&dir::read(&dep.join("registry.json")).unwrap())
        .unwrap()
        .verify(&key.public())
        .unwrap();
    registry.serial += 1;
    for n in &mut registry.nodes {
        n.url = n.url.replace("http://", "https://");
    }
    let signed = registry.sign(&key).unwrap().to_json();
    for n in &local.file.nodes {
        let (cert, key) = ca.leaf();
        dir::write(&n.dir.join("cert.pem"), &cert).unwrap();
        dir::write_secret(&n.dir.join("key.pem"), &key).unwrap();
        dir::write(&n.dir.join("ca.pem"), &ca.cert.pem()).unwrap();
        let path = n.dir.join(dir::CONFIG_FILE);
        let mut cfg: Value = serde_json::from_str(&dir::read(&path).unwrap()).unwrap();
        cfg["tls"] = serde_json::json!({"cert": "cert.pem", "key": "key.pem", "peer_ca": "ca.pem"});
        dir::write(&path, &serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
        dir::write(&n.dir.join(dir::REGISTRY_FILE), &signed).unwrap();
    }
    let mut handles = Vec::new();
    for (n, l) in local.file.nodes.iter().zip(local.listeners) {
        handles.push(network::start_node(n, l, fast()).await.unwrap());
    }
    assert!(handles.iter().all(|h| h.tls));
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.cert.pem().as_bytes()).unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let vnm = format!("https://{}", handles[VNM].addr);
    let created: Value = http
        .post(format!("{vnm}/api/v1/requests"))
        .bearer_auth(&local.file.nodes[VNM].token)
        .json(&preservation(IDS[FRA]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let delivered = eventually(Duration::from_secs(10), || async {
        let v: Value = http
            .get(format!("{vnm}/api/v1/requests/{id}"))
            .bearer_auth(&local.file.nodes[VNM].token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["status"] == "delivered"
    })
    .await;
    assert!(delivered, "the request did not cross over HTTPS");
    // Plain HTTP on the TLS port gets no answer; a client that does not trust the CA is refused.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/healthz", handles[VNM].addr))
        .timeout(Duration::from_secs(3))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    assert!(
        reqwest::Client::new()
            .get(format!("{vnm}/healthz"))
            .send()
            .await
            .is_err()
    );
    for h in handles {
        h.shutdown().await;
    }
}
