//! API: the HTTP face of the service (axum). `POST /v1/score` scores one post or a batch with the
//! same scorer as the stream; `/healthz`, `/readyz` and `/metrics` are for the platform;
//! `POST /admin/rules/reload` swaps the rule pack (bearer token); `GET /openapi.json` describes
//! all of them (generated from the handlers below, with the post and verdict schemas taken from
//! `schemas/`). Client mistakes are 4xx JSON errors, never 5xx; `/v1/score` is rate-limited per
//! client IP address.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, schema::Schema};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::config::HttpConfig;
use crate::message::DeadLetterReason;
use crate::metrics::METRICS;
use crate::scorer::Scorer;
use crate::source::Readiness;

/// What the handlers share.
pub struct ApiState {
    pub scorer: Arc<Scorer>,
    pub readiness: Arc<Readiness>,
    pub max_batch: usize,
    pub rule_pack_path: PathBuf,
    /// Bearer token for /admin; admin routes answer 401 to everyone when unset.
    pub admin_token: Option<String>,
}

/// Machine-readable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not JSON (400).
    NotJson,
    /// The body could not be read (400).
    BadBody,
    /// The body exceeds the request body limit (413).
    BodyTooLarge,
    /// `{"posts": ...}` is not an array (422).
    BadBatch,
    /// The batch has no posts (422).
    EmptyBatch,
    /// The batch has more posts than the batch limit (413).
    BatchTooLarge,
    /// Some posts failed validation; `items` says which and why (422).
    InvalidPost,
    /// Too many requests from this client; see Retry-After (429).
    RateLimited,
    /// Scoring was interrupted (503).
    ScoringUnavailable,
    /// A valid bearer token is required (401).
    Unauthorized,
    /// The rule pack file was rejected; the old pack keeps serving (422).
    BadRulePack,
    /// The reload was interrupted (503).
    ReloadInterrupted,
    /// No such route (404).
    NotFound,
}

/// A JSON error body: `{"error": {"code", "message", "items"?}}`.
#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    code: ErrorCode,
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    items: Vec<Value>,
}

impl ApiError {
    fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            items: Vec::new(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self }))).into_response()
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        let code = if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ErrorCode::BodyTooLarge
        } else {
            ErrorCode::BadBody
        };
        ApiError::new(r.status(), code, r.body_text())
    }
}

/// Per-client token bucket for `POST /v1/score`, keyed by the peer's IP address.
pub struct ClientRateLimit {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl ClientRateLimit {
    /// `per_sec` requests per second with bursts of `burst` (0: the same as `per_sec`); `None`
    /// (no limit) when `per_sec` is 0.
    pub fn new(per_sec: u32, burst: u32) -> Option<Self> {
        let per_sec = NonZeroU32::new(per_sec)?;
        let burst = NonZeroU32::new(burst).unwrap_or(per_sec);
        Some(Self {
            limiter: RateLimiter::keyed(Quota::per_second(per_sec).allow_burst(burst)),
            checks: AtomicU64::new(0),
        })
    }

    /// `per_minute` requests per minute per client, in bursts of up to `per_minute`; `None` (no
    /// limit) when `per_minute` is 0. For rare, guessable requests such as sign-in attempts.
    pub fn per_minute(per_minute: u32) -> Option<Self> {
        let per_minute = NonZeroU32::new(per_minute)?;
        Some(Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            checks: AtomicU64::new(0),
        })
    }

    /// `Ok` to go ahead, or how many whole seconds (at least 1, for `Retry-After`) this client
    /// must wait.
    pub fn check(&self, client: IpAddr) -> Result<(), u64> {
        // Forget idle clients now and then so the table stays as small as the active set.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs_f64().ceil().max(1.0) as u64
        })
    }
}

async fn rate_limit(
    State(limit): State<Arc<ClientRateLimit>>,
    request: Request,
    next: Next,
) -> Response {
    // Without connection info (tests, or a server started without it) all callers share one
    // bucket.
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    match limit.check(client) {
        Ok(()) => next.run(request).await,
        Err(secs) => {
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                format!("too many requests from this client; retry in {secs} s"),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            response
        }
    }
}

