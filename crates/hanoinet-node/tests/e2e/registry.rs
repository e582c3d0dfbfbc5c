//! Registry roll-out on running nodes: a newer signed registry is installed without a restart,
//! an older or equal one is refused (also across a restart), as is one that drops the node or
//! publishes keys it does not hold; a node's keys are rotated while requests are in flight and
//! its old key, once revoked, is refused.

use std::time::Duration;

use serde_json::{Value, json};

use hanoinet_node::provision::{dir, network};
use hanoinet_protocol::keys::DepositaryKey;
use hanoinet_protocol::{NodeKeys, Registry, SignedRegistry};
use hanoinet_store::testing::Backend;

use crate::harness::*;

/// The depositary of a test network: its key and the registry it signed last.
struct Depositary {
    key: DepositaryKey,
    registry: Registry,
}

impl Depositary {
    fn of(net: &Net) -> Self {
        let d = net.dir().join("depositary");
        let key = DepositaryKey::from_key_file_json(&dir::read(&d.join("depositary.key")).unwrap())
            .unwrap();
        let signed =
            SignedRegistry::parse(&dir::read(&d.join(dir::REGISTRY_FILE)).unwrap()).unwrap();
        let registry = signed.verify(&key.public()).unwrap();
        Self { key, registry }
    }

    /// The next publication after `edit`.
    fn publish(&mut self, edit: impl FnOnce(&mut Registry)) -> String {
        self.registry.serial += 1;
        edit(&mut self.registry);
        self.registry.sign(&self.key).unwrap().to_json()
    }
}

async fn admin_token(net: &Net, i: usize) -> String {
    network::add_user(
        net.store(i),
        &net.file.nodes[i].id,
        "registry-admin",
        hanoinet_core::access::Role::Admin,
    )
    .await
    .unwrap()
}

async fn install(net: &Net, token: &str, i: usize, file: &str) -> (u16, Value) {
    let resp = net
        .http
        .post(format!("{}/api/v1/registry", net.url(i)))
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .body(file.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn serial(net: &Net, i: usize) -> u64 {
    let v: Value = net
        .http
        .get(format!("{}/readyz", net.url(i)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["checks"]["registry_serial"].as_u64().unwrap()
}

async fn a_newer_registry_is_installed_and_a_rollback_never(backend: Backend) {
    let mut net = Net::start(backend).await;
    let mut dep = Depositary::of(&net);
    let first = dir::read(&net.file.nodes[VNM].dir.join(dir::REGISTRY_FILE)).unwrap();
    let admin = admin_token(&net, VNM).await;
    let second = dep.publish(|r| r.notice = Some("second publication".into()));

    // Only an administrator installs.
    let (s, v) = install(&net, net.token(VNM), VNM, &second).await;
    assert_eq!(s, 403, "{v}");

    let (s, v) = install(&net, &admin, VNM, &second).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v, json!({"serial": 2, "previous_serial": 1}));
    assert_eq!(serial(&net, VNM).await, 2);
    let (s, v) = net
        .call(VNM, reqwest::Method::GET, "/api/v1/registry/signed", None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        v,
        serde_json::from_str::<Value>(&second).unwrap(),
        "the new file is served"
    );

    // The same serial again, or an older one: a rollback.
    for file in [&second, &first] {
        let (s, v) = install(&net, &admin, VNM, file).await;
        assert_eq!(s, 409, "{v}");
        assert_eq!(v["error"], "registry_rollback", "{v}");
    }
    // Not the trusted depositary's.
    let mut forged = dep.registry.clone();
    forged.serial = 99;
    let forged = forged.sign(&DepositaryKey::generate()).unwrap().to_json();
    let (s, v) = install(&net, &admin, VNM, &forged).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("registry_invalid")),
        "{v}"
    );
    // Altered after signing.
    let tampered = second.replace("second publication", "third publication");
    let (s, v) = install(&net, &admin, VNM, &tampered).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("registry_invalid")),
        "{v}"
    );
    // A registry that drops the node, or gives it keys it does not hold.
    let mut without = dep.registry.clone();
    without.serial = 3;
    without.remove_node(&IDS[VNM].parse().unwrap());
    let without = without.sign(&dep.key).unwrap().to_json();
    let (s, v) = install(&net, &admin, VNM, &without).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("registry_drops_node")),
        "{v}"
    );
    let mut strange = dep.registry.clone();
    strange.serial = 3;
    let stranger = NodeKeys::generate();
    strange
        .nodes
        .iter_mut()
        .find(|n| n.id.as_str() == IDS[VNM])
        .unwrap()
        .rotate_to(stranger.public(), "2030-01-01T00:00:00Z".parse().unwrap());
    let strange = strange.sign(&dep.key).unwrap().to_json();
    let (s, v) = install(&net, &admin, VNM, &strange).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("registry_unknown_keys")),
        "{v}"
    );
    assert_eq!(serial(&net, VNM).await, 2, "nothing refused was installed");

    // `hanoinet registry install` writes to the database: the running node takes it up.
    let third = dep.publish(|r| r.notice = Some("third publication".into()));
    let state = net.node(VNM).state.clone();
    let target = hanoinet_node::trust::Target {
        store: &state.store,
        id: &state.id,
        keyring: &state.keyring(),
        anchor: &state.trust_anchor,
    };
    hanoinet_node::trust::install_into(&target, &third, "cli", 0, jiff::Timestamp::now())
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(5), || async {
            serial(&net, VNM).await == 3
        })
        .await,
        "the running node did not take up the installed registry"
    );

    // Restarting with the first registry.json (serial 1) does not roll it back.
    net.stop(VNM).await;
    net.restart(VNM).await;
    assert_eq!(
        serial(&net, VNM).await,
        3,
        "a restart with an older file rolled back"
    );

    // Refusals are in the ledger, installations too.
    let entries = ledger_events(&net, VNM).await;
    assert!(
        entries.iter().any(|e| e == "registry_installed"),
        "{entries:?}"
    );
    assert!(
        entries.iter().filter(|e| *e == "registry_refused").count() >= 6,
        "{entries:?}"
    );
}

