//! Progress bars of long runs (`fewshot`, `train` on a folder): drawn on stderr when it is a
//! terminal, and nothing at all when it is piped or redirected.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps of `what` (`views`, `runs`, `epochs`).
pub fn bar(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>9} [{bar:32}] {pos}/{len} {msg} ({elapsed}, about {eta} left)",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    bar
}