/// The API without a rate limit.
pub fn router(state: Arc<ApiState>, body_limit: usize) -> Router {
    build(state, body_limit, None)
}

/// The API with every limit in `http` (body size, per-client rate); the batch limit is
/// `state.max_batch`. The rate limit keys on `ConnectInfo<SocketAddr>`: serve it with
/// [`app`], or `into_make_service_with_connect_info::<SocketAddr>()`.
pub fn router_with_limits(state: Arc<ApiState>, http: &HttpConfig) -> Router {
    let limit = ClientRateLimit::new(http.rate_limit_per_sec, http.rate_limit_burst).map(Arc::new);
    build(state, http.http_body_limit, limit)
}

/// What `axum::serve` runs: [`router_with_limits`] with each client's address attached.
pub fn app(
    state: Arc<ApiState>,
    http: &HttpConfig,
) -> IntoMakeServiceWithConnectInfo<Router, SocketAddr> {
    router_with_limits(state, http).into_make_service_with_connect_info::<SocketAddr>()
}

fn build(state: Arc<ApiState>, body_limit: usize, limit: Option<Arc<ClientRateLimit>>) -> Router {
    let mut score_route = post(score);
    if let Some(limit) = limit {
        score_route = score_route.route_layer(middleware::from_fn_with_state(limit, rate_limit));
    }
    let limits = DocLimits {
        max_batch: state.max_batch,
        max_text_chars: state.scorer.decoder().limits().max_text_chars,
    };
    let doc = Bytes::from(
        serde_json::to_vec(&openapi_document(limits)).expect("the OpenAPI document serialises"),
    );
    Router::new()
        .route("/v1/score", score_route)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/admin/rules/reload", post(reload_rules))
        .route("/openapi.json", get(move || openapi_json(doc.clone())))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such route")
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(count_requests))
        .with_state(state)
}

async fn count_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let response = next.run(request).await;
    METRICS
        .http_requests
        .with_label_values(&[&route, response.status().as_str()])
        .inc();
    response
}

/// Score one post or a batch.
///
/// The same scorer as the stream: the verdicts are those the verdict topic would get.
#[utoipa::path(
    post,
    path = "/v1/score",
    tag = "scoring",
    request_body(
        content = ScoreRequest,
        content_type = "application/json",
        description = "One post (schemas/post.v1.json), a JSON array of posts, or {\"posts\": [...]}",
    ),
    responses(
        (status = 200, description = "The verdict (single post) or {\"verdicts\": [...]} in request order (batch)", body = ScoreResponse),
        (status = 400, description = "The body is not JSON (`not_json`) or could not be read (`bad_body`)", body = ErrorBody),
        (status = 413, description = "The body exceeds the body limit (`body_too_large`) or the batch exceeds the batch limit (`batch_too_large`)", body = ErrorBody),
        (status = 422, description = "Posts failed validation (`invalid_post`, with each bad item's index and reason), or the batch is empty or malformed (`empty_batch`, `bad_batch`)", body = ErrorBody),
        (status = 429, description = "This client sent too many requests (`rate_limited`)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
        (status = 503, description = "Scoring was interrupted (`scoring_unavailable`)", body = ErrorBody),
    ),
)]
async fn score(
    State(state): State<Arc<ApiState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::NotJson,
            format!("body is not JSON: {e}"),
        )
    })?;
    let (items, batch) = match value {
        Value::Array(items) => (items, true),
        Value::Object(mut o) if o.len() == 1 && o.contains_key("posts") => {
            match o.remove("posts") {
                Some(Value::Array(items)) => (items, true),
                _ => {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        ErrorCode::BadBatch,
                        "\"posts\" must be an array",
                    ));
                }
            }
        }
        single => (vec![single], false),
    };
    if items.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::EmptyBatch,
            "the batch has no posts",
        ));
    }
    if items.len() > state.max_batch {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BatchTooLarge,
            format!(
                "the batch has {} posts; at most {} are accepted per request",
                items.len(),
                state.max_batch
            ),
        ));
    }
    let mut posts = Vec::with_capacity(items.len());
    let mut invalid = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match state.scorer.decoder().decode_value(item) {
            Ok(post) => posts.push(post),
            Err(e) => invalid.push(json!({"index": index, "reason": e.reason, "detail": e.detail})),
        }
    }
    if !invalid.is_empty() {
        let mut err = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidPost,
            "posts failed validation against schemas/post.v1.json",
        );
        err.items = invalid;
        return Err(err);
    }
    let scorer = state.scorer.clone();
    let verdicts = tokio::task::spawn_blocking(move || scorer.score_many(&posts))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ScoringUnavailable,
                "scoring was interrupted",
            )
        })?;
    Ok(if batch {
        Json(json!({ "verdicts": verdicts })).into_response()
    } else {
        Json(&verdicts[0]).into_response()
    })
}

