//! Declared variables and the values chosen for one instantiation.
//!
//! A variable's value is, in order: the value given by the caller, its
//! `default`, or an empty string. A `required` variable must be given, so it
//! cannot also have a default. Values given for undeclared names are refused
//! (typo protection).

use std::collections::BTreeMap;
use std::fmt;

use toml::Spanned;

use super::format::RawVariable;
use super::position::Problem;
use super::template::{Template, valid_name};

/// Text shown instead of a secret value.
const MASK: &str = "***";

/// One `[variables.<name>]` declaration.
#[derive(Clone, PartialEq, Eq)]
pub struct Variable {
    /// Name used in `${name}` references and as key of the given values.
    pub name: String,
    /// What the value means.
    pub description: String,
    /// Whether a value must be given.
    pub required: bool,
    /// Value used when none is given.
    pub default: Option<String>,
    /// Whether the value is kept out of logs and messages.
    pub secret: bool,
}

impl fmt::Debug for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default = match &self.default {
            Some(_) if self.secret => Some(MASK),
            default => default.as_deref(),
        };
        f.debug_struct("Variable")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("required", &self.required)
            .field("default", &default)
            .field("secret", &self.secret)
            .finish()
    }
}

/// The declarations of one file, each with the file offset of its table.
#[derive(Debug, Clone)]
pub(super) struct Variables {
    declared: Vec<(Variable, usize)>,
    /// File offset for problems about the variables as a whole.
    anchor: usize,
}

impl Variables {
    /// Checks and keeps the `[variables]` tables; `anchor` is the file
    /// offset used when there is no `[variables]` table. Problems carry
    /// file offsets.
    pub(super) fn from_raw(
        raw: Option<Spanned<BTreeMap<String, Spanned<RawVariable>>>>,
        anchor: usize,
    ) -> Result<Variables, Problem> {
        let Some(raw) = raw else {
            return Ok(Variables {
                declared: Vec::new(),
                anchor,
            });
        };
        let anchor = raw.span().start;
        let mut declared = Vec::new();
        for (name, table) in raw.into_inner() {
            let at = table.span().start;
            let raw = table.into_inner();
            if !valid_name(&name) {
                return Err(Problem::new(
                    at,
                    format!("invalid variable name \"{name}\" (use letters, digits, `_` and `-`)"),
                ));
            }
            if raw.required && raw.default.is_some() {
                return Err(Problem::new(
                    at,
                    format!("variable \"{name}\" is required and cannot have a default"),
                ));
            }
            let variable = Variable {
                name,
                description: raw.description,
                required: raw.required,
                default: raw.default,
                secret: raw.secret,
            };
            declared.push((variable, at));
        }
        Ok(Variables { declared, anchor })
    }

    /// The declarations, sorted by name.
    pub(super) fn list(&self) -> impl Iterator<Item = &Variable> {
        self.declared.iter().map(|(variable, _)| variable)
    }

    fn get(&self, name: &str) -> Option<&Variable> {
        self.list().find(|variable| variable.name == name)
    }

    /// Checks that every reference names a declared variable; the problem
    /// carries the launch-text offset of the offending reference.
    pub(super) fn check_references(&self, template: &Template) -> Result<(), Problem> {
        for (name, at) in template.references() {
            if self.get(name).is_none() {
                return Err(Problem::new(
                    at,
                    format!("undeclared variable \"{name}\" (declare it as [variables.{name}])"),
                ));
            }
        }
        Ok(())
    }

    /// Chooses the value of every variable; problems carry file offsets.
    pub(super) fn resolve<'a>(
        &'a self,
        given: &'a BTreeMap<String, String>,
    ) -> Result<Values<'a>, Problem> {
        if let Some(unknown) = given.keys().find(|name| self.get(name).is_none()) {
            let declared: Vec<&str> = self.list().map(|v| v.name.as_str()).collect();
            let hint = if declared.is_empty() {
                "this file declares no variables".to_owned()
            } else {
                format!("declared: {}", declared.join(", "))
            };
            return Err(Problem::new(
                self.anchor,
                format!("value given for undeclared variable \"{unknown}\" ({hint})"),
            ));
        }
        let mut values = BTreeMap::new();
        for (variable, at) in &self.declared {
            let value = match (given.get(&variable.name), &variable.default) {
                (Some(value), _) => value.as_str(),
                (None, _) if variable.required => {
                    return Err(Problem::new(
                        *at,
                        format!("required variable \"{}\" has no value", variable.name),
                    ));
                }
                (None, Some(default)) => default.as_str(),
                (None, None) => "",
            };
            values.insert(variable.name.as_str(), (value, variable.secret));
        }
        Ok(Values { values })
    }
}

