//! The room's HTTP routes.

mod chat;
mod clipboard;
mod control;
mod error;
mod extract;
mod keyboard;
mod members;
mod sandbox;
mod screen;
mod session;
mod sessions;
mod settings;

use std::sync::Arc;

use axum::Router;
use axum::routing::{MethodRouter, get, post};

use super::state::RoomShared;
use super::ws;

/// Registers `route` at `path` and at `path/` (chi serves a sub-router's `/` both ways).
fn both(
    router: Router<Arc<RoomShared>>,
    path: &str,
    route: MethodRouter<Arc<RoomShared>>,
) -> Router<Arc<RoomShared>> {
    router
        .route(path, route.clone())
        .route(&format!("{path}/"), route)
}

/// Every route of the room.
pub(super) fn router(room: Arc<RoomShared>) -> Router {
    let router = Router::new()
        .route("/api/login", post(session::login))
        .route("/api/logout", post(session::logout))
        .route("/api/whoami", get(session::whoami))
        .route("/api/profile", post(session::profile))
        .route("/api/ws", get(ws::upgrade))
        .route(
            "/api/sessions/{id}",
            get(sessions::read).delete(sessions::delete),
        )
        .route("/api/sessions/{id}/disconnect", post(sessions::disconnect))
        .route("/api/room/control/request", post(control::request))
        .route("/api/room/control/release", post(control::release))
        .route("/api/room/control/take", post(control::take))
        .route("/api/room/control/give/{id}", post(control::give))
        .route("/api/room/control/reset", post(control::reset))
        .route(
            "/api/room/screen/configurations",
            get(screen::configurations),
        )
        .route("/api/room/clipboard/image.png", get(clipboard::image))
        .route(
            "/api/room/keyboard/map",
            get(keyboard::get_map).post(keyboard::set_map),
        )
        .route(
            "/api/room/keyboard/modifiers",
            get(keyboard::get_modifiers).post(keyboard::set_modifiers),
        )
        .route("/api/room/screen/shot.jpg", get(screen::shot))
        .route("/api/room/screen/cast.jpg", get(screen::cast))
        .route(
            "/api/sandbox/inputs",
            get(sandbox::inputs).delete(sandbox::clear),
        )
        .route(
            "/api/sandbox/microphone.wav",
            get(sandbox::microphone).delete(sandbox::clear_microphone),
        );
    let router = both(router, "/api/chat", post(chat::send));
    let router = both(router, "/api/sessions", get(sessions::list));
    let router = both(router, "/api/members", get(members::list));
    let router = both(
        router,
        "/api/room/clipboard",
        get(clipboard::get).post(clipboard::set),
    );
    let router = both(
        router,
        "/api/room/settings",
        get(settings::get).post(settings::set),
    );
    let router = both(router, "/api/room/control", get(control::status));
    let router = both(
        router,
        "/api/room/screen",
        get(screen::get).post(screen::set),
    );
    router.with_state(room)
}
