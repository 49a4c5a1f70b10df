//! The IOC model: kinds, parsing, normalisation, refang/defang. Pure: no I/O, no DNS, no
//! deduplication (the run groups equal [`Ioc`]s itself).
//!
//! [`Ioc::parse`] is the one way in: it reads the kind the analyst declared (`kind`), cleans and
//! refangs the value (`refang`), then classifies and normalises it (`normalise`, whose module
//! doc lists the inference order). A value that is not a usable indicator, or that contradicts
//! the declared kind, is an [`IocProblem`] whose text is shown to the analyst.
//!
//! OWNER: foundation helper. Shared contract (do not change the public signatures without
//! telling the integrator): `IocKind`, `Ioc::parse`, `Ioc::kind`, `Ioc::value`, `Ioc::defanged`,
//! `IocProblem`, `refang`, `defang`.

mod kind;
mod normalise;
mod refang;

use serde::{Deserialize, Serialize};

pub use refang::{defang, refang};

/// The six kinds ioc-tracker knows. Serialised as in `validate --json`: md5, sha1, sha256,
/// domain, ip, url.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IocKind {
    Md5,
    Sha1,
    Sha256,
    Domain,
    Ip,
    Url,
}

impl IocKind {
    /// Machine name: "md5", "sha1", "sha256", "domain", "ip", "url".
    pub fn as_str(self) -> &'static str {
        match self {
            IocKind::Md5 => "md5",
            IocKind::Sha1 => "sha1",
            IocKind::Sha256 => "sha256",
            IocKind::Domain => "domain",
            IocKind::Ip => "ip",
            IocKind::Url => "url",
        }
    }

    /// Name shown to a person: "MD5", "SHA1", "SHA256", "Domain", "IP", "URL".
    pub fn label(self) -> &'static str {
        match self {
            IocKind::Md5 => "MD5",
            IocKind::Sha1 => "SHA1",
            IocKind::Sha256 => "SHA256",
            IocKind::Domain => "Domain",
            IocKind::Ip => "IP",
            IocKind::Url => "URL",
        }
    }

    /// SHA256, SHA1 and MD5 all name a file.
    pub fn is_hash(self) -> bool {
        matches!(self, IocKind::Md5 | IocKind::Sha1 | IocKind::Sha256)
    }
}

impl std::fmt::Display for IocKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated, normalised indicator. Two rows with the same `Ioc` are one lookup.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Ioc {
    kind: IocKind,
    value: String,
}

impl Ioc {
    /// Parse a raw cell value, with the kind the analyst declared in the `IOC` column
    /// (`None` or blank or "Hash": inferred from the value). Trims, refangs, validates and
    /// normalises. A declared kind that contradicts the value is an error, never a guess.
    pub fn parse(raw: &str, declared: Option<&str>) -> Result<Ioc, IocProblem> {
        let cleaned = refang::clean(raw);
        if cleaned.is_empty() {
            return Err(IocProblem::Empty);
        }
        let declared = kind::Declared::parse(declared)?;
        let value = refang(&cleaned);
        let (found, value) = normalise::normalise(&value, declared)?;
        Ok(Ioc {
            kind: found.kind(),
            value,
        })
    }

    /// Build an `Ioc` from a value that is already normalised, without checking it. For tests,
    /// benchmarks and the simulator's own fixtures only; real input goes through [`Ioc::parse`].
    #[doc(hidden)]
    pub fn new_unchecked(kind: IocKind, value: impl Into<String>) -> Ioc {
        Ioc {
            kind,
            value: value.into(),
        }
    }

    pub fn kind(&self) -> IocKind {
        self.kind
    }

    /// The normalised value (lower-case hash, punycode domain, canonical IP, parsed URL).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Defanged form for people and email: `hxxps://evil[.]example/x`, `198.51.100[.]7`.
    pub fn defanged(&self) -> String {
        defang(&self.value)
    }
}

impl std::fmt::Display for Ioc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.value)
    }
}

/// Why a value is not a usable IOC. The Display text is the reason shown in `validate`,
/// the Notes cell and the report ("wrong length for a hash: 31 hex characters", …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IocProblem {
    #[error("empty value")]
    Empty,
    /// The reason the value is not valid ("not a domain: no dot", "wrong length for a hash: …").
    #[error("{0}")]
    Invalid(String),
    /// The `IOC` column names a kind ioc-tracker does not know.
    #[error("unknown IOC kind \"{0}\" (expected {accepted})", accepted = kind::ACCEPTED)]
    UnknownKind(String),
    /// The value is valid, but as another kind than the one declared.
    #[error("declared {declared} but the value is {found}")]
    KindMismatch {
        declared: &'static str,
        found: &'static str,
    },
}

#[cfg(test)]
mod tests;
