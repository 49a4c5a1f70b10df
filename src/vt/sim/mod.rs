//! The built-in VirusTotal v3 simulator (axum on 127.0.0.1): used by `demo`, the integration
//! tests, the benchmark and the hidden `ioc-tracker simulate`. It serves the endpoints
//! ioc-tracker uses with the recorded response shapes (`shared/vt-samples/`): objects of the
//! four kinds, `POST …/analyse`, `GET /analyses/{id}` going queued → in-progress → completed after
//! a delay (only then does the object's score change), `POST /urls`, `GET
//! /users/{id}/overall_quotas`; per-key rate limits and daily quota (429 QuotaExceededError),
//! 401 WrongCredentialsError for unknown keys, 404 NotFoundError, injected faults per IOC, and
//! request counts per key, endpoint and IOC (`counts()` and `GET /_sim/counts`).
//!
//! It is a test double: no persistence, no TLS, and only the fields ioc-tracker reads plus the
//! ones that make the shapes recognisable.

pub mod engines;
pub mod scenario;

pub use scenario::{DEMO_IOCS, DEMO_KEYS, Delays, EngineSet, Fault, Scenario, SimIoc, SimKey};

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::VtError;

/// Requests the simulator received.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimCounts {
    pub total: u64,
    /// "key #1", "key #2" (scenario order), "unknown"
    pub by_key: BTreeMap<String, u64>,
    /// "analyse", "analysis", "object", "submit_url", "quotas", "other"
    pub by_endpoint: BTreeMap<String, u64>,
    /// IOC value → requests about it (analyses counted under their IOC)
    pub by_ioc: BTreeMap<String, u64>,
    /// answered 429
    pub rate_limited: u64,
    /// answered 401
    pub rejected: u64,
}

impl SimCounts {
    pub fn ioc(&self, value: &str) -> u64 {
        self.by_ioc.get(value).copied().unwrap_or(0)
    }
    pub fn endpoint(&self, name: &str) -> u64 {
        self.by_endpoint.get(name).copied().unwrap_or(0)
    }
    pub fn key(&self, n: usize) -> u64 {
        self.by_key.get(&format!("key #{n}")).copied().unwrap_or(0)
    }
}

/// Starts simulators.
pub struct Simulator;

