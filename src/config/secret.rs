//! `Secret`: an API key, password or token. Its `Debug` and `Display` never show it in full.

/// A secret string. `Debug`/`Display` print the masked form; only `expose()` gives the value,
/// and only the code that puts it on the wire (the `x-apikey` header, SMTP AUTH) calls it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The real value. Call it only where the secret goes on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `abcd…wxyz` for long values (API keys), `****` for short ones (passwords).
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() >= 16 {
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
    fn short_secret_is_fully_hidden() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "****");
        assert_eq!(s.expose(), "hunter2");
    }
}
