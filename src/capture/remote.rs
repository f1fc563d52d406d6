//! The remote copy of a dataset: `s3://bucket/prefix` on AWS S3 or any S3-compatible server
//! (MinIO, R2…), configured from the AWS variables and `S3_ENDPOINT_URL` as the Python tool was.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
    WriteMultipart,
};
use tokio::io::AsyncReadExt;

/// Files up to this size go up in one request; larger ones in parts of this size.
const PART_SIZE: usize = 16 << 20;

/// A remote location: bucket and key prefix (no leading or trailing slash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUrl {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix of the dataset, empty for the bucket's root.
    pub prefix: String,
}

/// Why `CAPTURE_REMOTE` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteUrlError {
    /// Not a URL at all.
    #[error("{0:?} is not a URL: give s3://bucket/prefix")]
    NotAUrl(String),
    /// A URL of another scheme.
    #[error(
        "{0:?}: only s3:// remotes are supported (S3-compatible servers such as MinIO or R2 too, with S3_ENDPOINT_URL)"
    )]
    NotS3(String),
    /// A bucket name S3 refuses.
    #[error(
        "{text:?}: {bucket:?} is not a valid bucket name (3-63 lowercase letters, digits, '-' or '.')"
    )]
    BadBucket {
        /// The whole setting.
        text: String,
        /// The bucket part.
        bucket: String,
    },
    /// A prefix with `.` or `..` parts.
    #[error("{0:?}: the prefix may not contain . or .. parts")]
    DotPrefix(String),
}

impl RemoteUrl {
    /// Parses `CAPTURE_REMOTE`: empty for none, else `s3://bucket[/prefix]`.
    pub fn parse_setting(text: &str) -> Result<Option<Self>, RemoteUrlError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let Some(rest) = text.strip_prefix("s3://") else {
            let scheme = text.split_once("://").map_or("", |(s, _)| s);
            return Err(if scheme.is_empty() {
                RemoteUrlError::NotAUrl(text.to_owned())
            } else {
                RemoteUrlError::NotS3(text.to_owned())
            });
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !valid_bucket {
            return Err(RemoteUrlError::BadBucket {
                text: text.to_owned(),
                bucket: bucket.to_owned(),
            });
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|part| part == "." || part == "..") {
            return Err(RemoteUrlError::DotPrefix(text.to_owned()));
        }
        Ok(Some(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        }))
    }

    /// The key of a file of the dataset.
    fn key(&self, name: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.prefix))
        }
    }
}

