//! `request`: a thin client over a node's REST API.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

#[derive(Debug, Args)]
pub struct Conn {
    /// The node's API URL, e.g. http://127.0.0.1:7400.
    #[arg(long, env = "HANOINET_URL")]
    pub url: String,
    /// Your bearer token (from `hanoinet user add`). On a shared machine prefer
    /// --token-file: a token on the command line shows in the process list.
    #[arg(
        long,
        env = "HANOINET_TOKEN",
        hide_env_values = true,
        required_unless_present = "token_file",
        conflicts_with = "token_file"
    )]
    pub token: Option<String>,
    /// A file holding your bearer token (its first line).
    #[arg(long, env = "HANOINET_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// A PEM file of certificate authorities to trust for an https:// URL besides the public
    /// roots (a node whose certificate comes from your network's own CA).
    #[arg(long, env = "HANOINET_CA_FILE")]
    pub ca_file: Option<PathBuf>,
}

impl Conn {
    /// An HTTP client that trusts the public roots and, if given, `--ca-file`.
    pub fn http(&self) -> anyhow::Result<reqwest::Client> {
        let mut b = reqwest::Client::builder();
        if let Some(p) = &self.ca_file {
            let pem = std::fs::read(p)
                .with_context(|| format!("reading --ca-file {}", p.display()))
                .map_err(|e| crate::exit::Failure::Invalid.wrap(e))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|c| !c.is_empty())
                .with_context(|| format!("{} holds no PEM certificate", p.display()))
                .map_err(|e| crate::exit::Failure::Invalid.wrap(e))?;
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        Ok(b.build()?)
    }

