//! Bounds on what a client may store in the room through REST: login names and profiles.

use gstneko::protocol::MemberProfile;

/// Longest username at login, and longest profile `name`, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// Largest profile an admin may set, as JSON bytes (`plugins` is free-form).
pub const MAX_PROFILE_BYTES: usize = 16 * 1024;

/// A value above its bound; answered with `400` and this message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(super) enum LimitError {
    /// A name field is too long.
    #[error("{field} is {len} bytes long; at most {MAX_NAME_BYTES} are allowed")]
    NameTooLong {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
    },
    /// The whole profile is too large.
    #[error("the profile is {len} bytes as JSON; at most {MAX_PROFILE_BYTES} are allowed")]
    ProfileTooLarge {
        /// Its JSON length.
        len: usize,
    },
}

/// Checks a name field (`username`, `name`).
pub(super) fn check_name(field: &'static str, value: &str) -> Result<(), LimitError> {
    if value.len() > MAX_NAME_BYTES {
        return Err(LimitError::NameTooLong {
            field,
            len: value.len(),
        });
    }
    Ok(())
}

/// Checks a profile's name and its total size.
pub(super) fn check_profile(profile: &MemberProfile) -> Result<(), LimitError> {
    check_name("name", &profile.name)?;
    let len = serde_json::to_vec(profile).map(|v| v.len()).unwrap_or(0);
    if len > MAX_PROFILE_BYTES {
        return Err(LimitError::ProfileTooLarge { len });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_profiles_are_bounded() {
        assert!(check_name("username", &"a".repeat(MAX_NAME_BYTES)).is_ok());
        assert_eq!(
            check_name("username", &"a".repeat(MAX_NAME_BYTES + 1)),
            Err(LimitError::NameTooLong {
                field: "username",
                len: MAX_NAME_BYTES + 1
            })
        );
        let mut profile = MemberProfile::user().with_name("alice");
        assert!(check_profile(&profile).is_ok());
        let mut plugins = serde_json::Map::new();
        plugins.insert("blob".into(), "x".repeat(MAX_PROFILE_BYTES).into());
        profile.plugins = Some(plugins);
        assert!(matches!(
            check_profile(&profile),
            Err(LimitError::ProfileTooLarge { .. })
        ));
    }
}
