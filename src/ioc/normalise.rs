//! Classify a cleaned, refanged value and normalise it: hashes lower-case hex of exact length,
//! domains lower-case punycode without the trailing dot, IPv4 strict dotted quad, IPv6 canonical
//! (RFC 5952, as `std::net` prints it), URLs parsed by the `url` crate (scheme and host
//! lower-cased, http and https only).
//!
//! Inference when no kind is declared, in this order:
//! 1. a `scheme://` → URL;
//! 2. only hex digits, at least 16 of them → a hash (its length must be 32, 40 or 64);
//! 3. a `:` with only hex digits, `:` and `.` (optionally in `[ ]`) → IPv6;
//! 4. only digits and dots → IPv4 (so `999.1.1.1` is a bad IPv4 address, never a domain);
//! 5. a `/`, `?`, `#` or `:port` after a host with a dot → URL, read as `http://` + the value
//!    (`evil.example/path` is the URL `http://evil.example/path`);
//! 6. anything else → a domain.
//!
//! A URL's host follows the domain rules except that `_` is allowed in its labels (browsers
//! resolve such hosts; a bare domain IOC is held to letters, digits and hyphens).
//!
//! A declared URL without a scheme is read the same way (`evil.example` declared URL →
//! `http://evil.example/`). Nothing here does I/O or DNS.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::kind::Declared;
use super::{IocKind, IocProblem};

/// What a value turned out to be, a little finer than [`IocKind`] (IPv4 vs IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    Md5,
    Sha1,
    Sha256,
    Domain,
    Ipv4,
    Ipv6,
    Url,
}

impl Found {
    pub(crate) fn kind(self) -> IocKind {
        match self {
            Found::Md5 => IocKind::Md5,
            Found::Sha1 => IocKind::Sha1,
            Found::Sha256 => IocKind::Sha256,
            Found::Domain => IocKind::Domain,
            Found::Ipv4 | Found::Ipv6 => IocKind::Ip,
            Found::Url => IocKind::Url,
        }
    }

    /// "a 32-character MD5", "a domain", "an IPv4 address", …
    fn describe(self) -> &'static str {
        match self {
            Found::Md5 => "a 32-character MD5",
            Found::Sha1 => "a 40-character SHA1",
            Found::Sha256 => "a 64-character SHA256",
            Found::Domain => "a domain",
            Found::Ipv4 => "an IPv4 address",
            Found::Ipv6 => "an IPv6 address",
            Found::Url => "a URL",
        }
    }

    fn satisfies(self, declared: Declared) -> bool {
        match declared {
            Declared::Any => true,
            Declared::Hash => matches!(self, Found::Md5 | Found::Sha1 | Found::Sha256),
            Declared::Md5 => self == Found::Md5,
            Declared::Sha1 => self == Found::Sha1,
            Declared::Sha256 => self == Found::Sha256,
            Declared::Domain => self == Found::Domain,
            Declared::Ip => matches!(self, Found::Ipv4 | Found::Ipv6),
            Declared::Ipv4 => self == Found::Ipv4,
            Declared::Ipv6 => self == Found::Ipv6,
            Declared::Url => self == Found::Url,
        }
    }
}

fn invalid(reason: impl Into<String>) -> IocProblem {
    IocProblem::Invalid(reason.into())
}

/// Normalise `value` (already cleaned and refanged, not empty) as the `declared` kind.
pub(crate) fn normalise(value: &str, declared: Declared) -> Result<(Found, String), IocProblem> {
    if let Some(c) = value.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(format!(
            "contains {} inside the value",
            if c.is_whitespace() {
                "a space"
            } else {
                "a control character"
            }
        )));
    }
    // A declared URL without a scheme is read as http://…; every other declaration is
    // checked against what the value is on its own.
    if declared == Declared::Url {
        return url(value).map(|v| (Found::Url, v));
    }
    match infer(value) {
        Ok((found, normal)) if found.satisfies(declared) => Ok((found, normal)),
        Ok((found, _)) => Err(IocProblem::KindMismatch {
            declared: declared.label(),
            found: found.describe(),
        }),
        // The value is not valid as anything: give the reason for the declared kind.
        Err(problem) => Err(match declared {
            Declared::Any => problem,
            Declared::Hash => hash(value, None).err().unwrap_or(problem),
            Declared::Md5 => hash(value, Some(Found::Md5)).err().unwrap_or(problem),
            Declared::Sha1 => hash(value, Some(Found::Sha1)).err().unwrap_or(problem),
            Declared::Sha256 => hash(value, Some(Found::Sha256)).err().unwrap_or(problem),
            Declared::Domain => domain(value).err().unwrap_or(problem),
            Declared::Ip if looks_like_ipv6(value) => ipv6(value).err().unwrap_or(problem),
            Declared::Ip | Declared::Ipv4 => ipv4(value).err().unwrap_or(problem),
            Declared::Ipv6 => ipv6(value).err().unwrap_or(problem),
            Declared::Url => problem,
        }),
    }
}