/// A running simulator. Dropping it shuts it down.
pub struct SimHandle {
    addr: SocketAddr,
    state: Arc<SimState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Simulator {
    /// Serve `scenario` on 127.0.0.1 on any free port.
    pub async fn start(scenario: Scenario) -> Result<SimHandle, VtError> {
        Simulator::start_on(scenario, 0).await
    }

    /// Serve `scenario` on 127.0.0.1:`port` (0 = any free port).
    pub async fn start_on(scenario: Scenario, port: u16) -> Result<SimHandle, VtError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| VtError::Simulator(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| VtError::Simulator(e.to_string()))?;
        let state = Arc::new(SimState::new(scenario, addr));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(SimHandle {
            addr,
            state,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

impl SimHandle {
    /// `http://127.0.0.1:PORT/api/v3`, for `[virustotal] base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v3", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The requests received so far.
    pub fn counts(&self) -> SimCounts {
        self.state.lock().counts.clone()
    }

    pub fn scenario(&self) -> &Scenario {
        &self.state.scenario
    }

    /// Stop serving and wait for the server to end (at most 2 s).
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(2), t)
                .await
                .is_err()
        {
            tracing::debug!("simulator did not stop within 2 s");
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Url,
    Domain,
    Ip,
}

impl Kind {
    fn collection(self) -> &'static str {
        match self {
            Kind::File => "files",
            Kind::Url => "urls",
            Kind::Domain => "domains",
            Kind::Ip => "ip_addresses",
        }
    }
    fn type_name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Url => "url",
            Kind::Domain => "domain",
            Kind::Ip => "ip_address",
        }
    }
}

struct AnalysisState {
    ioc: String,
    kind: Kind,
    created: Instant,
    delay: Duration,
    never: bool,
    no_stats: bool,
    unix: i64,
}

struct KeyState {
    sent: VecDeque<Instant>,
    used: u32,
    rpm: u32,
    quota: u32,
}

struct Mutable {
    keys: Vec<KeyState>,
    analyses: HashMap<String, AnalysisState>,
    fault_hits: HashMap<String, u32>,
    counts: SimCounts,
    seq: u64,
}

struct SimState {
    scenario: Scenario,
    iocs: HashMap<String, SimIoc>,
    key_index: HashMap<String, usize>,
    addr: SocketAddr,
    inner: Mutex<Mutable>,
}

enum Route {
    Counts,
    Quotas,
    SubmitUrl,
    Analysis(String),
    Analyse(Kind, String),
    Object(Kind, String),
    Unknown,
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

impl SimState {
    fn new(scenario: Scenario, addr: SocketAddr) -> SimState {
        let iocs = scenario
            .iocs
            .iter()
            .map(|i| (normalise(&i.value), i.clone()))
            .collect();
        let key_index = scenario
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.key.clone(), i))
            .collect();
        let keys = scenario
            .keys
            .iter()
            .map(|k| KeyState {
                sent: VecDeque::new(),
                used: 0,
                rpm: k
                    .requests_per_minute
                    .unwrap_or(scenario.requests_per_minute),
                quota: k.daily_quota.unwrap_or(scenario.daily_quota),
            })
            .collect();
        SimState {
            scenario,
            iocs,
            key_index,
            addr,
            inner: Mutex::new(Mutable {
                keys,
                analyses: HashMap::new(),
                fault_hits: HashMap::new(),
                counts: SimCounts::default(),
                seq: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Mutable> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn base(&self) -> String {
        format!("http://{}/api/v3", self.addr)
    }

    /// The profile of an IOC: from the scenario, or derived from a hash of its value.
    fn profile(&self, value: &str) -> SimIoc {
        if let Some(p) = self.iocs.get(value) {
            return p.clone();
        }
        let h = hash64(value);
        let r = h % 100;
        let after = if r < 80 {
            0
        } else if r < 90 {
            1 + ((h >> 8) % 4) as u32
        } else {
            5 + ((h >> 8) % 40) as u32
        };
        let before = if (h >> 16).is_multiple_of(10) {
            after.saturating_sub(3)
        } else {
            after
        };
        SimIoc {
            value: value.into(),
            before,
            after,
            ..SimIoc::default()
        }
    }

    fn delay_for(&self, kind: Kind, p: &SimIoc, seq: u64) -> Duration {
        let d = &self.scenario.analysis_delays;
        let ms = p.analysis_delay_ms.unwrap_or(match kind {
            Kind::File => d.file_ms,
            Kind::Url => d.url_ms,
            Kind::Domain | Kind::Ip => d.host_ms,
        });
        let j = d.jitter.clamp(0.0, 1.0);
        let u = hash64(&format!("{}#{seq}", p.value)) as f64 / u64::MAX as f64;
        Duration::from_millis(ms)
            .mul_f64(1.0 - j + 2.0 * j * u)
            .div_f64(self.scenario.scale())
    }
}

fn hash64(s: &str) -> u64 {
    let d = Sha256::digest(s.as_bytes());
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn normalise(v: &str) -> String {
    let t = v.trim();
    // hashes, domains and IPs are case-insensitive; URLs are kept as sent
    if !t.contains("://") {
        t.to_ascii_lowercase()
    } else {
        t.to_string()
    }
}

fn route(state: &SimState, method: &Method, path: &str) -> Route {
    let p = path.strip_prefix("/api/v3").unwrap_or(path);
    let parts: Vec<&str> = p.trim_matches('/').split('/').collect();
    let kind = |c: &str| match c {
        "files" => Some(Kind::File),
        "urls" => Some(Kind::Url),
        "domains" => Some(Kind::Domain),
        "ip_addresses" => Some(Kind::Ip),
        _ => None,
    };
    let ident = |k: Kind, raw: &str| -> String {
        let raw = percent_decode(raw);
        if k == Kind::Url {
            if raw.len() == 64 && raw.chars().all(|c| c.is_ascii_hexdigit()) {
                // the SHA-256 form of a URL id: find the scenario URL it names
                return state
                    .iocs
                    .keys()
                    .find(|u| hex(&Sha256::digest(u.as_bytes())) == raw)
                    .cloned()
                    .unwrap_or(raw);
            }
            return base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(raw.trim_end_matches('=').as_bytes())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or(raw);
        }
        normalise(&raw)
    };
    match (method, parts.as_slice()) {
        (&Method::GET, ["_sim", "counts"]) => Route::Counts,
        (&Method::GET, ["users", _, "overall_quotas"]) => Route::Quotas,
        (&Method::POST, ["urls"]) => Route::SubmitUrl,
        (&Method::GET, ["analyses", id]) => Route::Analysis(percent_decode(id)),
        (&Method::POST, [c, id, "analyse"]) => match kind(c) {
            Some(k) => Route::Analyse(k, ident(k, id)),
            None => Route::Unknown,
        },
        (&Method::GET, [c, id]) => match kind(c) {
            Some(k) => Route::Object(k, ident(k, id)),
            None => Route::Unknown,
        },
        _ => Route::Unknown,
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {"code": code, "message": message}}).to_string();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap_or_default()
}

fn json_response(v: Value, gzip: bool) -> Response {
    let body = v.to_string();
    let b = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json");
    if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        if enc.write_all(body.as_bytes()).is_ok()
            && let Ok(z) = enc.finish()
        {
            return b
                .header(header::CONTENT_ENCODING, "gzip")
                .body(Body::from(z))
                .unwrap_or_default();
        }
    }
    b.body(Body::from(body)).unwrap_or_default()
}

async fn handle(
    axum::extract::State(state): axum::extract::State<Arc<SimState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let r = route(&state, &method, uri.path());
    if let Route::Counts = r {
        return json_response(
            serde_json::to_value(state.lock().counts.clone()).unwrap_or_default(),
            false,
        );
    }
    let gzip = state.scenario.gzip
        && headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("gzip"));
    let key = headers
        .get("x-apikey")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let key_idx = state.key_index.get(key).copied();
    let submitted_url = if let Route::SubmitUrl = r {
        url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == "url")
            .map(|(_, v)| v.into_owned())
    } else {
        None
    };

