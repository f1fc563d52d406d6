//! The rooms tasks drive: named rooms from the rooms file (`--rooms`), a server and login given
//! in the task, or the service's default room — `NEKO_URL`/`NEKO_USER`/`NEKO_PASS` as `run`
//! uses them, or the embedded sandbox room when none is set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::api::error::ApiError;
use super::task::RoomRef;
use crate::connection::ConnectionArgs;

/// Largest rooms file read.
const MAX_ROOMS_FILE: u64 = 1 << 20;

/// A room of the rooms file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedRoom {
    /// Server base URL.
    pub url: String,
    /// Login name.
    pub username: String,
    /// Login password (or `password_file`).
    #[serde(default)]
    pub password: Option<String>,
    /// A file holding the password (a mounted secret).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoomsFile {
    #[serde(default)]
    rooms: BTreeMap<String, NamedRoom>,
}

/// Why the rooms file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RoomsError {
    /// It could not be read.
    #[error("rooms file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is too large to be a rooms file.
    #[error("rooms file {0}: larger than 1 MiB")]
    TooLarge(PathBuf),
    /// It is not valid TOML of the expected shape.
    #[error("rooms file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: toml::de::Error,
    },
    /// A room's settings are wrong.
    #[error("rooms file {path}: room {name:?}: {problem}")]
    Room {
        /// The file.
        path: PathBuf,
        /// The room.
        name: String,
        /// What is wrong.
        problem: String,
    },
}

/// Where a task's room is.
#[derive(Debug, Clone)]
pub enum RoomTarget {
    /// A Neko server (the settings `run` would take).
    Server(Box<ConnectionArgs>),
    /// The embedded sandbox room of this worker.
    Embedded,
}

impl RoomTarget {
    /// A key naming the room, so one agent at a time drives it.
    pub fn key(&self) -> String {
        match self {
            Self::Server(connection) => connection
                .neko_url
                .clone()
                .or_else(|| connection.ws.clone())
                .unwrap_or_default(),
            Self::Embedded => "embedded".into(),
        }
    }
}

/// The rooms a service knows.
#[derive(Debug, Clone)]
pub struct RoomBook {
    named: BTreeMap<String, NamedRoom>,
    default: ConnectionArgs,
}

impl RoomBook {
    /// The book from the rooms file (if any) and the default connection settings.
    pub fn load(file: Option<&Path>, default: ConnectionArgs) -> Result<Self, RoomsError> {
        let named = match file {
            Some(path) => read_rooms(path)?,
            None => BTreeMap::new(),
        };
        Ok(Self { named, default })
    }

    /// The room names of the rooms file.
    pub fn names(&self) -> Vec<String> {
        self.named.keys().cloned().collect()
    }

    /// `400` when `room` names a room the book does not have.
    pub fn check(&self, room: Option<&RoomRef>) -> Result<(), ApiError> {
        if let Some(name) = room.and_then(|room| room.name.as_deref())
            && !self.named.contains_key(name)
        {
            let known = if self.named.is_empty() {
                "the service has no rooms file (--rooms)".to_owned()
            } else {
                format!("known: {}", self.names().join(", "))
            };
            return Err(ApiError::field(
                "room.name",
                format!("no room named {name:?}; {known}"),
            ));
        }
        Ok(())
    }

    /// Where a task with `room` runs (None: the default room). A room name unknown here (the
    /// rooms file changed since the task was queued) is an error for the task.
    pub fn resolve(&self, room: Option<&RoomRef>) -> Result<RoomTarget, String> {
        let Some(room) = room else {
            return Ok(if self.default.is_configured() {
                RoomTarget::Server(Box::new(self.default.clone()))
            } else {
                RoomTarget::Embedded
            });
        };
        let mut connection = self.default.clone();
        connection.ws = None;
        if let Some(name) = &room.name {
            let named = self
                .named
                .get(name)
                .ok_or_else(|| format!("no room named {name:?} in this worker's rooms file"))?;
            connection.neko_url = Some(named.url.clone());
            connection.username = Some(named.username.clone());
            connection.password = Some(match &named.password_file {
                Some(path) => std::fs::read_to_string(path)
                    .map_err(|error| {
                        format!("room {name:?}: password file {}: {error}", path.display())
                    })?
                    .trim()
                    .to_owned(),
                None => named.password.clone().unwrap_or_default(),
            });
        } else {
            connection.neko_url = room.url.clone();
            connection.username = room.username.clone();
            connection.password = room.password.clone();
        }
        Ok(RoomTarget::Server(Box::new(connection)))
    }
}

fn read_rooms(path: &Path) -> Result<BTreeMap<String, NamedRoom>, RoomsError> {
    let read = |source| RoomsError::Read {
        path: path.to_owned(),
        source,
    };
    if std::fs::metadata(path).map_err(read)?.len() > MAX_ROOMS_FILE {
        return Err(RoomsError::TooLarge(path.to_owned()));
    }
    let text = std::fs::read_to_string(path).map_err(read)?;
    let file: RoomsFile = toml::from_str(&text).map_err(|source| RoomsError::Parse {
        path: path.to_owned(),
        source,
    })?;
    for (name, room) in &file.rooms {
        let problem = |problem: &str| RoomsError::Room {
            path: path.to_owned(),
            name: name.clone(),
            problem: problem.to_owned(),
        };
        if !matches!(
            url::Url::parse(&room.url)
                .map(|u| u.scheme().to_owned())
                .as_deref(),
            Ok("http" | "https")
        ) {
            return Err(problem("url must be an http:// or https:// URL"));
        }
        if room.password.is_some() == room.password_file.is_some() {
            return Err(problem("give exactly one of password and password_file"));
        }
    }
    Ok(file.rooms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_rooms_resolve_and_unknown_names_are_a_field_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rooms.toml");
        std::fs::write(
            &file,
            "[rooms.lab]\nurl = \"https://neko.example\"\nusername = \"agent\"\npassword = \"pw\"\n",
        )
        .unwrap();
        let book = RoomBook::load(Some(&file), ConnectionArgs::default()).unwrap();
        let lab = RoomRef {
            name: Some("lab".into()),
            url: None,
            username: None,
            password: None,
        };
        assert!(book.check(Some(&lab)).is_ok());
        let RoomTarget::Server(connection) = book.resolve(Some(&lab)).unwrap() else {
            panic!("a server");
        };
        assert_eq!(connection.password.as_deref(), Some("pw"));
        let other = RoomRef {
            name: Some("other".into()),
            ..lab
        };
        let error = book.check(Some(&other)).unwrap_err();
        assert!(error.to_string().contains("invalid request"));
        assert!(matches!(book.resolve(None).unwrap(), RoomTarget::Embedded));
    }

    #[test]
    fn a_room_without_one_password_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rooms.toml");
        std::fs::write(
            &file,
            "[rooms.lab]\nurl = \"https://n\"\nusername = \"a\"\n",
        )
        .unwrap();
        let error = RoomBook::load(Some(&file), ConnectionArgs::default()).unwrap_err();
        assert!(
            error.to_string().contains("exactly one of password"),
            "{error}"
        );
    }
}