    /// The token, from --token or the first line of --token-file.
    pub fn token(&self) -> anyhow::Result<String> {
        use crate::exit::Failure;
        let token = match (&self.token, &self.token_file) {
            (Some(t), _) => t.trim().to_owned(),
            (None, Some(p)) => std::fs::read_to_string(p)
                .with_context(|| format!("reading the token file {}", p.display()))
                .map_err(|e| Failure::Invalid.wrap(e))?
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned(),
            (None, None) => String::new(),
        };
        if token.is_empty() {
            return Err(Failure::Unauthorized.wrap(anyhow::anyhow!(
                "no token: give --token or --token-file (from `hanoinet user add`)"
            )));
        }
        Ok(token)
    }
}

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Send a request of any type (preservation by default). Give the fields as flags, as
    /// --field KEY=VALUE, or as a JSON file; `GET /api/v1/catalogue` lists each type's fields.
    Send(Box<SendArgs>),
    /// List requests, newest first, filtered; says how many of how many it shows.
    List(ListArgs),
    /// Show one request with its status history and receipts.
    Show {
        #[command(flatten)]
        conn: Conn,
        id: String,
    },
    /// Answer an incoming request: --accept, or --refuse with grounds and an explanation.
    Respond(RespondArgs),
    /// Move a request to another status (e.g. acknowledged, consultation, postponed, executed,
    /// withdrawn, closed); the answer lists the allowed moves when this one is not.
    Move(MoveArgs),
    /// Attach a file (evidence of any size) to a request you will give data on: hashed, then
    /// uploaded resumably in constant memory with progress; prints the attachment. Run it again
    /// after an interruption and it goes on where the node stands.
    Attach(crate::commands::evidence::AttachArgs),
    /// Download an attachment to --out: streamed with progress, resumed from OUT.part after an
    /// interruption, checked against its SHA-256.
    Download(crate::commands::evidence::DownloadArgs),
    /// Ask the requested node where a request you sent stands; its answer appears in `show`.
    Enquire {
        #[command(flatten)]
        conn: Conn,
        id: String,
        /// Why you ask (optional).
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub conn: Conn,
    #[arg(long, value_enum)]
    pub direction: Option<DirectionArg>,
    /// Order: newest first (default) or earliest requested time limit first.
    #[arg(long, value_enum)]
    pub sort: Option<SortArg>,
    /// Only requests in this status (e.g. delivered, acknowledged, accepted, refused).
    #[arg(long)]
    pub status: Option<String>,
    /// Only requests of this type (e.g. preservation, mla, stored_data).
    #[arg(long = "type")]
    pub request_type: Option<String>,
    /// Only requests to or from this node (e.g. FRA/247).
    #[arg(long)]
    pub peer: Option<String>,
    /// Only requests of this urgency: normal, urgent or emergency.
    #[arg(long)]
    pub urgency: Option<String>,
    /// Only requests created at or after this time (RFC 3339, e.g. 2026-12-01T00:00:00Z).
    #[arg(long)]
    pub since: Option<String>,
    /// Only requests created before this time (RFC 3339).
    #[arg(long)]
    pub until: Option<String>,
    /// How many to show (at most 500 per page; with --all, the page size).
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Every matching request, page after page.
    #[arg(long)]
    pub all: bool,
    /// Print JSON: {"requests": [...], "total": M, "next_cursor": ...}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MoveArgs {
    #[command(flatten)]
    pub conn: Conn,
    pub id: String,
    /// The status to move to.
    #[arg(long)]
    pub status: String,
    /// The note the move needs (the information asked for, why it is postponed...).
    #[arg(long)]
    pub note: Option<String>,
    /// For refused: a ground (repeatable).
    #[arg(long = "ground")]
    pub grounds: Vec<String>,
    /// For refused: the reasons.
    #[arg(long)]
    pub explanation: Option<String>,
    /// For accepted_with_conditions: the conditions.
    #[arg(long)]
    pub conditions: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SortArg {
    CreatedAt,
    TimeLimit,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DirectionArg {
    Incoming,
    Outgoing,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// A JSON file with the request body; flags given as well override its fields.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The request type (default preservation): preservation, traffic_disclosure, stored_data,
    /// realtime_traffic, interception, mla, spontaneous_information, law_enforcement,
    /// joint_investigation, technical_advice, locate_suspect, emergency_disclosure.
    #[arg(long = "type")]
    pub request_type: Option<String>,
    /// The requested node, e.g. FRA/247.
    #[arg(long)]
    pub to: Option<String>,
    /// The offence category: illegal_access, illegal_interception, data_interference,
    /// system_interference, misuse_of_devices, ict_forgery, ict_theft_or_fraud,
    /// child_sexual_abuse_material, grooming, non_consensual_intimate_images, laundering,
    /// serious_crime.
    #[arg(long)]
    pub offence_category: Option<String>,
    /// For serious_crime: the maximum penalty in years (at least 4).
    #[arg(long)]
    pub max_penalty_years: Option<i64>,
    /// convention (default), bilateral_treaty, multilateral_treaty, reciprocity, domestic_law.
    #[arg(long)]
    pub legal_basis: Option<String>,
    /// The treaty or law, when the legal basis is not the Convention.
    #[arg(long)]
    pub legal_basis_detail: Option<String>,
    /// normal (default), urgent, emergency.
    #[arg(long)]
    pub urgency: Option<String>,
    /// For an emergency: the imminent risk to life or safety.
    #[arg(long)]
    pub emergency_reason: Option<String>,
    /// The request's language (ISO 639-1, e.g. en).
    #[arg(long)]
    pub language: Option<String>,
    /// Why the measure is proportionate.
    #[arg(long)]
    pub proportionality_justification: Option<String>,
    /// The earlier request this one follows (e.g. the preservation an Art. 44 request follows).
    #[arg(long)]
    pub follows_request: Option<String>,
    /// The date by which execution is wished (YYYY-MM-DD), with --time-limit-reasons.
    #[arg(long)]
    pub time_limit: Option<String>,
    #[arg(long)]
    pub time_limit_reasons: Option<String>,
    /// Any other field of the type, KEY=VALUE (VALUE is read as JSON if it parses, else as
    /// text). Repeatable.
    #[arg(long = "field", value_name = "KEY=VALUE")]
    pub fields: Vec<String>,
    /// Keep it as a draft on this node until it is submitted (`request move --status ...`).
    #[arg(long)]
    pub draft: bool,
    /// (a) the authority seeking preservation.
    #[arg(long)]
    pub requesting_authority: Option<String>,
    /// (b) the offence under investigation.
    #[arg(long)]
    pub offence: Option<String>,
    /// (b) a brief summary of the facts.
    #[arg(long)]
    pub summary_of_facts: Option<String>,
    /// (c) the stored data to preserve.
    #[arg(long)]
    pub data_to_preserve: Option<String>,
    /// (c) the data's relationship to the offence.
    #[arg(long)]
    pub relationship_to_offence: Option<String>,
    /// (d) custodian or location of the system ("unknown" if unknown).
    #[arg(long)]
    pub custodian_or_location: Option<String>,
    /// (e) why preservation is necessary.
    #[arg(long)]
    pub necessity: Option<String>,
    /// (f) a request for mutual legal assistance will follow.
    #[arg(long)]
    pub mla_request_to_follow: bool,
    /// (g) keep the request confidential; do not notify the user.
    #[arg(long)]
    pub confidential: bool,
}

#[derive(Debug, Args)]
pub struct RespondArgs {
    #[command(flatten)]
    pub conn: Conn,
    pub id: String,
    #[arg(
        long,
        conflicts_with_all = ["refuse", "conditions"],
        required_unless_present_any = ["refuse", "conditions"]
    )]
    pub accept: bool,
    /// Accept subject to these conditions (Art. 40).
    #[arg(long, conflicts_with = "refuse")]
    pub conditions: Option<String>,
    #[arg(long)]
    pub refuse: bool,
    /// A refusal ground (repeatable): essential_interests, domestic_law_prohibits,
    /// contrary_to_legal_system, discrimination, dual_criminality_reservation.
    #[arg(long = "ground", requires = "refuse")]
    pub grounds: Vec<String>,
    /// The reasons for the refusal.
    #[arg(long, requires = "refuse")]
    pub explanation: Option<String>,
}

