//! The capture and voice endpoints of the service API, served over HTTP on loopback: an episode
//! started and stopped through the API lands in the MDS dataset, speech asked for through the
//! API is heard in the sandbox room, the voices file follows the voice endpoints, and every
//! wrong field is a `400` naming it.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use gstneko::client::{ClientConfig, ClientNotice, NekoClient, Target, wait_for_notice};
use gstneko::protocol::{ChatContent, ClientEvent};
use neko_agent::capture::{CaptureOptions, CaptureSettings, EpisodeZip};
use neko_agent::connection::{ConnectionArgs, SessionSettings};
use neko_agent::mds::{MdsReader, Value as MdsValue};
use neko_agent::service::api::auth::Access;
use neko_agent::service::api::{ApiState, router};
use neko_agent::service::board::Board;
use neko_agent::service::capture::{CaptureEngine, CaptureSetup};
use neko_agent::service::metrics::ServiceMetrics;
use neko_agent::service::rooms::RoomBook;
use neko_agent::service::store::Store;
use neko_agent::service::store::local::LocalStore;
use neko_agent::service::voice::{VoiceEngine, VoiceSetup};
use neko_agent::voice::settings::VoiceArgs;
use neko_sandbox::RoomConfig;
use neko_sandbox::testing::{TestRoom, audio};
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN: &str = "a-test-token-long-enough-to-pass";

/// RMS above which a microphone buffer counts as speech.
const SPEECH: f64 = 0.01;

