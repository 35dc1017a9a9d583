//! HTTP of the review console: sign-in with server-side sessions (HttpOnly, SameSite=Strict,
//! Secure cookies), a CSRF token on every state-changing form, the queue / item / stats pages,
//! claims and decisions, plus `/healthz`, `/readyz` and `/metrics`. A strict Content Security
//! Policy backs up the escaping in [`super::pages`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::Markup;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tokio::sync::Notify;

use super::store::{QueueFilter, ReviewStore, Session, StoreError};
use super::{now_ms, pages, stats};
use crate::api::ClientRateLimit;
use crate::message::Decision;
use crate::metrics::{InternalEvent, METRICS, ReviewDecided};
use crate::source::Readiness;

const COOKIE: &str = "scamwatch_review";

pub struct ConsoleState {
    pub store: ReviewStore,
    /// `(name, password)` of every reviewer.
    pub accounts: Vec<(String, String)>,
    pub claim_ms: i64,
    pub session_ms: i64,
    pub cookie_secure: bool,
    /// Sign-in attempts per client address (`None`: unlimited). Serve the router with
    /// `into_make_service_with_connect_info::<SocketAddr>()` so clients are told apart.
    pub login_limit: Option<ClientRateLimit>,
    /// When `/metrics` last recomputed the review stats (ms since the epoch; 0 = never).
    pub stats_refreshed_ms: AtomicI64,
    /// Wakes the feedback publisher after a decision.
    pub publish: Arc<Notify>,
    pub readiness: Arc<Readiness>,
}

pub fn router(state: Arc<ConsoleState>) -> Router {
    Router::new()
        .route("/", get(queue))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/next", post(next))
        .route("/items/{id}", get(item))
        .route("/items/{id}/claim", post(claim))
        .route("/items/{id}/release", post(release))
        .route("/items/{id}/decision", post(decide))
        .route("/stats", get(stats_page))
        .route("/static/review.css", get(css))
        .route("/static/review.js", get(js))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    response
}

/// Failures of a console request.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("sign in first")]
    SignedOut { redirect: bool },
    #[error("the form's CSRF token does not match your session; reload the page")]
    Csrf,
    #[error("no such item")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = match &self {
            ConsoleError::SignedOut { redirect: true } => {
                return Redirect::to("/login").into_response();
            }
            ConsoleError::SignedOut { .. } => StatusCode::UNAUTHORIZED,
            ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Store(error) => {
                tracing::error!(%error, "review database error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let message = match &self {
            ConsoleError::Store(_) => "the review database failed; try again".to_string(),
            other => other.to_string(),
        };
        (
            status,
            pages::page(
                "Error",
                None,
                None,
                maud::html! { h1 { (status) } p.error { (message) } },
            ),
        )
            .into_response()
    }
}

/// A signed-in reviewer (from the session cookie).
pub struct SignedIn {
    token: String,
    session: Session,
}

impl FromRequestParts<Arc<ConsoleState>> for SignedIn {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ConsoleState>,
    ) -> Result<Self, Self::Rejection> {
        let signed_out = ConsoleError::SignedOut {
            redirect: parts.method == Method::GET,
        };
        let Some(token) = session_cookie(parts) else {
            return Err(signed_out);
        };
        match state.store.session(&token, now_ms()).await? {
            Some(session) => Ok(SignedIn { token, session }),
            None => Err(signed_out),
        }
    }
}

fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

impl SignedIn {
    fn check_csrf(&self, token: &str) -> Result<(), ConsoleError> {
        if bool::from(token.as_bytes().ct_eq(self.session.csrf.as_bytes())) {
            Ok(())
        } else {
            Err(ConsoleError::Csrf)
        }
    }

    fn name(&self) -> &str {
        &self.session.reviewer
    }
}

async fn login_page() -> Markup {
    pages::login(None)
}

/// The client's IP address; without connection info (a router served without it) every
/// client is `0.0.0.0`, so they share one rate-limit bucket.
struct ClientAddr(IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        ))
    }
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
}

async fn login(
    State(state): State<Arc<ConsoleState>>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<LoginForm>,
) -> Result<Response, ConsoleError> {
    // Successful attempts count too, and the limit is checked before the password, so a
    // guesser learns nothing from being limited and pays minutes, not milliseconds, per guess.
    if let Some(Err(secs)) = state.login_limit.as_ref().map(|l| l.check(client)) {
        tracing::warn!(%client, "review console sign-in rate-limited");
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, HeaderValue::from(secs))],
            pages::login(Some(&format!(
                "Too many sign-in attempts from this address; try again in {secs} s."
            ))),
        )
            .into_response());
    }
    // Compare against every account so timing does not reveal which names exist.
    let mut ok = false;
    for (name, password) in &state.accounts {
        let pass_ok = bool::from(form.password.as_bytes().ct_eq(password.as_bytes()));
        ok |= pass_ok && *name == form.name;
    }
    if !ok {
        tracing::warn!("failed review console sign-in");
        return Ok((
            StatusCode::UNAUTHORIZED,
            pages::login(Some("Unknown reviewer or wrong password.")),
        )
            .into_response());
    }
    let (token, _) = state
        .store
        .create_session(&form.name, now_ms(), state.session_ms)
        .await?;
    let secure = if state.cookie_secure { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        state.session_ms / 1000
    );
    tracing::info!(reviewer = %form.name, "reviewer signed in");
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response())
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<Arc<ConsoleState>>,
    who: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    who.check_csrf(&form.csrf)?;
    state.store.end_session(&who.token).await?;
    let clear = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response())
}

