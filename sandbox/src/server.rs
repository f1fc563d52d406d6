//! The HTTP listener: bind, serve, and stop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::error::RoomError;
use super::rest;
use super::state::RoomShared;
use super::tls::TlsListener;

/// How long a stop waits for in-flight requests before aborting the server.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// A running HTTP server.
pub(super) struct Server {
    /// The bound address.
    pub addr: SocketAddr,
    /// Whether it serves TLS.
    pub tls: bool,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Server {
    /// Binds the configured address and starts serving the room's routes.
    pub async fn start(room: Arc<RoomShared>) -> Result<Self, RoomError> {
        let bind = room.config.bind;
        let listener = TcpListener::bind(bind)
            .await
            .map_err(|source| RoomError::Bind { addr: bind, source })?;
        let addr = listener.local_addr().map_err(RoomError::LocalAddr)?;
        let tls = match &room.config.tls {
            Some(files) => Some(files.acceptor()?),
            None => None,
        };
        let app = rest::router(room);
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        let serves_tls = tls.is_some();
        let task = match tls {
            Some(acceptor) => {
                let listener =
                    TlsListener::new(listener, acceptor).map_err(RoomError::LocalAddr)?;
                tokio::spawn(serve(listener, app, stopped))
            }
            None => tokio::spawn(serve(listener, app, stopped)),
        };
        Ok(Self {
            addr,
            tls: serves_tls,
            stop,
            task,
        })
    }

    /// Stops accepting, waits briefly for in-flight requests, then aborts.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let abort = self.task.abort_handle();
        if tokio::time::timeout(STOP_GRACE, self.task).await.is_err() {
            abort.abort();
        }
    }

    /// Stops at once without waiting: signals the graceful stop and aborts the serving task
    /// (for callers that cannot await, such as a drop inside a runtime).
    #[cfg(any(test, feature = "testing"))]
    pub fn stop_now(self) {
        let _ = self.stop.send(());
        self.task.abort();
    }
}

/// Serves `app` on `listener` until `stopped` completes.
async fn serve<L>(
    listener: L,
    app: axum::Router,
    stopped: impl Future<Output = ()> + Send + 'static,
) where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(stopped)
        .await;
    if let Err(error) = served {
        tracing::error!(%error, "room server failed");
    }
}