/// The API on loopback, and the client that talks to it.
struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    /// Serves `state` on a free loopback port behind [`TOKEN`].
    async fn serve(state: ApiState) -> Api {
        let (app, _) = router(Arc::new(state), Access::Token(TOKEN.into()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Api {
            base: format!("http://{address}/api/v1"),
            http: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    /// Asserts that `body` sent to `path` is a `400` naming `field`.
    async fn refused(&self, method: reqwest::Method, path: &str, body: Value, field: &str) {
        let (status, answer) = self.call(method, path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {answer}");
        let fields: Vec<&str> = answer["problems"]
            .as_array()
            .unwrap_or_else(|| panic!("no problems in {answer}"))
            .iter()
            .filter_map(|p| p["field"].as_str())
            .collect();
        assert!(fields.contains(&field), "{body}: {field} not in {answer}");
    }
}

/// The service state without workers, with its task store in `dir`.
fn state(dir: &Path) -> ApiState {
    let (store, _) = LocalStore::open(&dir.join("tasks")).unwrap();
    ApiState::new(
        Arc::new(Board::new(Store::Local(store))),
        Arc::new(ServiceMetrics::default()),
        Arc::new(RoomBook::load(None, ConnectionArgs::default()).unwrap()),
        None,
        false,
    )
}

/// A session logging `username` in to the room at `url`.
fn session(url: &str, username: &str) -> SessionSettings {
    ConnectionArgs {
        neko_url: Some(url.to_owned()),
        username: Some(username.to_owned()),
        password: Some("neko".into()),
        ice_addresses: "127.0.0.1".into(),
        ..ConnectionArgs::default()
    }
    .session()
    .unwrap()
}

/// The voice settings of `neko-agent yap` with its defaults and `voices` as voices directory.
fn voice_args(voices: &Path) -> VoiceArgs {
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        voice: VoiceArgs,
    }
    Cli::try_parse_from([
        "yap",
        "--tts",
        "espeak",
        "--voices-dir",
        voices.to_str().unwrap(),
    ])
    .unwrap()
    .voice
}

/// A fresh scratch directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("service-api-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A person in the room, ready to chat.
async fn join_person(url: &str) -> NekoClient {
    let target = Target::new(url, Some("olga"), Some("neko"), None).unwrap();
    let (client, mut notices) = NekoClient::start(ClientConfig::new(target));
    wait_for_notice(&mut notices, Duration::from_secs(20), |n| {
        matches!(n, ClientNotice::Connected { .. }).then_some(())
    })
    .await
    .expect("the person joins");
    client
}

fn voices_file(voices: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(voices.join("voices.json")).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_engines_the_endpoints_are_unavailable_and_all_need_the_token() {
    let dir = scratch("none");
    let api = Api::serve(state(&dir)).await;
    for (method, path) in [
        (reqwest::Method::GET, "/capture/episodes"),
        (reqwest::Method::GET, "/capture/config"),
        (reqwest::Method::GET, "/voices"),
        (reqwest::Method::DELETE, "/tts/stop"),
    ] {
        let (status, answer) = api.call(method.clone(), path, None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("not configured"),
            "{answer}"
        );
        let anonymous = api
            .http
            .request(method, format!("{}{path}", api.base))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let (status, _) = api.post("/tts/speak", json!({"text": "hello"})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (_, document) = api.get("/openapi.json").await;
    for path in [
        "/api/v1/capture/episodes/{episode_id}",
        "/api/v1/tts/speak",
        "/api/v1/voices/reload",
    ] {
        assert!(
            document["paths"].get(path).is_some(),
            "{path} not documented"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_voice_endpoints_keep_voices_json() {
    let dir = scratch("voices");
    let voices = dir.join("voices");
    let engine = VoiceEngine::new(VoiceSetup::new(
        voice_args(&voices),
        session("http://127.0.0.1:9", "voice"),
    ))
    .unwrap();
    let api = Api::serve(state(&dir).with_voice(Arc::new(engine))).await;
    let post = reqwest::Method::POST;
    let put = reqwest::Method::PUT;

    let (status, list) = api.get("/voices").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["default_voice"], "default");
    assert_eq!(list["voices"][0]["voice_id"], "default");

    let instructor = json!({"voice_id": "instructor", "ref_audio": "espeak:en-us", "ref_text": "Hello.",
        "styles": ["calm"], "params": {"rate": 0.95, "pitch": -1.0}});
    let (status, added) = api.post("/voices", instructor.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["status"], "registered");
    assert_eq!(added["voice_id"], "instructor");
    assert!(added["created_at"].is_string());
    let stored = voices_file(&voices);
    assert_eq!(stored["instructor"]["ref_audio"], "espeak:en-us");
    assert_eq!(stored["instructor"]["params"]["rate"], 0.95);
    assert_eq!(stored["instructor"]["styles"], json!(["calm"]));
    let (status, _) = api.post("/voices", instructor.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let with = |field: &str, value: Value| {
        let mut body = instructor.clone();
        body["voice_id"] = json!("other");
        match field.split_once('.') {
            Some((outer, inner)) => body[outer][inner] = value,
            None => body[field] = value,
        }
        body
    };
    for (field, value) in [
        ("voice_id", json!("")),
        ("voice_id", json!("x".repeat(65))),
        ("voice_id", json!(7)),
        ("ref_audio", json!("/no/such/recording.wav")),
        ("ref_audio", json!("espeak:bad name")),
        ("ref_text", json!("x".repeat(4001))),
        ("styles", json!(vec!["s"; 17])),
        ("styles", json!(["calm", ""])),
        ("params.rate", json!(9.0)),
        ("params.rate", json!("fast")),
        ("params.pitch", json!(30.0)),
        ("params.volume", json!(1.0)),
    ] {
        api.refused(post.clone(), "/voices", with(field, value), field)
            .await;
    }
    let (status, answer) = api
        .post(
            "/voices",
            json!({"voice_id": "x", "ref_audio": "espeak:en", "colour": "red"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer.to_string().contains("unknown field"), "{answer}");

    let (status, got) = api.get("/voices/instructor").await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["params"]["pitch"], -1.0);
    let (status, _) = api.get("/voices/nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, changed) = api
        .put(
            "/voices/instructor",
            json!({"ref_audio": "espeak:en-gb", "params": {"rate": 1.2}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        voices_file(&voices)["instructor"]["ref_audio"],
        "espeak:en-gb"
    );
    assert_eq!(voices_file(&voices)["instructor"]["params"]["rate"], 1.2);
    let (status, _) = api
        .put("/voices/nobody", json!({"ref_audio": "espeak:en"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    api.refused(
        put.clone(),
        "/voices/instructor",
        json!({"ref_audio": "espeak:en", "params": {"pitch": -25}}),
        "params.pitch",
    )
    .await;
    api.refused(
        put.clone(),
        "/voices/instructor",
        json!({"ref_audio": ""}),
        "ref_audio",
    )
    .await;

    let mut edited = voices_file(&voices);
    edited["narrator"] = json!({"ref_audio": "espeak:en-us"});
    edited["broken"] = json!({"ref_text": "no reference"});
    std::fs::write(voices.join("voices.json"), edited.to_string()).unwrap();
    let (status, reloaded) = api.post("/voices/reload", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{reloaded}");
    assert_eq!(reloaded["voices"], 3, "{reloaded}");
    assert!(
        reloaded["warnings"][0].as_str().unwrap().contains("broken"),
        "{reloaded}"
    );
    let (status, _) = api.get("/voices/narrator").await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = api.delete("/voices/instructor").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(voices_file(&voices).get("instructor").is_none());
    assert!(
        voices_file(&voices).get("broken").is_some(),
        "other entries stay as they are"
    );
    let (status, _) = api.delete("/voices/instructor").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Speech requests are checked before the voice joins the room.
    for (body, field) in [
        (json!({"text": ""}), "text"),
        (json!({"text": "x".repeat(20_000)}), "text"),
        (json!({"text": "hi", "voice_id": "nobody"}), "voice_id"),
        (
            json!({"text": "hi", "params": {"rate": 0.0}}),
            "params.rate",
        ),
        (
            json!({"text": "hi", "params": {"pitch": 99}}),
            "params.pitch",
        ),
        (
            json!({"text": "hi", "params": {"speed": 1}}),
            "params.speed",
        ),
        (json!({"text": "hi", "volume": 1}), "volume"),
    ] {
        let (status, answer) = api.post("/tts/speak", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {answer}");
        let text = answer.to_string();
        assert!(text.contains(field), "{body}: {field} not in {answer}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn speech_asked_for_through_the_api_is_heard_in_the_room() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(320, 240, 10)).await;
    let dir = scratch("speech");
    let engine = Arc::new(
        VoiceEngine::new(VoiceSetup::new(
            voice_args(&dir.join("voices")),
            session(&room.base_url(), "voice"),
        ))
        .unwrap(),
    );
    let api = Api::serve(state(&dir).with_voice(engine.clone())).await;
    let heard = || audio::audible_seconds(&room.microphone().heard(), SPEECH);
    let wait_heard = |more_than: f64| async move {
        let deadline = Instant::now() + Duration::from_secs(30);
        while heard() <= more_than {
            assert!(
                Instant::now() < deadline,
                "only {:.2} s of speech heard",
                heard()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };

    let (status, answer) = api
        .post("/tts/speak", json!({"text": "Hello world. This is a test", "voice_id": "default", "params": {"rate": 1.0, "pitch": 0.0}}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer["status"], "speaking");
    assert!(answer["estimated_duration_ms"].as_u64().unwrap() > 0);
    assert!(
        answer["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    wait_heard(0.5).await;

    let (status, _) = api
        .post("/tts/stream/text", json!({"text": "no stream"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = api.post("/tts/stream/stop", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, answer) = api.post("/tts/stream/start", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, _) = api.post("/tts/stream/start", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    api.refused(
        reqwest::Method::POST,
        "/tts/stream/text",
        json!({"text": ""}),
        "text",
    )
    .await;
    let before = heard();
    let (status, answer) = api
        .post(
            "/tts/stream/text",
            json!({"text": "The stream goes on. And it "}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, _) = api
        .post("/tts/stream/text", json!({"text": "ends here"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api.post("/tts/stream/stop", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    wait_heard(before + 0.5).await;

    let (status, answer) = api.delete("/tts/stop").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "stopped");
    engine.close().await;
    let (status, _) = api.post("/tts/speak", json!({"text": "too late"})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn an_episode_started_and_stopped_through_the_api_lands_in_the_dataset() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    common::init();
    let room = TestRoom::start(RoomConfig::loopback(320, 240, 10)).await;
    let dir = scratch("capture");
    let out = dir.join("mds");
    let settings = CaptureSettings::from_options(&CaptureOptions {
        out: out.clone(),
        ..CaptureOptions::default()
    })
    .unwrap();
    let engine = Arc::new(CaptureEngine::new(CaptureSetup::new(
        settings,
        session(&room.base_url(), "capture"),
    )));
    let api = Api::serve(state(&dir).with_capture(engine.clone())).await;
    let post = reqwest::Method::POST;
    let put = reqwest::Method::PUT;

    let (status, config) = api.get("/capture/config").await;
    assert_eq!(status, StatusCode::OK, "{config}");
    assert_eq!(config["episode_defaults"]["fps"], 2.0);
    assert_eq!(config["episode_defaults"]["min_frames"], 4);
    assert_eq!(config["active"], false);
    api.refused(
        put.clone(),
        "/capture/config",
        json!({"jpeg_quality": 50}),
        "jpeg_quality",
    )
    .await;
    api.refused(put.clone(), "/capture/config", json!({"fps": 30.0}), "fps")
        .await;
    api.refused(
        put.clone(),
        "/capture/config",
        json!({"timeout_seconds": 0}),
        "timeout_seconds",
    )
    .await;
    api.refused(
        put.clone(),
        "/capture/config",
        json!({"min_frames": -1}),
        "min_frames",
    )
    .await;
    let (status, config) = api
        .put("/capture/config", json!({"min_frames": 2, "fps": 2.0}))
        .await;
    assert_eq!(status, StatusCode::OK, "{config}");
    assert_eq!(config["episode_defaults"]["min_frames"], 2);

    let task = json!({"task_description": "Open the red box", "neko_session_id": "any-session_1",
        "capture_options": {"fps": 2.0, "jpeg_quality": 85, "timeout_seconds": 600}});
    let with = |field: &str, value: Value| {
        let mut body = task.clone();
        match field.split_once('.') {
            Some((outer, inner)) => body[outer][inner] = value,
            None => body[field] = value,
        }
        body
    };
    for (field, value) in [
        ("task_description", json!("  ")),
        ("task_description", json!("x".repeat(4001))),
        ("task_description", json!(null)),
        ("neko_session_id", json!("not a session!")),
        ("neko_session_id", json!("")),
        ("capture_options.fps", json!(5.0)),
        ("capture_options.jpeg_quality", json!(101)),
        ("capture_options.jpeg_quality", json!(50)),
        ("capture_options.min_frames", json!("four")),
        ("capture_options.min_frames", json!(2_000_000)),
        ("capture_options.timeout_seconds", json!(-1)),
        ("capture_options.timeout_seconds", json!(100_000)),
        ("capture_options.resolution", json!("4k")),
    ] {
        api.refused(post.clone(), "/capture/episodes", with(field, value), field)
            .await;
    }

    // The episode records only the actions of the session it names; nobody has that id, so a
    // second episode without one shows the actions arrive.
    let (status, episode) = api.post("/capture/episodes", task.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{episode}");
    assert_eq!(episode["status"], "recording");
    assert!(episode["started_at"].is_string());
    assert!(episode["estimated_size_mb"].as_u64().unwrap() > 0);
    let first = episode["episode_id"].as_str().unwrap().to_owned();
    assert_eq!(first.len(), 8, "{episode}");
    let (status, busy) = api.post("/capture/episodes", task.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{busy}");
    assert!(busy["error"].as_str().unwrap().contains(&first), "{busy}");
    let person = join_person(&room.base_url()).await;
    let act = |text: &'static str| {
        let person = person.clone();
        async move {
            person
                .send(ClientEvent::ChatMessage(ChatContent::new(text)))
                .await
                .unwrap();
        }
    };
    act(r#"Action: {"type": "click", "coordinate": [10, 20]}"#).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, stopped) = api.delete(&format!("/capture/episodes/{first}")).await;
    assert_eq!(status, StatusCode::OK, "{stopped}");
    assert_eq!(stopped["status"], "saved", "{stopped}");
    assert_eq!(stopped["end_reason"], "stopped");
    assert_eq!(stopped["actions"], 0, "{stopped}");

    let (status, episode) = api
        .post(
            "/capture/episodes",
            json!({"task_description": "Close the red box"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{episode}");
    let second = episode["episode_id"].as_str().unwrap().to_owned();
    act(r#"Action: {"type": "type", "text": "hello"}"#).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, got) = api.get(&format!("/capture/episodes/{second}")).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["status"], "recording");
    let (status, stopped) = api.delete(&format!("/capture/episodes/{second}")).await;
    assert_eq!(status, StatusCode::OK, "{stopped}");
    assert_eq!(stopped["status"], "saved", "{stopped}");
    assert_eq!(stopped["actions"], 1, "{stopped}");
    assert!(stopped["frames"].as_u64().unwrap() >= 2, "{stopped}");
    person.stop();

    let (status, _) = api.delete(&format!("/capture/episodes/{second}")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = api.delete("/capture/episodes/nothing1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.get("/capture/episodes/nothing1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, list) = api.get("/capture/episodes").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = list["episodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["episode_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    let (status, datasets) = api.get("/capture/datasets").await;
    assert_eq!(status, StatusCode::OK, "{datasets}");
    assert_eq!(
        datasets["datasets"][0]["location"],
        out.display().to_string()
    );
    assert_eq!(datasets["datasets"][0]["pending_episodes"], 2, "{datasets}");

    // Closing the service closes the shard, as stopping `neko-agent capture` does.
    let report = engine.close().await.expect("capture was open");
    assert!(report.all_saved(), "{:?}", report.lines());
    let (status, datasets) = api.get("/capture/datasets").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(datasets["datasets"][0]["episodes"], 2, "{datasets}");
    assert_eq!(datasets["datasets"][0]["pending_episodes"], 0, "{datasets}");
    assert!(
        datasets["datasets"][0]["shards"][0]["bytes"]
            .as_u64()
            .unwrap()
            > 0
    );
    let (status, _) = api.post("/capture/episodes", task.clone()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    let reader = MdsReader::open(&out).unwrap();
    let samples: Vec<_> = reader.samples().map(Result::unwrap).collect();
    assert_eq!(samples.len(), 2);
    let text = |sample: &neko_agent::mds::Sample, column: &str| match &sample[column] {
        MdsValue::Str(text) => text.clone(),
        MdsValue::Int(n) => n.to_string(),
        other => format!("{other:?}"),
    };
    assert_eq!(text(&samples[0], "episode_id"), first);
    assert_eq!(text(&samples[0], "task"), "Open the red box");
    assert_eq!(text(&samples[1], "episode_id"), second);
    assert_eq!(text(&samples[1], "num_actions"), "1");
    let MdsValue::Bytes(payload) = &samples[1]["payload"] else {
        panic!("payload is not bytes");
    };
    let zip = EpisodeZip::open(payload).unwrap();
    assert_eq!(zip.actions.len(), 1);
    assert!(!zip.frames.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
