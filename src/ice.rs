//! NAT traversal settings shared by every subcommand that opens WebRTC: the ICE transport policy
//! and the STUN/TURN servers added to the ones the room announces (`NEKO_ICE_POLICY`,
//! `NEKO_STUN_URL`, `NEKO_TURN_URL`, `NEKO_TURN_USER`, `NEKO_TURN_PASS`; `yap` also reads the
//! Python tool's `YAP_*` names for them).

/// The ICE flags as given (text, so that every mistake can be reported together).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct IceArgs {
    /// ICE policy: all (any candidate; our STUN/TURN added to the room's), relay (TURN relay
    /// only) or strict (the room's servers only, as the Python tool's default).
    #[arg(long = "ice-policy", env = "NEKO_ICE_POLICY")]
    pub policy: Option<String>,
    /// STUN server (stun:host:port), used instead of the room's.
    #[arg(long = "stun-url", env = "NEKO_STUN_URL")]
    pub stun_url: Option<String>,
    /// TURN server (turn:host:port[?transport=udp|tcp]), added to the room's.
    #[arg(long = "turn-url", env = "NEKO_TURN_URL")]
    pub turn_url: Option<String>,
    /// TURN username.
    #[arg(long = "turn-user", env = "NEKO_TURN_USER")]
    pub turn_user: Option<String>,
    /// TURN password (never logged).
    #[arg(long = "turn-pass", env = "NEKO_TURN_PASS", hide_env_values = true)]
    pub turn_pass: Option<String>,
}

/// Which candidates ICE may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IcePolicy {
    /// Any candidate; our STUN and TURN servers join the room's.
    #[default]
    All,
    /// Only candidates relayed through a TURN server.
    Relay,
    /// The room's servers only: our STUN and TURN settings are not used.
    Strict,
}

/// Checked ICE settings in the elements' syntax.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IceSettings {
    /// The policy.
    pub policy: IcePolicy,
    /// `stun://host:port`, replacing the room's STUN server.
    pub stun_server: Option<String>,
    /// `turn://user:pass@host:port…`, added to the room's TURN servers.
    pub turn_servers: Vec<String>,
}

impl IceSettings {
    /// webrtcbin's `ice-transport-policy` for the policy.
    pub fn transport_policy(&self) -> &'static str {
        match self.policy {
            IcePolicy::Relay => "relay",
            IcePolicy::All | IcePolicy::Strict => "all",
        }
    }
}

impl IceArgs {
    /// Fills settings not given from the environment variables `{prefix}_ICE_POLICY`,
    /// `{prefix}_STUN_URL`, `{prefix}_TURN_URL`, `{prefix}_TURN_USER`, `{prefix}_TURN_PASS`.
    pub fn or_env(mut self, prefix: &str) -> Self {
        let env = |name: &str| std::env::var(format!("{prefix}_{name}")).ok();
        for (field, name) in [
            (&mut self.policy, "ICE_POLICY"),
            (&mut self.stun_url, "STUN_URL"),
            (&mut self.turn_url, "TURN_URL"),
            (&mut self.turn_user, "TURN_USER"),
            (&mut self.turn_pass, "TURN_PASS"),
        ] {
            if field.is_none() {
                *field = env(name);
            }
        }
        self
    }