    // Count, authenticate, rate-limit: all under one lock.
    let (ioc_value, endpoint) = {
        let mut g = state.lock();
        let ioc_value = match &r {
            Route::Analyse(_, v) | Route::Object(_, v) => Some(v.clone()),
            Route::Analysis(id) => g.analyses.get(id).map(|a| a.ioc.clone()),
            Route::SubmitUrl => submitted_url.clone(),
            _ => None,
        };
        let endpoint = match &r {
            Route::Analyse(..) => "analyse",
            Route::Analysis(_) => "analysis",
            Route::Object(..) => "object",
            Route::SubmitUrl => "submit_url",
            Route::Quotas => "quotas",
            _ => "other",
        };
        let c = &mut g.counts;
        c.total += 1;
        let label = key_idx.map_or("unknown".to_string(), |i| format!("key #{}", i + 1));
        *c.by_key.entry(label).or_default() += 1;
        *c.by_endpoint.entry(endpoint.into()).or_default() += 1;
        if let Some(v) = &ioc_value {
            *c.by_ioc.entry(v.clone()).or_default() += 1;
        }
        let Some(ki) = key_idx else {
            g.counts.rejected += 1;
            return if key.is_empty() {
                error_response(
                    StatusCode::UNAUTHORIZED,
                    "AuthenticationRequiredError",
                    "X-Apikey header is missing",
                )
            } else {
                error_response(
                    StatusCode::UNAUTHORIZED,
                    "WrongCredentialsError",
                    "Wrong API key",
                )
            };
        };
        let window = Duration::from_secs(60).div_f64(state.scenario.scale());
        let now = Instant::now();
        let k = &mut g.keys[ki];
        while k.sent.front().is_some_and(|t| *t + window <= now) {
            k.sent.pop_front();
        }
        if k.used >= k.quota || k.sent.len() >= k.rpm as usize {
            g.counts.rate_limited += 1;
            return error_response(
                StatusCode::TOO_MANY_REQUESTS,
                "QuotaExceededError",
                "Quota exceeded",
            );
        }
        k.sent.push_back(now);
        k.used += 1;
        (ioc_value, endpoint)
    };
    let _ = endpoint;