/// The value of every declared variable for one instantiation.
#[derive(Debug)]
pub(super) struct Values<'a> {
    values: BTreeMap<&'a str, (&'a str, bool)>,
}

impl<'a> Values<'a> {
    /// The real value.
    pub(super) fn real(&self, name: &str) -> &'a str {
        self.values.get(name).map_or("", |&(value, _)| value)
    }

    /// The value as it may appear in logs: secrets are masked.
    pub(super) fn masked(&self, name: &str) -> &'a str {
        match self.values.get(name) {
            Some(&(_, true)) => MASK,
            Some(&(value, false)) => value,
            None => "",
        }
    }

    /// `message` with every non-empty secret value masked, written plainly
    /// or escaped as in the launch text.
    pub(super) fn mask_secrets(&self, message: &str) -> String {
        let mut message = message.to_owned();
        for &(value, secret) in self.values.values() {
            if !secret || value.is_empty() {
                continue;
            }
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            message = message.replace(&escaped, MASK).replace(value, MASK);
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline_file::format::RawFile;

    fn variables(text: &str) -> Result<Variables, Problem> {
        let raw: RawFile = toml::from_str(text).unwrap();
        Variables::from_raw(raw.variables, 0)
    }

    const DECLARATIONS: &str = "[variables.url]\nrequired = true\n\
        [variables.user]\ndefault = \"me\"\n\
        [variables.password]\nsecret = true\ndefault = \"hunter\\\"2\"\n\
        [variables.extra]\n";

    fn given_values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn given_values_then_defaults_then_empty() {
        let variables = variables(DECLARATIONS).unwrap();
        let given = given_values(&[("url", "http://x"), ("extra", "e")]);
        let values = variables.resolve(&given).unwrap();
        assert_eq!(values.real("url"), "http://x");
        assert_eq!(values.real("user"), "me");
        assert_eq!(values.real("extra"), "e");
        assert_eq!(values.real("password"), "hunter\"2");
        assert_eq!(values.masked("password"), MASK);
        assert_eq!(values.masked("user"), "me");
        let only_url = given_values(&[("url", "u")]);
        assert_eq!(variables.resolve(&only_url).unwrap().real("extra"), "");
    }

    #[test]
    fn missing_required_value_names_the_variable_at_its_declaration() {
        let variables = variables(DECLARATIONS).unwrap();
        let problem = variables.resolve(&BTreeMap::new()).unwrap_err();
        assert_eq!(problem.offset, 0);
        assert_eq!(problem.reason, "required variable \"url\" has no value");
    }

    #[test]
    fn undeclared_given_values_are_refused() {
        let variables = variables(DECLARATIONS).unwrap();
        let problem = variables
            .resolve(&given_values(&[("url", "u"), ("urll", "x")]))
            .unwrap_err();
        assert!(problem.reason.contains("\"urll\""), "{}", problem.reason);
        assert!(
            problem
                .reason
                .contains("declared: extra, password, url, user")
        );
        let none = Variables::from_raw(None, 7).unwrap();
        let problem = none.resolve(&given_values(&[("a", "b")])).unwrap_err();
        assert_eq!(problem.offset, 7);
    }

    #[test]
    fn bad_declarations_are_refused() {
        let problem = variables("[variables.a]\nrequired = true\ndefault = 'x'\n").unwrap_err();
        assert!(problem.reason.contains("required"), "{}", problem.reason);
        let problem = variables("[variables.\"a b\"]\n").unwrap_err();
        assert!(problem.reason.contains("\"a b\""), "{}", problem.reason);
    }

    #[test]
    fn references_must_be_declared() {
        let variables = variables(DECLARATIONS).unwrap();
        let template = Template::parse("a ${url} ${nope}").unwrap();
        let problem = variables.check_references(&template).unwrap_err();
        assert_eq!(problem.offset, 9);
        assert!(problem.reason.contains("\"nope\""));
    }

    #[test]
    fn secrets_are_masked_in_messages_and_debug_output() {
        let variables = variables(DECLARATIONS).unwrap();
        let given = given_values(&[("url", "u")]);
        let values = variables.resolve(&given).unwrap();
        let message = r#"could not set "hunter\"2" and hunter"2"#;
        assert_eq!(
            values.mask_secrets(message),
            "could not set \"***\" and ***"
        );
        let debug = format!("{:?}", variables.list().collect::<Vec<_>>());
        assert!(!debug.contains("hunter"), "{debug}");
        assert!(debug.contains("\"me\""), "{debug}");
    }
}
