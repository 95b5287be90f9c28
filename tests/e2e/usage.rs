//! Usage analytics and rate limits: exact counts per project and key, bucket
//! boundaries, plan limits with their headers and 429s, usage alerts, one limit shared
//! by two instances, and buffered usage kept over a clean restart.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, DurationRound, TimeDelta, Timelike, Utc};
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_timestamp, Backend, Resp, TestApp};

both!(
    analytics_count_a_known_mix_per_project_and_key,
    account_wide_keys_are_counted_for_the_project_in_their_path,
    analytics_list_every_bucket_of_a_fixed_range_with_zeros,
    analytics_refuse_bad_queries_and_foreign_keys,
    a_clean_shutdown_keeps_every_buffered_usage_record,
    the_account_overview_sums_every_project_and_lists_the_busiest,
);

// Each needs a fresh account's whole allowance admitted.
both!(
    analytics_count_refused_requests_as_rate_limited,
    a_free_account_gets_exactly_its_hundred_requests_across_all_its_keys,
    other_plans_get_their_limits_and_unlimited_accounts_no_headers,
    usage_alerts_are_emitted_once_per_window,
    idempotent_replays_and_refusals_are_rate_limited_like_any_request,
);

both!(a_restart_does_not_renew_an_accounts_allowance,);

/// How long recorded usage may take to show in analytics (it is flushed every second).
const FLUSH_DEADLINE: Duration = Duration::from_secs(10);

/// An unknown but well-formed key id.
const MISSING_KEY: &str = "key_0000000000000000000000";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}")).with_timezone(&Utc)
}

/// `t` as `2026-01-01T10:00:00Z`, safe in a query string.
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn hour_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::hours(1)).expect("truncate to the hour")
}

/// `[requests, errors, rate_limited]` of a bucket or of the totals.
fn counts(c: &Value) -> [u64; 3] {
    ["requests", "errors", "rate_limited"].map(|f| c[f].as_u64().unwrap_or_else(|| panic!("{f} is not a count: {c}")))
}

/// The start of the bucket after `t`.
fn next_bucket(t: DateTime<Utc>, granularity: &str) -> DateTime<Utc> {
    match granularity {
        "hour" => t + TimeDelta::hours(1),
        "day" => t + TimeDelta::days(1),
        "week" => t + TimeDelta::weeks(1),
        "month" if t.month() == 12 => t.with_month(1).and_then(|t| t.with_year(t.year() + 1)).expect("January"),
        "month" => t.with_month(t.month() + 1).expect("the next month"),
        other => panic!("unknown granularity {other}"),
    }
}

/// Asserts an analytics answer's shape: its fields, the granularity, buckets that follow
/// each other from the one containing `start_date` to the last one before `end_date`,
/// that add up to the totals, and latencies that are zero exactly when nothing was
/// counted. Returns the bucket timestamps.
#[track_caller]
fn check_answer(body: &Value, granularity: &str) -> Vec<DateTime<Utc>> {
    let mut fields: BTreeSet<&str> = ["project_id", "start_date", "end_date", "granularity", "totals", "data"].into();
    if body.get("api_key_id").is_some() {
        fields.insert("api_key_id");
    }
    let got: BTreeSet<&str> = body.as_object().expect("an object").keys().map(String::as_str).collect();
    assert_eq!(got, fields, "analytics fields: {body}");
    assert_eq!(body["granularity"], granularity, "{body}");
    let start = assert_timestamp(&body["start_date"]);
    let end = assert_timestamp(&body["end_date"]);
    assert!(start < end, "{body}");
    let metric_fields: BTreeSet<&str> =
        ["requests", "errors", "rate_limited", "avg_latency_ms", "p95_latency_ms"].into();
    let check_latency = |c: &Value| {
        let avg = c["avg_latency_ms"].as_f64().unwrap_or_else(|| panic!("avg_latency_ms: {c}"));
        let p95 = c["p95_latency_ms"].as_f64().unwrap_or_else(|| panic!("p95_latency_ms: {c}"));
        if counts(c)[0] == 0 {
            assert!(avg == 0.0 && p95 == 0.0, "latency without requests: {c}");
        } else {
            assert!(avg > 0.0 && avg < 30_000.0 && p95 > 0.0 && p95 < 60_000.0, "implausible latency: {c}");
        }
    };
    let totals = &body["totals"];
    let got: BTreeSet<&str> = totals.as_object().expect("totals").keys().map(String::as_str).collect();
    assert_eq!(got, metric_fields, "totals fields: {body}");
    check_latency(totals);

    let data = body["data"].as_array().expect("data is a list");
    assert!(!data.is_empty(), "no buckets: {body}");
    let mut sum = [0; 3];
    let mut stamps = Vec::new();
    for bucket in data {
        let mut got: BTreeSet<&str> = bucket.as_object().expect("a bucket").keys().map(String::as_str).collect();
        assert!(got.remove("timestamp"), "a bucket without timestamp: {bucket}");
        assert_eq!(got, metric_fields, "bucket fields: {bucket}");
        check_latency(bucket);
        for (s, c) in sum.iter_mut().zip(counts(bucket)) {
            *s += c;
        }
        let t = assert_timestamp(&bucket["timestamp"]);
        if let Some(&prev) = stamps.last() {
            assert_eq!(t, next_bucket(prev, granularity), "buckets must follow each other: {body}");
        }
        stamps.push(t);
    }
    assert!(
        stamps[0] <= start && start < next_bucket(stamps[0], granularity),
        "the first bucket must contain start: {body}"
    );
    let last = *stamps.last().expect("a bucket");
    assert!(last < end && end <= next_bucket(last, granularity), "the last bucket must reach end: {body}");
    assert_eq!(sum, counts(totals), "the buckets must add up to the totals: {body}");
    stamps
}

