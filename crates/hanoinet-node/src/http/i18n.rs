//! The console's languages: the six official languages of the United Nations and Vietnamese.
//! Every user-visible string is a Fluent message in `locales/<lang>/console.ftl`, compiled into
//! the binary; a user's language is the one they chose, else `?lang=`, else the browser's
//! `Accept-Language`, else English.

use fluent_templates::{LanguageIdentifier, Loader};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Keep the text exactly as written: no Unicode isolation marks around arguments.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

hanoinet_core::names! {
    /// A console language (its BCP 47 tag).
    pub enum Lang {
        Ar => "ar",
        En => "en",
        Es => "es",
        Fr => "fr",
        Ru => "ru",
        Zh => "zh",
        Vi => "vi",
    }
}

impl Lang {
    /// `rtl` for Arabic, `ltr` otherwise (the `dir` of `<html>`).
    pub fn dir(self) -> &'static str {
        match self {
            Self::Ar => "rtl",
            _ => "ltr",
        }
    }

    /// The language's own name, for the language menu.
    pub fn endonym(self) -> &'static str {
        match self {
            Self::Ar => "العربية",
            Self::En => "English",
            Self::Es => "Español",
            Self::Fr => "Français",
            Self::Ru => "Русский",
            Self::Zh => "中文",
            Self::Vi => "Tiếng Việt",
        }
    }

    fn id(self) -> LanguageIdentifier {
        self.as_str()
            .parse()
            .unwrap_or(fluent_templates::langid!("en"))
    }

    /// The message `key` in this language.
    pub fn text(self, key: &str) -> String {
        LOCALES.lookup(&self.id(), key)
    }

    /// The message `key` with its arguments.
    pub fn text_with(self, key: &str, args: &[(&'static str, String)]) -> String {
        let args: std::collections::HashMap<std::borrow::Cow<'static, str>, _> = args
            .iter()
            .map(|(k, v)| (std::borrow::Cow::Borrowed(*k), v.clone().into()))
            .collect();
        LOCALES.lookup_with_args(&self.id(), key, &args)
    }
}

/// The language to answer in: the user's saved choice, else `?lang=`, else the best match of
/// `Accept-Language` (`ar-EG` is Arabic, `zh-Hant-TW` Chinese), else English. Unknown tags are
/// skipped, never an error.
pub fn negotiate(saved: Option<&str>, query: Option<&str>, accept_language: Option<&str>) -> Lang {
    if let Some(l) = saved
        .and_then(Lang::parse)
        .or_else(|| query.and_then(Lang::parse))
    {
        return l;
    }
    let Some(header) = accept_language else {
        return Lang::En;
    };
    let requested = fluent_langneg::accepted_languages::parse(header);
    let available: Vec<LanguageIdentifier> = Lang::ALL.iter().map(|l| l.id()).collect();
    let default = Lang::En.id();
    fluent_langneg::negotiate_languages(
        &requested,
        &available,
        Some(&default),
        fluent_langneg::NegotiationStrategy::Lookup,
    )
    .first()
    .and_then(|id| Lang::parse(id.language.as_str()))
    .unwrap_or(Lang::En)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message ids of one language's file.
    fn keys(lang: Lang) -> std::collections::BTreeSet<String> {
        let path = format!(
            "{}/locales/{}/console.ftl",
            env!("CARGO_MANIFEST_DIR"),
            lang.as_str()
        );
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let resource = fluent_templates::fluent_bundle::FluentResource::try_new(text)
            .unwrap_or_else(|(_, errors)| panic!("{path} does not parse: {errors:?}"));
        resource
            .entries()
            .filter_map(|e| match e {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_language_has_every_message_and_no_other() {
        let english = keys(Lang::En);
        assert!(english.len() >= 10, "{english:?}");
        for &lang in Lang::ALL {
            let theirs = keys(lang);
            let missing: Vec<_> = english.difference(&theirs).collect();
            let extra: Vec<_> = theirs.difference(&english).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{lang}: missing {missing:?}, not in English {extra:?}"
            );
        }
    }

    #[test]
    fn messages_are_looked_up_in_the_language_with_their_arguments() {
        assert_eq!(Lang::Fr.text("sign-in-title"), "Connexion");
        assert_eq!(Lang::Vi.text("sign-out"), "Đăng xuất");
        assert_eq!(
            Lang::En.text_with("sign-in-too-many", &[("seconds", "30".into())]),
            "Too many failed attempts. Try again in 30 seconds."
        );
        assert_eq!(Lang::Ar.dir(), "rtl");
        assert_eq!(Lang::Zh.dir(), "ltr");
    }

    #[test]
    fn the_language_is_the_users_then_the_query_then_the_browsers() {
        assert_eq!(negotiate(Some("vi"), Some("fr"), Some("ru")), Lang::Vi);
        assert_eq!(negotiate(None, Some("fr"), Some("ru")), Lang::Fr);
        assert_eq!(
            negotiate(None, Some("xx"), Some("ru-RU,ru;q=0.9")),
            Lang::Ru
        );
        assert_eq!(
            negotiate(None, None, Some("ar-EG,ar;q=0.9,en;q=0.8")),
            Lang::Ar
        );
        assert_eq!(negotiate(None, None, Some("zh-Hant-TW")), Lang::Zh);
        assert_eq!(negotiate(None, None, Some("de-DE,es;q=0.5")), Lang::Es);
        assert_eq!(negotiate(None, None, Some("de-DE")), Lang::En);
        assert_eq!(negotiate(None, None, Some(";;,,q=")), Lang::En);
        assert_eq!(negotiate(None, None, None), Lang::En);
    }

    /// The message keys the console builds from a name (a status, a type, a field, …).
    fn named_keys() -> Vec<String> {
        use hanoinet_core::catalogue::forms::{
            COMMON_FIELDS, LEGAL_BASES, OFFENCE_CATEGORIES, Presence, URGENCIES,
        };
        use hanoinet_core::request::{FieldCode, RefusalGround, RequestType, Status};
        let mut out = Vec::new();
        let mut add = |prefix: &str, names: Vec<&str>| {
            out.extend(names.into_iter().map(|n| format!("{prefix}-{n}")));
        };
        add("status", Status::ALL.iter().map(|s| s.as_str()).collect());
        add("move", Status::ALL.iter().map(|s| s.as_str()).collect());
        add(
            "type",
            RequestType::ALL.iter().map(|t| t.as_str()).collect(),
        );
        add(
            "ground",
            RefusalGround::ALL.iter().map(|g| g.code()).collect(),
        );
        add(
            "invalid",
            FieldCode::ALL.iter().map(|c| c.as_str()).collect(),
        );
        add(
            "offence",
            OFFENCE_CATEGORIES.iter().map(|(c, _, _)| *c).collect(),
        );
        add("basis", LEGAL_BASES.to_vec());
        add(
            "instrument",
            vec!["ratification", "acceptance", "approval", "accession"],
        );
        add("urgency", URGENCIES.to_vec());
        add(
            "role",
            hanoinet_core::access::Role::ALL
                .iter()
                .map(|r| r.as_str())
                .collect(),
        );
        add(
            "side",
            hanoinet_core::lifecycle::Side::ALL
                .iter()
                .map(|s| s.as_str())
                .collect(),
        );
        add(
            "message",
            hanoinet_protocol::payload::MessageKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect(),
        );
        add(
            "onward",
            hanoinet_protocol::payload::OnwardRule::ALL
                .iter()
                .map(|k| k.as_str())
                .collect(),
        );
        add(
            "attachment",
            hanoinet_store::AttachmentState::ALL
                .iter()
                .map(|k| k.as_str())
                .collect(),
        );
        add(
            "alert",
            hanoinet_store::AlertKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect(),
        );
        let specs = RequestType::ALL
            .iter()
            .flat_map(|t| t.form().fields.iter())
            .chain(COMMON_FIELDS.iter());
        for spec in specs {
            out.push(format!("field-{}", spec.name));
            if matches!(spec.presence, Presence::RequiredWhen(_)) {
                out.push(format!("field-{}-when", spec.name));
            }
        }
        out
    }

    #[test]
    fn every_name_the_console_shows_has_a_message() {
        let english = keys(Lang::En);
        let missing: Vec<_> = named_keys()
            .into_iter()
            .filter(|k| !english.contains(k))
            .collect();
        assert!(missing.is_empty(), "no English message for {missing:?}");
    }

    /// The text of a template a user sees: what is left once the template code (`{{ }}`,
    /// `{% %}`, `{# #}`), the markup and the script are taken out.
    fn literal_text(template: &str) -> String {
        let mut s = template.to_owned();
        for (open, close) in [("{#", "#}"), ("{{", "}}"), ("{%", "%}"), ("<", ">")] {
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(i) = rest.find(open) {
                out.push_str(&rest[..i]);
                out.push(' ');
                rest = rest[i..]
                    .find(close)
                    .map_or("", |j| &rest[i + j + close.len()..]);
            }
            out.push_str(rest);
            s = out;
        }
        s
    }

    #[test]
    fn no_user_visible_string_outside_the_message_files() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/console");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let literal = literal_text(&text);
            let words: Vec<&str> = literal
                .split_whitespace()
                .filter(|w| w.chars().any(char::is_alphabetic))
                .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
                .collect();
            assert!(
                words.is_empty(),
                "{}: text outside the message files: {words:?}",
                path.display()
            );
            // Attributes a user reads or hears must be messages too.
            for attr in ["aria-label=\"", "title=\"", "alt=\"", "placeholder=\""] {
                for (i, _) in text.match_indices(attr) {
                    let value = &text[i + attr.len()..];
                    assert!(
                        value.starts_with("{{"),
                        "{}: {attr}… is not a message",
                        path.display()
                    );
                }
            }
            checked += 1;
        }
        assert!(checked >= 10, "{checked} templates");
        // The scan itself finds what it should.
        assert_eq!(
            literal_text("<p>{{ lang.text(\"x\") }}</p> Hello").trim(),
            "Hello"
        );
    }
}