/// Decide the kind from the value alone (the order is in the module doc).
fn infer(value: &str) -> Result<(Found, String), IocProblem> {
    if value.contains("://") {
        return url(value).map(|v| (Found::Url, v));
    }
    if value.len() >= 16 && value.chars().all(|c| c.is_ascii_hexdigit()) {
        return hash(value, None);
    }
    if looks_like_ipv6(value) {
        return ipv6(value).map(|v| (Found::Ipv6, v));
    }
    if value.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return ipv4(value).map(|v| (Found::Ipv4, v));
    }
    if value.contains(['/', '?', '#', ':']) {
        let host_end = value.find(['/', '?', '#', ':']).unwrap_or(value.len());
        let host = &value[..host_end];
        if host.contains('.') {
            return url(value).map(|v| (Found::Url, v));
        }
        return Err(invalid("not a hash, IP address, domain or URL"));
    }
    domain(value).map(|v| (Found::Domain, v))
}

fn looks_like_ipv6(value: &str) -> bool {
    let inner = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(value);
    let address = inner.split('%').next().unwrap_or_default();
    // at least two colons: `198.51.100.7:8080` is a host and port, not an IPv6 address
    address.matches(':').count() >= 2
        && address
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
}

/// A hash: hex digits only, lower-cased, 32 (MD5), 40 (SHA1) or 64 (SHA256) of them.
/// `want` is the declared algorithm, if any.
fn hash(value: &str, want: Option<Found>) -> Result<(Found, String), IocProblem> {
    let name = match want {
        Some(Found::Md5) => "an MD5",
        Some(Found::Sha1) => "a SHA1",
        Some(Found::Sha256) => "a SHA256",
        _ => "a hash",
    };
    if let Some(bad) = value.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(invalid(format!("not {name}: {bad:?} is not a hex digit")));
    }
    let n = value.len();
    let found = match n {
        32 => Found::Md5,
        40 => Found::Sha1,
        64 => Found::Sha256,
        _ => {
            let expected = match want {
                Some(Found::Md5) => " (expected 32)",
                Some(Found::Sha1) => " (expected 40)",
                Some(Found::Sha256) => " (expected 64)",
                _ => " (expected 32, 40 or 64)",
            };
            return Err(invalid(format!(
                "wrong length for {name}: {n} hex characters{expected}"
            )));
        }
    };
    if let Some(want) = want
        && want != found
    {
        return Err(IocProblem::KindMismatch {
            declared: match want {
                Found::Md5 => "MD5",
                Found::Sha1 => "SHA1",
                _ => "SHA256",
            },
            found: found.describe(),
        });
    }
    Ok((found, value.to_ascii_lowercase()))
}

/// A strict dotted quad: four decimal octets 0–255, no leading zeros.
pub(crate) fn ipv4(value: &str) -> Result<String, IocProblem> {
    let bad = |why: String| invalid(format!("{value} is not a valid IPv4 address ({why})"));
    let parts: Vec<&str> = value.split('.').collect();
    if parts.len() != 4 {
        return Err(bad(format!("{} parts, expected 4", parts.len())));
    }
    let mut octets = [0u8; 4];
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            return Err(bad("empty octet".into()));
        }
        if let Some(c) = part.chars().find(|c| !c.is_ascii_digit()) {
            return Err(bad(format!("{c:?} in octet {part}")));
        }
        if part.len() > 1 && part.starts_with('0') {
            return Err(bad(format!("octet {part} has a leading zero")));
        }
        match part.parse::<u8>() {
            Ok(o) => octets[i] = o,
            Err(_) => return Err(bad(format!("octet {part} > 255"))),
        }
    }
    Ok(Ipv4Addr::from(octets).to_string())
}

