//! The sandbox room's memory under two abusive clients: chat of 1 MB messages, and a socket
//! that never reads while 1 MB chat messages keep coming. Runs `neko-agent room` as a child
//! process (`NEKO_ROOM_BINARY` picks another build, to compare) and prints its RSS.
//!
//! `cargo bench --bench room_memory`

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// Chat messages per scenario.
const MESSAGES: usize = 100;

/// Characters per chat message.
const MESSAGE_CHARS: usize = 1_000_000;

/// A running room process.
struct RoomProcess {
    child: Child,
    base: String,
}

impl RoomProcess {
    fn start(binary: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(binary)
            .args(["room", "--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the room starts");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Resident memory in MiB, from `/proc`.
    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS");
        kib / 1024.0
    }

    async fn token(&self, username: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let answer = reqwest::Client::new()
                .post(format!("{}/api/login", self.base))
                .json(&json!({"username": username, "password": "admin"}))
                .send()
                .await;
            if let Ok(answer) = answer
                && let Ok(body) = answer.json::<Value>().await
                && let Some(token) = body["token"].as_str()
            {
                return token.to_owned();
            }
            assert!(Instant::now() < deadline, "the room did not answer");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn socket(
        &self,
        username: &str,
    ) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>
    {
        let token = self.token(username).await;
        let url = format!(
            "{}/api/ws?token={token}",
            self.base.replacen("http", "ws", 1)
        );
        tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket")
            .0
    }
}

impl Drop for RoomProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `MESSAGES` chat messages from a talker that reads everything it is sent.
async fn chat_flood(room: &RoomProcess) {
    let (mut talker, mut echoes) = room.socket("talker").await.split();
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = echoes.next().await {} });
    let text = "m".repeat(MESSAGE_CHARS);
    for _ in 0..MESSAGES {
        let event = json!({"event": "chat/message", "payload": {"text": text}});
        if talker.send(Message::text(event.to_string())).await.is_err() {
            break;
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _ = talker.close().await;
    reader.abort();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let binary = std::env::var("NEKO_ROOM_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_neko-agent").to_owned());
    println!(
        "room RSS (MiB), {MESSAGES} chat messages of {MESSAGE_CHARS} characters; room: {binary}"
    );
    println!(
        "{:<34} {:>8} {:>8} {:>8}",
        "scenario", "start", "loaded", "after"
    );

    let room = RoomProcess::start(&binary);
    let _ = room.token("warm-up").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let start = room.rss_mib();
    chat_flood(&room).await;
    let loaded = room.rss_mib();
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!(
        "{:<34} {start:>8.0} {loaded:>8.0} {:>8.0}",
        "1 MB chat, every client reads",
        room.rss_mib()
    );
    drop(room);

    let room = RoomProcess::start(&binary);
    let _ = room.token("warm-up").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let start = room.rss_mib();
    let sleeper = room.socket("sleeper").await;
    chat_flood(&room).await;
    let loaded = room.rss_mib();
    drop(sleeper);
    tokio::time::sleep(Duration::from_secs(8)).await;
    println!(
        "{:<34} {start:>8.0} {loaded:>8.0} {:>8.0}",
        "1 MB chat, one socket never reads",
        room.rss_mib()
    );
}
