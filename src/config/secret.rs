//! `Secret`: an API key, password or token. Its `Debug` and `Display` never show it in full:
//! API keys as `abcd…wxyz` (enough to tell keys apart), passwords and tokens made with
//! [`Secret::hidden`] as `****` whatever their length.

/// A secret string. `Debug`/`Display` print the masked form; only `expose()` gives the value,
/// and only the code that puts it on the wire (the `x-apikey` header, SMTP AUTH) calls it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret {
    value: String,
    /// show the first and last four characters of a long value (API keys only)
    show_ends: bool,
}

impl Secret {
    /// An API key: masked as `abcd…wxyz` when 16 characters or longer, else `****`.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret {
            value: value.into(),
            show_ends: true,
        }
    }

    /// A password or token: always masked as `****`, however long.
    pub fn hidden(value: impl Into<String>) -> Secret {
        Secret {
            value: value.into(),
            show_ends: false,
        }
    }

    /// The real value. Call it only where the secret goes on the wire.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// `abcd…wxyz` for long API keys, `****` for short ones and for passwords and tokens.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.value.chars().collect();
        if self.show_ends && chars.len() >= 16 {
            let head: String = chars[..4].iter().collect();
            let tail: String = chars[chars.len() - 4..].iter().collect();
            format!("{head}…{tail}")
        } else {
            "****".to_string()
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({})", self.masked())
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_secret_is_masked_to_head_and_tail() {
        let s = Secret::new("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        assert_eq!(s.masked(), "0123…cdef");
        assert!(!format!("{s:?}").contains("456789abcdef0123"));
        assert!(!format!("{s}").contains("456789abcdef0123"));
    }

    #[test]
    fn hidden_secret_never_shows_a_character() {
        let s = Secret::hidden("correct-horse-battery-staple");
        assert_eq!(s.masked(), "****");
        assert_eq!(format!("{s:?}"), "Secret(****)");
        assert_eq!(s.expose(), "correct-horse-battery-staple");
    }

    #[test]
    fn short_secret_is_fully_hidden() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "****");
        assert_eq!(s.expose(), "hunter2");
    }
}