/// Liveness: the process is up.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "platform",
    responses((status = 200, description = "The process is up", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// What `/readyz` answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Ready {
    /// True when `problems` is empty.
    ready: bool,
    /// Why the service is not ready, e.g. "brokers unreachable".
    problems: Vec<&'static str>,
    /// Version of the loaded rule pack.
    rule_pack: String,
    /// Classifier version, or "none" for rules only.
    model: String,
}

/// Readiness.
///
/// Ready when the rule pack is loaded, the consumer has joined its group and the brokers are
/// reachable.
#[utoipa::path(get, path = "/readyz", tag = "platform", responses(
    (status = 200, description = "Ready to take traffic", body = Ready),
    (status = 503, description = "Not ready; `problems` says why", body = Ready),
))]
async fn readyz(State(state): State<Arc<ApiState>>) -> Response {
    let problems = state.readiness.problems();
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Ready {
        ready: problems.is_empty(),
        problems,
        rule_pack: state.scorer.pack().version().to_string(),
        model: state.scorer.model_version().unwrap_or("none").to_string(),
    };
    (status, Json(body)).into_response()
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "platform", responses(
    (status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain"),
))]
async fn metrics() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        METRICS.render(),
    )
        .into_response()
}

/// Constant-time bearer check; no token configured means nobody is authorised.
fn authorised(state: &ApiState, headers: &HeaderMap) -> bool {
    let Some(expected) = &state.admin_token else {
        return false;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// A successful rule pack reload.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Reloaded {
    reloaded: bool,
    /// The version now serving.
    version: String,
    /// The version served before.
    previous: String,
}

/// Reload the rule pack.
///
/// Loads and validates the rule pack file again and swaps it in atomically; a bad pack is
/// rejected and the old one keeps serving.
#[utoipa::path(post, path = "/admin/rules/reload", tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Reloaded", body = Reloaded),
        (status = 401, description = "No or wrong bearer token (`unauthorized`)", body = ErrorBody),
        (status = 422, description = "The pack was rejected; the old one keeps serving (`bad_rule_pack`)", body = ErrorBody),
        (status = 503, description = "The reload was interrupted (`reload_interrupted`)", body = ErrorBody),
    ),
)]
async fn reload_rules(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
) -> Result<Json<Reloaded>, ApiError> {
    if !authorised(&state, &headers) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "a valid bearer token is required",
        ));
    }
    let scorer = state.scorer.clone();
    let path = state.rule_pack_path.clone();
    let previous = scorer.pack().version().to_string();
    match tokio::task::spawn_blocking(move || scorer.reload_rules(&path)).await {
        Ok(Ok(version)) => Ok(Json(Reloaded {
            reloaded: true,
            version: version.to_string(),
            previous,
        })),
        Ok(Err(e)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::BadRulePack,
            format!("rejected, still serving {previous}: {e}"),
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ReloadInterrupted,
            "reload was interrupted",
        )),
    }
}

/// This OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", tag = "platform", responses(
    (status = 200, description = "The OpenAPI 3.1 document of this API", body = Object, content_type = "application/json"),
))]
async fn openapi_json(doc: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], doc).into_response()
}

// --- OpenAPI document --------------------------------------------------------------------------

