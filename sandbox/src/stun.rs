//! The room's own STUN server (RFC 8489 Binding only), announced in `signal/provide.iceservers`
//! as the real server announces its default STUN entry. The real default is a public server;
//! the sandbox answers on its own address instead, so clients see a STUN entry shaped like the
//! real one and nothing ever leaves the machine.

use std::net::{IpAddr, SocketAddr};

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// The magic cookie every RFC 5389/8489 message carries.
const MAGIC_COOKIE: u32 = 0x2112_A442;
const HEADER_LEN: usize = 20;
const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const XOR_MAPPED_ADDRESS: u16 = 0x0020;
const FINGERPRINT: u16 = 0x8028;
/// XOR-ed into the CRC-32 of FINGERPRINT ("STUN" in ASCII).
const FINGERPRINT_XOR: u32 = 0x5354_554e;
/// Larger datagrams are not Binding requests a client would send; they are ignored.
const MAX_REQUEST_LEN: usize = 548;

/// A running STUN responder; stops when dropped.
pub struct StunResponder {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl StunResponder {
    /// Binds a UDP port on `ip` and answers Binding requests on it.
    pub async fn start(ip: IpAddr) -> std::io::Result<StunResponder> {
        let socket = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        let addr = socket.local_addr()?;
        let task = tokio::spawn(serve(socket));
        tracing::debug!(%addr, "STUN responder listening");
        Ok(StunResponder { addr, task })
    }

    /// The URL clients are given: `stun:IP:PORT`.
    pub fn url(&self) -> String {
        match self.addr {
            SocketAddr::V4(addr) => format!("stun:{addr}"),
            SocketAddr::V6(addr) => format!("stun:[{}]:{}", addr.ip(), addr.port()),
        }
    }
}

impl Drop for StunResponder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(socket: UdpSocket) {
    let mut buffer = [0u8; MAX_REQUEST_LEN + 1];
    loop {
        let (len, from) = match socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(error) => {
                // ICMP errors from earlier replies surface here on some systems; keep serving.
                tracing::debug!(%error, "STUN receive failed");
                continue;
            }
        };
        if let Some(reply) = binding_response(&buffer[..len], from) {
            let _ = socket.send_to(&reply, from).await;
        }
    }
}

/// The Binding success response to `request` from `from`, or `None` when `request` is not a
/// well-formed Binding request.
fn binding_response(request: &[u8], from: SocketAddr) -> Option<Vec<u8>> {
    if request.len() < HEADER_LEN || request.len() > MAX_REQUEST_LEN {
        return None;
    }
    let kind = u16::from_be_bytes([request[0], request[1]]);
    let length = usize::from(u16::from_be_bytes([request[2], request[3]]));
    let cookie = u32::from_be_bytes([request[4], request[5], request[6], request[7]]);
    if kind != BINDING_REQUEST || cookie != MAGIC_COOKIE || HEADER_LEN + length != request.len() {
        return None;
    }
    let transaction = &request[8..HEADER_LEN];
    let mut body = Vec::with_capacity(32);
    body.extend_from_slice(&XOR_MAPPED_ADDRESS.to_be_bytes());
    let port = from.port() ^ (MAGIC_COOKIE >> 16) as u16;
    match from.ip() {
        IpAddr::V4(ip) => {
            body.extend_from_slice(&8u16.to_be_bytes());
            body.extend_from_slice(&[0, 0x01]);
            body.extend_from_slice(&port.to_be_bytes());
            let address = u32::from(ip) ^ MAGIC_COOKIE;
            body.extend_from_slice(&address.to_be_bytes());
        }
        IpAddr::V6(ip) => {
            body.extend_from_slice(&20u16.to_be_bytes());
            body.extend_from_slice(&[0, 0x02]);
            body.extend_from_slice(&port.to_be_bytes());
            let mut key = [0u8; 16];
            key[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
            key[4..].copy_from_slice(transaction);
            for (octet, k) in ip.octets().iter().zip(key) {
                body.push(octet ^ k);
            }
        }
    }
    let mut response = Vec::with_capacity(HEADER_LEN + body.len() + 8);
    response.extend_from_slice(&BINDING_SUCCESS.to_be_bytes());
    // The length covers the FINGERPRINT attribute that follows the body.
    response.extend_from_slice(&((body.len() + 8) as u16).to_be_bytes());
    response.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    response.extend_from_slice(transaction);
    response.extend_from_slice(&body);
    let fingerprint = crc32fast::hash(&response) ^ FINGERPRINT_XOR;
    response.extend_from_slice(&FINGERPRINT.to_be_bytes());
    response.extend_from_slice(&4u16.to_be_bytes());
    response.extend_from_slice(&fingerprint.to_be_bytes());
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(transaction: [u8; 12]) -> Vec<u8> {
        let mut request = Vec::new();
        request.extend_from_slice(&BINDING_REQUEST.to_be_bytes());
        request.extend_from_slice(&0u16.to_be_bytes());
        request.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        request.extend_from_slice(&transaction);
        request
    }

    #[test]
    fn a_binding_request_gets_the_sender_s_address_xored() {
        let from: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let reply = binding_response(&request([7; 12]), from).unwrap();
        assert_eq!(&reply[..2], &BINDING_SUCCESS.to_be_bytes());
        assert_eq!(
            usize::from(u16::from_be_bytes([reply[2], reply[3]])),
            reply.len() - 20
        );
        assert_eq!(&reply[8..20], &[7; 12]);
        assert_eq!(&reply[20..22], &XOR_MAPPED_ADDRESS.to_be_bytes());
        let port = u16::from_be_bytes([reply[26], reply[27]]) ^ 0x2112;
        assert_eq!(port, 40000);
        let ip = u32::from_be_bytes([reply[28], reply[29], reply[30], reply[31]]) ^ MAGIC_COOKIE;
        assert_eq!(std::net::Ipv4Addr::from(ip), std::net::Ipv4Addr::LOCALHOST);
        let crc = u32::from_be_bytes(reply[reply.len() - 4..].try_into().unwrap());
        assert_eq!(
            crc ^ FINGERPRINT_XOR,
            crc32fast::hash(&reply[..reply.len() - 8])
        );
    }

    #[test]
    fn anything_else_is_ignored() {
        let from: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        assert!(binding_response(b"hello", from).is_none());
        let mut wrong_cookie = request([1; 12]);
        wrong_cookie[4] = 0;
        assert!(binding_response(&wrong_cookie, from).is_none());
        let mut wrong_length = request([1; 12]);
        wrong_length[3] = 8;
        assert!(binding_response(&wrong_length, from).is_none());
        let mut indication = request([1; 12]);
        indication[1] = 0x11;
        assert!(binding_response(&indication, from).is_none());
        assert!(binding_response(&vec![0; 2000], from).is_none());
    }

    /// coturn's own STUN client (Debian `coturn`) is answered with its mapped address.
    #[tokio::test]
    async fn coturn_s_stun_client_gets_its_mapped_address() {
        let responder = StunResponder::start(IpAddr::from([127, 0, 0, 1]))
            .await
            .unwrap();
        let port = responder.addr.port().to_string();
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new("turnutils_stunclient")
                .args(["-p", &port, "127.0.0.1"])
                .output()
        })
        .await
        .unwrap()
        .expect("turnutils_stunclient (Debian coturn) is installed by scripts/setup.sh");
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(text.contains("UDP reflexive addr: 127.0.0.1:"), "{text}");
    }
}
