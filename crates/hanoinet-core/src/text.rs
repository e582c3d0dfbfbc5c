//! The one policy for free text, applied to every text field on the API and on receipt:
//! surrounding whitespace is trimmed, `\r\n` becomes `\n`, control characters are refused (a NUL
//! would be stored and sent, and PostgreSQL refuses it, so the peer would retry forever), so are
//! the bidirectional embedding, override and isolate controls (they make a text or a file name
//! read as something else), a value that is only whitespace or invisible characters counts as
//! empty, and every field has a length limit in characters.

use std::fmt;

/// Why a text value is refused; `code()` is the field error's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    /// Nothing visible: empty, whitespace, zero-width characters.
    Empty,
    /// More than the field's limit of characters.
    TooLong(usize),
    /// A control character (or a line break in a one-line field).
    Control,
    /// A bidirectional embedding, override or isolate control (U+202A–U+202E, U+2066–U+2069).
    Bidi,
}

impl TextError {
    pub fn code(self) -> crate::request::FieldCode {
        use crate::request::FieldCode;
        match self {
            Self::Empty => FieldCode::Empty,
            Self::TooLong(_) => FieldCode::TooLong,
            Self::Control => FieldCode::ControlCharacter,
            Self::Bidi => FieldCode::BidiControl,
        }
    }
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "must not be empty (or only invisible characters)"),
            Self::TooLong(max) => write!(f, "is longer than {max} characters"),
            Self::Control => write!(f, "contains a control character"),
            Self::Bidi => write!(
                f,
                "contains a bidirectional override or isolate control (U+202A-U+202E, U+2066-U+2069)"
            ),
        }
    }
}

/// Lines allowed or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// Names, titles, purposes: one line.
    One,
    /// Notes, facts, explanations: line breaks and tabs allowed.
    Many,
}

/// Characters that show nothing: a value made only of these (and whitespace) is empty.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}' | '\u{034F}'
    )
}

fn bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Cleans `s` under the policy: the trimmed text, or why it is refused.
pub fn clean(s: &str, max_chars: usize, lines: Lines) -> Result<String, TextError> {
    let s = s.replace("\r\n", "\n");
    let t = s.trim_matches(|c: char| c.is_whitespace() || invisible(c));
    if t.is_empty() {
        return Err(TextError::Empty);
    }
    for c in t.chars() {
        if bidi_control(c) {
            return Err(TextError::Bidi);
        }
        let allowed_break = lines == Lines::Many && (c == '\n' || c == '\t');
        if c.is_control() && !allowed_break {
            return Err(TextError::Control);
        }
        if lines == Lines::One && matches!(c, '\u{2028}' | '\u{2029}') {
            return Err(TextError::Control);
        }
    }
    if t.chars().count() > max_chars {
        return Err(TextError::TooLong(max_chars));
    }
    Ok(t.to_owned())
}

/// [`clean`] for an optional value: absent, `null` or empty-looking is `None`.
pub fn clean_optional(
    s: Option<&str>,
    max_chars: usize,
    lines: Lines,
) -> Result<Option<String>, TextError> {
    match s.map(|s| clean(s, max_chars, lines)) {
        None | Some(Err(TextError::Empty)) => Ok(None),
        Some(Ok(t)) => Ok(Some(t)),
        Some(Err(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy() {
        let ok = |s: &str| clean(s, 20, Lines::Many);
        assert_eq!(ok("  Phishing \r\n site\t "), Ok("Phishing \n site".into()));
        assert_eq!(ok("Lừa đảo qua mạng"), Ok("Lừa đảo qua mạng".into()));
        assert_eq!(ok("احتيال\u{200F} عبر"), Ok("احتيال\u{200F} عبر".into()));
        for empty in ["", "   ", "\u{200B}\u{200B}", "\u{FEFF} \u{2060}", "\n\t"] {
            assert_eq!(ok(empty), Err(TextError::Empty), "{empty:?}");
        }
        assert_eq!(ok("a\u{0}b"), Err(TextError::Control));
        assert_eq!(ok("\u{0}"), Err(TextError::Control));
        assert_eq!(ok("a\u{1b}[31mb"), Err(TextError::Control));
        assert_eq!(ok("a\u{7f}b"), Err(TextError::Control));
        assert_eq!(ok("invoice\u{202E}fdp.exe"), Err(TextError::Bidi));
        assert_eq!(ok("a\u{2066}b"), Err(TextError::Bidi));
        assert_eq!(ok(&"x".repeat(21)), Err(TextError::TooLong(20)));
        assert_eq!(ok(&"é".repeat(20)), Ok("é".repeat(20)));
        assert_eq!(clean("a\nb", 20, Lines::One), Err(TextError::Control));
        assert_eq!(clean("a\u{2028}b", 20, Lines::One), Err(TextError::Control));
        assert_eq!(clean_optional(Some(" \u{200B} "), 5, Lines::One), Ok(None));
        assert_eq!(clean_optional(None, 5, Lines::One), Ok(None));
        assert_eq!(
            clean_optional(Some("a\u{0}"), 5, Lines::One),
            Err(TextError::Control)
        );
    }
}
