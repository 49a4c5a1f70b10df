//! The VirusTotal v3 HTTP client: one request per call, each answer classified into a typed
//! result or an [`ApiError`]. It knows the endpoints, the `x-apikey` header, gzip, timeouts,
//! proxies and extra CA certificates; it does not choose keys, wait, retry or poll (that is
//! `keys`, `poll` and `lookup`).
//!
//! Classification (one policy, [`classify`]): 404 → `NotFound`; 429 → `QuotaExceeded`;
//! 401/403 → `BadKey`; 5xx, timeouts, dropped connections, bodies that are not the expected JSON
//! (HTML error pages from proxies included) → `Transient` (retryable); any other status →
//! `Rejected` (not retryable). The status decides first, so a 429 whose body is plain JSON
//! although gzip was asked for (VirusTotal does this), or not JSON at all, is still a 429.

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::models::{
    Analysis, AnalysisRef, DailyQuota, Envelope, ErrorBody, Object, OverallQuotas,
};
use crate::config::{NetworkSettings, Secret, VtSettings};
use crate::ioc::Ioc;

/// Which call a request was, for logs and the simulator's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST …/{id}/analyse`
    Analyse,
    /// `GET /analyses/{id}`
    Analysis,
    /// `GET …/{id}`
    Object,
    /// `POST /urls`
    SubmitUrl,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Analyse => "analyse",
            Endpoint::Analysis => "analysis",
            Endpoint::Object => "object",
            Endpoint::SubmitUrl => "submit_url",
        }
    }
}

/// How one request failed. `is_retryable` is the only retry policy of the crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 404 NotFoundError
    #[error("not found in VirusTotal")]
    NotFound,
    /// 429 QuotaExceededError / TooManyRequestsError
    #[error("429 {code}: the key's rate limit or daily quota is used up")]
    QuotaExceeded { code: String },
    /// 401 WrongCredentialsError / 403 ForbiddenError
    #[error("{status} {code}: the API key was refused")]
    BadKey { status: u16, code: String },
    /// 5xx, timeout, connection failure, body that is not the expected JSON
    #[error("{0}")]
    Transient(String),
    /// The request went out but its outcome is unknown (timeout or connection dropped while
    /// waiting for the answer, or an unreadable 2xx body).
    #[error("{0} (outcome unknown)")]
    Unknown(String),
    /// Any other 4xx: not retryable.
    #[error("{status} {code}: {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
}

impl ApiError {
    /// Worth sending again after a backoff (5xx, network, malformed body).
    pub fn is_retryable(&self) -> bool {
        matches!(self, ApiError::Transient(_) | ApiError::Unknown(_))
    }
}

/// A client with its base URL. Cheap to clone (reqwest pools connections inside).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
}

