//! The `neko-agent` binary: the embedded demo, pipeline-file errors and settings errors.

mod common;

use std::process::Command;

fn neko_agent() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_neko-agent"));
    command
        .env("NEKO_LOGLEVEL", "warn")
        .env_remove("NEKO_URL")
        .env_remove("NEKO_WS");
    command
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("neko-agent-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn watch_without_a_server_watches_the_embedded_room_and_saves_a_png() {
    let _media = common::MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let png = temp_dir("demo").join("frame.png");
    let output = neko_agent()
        .args(["watch", "--duration", "4", "--png"])
        .arg(&png)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("embedded sandbox room"), "{stdout}");
    assert!(stdout.contains("fps  1280x720  VP8 via vp8dec"), "{stdout}");
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let info = decoder.read_info().unwrap();
    assert_eq!((info.info().width, info.info().height), (1280, 720));
}

#[test]
fn a_malformed_pipeline_file_is_reported_with_its_position() {
    let file = temp_dir("pipeline").join("broken.toml");
    std::fs::write(
        &file,
        "description = \"broken\"\n\
         [variables]\ndecoder = {}\n\
         [pipeline]\nlaunch = '''\nvideotestsrc ! vidoeconvert ! appsink name=frames\n'''\nappsinks = [\"frames\"]\n",
    )
    .unwrap();
    let output = neko_agent()
        .args([
            "watch",
            "--neko-url",
            "http://127.0.0.1:9",
            "--username",
            "u",
            "--password",
            "p",
            "--pipeline",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    let expected = format!("{}:6:16:", file.display());
    assert!(
        stderr.contains(&expected) && stderr.contains("vidoeconvert"),
        "{stderr}"
    );
}

#[test]
fn incomplete_connection_settings_list_every_problem() {
    let output = neko_agent()
        .args(["watch", "--neko-url", "ftp://x"])
        .env_remove("NEKO_USER")
        .env_remove("NEKO_PASS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    for needle in ["http:// or https://", "NEKO_USER", "NEKO_PASS"] {
        assert!(stderr.contains(needle), "{needle} missing in {stderr}");
    }
}

#[test]
fn bad_ice_settings_are_reported_together_before_connecting() {
    let login = [
        "--neko-url",
        "http://127.0.0.1:9",
        "--username",
        "u",
        "--password",
        "p",
    ];
    let output = neko_agent()
        .arg("watch")
        .args(login)
        .args(["--ice-policy", "open", "--stun-url", "http://h:1"])
        .args(["--turn-url", "turn:127.0.0.1:3478", "--turn-user", "me"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    for needle in [
        "\"open\"; use all, relay or strict",
        "NEKO_STUN_URL \"http://h:1\" is not a STUN URL",
        "needs --turn-user/NEKO_TURN_USER and --turn-pass/NEKO_TURN_PASS",
    ] {
        assert!(stderr.contains(needle), "{needle} missing from:\n{stderr}");
    }

    let output = neko_agent()
        .arg("manual")
        .args(login)
        .env("NEKO_ICE_POLICY", "relay")
        .args(["-c", "sleep 1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("relay needs a TURN server"), "{stderr}");

    let output = neko_agent()
        .arg("yap")
        .args(login)
        .env("YAP_ICE_POLICY", "sometimes")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("\"sometimes\"; use all, relay or strict"),
        "{stderr}"
    );
}
