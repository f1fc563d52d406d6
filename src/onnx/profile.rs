//! TensorRT optimisation profiles: for each input whose shape varies, the smallest shape an
//! engine takes, the one its kernels are tuned for, and the largest.
//!
//! Without them ONNX Runtime's TensorRT provider builds an engine for the shapes it has seen and
//! rebuilds it whenever an input grows past them — for a decoder whose KV cache grows by one
//! position per token, that is a rebuild per token until the longest sequence has been seen.
//! With them the engine is built once for the whole range, and a shape outside it is refused.

use std::fmt::Write as _;

/// One input's range.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InputRange {
    name: String,
    min: Vec<i64>,
    opt: Vec<i64>,
    max: Vec<i64>,
}

/// The ranges of a graph's inputs, rendered as ONNX Runtime's `trt_profile_min_shapes`,
/// `trt_profile_opt_shapes` and `trt_profile_max_shapes` options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShapeProfile {
    inputs: Vec<InputRange>,
}

impl ShapeProfile {
    /// An empty profile.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name` taking every shape from `min` to `max` (per axis), tuned for `opt`. A rank-0
    /// input that TensorRT treats as a shape value takes one-element "shapes": its value range.
    ///
    /// # Panics
    /// When the three shapes differ in rank, an axis is negative, `min ≤ opt ≤ max` does not
    /// hold on every axis, or `name` holds a character the option format uses (`,` `:` space):
    /// callers build profiles from graph names and settings they have checked, so these are
    /// bugs, not input errors.
    pub fn input(mut self, name: &str, min: Vec<i64>, opt: Vec<i64>, max: Vec<i64>) -> Self {
        assert!(
            !name.is_empty() && !name.contains([',', ':', ' ']),
            "profile input name {name:?} cannot be written in the option format"
        );
        assert!(
            min.len() == opt.len() && opt.len() == max.len(),
            "{name}: min, opt and max differ in rank"
        );
        let ordered = min
            .iter()
            .zip(&opt)
            .zip(&max)
            .all(|((lo, mid), hi)| 0 <= *lo && lo <= mid && mid <= hi);
        assert!(ordered, "{name}: not 0 <= min <= opt <= max on every axis");
        self.inputs.push(InputRange {
            name: name.to_owned(),
            min,
            opt,
            max,
        });
        self
    }

    /// `trt_profile_min_shapes`: `name:AxBxC,name:…`.
    pub fn min_shapes(&self) -> String {
        self.render(|input| &input.min)
    }

    /// `trt_profile_opt_shapes`.
    pub fn opt_shapes(&self) -> String {
        self.render(|input| &input.opt)
    }

    /// `trt_profile_max_shapes`.
    pub fn max_shapes(&self) -> String {
        self.render(|input| &input.max)
    }

    fn render(&self, shape: impl Fn(&InputRange) -> &Vec<i64>) -> String {
        let mut out = String::new();
        for (i, input) in self.inputs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&input.name);
            out.push(':');
            for (axis, dim) in shape(input).iter().enumerate() {
                if axis > 0 {
                    out.push('x');
                }
                let _ = write!(out, "{dim}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_each_bound_in_the_option_format() {
        let profile = ShapeProfile::new()
            .input("ids", vec![1, 1], vec![1, 8], vec![4, 64])
            .input(
                "past.0.key",
                vec![1, 2, 0, 64],
                vec![1, 2, 7, 64],
                vec![4, 2, 63, 64],
            )
            .input("keep", vec![1], vec![1], vec![1]);
        assert_eq!(profile.min_shapes(), "ids:1x1,past.0.key:1x2x0x64,keep:1");
        assert_eq!(profile.opt_shapes(), "ids:1x8,past.0.key:1x2x7x64,keep:1");
        assert_eq!(profile.max_shapes(), "ids:4x64,past.0.key:4x2x63x64,keep:1");
    }

    #[test]
    #[should_panic(expected = "not 0 <= min <= opt <= max")]
    fn an_opt_above_max_is_a_bug() {
        let _ = ShapeProfile::new().input("ids", vec![1], vec![9], vec![8]);
    }

    #[test]
    #[should_panic(expected = "cannot be written")]
    fn a_name_with_a_separator_is_a_bug() {
        let _ = ShapeProfile::new().input("a:b", vec![1], vec![1], vec![1]);
    }
}
