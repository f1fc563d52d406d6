//! Capture benchmark at 1920×1080 and 2 fps.
//!
//! 1. **Capture path per frame**, in this process: 30 fps I420 frames through the chain of
//!    `pipelines/capture.toml` after decoding (`videorate` to 2 fps, `jpegenc` quality 85), each
//!    JPEG written into an episode folder, then the episode packaged and stored (zstd:6, sha1:
//!    the defaults). CPU time from `getrusage`, per captured frame, for the sandbox desktop (flat
//!    UI) and for a busy screen (a third of it photo-like noise).
//! 2. **Store throughput**: packaged episodes of those JPEGs written into a dataset with and
//!    without zstd (spool with fsync, shard, index), MB of payload per second, best of two, for
//!    a screen that changes all the time and for a still one.
//! 3. **Live**, unless `--no-live`: `neko-agent room` at 1080p30 and `neko-agent capture` as
//!    separate processes; capture's CPU (from /proc) while idle and while recording, and with a
//!    decode-only pipeline as the baseline any viewer pays.
//!
//! Run with `cargo bench --bench capture` (options: `-- --seconds 60 --mb 256 --no-live`).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gst::prelude::*;
use neko_agent::capture::PackagedEpisode;
use neko_agent::capture::episode::{
    EndReason, EpisodeEnd, EpisodeHeader, EpisodeWriter, ScreenSize,
};
use neko_agent::capture::package::package;
use neko_agent::capture::store::EpisodeStore;
use neko_agent::capture::workspace::Workspace;
use neko_agent::mds::{Compression, WriterOptions, parse_hash_list};
use neko_sandbox::desktop::Desktop;

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
const FPS: f64 = 2.0;

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// User + system CPU seconds of another process, from /proc.
fn process_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()
    });
    // SAFETY: sysconf has no preconditions.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// One 1080p I420 frame: the sandbox desktop, optionally with a third of it photo-like noise.
fn frame(busy: bool) -> gst::Buffer {
    let mut desktop = Desktop::new(WIDTH, HEIGHT);
    let mut rgbx = vec![0u8; (WIDTH * HEIGHT * 4) as usize];
    desktop.render(1, 0, &mut rgbx);
    if busy {
        let mut state = 0x2545_f491_u32;
        for y in (HEIGHT / 3) as usize..(2 * HEIGHT / 3) as usize {
            for x in 0..WIDTH as usize {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let i = (y * WIDTH as usize + x) * 4;
                // Smooth gradients plus noise, like a photo.
                let base = ((x / 7 + y / 5) % 256) as u8;
                for c in 0..3 {
                    rgbx[i + c] = base.wrapping_add((state >> (8 * c)) as u8 % 48);
                }
            }
        }
    }
    let input = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgbx, WIDTH, HEIGHT)
        .build()
        .unwrap();
    let output = gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, WIDTH, HEIGHT)
        .build()
        .unwrap();
    let source = gst::Buffer::from_mut_slice(rgbx);
    let source = gst_video::VideoFrameRef::from_buffer_ref_readable(&source, &input).unwrap();
    let mut target = gst::Buffer::with_size(output.size()).unwrap();
    {
        let mut frame =
            gst_video::VideoFrameRef::from_buffer_ref_writable(target.get_mut().unwrap(), &output)
                .unwrap();
        gst_video::VideoConverter::new(&input, &output, None)
            .unwrap()
            .frame_ref(&source, &mut frame);
    }
    target
}