pub(crate) struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Client {
    pub fn new(c: &Conn) -> anyhow::Result<Self> {
        Ok(Self {
            http: c.http()?,
            base: c.url.trim_end_matches('/').to_owned(),
            token: c.token()?,
        })
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        // A creating call carries an Idempotency-Key, so that it can be sent again after a
        // lost connection without creating twice: the node answers a retry with the first
        // answer.
        let key = (method == reqwest::Method::POST).then(|| uuid::Uuid::now_v7().to_string());
        self.call_keyed(method, path, body, key).await
    }

    /// [`Client::call`] with the `Idempotency-Key` given (`None`: none).
    pub async fn call_keyed(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        key: Option<String>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut attempt = 0;
        let resp = loop {
            attempt += 1;
            let mut req = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&self.token);
            if let Some(k) = &key {
                req = req.header("Idempotency-Key", k);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            match req.send().await {
                Ok(r)
                    if r.status() == reqwest::StatusCode::CONFLICT
                        && key.is_some()
                        && attempt < 5
                        && r.headers().contains_key(reqwest::header::RETRY_AFTER) =>
                {
                    // The first try is still running on the node.
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                Ok(r) => break r,
                Err(e) if key.is_some() && attempt < 3 && !e.is_builder() && !e.is_connect() => {
                    tracing::warn!("{url}: {e}; sending again with the same Idempotency-Key");
                    tokio::time::sleep(std::time::Duration::from_millis(500 * attempt)).await;
                }
                Err(e) => {
                    return Err(crate::exit::Failure::Unavailable
                        .wrap(anyhow::Error::new(e).context(format!("cannot reach {url}"))));
                }
            }
        };
        answer(&url, resp).await
    }
}

/// A node's JSON answer: the value on success, else an error with the node's code, message and
/// field details, marked with the exit status the HTTP status stands for.
pub(crate) async fn answer(url: &str, resp: reqwest::Response) -> anyhow::Result<Value> {
    let status = resp.status();
    let failure = crate::exit::Failure::from_status(status.as_u16());
    let mark = |e: anyhow::Error| match failure {
        Some(f) if !status.is_success() => f.wrap(e),
        _ => e,
    };
    let value: Value = resp
        .json()
        .await
        .with_context(|| format!("{url} did not answer JSON ({status})"))
        .map_err(mark)?;
    if status.is_success() {
        return Ok(value);
    }
    let mut msg = format!(
        "{} ({status}): {}",
        value["error"].as_str().unwrap_or("error"),
        value["message"].as_str().unwrap_or("")
    );
    if let Some(details) = value["details"].as_array() {
        for d in details.iter().filter(|d| d["field"].is_string()) {
            msg.push_str(&format!(
                "\n  - {}: {}{}",
                d["field"].as_str().unwrap_or(""),
                d["message"].as_str().unwrap_or(""),
                d["article"]
                    .as_str()
                    .map(|a| format!(" [{a}]"))
                    .unwrap_or_default()
            ));
        }
    }
    Err(mark(anyhow::anyhow!(msg)))
}

fn print(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

pub async fn run(c: RequestCommand) -> anyhow::Result<()> {
    match c {
        RequestCommand::Send(a) => {
            let mut body = match &a.json {
                Some(p) => serde_json::from_str(
                    &std::fs::read_to_string(p)
                        .with_context(|| format!("reading {}", p.display()))?,
                )
                .with_context(|| format!("{} is not JSON", p.display()))?,
                None => json!({"type": "preservation"}),
            };
            let obj = body
                .as_object_mut()
                .context("the JSON file must hold an object")?;
            obj.entry("type").or_insert(json!("preservation"));
            if let Some(t) = &a.request_type {
                obj.insert("type".into(), json!(t));
            }
            if let Some(years) = a.max_penalty_years {
                obj.insert("max_penalty_years".into(), json!(years));
            }
            for (k, v) in [
                ("to", &a.to),
                ("offence_category", &a.offence_category),
                ("legal_basis", &a.legal_basis),
                ("legal_basis_detail", &a.legal_basis_detail),
                ("urgency", &a.urgency),
                ("emergency_reason", &a.emergency_reason),
                ("language", &a.language),
                (
                    "proportionality_justification",
                    &a.proportionality_justification,
                ),
                ("follows_request", &a.follows_request),
                ("time_limit", &a.time_limit),
                ("time_limit_reasons", &a.time_limit_reasons),
                ("requesting_authority", &a.requesting_authority),
                ("offence", &a.offence),
                ("summary_of_facts", &a.summary_of_facts),
                ("data_to_preserve", &a.data_to_preserve),
                ("relationship_to_offence", &a.relationship_to_offence),
                ("custodian_or_location", &a.custodian_or_location),
                ("necessity", &a.necessity),
            ] {
                if let Some(v) = v {
                    obj.insert(k.into(), json!(v));
                }
            }
            if a.mla_request_to_follow {
                obj.insert("mla_request_to_follow".into(), json!(true));
            }
            if a.confidential {
                obj.insert("confidential".into(), json!(true));
            }
            if a.draft {
                obj.insert("draft".into(), json!(true));
            }
            for f in &a.fields {
                let (k, v) = f
                    .split_once('=')
                    .with_context(|| format!("--field must be KEY=VALUE, got {f:?}"))?;
                let v = serde_json::from_str(v).unwrap_or_else(|_| json!(v));
                obj.insert(k.trim().into(), v);
            }
            let client = Client::new(&a.conn)?;
            print(
                &client
                    .call(reqwest::Method::POST, "/api/v1/requests", Some(&body))
                    .await?,
            );
        }
        RequestCommand::List(a) => list(a).await?,
        RequestCommand::Attach(a) => crate::commands::evidence::attach(a).await?,
        RequestCommand::Download(a) => crate::commands::evidence::download(a).await?,
        RequestCommand::Show { conn, id } => {
            print(
                &Client::new(&conn)?
                    .call(
                        reqwest::Method::GET,
                        &format!("/api/v1/requests/{id}"),
                        None,
                    )
                    .await?,
            );
        }
        RequestCommand::Respond(a) => {
            let body = if a.accept {
                json!({"decision": "accept"})
            } else if let Some(c) = &a.conditions {
                json!({"decision": "accept_with_conditions", "conditions": c})
            } else {
                json!({"decision": "refuse", "grounds": a.grounds, "explanation": a.explanation})
            };
            let client = Client::new(&a.conn)?;
            print(
                &client
                    .call(
                        reqwest::Method::POST,
                        &format!("/api/v1/requests/{}/responses", a.id),
                        Some(&body),
                    )
                    .await?,
            );
        }
        RequestCommand::Move(a) => {
            let mut body = json!({"status": a.status});
            if let Some(n) = &a.note {
                body["note"] = json!(n);
            }
            if !a.grounds.is_empty() {
                body["grounds"] = json!(a.grounds);
            }
            if let Some(e) = &a.explanation {
                body["explanation"] = json!(e);
            }
            if let Some(c) = &a.conditions {
                body["conditions"] = json!(c);
            }
            print(
                &Client::new(&a.conn)?
                    .call(
                        reqwest::Method::POST,
                        &format!("/api/v1/requests/{}/transitions", a.id),
                        Some(&body),
                    )
                    .await?,
            );
        }
        RequestCommand::Enquire { conn, id, note } => {
            let body = match note {
                Some(n) => json!({"note": n}),
                None => json!({}),
            };
            print(
                &Client::new(&conn)?
                    .call(
                        reqwest::Method::POST,
                        &format!("/api/v1/requests/{id}/status-enquiry"),
                        Some(&body),
                    )
                    .await?,
            );
        }
    }
    Ok(())
}

/// `request list`: pages of `GET /api/v1/requests`, followed with their cursors for --all.
async fn list(a: ListArgs) -> anyhow::Result<()> {
    let client = Client::new(&a.conn)?;
    let mut params: Vec<(&str, String)> = Vec::new();
    if let Some(d) = a.direction {
        params.push((
            "direction",
            match d {
                DirectionArg::Incoming => "incoming",
                DirectionArg::Outgoing => "outgoing",
            }
            .into(),
        ));
    }
    if let Some(s) = a.sort {
        params.push((
            "sort",
            match s {
                SortArg::TimeLimit => "time_limit",
                SortArg::CreatedAt => "created_at",
            }
            .into(),
        ));
    }
    for (k, v) in [
        ("status", &a.status),
        ("type", &a.request_type),
        ("peer", &a.peer),
        ("urgency", &a.urgency),
        ("since", &a.since),
        ("until", &a.until),
    ] {
        if let Some(v) = v {
            params.push((k, v.clone()));
        }
    }
    let page_size = if a.all {
        a.limit.clamp(1, 500)
    } else {
        a.limit
    };
    params.push(("limit", page_size.to_string()));
    let mut rows: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut total: i64;
    loop {
        let mut url = reqwest::Url::parse("http://list/api/v1/requests")?;
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in &params {
                q.append_pair(k, v);
            }
            if let Some(c) = &cursor {
                q.append_pair("cursor", c);
            }
        }
        let path = format!("/api/v1/requests?{}", url.query().unwrap_or(""));
        let v = client.call(reqwest::Method::GET, &path, None).await?;
        total = v["total"].as_i64().unwrap_or(0);
        rows.extend(v["requests"].as_array().cloned().unwrap_or_default());
        cursor = v["next_cursor"].as_str().map(str::to_owned);
        if !a.all || cursor.is_none() {
            break;
        }
        // Progress on standard error, so that standard output stays the table or the JSON.
        eprintln!("… {} of {total}", rows.len());
    }
    if a.json {
        print(&json!({"requests": rows, "total": total, "next_cursor": cursor}));
        return Ok(());
    }
    println!(
        "{:<36}  {:<22}  {:<9}  {:<10}  {:<9}  {:<9}  {:<9}  {:<10}  CREATED",
        "ID", "TYPE", "DIRECTION", "STATUS", "URGENCY", "FROM", "TO", "TIME LIMIT"
    );
    for r in &rows {
        println!(
            "{:<36}  {:<22}  {:<9}  {:<10}  {:<9}  {:<9}  {:<9}  {:<10}  {}",
            r["id"].as_str().unwrap_or(""),
            r["type"].as_str().unwrap_or(""),
            r["direction"].as_str().unwrap_or(""),
            r["status"].as_str().unwrap_or(""),
            r["urgency"].as_str().unwrap_or(""),
            r["from"].as_str().unwrap_or(""),
            r["to"].as_str().unwrap_or(""),
            r["time_limit"].as_str().unwrap_or("-"),
            r["created_at"].as_str().unwrap_or("")
        );
    }
    let more = if (rows.len() as i64) < total {
        " (--all for every one)"
    } else {
        ""
    };
    println!("showing {} of {total}{more}", rows.len());
    Ok(())
}
