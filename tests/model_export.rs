//! `neko-agent model export`: the checks that run before a long export (a missing or hostile
//! checkpoint, an unreachable, refusing or offline hub, a machine too small), each with a
//! message a user can act on; and a whole export of the random-weight parity model
//! (`scripts/models/make_parity_model.py`) through the command, verified against PyTorch.
//!
//! The whole export needs the Python environment in `.venv-parity/` (scripts/setup-parity.sh);
//! the command is pointed at it, so nothing is installed here.

#[path = "common/parity.rs"]
mod parity;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

use parity::{parity_dir, repo};

/// `neko-agent model export ARGS` with a hub that is never the real one.
fn export(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_neko-agent"));
    command
        .args(["model", "export"])
        .args(args)
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .env("HF_HUB_CACHE", repo().join("target/tmp/no-hub-cache"))
        .env_remove("HF_TOKEN")
        .env_remove("HF_HUB_OFFLINE");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run neko-agent")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A one-request HTTP server that answers `status` with `body`; returns its URL.
fn hub_answering(status: &'static str, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(2) {
            let mut stream = stream.unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    url
}

#[test]
fn a_missing_local_checkpoint_is_refused_before_anything_starts() {
    let out = tempfile::tempdir().unwrap();
    let output = export(
        &[
            "--model",
            "/no/such/checkpoint",
            "--out",
            out.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("/no/such/checkpoint"), "{text}");
    assert!(text.contains("not a directory"), "{text}");
}

#[test]
fn an_unreachable_hub_is_named_with_a_way_out() {
    let out = tempfile::tempdir().unwrap();
    let output = export(&["--out", out.path().to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("cannot reach the Hugging Face hub at http://127.0.0.1:9"),
        "{text}"
    );
    assert!(text.contains("HF_HUB_OFFLINE=1"), "{text}");
}

#[test]
fn a_gated_or_unknown_model_says_why() {
    let out = tempfile::tempdir().unwrap();
    let gated = hub_answering("401 Unauthorized", r#"{"error":"gated"}"#);
    let output = export(
        &["--out", out.path().to_str().unwrap()],
        &[("HF_ENDPOINT", &gated)],
    );
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("answered 401 for showlab/ShowUI-2B"),
        "{text}"
    );
    assert!(text.contains("set HF_TOKEN"), "{text}");

    let missing = hub_answering("404 Not Found", r#"{"error":"not found"}"#);
    let output = export(
        &[
            "--model",
            "someone/no-such-model",
            "--out",
            out.path().to_str().unwrap(),
        ],
        &[("HF_ENDPOINT", &missing)],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no such model"),
        "{}",
        stderr(&output)
    );

    let garbage = hub_answering("200 OK", "not json at all");
    let output = export(
        &["--out", out.path().to_str().unwrap()],
        &[("HF_ENDPOINT", &garbage)],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("is not usable"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn offline_without_a_cached_copy_is_refused() {
    let out = tempfile::tempdir().unwrap();
    let output = export(
        &["--out", out.path().to_str().unwrap()],
        &[("HF_HUB_OFFLINE", "1")],
    );
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("HF_HUB_OFFLINE is set but showlab/ShowUI-2B is not in the hub cache"),
        "{text}"
    );
}

/// A checkpoint whose headers claim 200 billion parameters (the data is not there: only the
/// headers are read) asks for more memory than any test machine has.
#[test]
fn a_checkpoint_too_big_for_this_machine_is_refused_with_the_numbers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    let header = r#"{"w":{"dtype":"BF16","shape":[200000,1000000],"data_offsets":[0,0]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    std::fs::write(dir.path().join("model.safetensors"), bytes).unwrap();
    let out = tempfile::tempdir().unwrap();
    let model = dir.path().to_str().unwrap();
    let out_dir = out.path().to_str().unwrap();
    let run = || {
        export(
            &["--model", model, "--processor", model, "--out", out_dir],
            &[],
        )
    };
    let output = run();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    // The processor source is checked too: this directory has no tokenizer.
    assert!(text.contains("no tokenizer_config.json"), "{text}");

    std::fs::write(dir.path().join("tokenizer_config.json"), "{}").unwrap();
    let output = run();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("of memory for the export's peak"), "{text}");
    assert!(text.contains("--skip-checks"), "{text}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("200.00 billion parameters"), "{stdout}");
    assert!(
        std::fs::read_dir(out.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

#[test]
fn the_parity_model_is_exported_verified_and_listed() {
    let source = parity_dir().join("source");
    let source = source.to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().join("export");
    let output = export(
        &[
            "--model",
            source,
            "--processor",
            source,
            "--dtype",
            "fp32",
            "--out",
            out_dir.to_str().unwrap(),
            "--python-env",
            repo().join(".venv-parity").to_str().unwrap(),
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}\n{}", stderr(&output));
    // What the checks found, before the export.
    assert!(
        stdout.contains("of memory for the export's peak"),
        "{stdout}"
    );
    // The script's own verification (PyTorch vs ONNX tokens, and images batched in one call).
    assert!(stdout.contains("greedy tokens match"), "{stdout}");
    assert!(stdout.contains("in one call vs one by one"), "{stdout}");
    // The listing names every graph with its size, and the run's time and peak memory.
    for graph in ["vision_encoder", "embed_tokens", "decoder_model_merged"] {
        assert!(out_dir.join(format!("onnx/{graph}.onnx")).exists());
        assert!(
            stdout.contains(&format!("onnx/{graph}.onnx_data")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("peak memory"), "{stdout}");
    assert!(stdout.contains("neko-agent run --model-dir"), "{stdout}");
    assert!(
        !out_dir.join(".export-tmp").exists(),
        "the scratch folder is removed"
    );
}