/// The post and verdict schemas: the files in `schemas/` (the decoder validates against the
/// first, the schema tests check outputs against the second).
const POST_SCHEMA_FILE: &str = include_str!("../../schemas/post.v1.json");
const VERDICT_SCHEMA_FILE: &str = include_str!("../../schemas/verdict.v1.json");

/// Placeholder for `schemas/post.v1.json`, swapped in by [`openapi_document`].
struct PostSchema;
impl PartialSchema for PostSchema {
    fn schema() -> RefOr<Schema> {
        utoipa::openapi::ObjectBuilder::new().into()
    }
}
impl ToSchema for PostSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Post")
    }
}

/// Placeholder for `schemas/verdict.v1.json`, swapped in by [`openapi_document`].
struct VerdictSchema;
impl PartialSchema for VerdictSchema {
    fn schema() -> RefOr<Schema> {
        utoipa::openapi::ObjectBuilder::new().into()
    }
}
impl ToSchema for VerdictSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Verdict")
    }
}

/// Types that exist only to describe request and response bodies built with `json!`.
#[allow(dead_code)]
mod doc {
    use super::{ErrorCode, PostSchema, VerdictSchema};
    use utoipa::ToSchema;

    /// `{"posts": [...]}`.
    #[derive(ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct PostBatch {
        pub posts: Vec<PostSchema>,
    }

    /// One post, a JSON array of posts, or `{"posts": [...]}`.
    #[derive(ToSchema)]
    #[serde(untagged)]
    pub enum ScoreRequest {
        One(PostSchema),
        Array(Vec<PostSchema>),
        Batch(PostBatch),
    }

    /// `{"verdicts": [...]}`, in request order.
    #[derive(ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct VerdictBatch {
        pub verdicts: Vec<VerdictSchema>,
    }

    /// The verdict for a single post, or `{"verdicts": [...]}` for a batch.
    #[derive(ToSchema)]
    #[serde(untagged)]
    pub enum ScoreResponse {
        One(VerdictSchema),
        Batch(VerdictBatch),
    }

    /// One rejected post of a request.
    #[derive(ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct InvalidItem {
        /// Position of the post in the request (0 for a single post).
        pub index: u64,
        /// Why it was rejected (the dead-letter reasons of the stream).
        pub reason: String,
        /// What exactly failed.
        pub detail: String,
    }

    /// What went wrong.
    #[derive(ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ErrorDetail {
        pub code: ErrorCode,
        /// Human-readable explanation.
        pub message: String,
        /// For `invalid_post`: every rejected post.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub items: Option<Vec<InvalidItem>>,
    }

    /// Every error response: `{"error": {"code", "message", "items"?}}`.
    #[derive(ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ErrorBody {
        pub error: ErrorDetail,
    }
}
use doc::{ErrorBody, ScoreRequest, ScoreResponse};

struct BearerAuth;
impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_default()
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "scamwatch",
        description = "Scores posts for scam-compound recruitment fraud and explains every verdict. Errors are {\"error\": {\"code\", \"message\"}}.",
    ),
    paths(score, healthz, readyz, metrics, reload_rules, openapi_json),
    components(schemas(ScoreRequest, ScoreResponse, ErrorBody, Health, Ready, Reloaded)),
    modifiers(&BearerAuth),
    tags(
        (name = "scoring", description = "Score posts"),
        (name = "platform", description = "Health, readiness, metrics, this document"),
        (name = "admin", description = "Operations (bearer token)"),
    ),
)]
struct ApiDoc;

/// Limits the document states, as configured.
#[derive(Debug, Clone, Copy)]
pub struct DocLimits {
    pub max_batch: usize,
    pub max_text_chars: usize,
}