    // Faults of the IOC this request is about.
    let profile = ioc_value.as_deref().map(|v| state.profile(v));
    if let Some(p) = &profile {
        match &p.fault {
            Some(Fault::Slow { ms }) => tokio::time::sleep(Duration::from_millis(*ms)).await,
            Some(Fault::Burst5xx { count }) => {
                let mut g = state.lock();
                let hits = g.fault_hits.entry(p.value.clone()).or_default();
                if *hits < *count {
                    *hits += 1;
                    let (s, code) = match *hits % 3 {
                        1 => (StatusCode::SERVICE_UNAVAILABLE, "TransientError"),
                        2 => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
                        _ => (StatusCode::GATEWAY_TIMEOUT, "DeadlineExceededError"),
                    };
                    return error_response(s, code, "simulated transient failure");
                }
            }
            Some(Fault::Always5xx) => {
                return error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "simulated failure",
                );
            }
            Some(Fault::MalformedJson) => {
                return Response::builder()
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from("{\"data\": {\"id\": \"trunc"))
                    .unwrap_or_default();
            }
            Some(Fault::HtmlPage) => {
                return Response::builder()
                    .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
                    .body(Body::from(
                        "<!DOCTYPE html><html><head><title>Proxy Login</title></head><body><h1>Web access requires authentication</h1></body></html>",
                    ))
                    .unwrap_or_default();
            }
            Some(Fault::DropConnection) => {
                let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                    Ok(Bytes::from_static(b"{\"data\": {\"id\": ")),
                    Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "simulated drop",
                    )),
                ];
                return Response::builder()
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from_stream(futures::stream::iter(chunks)))
                    .unwrap_or_default();
            }
            _ => {}
        }
    }

    match r {
        Route::Quotas => {
            let g = state.lock();
            let k = &g.keys[key_idx.unwrap_or(0)];
            let user = |allowed: u32| json!({"user": {"allowed": allowed, "used": k.used}});
            json_response(
                json!({"data": {
                    "api_requests_daily": user(k.quota),
                    "api_requests_hourly": user(k.rpm.saturating_mul(60)),
                    "api_requests_monthly": user(k.quota.saturating_mul(31)),
                }}),
                gzip,
            )
        }
        Route::Object(kind, value) => {
            let p = profile.unwrap_or_default();
            if p.not_found {
                return not_found(kind, &value);
            }
            json_response(object_body(&state, kind, &value, &p), gzip)
        }
        Route::Analyse(kind, value) => {
            let p = profile.unwrap_or_default();
            if p.not_found {
                return not_found(kind, &value);
            }
            json_response(new_analysis(&state, kind, &value, &p), gzip)
        }
        Route::SubmitUrl => {
            let Some(u) = submitted_url else {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    "BadRequestError",
                    "form field 'url' is missing",
                );
            };
            let mut p = profile.unwrap_or_default();
            p.not_found = false;
            json_response(new_analysis(&state, Kind::Url, &u, &p), gzip)
        }
        Route::Analysis(id) => match analysis_body(&state, &id) {
            Some(v) => json_response(v, gzip),
            None => error_response(
                StatusCode::NOT_FOUND,
                "NotFoundError",
                &format!("Analysis \"{id}\" not found"),
            ),
        },
        Route::Counts | Route::Unknown => error_response(
            StatusCode::NOT_FOUND,
            "NotFoundError",
            &format!("Resource not found: {}", uri.path()),
        ),
    }
}