/// Reads one project's analytics with one key. Each query is itself a request of that key
/// on that project, so exact totals include the queries made before it.
struct Analyst {
    project: String,
    key: String,
    sent: Cell<u64>,
}

impl Analyst {
    fn new(project: &str, key: &str) -> Self {
        Self { project: project.to_owned(), key: key.to_owned(), sent: Cell::new(0) }
    }

    async fn query(&self, app: &TestApp, query: &str) -> Resp {
        self.sent.set(self.sent.get() + 1);
        app.get(&format!("/api/v1/projects/{}/analytics?{query}", self.project), &self.key).await
    }

    /// Polls until `done(answer, queries made before this one)` holds; the answer is
    /// checked with [`check_answer`] and returned.
    async fn until(&self, app: &TestApp, query: &str, granularity: &str, done: impl Fn(&Value, u64) -> bool) -> Value {
        let deadline = Instant::now() + FLUSH_DEADLINE;
        loop {
            let earlier = self.sent.get();
            let res = self.query(app, query).await;
            res.expect(StatusCode::OK);
            check_answer(&res.body, granularity);
            if done(&res.body, earlier) {
                return res.body;
            }
            assert!(
                Instant::now() < deadline,
                "analytics ?{query} did not reach the expected counts within {FLUSH_DEADLINE:?}; last answer: {}",
                res.text
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// An analytics query string covering the hours (or days) around now, filtered to one
/// key when `key_id` is given.
fn around_now(granularity: &str, key_id: Option<&str>) -> String {
    let (start, end) = match granularity {
        "hour" => (rfc3339(Utc::now() - TimeDelta::hours(2)), rfc3339(Utc::now() + TimeDelta::hours(2))),
        _ => (
            (Utc::now() - TimeDelta::days(1)).date_naive().to_string(),
            (Utc::now() + TimeDelta::days(1)).date_naive().to_string(),
        ),
    };
    let filter = key_id.map(|k| format!("&api_key_id={k}")).unwrap_or_default();
    format!("granularity={granularity}&start_date={start}&end_date={end}{filter}")
}

async fn analytics_count_a_known_mix_per_project_and_key(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let from = Utc::now();
    // The account-wide owner sets up; only project keys make the measured requests.
    let (_, owner) = account(&app, "enterprise", &[]).await;
    let owner = owner.as_str();
    let project = app.create_project_as(owner, json!({"name": "metered"}), StatusCode::CREATED).await;
    let project = project["id"].as_str().expect("id").to_owned();
    let other = app.create_project_as(owner, json!({"name": "elsewhere"}), StatusCode::CREATED).await;
    let other = other["id"].as_str().expect("id").to_owned();
    let make_key = |project: String, permissions: Value, by: String| {
        let app = &app;
        async move {
            let k = app
                .create_key_as(&by, &project, json!({"name": "k", "permissions": permissions}), StatusCode::CREATED)
                .await;
            (k["id"].as_str().expect("id").to_owned(), k["key"].as_str().expect("key").to_owned())
        }
    };
    let (admin_id, admin) = make_key(project.clone(), json!(["admin"]), owner.to_owned()).await;
    // Two requests of the project's admin key, both counted.
    let (key_id, key) = make_key(project.clone(), json!(["read"]), admin.clone()).await;
    let (_, analyst_key) = make_key(project.clone(), json!(["read"]), admin.clone()).await;
    let (other_key_id, other_key) = make_key(other.clone(), json!(["read"]), owner.to_owned()).await;
    let (_, other_analyst) = make_key(other.clone(), json!(["read"]), owner.to_owned()).await;
    let path = format!("/api/v1/projects/{project}");
    let missing = format!("{path}/api-keys/{MISSING_KEY}");

    // The read key: 4 answered, 2 not found, 1 invalid.
    for _ in 0..2 {
        app.get(&path, &key).await.expect(StatusCode::OK);
        app.get(&format!("{path}/api-keys"), &key).await.expect(StatusCode::OK);
        app.get(&missing, &key).await.error(StatusCode::NOT_FOUND, "NOT_FOUND");
    }
    let bad_paging = app.get(&format!("{path}/api-keys?per_page=0"), &key).await;
    bad_paging.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR");
    // The admin key: 3 answered, 1 not found, 1 invalid (plus the 2 key creations).
    for _ in 0..3 {
        app.get(&path, &admin).await.expect(StatusCode::OK);
    }
    app.get(&missing, &admin).await.error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let bad_paging = app.get(&format!("{path}/api-keys?page=0"), &admin).await;
    bad_paging.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR");
    // Not this project's usage: no key, another account's key, another project's key.
    app.get(&path, "").await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
    app.get(&path, app.admin_key()).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    app.get(&path, &other_key).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    for _ in 0..3 {
        app.get(&format!("/api/v1/projects/{other}"), &other_key).await.expect(StatusCode::OK);
    }

    // Each key's counts, exact once flushed (the analyst's own queries are not in them).
    let analyst = Analyst::new(&project, &analyst_key);
    let mine =
        analyst.until(&app, &around_now("hour", Some(&key_id)), "hour", |b, _| counts(&b["totals"]) == [7, 3, 0]).await;
    assert_eq!(mine["api_key_id"], key_id.as_str());
    for bucket in mine["data"].as_array().expect("data") {
        let t = assert_timestamp(&bucket["timestamp"]);
        if counts(bucket)[0] > 0 {
            assert!(hour_of(from) <= t && t <= Utc::now(), "usage in an hour without requests: {mine}");
        }
    }
    let admins =
        analyst.until(&app, &around_now("day", Some(&admin_id)), "day", |b, _| counts(&b["totals"]) == [7, 2, 0]).await;
    assert_eq!(admins["api_key_id"], admin_id.as_str());
    analyst.until(&app, &around_now("day", Some(&key_id)), "day", |b, _| counts(&b["totals"]) == [7, 3, 0]).await;
    // A project key's requests count for its own project, whatever the path: the
    // other key's three answered and its one refused request under this project.
    let elsewhere = Analyst::new(&other, &other_analyst);
    elsewhere
        .until(&app, &around_now("hour", Some(&other_key_id)), "hour", |b, _| counts(&b["totals"]) == [4, 1, 0])
        .await;

    // A project's totals include every key and the analyst's earlier queries, all flushed
    // by a clean stop. Errors are exact; requests also hold the owner's one key creation,
    // which `account_wide_keys_are_counted_for_the_project_in_their_path` pins down.
    assert!(app.restart().await.success(), "the server stops cleanly");
    let queries = analyst.sent.get();
    let res = analyst.query(&app, &around_now("hour", None)).await;
    res.expect(StatusCode::OK);
    check_answer(&res.body, "hour");
    assert!(res.body.get("api_key_id").is_none(), "api_key_id without a filter: {}", res.text);
    let [requests, errors, rate_limited] = counts(&res.body["totals"]);
    assert!(requests >= 14 + queries, "14 requests of project keys and {queries} queries: {}", res.text);
    assert_eq!([errors, rate_limited], [5, 0], "{}", res.text);
}

async fn the_account_overview_sums_every_project_and_lists_the_busiest(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let (_, owner) = account(&app, "enterprise", &[]).await;
    let mut projects = Vec::new();
    for name in ["quiet", "busy"] {
        let p = app.create_project_as(&owner, json!({"name": name}), StatusCode::CREATED).await;
        let id = p["id"].as_str().expect("id").to_owned();
        let k =
            app.create_key_as(&owner, &id, json!({"name": "k", "permissions": ["read"]}), StatusCode::CREATED).await;
        projects.push((id, k["key"].as_str().expect("key").to_owned()));
    }
    let [(quiet, quiet_key), (busy, busy_key)] = <[_; 2]>::try_from(projects).expect("two");
    for _ in 0..5 {
        app.get(&format!("/api/v1/projects/{busy}"), &busy_key).await.expect(StatusCode::OK);
    }
    app.get(&format!("/api/v1/projects/{busy}/api-keys/{MISSING_KEY}"), &busy_key)
        .await
        .error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.get(&format!("/api/v1/projects/{quiet}"), &quiet_key).await.expect(StatusCode::OK);
    // Everything above is flushed by a clean stop.
    assert!(app.restart().await.success(), "the server stops cleanly");

    let range = around_now("hour", None).replace("granularity=hour&", "");
    let res = app.get(&format!("/api/v1/analytics?{range}&limit=1"), &owner).await;
    res.expect(StatusCode::OK);
    let body = &res.body;
    // Each project's row is what its own analytics say; the totals are their sum.
    let mut sum = [0u64; 3];
    for (project, key) in [(&quiet, &quiet_key), (&busy, &busy_key)] {
        let own = Analyst::new(project, key).query(&app, &around_now("hour", None)).await;
        own.expect(StatusCode::OK);
        let c = counts(&own.body["totals"]);
        for (s, n) in sum.iter_mut().zip(c) {
            *s += n;
        }
        if project == &busy {
            assert_eq!(body["projects"][0]["project_id"], busy.as_str(), "busiest first: {}", res.text);
            assert_eq!(body["projects"][0]["name"], "busy");
            assert_eq!(counts(&body["projects"][0]), c, "{}", res.text);
            assert!(c[0] >= 6 && c[1] >= 1, "{}", own.text);
        }
    }
    assert_eq!(body["projects"].as_array().map(Vec::len), Some(1), "limit=1: {}", res.text);
    assert_eq!(body["active_projects"], 2);
    assert_eq!(counts(&body["totals"]), sum, "{}", res.text);
    assert!(body["failing_webhooks"].as_array().is_some_and(Vec::is_empty), "an admin sees webhooks: {}", res.text);

    // A project key sees its project only, and without `webhook` no webhooks at all.
    let res = app.get(&format!("/api/v1/analytics?{range}"), &quiet_key).await;
    res.expect(StatusCode::OK);
    let ids: Vec<&str> =
        res.body["projects"].as_array().expect("projects").iter().filter_map(|p| p["project_id"].as_str()).collect();
    assert_eq!(ids, [quiet.as_str()], "{}", res.text);
    assert!(res.body["failing_webhooks"].is_null(), "{}", res.text);
    // Any length of range is fine here (nothing is bucketed).
    app.get("/api/v1/analytics?start_date=2000-01-01T00:00:00Z", &owner).await.expect(StatusCode::OK);
    // Bad queries are named.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("granularity=day", "granularity"),
        ("start_date=nope", "start_date"),
    ] {
        let res = app.get(&format!("/api/v1/analytics?{query}"), &owner).await;
        assert_eq!(res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], field, "{query}");
    }
}

async fn account_wide_keys_are_counted_for_the_project_in_their_path(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let (_, owner) = account(&app, "enterprise", &[]).await;
    let project = app.create_project_as(&owner, json!({"name": "metered"}), StatusCode::CREATED).await;
    let project = project["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/projects/{project}");
    // 1 created, 3 answered, 1 not found, 1 invalid.
    let analyst =
        app.create_key_as(&owner, &project, json!({"name": "a", "permissions": ["read"]}), StatusCode::CREATED).await;
    let analyst = Analyst::new(&project, analyst["key"].as_str().expect("key"));
    for _ in 0..3 {
        app.get(&path, &owner).await.expect(StatusCode::OK);
    }
    app.get(&format!("{path}/api-keys/{MISSING_KEY}"), &owner).await.error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let bad_paging = app.get(&format!("{path}/api-keys?page=0"), &owner).await;
    bad_paging.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR");
    // Another account's key names the project in its path, but it is not that account's.
    app.get(&path, app.admin_key()).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    app.get(&format!("{path}/api-keys"), app.admin_key()).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");

    // An account-wide key is no key of the project, so it cannot be a filter: read the
    // totals once a clean stop has flushed everything.
    assert!(app.restart().await.success(), "the server stops cleanly");
    let res = analyst.query(&app, &around_now("hour", None)).await;
    res.expect(StatusCode::OK);
    check_answer(&res.body, "hour");
    assert_eq!(counts(&res.body["totals"]), [6, 2, 0], "the owner's 6 requests: {}", res.text);
}

/// Waits for the next clock hour when less than 25 s of this one remain, so a
/// rate-limit window (the clock hour) cannot end in the middle of a test.
pub(crate) async fn within_one_rate_window() {
    let now = Utc::now();
    let left = 3600 - u64::from(now.minute() * 60 + now.second());
    if left < 25 {
        tokio::time::sleep(Duration::from_secs(left + 1)).await;
    }
}

/// The end of the current clock hour, in Unix seconds.
fn end_of_hour() -> i64 {
    (hour_of(Utc::now()) + TimeDelta::hours(1)).timestamp()
}

/// Asserts the five rate-limit headers with `limit` and `remaining`; returns the reset.
#[track_caller]
fn assert_rate_headers(res: &Resp, limit: u64, remaining: u64) -> i64 {
    let header =
        |name: &str| res.header(name).unwrap_or_else(|| panic!("no {name} header ({}): {}", res.status, res.text));
    assert_eq!(header("x-ratelimit-limit"), limit.to_string(), "X-RateLimit-Limit");
    assert_eq!(header("x-ratelimit-remaining"), remaining.to_string(), "X-RateLimit-Remaining");
    let reset: i64 = header("x-ratelimit-reset").parse().expect("X-RateLimit-Reset is Unix seconds");
    if remaining > 0 {
        assert_eq!(reset, end_of_hour(), "X-RateLimit-Reset must be the end of the clock hour");
    } else {
        // Nothing left: the moment the next request fits, within the next hour.
        assert!((Utc::now().timestamp()..=end_of_hour() + 3600).contains(&reset), "X-RateLimit-Reset {reset}");
    }
    assert_eq!(header("ratelimit-policy"), format!("\"hourly\";q={limit};w=3600"), "RateLimit-Policy");
    let rate = header("ratelimit");
    let t: i64 = rate
        .strip_prefix(&format!("\"hourly\";r={remaining};t="))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("RateLimit: {rate:?} (remaining {remaining})"));
    let left = reset - Utc::now().timestamp();
    // Up to two hours: with nothing left, the next request may fit only well into the next hour.
    assert!((0..=7200).contains(&t) && (t - left).abs() <= 2, "RateLimit t={t}, but the reset is {left} s away");
    reset
}

/// Asserts a 429 `RATE_LIMIT_EXCEEDED` with its headers and details; returns
/// `(reset, Retry-After)`.
#[track_caller]
fn assert_limited(res: &Resp, limit: u64) -> (i64, i64) {
    let details = res.error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMIT_EXCEEDED");
    assert_eq!(details["limit"], limit, "details.limit: {}", res.text);
    let reset = assert_rate_headers(res, limit, 0);
    let reset_at = details["reset_at"].as_str().unwrap_or_else(|| panic!("details.reset_at: {}", res.text));
    assert_eq!(at(reset_at).timestamp(), reset, "details.reset_at must be X-RateLimit-Reset: {}", res.text);
    let retry: i64 = res.header("retry-after").and_then(|r| r.parse().ok()).expect("Retry-After in seconds");
    // Sleeping for Retry-After from the response's Date is sleeping until the reset.
    let date = res.header("date").expect("a Date header");
    let date = chrono::DateTime::parse_from_rfc2822(date).expect("an HTTP date").timestamp();
    assert!(retry > 0, "Retry-After {retry}");
    assert_eq!(reset, date + retry, "X-RateLimit-Reset must be Date + Retry-After");
    (reset, retry)
}

#[track_caller]
fn assert_no_rate_headers(res: &Resp) {
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "ratelimit-policy",
        "ratelimit",
        "retry-after",
    ] {
        assert!(res.header(name).is_none(), "an unlimited account got {name}: {:?}", res.header(name));
    }
}

