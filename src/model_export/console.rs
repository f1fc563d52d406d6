//! What `model export` shows the person running it: results on stdout, progress and the error
//! that ended the run on stderr (next to the output of pip and the export script).

/// The terminal of one `model export` run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Console;

impl Console {
    /// A result line, on stdout.
    pub fn result(&self, text: &str) {
        println!("{text}");
    }

    /// A progress line, on stderr.
    pub fn progress(&self, text: &str) {
        eprintln!("{text}");
    }

    /// The error that ended the run, on stderr.
    pub fn error(&self, error: &dyn std::error::Error) {
        eprintln!("error: {error}");
    }
}
