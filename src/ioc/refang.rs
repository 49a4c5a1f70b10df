//! Cleaning, refanging and defanging of raw indicator text. Pure string work: this module does
//! not decide what kind an indicator is or whether it is valid (see `normalise`).
//!
//! - [`clean`] removes what copy-and-paste leaves behind: surrounding whitespace (NBSP included)
//!   and zero-width characters (U+200B–U+200D, U+FEFF) anywhere in the value.
//! - [`refang`] undoes the usual defanging: `hxxp`/`hxxps` schemes in any case, `[.]`, `(.)`,
//!   `{.}`, `[dot]`, `(dot)`, `{dot}`, `\.`, `[:]`, `[://]`.
//! - [`defang`] makes a normalised indicator safe to show: `hxxps://evil[.]example/x`,
//!   `evil[.]example`, `198.51.100[.]7`. Hashes and IPv6 addresses are unchanged.
//!
//! Limitation (documented, tested): a URL whose path itself contains a literal `[.]` or `(dot)`
//! does not survive `refang(defang(x))` unchanged, because refang cannot tell it from defanging.

/// Zero-width characters removed anywhere in a value.
fn is_zero_width(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}' | '\u{2060}'
    )
}

/// Strip zero-width characters everywhere and whitespace (NBSP included) at both ends.
pub(crate) fn clean(raw: &str) -> String {
    let trim = |s: &str| s.trim_matches(|c: char| c.is_whitespace()).to_string();
    if raw.is_ascii() {
        return trim(raw);
    }
    let no_zw: String = raw.chars().filter(|c| !is_zero_width(*c)).collect();
    trim(&no_zw)
}

/// Defanging tokens and what they stand for. Matched ignoring ASCII case; longest first.
const TOKENS: &[(&str, &str)] = &[
    ("[://]", "://"),
    ("[dot]", "."),
    ("(dot)", "."),
    ("{dot}", "."),
    ("[.]", "."),
    ("(.)", "."),
    ("{.}", "."),
    ("[:]", ":"),
    ("\\.", "."),
];

