//! Partial JSON updates with Go's `json.Unmarshal`-into-existing-value semantics.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Merges `patch` into `target`: objects merge key by key, other values replace,
/// and `null` only clears values that are objects or already null (Go leaves scalars untouched).
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                match target.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, Value::Null) => {
            if target.is_object() {
                *target = Value::Null;
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

/// `current` with `patch` applied; fails when the result no longer has `T`'s shape.
pub(super) fn apply<T: Serialize + DeserializeOwned>(
    current: &T,
    patch: &Value,
) -> Result<T, serde_json::Error> {
    let mut value = serde_json::to_value(current)?;
    merge(&mut value, patch);
    serde_json::from_value(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gstneko::protocol::Settings;
    use serde_json::json;

    #[test]
    fn partial_settings_update() {
        let current = Settings {
            plugins: Some(serde_json::Map::from_iter([("a".to_owned(), json!(1))])),
            ..Settings::default()
        };
        let patched = apply(
            &current,
            &json!({"implicit_hosting": true, "plugins": {"b": 2}}),
        )
        .expect("patch");
        assert!(patched.implicit_hosting && patched.merciful_reconnect);
        assert_eq!(patched.plugins.as_ref().map(|p| p.len()), Some(2));
        let cleared =
            apply(&patched, &json!({"plugins": null, "private_mode": null})).expect("patch");
        assert_eq!(cleared.plugins, None);
        assert!(!cleared.private_mode);
        assert!(apply(&current, &json!({"heartbeat_interval": "soon"})).is_err());
    }
}
