//! A storm of concurrent idempotent POSTs: 1,000 project creations over 100
//! `Idempotency-Key`s, ten concurrent duplicates each, create exactly 100 projects, and
//! every duplicate replays the first answer byte for byte.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;

use super::support::{ms, tally, timed, Call, Outcome};
use crate::helpers::{Backend, TestApp};

both!(a_thousand_concurrent_idempotent_posts_create_exactly_one_project_per_key);

/// Distinct idempotency keys.
const KEYS: usize = 100;
/// Requests per key.
const COPIES: usize = 10;
/// Requests in flight at once.
const IN_FLIGHT: usize = 100;
/// A duplicate may give up with `IDEMPOTENCY_KEY_IN_USE` only after waiting this long.
const WAIT: Duration = Duration::from_secs(10);

async fn a_thousand_concurrent_idempotent_posts_create_exactly_one_project_per_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
    let url = Arc::new(format!("{}/api/v1/projects", app.base_url()));
    let admin = Arc::new(app.admin_key().to_owned());
    let t0 = Instant::now();
    // Key-major order: the ten copies of a key are in flight together.
    let calls: Vec<(usize, Call)> = futures::stream::iter((0..KEYS).flat_map(|k| (0..COPIES).map(move |c| (k, c))))
        .map(|(k, c)| {
            let (client, url, admin) = (client.clone(), url.clone(), admin.clone());
            async move {
                let req = client
                    .post(url.as_str())
                    .bearer_auth(admin.as_str())
                    .header("idempotency-key", format!("key-{k}"))
                    .header("content-type", "application/json")
                    .body(format!(r#"{{"name": "idem-{k}"}}"#));
                (k, timed(req, t0, c, format!("key-{k} copy {c}")).await)
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let elapsed = t0.elapsed();

    let mut firsts: BTreeMap<usize, Vec<&Call>> = BTreeMap::new();
    let mut replays: Vec<(usize, &Call)> = Vec::new();
    let mut in_use = Vec::new();
    let mut problems = Vec::new();
    for (k, call) in &calls {
        let latency = call.done - call.sent;
        match &call.outcome {
            Outcome::Answered { status: 201, replayed: None, .. } => firsts.entry(*k).or_default().push(call),
            Outcome::Answered { status: 201, replayed: Some(r), .. } if r == "true" => replays.push((*k, call)),
            Outcome::Answered { status: 409, text, .. } if text.contains("IDEMPOTENCY_KEY_IN_USE") => {
                if latency < WAIT {
                    problems.push(format!("{}: IDEMPOTENCY_KEY_IN_USE after only {latency:?}", call.label));
                }
                in_use.push((call.label.clone(), ms(latency)));
            }
            other => problems.push(format!("{}: {other:?}", call.label)),
        }
    }
    assert!(problems.is_empty(), "{} unexpected answers: {:#?}", problems.len(), &problems[..problems.len().min(10)]);
    let executed_twice: Vec<_> = firsts.iter().filter(|(_, f)| f.len() > 1).map(|(k, f)| (k, f.len())).collect();
    assert!(
        executed_twice.is_empty(),
        "keys answered by more than one original (not replayed) 201: {executed_twice:?}"
    );
    assert_eq!(firsts.len(), KEYS, "every key has exactly one original answer");
    let mut overlapped = 0;
    for (k, replay) in &replays {
        if replay.sent < firsts[k][0].done {
            overlapped += 1;
        }
        let (Outcome::Answered { text: first, .. }, Outcome::Answered { text, .. }) =
            (&firsts[k][0].outcome, &replay.outcome)
        else {
            unreachable!("both are answers");
        };
        assert_eq!(text, first, "{} replays the first answer byte for byte", replay.label);
    }
    for (k, f) in &firsts {
        let Outcome::Answered { text, .. } = &f[0].outcome else { unreachable!("an answer") };
        let body: Value = serde_json::from_str(text).expect("a JSON project");
        assert_eq!(body["name"], format!("idem-{k}"), "{text}");
    }

    let total = app.get("/api/v1/projects?per_page=1", app.admin_key()).await;
    total.expect(StatusCode::OK);
    assert_eq!(total.body["pagination"]["total"], KEYS, "exactly one project per key exists");
    let mut names = BTreeSet::new();
    for page in 1..=KEYS.div_ceil(100) {
        let list = app.get(&format!("/api/v1/projects?per_page=100&page={page}"), app.admin_key()).await;
        list.expect(StatusCode::OK);
        for p in list.body["data"].as_array().expect("data") {
            names.insert(p["name"].as_str().expect("name").to_owned());
        }
    }
    assert_eq!(names, (0..KEYS).map(|k| format!("idem-{k}")).collect::<BTreeSet<_>>(), "one project per name");

    let mut latencies: Vec<u128> = calls.iter().map(|(_, c)| ms(c.done - c.sent)).collect();
    latencies.sort_unstable();
    println!(
        "idempotency ({backend:?}): {} POSTs in {elapsed:?}: {} originals, {} replays ({overlapped} sent while their original was in flight), {} IDEMPOTENCY_KEY_IN_USE {in_use:?}; \
         statuses {:?}; latency ms p50 {} p99 {} max {}",
        calls.len(),
        firsts.len(),
        replays.len(),
        in_use.len(),
        tally(calls.iter().filter_map(|(_, c)| c.status())),
        latencies[latencies.len() / 2],
        latencies[latencies.len() * 99 / 100],
        latencies[latencies.len() - 1]
    );
}