/// `tengine accounts create --plan PLAN ARGS...`; returns `(account id, key)`.
pub(crate) async fn account(app: &TestApp, plan: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec!["accounts", "create", "--name", "Customer", "--plan", plan];
    args.extend_from_slice(extra);
    let made = app.cli_json(&args).await;
    (made["account_id"].as_str().expect("account_id").to_owned(), made["key"].as_str().expect("key").to_owned())
}

async fn idempotent_replays_and_refusals_are_rate_limited_like_any_request(backend: Backend) {
    within_one_rate_window().await;
    let app = TestApp::spawn(backend).await;
    let (_, key) = account(&app, "enterprise", &["--limit", "5"]).await;
    let post = |body: Value| {
        let key = format!("Bearer {key}");
        let app = &app;
        async move {
            let headers = [
                ("authorization", key),
                ("content-type", "application/json".to_owned()),
                ("idempotency-key", "replayed-1".to_owned()),
            ];
            app.send(Method::POST, "/api/v1/projects", &headers, Some(body.to_string().into_bytes())).await
        }
    };
    let first = post(json!({"name": "once"})).await;
    first.expect(StatusCode::CREATED);
    assert_rate_headers(&first, 5, 4);
    // A replay is admitted and counted like the request itself.
    let replay = post(json!({"name": "once"})).await;
    replay.expect(StatusCode::CREATED);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body["id"], first.body["id"], "the same project");
    assert_rate_headers(&replay, 5, 3);
    // So is the refusal of another body under the same key.
    let reused = post(json!({"name": "other"})).await;
    reused.error(StatusCode::UNPROCESSABLE_ENTITY, "IDEMPOTENCY_KEY_REUSED");
    assert_rate_headers(&reused, 5, 2);
    for remaining in [1, 0] {
        assert_rate_headers(&app.get("/api/v1/projects", &key).await, 5, remaining);
    }
    // With the allowance spent, a replay is refused before anything is looked up.
    let refused = post(json!({"name": "once"})).await;
    assert_limited(&refused, 5);
    assert_eq!(refused.header("idempotent-replayed"), None);
}