/// `seconds` of 30 fps frames through videorate + jpegenc; the JPEGs and the CPU seconds.
fn encode(buffer: &gst::Buffer, seconds: u32) -> (Vec<Vec<u8>>, f64) {
    let pipeline = gst::parse::launch(&format!(
        "appsrc name=raw format=time caps=video/x-raw,format=I420,width={WIDTH},height={HEIGHT},framerate=30/1 \
         ! videorate ! capsfilter caps=\"video/x-raw,framerate=2/1\" \
         ! queue max-size-buffers=8 max-size-bytes=0 max-size-time=0 \
         ! jpegenc quality=85 ! appsink name=jpeg sync=false"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let source = pipeline
        .by_name("raw")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    let sink = pipeline
        .by_name("jpeg")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let cpu = cpu_seconds();
    let collector = std::thread::spawn(move || {
        let mut jpegs = Vec::new();
        while let Ok(sample) = sink.pull_sample() {
            jpegs.push(sample.buffer().unwrap().map_readable().unwrap().to_vec());
        }
        jpegs
    });
    for i in 0..u64::from(seconds) * 30 {
        let mut frame = buffer.copy();
        let pts = gst::ClockTime::from_nseconds(i * 1_000_000_000 / 30);
        frame.get_mut().unwrap().set_pts(pts);
        source.push_buffer(frame).unwrap();
    }
    source.end_of_stream().unwrap();
    let jpegs = collector.join().unwrap();
    let cpu = cpu_seconds() - cpu;
    pipeline.set_state(gst::State::Null).unwrap();
    (jpegs, cpu)
}

/// The JPEGs recorded into an episode folder under `root`; the folder and the CPU seconds.
fn record(root: &Path, jpegs: &[Vec<u8>], id: &str) -> (std::path::PathBuf, f64) {
    let header = EpisodeHeader {
        episode_id: id.into(),
        task: "bench".into(),
        started_ts: 1_770_000_000.0,
        screen: ScreenSize {
            width: WIDTH,
            height: HEIGHT,
        },
        agent: serde_json::json!({"source": "bench"}),
    };
    let cpu = cpu_seconds();
    let mut writer = EpisodeWriter::create(root, header).unwrap();
    for (i, jpeg) in jpegs.iter().enumerate() {
        writer
            .add_frame(jpeg, 1_770_000_000.0 + i as f64 / FPS)
            .unwrap();
    }
    let dir = writer
        .end(EpisodeEnd {
            ended_ts: 1_770_000_000.0 + jpegs.len() as f64 / FPS,
            end_reason: EndReason::Stopped,
        })
        .unwrap();
    (dir, cpu_seconds() - cpu)
}

fn options(compression: &str) -> WriterOptions {
    WriterOptions {
        compression: Compression::parse_setting(compression).unwrap(),
        hashes: parse_hash_list("sha1").unwrap(),
        size_limit: Some(512 << 20),
    }
}

/// Per-frame costs of the capture path for one kind of screen.
fn capture_path(busy: bool, seconds: u32) -> (Vec<Vec<u8>>, BTreeMap<&'static str, f64>) {
    let buffer = frame(busy);
    let (jpegs, encode_cpu) = encode(&buffer, seconds);
    let frames = jpegs.len() as f64;
    let scratch = tempfile::tempdir().unwrap();
    let workspace = Workspace::lock(scratch.path()).unwrap();
    let (dir, record_cpu) = record(&workspace.episodes(), &jpegs, "bench001");
    let cpu = cpu_seconds();
    let (episode, _) = package(&dir).unwrap();
    let (mut store, _) =
        EpisodeStore::open(workspace.dataset(), workspace.spool(), options("zstd:6")).unwrap();
    store.commit(&episode).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    store.flush().unwrap();
    let store_cpu = cpu_seconds() - cpu;
    let mut costs = BTreeMap::new();
    costs.insert("frames", frames);
    costs.insert(
        "jpeg_kb",
        jpegs.iter().map(Vec::len).sum::<usize>() as f64 / frames / 1024.0,
    );
    costs.insert("encode_ms", encode_cpu * 1000.0 / frames);
    costs.insert("record_ms", record_cpu * 1000.0 / frames);
    costs.insert("store_ms", store_cpu * 1000.0 / frames);
    (jpegs, costs)
}

/// MB/s (payload, wall clock and per CPU second) of writing `total_mb` of episodes into a
/// dataset, and the bytes on disk. With `changing`, every byte of every episode is scrambled
/// (a screen that changes all the time: nothing repeats, JPEG data does not compress); else the
/// episodes differ from each other but repeat their frames (a still screen).
fn store_throughput(
    episode: &PackagedEpisode,
    compression: &str,
    total_mb: usize,
    changing: bool,
) -> (f64, f64, u64) {
    let scratch = tempfile::tempdir().unwrap();
    let workspace = Workspace::lock(scratch.path()).unwrap();
    let (mut store, _) =
        EpisodeStore::open(workspace.dataset(), workspace.spool(), options(compression)).unwrap();
    let count = (total_mb * 1024 * 1024 / episode.zip.len()).max(1);
    let (cpu, started) = (cpu_seconds(), Instant::now());
    for i in 0..count {
        let mut copy = episode.clone();
        copy.episode_id = format!("{i:08x}");
        let mut state = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for chunk in copy.zip.chunks_mut(8) {
            if changing {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
            }
            for (b, k) in chunk.iter_mut().zip(state.to_le_bytes()) {
                *b ^= k;
            }
        }
        store.commit(&copy).unwrap();
    }
    store.flush().unwrap();
    let (wall, cpu) = (started.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    let on_disk: u64 = std::fs::read_dir(scratch.path())
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    let mb = (count * episode.zip.len()) as f64 / (1024.0 * 1024.0);
    (mb / wall, mb / cpu, on_disk)
}

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// CPU share of one core used by `pid` over `seconds`.
fn core_share(pid: u32, seconds: f64) -> f64 {
    let before = process_cpu(pid);
    std::thread::sleep(Duration::from_secs_f64(seconds));
    (process_cpu(pid) - before) / seconds
}

/// Live measurements: capture's CPU share with a decode-only pipeline, idle, and recording.
fn live(seconds: f64) -> Option<BTreeMap<&'static str, f64>> {
    let exe = env!("CARGO_BIN_EXE_neko-agent");
    let port = free_port();
    let _room = Process(
        Command::new(exe)
            .args([
                "room",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--size",
                "1920x1080",
                "--rate",
                "30",
            ])
            .env("NEKO_LOGLEVEL", "warn")
            .stdout(Stdio::null())
            .spawn()
            .ok()?,
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let url = format!("http://127.0.0.1:{port}");
    let scratch = tempfile::tempdir().unwrap();
    let decode_only = scratch.path().join("decode-only.toml");
    let capture_toml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/pipelines/capture.toml"
    ))
    .unwrap();
    let (head, _) = capture_toml.split_once("[pipeline]").unwrap();
    std::fs::write(
        &decode_only,
        format!(
            "{head}[pipeline]\nlaunch = '''\nnekosrc name=src decoder=${{decoder}} audio=false ! video/x-raw ! appsink name=frames sync=false emit-signals=false max-buffers=1 drop=true\n'''\n"
        ),
    )
    .unwrap();
    let capture = |pipeline: &Path, out: &Path| {
        Process(
            Command::new(exe)
                .arg("capture")
                .arg("--pipeline")
                .arg(pipeline)
                .args(["--decoder", "software", "--compression", "zstd:6"])
                .env("NEKO_URL", &url)
                .env("NEKO_USER", "capture")
                .env("NEKO_PASS", "neko")
                .env("NEKO_ICE_ADDRESSES", "127.0.0.1")
                .env("NEKO_LOGLEVEL", "warn")
                .env("CAPTURE_OUT", out)
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let mut results = BTreeMap::new();
    {
        let baseline = capture(&decode_only, &scratch.path().join("baseline"));
        std::thread::sleep(Duration::from_secs(5));
        results.insert("decode_only", core_share(baseline.0.id(), seconds));
    }
    let capture_file = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/pipelines/capture.toml"
    ));
    let recorder = capture(capture_file, &scratch.path().join("data"));
    std::thread::sleep(Duration::from_secs(5));
    results.insert("idle", core_share(recorder.0.id(), seconds));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let person = runtime.block_on(async {
        use gstneko::client::{ClientConfig, ClientNotice, NekoClient, Target, wait_for_notice};
        let target = Target::new(&url, Some("bench"), Some("neko"), None).unwrap();
        let (client, mut notices) = NekoClient::start(ClientConfig::new(target));
        wait_for_notice(&mut notices, Duration::from_secs(20), |n| {
            matches!(n, ClientNotice::Connected { .. }).then_some(())
        })
        .await?;
        Some(client)
    })?;
    let say = |text: &str| {
        runtime
            .block_on(person.send(gstneko::protocol::ClientEvent::ChatMessage(
                gstneko::protocol::ChatContent::new(text),
            )))
            .unwrap();
    };
    say("/start benchmark");
    std::thread::sleep(Duration::from_secs(1));
    results.insert("recording", core_share(recorder.0.id(), seconds));
    let before = process_cpu(recorder.0.id());
    say("/stop");
    std::thread::sleep(Duration::from_secs(5));
    results.insert("finish_cpu_s", process_cpu(recorder.0.id()) - before);
    person.stop();
    Some(results)
}

fn main() {
    gst::init().unwrap();
    gstneko::plugin_register_static().unwrap();
    let seconds: u32 =
        arg("--seconds").map_or(60, |v| v.parse().expect("--seconds takes a number"));
    let total_mb: usize = arg("--mb").map_or(256, |v| v.parse().expect("--mb takes a number"));
    let live_on = !std::env::args().any(|a| a == "--no-live");

    println!(
        "## Capture path per captured frame (1920x1080, 2 fps, {seconds} s of 30 fps input)\n"
    );
    println!(
        "| screen | JPEG KB | videorate + jpegenc ms | episode write ms | package + store (zstd:6, sha1) ms | total ms/frame | share of one core at 2 fps |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut busy_jpegs = Vec::new();
    for (name, busy) in [("sandbox desktop", false), ("busy (1/3 photo-like)", true)] {
        let (jpegs, c) = capture_path(busy, seconds);
        let total = c["encode_ms"] + c["record_ms"] + c["store_ms"];
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} % |",
            c["jpeg_kb"],
            c["encode_ms"],
            c["record_ms"],
            c["store_ms"],
            total,
            total * FPS / 10.0
        );
        let _ = std::io::stdout().flush();
        if busy {
            busy_jpegs = jpegs;
        }
    }

    let scratch = tempfile::tempdir().unwrap();
    let (dir, _) = record(scratch.path(), &busy_jpegs, "bench002");
    let (episode, _) = package(&dir).unwrap();
    println!(
        "\n## Store throughput ({total_mb} MB of episodes of {:.1} MB, busy 1080p frames, sha1)\n",
        episode.zip.len() as f64 / 1048576.0
    );
    println!(
        "| screen | compression | MB/s (wall, with fsync) | MB/s per CPU second | on disk / payload |"
    );
    println!("|---|---|---|---|---|");
    for (screen, changing) in [
        ("changing (nothing repeats)", true),
        ("still (frames repeat)", false),
    ] {
        for compression in ["", "zstd:3", "zstd:6"] {
            // Best of two: the disk is shared with whatever else runs.
            let (wall, cpu, on_disk) = (0..2)
                .map(|_| store_throughput(&episode, compression, total_mb, changing))
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .unwrap();
            let count = (total_mb * 1024 * 1024 / episode.zip.len()).max(1);
            println!(
                "| {screen} | {} | {wall:.0} | {cpu:.0} | {:.3} |",
                if compression.is_empty() {
                    "none"
                } else {
                    compression
                },
                on_disk as f64 / (count * episode.zip.len()) as f64
            );
            let _ = std::io::stdout().flush();
        }
    }

    if live_on {
        println!(
            "\n## Live: neko-agent capture against neko-agent room at 1920x1080@30 (separate processes)\n"
        );
        match live(f64::from(seconds.min(20))) {
            Some(r) => {
                println!("| capture process | share of one core |");
                println!("|---|---|");
                println!(
                    "| decode-only pipeline (what any viewer pays) | {:.1} % |",
                    r["decode_only"] * 100.0
                );
                println!("| capture.toml, idle | {:.1} % |", r["idle"] * 100.0);
                println!(
                    "| capture.toml, recording | {:.1} % |",
                    r["recording"] * 100.0
                );
                println!(
                    "| ending the episode (package + store) | {:.2} s CPU |",
                    r["finish_cpu_s"]
                );
                println!(
                    "\nDifferences below a few percent between these rows are noise on a shared \
                     machine; the first table isolates capture's own work."
                );
            }
            None => println!("(the live part could not start the room or join it)"),
        }
    }
}