/// Fixed notices (never reflected text).
fn notice(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "decided" => "Decision recorded and queued for the feedback topic.",
        "empty" => "Nothing left to claim with these filters.",
        "lost" => "Someone else claimed this item first.",
        "claim-expired" => "Your claim expired or was taken over; claim the item again.",
        "released" => "Claim released.",
        "already-decided" => "This item was already decided.",
        _ => return None,
    })
}

#[derive(Deserialize, Default)]
struct QueueQuery {
    #[serde(flatten)]
    filter: QueueFilter,
    notice: Option<String>,
}

async fn queue(
    State(state): State<Arc<ConsoleState>>,
    who: SignedIn,
    Query(q): Query<QueueQuery>,
) -> Result<Markup, ConsoleError> {
    let rows = state.store.queue(&q.filter, 200).await?;
    let counts = state.store.counts().await?;
    let facets = state.store.facets().await?;
    Ok(pages::queue(pages::QueuePage {
        reviewer: who.name(),
        csrf: &who.session.csrf,
        filter: &q.filter,
        rows: &rows,
        counts: &counts,
        facets: &facets,
        now_ms: now_ms(),
        notice: notice(q.notice.as_deref()),
    }))
}

#[derive(Deserialize)]
struct NextForm {
    csrf: String,
    #[serde(flatten)]
    filter: QueueFilter,
}

async fn next(
    State(state): State<Arc<ConsoleState>>,
    who: SignedIn,
    Form(form): Form<NextForm>,
) -> Result<Redirect, ConsoleError> {
    who.check_csrf(&form.csrf)?;
    let claimed = state
        .store
        .claim_next(&form.filter, who.name(), now_ms(), state.claim_ms)
        .await?;
    Ok(match claimed {
        Some(id) => Redirect::to(&format!("/items/{id}")),
        None => Redirect::to("/?notice=empty"),
    })
}

#[derive(Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn item(
    State(state): State<Arc<ConsoleState>>,
    who: SignedIn,
    Path(id): Path<i64>,
    Query(q): Query<NoticeQuery>,
) -> Result<Markup, ConsoleError> {
    let item = state.store.item(id).await?.ok_or(ConsoleError::NotFound)?;
    let audit = state.store.audit(id).await?;
    let shared = state.store.sharing_contacts(id).await?;
    Ok(pages::item(pages::ItemPage {
        reviewer: who.name(),
        csrf: &who.session.csrf,
        item: &item,
        audit: &audit,
        shared: &shared,
        now_ms: now_ms(),
        notice: notice(q.notice.as_deref()),
    }))
}

async fn claim(
    State(state): State<Arc<ConsoleState>>,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect, ConsoleError> {
    who.check_csrf(&form.csrf)?;
    let won = state
        .store
        .claim(id, who.name(), now_ms(), state.claim_ms)
        .await?;
    Ok(Redirect::to(&if won {
        format!("/items/{id}")
    } else {
        format!("/items/{id}?notice=lost")
    }))
}

async fn release(
    State(state): State<Arc<ConsoleState>>,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect, ConsoleError> {
    who.check_csrf(&form.csrf)?;
    state.store.release(id, who.name()).await?;
    Ok(Redirect::to(&format!("/items/{id}?notice=released")))
}

#[derive(Deserialize)]
struct DecisionForm {
    csrf: String,
    decision: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    labels: String,
}

async fn decide(
    State(state): State<Arc<ConsoleState>>,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> Result<Redirect, ConsoleError> {
    who.check_csrf(&form.csrf)?;
    let decision = match form.decision.as_str() {
        "fraud" => Decision::Fraud,
        "not_fraud" => Decision::NotFraud,
        "escalate" => Decision::Escalate,
        _ => {
            return Err(ConsoleError::BadRequest(
                "decision must be fraud, not_fraud or escalate",
            ));
        }
    };
    let note = Some(form.note.trim()).filter(|n| !n.is_empty());
    let labels: Vec<String> = form
        .labels
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let now = now_ms();
    let entry = match state
        .store
        .decide(id, who.name(), decision, note, &labels, now)
        .await
    {
        Ok(entry) => entry,
        Err(StoreError::NotClaimed(_)) => {
            return Ok(Redirect::to(&format!("/items/{id}?notice=claim-expired")));
        }
        Err(StoreError::AlreadyDecided(_)) => {
            return Ok(Redirect::to(&format!("/items/{id}?notice=already-decided")));
        }
        Err(StoreError::NoSuchItem(_)) => return Err(ConsoleError::NotFound),
        Err(e) => return Err(e.into()),
    };
    ReviewDecided {
        item_id: entry.item_id,
        post_id: &entry.post_id,
        reviewer: who.name(),
        decision,
    }
    .emit();
    state.publish.notify_one();
    // Straight on to the next item: deciding should take seconds, not clicks.
    let next = state
        .store
        .claim_next(&QueueFilter::default(), who.name(), now, state.claim_ms)
        .await?;
    Ok(Redirect::to(&match next {
        Some(next) => format!("/items/{next}?notice=decided"),
        None => "/?notice=decided".to_string(),
    }))
}

async fn stats_page(
    State(state): State<Arc<ConsoleState>>,
    who: SignedIn,
) -> Result<Markup, ConsoleError> {
    let s = stats::compute(&state.store, now_ms()).await?;
    stats::export_metrics(&s);
    Ok(pages::stats(who.name(), &who.session.csrf, &s))
}

async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("static/review.css"),
    )
}

async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("static/review.js"),
    )
}