async fn analytics_count_refused_requests_as_rate_limited(backend: Backend) {
    within_one_rate_window().await;
    let mut app = TestApp::spawn(backend).await;
    let (account_id, owner) = account(&app, "free", &[]).await;
    let project = app.create_project_as(&owner, json!({"name": "limited"}), StatusCode::CREATED).await;
    let project = project["id"].as_str().expect("id");
    let key =
        app.create_key_as(&owner, project, json!({"name": "k", "permissions": ["read"]}), StatusCode::CREATED).await;
    let (key_id, key) = (key["id"].as_str().expect("id"), key["key"].as_str().expect("key"));
    // The owner used 2 of the 100.
    let path = format!("/api/v1/projects/{project}");
    for _ in 0..98 {
        app.get(&path, key).await.expect(StatusCode::OK);
    }
    for _ in 0..3 {
        assert_limited(&app.get(&path, key).await, 100);
    }
    // The account cannot read its analytics before the hour ends: lift its limit while
    // the server is down (the stop also flushes the buffered usage).
    assert!(app.stop().await.success(), "the server stops cleanly");
    app.sql(&format!("UPDATE accounts SET plan = 'enterprise', rate_limit_per_hour = NULL WHERE id = '{account_id}'"));
    app.start_again().await;
    let res = app.get(&format!("{path}/analytics?{}", around_now("hour", Some(key_id))), key).await;
    res.expect(StatusCode::OK);
    assert_no_rate_headers(&res);
    check_answer(&res.body, "hour");
    assert_eq!(counts(&res.body["totals"]), [101, 0, 3], "98 answered and 3 refused: {}", res.text);
}

