//! Table-driven tests of `Ioc::parse` for every form the spec names, and property tests of the
//! refang/defang round trips. Helper-level tests live beside `kind` and `refang`.

use proptest::prelude::*;

use super::*;

const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
const SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn ok(raw: &str, declared: Option<&str>) -> (IocKind, String) {
    match Ioc::parse(raw, declared) {
        Ok(ioc) => (ioc.kind(), ioc.value().to_string()),
        Err(p) => panic!("parse({raw:?}, {declared:?}) failed: {p}"),
    }
}

fn problem(raw: &str, declared: Option<&str>) -> String {
    match Ioc::parse(raw, declared) {
        Ok(ioc) => panic!("parse({raw:?}, {declared:?}) accepted {ioc:?}"),
        Err(p) => p.to_string(),
    }
}

#[test]
fn valid_values_are_normalised() {
    use IocKind::*;
    let upper256 = SHA256.to_uppercase();
    let cases: Vec<(&str, Option<&str>, IocKind, &str)> = vec![
        // hashes
        (MD5, None, Md5, MD5),
        (SHA1, None, Sha1, SHA1),
        (SHA256, None, Sha256, SHA256),
        (&upper256, None, Sha256, SHA256),
        (&upper256, Some("SHA256"), Sha256, SHA256),
        (SHA256, Some("sha-256"), Sha256, SHA256),
        (SHA256, Some("Hash"), Sha256, SHA256),
        (MD5, Some("hash"), Md5, MD5),
        (SHA1, Some("SHA1"), Sha1, SHA1),
        (MD5, Some("MD5"), Md5, MD5),
        (MD5, Some(""), Md5, MD5),
        (MD5, Some("  "), Md5, MD5),
        // trimming: spaces, NBSP, zero-width characters, BOM
        ("  d41d8cd98f00b204e9800998ecf8427e\t", None, Md5, MD5),
        (
            "\u{00A0}d41d8cd98f00b204e9800998ecf8427e\u{00A0}",
            None,
            Md5,
            MD5,
        ),
        (
            "\u{FEFF}d41d8cd98f00b204e9800998ecf8427e\u{200B}",
            None,
            Md5,
            MD5,
        ),
        // domains
        ("evil.example", None, Domain, "evil.example"),
        ("Evil.Example", Some("Domain"), Domain, "evil.example"),
        ("evil.example.", None, Domain, "evil.example"),
        (
            "EVIL[.]EXAMPLE",
            Some("Domain Name"),
            Domain,
            "evil.example",
        ),
        ("evil(.)example", None, Domain, "evil.example"),
        ("evil{.}example", None, Domain, "evil.example"),
        ("evil[dot]example", None, Domain, "evil.example"),
        ("evil(dot)example", None, Domain, "evil.example"),
        ("sub-1.evil.example", None, Domain, "sub-1.evil.example"),
        ("bücher.example", None, Domain, "xn--bcher-kva.example"),
        ("BÜCHER.example", None, Domain, "xn--bcher-kva.example"),
        (
            "xn--bcher-kva.example",
            None,
            Domain,
            "xn--bcher-kva.example",
        ),
        ("пример.рф", None, Domain, "xn--e1afmkfd.xn--p1ai"),
        ("123.example", None, Domain, "123.example"),
        ("hxxpost.example", None, Domain, "hxxpost.example"),
        ("evil\u{200B}.example", None, Domain, "evil.example"),
        // IPv4
        ("198.51.100.7", None, Ip, "198.51.100.7"),
        ("198.51.100[.]7", Some("IP"), Ip, "198.51.100.7"),
        ("198[.]51[.]100[.]7", Some("IP Address"), Ip, "198.51.100.7"),
        ("0.0.0.0", Some("IPv4"), Ip, "0.0.0.0"),
        ("255.255.255.255", None, Ip, "255.255.255.255"),
        // IPv6
        ("2001:DB8::1", None, Ip, "2001:db8::1"),
        (
            "2001:0db8:0000:0000:0000:0000:0000:0001",
            Some("IPv6"),
            Ip,
            "2001:db8::1",
        ),
        ("[2001:db8::1]", Some("IP"), Ip, "2001:db8::1"),
        ("2001[:]db8[:][:]1", None, Ip, "2001:db8::1"),
        ("::ffff:198.51.100.7", None, Ip, "::ffff:198.51.100.7"),
        // URLs
        ("http://evil.example/x", None, Url, "http://evil.example/x"),
        (
            "HTTPS://EVIL.Example/Path?Q=1",
            None,
            Url,
            "https://evil.example/Path?Q=1",
        ),
        ("hxxp://evil.example/x", None, Url, "http://evil.example/x"),
        (
            "hxxps://evil[.]example/x",
            Some("URL"),
            Url,
            "https://evil.example/x",
        ),
        (
            "HXXPS[://]evil[.]example/x",
            None,
            Url,
            "https://evil.example/x",
        ),
        ("hxxp[:]//evil[.]example", None, Url, "http://evil.example/"),
        (
            "http://198.51.100.7:8080/a",
            None,
            Url,
            "http://198.51.100.7:8080/a",
        ),
        (
            "http://[2001:db8::1]/a",
            None,
            Url,
            "http://[2001:db8::1]/a",
        ),
        (
            "https://bücher.example/",
            None,
            Url,
            "https://xn--bcher-kva.example/",
        ),
        ("evil.example/path", None, Url, "http://evil.example/path"),
        ("evil.example:8080", None, Url, "http://evil.example:8080/"),
        ("evil.example", Some("URL"), Url, "http://evil.example/"),
        (
            "198.51.100.7/gate.php",
            None,
            Url,
            "http://198.51.100.7/gate.php",
        ),
    ];
    for (raw, declared, kind, value) in cases {
        assert_eq!(
            ok(raw, declared),
            (kind, value.to_string()),
            "parse({raw:?}, {declared:?})"
        );
    }
}