async fn readyz(State(state): State<Arc<ConsoleState>>) -> Response {
    let mut problems: Vec<&str> = Vec::new();
    if state.store.ping().await.is_err() {
        problems.push("review database unreachable");
    }
    if !state.readiness.joined.load(Ordering::Relaxed) {
        problems.push("verdict consumer has not joined its group");
    }
    if !state.readiness.broker_up.load(Ordering::Relaxed) {
        problems.push("brokers unreachable");
    }
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({ "ready": problems.is_empty(), "problems": problems })),
    )
        .into_response()
}

/// How stale the `scamwatch_review_*` gauges may be: the stats are aggregate queries over every
/// decided item, so an unauthenticated `/metrics` caller must not run them on every request.
const STATS_REFRESH_MS: i64 = 10_000;

async fn metrics(State(state): State<Arc<ConsoleState>>) -> Response {
    let now = now_ms();
    let last = state.stats_refreshed_ms.load(Ordering::Relaxed);
    if now - last >= STATS_REFRESH_MS
        && state
            .stats_refreshed_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        && let Ok(s) = stats::compute(&state.store, now).await
    {
        stats::export_metrics(&s);
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        METRICS.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn console(per_minute: u32) -> (Router, tempfile::TempDir) {
        let (state, dir) = console_state(per_minute).await;
        (router(state), dir)
    }

    async fn console_state(per_minute: u32) -> (Arc<ConsoleState>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("review.db").display());
        let state = ConsoleState {
            store: ReviewStore::connect(&url).await.unwrap(),
            accounts: vec![("alice".into(), "correct horse".into())],
            claim_ms: 60_000,
            session_ms: 60_000,
            cookie_secure: true,
            login_limit: ClientRateLimit::per_minute(per_minute),
            stats_refreshed_ms: AtomicI64::new(0),
            publish: Arc::new(Notify::new()),
            readiness: Arc::new(Readiness::default()),
        };
        (Arc::new(state), dir)
    }

    async fn sign_in(app: &Router, from: [u8; 4], password: &str) -> Response {
        let mut request = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("name=alice&password={password}")))
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((from, 40000))));
        app.clone().oneshot(request).await.unwrap()
    }

    #[tokio::test]
    async fn sign_in_attempts_are_limited_per_client_address() {
        let (app, _dir) = console(3).await;
        let guesser = [10, 0, 0, 1];
        for _ in 0..3 {
            let r = sign_in(&app, guesser, "guess").await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
        // The fourth attempt is refused before the password is checked, even the right one.
        for password in ["guess", "correct%20horse"] {
            let r = sign_in(&app, guesser, password).await;
            assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
            let wait: u64 = r.headers()[header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&wait), "Retry-After {wait}");
            assert!(!r.headers().contains_key(header::SET_COOKIE));
        }
        // Another address is unaffected and signs in.
        let r = sign_in(&app, [10, 0, 0, 2], "correct%20horse").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(r.headers().contains_key(header::SET_COOKIE));
    }

    #[tokio::test]
    async fn zero_turns_the_sign_in_limit_off() {
        let (app, _dir) = console(0).await;
        for _ in 0..20 {
            let r = sign_in(&app, [10, 0, 0, 1], "guess").await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
    }

    #[tokio::test]
    async fn metrics_recompute_the_review_stats_at_most_every_ten_seconds() {
        let (state, _dir) = console_state(0).await;
        let first = metrics(State(state.clone())).await;
        assert_eq!(first.status(), StatusCode::OK);
        let refreshed = state.stats_refreshed_ms.load(Ordering::Relaxed);
        assert!(refreshed > 0, "the first scrape computes the stats");
        metrics(State(state.clone())).await;
        assert_eq!(
            state.stats_refreshed_ms.load(Ordering::Relaxed),
            refreshed,
            "a scrape right after reuses them"
        );
        state
            .stats_refreshed_ms
            .store(refreshed - STATS_REFRESH_MS, Ordering::Relaxed);
        metrics(State(state.clone())).await;
        assert!(
            state.stats_refreshed_ms.load(Ordering::Relaxed) >= refreshed,
            "stale stats are recomputed"
        );
    }
}