async fn a_restart_does_not_renew_an_accounts_allowance(backend: Backend) {
    within_one_rate_window().await;
    let mut app = TestApp::spawn(backend).await;
    let (_, key) = account(&app, "enterprise", &["--limit", "20"]).await;
    for remaining in (0..20).rev() {
        let res = app.get("/api/v1/projects", &key).await;
        res.expect(StatusCode::OK);
        assert_rate_headers(&res, 20, remaining);
    }
    assert_limited(&app.get("/api/v1/projects", &key).await, 20);
    assert!(app.restart().await.success(), "the server stops cleanly");
    for _ in 0..20 {
        assert_limited(&app.get("/api/v1/projects", &key).await, 20);
    }
}

/// Asserts the buckets (all empty) and the resolved range of a historical query.
async fn assert_empty_range(app: &TestApp, project: &str, query: &str, range: [&str; 2], buckets: &[&str]) -> Value {
    let res = app.get(&format!("/api/v1/projects/{project}/analytics?{query}"), app.admin_key()).await;
    res.expect(StatusCode::OK);
    let granularity = res.body["granularity"].as_str().expect("granularity").to_owned();
    let stamps = check_answer(&res.body, &granularity);
    assert_eq!(assert_timestamp(&res.body["start_date"]), at(range[0]), "start_date of ?{query}");
    assert_eq!(assert_timestamp(&res.body["end_date"]), at(range[1]), "end_date of ?{query}");
    if !buckets.is_empty() {
        assert_eq!(stamps, buckets.iter().map(|b| at(b)).collect::<Vec<_>>(), "buckets of ?{query}");
    }
    assert_eq!(counts(&res.body["totals"]), [0, 0, 0], "{}", res.text);
    assert!(res.body["data"].as_array().expect("data").iter().all(|b| counts(b) == [0, 0, 0]), "{}", res.text);
    res.body
}

