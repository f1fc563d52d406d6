//! A real coturn TURN server on loopback for the NAT-traversal tests and benches: started on a free
//! port with a temporary configuration and long-term credentials, stopped when dropped.

use std::net::{TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The TURN user every test server accepts.
pub const USER: &str = "agent";
/// That user's password.
pub const PASSWORD: &str = "relay-pass";

/// A running `turnserver`.
pub struct TurnServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl TurnServer {
    /// Starts coturn on 127.0.0.1 and waits until it answers on its port.
    pub fn start() -> TurnServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let relay_low = free_port().clamp(20_000, 60_000);
        let config = dir.path().join("turnserver.conf");
        std::fs::write(
            &config,
            format!(
                "listening-ip=127.0.0.1\nrelay-ip=127.0.0.1\nlistening-port={port}\n\
                 min-port={relay_low}\nmax-port={}\nallow-loopback-peers\nno-cli\n\
                 lt-cred-mech\nuser={USER}:{PASSWORD}\nrealm=neko.test\nno-tls\nno-dtls\n\
                 no-multicast-peers\nfingerprint\nlog-file=stdout\nsimple-log\n\
                 pidfile={}\n",
                relay_low + 200,
                dir.path().join("turnserver.pid").display(),
            ),
        )
        .unwrap();
        let child = Command::new("/usr/bin/turnserver")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("coturn's /usr/bin/turnserver runs (apt-get install coturn)");
        let server = TurnServer {
            child,
            port,
            _dir: dir,
        };
        server.wait_listening();
        server
    }

    /// `turn://user:pass@127.0.0.1:port` with the given password.
    pub fn uri_with_password(&self, password: &str) -> String {
        format!("turn://{USER}:{password}@127.0.0.1:{}", self.port)
    }

    /// `turn://user:pass@127.0.0.1:port` with the right password.
    pub fn uri(&self) -> String {
        self.uri_with_password(PASSWORD)
    }

    /// `turn:127.0.0.1:port`, the form the settings take with separate credentials.
    pub fn url(&self) -> String {
        format!("turn:127.0.0.1:{}", self.port)
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("turnserver did not listen on 127.0.0.1:{}", self.port);
    }
}

impl Drop for TurnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free for both TCP and UDP on loopback right now.
fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
