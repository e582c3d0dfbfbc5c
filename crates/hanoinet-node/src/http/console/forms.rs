//! The request forms, generated from the core catalogue (`hanoinet_core::catalogue::forms`):
//! each field an input of its kind, labelled from the message files with its article, with the
//! value the user typed and the error the validation gave it; and the way back, a submitted
//! form read into the JSON body the REST API takes, so both go through the same validation.

use serde_json::{Map, Value};

use hanoinet_core::catalogue::forms::{COMMON_FIELDS, FieldKind, FieldSpec, Presence};
use hanoinet_core::request::{FieldError, RequestType};

use crate::http::i18n::Lang;

/// The input a field takes.
pub enum Input {
    Text { max: usize, long: bool },
    Checkbox,
    Number { min: i64, max: i64 },
    Date,
    Select(Vec<(String, String)>),
    Language,
    RequestRef,
}

/// One field of a rendered form.
pub struct Field {
    pub name: &'static str,
    pub label: String,
    pub article: String,
    pub input: Input,
    pub required: bool,
    /// When the field becomes required (`offence_category = serious_crime`), in words.
    pub required_when: Option<String>,
    pub value: String,
    pub error: Option<String>,
}

impl Field {
    pub fn is_checked(&self) -> bool {
        self.value == "true"
    }
}

/// The fields of a type's form, in catalogue order, then the fields every request shares.
pub fn specs(t: RequestType) -> impl Iterator<Item = &'static FieldSpec> {
    t.form().fields.iter().chain(COMMON_FIELDS.iter())
}

/// The label of a catalogue value (`offence-illegal_access`, `urgency-emergency`, …).
pub fn option_label(lang: Lang, field: &str, value: &str) -> String {
    let prefix = match field {
        "offence_category" => "offence",
        "legal_basis" => "basis",
        "urgency" => "urgency",
        _ => return value.to_owned(),
    };
    lang.text(&format!("{prefix}-{value}"))
}

/// The message for a validation error, in the user's language, with its article.
pub fn error_text(lang: Lang, e: &FieldError) -> String {
    let text = lang.text(&format!("invalid-{}", e.code.as_str()));
    match &e.article {
        Some(a) => format!("{text} ({a})"),
        None => text,
    }
}

/// The form of type `t` with the submitted `values` and their `errors`.
pub fn fields(
    lang: Lang,
    t: RequestType,
    values: &[(String, String)],
    errors: &[FieldError],
) -> Vec<Field> {
    specs(t)
        .map(|spec| {
            let value = values
                .iter()
                .rev()
                .find(|(k, _)| k == spec.name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let input = match spec.kind {
                FieldKind::Text(max) => Input::Text {
                    max,
                    long: max > hanoinet_core::catalogue::forms::MAX_SHORT_CHARS,
                },
                FieldKind::Flag | FieldKind::MustBeTrue => Input::Checkbox,
                FieldKind::Integer { min, max } => Input::Number { min, max },
                FieldKind::Date => Input::Date,
                FieldKind::OneOf(values) => Input::Select(
                    values
                        .iter()
                        .map(|v| ((*v).to_owned(), option_label(lang, spec.name, v)))
                        .collect(),
                ),
                FieldKind::Language => Input::Language,
                FieldKind::RequestRef => Input::RequestRef,
            };
            let error = errors
                .iter()
                .find(|e| e.field == spec.name)
                .map(|e| error_text(lang, e));
            Field {
                name: spec.name,
                label: lang.text(&format!("field-{}", spec.name)),
                article: spec.article.to_string(),
                input,
                required: spec.presence == Presence::Required,
                required_when: match spec.presence {
                    Presence::RequiredWhen(_) => {
                        Some(lang.text(&format!("field-{}-when", spec.name)))
                    }
                    _ => None,
                },
                value,
                error,
            }
        })
        .collect()
}

/// A submitted request form as the API's JSON body: `type` and `to`, each field of the type's
/// form that was filled in (a number as a number, a ticked box as `true`; a number that is not
/// one stays a string so the validation names it), and `draft`.
pub fn body(t: RequestType, to: &str, values: &[(String, String)], draft: bool) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), Value::from(t.as_str()));
    o.insert("to".into(), Value::from(to));
    for spec in specs(t) {
        let Some(v) = values
            .iter()
            .rev()
            .find(|(k, _)| k == spec.name)
            .map(|(_, v)| v.trim())
        else {
            continue;
        };
        if v.is_empty() {
            continue;
        }
        let value = match spec.kind {
            FieldKind::Flag | FieldKind::MustBeTrue => Value::Bool(v == "true"),
            FieldKind::Integer { .. } => v
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::from(v)),
            _ => Value::from(v),
        };
        o.insert(spec.name.into(), value);
    }
    if draft {
        o.insert("draft".into(), Value::Bool(true));
    }
    Value::Object(o)
}

/// The value of a stored field as a user reads it.
pub fn shown(lang: Lang, spec: &FieldSpec, v: &Value) -> String {
    match v {
        Value::Bool(true) => lang.text("yes"),
        Value::Bool(false) => lang.text("no"),
        Value::String(s) => match spec.kind {
            FieldKind::OneOf(_) => option_label(lang, spec.name, s),
            _ => s.clone(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_form_reads_into_the_apis_body() {
        let values = vec![
            ("offence".to_owned(), " Fraud ".to_owned()),
            ("requested_period_days".into(), "90".into()),
            ("mla_request_to_follow".into(), "true".into()),
            ("max_penalty_years".into(), "ten".into()),
            ("summary_of_facts".into(), "".into()),
            ("not_a_field".into(), "x".into()),
        ];
        let b = body(RequestType::Preservation, "FRA/247", &values, true);
        assert_eq!(
            b,
            json!({"type": "preservation", "to": "FRA/247", "offence": "Fraud",
                   "requested_period_days": 90, "mla_request_to_follow": true,
                   "max_penalty_years": "ten", "draft": true})
        );
    }

    #[test]
    fn every_field_has_its_label_and_article() {
        for t in RequestType::ALL {
            for f in fields(Lang::En, t, &[], &[]) {
                assert!(!f.label.is_empty() && !f.article.is_empty(), "{}", f.name);
            }
        }
    }
}