async fn analytics_list_every_bucket_of_a_fixed_range_with_zeros(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p = app.project("history").await;
    let p = p.as_str();
    assert_empty_range(
        &app,
        p,
        "granularity=hour&start_date=2026-01-01T22:30:00Z&end_date=2026-01-02T01:00:00Z",
        ["2026-01-01T22:30:00Z", "2026-01-02T01:00:00Z"],
        &["2026-01-01T22:00:00Z", "2026-01-01T23:00:00Z", "2026-01-02T00:00:00Z"],
    )
    .await;
    // 2026-11-25 is a Wednesday; a plain end_date runs to the end of that day.
    assert_empty_range(
        &app,
        p,
        "granularity=week&start_date=2026-11-25&end_date=2026-12-08",
        ["2026-11-25T00:00:00Z", "2026-12-09T00:00:00Z"],
        &["2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z"],
    )
    .await;
    assert_empty_range(
        &app,
        p,
        "granularity=week&start_date=2026-11-23T00:00:00Z&end_date=2026-11-30T00:00:00Z",
        ["2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"],
        &["2026-11-23T00:00:00Z"],
    )
    .await;
    assert_empty_range(
        &app,
        p,
        "granularity=month&start_date=2024-01-15&end_date=2024-03-01",
        ["2024-01-15T00:00:00Z", "2024-03-02T00:00:00Z"],
        &["2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"],
    )
    .await;
    assert_empty_range(
        &app,
        p,
        "granularity=month&start_date=2026-12-15&end_date=2027-01-10",
        ["2026-12-15T00:00:00Z", "2027-01-11T00:00:00Z"],
        &["2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"],
    )
    .await;
    // Day is the default; a leap day is a day; offsets are resolved to UTC.
    let leap = assert_empty_range(
        &app,
        p,
        "start_date=2024-02-28&end_date=2024-03-01",
        ["2024-02-28T00:00:00Z", "2024-03-02T00:00:00Z"],
        &["2024-02-28T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z"],
    )
    .await;
    assert_eq!(leap["granularity"], "day");
    assert_empty_range(
        &app,
        p,
        "granularity=day&start_date=2026-01-02T01:00:00%2B02:00&end_date=2026-01-02T12:00:00Z",
        ["2026-01-01T23:00:00Z", "2026-01-02T12:00:00Z"],
        &["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"],
    )
    .await;

    // At most 10,000 buckets.
    let start = at("2020-01-01T00:00:00Z");
    let (most, too_many) = (start + TimeDelta::hours(10_000), start + TimeDelta::hours(10_001));
    let body = assert_empty_range(
        &app,
        p,
        &format!("granularity=hour&start_date={}&end_date={}", rfc3339(start), rfc3339(most)),
        [&rfc3339(start), &rfc3339(most)],
        &[],
    )
    .await;
    let data = body["data"].as_array().expect("data");
    assert_eq!(data.len(), 10_000);
    assert_eq!(assert_timestamp(&data[9_999]["timestamp"]), most - TimeDelta::hours(1));
    let res = app
        .get(
            &format!(
                "/api/v1/projects/{p}/analytics?granularity=hour&start_date={}&end_date={}",
                rfc3339(start),
                rfc3339(too_many)
            ),
            app.admin_key(),
        )
        .await;
    let details = res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR");
    assert_eq!(details["field"], "granularity", "{}", res.text);

    for query in [
        "start_date=2026-01-02&end_date=2026-01-01",
        "granularity=hour&start_date=2026-01-01T10:00:00Z&end_date=2026-01-01T10:00:00Z",
        "granularity=hour&start_date=2026-01-01T10:00:00Z&end_date=2026-01-01T09:59:59Z",
    ] {
        let res = app.get(&format!("/api/v1/projects/{p}/analytics?{query}"), app.admin_key()).await;
        let details = res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR");
        let field = details["field"].as_str().unwrap_or_default();
        assert!(field == "start_date" || field == "end_date", "?{query} should name the range: {}", res.text);
    }

    // No dates: the last seven days, by day.
    let before = Utc::now();
    let res = app.get(&format!("/api/v1/projects/{p}/analytics"), app.admin_key()).await;
    res.expect(StatusCode::OK);
    let stamps = check_answer(&res.body, "day");
    let end = assert_timestamp(&res.body["end_date"]);
    assert!(
        before - TimeDelta::seconds(1) <= end && end <= Utc::now() + TimeDelta::seconds(1),
        "end_date is now: {}",
        res.text
    );
    assert_eq!(assert_timestamp(&res.body["start_date"]), end - TimeDelta::days(7), "{}", res.text);
    assert_eq!(stamps.len(), if end == end.duration_trunc(TimeDelta::days(1)).expect("midnight") { 7 } else { 8 });
}

