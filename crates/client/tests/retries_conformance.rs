//! The retry conformance scenarios of `sdks/conformance/retries.json` (the rule is
//! `docs/sdk-retries.md`), played by a scripted HTTP server on loopback.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tengineai::models::CreateProject;
use tengineai::{Error, TengineAI};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Above a wait's upper bound, how late a retry may arrive on a loaded machine.
const SLACK: Duration = Duration::from_millis(1500);
/// Below a wait's lower bound, what timer rounding may shave off.
const EARLY: Duration = Duration::from_millis(2);

struct Seen {
    at: Instant,
    method: String,
    idempotency_key: Option<String>,
}

fn scenarios() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../sdks/conformance/retries.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("read retries.json")).expect("parse retries.json")
}

async fn read_request(stream: &mut TcpStream) -> Option<(String, Option<String>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let method = head.split_whitespace().next().unwrap_or_default().to_owned();
    Some((method, header("idempotency-key")))
}

fn http_date(offset_s: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(offset_s)).format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Serves `responses` in order (the last repeats) and records every request.
async fn scripted_server(doc: Arc<Value>, responses: Vec<Value>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let Some((method, idempotency_key)) = read_request(&mut stream).await else { continue };
            let n = {
                let mut seen = record.lock().expect("lock");
                seen.push(Seen { at: Instant::now(), method, idempotency_key });
                seen.len() - 1
            };
            let answer = &responses[n.min(responses.len() - 1)];
            if answer["reset"].as_bool() == Some(true) {
                drop(stream);
                continue;
            }
            let status = answer["status"].as_u64().expect("status");
            let body = if status < 300 {
                doc["project"].to_string()
            } else {
                let code = doc["error_codes"][status.to_string()].as_str().unwrap_or("INTERNAL_ERROR");
                serde_json::json!({"error": {"code": code, "message": "scripted", "details": {}, "request_id": "req_scripted"}})
                    .to_string()
            };
            let mut head = format!(
                "HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            if let Some(ra) = answer["retry_after"].as_str() {
                head.push_str(&format!("retry-after: {ra}\r\n"));
            }
            if let Some(offset) = answer["retry_after_http_date_offset_s"].as_i64() {
                head.push_str(&format!("retry-after: {}\r\n", http_date(offset)));
            }
            let _ = stream.write_all(format!("{head}\r\n{body}").as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (url, seen)
}

fn ms(v: &Value) -> Duration {
    Duration::from_millis(v.as_u64().expect("milliseconds"))
}

async fn play(doc: Arc<Value>, scenario: &Value) {
    let name = scenario["name"].as_str().expect("name");
    let mut config = doc["defaults"].clone();
    if let Some(over) = scenario["config"].as_object() {
        for (k, v) in over {
            config[k] = v.clone();
        }
    }
    let responses = scenario["responses"].as_array().expect("responses").clone();
    let (url, seen) = scripted_server(doc.clone(), responses).await;
    let client = TengineAI::new("tng_x")
        .expect("client")
        .with_base_url(&url)
        .expect("url")
        .with_retries(
            u32::try_from(config["max_retries"].as_u64().expect("max_retries")).expect("u32"),
            ms(&config["base_delay_ms"]),
        )
        .with_max_retry_delay(ms(&config["max_delay_ms"]));
    let started = Instant::now();
    let call = scenario["call"].as_str().expect("call");
    let result = match call {
        "create_project" => client.projects().create(&CreateProject { name: "x".into(), description: None }).await,
        "retrieve_project" => client.projects().retrieve("proj_1").await,
        other => panic!("unknown call {other}"),
    };
    let elapsed = started.elapsed();
    let expect = &scenario["expect"];
    let seen = seen.lock().expect("lock");

    assert_eq!(seen.len() as u64, expect["attempts"].as_u64().expect("attempts"), "{name}: attempts");
    match (&expect["outcome"], &result) {
        (Value::String(ok), Ok(project)) if ok == "ok" => assert_eq!(project.id, "proj_1", "{name}"),
        (Value::Object(want), Err(Error::Api(api))) => {
            assert_eq!(Some(u64::from(api.status)), want["status"].as_u64(), "{name}: status");
            if let Some(ra) = want.get("retry_after_s") {
                assert_eq!(api.retry_after, ra.as_u64(), "{name}: retry_after");
            }
        }
        (want, got) => panic!("{name}: expected {want}, got {got:?}"),
    }

    let method = doc["calls"][call]["method"].as_str().expect("method");
    let keys: Vec<_> = seen.iter().map(|s| s.idempotency_key.clone()).collect();
    assert!(seen.iter().all(|s| s.method == method), "{name}: method");
    if method == "POST" {
        let key = keys[0].as_deref().expect("a POST carries an Idempotency-Key");
        assert_eq!(uuid::Uuid::parse_str(key).expect("a UUID").get_version_num(), 4, "{name}: UUIDv4");
        assert!(keys.iter().all(|k| k == &keys[0]), "{name}: one key across retries: {keys:?}");
    } else {
        assert!(keys.iter().all(Option::is_none), "{name}: no Idempotency-Key on {method}");
    }

    let waits = expect["waits_ms"].as_array().expect("waits_ms");
    assert_eq!(waits.len() + 1, seen.len().max(1), "{name}: one wait per retry");
    for (i, bounds) in waits.iter().enumerate() {
        let gap = seen[i + 1].at - seen[i].at;
        let (lo, hi) = (ms(&bounds[0]), ms(&bounds[1]));
        assert!(gap + EARLY >= lo, "{name}: retry {} came after {gap:?}, before {lo:?}", i + 1);
        assert!(gap <= hi + SLACK, "{name}: retry {} came after {gap:?}, long after {hi:?}", i + 1);
    }
    if waits.is_empty() {
        assert!(elapsed < ms(&config["max_delay_ms"]), "{name}: failed at once, not after {elapsed:?}");
    }
}

#[tokio::test]
async fn every_retry_scenario_of_the_shared_conformance_file_passes() {
    let doc = Arc::new(scenarios());
    let list = doc["scenarios"].as_array().expect("scenarios").clone();
    assert!(list.len() >= 10, "the conformance file lists its scenarios");
    for scenario in &list {
        play(doc.clone(), scenario).await;
    }
}