fn not_found(kind: Kind, value: &str) -> Response {
    let what = match kind {
        Kind::File => "File",
        Kind::Url => "URL",
        Kind::Domain => "Domain",
        Kind::Ip => "IP address",
    };
    error_response(
        StatusCode::NOT_FOUND,
        "NotFoundError",
        &format!("{what} \"{value}\" not found"),
    )
}

fn object_id(kind: Kind, value: &str) -> String {
    match kind {
        Kind::File if value.len() != 64 => hex(&Sha256::digest(value.as_bytes())),
        Kind::Url => hex(&Sha256::digest(value.as_bytes())),
        _ => value.to_string(),
    }
}

/// When the IOC's latest completed analysis completed (unix seconds), if any.
fn completed_at(state: &SimState, value: &str) -> Option<i64> {
    let g = state.lock();
    let now = Instant::now();
    g.analyses
        .values()
        .filter(|a| a.ioc == value && !a.never && a.created + a.delay <= now)
        .map(|a| a.unix + a.delay.as_secs() as i64)
        .max()
}

fn engine_list(kind: Kind, p: &SimIoc) -> Vec<String> {
    let base: &[&str] = match (kind, p.engines) {
        (Kind::File, EngineSet::Current) => engines::FILE_CURRENT,
        (Kind::File, EngineSet::Legacy) => engines::FILE_LEGACY,
        _ => engines::HOST,
    };
    let mut v: Vec<String> = base.iter().map(|s| s.to_string()).collect();
    for e in &p.extra_engines {
        if !v.contains(e) {
            v.push(e.clone());
        }
    }
    v
}

/// EDR engine names: malicious only when the scenario says they detect.
const EDR_NAMES: &[&str] = &[
    "FireEye",
    "Trellix (FireEye)",
    "Trellix (HX)",
    "McAfee",
    "TrellixENS",
    "Trellix (ENS)",
    "McAfee Scanner",
];

/// (`results`, `stats`) for a score.
fn results(kind: Kind, value: &str, p: &SimIoc, score: u32) -> (Value, Value) {
    let names = engine_list(kind, p);
    let mut malicious: Vec<&String> = names.iter().filter(|n| p.detected_by.contains(n)).collect();
    let h = hash64(value) as usize;
    let n = names.len();
    for i in 0..n {
        if malicious.len() >= score as usize {
            break;
        }
        let name = &names[(h + i) % n];
        if !EDR_NAMES.contains(&name.as_str()) && !malicious.contains(&name) {
            malicious.push(name);
        }
    }
    let tag: String = object_id(kind, value).chars().take(12).collect();
    let mut res = serde_json::Map::new();
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        let (cat, result): (&str, Value) = if malicious.contains(&name) {
            match kind {
                Kind::File => (
                    "malicious",
                    json!(format!("Trojan.Generic!{}", tag.to_uppercase())),
                ),
                _ => ("malicious", json!("malicious")),
            }
        } else {
            match kind {
                Kind::File if (i + h).is_multiple_of(6) => ("type-unsupported", Value::Null),
                Kind::File => ("undetected", Value::Null),
                _ if (i + h).is_multiple_of(3) => ("undetected", json!("unrated")),
                _ => ("harmless", json!("clean")),
            }
        };
        *counts.entry(cat).or_default() += 1;
        let entry = if kind == Kind::File {
            json!({"method": "blacklist", "engine_name": name, "engine_version": "1.0.0",
                   "engine_update": "20251204", "category": cat, "result": result})
        } else {
            json!({"method": "blacklist", "engine_name": name, "category": cat, "result": result})
        };
        res.insert(name.clone(), entry);
    }
    let c = |k: &str| counts.get(k).copied().unwrap_or(0);
    let stats = if kind == Kind::File {
        json!({"malicious": c("malicious"), "suspicious": 0, "undetected": c("undetected"),
               "harmless": 0, "timeout": 0, "confirmed-timeout": 0, "failure": 0,
               "type-unsupported": c("type-unsupported")})
    } else {
        json!({"malicious": c("malicious"), "suspicious": 0, "undetected": c("undetected"),
               "harmless": c("harmless"), "timeout": 0})
    };
    (Value::Object(res), stats)
}