/// Undo common defanging: `hxxp`/`hxxps` (any case, only as a scheme), `[.]`, `(.)`, `{.}`,
/// `[dot]`, `(dot)`, `{dot}`, `\.`, `[:]`, `[://]`. Everything else is left as it is.
pub fn refang(s: &str) -> String {
    if !s.contains(['[', '(', '{', '\\']) {
        return refang_scheme(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    'outer: while !rest.is_empty() {
        for (token, plain) in TOKENS {
            if rest.len() >= token.len()
                && rest.is_char_boundary(token.len())
                && rest[..token.len()].eq_ignore_ascii_case(token)
            {
                out.push_str(plain);
                rest = &rest[token.len()..];
                continue 'outer;
            }
        }
        let c = rest.chars().next().expect("rest is not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    refang_scheme(&out)
}

/// `hxxp:` / `hxxps:` (any case) at the start become `http:` / `https:`. A domain that merely
/// starts with "hxxp" (`hxxpost.example`) is left alone.
fn refang_scheme(s: &str) -> String {
    let lower = s.get(..6).unwrap_or(s).to_ascii_lowercase();
    for (fanged, plain) in [("hxxps:", "https:"), ("hxxp:", "http:")] {
        if lower.starts_with(fanged) {
            return format!("{plain}{}", &s[fanged.len()..]);
        }
    }
    s.to_string()
}

/// Defang for display: scheme `hxxp`/`hxxps`, dots in a URL's host or a domain as `[.]`, the
/// last dot of an IPv4 address as `[.]`. Hashes and IPv6 addresses are returned unchanged.
pub fn defang(s: &str) -> String {
    if let Some(idx) = s.find("://") {
        let (scheme, after) = (&s[..idx], &s[idx + 3..]);
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => "hxxp".to_string(),
            "https" => "hxxps".to_string(),
            _ => scheme.to_string(),
        };
        let auth_end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let (authority, tail) = after.split_at(auth_end);
        let host_start = authority.rfind('@').map_or(0, |i| i + 1);
        let (userinfo, hostport) = authority.split_at(host_start);
        return format!(
            "{scheme}://{userinfo}{}{tail}",
            hostport.replace('.', "[.]")
        );
    }
    if s.parse::<std::net::Ipv4Addr>().is_ok()
        && let Some(i) = s.rfind('.')
    {
        return format!("{}[.]{}", &s[..i], &s[i + 1..]);
    }
    if s.contains(':') || s.chars().all(|c| c.is_ascii_hexdigit()) {
        return s.to_string();
    }
    s.replace('.', "[.]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_strips_nbsp_zero_width_and_whitespace() {
        let cases = [
            ("  evil.example  ", "evil.example"),
            ("\u{00A0}evil.example\u{00A0}", "evil.example"),
            ("\u{FEFF}evil.example", "evil.example"),
            ("evil\u{200B}.example", "evil.example"),
            ("\u{200C}\u{200D}evil.example\t\r\n", "evil.example"),
            ("\u{00A0}\u{200B} \u{00A0}", ""),
            ("evil .example", "evil .example"),
        ];
        for (raw, want) in cases {
            assert_eq!(clean(raw), want, "clean({raw:?})");
        }
    }

    #[test]
    fn refang_undoes_every_form() {
        let cases = [
            ("hxxp://evil.example/x", "http://evil.example/x"),
            ("hxxps://evil.example/x", "https://evil.example/x"),
            ("HXXPS://evil.example", "https://evil.example"),
            ("hXXp://evil.example", "http://evil.example"),
            ("evil[.]example", "evil.example"),
            ("evil(.)example", "evil.example"),
            ("evil{.}example", "evil.example"),
            ("evil[dot]example", "evil.example"),
            ("evil[DOT]example", "evil.example"),
            ("evil(dot)example", "evil.example"),
            ("evil{dot}example", "evil.example"),
            ("evil\\.example", "evil.example"),
            ("http[:]//evil.example", "http://evil.example"),
            ("hxxps[://]evil[.]example", "https://evil.example"),
            ("hxxp[:]//198.51.100[.]7/a", "http://198.51.100.7/a"),
            ("198[.]51[.]100[.]7", "198.51.100.7"),
            ("hxxpost.example", "hxxpost.example"),
            ("plain.example", "plain.example"),
            ("évil[.]example", "évil.example"),
            ("[", "["),
            ("", ""),
        ];
        for (raw, want) in cases {
            assert_eq!(refang(raw), want, "refang({raw:?})");
        }
    }

    #[test]
    fn defang_each_kind() {
        let cases = [
            ("https://evil.example/x", "hxxps://evil[.]example/x"),
            (
                "http://a.b.example/x.exe?q=1.2",
                "hxxp://a[.]b[.]example/x.exe?q=1.2",
            ),
            (
                "http://user@evil.example:8080/",
                "hxxp://user@evil[.]example:8080/",
            ),
            ("http://198.51.100.7/", "hxxp://198[.]51[.]100[.]7/"),
            ("evil.example", "evil[.]example"),
            ("sub.evil.example", "sub[.]evil[.]example"),
            ("198.51.100.7", "198.51.100[.]7"),
            ("2001:db8::1", "2001:db8::1"),
            (
                "d41d8cd98f00b204e9800998ecf8427e",
                "d41d8cd98f00b204e9800998ecf8427e",
            ),
        ];
        for (plain, want) in cases {
            assert_eq!(defang(plain), want, "defang({plain:?})");
            assert_eq!(refang(&defang(plain)), plain, "round trip of {plain:?}");
        }
    }

    #[test]
    fn literal_defang_token_in_a_path_is_the_documented_limitation() {
        let x = "http://evil.example/[.]";
        assert_ne!(refang(&defang(x)), x);
    }
}
