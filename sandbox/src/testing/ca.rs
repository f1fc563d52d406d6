//! A certificate authority generated at run time with the `openssl` CLI, and the server
//! certificates it signs, for rooms and proxies that serve TLS in tests.

use std::path::{Path, PathBuf};
use std::process::Command;

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
    pub fn generate() -> Self {
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
