//! `neko-agent serve` (and `worker`) as the service tests start them: the process, the address
//! it printed, a JSON client for its API, and a webhook receiver that checks signatures.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

/// A fixture model of the project.
pub fn fixture(name: &str) -> String {
    format!("{}/models/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `neko-agent <command>` with the settings every service test shares: the room at `room_url`
/// as user `agent`, the fixture `model`, one refinement pass, loopback ICE, warnings only.
pub fn service_command(command: &str, room_url: &str, model: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_neko-agent"));
    cmd.arg(command)
        .env("NEKO_URL", room_url)
        .env("NEKO_USER", "agent")
        .env("NEKO_PASS", "neko")
        .env("NEKO_MODEL_DIR", model)
        .env("NEKO_ICE_ADDRESSES", "127.0.0.1")
        .env("NEKO_LOGLEVEL", "warn")
        .env("NEKO_SKIP_INITIAL_FRAMES", "1")
        .env("REFINEMENT_STEPS", "1")
        .env_remove("NEKO_WS")
        .env_remove("NEKO_API_TOKEN")
        .env_remove("NEKO_QUEUE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// A running `neko-agent serve`, killed on drop.
pub struct Serve {
    child: Child,
    /// `http://127.0.0.1:<port>/api/v1`.
    pub api: String,
    output: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    /// Starts `serve` on a free loopback port with its store in `data`, and waits until it
    /// printed its address.
    pub fn start(mut command: Command, data: &Path) -> Self {
        command
            .args(["--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data);
        let mut child = command.spawn().expect("neko-agent serve starts");
        let output = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let lines = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("serving the API at ") {
                    let _ =
                        address_tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let stderr = child.stderr.take().unwrap();
        let lines = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let api = address_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!(
                    "serve never printed its address:\n{}",
                    output.lock().unwrap().join("\n")
                )
            });
        Self { child, api, output }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }

    /// Asks it to stop (SIGTERM) and waits for it to exit (bounded); its exit status.
    pub fn terminate(mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let pid = libc::pid_t::try_from(self.child.id()).ok()?;
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Kills it at once (SIGKILL: no chance to tidy up).
    pub fn kill(mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// A JSON client for the API at `api`, with an optional bearer token.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    /// Base URL (`…/api/v1`).
    pub api: String,
    token: Option<String>,
}

impl Api {
    /// A client for `api`.
    pub fn new(api: &str, token: Option<&str>) -> Self {
        Self {
            http: reqwest::Client::new(),
            api: api.to_owned(),
            token: token.map(str::to_owned),
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.api));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends a request with an optional JSON body; the status and the JSON answer (Null when
    /// the answer is not JSON).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The raw response of a GET.
    pub async fn get_raw(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("the API answers")
    }

    /// Submits a task; its id.
    pub async fn submit(&self, body: Value) -> String {
        self.submit_watched(body).await.0
    }

    /// Submits a task; its id and its live page (`live_url`).
    pub async fn submit_watched(&self, body: Value) -> (String, String) {
        let (status, answer) = self.call("POST", "/tasks", Some(body)).await;
        assert_eq!(status, 201, "{answer}");
        (
            answer["task_id"].as_str().unwrap().to_owned(),
            answer["live_url"].as_str().unwrap().to_owned(),
        )
    }

    /// Polls the task until `check` accepts it (or panics after `limit`).
    pub async fn wait_task(
        &self,
        task_id: &str,
        limit: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let (status, task) = self.call("GET", &format!("/tasks/{task_id}"), None).await;
            // 5xx: the store is away for a moment (a Redis restart); ask again.
            assert!(status == 200 || status >= 500, "{status}: {task}");
            if status == 200 && check(&task) {
                return task;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("task never got there: {status}: {task:#}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// One webhook delivery as received.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `X-Neko-Event`.
    pub event: String,
    /// `X-Neko-Delivery`.
    pub id: String,
    /// `X-Neko-Timestamp`.
    pub timestamp: String,
    /// `X-Neko-Signature`.
    pub signature: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// A webhook receiver on loopback that fails the first `failures` requests with 500.
pub struct Receiver {
    /// Its URL.
    pub url: String,
    /// Deliveries it accepted.
    pub accepted: Arc<Mutex<Vec<Delivery>>>,
    /// Requests it answered with 500.
    pub refused: Arc<Mutex<u32>>,
}

impl Receiver {
    /// Starts the receiver.
    pub async fn start(failures: u32) -> Self {
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(0u32));
        let (keep, count) = (accepted.clone(), refused.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let (keep, count) = (keep.clone(), count.clone());
                    async move {
                        {
                            let mut refused = count.lock().unwrap();
                            if *refused < failures {
                                *refused += 1;
                                return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                            }
                        }
                        let header = |name: &str| {
                            headers
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned)
                        };
                        keep.lock().unwrap().push(Delivery {
                            event: header("x-neko-event").unwrap_or_default(),
                            id: header("x-neko-delivery").unwrap_or_default(),
                            timestamp: header("x-neko-timestamp").unwrap_or_default(),
                            signature: header("x-neko-signature"),
                            body: body.to_vec(),
                        });
                        axum::http::StatusCode::NO_CONTENT
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            accepted,
            refused,
        }
    }

    /// Waits until a delivery satisfies `check`.
    pub async fn wait_for(&self, limit: Duration, check: impl Fn(&Delivery) -> bool) -> Delivery {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(found) = self.accepted.lock().unwrap().iter().find(|d| check(d)) {
                return found.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no such webhook delivery"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