async fn analytics_refuse_bad_queries_and_foreign_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.cli_json(&["accounts", "create", "--name", "Asker", "--plan", "enterprise"]).await;
    let (owner_id, admin) = (owner["key_id"].as_str().expect("key_id"), owner["key"].as_str().expect("key"));
    let project = app.create_project_as(admin, json!({"name": "asked"}), StatusCode::CREATED).await;
    let project = project["id"].as_str().expect("id").to_owned();
    let other = app.create_project_as(admin, json!({"name": "other"}), StatusCode::CREATED).await;
    let other = other["id"].as_str().expect("id").to_owned();
    let project_key = |project: String, permissions: &'static str| {
        let app = &app;
        async move {
            let k = app
                .create_key_as(admin, &project, json!({"name": "k", "permissions": [permissions]}), StatusCode::CREATED)
                .await;
            (k["id"].as_str().expect("id").to_owned(), k["key"].as_str().expect("key").to_owned())
        }
    };
    let (key_id, _) = project_key(project.clone(), "read").await;
    let (other_key_id, other_key) = project_key(other.clone(), "read").await;
    let (_, writer) = project_key(project.clone(), "write").await;
    let analytics = format!("/api/v1/projects/{project}/analytics");

    let res = app.get(&format!("{analytics}?api_key_id={key_id}"), admin).await;
    res.expect(StatusCode::OK);
    check_answer(&res.body, "day");
    assert_eq!(res.body["api_key_id"], key_id.as_str());

    for (query, field) in [
        ("bogus=1", "bogus"),
        ("granularity=day&limit=5", "limit"),
        ("granularity=minute", "granularity"),
        ("start_date=yesterday", "start_date"),
        ("start_date=2026-01-01&end_date=2026-13-01", "end_date"),
        ("api_key_id=nope", "api_key_id"),
        ("api_key_id=proj_0000000000000000000000", "api_key_id"),
        (&format!("api_key_id={other_key_id}"), "api_key_id"),
        (&format!("api_key_id={MISSING_KEY}"), "api_key_id"),
        // An account-wide key is not one of the project's keys.
        (&format!("api_key_id={owner_id}"), "api_key_id"),
    ] {
        let res = app.get(&format!("{analytics}?{query}"), admin).await;
        let details = res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR");
        assert_eq!(details["field"], field, "?{query}: {}", res.text);
    }

    // Analytics need `read`, and a project key sees only its own project.
    let res = app.get(&analytics, &writer).await;
    assert_eq!(res.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS")["permission"], "read", "{}", res.text);
    app.get(&analytics, &other_key).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    app.get("/api/v1/projects/proj_0000000000000000000000/analytics", admin)
        .await
        .error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    app.get(&analytics, "").await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
}

async fn a_free_account_gets_exactly_its_hundred_requests_across_all_its_keys(backend: Backend) {
    within_one_rate_window().await;
    let app = TestApp::spawn(backend).await;
    let (account_id, owner) = account(&app, "free", &[]).await;
    let second = app.cli_json(&["keys", "create", "--account", &account_id, "--permissions", "read"]).await;
    let second = second["key"].as_str().expect("key").to_owned();

    let res = app.post_json("/api/v1/projects", &owner, &json!({"name": "free"})).await;
    res.expect(StatusCode::CREATED);
    assert_rate_headers(&res, 100, 99);
    let project = res.body["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/projects/{project}");
    let res = app.post_json(&format!("{path}/api-keys"), &owner, &json!({"name": "p", "permissions": ["read"]})).await;
    res.expect(StatusCode::CREATED);
    assert_rate_headers(&res, 100, 98);
    let scoped = res.body["key"].as_str().expect("key").to_owned();

    // The account's three keys share one allowance; errors count as requests too.
    let keys = [&owner, &second, &scoped];
    for remaining in (0..98).rev() {
        let key = keys[remaining as usize % 3];
        let res = if remaining % 10 == 5 {
            let res = app.get(&format!("{path}/api-keys/{MISSING_KEY}"), key).await;
            res.error(StatusCode::NOT_FOUND, "NOT_FOUND");
            res
        } else {
            let res = app.get(&path, key).await;
            res.expect(StatusCode::OK);
            res
        };
        assert_rate_headers(&res, 100, remaining);
    }

    // Then every key is refused, and refusals use nothing up: the reset stays put and
    // Retry-After only shrinks.
    let mut first: Option<(i64, i64)> = None;
    for key in keys.iter().chain(&keys) {
        let (reset, retry) = assert_limited(&app.get(&path, key).await, 100);
        if let Some((first_reset, first_retry)) = first {
            assert_eq!(reset, first_reset, "the window's reset moved");
            assert!(retry <= first_retry, "Retry-After grew from {first_retry} to {retry}");
        }
        first.get_or_insert((reset, retry));
    }
    let res = app.post_json("/api/v1/projects", &owner, &json!({"name": "refused"})).await;
    assert_limited(&res, 100);
    // Other accounts are not affected.
    let res = app.get(&path, app.admin_key()).await;
    res.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    assert_no_rate_headers(&res);
}