/// The OpenAPI document: paths and helper schemas from the code above, `Post` and `Verdict`
/// from the files in `schemas/` (their `$defs` moved into the components), and the configured
/// limits.
pub fn openapi_document(limits: DocLimits) -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises");
    let schemas = doc["components"]["schemas"]
        .as_object_mut()
        .expect("the document has component schemas");
    for (name, file) in [("Post", POST_SCHEMA_FILE), ("Verdict", VERDICT_SCHEMA_FILE)] {
        let mut schema: Value = serde_json::from_str(file).expect("schemas/ hold valid JSON");
        let object = schema.as_object_mut().expect("a schema is an object");
        object.remove("$schema");
        object.remove("$id");
        let defs = object.remove("$defs");
        for (def, def_schema) in defs.iter().filter_map(Value::as_object).flatten() {
            schemas.insert(component_name(name, def), def_schema.clone());
        }
        rewrite_refs(&mut schema, name);
        schemas.insert(name.to_string(), schema);
    }
    let schemas = &mut doc["components"]["schemas"];
    // What the decoder checks beyond the schema file (`decode::PostDecoder::check_text`): text
    // and title hold no C0 control but tab, line feeds and carriage return, nor DEL; text has a
    // visible char (not White_Space, not a control, not a zero-width or bidi format char); and
    // text has at most so many chars.
    schemas["Post"]["properties"]["text"]["pattern"] = json!(format!(
        "^{NO_FORBIDDEN_CONTROL}*{VISIBLE}{NO_FORBIDDEN_CONTROL}*$"
    ));
    let title = format!("^{NO_FORBIDDEN_CONTROL}*$");
    schemas["Post"]["properties"]["title"]["pattern"] = json!(title);
    schemas["Post"]["properties"]["text"]["maxLength"] = json!(limits.max_text_chars);
    schemas["InvalidItem"]["properties"]["reason"]["enum"] =
        json!(DeadLetterReason::ALL.map(DeadLetterReason::as_str));
    // Every array of posts: 1 to max_batch of them.
    limit_post_arrays(&mut doc, limits.max_batch);
    doc
}

/// Any char but the C0 controls the decoder refuses (all but tab, LF, VT, FF, CR) and DEL.
const NO_FORBIDDEN_CONTROL: &str = r"[^\u0000-\u0008\u000E-\u001F\u007F]";
/// A char the decoder counts as visible: not White_Space, not a control (Cc), not one of the
/// zero-width and bidi format chars it ignores.
const VISIBLE: &str = r"[^\u0000-\u0020\u007F-\u00A0\u00AD\u034F\u061C\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u2064\u2066-\u2069\u3000\uFE00-\uFE0F\uFEFF]";

/// `Verdict` + `evidence` -> `VerdictEvidence`.
fn component_name(schema: &str, def: &str) -> String {
    let mut chars = def.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase());
    format!(
        "{schema}{}{}",
        first.into_iter().collect::<String>(),
        chars.as_str()
    )
}

/// `#/$defs/x` in schema `owner` -> `#/components/schemas/<owner>X`.
fn rewrite_refs(value: &mut Value, owner: &str) {
    match value {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get_mut("$ref")
                && let Some(def) = r.strip_prefix("#/$defs/")
            {
                *r = format!("#/components/schemas/{}", component_name(owner, def));
            }
            o.values_mut().for_each(|v| rewrite_refs(v, owner));
        }
        Value::Array(a) => a.iter_mut().for_each(|v| rewrite_refs(v, owner)),
        _ => {}
    }
}

