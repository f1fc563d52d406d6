//! The remote VLM backend against a chat-completions server started here (the OpenAI request
//! and response schema, over loopback): `neko-agent run` clicks the sandbox room's red region
//! through it, the server checks what it receives (image, prompt, model, headers), and every
//! failure (401, 429, 5xx, timeouts, malformed answers, a closed port) ends clearly and quickly.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use common::agent_run::{finish, run_command, text};
use common::nginx::Nginx;
use gstneko::client::Trust;
use neko_agent::agent::{History, Mode, NavPrompt};
use neko_agent::frame::RgbImage;
use neko_agent::remote::{
    ImageFormat, RemoteError, RemoteSettings, RemoteVlm, ResponseError, chat_completions_url,
};
use neko_sandbox::RoomConfig;
use neko_sandbox::testing::TestRoom;
use neko_sandbox::testing::ca::TestCa;
use serde_json::{Value, json};

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Value,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The text parts of the (only) user message, in order.
    fn texts(&self) -> Vec<String> {
        self.parts("text")
            .iter()
            .map(|p| p["text"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The image data URLs sent.
    fn image_urls(&self) -> Vec<String> {
        self.parts("image_url")
            .iter()
            .map(|p| p["image_url"]["url"].as_str().unwrap().to_owned())
            .collect()
    }

    fn parts(&self, kind: &str) -> Vec<Value> {
        self.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|m| m["content"].as_array().unwrap().clone())
            .filter(|p| p["type"] == kind)
            .collect()
    }
}

/// What the server does with request number `n` (from 1).
enum Scripted {
    Reply {
        status: StatusCode,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Answers nothing for this long.
    Hang(Duration),
}

type Script = Arc<dyn Fn(usize, &Received) -> Scripted + Send + Sync>;

#[derive(Clone)]
struct Server {
    received: Arc<Mutex<Vec<Received>>>,
    script: Script,
}

impl Server {
    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn completions(State(server): State<Server>, headers: HeaderMap, body: Bytes) -> Response {
    let received = Received {
        headers,
        body: serde_json::from_slice(&body).expect("the agent sends JSON"),
    };
    let n = {
        let mut all = server.received.lock().unwrap();
        all.push(received.clone());
        all.len()
    };
    match (server.script)(n, &received) {
        Scripted::Reply {
            status,
            headers,
            body,
        } => {
            let mut response = (status, body).into_response();
            for (name, value) in headers {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            response
        }
        Scripted::Hang(duration) => {
            tokio::time::sleep(duration).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}

/// Starts the server on loopback; it answers `POST /v1/chat/completions` by `script`.
async fn serve(
    script: impl Fn(usize, &Received) -> Scripted + Send + Sync + 'static,
) -> (SocketAddr, Server) {
    let server = Server {
        received: Arc::default(),
        script: Arc::new(script),
    };
    let app = axum::Router::new()
        .route("/v1/chat/completions", axum::routing::post(completions))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (address, server)
}

fn completion(content: &str) -> Scripted {
    Scripted::Reply {
        status: StatusCode::OK,
        headers: vec![("content-type", "application/json".into())],
        body: json!({
            "id": "gen-1",
            "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
        })
        .to_string(),
    }
}

fn status(code: u16, body: &str) -> Scripted {
    Scripted::Reply {
        status: StatusCode::from_u16(code).unwrap(),
        headers: Vec::new(),
        body: body.into(),
    }
}

/// The API key of the end-to-end run, searched for in its trace-level output.
const SECRET_KEY: &str = "sk-test-7Yq2-never-logged";

const CLICK_RED: &str = "{'action': 'CLICK', 'value': None, 'position': [0.13, 0.24]}";

/// Decodes a JPEG data URL: width, height and RGB pixels.
fn decode_jpeg(url: &str) -> (u32, u32, Vec<u8>) {
    let encoded = url
        .strip_prefix("data:image/jpeg;base64,")
        .expect("a JPEG data URL");
    let file = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("base64");
    let mut decoder = jpeg_decoder::Decoder::new(&file[..]);
    let pixels = decoder.decode().expect("a JPEG");
    let info = decoder.info().unwrap();
    (u32::from(info.width), u32::from(info.height), pixels)
}

// ---- `neko-agent run` through the remote backend -------------------------------------------

/// `neko-agent run` on `room` with the remote backend at `endpoint`.
fn agent(room: &str, endpoint: &str, args: &[&str]) -> Command {
    let mut command = run_command(room);
    command
        .args(args)
        .env("NEKO_AGENT_TYPE", "qwen3vl")
        .env("OPENROUTER_BASE_URL", endpoint)
        .env("OPENROUTER_API_KEY", "test-key")
        .env("OPENROUTER_MODEL", "test/vlm")
        .env("OPENROUTER_SITE_URL", "https://agent.example")
        .env("OPENROUTER_APP_NAME", "Neko Test")
        .env("OPENROUTER_TIMEOUT", "5")
        .env("OPENROUTER_MAX_RETRIES", "1")
        .env("NEKO_REMOTE_BACKOFF", "0.05")
        .env("NEKO_REMOTE_IMAGE_EDGE", "320")
        .env_remove("CLAUDE_MODEL");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn run_through_a_remote_model_clicks_the_red_region_then_answers() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let (address, server) = serve(|_, request| {
        let later = request
            .texts()
            .iter()
            .any(|t| t.starts_with("Action history:"));
        if later {
            completion("<think>the box opened</think>{'action': 'ANSWER', 'value': 'done', 'position': None}")
        } else {
            completion(&format!("<think>the red box is at the top left</think>{CLICK_RED}"))
        }
    })
    .await;
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let output = finish(
        agent(
            &room.base_url(),
            &format!("http://{address}/v1"),
            &["--task", "Open the red box"],
        )
        .env("OPENROUTER_API_KEY", SECRET_KEY)
        .env("NEKO_LOGLEVEL", "trace")
        .spawn()
        .unwrap(),
    )
    .await;
    let report = text(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(report.contains("answer after 2 step(s): done"), "{report}");
    assert!(!report.contains(SECRET_KEY), "the key is never logged");
    assert!(
        report.contains(&format!(
            "model: remote test/vlm at http://{address}/v1/chat/completions"
        )),
        "{report}"
    );

    let desktop = room.media().unwrap().desktop();
    let red = desktop.lock().unwrap().region("red").unwrap();
    assert!(red.clicked, "{red:?}\n{report}");
    let chat: Vec<String> = room.chat_messages().into_iter().map(|c| c.text).collect();
    assert!(
        chat.iter()
            .any(|t| t == "[agent] [thinking] the red box is at the top left"),
        "the reasoning goes to chat, <think> tags removed: {chat:?}"
    );
    assert!(chat.iter().any(|t| t == "Answer: done"), "{chat:?}");

    let received = server.received();
    assert_eq!(received.len(), 2, "{report}");
    let prompt = NavPrompt::new(Mode::Web);
    for (i, request) in received.iter().enumerate() {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {SECRET_KEY}").as_str())
        );
        assert_eq!(
            request.header("http-referer"),
            Some("https://agent.example")
        );
        assert_eq!(request.header("x-title"), Some("Neko Test"));
        assert_eq!(request.header("content-type"), Some("application/json"));
        let body = &request.body;
        assert_eq!(body["model"], "test/vlm");
        assert_eq!(body["max_tokens"], 512);
        assert_eq!(body["temperature"], 0.0);
        assert_eq!(body["top_p"], 1.0);
        assert_eq!(body["reasoning"], json!({"enabled": true}));
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["role"], "user");
        let texts = request.texts();
        assert_eq!(texts[0], prompt.system_text());
        assert_eq!(texts[1], "Task: Open the red box");
        if i == 1 {
            assert!(texts[2].starts_with("Action history: ["), "{texts:?}");
            assert!(texts[2].contains("CLICK"), "{texts:?}");
        }
        let images = request.image_urls();
        assert_eq!(images.len(), 1);
        let (width, height, pixels) = decode_jpeg(&images[0]);
        assert_eq!(
            (width, height),
            (320, 180),
            "the longest edge is NEKO_REMOTE_IMAGE_EDGE"
        );
        if i == 0 {
            // The frame itself: the red box is where the model is told to click.
            let (x, y) = ((0.13 * 320.0) as usize, (0.24 * 180.0) as usize);
            let p = &pixels[(y * 320 + x) * 3..][..3];
            assert!(
                p[0] > p[1].saturating_add(60) && p[0] > p[2].saturating_add(60),
                "{p:?}"
            );
        }
    }
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn a_refused_key_ends_the_run_with_status_2_and_says_why() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let (address, server) = serve(|_, _| {
        status(
            401,
            r#"{"error":{"message":"No auth credentials found","code":401}}"#,
        )
    })
    .await;
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let output = finish(
        agent(
            &room.base_url(),
            &format!("http://{address}/v1/chat/completions"),
            &["--task", "Open the red box"],
        )
        .spawn()
        .unwrap(),
    )
    .await;
    let report = text(&output);
    assert_eq!(output.status.code(), Some(2), "{report}");
    assert!(
        report.contains(&format!(
            "http://{address} refused the request (401: No auth credentials found); check OPENROUTER_API_KEY"
        )),
        "{report}"
    );
    assert_eq!(server.received().len(), 1, "a refused key is not retried");
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn an_unparseable_remote_answer_costs_the_step_as_with_the_local_model() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let (address, server) = serve(|_, _| completion("I cannot do that.")).await;
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let output = finish(
        agent(
            &room.base_url(),
            &format!("http://{address}/v1"),
            &["--task", "anything", "--max-steps", "2"],
        )
        .spawn()
        .unwrap(),
    )
    .await;
    let report = text(&output);
    assert_eq!(output.status.code(), Some(4), "{report}");
    assert!(report.contains("model output rejected"), "{report}");
    assert!(report.contains("no answer after 2 steps"), "{report}");
    assert_eq!(server.received().len(), 2, "one call per step");
    assert!(
        !room
            .inputs()
            .iter()
            .any(|i| i.event.starts_with("control/button")),
        "nothing may be clicked"
    );
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn a_server_down_for_good_ends_the_run_with_status_1_after_its_retries() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let (address, server) = serve(|_, _| status(503, "maintenance")).await;
    let room = TestRoom::start(RoomConfig::loopback(640, 360, 15)).await;
    let output = finish(
        agent(
            &room.base_url(),
            &format!("http://{address}/v1"),
            &["--task", "anything"],
        )
        .spawn()
        .unwrap(),
    )
    .await;
    let report = text(&output);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        report.contains(&format!(
            "error: the remote model failed: http://{address} answered 503 (maintenance) on all 2 attempt(s); gave up"
        )),
        "{report}"
    );
    assert_eq!(
        server.received().len(),
        2,
        "1 attempt + OPENROUTER_MAX_RETRIES=1"
    );
    room.shutdown().await;
}

#[test]
fn healthcheck_checks_the_remote_settings_without_a_model_or_a_call() {
    let healthcheck = |ca_file: Option<&str>| {
        let mut command = agent("", "http://127.0.0.1:9/v1", &["--healthcheck"]);
        command
            .env_remove("NEKO_URL")
            .env_remove("NEKO_CA_FILE")
            .env("NEKO_MODEL_DIR", "/nonexistent/model");
        if let Some(path) = ca_file {
            command.env("NEKO_CA_FILE", path);
        }
        command.output().unwrap()
    };
    let output = healthcheck(None);
    let report = text(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(report.contains("ok"), "{report}");
    let output = healthcheck(Some("/nonexistent/ca.pem"));
    let report = text(&output);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        report.contains("--ca-file/NEKO_CA_FILE: cannot read the CA file /nonexistent/ca.pem"),
        "{report}"
    );
}

#[test]
fn bad_remote_settings_are_all_reported_with_status_2() {
    let output = agent("http://127.0.0.1:9", "https://openrouter.ai/api/v1", &[])
        .env_remove("OPENROUTER_API_KEY")
        .env("OPENROUTER_MODEL", "no-vendor")
        .env("OPENROUTER_TEMPERATURE", "2.5")
        .env("OPENROUTER_TOP_P", "-1")
        .env("OPENROUTER_TIMEOUT", "0")
        .env("OPENROUTER_REASONING_EFFORT", "max")
        .output()
        .unwrap();
    let report = text(&output);
    assert_eq!(output.status.code(), Some(2), "{report}");
    for problem in [
        "OPENROUTER_API_KEY/--remote-api-key is required for openrouter.ai",
        "OPENROUTER_MODEL/--remote-model must name the vendor",
        "OPENROUTER_TEMPERATURE/--remote-temperature must be between 0 and 2",
        "OPENROUTER_TOP_P/--remote-top-p must be between 0 and 1",
        "OPENROUTER_TIMEOUT/--remote-timeout must be a positive number",
        "OPENROUTER_REASONING_EFFORT/--remote-reasoning-effort must be",
    ] {
        assert!(report.contains(problem), "{problem}: {report}");
    }
}

// ---- the client's failures, one call each ---------------------------------------------------

fn settings(address: SocketAddr, max_retries: u32, timeout: Duration) -> RemoteSettings {
    RemoteSettings {
        url: chat_completions_url(&format!("http://{address}/v1")).unwrap(),
        api_key: Some("test-key".into()),
        model: "test/vlm".into(),
        site_url: None,
        app_name: "Neko Test".into(),
        max_tokens: 64,
        temperature: 0.0,
        top_p: 1.0,
        reasoning: false,
        reasoning_effort: None,
        max_retries,
        timeout,
        backoff: Duration::from_millis(50),
        image_edge: 64,
        image_format: ImageFormat::Png,
    }
}

/// One model call on a small frame, trusting the system's roots.
async fn call(settings: RemoteSettings) -> Result<neko_agent::remote::RemoteReply, RemoteError> {
    call_trusting(settings, &Trust::system()).await
}

/// One model call on a small frame, trusting `trust`.
async fn call_trusting(
    settings: RemoteSettings,
    trust: &Trust,
) -> Result<neko_agent::remote::RemoteReply, RemoteError> {
    let client = RemoteVlm::new(settings, trust).unwrap();
    let rgb = vec![90u8; 96 * 54 * 3];
    let messages = NavPrompt::new(Mode::Web).messages("Open the red box", &History::new());
    let request = client
        .prepare(
            &RgbImage {
                width: 96,
                height: 54,
                data: rgb.clone(),
            },
            &messages,
        )
        .unwrap();
    client.complete(request).await
}

const SHORT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after_then_answers() {
    let (address, server) = serve(|n, _| {
        if n == 1 {
            Scripted::Reply {
                status: StatusCode::TOO_MANY_REQUESTS,
                headers: vec![("retry-after", "1".into())],
                body: r#"{"error":{"message":"Rate limit exceeded"}}"#.into(),
            }
        } else {
            completion(CLICK_RED)
        }
    })
    .await;
    let started = Instant::now();
    let reply = call(settings(address, 2, SHORT)).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    assert_eq!(reply.answer.text, CLICK_RED);
    assert_eq!(reply.timings.attempts, 2);
    let received = server.received();
    assert_eq!(received.len(), 2);
    // PNG when asked for, scaled to the 64-pixel edge.
    assert!(received[0].image_urls()[0].starts_with("data:image/png;base64,"));
    assert!(received[0].body.get("reasoning").is_none(), "reasoning off");
    assert!(received[0].headers.get("http-referer").is_none());
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_answer() {
    let (address, server) = serve(|n, _| match n {
        1 => status(503, "upstream unavailable"),
        2 => status(502, r#"{"error":{"message":"bad gateway"}}"#),
        _ => completion(CLICK_RED),
    })
    .await;
    let reply = call(settings(address, 3, SHORT)).await.unwrap();
    assert_eq!(reply.answer.text, CLICK_RED);
    assert_eq!(reply.timings.attempts, 3);
    assert_eq!(server.received().len(), 3);
}

#[tokio::test]
async fn server_errors_forever_give_up_after_the_configured_retries() {
    let (address, server) = serve(|_, _| status(500, r#"{"error":{"message":"boom"}}"#)).await;
    let error = call(settings(address, 2, SHORT)).await.unwrap_err();
    assert!(
        matches!(
            error,
            RemoteError::Status {
                status: 500,
                attempts: 3,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "http://{address} answered 500 (boom) on all 3 attempt(s); gave up (OPENROUTER_MAX_RETRIES)"
        )
    );
    assert_eq!(
        server.received().len(),
        3,
        "1 attempt + OPENROUTER_MAX_RETRIES=2"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_on_every_attempt_then_says_so() {
    let (address, server) = serve(|_, _| Scripted::Hang(Duration::from_secs(30))).await;
    let started = Instant::now();
    let error = call(settings(address, 1, Duration::from_millis(300)))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "no hang");
    assert!(
        matches!(error, RemoteError::Timeout { attempts: 2, .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("did not answer within 0.3 s (OPENROUTER_TIMEOUT) on all 2 attempt(s)"),
        "{error}"
    );
    assert_eq!(server.received().len(), 2);
}

#[tokio::test]
async fn malformed_answers_are_not_retried_and_name_the_server() {
    for (body, expected) in [
        ("<html>Bad Gateway</html>", "the answer is not JSON"),
        (r#"{"object":"list","data":[]}"#, "has no choices[0]"),
    ] {
        let (address, server) = serve(move |_, _| status(200, body)).await;
        let error = call(settings(address, 3, SHORT)).await.unwrap_err();
        assert!(
            matches!(
                error,
                RemoteError::Malformed {
                    source: ResponseError::NotJson { .. } | ResponseError::NoChoices,
                    ..
                }
            ),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "http://{address} is not an OpenAI-compatible chat-completions endpoint"
            )) && message.contains(expected),
            "{message}"
        );
        assert_eq!(server.received().len(), 1, "not retried");
    }
}

#[tokio::test]
async fn a_closed_port_is_retried_then_explained() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let error = call(settings(address, 1, SHORT)).await.unwrap_err();
    assert!(
        matches!(error, RemoteError::Unreachable { attempts: 2, .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with(&format!("cannot reach http://{address} (")),
        "{error}"
    );
}

#[tokio::test]
async fn an_oversized_answer_is_refused() {
    let (address, _server) = serve(|_, _| completion(&"x".repeat(5 << 20))).await;
    let error = call(settings(address, 0, SHORT)).await.unwrap_err();
    assert!(matches!(error, RemoteError::TooLarge { .. }), "{error:?}");
}

#[tokio::test]
async fn other_client_errors_are_not_retried_and_hint_at_the_fix() {
    let (address, server) = serve(|_, _| status(404, r#"{"detail":"Not Found"}"#)).await;
    let error = call(settings(address, 3, SHORT)).await.unwrap_err();
    assert!(error.is_settings());
    assert!(
        error
            .to_string()
            .contains("rejected the request (404: Not Found); check OPENROUTER_BASE_URL"),
        "{error}"
    );
    assert_eq!(server.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_endpoints_trust_the_ca_file_and_refuse_unknown_issuers() {
    let (upstream, server) = serve(|_, _| completion(CLICK_RED)).await;
    let ca = TestCa::generate();
    let nginx = tokio::task::spawn_blocking(move || {
        let cert = ca.server_cert("vlm", "IP:127.0.0.1");
        (Nginx::start("/", upstream, &cert), ca)
    });
    let (nginx, ca) = nginx.await.unwrap();
    let mut https = settings(upstream, 0, SHORT);
    https.url = chat_completions_url(&format!("https://127.0.0.1:{}/v1", nginx.port)).unwrap();

    let trusted = Trust::with_ca_file(&ca.cert).unwrap();
    let reply = call_trusting(https.clone(), &trusted).await.unwrap();
    assert_eq!(reply.answer.text, CLICK_RED);
    assert_eq!(server.received().len(), 1);

    let error = call(https).await.unwrap_err();
    assert!(matches!(error, RemoteError::Tls(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("certificate is not trusted (UnknownIssuer)"),
        "{error}"
    );
    assert_eq!(
        server.received().len(),
        1,
        "a refused certificate is not retried"
    );
}
