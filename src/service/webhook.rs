//! Webhooks: a task's record POSTed to its `callback_url` when it ends (and when a person takes
//! over), signed with HMAC-SHA256, retried with backoff on a task of its own so a slow or
//! failing receiver never holds a worker up.
//!
//! Headers: `X-Neko-Event` (`task.completed`, `task.failed`, `task.cancelled`,
//! `task.paused`), `X-Neko-Delivery` (unique per event, the same on every retry),
//! `X-Neko-Timestamp` (Unix seconds) and, when a secret is set, `X-Neko-Signature:
//! sha256=<hex>` over `<timestamp>.<body>`.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::task::Task;

/// Delivery attempts per event.
pub const ATTEMPTS: u32 = 6;

/// First wait between attempts; it doubles after each.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// Longest a receiver may take to answer one attempt.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends the webhooks of this process.
#[derive(Clone)]
pub struct Webhooks {
    http: reqwest::Client,
    secret: Option<Vec<u8>>,
    first_backoff: Duration,
}

impl Webhooks {
    /// Webhooks signed with `secret` (unsigned without one).
    pub fn new(secret: Option<Vec<u8>>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            http,
            secret,
            first_backoff: FIRST_BACKOFF,
        }
    }

    /// The same, retrying sooner (tests).
    pub fn with_first_backoff(mut self, backoff: Duration) -> Self {
        self.first_backoff = backoff;
        self
    }

    /// Sends `task` as `event` to its callback URL in the background (nothing without one).
    pub fn notify(&self, event: &'static str, task: &Task) {
        let Some(url) = task.spec.callback_url.clone() else {
            return;
        };
        let body = match serde_json::to_vec(&task.redacted()) {
            Ok(body) => body,
            Err(error) => {
                tracing::warn!(%error, "webhook body could not be encoded");
                return;
            }
        };
        let delivery = format!(
            "{}-{}-{}",
            task.task_id,
            event,
            task.updated_at.timestamp_micros()
        );
        let hooks = self.clone();
        let task_id = task.task_id.clone();
        tokio::spawn(async move {
            if let Err(last) = hooks.deliver(&url, event, &delivery, &body).await {
                tracing::warn!(task_id, url, event, error = %last, "webhook gave up after {ATTEMPTS} attempts");
            }
        });
    }

    async fn deliver(
        &self,
        url: &str,
        event: &str,
        delivery: &str,
        body: &[u8],
    ) -> Result<(), String> {
        let mut backoff = self.first_backoff;
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            let timestamp = chrono::Utc::now().timestamp().to_string();
            let mut request = self
                .http
                .post(url)
                .header("content-type", "application/json")
                .header("x-neko-event", event)
                .header("x-neko-delivery", delivery)
                .header("x-neko-timestamp", &timestamp)
                .body(body.to_vec());
            if let Some(secret) = &self.secret {
                request = request.header("x-neko-signature", signature(secret, &timestamp, body));
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => {
                    tracing::debug!(url, event, attempt, "webhook delivered");
                    return Ok(());
                }
                Ok(response) => last = format!("the receiver answered {}", response.status()),
                Err(error) => last = error.to_string(),
            }
            tracing::info!(url, event, attempt, error = %last, "webhook attempt failed; retrying");
            if attempt < ATTEMPTS {
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
        }
        Err(last)
    }
}

/// `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
pub fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HMAC-SHA256 by its definition (RFC 2104), for a key shorter than the block.
    fn by_definition(key: &[u8], message: &[u8]) -> String {
        use sha2::Digest;
        let mut block = [0u8; 64];
        block[..key.len()].copy_from_slice(key);
        let inner: Vec<u8> = block
            .iter()
            .map(|b| b ^ 0x36)
            .chain(message.iter().copied())
            .collect();
        let inner = Sha256::digest(&inner);
        let outer: Vec<u8> = block
            .iter()
            .map(|b| b ^ 0x5c)
            .chain(inner.iter().copied())
            .collect();
        Sha256::digest(&outer)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        let signed = signature(b"Jefe", "1700000000", b"{\"task_id\":\"t\"}");
        let expected = by_definition(b"Jefe", b"1700000000.{\"task_id\":\"t\"}");
        assert_eq!(signed, format!("sha256={expected}"));
        // RFC 4231 test case 2 through the same definition.
        assert_eq!(
            by_definition(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