#[test]
fn invalid_values_say_why() {
    let short = &SHA256[..31];
    let cases: Vec<(&str, Option<&str>, &str)> = vec![
        ("", None, "empty value"),
        ("  \u{00A0}\u{200B} ", Some("SHA256"), "empty value"),
        (
            short,
            None,
            "wrong length for a hash: 31 hex characters (expected 32, 40 or 64)",
        ),
        (
            short,
            Some("Hash"),
            "wrong length for a hash: 31 hex characters (expected 32, 40 or 64)",
        ),
        (
            short,
            Some("SHA256"),
            "wrong length for a SHA256: 31 hex characters (expected 64)",
        ),
        (
            "abc",
            Some("MD5"),
            "wrong length for an MD5: 3 hex characters (expected 32)",
        ),
        ("zzzz", Some("Hash"), "not a hash: 'z' is not a hex digit"),
        (
            MD5,
            Some("SHA256"),
            "declared SHA256 but the value is a 32-character MD5",
        ),
        (
            SHA256,
            Some("MD5"),
            "declared MD5 but the value is a 64-character SHA256",
        ),
        (
            SHA1,
            Some("sha256"),
            "declared SHA256 but the value is a 40-character SHA1",
        ),
        (
            "evil.example",
            Some("Hash"),
            "declared Hash but the value is a domain",
        ),
        (
            "evil.example",
            Some("IP"),
            "declared IP but the value is a domain",
        ),
        (
            "198.51.100.7",
            Some("Domain"),
            "declared Domain but the value is an IPv4 address",
        ),
        (
            "198.51.100.7",
            Some("IPv6"),
            "declared IPv6 but the value is an IPv4 address",
        ),
        (
            "2001:db8::1",
            Some("IPv4"),
            "declared IPv4 but the value is an IPv6 address",
        ),
        (
            "http://evil.example/x",
            Some("Domain"),
            "declared Domain but the value is a URL",
        ),
        (
            "evil.example/x",
            Some("Domain"),
            "declared Domain but the value is a URL",
        ),
        (
            MD5,
            Some("Domain"),
            "declared Domain but the value is a 32-character MD5",
        ),
        (
            "999.1.1.1",
            None,
            "999.1.1.1 is not a valid IPv4 address (octet 999 > 255)",
        ),
        (
            "999.1.1.1",
            Some("IP"),
            "999.1.1.1 is not a valid IPv4 address (octet 999 > 255)",
        ),
        (
            "01.2.3.4",
            None,
            "01.2.3.4 is not a valid IPv4 address (octet 01 has a leading zero)",
        ),
        (
            "1.2.3",
            None,
            "1.2.3 is not a valid IPv4 address (3 parts, expected 4)",
        ),
        (
            "1.2.3.4.5",
            None,
            "1.2.3.4.5 is not a valid IPv4 address (5 parts, expected 4)",
        ),
        (
            "1..3.4",
            None,
            "1..3.4 is not a valid IPv4 address (empty octet)",
        ),
        (
            "1.2.3.99999999999999999999",
            None,
            "1.2.3.99999999999999999999 is not a valid IPv4 address (octet 99999999999999999999 > 255)",
        ),
        (
            "evil.example",
            Some("IPv4"),
            "declared IPv4 but the value is a domain",
        ),
        (
            "2001:db8:::1",
            None,
            "2001:db8:::1 is not a valid IPv6 address",
        ),
        (
            "fe80::1%eth0",
            None,
            "fe80::1%eth0 is not a usable IPv6 address (a %zone is local to one machine)",
        ),
        ("localhost", None, "not a domain: no dot"),
        ("localhost", Some("Domain"), "not a domain: no dot"),
        (
            "evil..example",
            None,
            "not a domain: an empty label (two dots in a row, or a leading dot)",
        ),
        (
            ".evil.example",
            None,
            "not a domain: an empty label (two dots in a row, or a leading dot)",
        ),
        (
            "evil_x.example",
            None,
            "not a domain: '_' is not allowed in a domain name",
        ),
        (
            "*.evil.example",
            None,
            "not a domain: '*' is not allowed in a domain name",
        ),
        (
            "-evil.example",
            None,
            "not a domain: label -evil starts or ends with a hyphen",
        ),
        (
            "evil.123",
            None,
            "not a domain: the top-level label 123 is all digits",
        ),
        (
            "evil.123",
            Some("Domain"),
            "not a domain: the top-level label 123 is all digits",
        ),
        ("user@evil.example", None, "not a domain: contains @"),
        ("xn--zz.example", None, "has an invalid punycode label"),
        ("evil example", None, "contains a space inside the value"),
        (
            "ftp://evil.example/x",
            None,
            "not a valid URL: scheme ftp is not supported (only http and https)",
        ),
        (
            "ftp://evil.example/x",
            Some("URL"),
            "scheme ftp is not supported",
        ),
        ("http://", None, "not a valid URL: no host"),
        (
            "http://999.1.1.1/x",
            None,
            "not a valid URL: 999.1.1.1 is not a valid IPv4 address (octet 999 > 255)",
        ),
        ("http://010.1.1.1/x", None, "octet 010 has a leading zero"),
        (
            "http://intranet/x",
            None,
            "not a valid URL: host intranet: no dot",
        ),
        ("N/A", None, "not a hash, IP address, domain or URL"),
        ("n/a", Some("URL"), "not a valid URL: host n: no dot"),
        (
            MD5,
            Some("Registry Key"),
            "unknown IOC kind \"Registry Key\"",
        ),
        ("deadbeef", None, "not a domain: no dot"),
    ];
    for (raw, declared, want) in cases {
        let got = problem(raw, declared);
        assert!(
            got.contains(want),
            "parse({raw:?}, {declared:?}) = {got:?}, want {want:?}"
        );
    }
}