fn limit_post_arrays(value: &mut Value, max_batch: usize) {
    match value {
        Value::Object(o) => {
            if o.get("type").and_then(Value::as_str) == Some("array")
                && o.get("items").and_then(|i| i.get("$ref"))
                    == Some(&json!("#/components/schemas/Post"))
            {
                o.insert("minItems".into(), json!(1));
                o.insert("maxItems".into(), json!(max_batch));
            }
            o.values_mut().for_each(|v| limit_post_arrays(v, max_batch));
        }
        Value::Array(a) => a.iter_mut().for_each(|v| limit_post_arrays(v, max_batch)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ScoringConfig;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn app() -> Router {
        router(state(), 4096)
    }

    fn state() -> Arc<ApiState> {
        let mut scoring = ScoringConfig::from_env();
        scoring.rule_pack =
            concat!(env!("CARGO_MANIFEST_DIR"), "/../models/rules/pack.toml").into();
        let scorer = Arc::new(Scorer::from_config(&scoring).unwrap());
        let readiness = Arc::new(Readiness::default());
        let state = ApiState {
            scorer,
            readiness,
            max_batch: 3,
            rule_pack_path: scoring.rule_pack,
            admin_token: Some("s3cret".into()),
        };
        Arc::new(state)
    }

    async fn call(method: &str, uri: &str, body: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        send(
            app(),
            req.body(axum::body::Body::from(body.to_string())).unwrap(),
        )
        .await
    }

    async fn send(app: Router, req: Request) -> (StatusCode, Value) {
        let (status, _, body) = send_full(app, req).await;
        (status, body)
    }

    async fn send_full(app: Router, req: Request) -> (StatusCode, HeaderMap, Value) {
        let resp = app.oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A POST /v1/score from `client`.
    fn score_from(client: [u8; 4], body: &str) -> Request {
        let mut req = Request::builder()
            .method("POST")
            .uri("/v1/score")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((client, 40000))));
        req
    }

    fn http_config(per_sec: u32, burst: u32) -> HttpConfig {
        HttpConfig {
            http_addr: "127.0.0.1:0".parse().unwrap(),
            http_body_limit: 4096,
            max_batch: 3,
            admin_token: None,
            rate_limit_per_sec: per_sec,
            rate_limit_burst: burst,
        }
    }

    /// A validator for one component of the served OpenAPI document.
    fn component_validator(doc: &Value, name: &str) -> jsonschema::Validator {
        let schema = json!({
            "$ref": format!("#/components/schemas/{name}"),
            "components": doc["components"],
        });
        jsonschema::validator_for(&schema).unwrap()
    }

    #[tokio::test]
    async fn scores_single_and_batch() {
        let (s, v) = call("POST", "/v1/score", r#"{"id":"a","text":"Hiring typists in Sihanoukville, USD 1500/month, free housing, contact telegram @hr_kh"}"#, None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["post_id"], "a");
        assert_ne!(v["action"], "allow", "{v}");
        let (s, v) = call(
            "POST",
            "/v1/score",
            r#"{"posts":[{"id":"a","text":"hi"},{"id":"b","text":"hello there"}]}"#,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["verdicts"].as_array().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn bad_requests_are_4xx_json() {
        let cases = [
            ("{not json", StatusCode::BAD_REQUEST, "not_json"),
            (
                r#"{"id":"a"}"#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_post",
            ),
            (r#"[]"#, StatusCode::UNPROCESSABLE_ENTITY, "empty_batch"),
            (
                r#"[{"id":"a","text":"x"},{"id":"b","text":"x"},{"id":"c","text":"x"},{"id":"d","text":"x"}]"#,
                StatusCode::PAYLOAD_TOO_LARGE,
                "batch_too_large",
            ),
        ];
        for (body, status, code) in cases {
            let (s, v) = call("POST", "/v1/score", body, None).await;
            assert_eq!(
                (s, v["error"]["code"].as_str()),
                (status, Some(code)),
                "{body}"
            );
        }
        let huge = format!(r#"{{"id":"a","text":"{}"}}"#, "x".repeat(10_000));
        let (s, v) = call("POST", "/v1/score", &huge, None).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large"))
        );
        let (s, v) = call(
            "POST",
            "/v1/score",
            r#"[{"id":"a","text":"ok"},{"id":"b","text":"  "}]"#,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["items"][0]["index"], 1);
        assert_eq!(v["error"]["items"][0]["reason"], "empty_text");
    }

    #[tokio::test]
    async fn readiness_and_admin_auth() {
        let (s, v) = call("GET", "/readyz", "", None).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "not joined yet");
        assert!(
            v["problems"]
                .to_string()
                .contains("consumer has not joined")
        );
        let (s, _) = call("POST", "/admin/rules/reload", "", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = call("POST", "/admin/rules/reload", "", Some("wrong")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, v) = call("POST", "/admin/rules/reload", "", Some("s3cret")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, _) = call("GET", "/healthz", "", None).await;
        assert_eq!(s, StatusCode::OK);
    }

    #[tokio::test]
    async fn openapi_document_covers_every_route_and_matches_responses() {
        let (s, doc) = call("GET", "/openapi.json", "", None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
        let paths = doc["paths"].as_object().unwrap();
        let mut names: Vec<_> = paths.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "/admin/rules/reload",
                "/healthz",
                "/metrics",
                "/openapi.json",
                "/readyz",
                "/v1/score"
            ]
        );
        for code in ["200", "400", "413", "422", "429", "503"] {
            assert!(
                doc["paths"]["/v1/score"]["post"]["responses"][code].is_object(),
                "/v1/score documents {code}"
            );
        }
        assert!(
            doc["paths"]["/v1/score"]["post"]["responses"]["429"]["headers"]["Retry-After"]
                .is_object()
        );
        assert_eq!(
            doc["paths"]["/admin/rules/reload"]["post"]["security"],
            json!([{"bearer": []}])
        );
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        let text = doc.to_string();
        assert!(
            !text.contains("$defs"),
            "every $defs was moved into the components"
        );
        assert_eq!(
            doc["components"]["schemas"]["Post"]["required"],
            json!(["id", "text"])
        );
        assert!(
            text.contains(r#""maxItems":3"#),
            "the batch limit is stated"
        );

        // What the API answers conforms to what the document says.
        let response = component_validator(&doc, "ScoreResponse");
        let errors = component_validator(&doc, "ErrorBody");
        let request = component_validator(&doc, "ScoreRequest");
        let single = json!({"id":"a","text":"Hiring typists in Sihanoukville, USD 1500/month, free housing, telegram @hr_kh"});
        let batch = json!({"posts": [single, {"id":"b","text":"hello"}]});
        for body in [&single, &batch, &json!([single])] {
            assert!(request.is_valid(body), "{body}");
            let (s, v) = call("POST", "/v1/score", &body.to_string(), None).await;
            assert_eq!(s, StatusCode::OK);
            assert!(
                response.is_valid(&v),
                "{:?}",
                response
                    .iter_errors(&v)
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
            );
        }
        for body in ["{", r#"[{"id":"a"}]"#, "[]"] {
            let (s, v) = call("POST", "/v1/score", body, None).await;
            assert!(s.is_client_error());
            assert!(errors.is_valid(&v), "{v}");
        }
        let (_, v) = call("GET", "/readyz", "", None).await;
        assert!(component_validator(&doc, "Ready").is_valid(&v), "{v}");
    }

    #[tokio::test]
    async fn score_is_rate_limited_per_client() {
        let app = router_with_limits(state(), &http_config(1, 2));
        let body = r#"{"id":"a","text":"hello"}"#;
        for _ in 0..2 {
            let (s, _) = send(app.clone(), score_from([10, 0, 0, 1], body)).await;
            assert_eq!(s, StatusCode::OK, "within the burst");
        }
        let (s, headers, v) = send_full(app.clone(), score_from([10, 0, 0, 1], body)).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(v["error"]["code"], "rate_limited");
        let retry: u64 = headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=2).contains(&retry), "Retry-After {retry}");
        // Another client has its own bucket; other routes are not limited.
        let (s, _) = send(app.clone(), score_from([10, 0, 0, 2], body)).await;
        assert_eq!(s, StatusCode::OK);
        let healthz = Request::builder()
            .uri("/healthz")
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(send(app.clone(), healthz).await.0, StatusCode::OK);
        // 0 disables the limit.
        let app = router_with_limits(state(), &http_config(0, 0));
        for _ in 0..20 {
            let (s, _) = send(app.clone(), score_from([10, 0, 0, 1], body)).await;
            assert_eq!(s, StatusCode::OK);
        }
    }

    #[tokio::test]
    async fn batch_over_the_limit_is_rejected_with_a_clear_error() {
        let app = router_with_limits(state(), &http_config(0, 0));
        let post = r#"{"id":"a","text":"hello"}"#;
        let body = format!(r#"{{"posts":[{post},{post},{post},{post}]}}"#);
        let (s, v) = send(app.clone(), score_from([10, 0, 0, 1], &body)).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(v["error"]["code"], "batch_too_large");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("at most 3"),
            "{v}"
        );
        let body = format!("[{post},{post},{post}]");
        let (s, v) = send(app, score_from([10, 0, 0, 1], &body)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["verdicts"].as_array().unwrap().len(), 3);
    }
}
