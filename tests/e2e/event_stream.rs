//! The live event stream (`GET .../events/stream`, Server-Sent Events) and `tengine
//! listen`, which forwards it to a local receiver signed as webhook deliveries.

use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use crate::helpers::{binary, Backend, TestApp};
use crate::receiver::Receiver;

both!(
    the_stream_sends_each_new_event_and_resumes_after_last_event_id,
    the_stream_refuses_what_the_event_log_refuses_before_it_starts,
    tengine_listen_forwards_each_event_signed_as_a_webhook_delivery,
);

/// How long an event may take to come through a stream.
const ARRIVAL: Duration = Duration::from_secs(5);

/// One SSE message: `(id, event, data)`.
type Message = (String, String, Value);

/// Opens the stream and hands its messages to the returned channel, as they come.
async fn open(app: &TestApp, project: &str, last_event_id: Option<&str>) -> mpsc::UnboundedReceiver<Message> {
    let mut request = app
        .client()
        .get(format!("{}/api/v1/projects/{project}/events/stream", app.base_url()))
        .bearer_auth(app.admin_key());
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let mut response = request.send().await.expect("the stream opens");
    assert_eq!(response.status(), StatusCode::OK);
    let kind = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut text = String::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = text.find("\n\n") {
                let block: String = text.drain(..end + 2).collect();
                let field =
                    |name: &str| block.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim_start().to_owned());
                // Comments (keep-alives) carry no data.
                if let (Some(id), Some(event), Some(data)) = (field("id:"), field("event:"), field("data:")) {
                    let data = serde_json::from_str(&data).expect("data is JSON");
                    if tx.send((id, event, data)).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Message>) -> Message {
    tokio::time::timeout(ARRIVAL, rx.recv()).await.expect("an event within 5 s").expect("the stream is open")
}

async fn the_stream_sends_each_new_event_and_resumes_after_last_event_id(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let project = app.project("streamed").await;
    let mut live = open(&app, &project, None).await;
    let (key_id, _) = app.key(&project, &["read"]).await;
    let (id, event, data) = next(&mut live).await;
    assert_eq!(event, "api_key.created", "only what happened after the stream began");
    assert_eq!(data["id"], id.as_str(), "the message id is the event id");
    assert_eq!((data["type"].as_str(), data["data"]["id"].as_str()), (Some("api_key.created"), Some(key_id.as_str())));
    let listed = app.get(&format!("/api/v1/projects/{project}/events"), app.admin_key()).await;
    assert_eq!(listed.body["data"][0], data, "the data is the envelope the log and deliveries carry");

    app.patch_json(&format!("/api/v1/projects/{project}"), app.admin_key(), &json!({"name": "renamed"}))
        .await
        .expect(StatusCode::OK);
    let (updated, kind, _) = next(&mut live).await;
    assert_eq!(kind, "project.updated");

    // Resuming after the first event replays everything since, in order.
    let created = listed.body["data"][1]["id"].as_str().expect("the project.created event").to_owned();
    let mut resumed = open(&app, &project, Some(&created)).await;
    assert_eq!(next(&mut resumed).await.0, id);
    assert_eq!(next(&mut resumed).await.0, updated);

    // A stop does not wait for open streams.
    let started = Instant::now();
    assert!(app.stop().await.success());
    assert!(started.elapsed() < Duration::from_secs(4), "the server took {:?} to stop", started.elapsed());
}

async fn the_stream_refuses_what_the_event_log_refuses_before_it_starts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("guarded").await;
    let path = format!("/api/v1/projects/{project}/events/stream");
    let auth = format!("Bearer {}", app.admin_key());
    for last in ["garbage", "evt_0000000000000000000001"] {
        let headers = [("authorization", auth.as_str()), ("last-event-id", last)];
        let res = app.send(reqwest::Method::GET, &path, &headers, None).await;
        let field = &res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"];
        assert_eq!(field, "Last-Event-ID", "{last}: {}", res.text);
    }
    app.get(&path, "").await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
    let (_, writer) = app.key(&project, &["write"]).await;
    app.get(&path, &writer).await.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");
    let missing = "/api/v1/projects/proj_0000000000000000000001/events/stream";
    app.get(missing, app.admin_key()).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    let odd = app.get(&format!("{path}?type=project.created"), app.admin_key()).await;
    assert!(odd.status.is_client_error(), "an unknown parameter is refused: {}", odd.text);
}

async fn tengine_listen_forwards_each_event_signed_as_a_webhook_delivery(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("local development").await;
    let receiver = Receiver::start().await;
    let listen = |key: &str| {
        let mut cmd = tokio::process::Command::new(binary());
        cmd.env_clear()
            .env("TENGINE_API_KEY", key)
            .args(["listen", "--project", &project, "--server", app.base_url(), "--forward-to", &receiver.url()])
            .args(["--events", "api_key.created,api_key.revoked"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd.spawn().expect("tengine listen starts")
    };
    let mut child = listen(app.admin_key());
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next_line().await.expect("read").expect("a first line");
    let started: Value = serde_json::from_str(&first).expect("JSON");
    let secret = started["secret"].as_str().expect("the signing secret is printed once").to_owned();
    assert!(secret.starts_with("whsec_"), "{started}");
    // The stream is open once the server has answered it; give it a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (key_id, _) = app.key(&project, &["read"]).await;
    app.patch_json(&format!("/api/v1/projects/{project}"), app.admin_key(), &json!({"name": "filtered out"}))
        .await
        .expect(StatusCode::OK);
    app.delete(&format!("/api/v1/projects/{project}/api-keys/{key_id}"), app.admin_key()).await;
    let got = receiver.wait_for(2, ARRIVAL).await;
    let header = |i: usize| {
        let r = got[i].clone();
        move |name: &str| r.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    };
    for (i, kind) in [(0, "api_key.created"), (1, "api_key.revoked")] {
        let h = header(i);
        let owned: Vec<(String, Option<String>)> =
            ["webhook-id", "webhook-timestamp", "webhook-signature", "x-tengine-signature"]
                .iter()
                .map(|n| ((*n).to_owned(), h(n)))
                .collect();
        let lookup = |name: &str| owned.iter().find(|(n, _)| n == name).and_then(|(_, v)| v.as_deref());
        let event =
            tengineai::webhooks::verify(&got[i].body, lookup, &secret, 300).expect("signed with the printed secret");
        assert_eq!(event.kind, kind);
        assert_eq!(got[i].event_type(), kind);
        assert_eq!(got[i].json()["data"]["id"], key_id.as_str());
        assert_eq!(got[i].header("content-type"), "application/json");
    }
    let forwarded: Value =
        serde_json::from_str(&lines.next_line().await.expect("read").expect("a line")).expect("JSON");
    assert_eq!((forwarded["type"].as_str(), forwarded["status"].as_u64()), (Some("api_key.created"), Some(200)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.count(), 2, "project.updated was not asked for");
    child.kill().await.expect("stop listen");

    // A key the server refuses stops it at once, saying why.
    let refused = listen("tng_not_a_valid_key").wait_with_output().await.expect("it exits");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"), "{}", String::from_utf8_lossy(&refused.stderr));
}