#[test]
fn long_names_break_the_length_rules() {
    let label64 = "a".repeat(64);
    let got = problem(&format!("{label64}.example"), None);
    assert!(got.contains("longer than 63 characters (64)"), "{got}");
    let label63 = "a".repeat(63);
    assert!(Ioc::parse(&format!("{label63}.example"), None).is_ok());
    let long = format!("{}.example", [label63.as_str(); 4].join("."));
    let got = problem(&long, None);
    assert!(got.contains("longer than 253 characters"), "{got}");
}

#[test]
fn defanged_form_for_people() {
    let cases = [
        ("https://evil.example/x", "hxxps://evil[.]example/x"),
        ("198.51.100.7", "198.51.100[.]7"),
        ("evil.example", "evil[.]example"),
        (MD5, MD5),
    ];
    for (raw, want) in cases {
        assert_eq!(Ioc::parse(raw, None).unwrap().defanged(), want);
    }
}

#[test]
fn equal_after_normalisation_means_one_lookup() {
    let a = Ioc::parse("HXXPS://Evil[.]Example/x", None).unwrap();
    let b = Ioc::parse("https://evil.example/x", Some("URL")).unwrap();
    assert_eq!(a, b);
    let c = Ioc::parse(&SHA256.to_uppercase(), Some("Hash")).unwrap();
    let d = Ioc::parse(SHA256, Some("SHA-256")).unwrap();
    assert_eq!(c, d);
}