fn object_body(state: &SimState, kind: Kind, value: &str, p: &SimIoc) -> Value {
    let (score, date) = match completed_at(state, value) {
        Some(t) => (p.after, t),
        None => (
            p.before,
            now_unix() - (p.last_analysis_age_hours * 3600.0) as i64,
        ),
    };
    let (results, stats) = results(kind, value, p, score);
    let id = object_id(kind, value);
    let mut attrs = json!({
        "last_analysis_date": date,
        "last_analysis_stats": stats,
        "last_analysis_results": results,
        "reputation": 0,
        "total_votes": {"harmless": 0, "malicious": 0},
    });
    let extra = match kind {
        Kind::File => json!({
            "sha256": id,
            "sha1": hex(&Sha256::digest(format!("sha1:{value}").as_bytes()))[..40],
            "md5": hex(&Sha256::digest(format!("md5:{value}").as_bytes()))[..32],
            "size": 1024 + hash64(value) % 100_000,
            "type_tag": "peexe",
        }),
        Kind::Url => json!({"url": value, "last_final_url": value}),
        Kind::Domain => json!({"tld": value.rsplit('.').next().unwrap_or("")}),
        Kind::Ip => json!({"country": "ZZ", "as_owner": "SIMULATED"}),
    };
    if let (Some(a), Some(e)) = (attrs.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            a.insert(k.clone(), v.clone());
        }
    }
    json!({"data": {
        "id": id,
        "type": kind.type_name(),
        "links": {"self": format!("{}/{}/{}", state.base(), kind.collection(), id)},
        "attributes": attrs,
    }})
}

fn new_analysis(state: &SimState, kind: Kind, value: &str, p: &SimIoc) -> Value {
    let unix = now_unix();
    let mut g = state.lock();
    g.seq += 1;
    let seq = g.seq;
    let delay = state.delay_for(kind, p, seq);
    let id = match kind {
        Kind::File => base64::engine::general_purpose::URL_SAFE.encode(format!(
            "{}:{}",
            &hex(&Sha256::digest(format!("md5:{value}").as_bytes()))[..32],
            unix * 1000 + seq as i64
        )),
        Kind::Url => format!("u-{}-{}", object_id(kind, value), unix * 1000 + seq as i64),
        Kind::Domain => format!("d-{}-{}", hex(&Sha256::digest(value.as_bytes())), seq),
        Kind::Ip => format!("i-{}-{}", hex(&Sha256::digest(value.as_bytes())), seq),
    };
    g.analyses.insert(
        id.clone(),
        AnalysisState {
            ioc: value.to_string(),
            kind,
            created: Instant::now(),
            delay,
            never: p.fault == Some(Fault::NeverCompletes),
            no_stats: p.fault == Some(Fault::MissingStats),
            unix,
        },
    );
    json!({"data": {
        "type": "analysis",
        "id": id,
        "links": {"self": format!("{}/analyses/{}", state.base(), id)},
    }})
}