impl fmt::Display for RemoteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// Why a remote operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The settings cannot work (retrying will not help).
    #[error("{0}")]
    Config(String),
    /// The server refused: bad credentials, no permission, no such bucket.
    #[error("{0}")]
    Refused(String),
    /// The server could not be reached or failed; trying again later may work.
    #[error("{0}")]
    Unavailable(String),
    /// A local file could not be read.
    #[error("cannot read {path}: {source}")]
    Local {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A connection to the remote dataset location.
#[derive(Clone)]
pub struct Remote {
    store: Arc<AmazonS3>,
    url: RemoteUrl,
    endpoint: String,
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.url.to_string())
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl Remote {
    /// Configures the client from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`, `AWS_DEFAULT_REGION`, and `S3_ENDPOINT_URL` or `AWS_ENDPOINT_URL`
    /// for S3-compatible servers); nothing goes over the network yet.
    pub fn from_env(url: &RemoteUrl) -> Result<Self, RemoteError> {
        let endpoint = ["S3_ENDPOINT_URL", "AWS_ENDPOINT_URL"]
            .iter()
            .find_map(|name| {
                std::env::var(name)
                    .ok()
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (*name, v.trim().to_owned()))
            });
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&url.bucket)
            .with_virtual_hosted_style_request(false)
            // Failures are retried by the uploader, which says what happens; keep each call short.
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(200),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 2,
                retry_timeout: Duration::from_secs(20),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(300)),
            );
        let mut shown = "AWS S3".to_owned();
        if let Some((name, endpoint)) = &endpoint {
            let parsed = url::Url::parse(endpoint).map_err(|e| {
                RemoteError::Config(format!(
                    "{name} {endpoint:?} is not a URL ({e}); give e.g. https://minio.example.com:9000"
                ))
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(RemoteError::Config(format!(
                    "{name} {endpoint:?} must start with http:// or https://"
                )));
            }
            builder = builder
                .with_endpoint(endpoint.trim_end_matches('/'))
                .with_allow_http(parsed.scheme() == "http");
            shown = endpoint.clone();
        }
        let store = builder.build().map_err(|e| {
            RemoteError::Config(format!(
                "cannot set up the S3 client for {url}: {}",
                chain(&e)
            ))
        })?;
        Ok(Self {
            store: Arc::new(store),
            url: url.clone(),
            endpoint: shown,
        })
    }

    /// The remote location.
    pub fn url(&self) -> &RemoteUrl {
        &self.url
    }

    /// The files directly under the prefix, with their sizes.
    pub async fn list(&self) -> Result<BTreeMap<String, u64>, RemoteError> {
        let prefix =
            (!self.url.prefix.is_empty()).then(|| ObjectPath::from(self.url.prefix.as_str()));
        let mut listing = self.store.list(prefix.as_ref());
        let mut files = BTreeMap::new();
        while let Some(item) = listing.next().await {
            let meta = item.map_err(|e| self.error("list", &self.url.to_string(), e))?;
            let relative = match &prefix {
                Some(prefix) => meta
                    .location
                    .prefix_match(prefix)
                    .map(|parts| parts.map(|p| p.as_ref().to_owned()).collect::<Vec<_>>()),
                None => Some(
                    meta.location
                        .parts()
                        .map(|p| p.as_ref().to_owned())
                        .collect(),
                ),
            };
            if let Some([name]) = relative.as_deref() {
                files.insert(name.clone(), meta.size);
            }
        }
        Ok(files)
    }

    /// Downloads a file of the dataset; `None` when it does not exist.
    pub async fn download(&self, name: &str) -> Result<Option<Bytes>, RemoteError> {
        let key = self.url.key(name);
        match self.store.get(&key).await {
            Ok(result) => result
                .bytes()
                .await
                .map(Some)
                .map_err(|e| self.error("download", name, e)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("download", name, e)),
        }
    }

    /// Uploads a local file as `name` under the prefix (in parts when large); returns its size.
    pub async fn upload_file(&self, path: &Path, name: &str) -> Result<u64, RemoteError> {
        let local = |source| RemoteError::Local {
            path: path.to_owned(),
            source,
        };
        let mut file = tokio::fs::File::open(path).await.map_err(local)?;
        let size = file.metadata().await.map_err(local)?.len();
        let key = self.url.key(name);
        if size <= PART_SIZE as u64 {
            let mut data = Vec::with_capacity(size as usize);
            file.read_to_end(&mut data).await.map_err(local)?;
            self.store
                .put(&key, PutPayload::from(data))
                .await
                .map_err(|e| self.error("upload", name, e))?;
            return Ok(size);
        }
        let upload = self
            .store
            .put_multipart(&key)
            .await
            .map_err(|e| self.error("start the upload of", name, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buffer = vec![0u8; PART_SIZE];
        loop {
            let read = match file.read(&mut buffer).await {
                Ok(0) => break,
                Ok(read) => read,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(local(e));
                }
            };
            if let Err(e) = writer.wait_for_capacity(4).await {
                return Err(self.error("upload", name, e));
            }
            writer.write(&buffer[..read]);
        }
        writer
            .finish()
            .await
            .map_err(|e| self.error("upload", name, e))?;
        Ok(size)
    }

    /// Uploads bytes as `name` under the prefix.
    pub async fn upload_bytes(&self, name: &str, data: Vec<u8>) -> Result<(), RemoteError> {
        self.store
            .put(&self.url.key(name), PutPayload::from(data))
            .await
            .map(|_| ())
            .map_err(|e| self.error("upload", name, e))
    }

    /// An error worded for the user, sorted into what retrying can and cannot fix.
    fn error(&self, action: &str, what: &str, error: object_store::Error) -> RemoteError {
        let detail = chain(&error);
        let message = format!(
            "cannot {action} {what} at {} ({}): {detail}",
            self.url, self.endpoint
        );
        match error {
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => RemoteError::Refused(format!(
                "{message}; check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and the bucket's permissions"
            )),
            _ if detail.contains("NoSuchBucket") => RemoteError::Refused(format!(
                "{message}; the bucket {:?} does not exist: create it or fix CAPTURE_REMOTE",
                self.url.bucket
            )),
            _ if detail.contains("InvalidAccessKeyId")
                || detail.contains("SignatureDoesNotMatch") =>
            {
                RemoteError::Refused(format!(
                    "{message}; check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
                ))
            }
            _ => RemoteError::Unavailable(message),
        }
    }
}

/// An error and its sources on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text = format!("{text}: {inner_text}");
        }
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let url = RemoteUrl::parse_setting("s3://my-bucket/training/ui-episodes/")
            .unwrap()
            .unwrap();
        assert_eq!(url.bucket, "my-bucket");
        assert_eq!(url.prefix, "training/ui-episodes");
        assert_eq!(url.to_string(), "s3://my-bucket/training/ui-episodes");
        assert_eq!(
            url.key("index.json").as_ref(),
            "training/ui-episodes/index.json"
        );
        let root = RemoteUrl::parse_setting("s3://bucket").unwrap().unwrap();
        assert_eq!(root.key("shard.00000.mds").as_ref(), "shard.00000.mds");
        assert_eq!(RemoteUrl::parse_setting("  ").unwrap(), None);
        for (bad, why) in [
            ("gs://bucket/x", "only s3://"),
            ("bucket/x", "not a URL"),
            ("s3://Bad_Bucket/x", "not a valid bucket"),
            ("s3:///x", "not a valid bucket"),
            ("s3://bucket/a/../b", ".."),
        ] {
            let error = RemoteUrl::parse_setting(bad).unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }
}
