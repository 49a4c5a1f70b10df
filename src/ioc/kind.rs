//! The kind an analyst declared in the `IOC` column, read leniently ("SHA-256", "sha256 hash",
//! "IP Address", "Domain Name", …: case, spaces, `-` and `_` ignored). This module only reads the
//! declaration; checking it against the value is `normalise`'s job.

use super::IocProblem;

/// What the `IOC` column said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Declared {
    /// Blank or absent: infer the kind from the value.
    Any,
    /// "Hash": one of MD5, SHA1, SHA256, by length.
    Hash,
    Md5,
    Sha1,
    Sha256,
    Domain,
    /// "IP": IPv4 or IPv6.
    Ip,
    Ipv4,
    Ipv6,
    Url,
}

/// Every spelling accepted, after removing case, spaces, `-` and `_`.
const SPELLINGS: &[(&str, Declared)] = &[
    ("md5", Declared::Md5),
    ("md5hash", Declared::Md5),
    ("md5sum", Declared::Md5),
    ("filehashmd5", Declared::Md5),
    ("sha1", Declared::Sha1),
    ("sha1hash", Declared::Sha1),
    ("filehashsha1", Declared::Sha1),
    ("sha256", Declared::Sha256),
    ("sha256hash", Declared::Sha256),
    ("filehashsha256", Declared::Sha256),
    ("hash", Declared::Hash),
    ("filehash", Declared::Hash),
    ("file", Declared::Hash),
    ("domain", Declared::Domain),
    ("domainname", Declared::Domain),
    ("hostname", Declared::Domain),
    ("host", Declared::Domain),
    ("fqdn", Declared::Domain),
    ("ip", Declared::Ip),
    ("ipaddress", Declared::Ip),
    ("ipaddr", Declared::Ip),
    ("ipv4", Declared::Ipv4),
    ("ipv4address", Declared::Ipv4),
    ("ipv6", Declared::Ipv6),
    ("ipv6address", Declared::Ipv6),
    ("url", Declared::Url),
    ("uri", Declared::Url),
    ("link", Declared::Url),
];

/// The names listed in the "unknown kind" message.
pub(crate) const ACCEPTED: &str = "SHA256, SHA1, MD5, Hash, Domain, IP, IPv4, IPv6, URL or blank";

impl Declared {
    /// Read the `IOC` column. `None`, blank or only invisible characters mean [`Declared::Any`].
    pub(crate) fn parse(declared: Option<&str>) -> Result<Declared, IocProblem> {
        let Some(text) = declared else {
            return Ok(Declared::Any);
        };
        let key: String = text
            .chars()
            .filter(|c| {
                !c.is_whitespace() && !matches!(c, '-' | '_' | '\u{200B}'..='\u{200D}' | '\u{FEFF}')
            })
            .flat_map(char::to_lowercase)
            .collect();
        if key.is_empty() {
            return Ok(Declared::Any);
        }
        SPELLINGS
            .iter()
            .find(|(spelling, _)| *spelling == key)
            .map(|(_, kind)| *kind)
            .ok_or_else(|| IocProblem::UnknownKind(text.trim().to_string()))
    }

    /// How the declaration is named in messages ("declared SHA256 but …").
    pub(crate) fn label(self) -> &'static str {
        match self {
            Declared::Any => "nothing",
            Declared::Hash => "Hash",
            Declared::Md5 => "MD5",
            Declared::Sha1 => "SHA1",
            Declared::Sha256 => "SHA256",
            Declared::Domain => "Domain",
            Declared::Ip => "IP",
            Declared::Ipv4 => "IPv4",
            Declared::Ipv6 => "IPv6",
            Declared::Url => "URL",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_is_read() {
        let cases = [
            ("SHA256", Declared::Sha256),
            ("sha-256", Declared::Sha256),
            ("SHA 256", Declared::Sha256),
            ("sha_256", Declared::Sha256),
            ("SHA256 Hash", Declared::Sha256),
            ("SHA1", Declared::Sha1),
            ("sha-1", Declared::Sha1),
            ("MD5", Declared::Md5),
            ("md5", Declared::Md5),
            ("Hash", Declared::Hash),
            ("File Hash", Declared::Hash),
            ("Domain", Declared::Domain),
            ("Domain Name", Declared::Domain),
            ("domain-name", Declared::Domain),
            ("Hostname", Declared::Domain),
            ("FQDN", Declared::Domain),
            ("IP", Declared::Ip),
            ("IP Address", Declared::Ip),
            ("ip_address", Declared::Ip),
            ("IPv4", Declared::Ipv4),
            ("IPV4 Address", Declared::Ipv4),
            ("IPv6", Declared::Ipv6),
            ("URL", Declared::Url),
            ("url ", Declared::Url),
            ("URI", Declared::Url),
            ("", Declared::Any),
            ("   ", Declared::Any),
            ("\u{00A0}", Declared::Any),
        ];
        for (text, want) in cases {
            assert_eq!(Declared::parse(Some(text)), Ok(want), "{text:?}");
        }
        assert_eq!(Declared::parse(None), Ok(Declared::Any));
    }

    #[test]
    fn unknown_kind_is_a_problem_naming_it() {
        let err = Declared::parse(Some(" Registry Key ")).unwrap_err();
        assert_eq!(err, IocProblem::UnknownKind("Registry Key".into()));
        let text = err.to_string();
        assert!(text.contains("\"Registry Key\""), "{text}");
        assert!(text.contains("SHA256"), "{text}");
    }
}
