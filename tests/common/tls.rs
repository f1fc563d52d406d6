//! TLS for tests: a certificate authority generated at run time with the `openssl` CLI, server
//! certificates it signs, and a real nginx (TLS termination, a path prefix, WebSocket upgrades)
//! in front of a plain-http room, stopped when dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Runs `openssl` with `args` in `dir`, panicking with its output when it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI runs (scripts/setup.sh installs it)");
    assert!(
        output.status.success(),
        "openssl {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A throw-away certificate authority in a temp dir.
pub struct TestCa {
    dir: TempDir,
    /// The CA certificate (PEM), for `NEKO_CA_FILE` / `ca-file`.
    pub cert: PathBuf,
}

/// A server certificate and its key (PEM files).
pub struct ServerCert {
    /// The certificate, signed by the [`TestCa`].
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
}

impl TestCa {
    /// A new CA with a P-256 key, valid for two days.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        openssl(
            dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=neko-agent test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        let cert = dir.path().join("ca.pem");
        Self { dir, cert }
    }

    /// A server certificate named `name` whose subjectAltName is `alt_names` (for example
    /// `IP:127.0.0.1,DNS:localhost`).
    pub fn server_cert(&self, name: &str, alt_names: &str) -> ServerCert {
        let dir = self.dir.path();
        let ext = dir.join(format!("{name}.ext"));
        std::fs::write(
            &ext,
            format!(
                "subjectAltName={alt_names}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            ),
        )
        .unwrap();
        let (key, csr, cert) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/CN={name}"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &cert,
                "-extfile",
                ext.to_str().unwrap(),
            ],
        );
        ServerCert {
            cert: dir.join(cert),
            key: dir.join(key),
        }
    }

    /// A file in the CA's temp dir with `contents` (for bad CA files).
    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

/// A free loopback TCP port (free when this returns; nginx binds it right after).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// nginx terminating TLS on a loopback port and proxying `prefix` to a plain-http upstream.
pub struct Nginx {
    child: Child,
    dir: TempDir,
    /// The port nginx listens on.
    pub port: u16,
}

impl Nginx {
    /// Starts `/usr/sbin/nginx` (foreground, its own config and prefix in a temp dir) serving
    /// `https://127.0.0.1:PORT{prefix}` from `http://{upstream}/`, WebSocket upgrades included.
    pub fn start(prefix: &str, upstream: SocketAddr, cert: &ServerCert) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let port = free_port();
        let root = dir.path().display().to_string();
        let config = format!(
            r#"daemon off;
master_process off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location {prefix} {{
            proxy_pass http://{upstream}/;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 3600s;
            proxy_buffering off;
        }}
    }}
}}
"#,
            cert = cert.cert.display(),
            key = cert.key.display(),
        );
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config).unwrap();
        let child = Command::new("/usr/sbin/nginx")
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("/usr/sbin/nginx starts (scripts/setup.sh installs it)");
        let mut nginx = Self { child, dir, port };
        nginx.wait_listening();
        nginx
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("nginx exited ({status}):\n{}", self.error_log());
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nginx did not listen within 10 s:\n{}", self.error_log());
    }

    /// nginx's error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
