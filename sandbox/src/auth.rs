//! Who a request belongs to: tokens, the session cookie and the multiuser provider (§1, §7.1).

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use chrono::Utc;
use gstneko::protocol::MemberProfile;
use rand::Rng;

use super::config::{CookieConfig, RoomConfig};

/// Characters of Neko's random ids and tokens (`utils.NewUID`).
const UID_ALPHABET: &[u8] = b"_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Length of a session token.
pub(super) const TOKEN_LENGTH: usize = 64;

/// Length of the random suffix of a multiuser session id.
const ID_SUFFIX_LENGTH: usize = 5;

/// Why a request or socket was refused; the text is Neko's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum AuthError {
    /// No cookie, bearer header or `?token=`.
    #[error("no authentication provided")]
    NoToken,
    /// Unknown token.
    #[error("session not found")]
    NotFound,
    /// The profile has `can_login` false.
    #[error("session login disabled")]
    LoginDisabled,
    /// The profile has `can_connect` false (WebSocket only).
    #[error("connection disabled")]
    ConnectionDisabled,
    /// Already connected and merciful reconnect is off (WebSocket only).
    #[error("already connected")]
    AlreadyConnected,
}

/// A random string of `length` characters from Neko's alphabet.
pub(super) fn new_uid(length: usize) -> String {
    let mut rng = rand::rng();
    (0..length)
        .map(|_| char::from(UID_ALPHABET[rng.random_range(0..UID_ALPHABET.len())]))
        .collect()
}

/// A multiuser session id: `<username>-<5 random chars>`.
pub(super) fn new_session_id(username: &str) -> String {
    format!("{username}-{}", new_uid(ID_SUFFIX_LENGTH))
}

/// The profile the multiuser provider grants for `password` (admin password first), or `None`.
pub(super) fn profile_for(
    config: &RoomConfig,
    username: &str,
    password: &str,
) -> Option<MemberProfile> {
    let template = if !config.admin_password.is_empty() && password == config.admin_password {
        &config.admin_profile
    } else if !config.user_password.is_empty() && password == config.user_password {
        &config.user_profile
    } else {
        return None;
    };
    let mut profile = template.clone();
    if profile.name.is_empty() {
        profile.name = username.to_owned();
    }
    Some(profile)
}

/// The first cookie called `name` among the request's `Cookie` headers.
pub(super) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"').to_owned())
}

/// The request's token, from the first source present: cookie (when enabled), `Authorization: Bearer`, `?token=`.
pub(super) fn request_token(
    headers: &HeaderMap,
    query: Option<&str>,
    cookie: &CookieConfig,
) -> Option<String> {
    if cookie.enabled
        && let Some(token) = cookie_value(headers, &cookie.name)
    {
        return Some(token);
    }
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split("Bearer ").collect::<Vec<_>>());
    if let Some([_, token]) = bearer.as_deref() {
        return Some(token.trim().to_owned());
    }
    let query = query?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
        .filter(|token| !token.is_empty())
}

/// HTTP date as cookies want it.
fn http_date(at: chrono::DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// The `Set-Cookie` value that hands `token` to the browser.
pub(super) fn set_cookie(cookie: &CookieConfig, token: &str) -> String {
    let expires = chrono::Duration::from_std(cookie.expiration)
        .ok()
        .and_then(|lifetime| Utc::now().checked_add_signed(lifetime))
        .unwrap_or_else(Utc::now);
    let mut value = format!("{}={token}; Expires={}", cookie.name, http_date(expires));
    if cookie.http_only {
        value.push_str("; HttpOnly");
    }
    if cookie.secure {
        value.push_str("; Secure; SameSite=None");
    }
    value
}

/// The `Set-Cookie` value that clears the cookie, or `None` when the request carried none.
pub(super) fn clear_cookie(headers: &HeaderMap, cookie: &CookieConfig) -> Option<String> {
    cookie_value(headers, &cookie.name)?;
    Some(format!(
        "{}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        cookie.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    #[test]
    fn uids_use_neko_alphabet() {
        let token = new_uid(TOKEN_LENGTH);
        assert_eq!(token.len(), 64);
        assert!(token.bytes().all(|b| UID_ALPHABET.contains(&b)));
        let id = new_session_id("alice");
        assert!(id.starts_with("alice-") && id.len() == "alice-".len() + 5);
    }

    #[test]
    fn admin_password_is_tested_first() {
        let config = RoomConfig {
            user_password: "same".into(),
            admin_password: "same".into(),
            ..RoomConfig::default()
        };
        let profile = profile_for(&config, "bob", "same").expect("profile");
        assert!(profile.is_admin);
        assert_eq!(profile.name, "bob");
        let config = RoomConfig::default();
        assert!(!profile_for(&config, "a", "neko").expect("user").is_admin);
        assert!(profile_for(&config, "a", "wrong").is_none());
        assert!(profile_for(&config, "a", "").is_none());
    }

    #[test]
    fn token_source_order() {
        let on = CookieConfig {
            enabled: true,
            ..CookieConfig::default()
        };
        let off = CookieConfig::default();
        let all = headers(&[
            ("cookie", "other=1; NEKO_SESSION=from-cookie"),
            ("authorization", "Bearer from-header "),
        ]);
        assert_eq!(
            request_token(&all, Some("token=q"), &on).as_deref(),
            Some("from-cookie")
        );
        assert_eq!(
            request_token(&all, Some("token=q"), &off).as_deref(),
            Some("from-header")
        );
        let bad_bearer = headers(&[("authorization", "Basic abc")]);
        assert_eq!(
            request_token(&bad_bearer, Some("a=1&token=q%2B"), &off).as_deref(),
            Some("q+")
        );
        assert_eq!(request_token(&HeaderMap::new(), Some("token="), &off), None);
        assert_eq!(request_token(&HeaderMap::new(), None, &on), None);
    }

    #[test]
    fn cookie_strings() {
        let config = CookieConfig::default();
        let value = set_cookie(&config, "tok");
        assert!(value.starts_with("NEKO_SESSION=tok; Expires="));
        assert!(
            value.ends_with("GMT; HttpOnly; Secure; SameSite=None"),
            "{value}"
        );
        let plain = CookieConfig {
            secure: false,
            http_only: false,
            ..CookieConfig::default()
        };
        assert!(set_cookie(&plain, "t").ends_with("GMT"));
        let with = headers(&[("cookie", "NEKO_SESSION=x")]);
        assert_eq!(
            clear_cookie(&with, &config).as_deref(),
            Some("NEKO_SESSION=; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
        );
        assert_eq!(clear_cookie(&HeaderMap::new(), &config), None);
    }
}
