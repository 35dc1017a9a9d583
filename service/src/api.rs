//! API: the HTTP face of the service (axum). `POST /v1/score` scores one post or a batch with the
//! same scorer as the stream; `/healthz`, `/readyz` and `/metrics` are for the platform;
//! `POST /admin/rules/reload` swaps the rule pack (bearer token). Client mistakes are 4xx JSON
//! errors, never 5xx.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

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

/// A JSON error body: `{"error": {"code", "message", "items"?}}`.
#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    items: Vec<Value>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
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
            "body_too_large"
        } else {
            "bad_body"
        };
        ApiError::new(r.status(), code, r.body_text())
    }
}

pub fn router(state: Arc<ApiState>, body_limit: usize) -> Router {
    Router::new()
        .route("/v1/score", post(score))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/admin/rules/reload", post(reload_rules))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
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

async fn score(
    State(state): State<Arc<ApiState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "not_json",
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
                        "bad_batch",
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
            "empty_batch",
            "the batch has no posts",
        ));
    }
    if items.len() > state.max_batch {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("{} posts; the limit is {}", items.len(), state.max_batch),
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
            "invalid_post",
            "posts failed validation against schemas/post.v1.json",
        );
        err.items = invalid;
        return Err(err);
    }
    let scorer = state.scorer.clone();
    let verdicts = tokio::task::spawn_blocking(move || {
        posts.iter().map(|p| scorer.score(p)).collect::<Vec<_>>()
    })
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "scoring_unavailable",
            "scoring was interrupted",
        )
    })?;
    Ok(if batch {
        Json(json!({ "verdicts": verdicts })).into_response()
    } else {
        Json(&verdicts[0]).into_response()
    })
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<Arc<ApiState>>) -> Response {
    let problems = state.readiness.problems();
    let body = json!({
        "ready": problems.is_empty(),
        "problems": problems,
        "rule_pack": state.scorer.pack().version(),
        "model": state.scorer.model_version().unwrap_or("none"),
    });
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

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

async fn reload_rules(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    if !authorised(&state, &headers) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required",
        ));
    }
    let scorer = state.scorer.clone();
    let path = state.rule_pack_path.clone();
    let previous = scorer.pack().version().to_string();
    match tokio::task::spawn_blocking(move || scorer.reload_rules(&path)).await {
        Ok(Ok(version)) => Ok(Json(
            json!({"reloaded": true, "version": version, "previous": previous}),
        )),
        Ok(Err(e)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_rule_pack",
            format!("rejected, still serving {previous}: {e}"),
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "reload_interrupted",
            "reload was interrupted",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ScoringConfig;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn app() -> Router {
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
        router(Arc::new(state), 4096)
    }

    async fn call(method: &str, uri: &str, body: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = app()
            .oneshot(req.body(axum::body::Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
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
}