/// Why the HTTP client could not be built (bad proxy URL, unreadable CA file).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("[network] proxy {proxy:?} is not a usable proxy URL: {source}")]
    Proxy {
        proxy: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot read [network] ca_file {path}: {source}")]
    CaRead {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("[network] ca_file {path} holds no usable PEM certificate: {message}")]
    CaParse {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("cannot set up the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}

impl Client {
    /// Build from the settings. Proxies from `HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY` are read by
    /// reqwest itself; `[network] proxy` adds one for every request. Certificate checks stay on.
    pub fn new(vt: &VtSettings, net: &NetworkSettings) -> Result<Client, ClientError> {
        let mut b = reqwest::Client::builder()
            .user_agent(concat!("ioc-tracker/", env!("CARGO_PKG_VERSION")))
            .timeout(vt.request_timeout)
            .connect_timeout(vt.request_timeout.min(Duration::from_secs(10)))
            .gzip(true);
        if let Some(p) = &net.proxy {
            let proxy = reqwest::Proxy::all(p)
                .map_err(|source| ClientError::Proxy {
                    proxy: p.clone(),
                    source,
                })?
                .no_proxy(reqwest::NoProxy::from_env());
            b = b.proxy(proxy);
        }
        if let Some(path) = &net.ca_file {
            let pem = std::fs::read(path).map_err(|source| ClientError::CaRead {
                path: path.clone(),
                source,
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| {
                ClientError::CaParse {
                    path: path.clone(),
                    message: source.to_string(),
                }
            })?;
            if certs.is_empty() {
                return Err(ClientError::CaParse {
                    path: path.clone(),
                    message: "no \"-----BEGIN CERTIFICATE-----\" block found".into(),
                });
            }
            b = b.tls_certs_merge(certs);
        }
        Ok(Client {
            http: b.build().map_err(ClientError::Build)?,
            base: vt.base_url.trim_end_matches('/').to_string(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `POST …/{id}/analyse` → the analysis id.
    pub async fn analyse(&self, key: &Secret, ioc: &Ioc) -> Result<String, ApiError> {
        let url = format!("{}/{}/analyse", self.base, super::object_path(ioc));
        let r = self.http.post(url).header("x-apikey", key.expose());
        let body: Envelope<AnalysisRef> = self.send(r).await?;
        Ok(body.data.id)
    }

    /// `POST /urls` with form field `url` → the analysis id.
    pub async fn submit_url(&self, key: &Secret, url: &str) -> Result<String, ApiError> {
        let r = self
            .http
            .post(format!("{}/urls", self.base))
            .header("x-apikey", key.expose())
            .form(&[("url", url)]);
        let body: Envelope<AnalysisRef> = self.send(r).await?;
        Ok(body.data.id)
    }

    /// `GET /analyses/{id}`
    pub async fn analysis(&self, key: &Secret, id: &str) -> Result<Analysis, ApiError> {
        let r = self
            .http
            .get(format!("{}/analyses/{}", self.base, id))
            .header("x-apikey", key.expose());
        let body: Envelope<Analysis> = self.send(r).await?;
        Ok(body.data)
    }

    /// `GET files/{hash}` | `urls/{id}` | `domains/{d}` | `ip_addresses/{ip}`
    pub async fn object(&self, key: &Secret, ioc: &Ioc) -> Result<Object, ApiError> {
        let r = self
            .http
            .get(format!("{}/{}", self.base, super::object_path(ioc)))
            .header("x-apikey", key.expose());
        let body: Envelope<Object> = self.send(r).await?;
        Ok(body.data)
    }

    /// `GET /users/{key}/overall_quotas` → the key's daily quota (`api_requests_daily.user`).
    /// The key is part of the URL, so URLs are stripped from every error this returns.
    pub async fn daily_quota(&self, key: &Secret) -> Result<DailyQuota, ApiError> {
        let r = self
            .http
            .get(format!(
                "{}/users/{}/overall_quotas",
                self.base,
                key.expose()
            ))
            .header("x-apikey", key.expose());
        let resp = r.send().await.map_err(|e| network_error(e.without_url()))?;
        let status = resp.status().as_u16();
        let is_html = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("html"));
        let body = resp.bytes().await.map_err(|e| e.without_url());
        let quotas: OverallQuotas = classify(
            status,
            is_html,
            body.as_deref().map_err(|e| body_error(status, e)),
        )?;
        quotas.daily().ok_or_else(|| {
            ApiError::Unknown(format!(
                "HTTP {status}: the answer has no api_requests_daily.user"
            ))
        })
    }

    async fn send<T: DeserializeOwned>(&self, r: reqwest::RequestBuilder) -> Result<T, ApiError> {
        let resp = r.send().await.map_err(network_error)?;
        let status = resp.status().as_u16();
        let is_html = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("html"));
        let body = resp.bytes().await;
        classify(
            status,
            is_html,
            body.as_deref().map_err(|e| body_error(status, e)),
        )
    }
}

fn network_error(e: reqwest::Error) -> ApiError {
    if e.is_timeout() {
        ApiError::Unknown("request timed out".into())
    } else if e.is_connect() {
        // Nothing was sent: the outcome is known (not done).
        ApiError::Transient(format!("cannot connect to VirusTotal: {}", root_cause(&e)))
    } else {
        ApiError::Unknown(format!("connection failed: {}", root_cause(&e)))
    }
}

fn body_error(status: u16, e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("HTTP {status}: timed out reading the body")
    } else {
        format!(
            "HTTP {status}: connection dropped in the body: {}",
            root_cause(e)
        )
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The policy: a status (and body) → a typed result. Public for the unit tests of callers.
pub fn classify<T: DeserializeOwned>(
    status: u16,
    is_html: bool,
    body: Result<&[u8], String>,
) -> Result<T, ApiError> {
    let code_of = |b: &Result<&[u8], String>| -> (String, String) {
        match b {
            Ok(bytes) => match serde_json::from_slice::<ErrorBody>(bytes) {
                Ok(e) => (e.error.code, e.error.message),
                Err(_) => (String::new(), snippet(bytes)),
            },
            Err(e) => (String::new(), e.clone()),
        }
    };
    match status {
        200..=299 => {
            let bytes = match body {
                Ok(b) => b,
                Err(e) => return Err(ApiError::Unknown(e)),
            };
            if is_html {
                return Err(ApiError::Unknown(format!(
                    "HTTP {status}: an HTML page instead of JSON (a proxy or captive portal?): {}",
                    snippet(bytes)
                )));
            }
            serde_json::from_slice(bytes).map_err(|e| {
                ApiError::Unknown(format!(
                    "HTTP {status}: malformed response ({e}): {}",
                    snippet(bytes)
                ))
            })
        }
        404 => Err(ApiError::NotFound),
        429 => {
            let (code, _) = code_of(&body);
            Err(ApiError::QuotaExceeded {
                code: if code.is_empty() {
                    "QuotaExceededError".into()
                } else {
                    code
                },
            })
        }
        401 | 403 => {
            let (code, _) = code_of(&body);
            Err(ApiError::BadKey {
                status,
                code: if code.is_empty() {
                    if status == 401 {
                        "WrongCredentialsError".into()
                    } else {
                        "ForbiddenError".into()
                    }
                } else {
                    code
                },
            })
        }
        500..=599 => {
            let (code, msg) = code_of(&body);
            let what = if code.is_empty() {
                if is_html {
                    "an HTML error page".to_string()
                } else {
                    msg
                }
            } else {
                format!("{code}: {msg}")
            };
            Err(ApiError::Transient(format!("HTTP {status} {what}")))
        }
        _ => {
            let (code, message) = code_of(&body);
            Err(ApiError::Rejected {
                status,
                code,
                message,
            })
        }
    }
}

/// The first 120 characters of a body, on one line, for error messages.
fn snippet(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one.chars().take(120).collect();
    if one.chars().count() > 120 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vt::models::Object;

    fn c<T: DeserializeOwned>(status: u16, html: bool, body: &str) -> Result<T, ApiError> {
        classify(status, html, Ok(body.as_bytes()))
    }

    #[test]
    fn statuses_map_to_typed_errors() {
        let nf = r#"{"error":{"code":"NotFoundError","message":"x not found"}}"#;
        assert_eq!(c::<Object>(404, false, nf).unwrap_err(), ApiError::NotFound);
        let q = r#"{"error":{"code":"QuotaExceededError","message":"Quota exceeded"}}"#;
        assert_eq!(
            c::<Object>(429, false, q).unwrap_err(),
            ApiError::QuotaExceeded {
                code: "QuotaExceededError".into()
            }
        );
        let w = r#"{"error":{"code":"WrongCredentialsError","message":"Wrong API key"}}"#;
        assert!(matches!(
            c::<Object>(401, false, w).unwrap_err(),
            ApiError::BadKey { status: 401, .. }
        ));
        assert!(matches!(
            c::<Object>(403, false, "").unwrap_err(),
            ApiError::BadKey { status: 403, code } if code == "ForbiddenError"
        ));
        let e = c::<Object>(
            503,
            false,
            r#"{"error":{"code":"TransientError","message":"t"}}"#,
        )
        .unwrap_err();
        assert!(e.is_retryable());
        assert!(e.to_string().contains("TransientError"), "{e}");
        let bad = c::<Object>(
            400,
            false,
            r#"{"error":{"code":"BadRequestError","message":"m"}}"#,
        )
        .unwrap_err();
        assert!(!bad.is_retryable());
    }

    #[test]
    fn a_429_with_an_unreadable_body_is_still_a_429() {
        let e = classify::<Object>(429, false, Err("gzip decode failed".into())).unwrap_err();
        assert!(matches!(e, ApiError::QuotaExceeded { .. }));
        let e = c::<Object>(429, true, "<html>slow down</html>").unwrap_err();
        assert!(matches!(e, ApiError::QuotaExceeded { .. }));
    }

    #[test]
    fn malformed_and_html_2xx_bodies_are_retryable() {
        let e = c::<Object>(200, false, r#"{"data": {"id": "#).unwrap_err();
        assert!(e.is_retryable(), "{e}");
        assert!(e.to_string().contains("malformed"), "{e}");
        let e = c::<Object>(200, true, "<html><body>Login</body></html>").unwrap_err();
        assert!(e.is_retryable() && e.to_string().contains("HTML"), "{e}");
        let e = c::<Object>(502, true, "<html>Bad Gateway</html>").unwrap_err();
        assert!(e.is_retryable() && e.to_string().contains("HTML"), "{e}");
        // JSON that lacks what is needed is an error, never a panic.
        assert!(c::<Envelope<Object>>(200, false, r#"{"data":{}}"#).is_err());
    }

    #[test]
    fn user_agent_names_the_version() {
        let vt = crate::config::Settings::defaults().virustotal;
        let cl = Client::new(&vt, &Default::default()).unwrap();
        assert_eq!(cl.base_url(), "https://www.virustotal.com/api/v3");
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_a_setup_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let vt = crate::config::Settings::defaults().virustotal;
        let net = NetworkSettings {
            proxy: None,
            ca_file: Some(path.clone()),
        };
        let e = Client::new(&vt, &net).unwrap_err();
        assert!(matches!(e, ClientError::CaParse { .. }), "{e}");
        assert!(e.to_string().contains("ca.pem"), "{e}");
    }

    #[test]
    fn a_bad_proxy_url_is_a_setup_error_naming_it() {
        let vt = crate::config::Settings::defaults().virustotal;
        let net = NetworkSettings {
            proxy: Some("http://[::1".into()),
            ca_file: None,
        };
        let e = Client::new(&vt, &net).unwrap_err();
        assert!(e.to_string().contains("[network] proxy"), "{e}");
    }

    #[test]
    fn a_missing_ca_file_is_a_setup_error_naming_it() {
        let vt = crate::config::Settings::defaults().virustotal;
        let net = NetworkSettings {
            proxy: None,
            ca_file: Some("/nonexistent/corp-ca.pem".into()),
        };
        let e = Client::new(&vt, &net).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/corp-ca.pem"), "{e}");
    }
}
