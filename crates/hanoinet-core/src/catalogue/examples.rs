//! An example body per request type: shown in `GET /api/v1/catalogue`, used by the demo and
//! by the tests as the valid starting point they change one field of.

use serde_json::{Value, json};

use super::forms::RequestType;

/// Fields every request carries, valid.
fn common(to: &str) -> Value {
    json!({
        "to": to,
        "offence_category": "ict_theft_or_fraud",
        "language": "en",
        "proportionality_justification": "Only the records of one account for two months are sought."
    })
}

/// A complete, valid example body of type `t` for the node `to`; `earlier` is the id of the
/// request a traffic disclosure or stored-data request follows.
pub fn example(t: RequestType, to: &str, earlier: &str) -> Value {
    let own = match t {
        RequestType::Preservation => json!({
            "requesting_authority": "Cybercrime Unit, Ministry of Public Security, Viet Nam",
            "offence": "ICT fraud (Art. 13)",
            "summary_of_facts": "Phishing campaign against bank customers.",
            "data_to_preserve": "Subscriber and login records of account x@example.fr",
            "relationship_to_offence": "The account registered the phishing domain.",
            "custodian_or_location": "Example Mail SAS, Paris",
            "necessity": "Logs are deleted after 30 days.",
            "mla_request_to_follow": true,
            "confidential": true
        }),
        RequestType::TrafficDisclosure => json!({
            "requesting_authority": "OCLCTIC, Nanterre",
            "traffic_data": "Connection logs of 2026-03-01 for the preserved account",
            "service_provider": "Example Hosting Ltd, Nairobi",
            "transmission_path": "Relay through AS64500",
            "follows_request": earlier
        }),
        RequestType::StoredData => json!({
            "requesting_authority": "Prosecutor, Hanoi",
            "subject_matter": "Fraud investigation 2026/17",
            "conducting_authority": "Hanoi People's Procuracy",
            "summary_of_facts": "Phishing campaign.",
            "assistance_sought": "Disclosure of the preserved records",
            "data_description": "Subscriber and login records of x@example.fr",
            "purpose": "Evidence at trial",
            "follows_request": earlier
        }),
        RequestType::RealtimeTraffic | RequestType::Interception => json!({
            "requesting_authority": "Prosecutor, Hanoi",
            "subject_matter": "Fraud investigation 2026/17",
            "conducting_authority": "Hanoi People's Procuracy",
            "summary_of_facts": "Phishing campaign.",
            "data_to_collect": "Traffic data of the account",
            "relationship_to_offence": "The account runs the campaign.",
            "identifying_information": "x@example.fr",
            "necessity": "The campaign is ongoing.",
            "collection_period_days": 30,
            "period_justification": "The campaign runs in monthly waves.",
            "purpose": "Identify the operators"
        }),
        RequestType::Mla => json!({
            "requesting_authority": "Prosecutor, Hanoi",
            "subject_matter": "Fraud investigation 2026/17",
            "conducting_authority": "Hanoi People's Procuracy",
            "summary_of_facts": "Phishing campaign.",
            "assistance_sought": "Hearing of a witness",
            "purpose": "Evidence at trial"
        }),
        RequestType::SpontaneousInformation => json!({
            "providing_authority": "National Cyber Unit",
            "information": "A server in your territory hosts phishing kits.",
            "relevance": "It targets your banks."
        }),
        RequestType::LawEnforcement => json!({
            "requesting_authority": "National Cyber Unit",
            "subject_matter": "Phishing ring",
            "information_sought": "Whereabouts of a suspect",
            "purpose": "Arrest"
        }),
        RequestType::JointInvestigation => json!({
            "requesting_authority": "National Cyber Unit",
            "subject_matter": "Phishing ring",
            "proposed_arrangement": "A joint team of two officers each, operating in Hanoi",
            "purpose": "Dismantle the ring"
        }),
        RequestType::EvidenceAndLegalInformation => json!({
            "requesting_authority": "24/7 point of contact, Viet Nam",
            "assistance_sought": "What French law requires before a provider may disclose subscriber data to a foreign authority",
            "summary_of_facts": "Phishing campaign; the domain was registered through a French registrar."
        }),
        RequestType::TechnicalAdvice => json!({
            "requesting_authority": "24/7 point of contact",
            "advice_sought": "How to read the provider's log format"
        }),
        RequestType::LocateSuspect => json!({
            "requesting_authority": "24/7 point of contact",
            "identifying_information": "Account x@example.fr",
            "reasons": "Runs the phishing campaign"
        }),
        RequestType::EmergencyDisclosure => json!({
            "requesting_authority": "24/7 point of contact",
            "data_sought": "Location data of the account",
            "custodian_or_location": "Example Mail SAS",
            "how_data_averts_emergency": "Locates the person at risk",
            "urgency": "emergency",
            "emergency_reason": "A child's life is threatened"
        }),
    };
    let mut v = common(to);
    v["type"] = json!(t.as_str());
    if let (Some(v), Some(own)) = (v.as_object_mut(), own.as_object()) {
        v.extend(own.clone());
    }
    v
}
