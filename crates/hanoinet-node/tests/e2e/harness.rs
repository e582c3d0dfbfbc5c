//! Starts a network of real nodes for one test and drives it.

use hanoinet_store::Store;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hanoinet_core::Clock;

use serde_json::{Value, json};

use hanoinet_node::provision::network::{self, NetworkFile};
use hanoinet_node::{NodeHandle, Tunables};
use hanoinet_store::testing::{Backend, TempDir, TestDb};

/// Generates one test per backend from an async fn taking a `Backend`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        pub mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(hanoinet_store::testing::Backend::Sqlite).await
            })*
        }
        pub mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(hanoinet_store::testing::Backend::Postgres).await
            })*
        }
    };
}
pub(crate) use both_backends;

/// Test logs are silent unless `TEST_LOG=1`.
pub fn log() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                std::env::var("TEST_LOG").unwrap_or_default(),
            ))
            .with_test_writer()
            .try_init();
    }
}

/// Timings short enough for tests.
pub fn fast() -> Tunables {
    Tunables {
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        lease: Duration::from_secs(2),
        poll_interval: Duration::from_millis(100),
        ledger_interval: Duration::from_millis(50),
        max_attachment_bytes: 1024 * 1024,
        ..Tunables::default()
    }
}

pub struct Net {
    _tmp: TempDir,
    _dbs: Vec<TestDb>,
    pub file: NetworkFile,
    pub nodes: Vec<Option<NodeHandle>>,
    pub http: reqwest::Client,
    pub clock: Arc<dyn Clock>,
    pub tunables: Tunables,
}

pub const IDS: [&str; 3] = ["VNM/247", "FRA/247", "KEN/247"];
pub const VNM: usize = 0;
pub const FRA: usize = 1;
pub const KEN: usize = 2;
/// With [`Net::start_with_chile`]: Chile signed the Convention but deposited no instrument.
pub const CHL: usize = 3;

impl Net {
    pub async fn start(backend: Backend) -> Self {
        Self::start_nodes(backend, &IDS).await
    }

    /// The three usual nodes, `CHL/247` of a State that only signed, and `SWE/247` of a State
    /// whose instrument is inside its 30-day window.
    pub async fn start_with_chile(backend: Backend) -> Self {
        Self::start_nodes(
            backend,
            &["VNM/247", "FRA/247", "KEN/247", "CHL/247", "SWE/247"],
        )
        .await
    }

    async fn start_nodes(backend: Backend, ids: &[&str]) -> Self {
        Self::start_with(backend, ids, Arc::new(hanoinet_core::SystemClock), |_| {}).await
    }

    /// Nodes `ids` on `clock`, after `setup` edited each node's directory (e.g. its node.json).
    pub async fn start_with(
        backend: Backend,
        ids: &[&str],
        clock: Arc<dyn Clock>,
        setup: impl Fn(&hanoinet_node::provision::network::NetworkNode),
    ) -> Self {
        Self::start_tuned(backend, ids, clock, setup, fast()).await
    }

    /// [`Net::start_with`] with other timings and limits.
    pub async fn start_tuned(
        backend: Backend,
        ids: &[&str],
        clock: Arc<dyn Clock>,
        setup: impl Fn(&hanoinet_node::provision::network::NetworkNode),
        tunables: Tunables,
    ) -> Self {
        log();
        let tmp = TempDir::new("e2e");
        let local = network::local(tmp.path(), ids, backend)
            .await
            .expect("a local network (PostgreSQL at HANOINET_TEST_POSTGRES)");
        for n in &local.file.nodes {
            setup(n);
        }
        let mut net = Self {
            _tmp: tmp,
            _dbs: local.databases,
            file: local.file,
            nodes: Vec::new(),
            http: reqwest::Client::new(),
            clock,
            tunables,
        };
        for (i, l) in local.listeners.into_iter().enumerate() {
            let h = net.launch(i, l).await;
            net.nodes.push(Some(h));
        }
        net
    }

    async fn launch(&self, i: usize, listener: tokio::net::TcpListener) -> NodeHandle {
        network::start_node_with_clock(
            &self.file.nodes[i],
            listener,
            self.tunables.clone(),
            self.clock.clone(),
        )
        .await
        .unwrap()
    }

