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
}