// ---- property tests ----

fn hex(len: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(b"0123456789abcdefABCDEF".to_vec()),
        len,
    )
    .prop_map(|v| String::from_utf8(v).unwrap())
}

fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{1,12}",
        "[a-z0-9][a-z0-9-]{0,10}[a-z0-9]"
            .prop_filter("not a punycode prefix", |l| !l.starts_with("xn--")),
        "hxxp[a-z]{0,4}",
        "dot[a-z0-9]{0,3}",
    ]
}

fn domain() -> impl Strategy<Value = String> {
    (proptest::collection::vec(label(), 1..4), "[a-z]{2,6}")
        .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join(".")))
}

/// Raw values, mostly valid, in every kind (upper-case hex, mixed-case hosts, paths).
fn raw_ioc() -> impl Strategy<Value = String> {
    prop_oneof![
        hex(32),
        hex(40),
        hex(64),
        domain(),
        domain().prop_map(|d| d.to_uppercase()),
        any::<u32>().prop_map(|n| std::net::Ipv4Addr::from(n).to_string()),
        any::<u128>().prop_map(|n| std::net::Ipv6Addr::from(n).to_string()),
        (
            prop_oneof![Just("http"), Just("https"), Just("HTTP")],
            domain(),
            "(/[a-zA-Z0-9_.~-]{0,8}){0,3}"
        )
            .prop_map(|(s, d, p)| format!("{s}://{d}{p}")),
        (any::<u32>(), "(/[a-z0-9.]{0,8}){0,2}")
            .prop_map(|(n, p)| format!("http://{}{p}", std::net::Ipv4Addr::from(n))),
    ]
}

proptest! {
    #[test]
    fn refang_undoes_defang_for_normalised_iocs(raw in raw_ioc()) {
        if let Ok(ioc) = Ioc::parse(&raw, None) {
            prop_assert_eq!(refang(&ioc.defanged()), ioc.value());
        }
    }

    #[test]
    fn valid_generated_values_parse(raw in raw_ioc()) {
        prop_assert!(Ioc::parse(&raw, None).is_ok(), "{:?}: {:?}", raw, Ioc::parse(&raw, None));
    }

    #[test]
    fn parse_of_defanged_equals_parse(raw in raw_ioc()) {
        let plain = Ioc::parse(&raw, None);
        prop_assert_eq!(Ioc::parse(&defang(&raw), None), plain.clone());
        if let Ok(ioc) = plain {
            prop_assert_eq!(Ioc::parse(&ioc.defanged(), None), Ok(ioc.clone()));
            prop_assert_eq!(Ioc::parse(&ioc.defanged(), Some(ioc.kind().label())), Ok(ioc));
        }
    }

    #[test]
    fn parse_never_panics(raw in "\\PC{0,80}", declared in proptest::option::of("\\PC{0,12}")) {
        let _ = Ioc::parse(&raw, declared.as_deref());
    }

    #[test]
    fn parse_never_panics_on_ioc_like_text(raw in "[a-fA-F0-9.:/\\[\\]()%@hxtps -]{0,70}") {
        let _ = Ioc::parse(&raw, None);
        let _ = refang(&raw);
        let _ = defang(&raw);
    }

    #[test]
    fn normalising_is_idempotent(raw in raw_ioc()) {
        if let Ok(ioc) = Ioc::parse(&raw, None) {
            prop_assert_eq!(Ioc::parse(ioc.value(), None), Ok(ioc.clone()));
        }
    }
}