    /// Starts one more process-equivalent of node `i` over the same database, on a new port.
    pub async fn replica(&self, i: usize) -> NodeHandle {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.launch(i, l).await
    }

    pub fn node(&self, i: usize) -> &NodeHandle {
        self.nodes[i].as_ref().expect("node is running")
    }

    pub fn store(&self, i: usize) -> &Store {
        &self.node(i).state.store
    }

    pub async fn stop(&mut self, i: usize) {
        if let Some(h) = self.nodes[i].take() {
            h.shutdown().await;
        }
    }

    /// Restarts node `i` on its registered address.
    pub async fn restart(&mut self, i: usize) {
        let addr = self.file.nodes[i]
            .api_url
            .trim_start_matches("http://")
            .to_owned();
        let mut tries = 0;
        let l = loop {
            match tokio::net::TcpListener::bind(&addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("rebinding {addr}: {e}"),
            }
        };
        let h = self.launch(i, l).await;
        self.nodes[i] = Some(h);
    }

    /// The network's directory (where `network.json` is).
    pub fn dir(&self) -> &std::path::Path {
        self._tmp.path()
    }

    pub fn url(&self, i: usize) -> &str {
        &self.file.nodes[i].api_url
    }

    pub fn token(&self, i: usize) -> &str {
        &self.file.nodes[i].token
    }