async fn other_plans_get_their_limits_and_unlimited_accounts_no_headers(backend: Backend) {
    within_one_rate_window().await;
    let app = TestApp::spawn(backend).await;
    let (_, five) = account(&app, "enterprise", &["--limit", "5"]).await;
    for remaining in (0..5).rev() {
        let res = app.get("/api/v1/projects", &five).await;
        res.expect(StatusCode::OK);
        assert_rate_headers(&res, 5, remaining);
    }
    assert_limited(&app.get("/api/v1/projects", &five).await, 5);
    assert_limited(&app.post_json("/api/v1/projects", &five, &json!({"name": "x"})).await, 5);

    let (_, pro) = account(&app, "pro", &[]).await;
    let res = app.get("/api/v1/projects", &pro).await;
    res.expect(StatusCode::OK);
    assert_rate_headers(&res, 1000, 999);

    let (_, unlimited) = account(&app, "enterprise", &[]).await;
    let admin = app.admin_key().to_owned();
    for key in [&unlimited, &admin] {
        let res = app.post_json("/api/v1/projects", key, &json!({"name": "mine"})).await;
        res.expect(StatusCode::CREATED);
        assert_no_rate_headers(&res);
        let path = format!("/api/v1/projects/{}", res.body["id"].as_str().expect("id"));
        for _ in 0..3 {
            let res = app.get(&path, key).await;
            res.expect(StatusCode::OK);
            assert_no_rate_headers(&res);
        }
        let res = app.get(&format!("{path}/api-keys/{MISSING_KEY}"), key).await;
        res.error(StatusCode::NOT_FOUND, "NOT_FOUND");
        assert_no_rate_headers(&res);
    }
}

/// The usage events of an account, as `type|count` lines in type order.
fn usage_events(app: &TestApp, account_id: &str) -> String {
    app.sql(&format!(
        "SELECT type, count(*) FROM events WHERE account_id = '{account_id}' AND type LIKE 'usage.%' \
         GROUP BY type ORDER BY type"
    ))
}

/// Polls the events table until `done(rows)`; returns the rows.
pub(crate) async fn events_until(app: &TestApp, account_id: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + FLUSH_DEADLINE;
    loop {
        let rows = usage_events(app, account_id);
        if done(&rows) {
            return rows;
        }
        assert!(Instant::now() < deadline, "usage events after {FLUSH_DEADLINE:?}: {rows:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) const BOTH_ALERTS_ONCE: &str = "usage.limit_exceeded|1\nusage.threshold_reached|1";

async fn usage_alerts_are_emitted_once_per_window(backend: Backend) {
    within_one_rate_window().await;
    let app = TestApp::spawn(backend).await;
    let (account_id, key) = account(&app, "free", &[]).await;
    for _ in 0..100 {
        app.get("/api/v1/projects", &key).await.expect(StatusCode::OK);
    }
    // 80 % was crossed; nothing was refused yet.
    let rows = events_until(&app, &account_id, |rows| rows.contains("usage.threshold_reached")).await;
    assert_eq!(rows, "usage.threshold_reached|1", "before any refusal");
    for _ in 0..50 {
        assert_limited(&app.get("/api/v1/projects", &key).await, 100);
    }
    let rows = events_until(&app, &account_id, |rows| rows.contains("usage.limit_exceeded")).await;
    assert_eq!(rows, BOTH_ALERTS_ONCE, "after 150 requests");
}

/// Sends `n` requests of `key` spread evenly over `apps`, 32 at a time.
async fn spread(apps: &[&TestApp], key: &str, n: usize) -> Vec<Resp> {
    futures::stream::iter(0..n)
        .map(|i| apps[i % apps.len()].get("/api/v1/projects", key))
        .buffer_unordered(32)
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_admit_at_most_the_limit_between_them() {
    within_one_rate_window().await;
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = a.spawn_sibling().await;
    let (_, key) = account(&a, "free", &[]).await;
    let mut admitted = 0;
    for res in &spread(&[&a, &b], &key, 300).await {
        if res.status == StatusCode::TOO_MANY_REQUESTS {
            assert_limited(res, 100);
        } else {
            res.expect(StatusCode::OK);
            let remaining: u64 = res.header("x-ratelimit-remaining").and_then(|r| r.parse().ok()).expect("remaining");
            assert!(remaining < 100, "remaining {remaining}");
            assert_rate_headers(res, 100, remaining);
            admitted += 1;
        }
    }
    assert!(admitted <= 100, "two instances admitted {admitted} requests; the bound is the limit, 100");
    assert!(admitted >= 95, "two instances admitted only {admitted} of the limit of 100");
    assert_limited(&a.get("/api/v1/projects", &key).await, 100);
    assert_limited(&b.get("/api/v1/projects", &key).await, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_alerts_are_emitted_once_across_two_instances() {
    within_one_rate_window().await;
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = a.spawn_sibling().await;
    let (account_id, key) = account(&a, "free", &[]).await;
    spread(&[&a, &b], &key, 150).await;
    let rows = events_until(&a, &account_id, |rows| rows.lines().count() == 2).await;
    assert_eq!(rows, BOTH_ALERTS_ONCE, "after 150 requests over two instances");
}

async fn a_clean_shutdown_keeps_every_buffered_usage_record(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let project = app.project("kept").await;
    let (key_id, key) = app.key(&project, &["read"]).await;
    let path = format!("/api/v1/projects/{project}");
    for _ in 0..20 {
        app.get(&path, &key).await.expect(StatusCode::OK);
    }
    assert!(app.restart().await.success(), "the server stops cleanly on SIGTERM");
    // No polling: a clean stop flushed everything before the process exited.
    let res = app.get(&format!("{path}/analytics?{}", around_now("hour", Some(&key_id))), app.admin_key()).await;
    res.expect(StatusCode::OK);
    check_answer(&res.body, "hour");
    assert_eq!(counts(&res.body["totals"]), [20, 0, 0], "{}", res.text);
}