    /// Checks the settings; every problem is returned.
    pub fn resolve(&self) -> Result<IceSettings, Vec<String>> {
        let mut problems = Vec::new();
        let policy = match given(&self.policy) {
            None | Some("all") => IcePolicy::All,
            Some("relay") => IcePolicy::Relay,
            Some("strict") => IcePolicy::Strict,
            Some(other) => {
                problems.push(format!(
                    "--ice-policy/NEKO_ICE_POLICY is {other:?}; use all, relay or strict"
                ));
                IcePolicy::All
            }
        };
        let stun_server =
            given(&self.stun_url).and_then(|url| match server_uri(url, &["stun", "stuns"]) {
                Some((scheme, address)) if !address.contains('@') => {
                    Some(format!("{scheme}://{address}"))
                }
                _ => {
                    problems.push(format!(
                        "--stun-url/NEKO_STUN_URL {url:?} is not a STUN URL like stun:host:3478"
                    ));
                    None
                }
            });
        let turn_server = given(&self.turn_url).and_then(|url| {
            let Some((scheme, address)) = server_uri(url, &["turn", "turns"]) else {
                problems.push(format!(
                    "--turn-url/NEKO_TURN_URL {url:?} is not a TURN URL like turn:host:3478"
                ));
                return None;
            };
            if address.contains('@') {
                problems.push("--turn-url/NEKO_TURN_URL carries credentials; give them with --turn-user/NEKO_TURN_USER and --turn-pass/NEKO_TURN_PASS".into());
                return None;
            }
            match (given(&self.turn_user), self.turn_pass.as_deref()) {
                (Some(user), Some(pass)) => Some(format!(
                    "{scheme}://{}:{}@{address}",
                    gstneko::webrtc::encode_userinfo(user),
                    gstneko::webrtc::encode_userinfo(pass)
                )),
                _ => {
                    problems.push("--turn-url/NEKO_TURN_URL needs --turn-user/NEKO_TURN_USER and --turn-pass/NEKO_TURN_PASS".into());
                    None
                }
            }
        });
        if policy == IcePolicy::Relay && given(&self.turn_url).is_none() {
            problems.push("--ice-policy/NEKO_ICE_POLICY relay needs a TURN server: set --turn-url/NEKO_TURN_URL with --turn-user and --turn-pass".into());
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        if policy == IcePolicy::Strict {
            if stun_server.is_some() || turn_server.is_some() {
                tracing::warn!(
                    "NEKO_ICE_POLICY is strict: the STUN/TURN settings are not used (only the room's servers are)"
                );
            }
            return Ok(IceSettings {
                policy,
                ..IceSettings::default()
            });
        }
        Ok(IceSettings {
            policy,
            stun_server,
            turn_servers: turn_server.into_iter().collect(),
        })
    }
}

/// A setting's trimmed text, when given and not empty.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The scheme and `host:port[?query]` of `scheme:host:port` or `scheme://host:port`, when the
/// scheme is one of `schemes` and a host and port follow.
fn server_uri<'a>(url: &'a str, schemes: &[&'a str]) -> Option<(&'a str, &'a str)> {
    let (scheme, rest) = url.split_once(':')?;
    let address = rest.trim_start_matches("//");
    let host_port = address.split('?').next().unwrap_or_default();
    let host_port = host_port.rsplit('@').next().unwrap_or_default();
    let (host, port) = host_port.rsplit_once(':')?;
    let valid = schemes.contains(&scheme)
        && !host.is_empty()
        && !host.contains('/')
        && port.parse::<u16>().is_ok_and(|p| p > 0);
    valid.then_some((scheme, address))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(policy: &str, stun: &str, turn: &str, user: &str, pass: &str) -> IceArgs {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        IceArgs {
            policy: some(policy),
            stun_url: some(stun),
            turn_url: some(turn),
            turn_user: some(user),
            turn_pass: some(pass),
        }
    }

    #[test]
    fn all_merges_separate_turn_credentials_into_the_uri() {
        let ice = args(
            "all",
            "stun:127.0.0.1:3478",
            "turn:127.0.0.1:3479?transport=udp",
            "me",
            "p@ss",
        )
        .resolve()
        .unwrap();
        assert_eq!(ice.stun_server.as_deref(), Some("stun://127.0.0.1:3478"));
        assert_eq!(
            ice.turn_servers,
            vec!["turn://me:p%40ss@127.0.0.1:3479?transport=udp"]
        );
        assert_eq!(ice.transport_policy(), "all");
        assert_eq!(
            IceArgs::default().resolve().unwrap(),
            IceSettings::default()
        );
    }

    #[test]
    fn relay_needs_a_turn_server_and_strict_ignores_ours() {
        let problems = args("relay", "", "", "", "").resolve().unwrap_err();
        assert!(
            problems[0].contains("relay needs a TURN server"),
            "{problems:?}"
        );
        let relay = args("relay", "", "turn:h:3478", "u", "p")
            .resolve()
            .unwrap();
        assert_eq!(relay.transport_policy(), "relay");
        let strict = args("strict", "stun:h:1", "turn:h:3478", "u", "p")
            .resolve()
            .unwrap();
        assert!(strict.stun_server.is_none() && strict.turn_servers.is_empty());
    }

    #[test]
    fn every_bad_value_is_reported() {
        let problems = args("open", "http://h:1", "turn:h", "", "")
            .resolve()
            .unwrap_err();
        let all = problems.join("\n");
        for needle in [
            "\"open\"; use all, relay or strict",
            "NEKO_STUN_URL \"http://h:1\"",
            "NEKO_TURN_URL \"turn:h\"",
        ] {
            assert!(all.contains(needle), "{needle} missing from:\n{all}");
        }
        let missing = args("", "", "turn:h:3478", "u", "").resolve().unwrap_err();
        assert!(missing[0].contains("needs --turn-user"), "{missing:?}");
    }
}
