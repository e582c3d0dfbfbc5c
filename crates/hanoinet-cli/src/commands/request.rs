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
    /// Your bearer token (from `hanoinet user add`).
    #[arg(long, env = "HANOINET_TOKEN", hide_env_values = true)]
    pub token: String,
}

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Send a request of any type (preservation by default). Give the fields as flags, as
    /// --field KEY=VALUE, or as a JSON file; `GET /api/v1/catalogue` lists each type's fields.
    Send(Box<SendArgs>),
    /// List requests, newest first.
    List {
        #[command(flatten)]
        conn: Conn,
        #[arg(long, value_enum)]
        direction: Option<DirectionArg>,
        /// Order: newest first (default) or earliest requested time limit first.
        #[arg(long, value_enum)]
        sort: Option<SortArg>,
    },
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

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    fn new(c: &Conn) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder().build()?,
            base: c.url.trim_end_matches('/').to_owned(),
            token: c.token.clone(),
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = resp.status();
        let value: Value = resp
            .json()
            .await
            .with_context(|| format!("{url} did not answer JSON"))?;
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
        anyhow::bail!(msg)
    }
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
        RequestCommand::List {
            conn,
            direction,
            sort,
        } => {
            let mut params = Vec::new();
            match direction {
                Some(DirectionArg::Incoming) => params.push("direction=incoming"),
                Some(DirectionArg::Outgoing) => params.push("direction=outgoing"),
                None => {}
            }
            match sort {
                Some(SortArg::TimeLimit) => params.push("sort=time_limit"),
                Some(SortArg::CreatedAt) => params.push("sort=created_at"),
                None => {}
            }
            let q = if params.is_empty() {
                String::new()
            } else {
                format!("?{}", params.join("&"))
            };
            let v = Client::new(&conn)?
                .call(reqwest::Method::GET, &format!("/api/v1/requests{q}"), None)
                .await?;
            let rows = v["requests"].as_array().cloned().unwrap_or_default();
            println!(
                "{:<36}  {:<22}  {:<9}  {:<10}  {:<9}  {:<9}  {:<9}  {:<10}  CREATED",
                "ID", "TYPE", "DIRECTION", "STATUS", "URGENCY", "FROM", "TO", "TIME LIMIT"
            );
            for r in rows {
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
        }
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
