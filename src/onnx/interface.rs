//! A session's inputs and outputs, looked up by name and checked for their element type.

use std::fmt;

use ort::session::Session;
use ort::value::{Outlet, TensorElementType};

use super::float::FloatKind;

/// Which side of a graph an outlet is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A graph input.
    Input,
    /// A graph output.
    Output,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Input => "input",
            Direction::Output => "output",
        })
    }
}

/// A graph's interface lacks an input or output, or one has the wrong element type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterfaceError {
    /// No outlet has any of the names looked for.
    #[error("no {direction} named {} (it has {})", .names.join(" or "), .available.join(", "))]
    Missing {
        /// Input or output.
        direction: Direction,
        /// The names looked for (any one would do).
        names: Vec<String>,
        /// The names the graph has on that side.
        available: Vec<String>,
    },
    /// The outlet holds another element type.
    #[error("{name} is {found:?}, expected {expected}")]
    WrongType {
        /// The outlet.
        name: String,
        /// Its element type (`None`: not a tensor).
        found: Option<TensorElementType>,
        /// What was expected, in words.
        expected: String,
    },
}

/// The inputs and outputs of one session.
#[derive(Clone, Copy)]
pub struct Interface<'a> {
    session: &'a Session,
}

impl<'a> Interface<'a> {
    /// The interface of `session`.
    pub fn new(session: &'a Session) -> Self {
        Self { session }
    }

    /// The outlets on one side.
    pub fn outlets(&self, direction: Direction) -> &'a [Outlet] {
        match direction {
            Direction::Input => self.session.inputs(),
            Direction::Output => self.session.outputs(),
        }
    }

    /// The names of the outlets on one side, comma-separated.
    pub fn names(&self, direction: Direction) -> String {
        self.outlets(direction)
            .iter()
            .map(|o| o.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The first outlet on `direction`'s side named one of `names`.
    pub fn find(&self, direction: Direction, names: &[&str]) -> Result<&'a Outlet, InterfaceError> {
        let outlets = self.outlets(direction);
        outlets
            .iter()
            .find(|o| names.contains(&o.name()))
            .ok_or_else(|| InterfaceError::Missing {
                direction,
                names: names.iter().map(|n| (*n).to_owned()).collect(),
                available: outlets.iter().map(|o| o.name().to_owned()).collect(),
            })
    }

    /// The input named one of `names`.
    pub fn input(&self, names: &[&str]) -> Result<&'a Outlet, InterfaceError> {
        self.find(Direction::Input, names)
    }

    /// The output named one of `names`.
    pub fn output(&self, names: &[&str]) -> Result<&'a Outlet, InterfaceError> {
        self.find(Direction::Output, names)
    }

    /// The float width of `outlet`, which must be a float32 or float16 tensor.
    pub fn float(outlet: &Outlet) -> Result<FloatKind, InterfaceError> {
        let found = outlet.dtype().tensor_type();
        FloatKind::of(found).ok_or_else(|| InterfaceError::WrongType {
            name: outlet.name().to_owned(),
            found,
            expected: "a float32 or float16 tensor".to_owned(),
        })
    }

    /// Checks that `outlet` is a tensor of `element`.
    pub fn typed(outlet: &Outlet, element: TensorElementType) -> Result<(), InterfaceError> {
        let found = outlet.dtype().tensor_type();
        if found == Some(element) {
            return Ok(());
        }
        Err(InterfaceError::WrongType {
            name: outlet.name().to_owned(),
            found,
            expected: format!("{element:?}"),
        })
    }

    /// The declared dimensions of `outlet` (negative where symbolic; empty if unknown).
    pub fn dims(outlet: &Outlet) -> Vec<i64> {
        outlet
            .dtype()
            .tensor_shape()
            .map(|s| s.to_vec())
            .unwrap_or_default()
    }
}