/// An IPv6 address (brackets allowed, no zone), in its canonical RFC 5952 form.
fn ipv6(value: &str) -> Result<String, IocProblem> {
    let inner = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(value);
    if inner.contains('%') {
        return Err(invalid(format!(
            "{value} is not a usable IPv6 address (a %zone is local to one machine)"
        )));
    }
    inner
        .parse::<Ipv6Addr>()
        .map(|a| a.to_string())
        .map_err(|_| invalid(format!("{value} is not a valid IPv6 address")))
}

/// Why `name` (ASCII, lower-case, no trailing dot) breaks the DNS rules, if it does.
/// `underscore`: allow `_` in labels (URL hosts, which browsers resolve; a bare domain IOC
/// follows the strict letter-digit-hyphen rule).
fn domain_rules(name: &str, underscore: bool) -> Option<String> {
    if name.len() > 253 {
        return Some(format!("longer than 253 characters ({})", name.len()));
    }
    if !name.contains('.') {
        return Some("no dot".into());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Some("an empty label (two dots in a row, or a leading dot)".into());
        }
        if label.len() > 63 {
            return Some(format!(
                "label {label} is longer than 63 characters ({})",
                label.len()
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || (underscore && *c == '_')))
        {
            return Some(format!("{c:?} is not allowed in a domain name"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("label {label} starts or ends with a hyphen"));
        }
    }
    let tld = name.rsplit('.').next().unwrap_or_default();
    if tld.chars().all(|c| c.is_ascii_digit()) {
        return Some(format!("the top-level label {tld} is all digits"));
    }
    None
}

/// A domain: lower-case, no trailing dot, international names as punycode, DNS label rules.
fn domain(value: &str) -> Result<String, IocProblem> {
    let bad = |why: String| invalid(format!("not a domain: {why}"));
    let trimmed = value.strip_suffix('.').unwrap_or(value);
    if trimmed.is_empty() {
        return Err(bad("nothing before the dot".into()));
    }
    if trimmed.contains('@') {
        return Err(bad(
            "contains @ (an email address is not an IOC kind here)".into()
        ));
    }
    let ascii = if trimmed.is_ascii() {
        trimmed.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(trimmed)
            .map_err(|_| bad(format!("{trimmed} is not a valid international name")))?
    };
    if ascii.split('.').any(|l| l.starts_with("xn--")) && idna::domain_to_unicode(&ascii).1.is_err()
    {
        return Err(bad(format!("{ascii} has an invalid punycode label")));
    }
    match domain_rules(&ascii, false) {
        Some(why) => Err(bad(why)),
        None => Ok(ascii),
    }
}

/// An http or https URL; a value without a scheme is read as `http://` + value.
fn url(value: &str) -> Result<String, IocProblem> {
    let bad = |why: String| invalid(format!("not a valid URL: {why}"));
    let full = if value.contains("://") {
        value.to_string()
    } else {
        format!("http://{value}")
    };
    let sep = full.find("://").expect("has a scheme");
    let scheme = full[..sep].to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(bad(format!(
            "scheme {scheme} is not supported (only http and https)"
        )));
    }
    // Check a numeric host strictly ourselves: the URL standard would read 010.1.1.1 as octal.
    let after = &full[sep + 3..];
    let authority = &after[..after.find(['/', '?', '#']).unwrap_or(after.len())];
    let hostport = &authority[authority.rfind('@').map_or(0, |i| i + 1)..];
    if hostport.is_empty() {
        return Err(bad("no host".into()));
    }
    if !hostport.starts_with('[') {
        let host = hostport.split(':').next().unwrap_or_default();
        if !host.is_empty() && host.chars().all(|c| c.is_ascii_digit() || c == '.') {
            ipv4(host.trim_end_matches('.')).map_err(|p| bad(p.to_string()))?;
        }
    }
    let parsed = url::Url::parse(&full).map_err(|e| bad(e.to_string()))?;
    match parsed.host() {
        None => return Err(bad("no host".into())),
        Some(url::Host::Domain(d)) => {
            let d = d.strip_suffix('.').unwrap_or(d);
            if let Some(why) = domain_rules(d, true) {
                return Err(bad(format!("host {d}: {why}")));
            }
        }
        Some(_) => {}
    }
    Ok(parsed.to_string())
}