fn analysis_body(state: &SimState, id: &str) -> Option<Value> {
    let (ioc, kind, status, no_stats, date) = {
        let g = state.lock();
        let a = g.analyses.get(id)?;
        let elapsed = Instant::now().saturating_duration_since(a.created);
        let status = if a.never {
            if elapsed < a.delay / 3 {
                "queued"
            } else {
                "in-progress"
            }
        } else if elapsed >= a.delay {
            "completed"
        } else if elapsed < a.delay / 3 {
            "queued"
        } else {
            "in-progress"
        };
        (a.ioc.clone(), a.kind, status, a.no_stats, a.unix)
    };
    let p = state.profile(&ioc);
    let oid = object_id(kind, &ioc);
    let mut attrs = json!({"status": status, "date": date});
    if status == "completed" {
        if !no_stats {
            let (results, stats) = results(kind, &ioc, &p, p.after);
            attrs["stats"] = stats;
            attrs["results"] = results;
        }
    } else {
        attrs["stats"] = if kind == Kind::File {
            json!({"malicious": 0, "suspicious": 0, "undetected": 0, "harmless": 0, "timeout": 0,
                   "confirmed-timeout": 0, "failure": 0, "type-unsupported": 0})
        } else {
            json!({"malicious": 0, "suspicious": 0, "undetected": 0, "harmless": 0, "timeout": 0})
        };
        attrs["results"] = json!({});
    }
    let meta = match kind {
        Kind::File => json!({"file_info": {
            "sha256": oid,
            "md5": &hex(&Sha256::digest(format!("md5:{ioc}").as_bytes()))[..32],
            "sha1": &hex(&Sha256::digest(format!("sha1:{ioc}").as_bytes()))[..40],
            "size": 1024 + hash64(&ioc) % 100_000,
        }}),
        Kind::Url => json!({"url_info": {"id": oid, "url": ioc}}),
        _ => json!({}),
    };
    Some(json!({
        "data": {
            "id": id,
            "type": "analysis",
            "links": {
                "self": format!("{}/analyses/{}", state.base(), id),
                "item": format!("{}/{}/{}", state.base(), kind.collection(), oid),
            },
            "attributes": attrs,
        },
        "meta": meta,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> SimState {
        SimState::new(Scenario::default(), "127.0.0.1:1".parse().unwrap())
    }

    #[test]
    fn unknown_iocs_get_a_deterministic_profile_mostly_clean() {
        let (a, b) = (state(), state());
        let values: Vec<String> = (0..1000).map(|i| format!("host{i}.example")).collect();
        let clean = values.iter().filter(|v| a.profile(v).after == 0).count();
        assert!((700..=900).contains(&clean), "{clean}");
        assert!(values.iter().any(|v| a.profile(v).after >= 5));
        for v in &values {
            assert_eq!(a.profile(v), b.profile(v));
        }
    }

    #[test]
    fn results_and_stats_agree_with_the_score_and_keep_edr_engines_out_unless_listed() {
        let p = SimIoc {
            value: "x".into(),
            ..SimIoc::default()
        };
        for score in [0, 5, 40] {
            let (res, stats) = results(Kind::File, "x", &p, score);
            assert_eq!(stats["malicious"], score);
            let m = res
                .as_object()
                .unwrap()
                .values()
                .filter(|e| e["category"] == "malicious")
                .count();
            assert_eq!(m as u32, score);
            assert_ne!(res["TrellixENS"]["category"], "malicious");
            assert!(res.get("FireEye").is_none());
        }
        let (_, stats) = results(Kind::Ip, "x", &p, 3);
        assert_eq!(stats.as_object().unwrap().len(), 5);
    }

    #[test]
    fn url_ids_decode_from_base64_and_sha256() {
        let mut sc = Scenario::default();
        sc.iocs.push(SimIoc {
            value: "https://www.youtube.com/".into(),
            ..SimIoc::default()
        });
        let st = SimState::new(sc, "127.0.0.1:1".parse().unwrap());
        // the recorded sample's id: unpadded URL-safe base64 of the URL
        match route(
            &st,
            &Method::GET,
            "/api/v3/urls/aHR0cHM6Ly93d3cueW91dHViZS5jb20v",
        ) {
            Route::Object(Kind::Url, v) => assert_eq!(v, "https://www.youtube.com/"),
            _ => panic!("not a URL object route"),
        }
        let sha = "dbae2d0204aa489e234eb2f903a0127b17c712386428cab12b86c5f68aa75867";
        match route(&st, &Method::GET, &format!("/api/v3/urls/{sha}")) {
            Route::Object(Kind::Url, v) => assert_eq!(v, "https://www.youtube.com/"),
            _ => panic!("not a URL object route"),
        }
    }
}