    /// GET with node `i`'s auditor token.
    pub async fn audit(&self, i: usize, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.url(i)))
            .bearer_auth(&self.file.nodes[i].auditor_token)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn call(
        &self,
        i: usize,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call_as(self.token(i), i, method, path, body).await
    }

    /// Moves a request: `POST /api/v1/requests/{id}/transitions` with `body`, as `token`.
    pub async fn move_as(&self, token: &str, i: usize, id: &str, body: Value) -> (u16, Value) {
        self.call_as(
            token,
            i,
            reqwest::Method::POST,
            &format!("/api/v1/requests/{id}/transitions"),
            Some(body),
        )
        .await
    }

    /// Moves a request as node `i`'s officer.
    pub async fn move_to(&self, i: usize, id: &str, body: Value) -> (u16, Value) {
        self.move_as(self.token(i), i, id, body).await
    }

    pub fn supervisor(&self, i: usize) -> &str {
        &self.file.nodes[i].supervisor_token
    }

    pub async fn call_as(
        &self,
        token: &str,
        i: usize,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url(i)))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn create(&self, i: usize, body: Value) -> (u16, Value) {
        self.call(i, reqwest::Method::POST, "/api/v1/requests", Some(body))
            .await
    }

    pub async fn get(&self, i: usize, id: &str) -> Value {
        let (s, v) = self
            .call(
                i,
                reqwest::Method::GET,
                &format!("/api/v1/requests/{id}"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v
    }

    pub async fn respond(&self, i: usize, id: &str, body: Value) -> (u16, Value) {
        self.call(
            i,
            reqwest::Method::POST,
            &format!("/api/v1/requests/{id}/responses"),
            Some(body),
        )
        .await
    }

    pub async fn list(&self, i: usize, direction: &str) -> Vec<Value> {
        let (s, v) = self
            .call(
                i,
                reqwest::Method::GET,
                &format!("/api/v1/requests?direction={direction}&limit=500"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v["requests"].as_array().unwrap().clone()
    }

    /// Sends a valid preservation request from `from` to `to`; returns its id.
    pub async fn send(&self, from: usize, to: usize) -> String {
        let (s, v) = self.create(from, preservation(IDS[to])).await;
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// Sends a valid request for stored data (Art. 44) from `from` to `to`; returns its id.
    pub async fn send_stored_data(&self, from: usize, to: usize) -> String {
        let mut body = hanoinet_core::catalogue::examples::example(
            hanoinet_core::request::RequestType::StoredData,
            IDS[to],
            "",
        );
        body.as_object_mut().unwrap().remove("follows_request");
        let (s, v) = self.create(from, body).await;
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// Waits until request `id` on node `i` has `status`.
    pub async fn wait_status(&self, i: usize, id: &str, status: &str) -> Value {
        let start = std::time::Instant::now();
        loop {
            let (s, v) = self
                .call(
                    i,
                    reqwest::Method::GET,
                    &format!("/api/v1/requests/{id}"),
                    None,
                )
                .await;
            if s == 200 && v["status"] == status {
                return v;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "request {id} on {} never reached {status}: {v}",
                self.file.nodes[i].id
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// Polls `f` until it returns true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = std::time::Instant::now();
    loop {
        if f().await {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A complete, valid Art. 42 request body.
pub fn preservation(to: &str) -> Value {
    json!({
        "type": "preservation",
        "to": to,
        "requesting_authority": "Cybercrime Unit, Ministry of Public Security",
        "offence": "ICT fraud (Art. 13)",
        "summary_of_facts": "A phishing campaign against bank customers.",
        "data_to_preserve": "Subscriber and login records of the account x@example.org",
        "relationship_to_offence": "The account registered the phishing domain.",
        "custodian_or_location": "Example Mail, Paris",
        "necessity": "The provider deletes logs after 30 days.",
        "mla_request_to_follow": true,
        "offence_category": "ict_theft_or_fraud", "language": "en", "proportionality_justification": "One account, two months of records",
        "confidential": true
    })
}

/// Node `i`'s own keys, read from its directory (a hostile peer holds its own keys).
pub fn node_keys(net: &Net, i: usize) -> hanoinet_protocol::NodeKeys {
    let dir = &net.file.nodes[i].dir;
    hanoinet_protocol::NodeKeys::from_key_file_json(
        &hanoinet_node::provision::dir::read(&dir.join(hanoinet_node::provision::dir::KEYS_FILE))
            .unwrap(),
    )
    .unwrap()
}

impl Net {
    /// Seals `payload` as node `from` (with its real keys) to node `to` under `kind`.
    pub fn forge(
        &self,
        from: usize,
        to: usize,
        kind: &str,
        payload: &Value,
    ) -> hanoinet_protocol::Envelope {
        self.forge_with_id(from, to, kind, hanoinet_core::EnvelopeId::new_v7(), payload)
    }

    /// [`Net::forge`] under a chosen envelope id.
    pub fn forge_with_id(
        &self,
        from: usize,
        to: usize,
        kind: &str,
        id: hanoinet_core::EnvelopeId,
        payload: &Value,
    ) -> hanoinet_protocol::Envelope {
        self.forge_bytes(from, to, kind, id, &serde_json::to_vec(payload).unwrap())
    }

    /// Seals exactly `payload` (bytes a JSON library would not produce, for instance).
    pub fn forge_bytes(
        &self,
        from: usize,
        to: usize,
        kind: &str,
        id: hanoinet_core::EnvelopeId,
        payload: &[u8],
    ) -> hanoinet_protocol::Envelope {
        let header = hanoinet_protocol::Header {
            id,
            from: IDS_ALL[from].parse().unwrap(),
            to: IDS_ALL[to].parse().unwrap(),
            kind: hanoinet_protocol::KindName::new(kind).unwrap(),
            created_at: hanoinet_core::time::truncate_to_micros(self.clock.now()),
            in_reply_to: None,
        };
        hanoinet_protocol::Envelope::seal(
            header,
            payload,
            &node_keys(self, from),
            node_keys(self, to).public(),
            &mut rand::rng(),
        )
        .unwrap()
    }

    /// Posts an envelope to node `i`'s federation endpoint.
    pub async fn post_envelope(&self, i: usize, env: &hanoinet_protocol::Envelope) -> (u16, Value) {
        self.post_raw(i, env.to_json().into_bytes()).await
    }

    pub async fn post_raw(&self, i: usize, body: Vec<u8>) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/federation/v1/envelopes", self.url(i)))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Forges and posts in one go.
    pub async fn forge_post(
        &self,
        from: usize,
        to: usize,
        kind: &str,
        payload: Value,
    ) -> (u16, Value) {
        let env = self.forge(from, to, kind, &payload);
        self.post_envelope(to, &env).await
    }
}

/// Node ids of [`Net::start_with_chile`], whose first three are [`IDS`].
pub const IDS_ALL: [&str; 5] = ["VNM/247", "FRA/247", "KEN/247", "CHL/247", "SWE/247"];