/// The events of node `i`'s ledger entries, as its auditor reads them, once integrated.
async fn ledger_events(net: &Net, i: usize) -> Vec<String> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, head) = net.audit(i, "/api/v1/ledger/head").await;
    let size = head["tree_size"].as_u64().unwrap();
    crate::ledger::events_of(&crate::ledger::entries(net, i, size).await)
}

async fn a_key_rotated_while_requests_are_in_flight(backend: Backend) {
    let mut net = Net::start(backend).await;
    let mut dep = Depositary::of(&net);
    let vnm_admin = admin_token(&net, VNM).await;
    let fra_admin = admin_token(&net, FRA).await;
    let fra_old = node_keys(&net, FRA);

    // FRA is down; VNM queues requests sealed to FRA's current (old) keys.
    net.stop(FRA).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(net.send(VNM, FRA).await);
    }

    // FRA rotates; the depositary publishes the new keys with the old ones kept for an hour.
    let identity = dir::rotate_keys(&net.file.nodes[FRA].dir).unwrap();
    let fra_new = node_keys(&net, FRA);
    assert_ne!(fra_new.public(), fra_old.public());
    let keep_until = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    let rotated = dep.publish(|r| {
        let n = r.nodes.iter_mut().find(|n| n.id == identity.id).unwrap();
        n.rotate_to(&identity.public_keys().unwrap(), keep_until);
    });
    // VNM installs it first: what it seals from now on goes to FRA's new key.
    let (s, v) = install(&net, &vnm_admin, VNM, &rotated).await;
    assert_eq!(s, 200, "{v}");
    for _ in 0..2 {
        ids.push(net.send(VNM, FRA).await);
    }

    // FRA comes back with its old registry.json: it still signs with its old key (VNM accepts
    // it within the overlap), and opens what was sealed to either key.
    net.restart(FRA).await;
    for id in &ids {
        net.wait_status(VNM, id, "delivered").await;
        net.wait_status(FRA, id, "delivered").await;
    }
    // FRA installs the new registry and signs with its new key from then on.
    let (s, v) = install(&net, &fra_admin, FRA, &rotated).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(net.node(FRA).state.keys().public(), fra_new.public());
    let (s, v) = net
        .move_to(FRA, &ids[0], json!({"status": "acknowledged"}))
        .await;
    assert_eq!(s, 201, "{v}");
    net.wait_status(VNM, &ids[0], "acknowledged").await;
    let id = net.send(FRA, VNM).await;
    net.wait_status(FRA, &id, "delivered").await;

    // The old key is revoked: VNM refuses what it signs, even within the overlap it had.
    let revoked = dep.publish(|r| {
        let n = r.nodes.iter_mut().find(|n| n.id == identity.id).unwrap();
        n.revoked_keys
            .push(hanoinet_protocol::registry::RevokedKey {
                signing_key: fra_old.public().signing_b64(),
                revoked_at: jiff::Timestamp::now(),
                reason: Some("key compromised".into()),
            });
    });
    let (s, v) = install(&net, &vnm_admin, VNM, &revoked).await;
    assert_eq!(s, 200, "{v}");
    let header = hanoinet_protocol::Header {
        id: hanoinet_core::EnvelopeId::new_v7(),
        from: IDS[FRA].parse().unwrap(),
        to: IDS[VNM].parse().unwrap(),
        kind: hanoinet_protocol::KindName::new("request").unwrap(),
        created_at: hanoinet_core::time::truncate_to_micros(jiff::Timestamp::now()),
        in_reply_to: None,
    };
    let forged = hanoinet_protocol::Envelope::seal(
        header,
        b"{}",
        &fra_old,
        node_keys(&net, VNM).public(),
        &mut rand::rng(),
    )
    .unwrap();
    let (s, v) = net.post_envelope(VNM, &forged).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (401, Some("bad_signature")),
        "{v}"
    );
    // FRA's new key still works.
    let id = net.send(FRA, VNM).await;
    net.wait_status(FRA, &id, "delivered").await;
}

both_backends!(
    a_newer_registry_is_installed_and_a_rollback_never,
    a_key_rotated_while_requests_are_in_flight
);
