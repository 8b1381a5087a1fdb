//! Progress bars on stderr for loads that take more than a moment. Hidden when stderr is not a
//! terminal (CI, pipes, the server's log), so logs stay clean.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A bar over `len` steps with a message, or a hidden bar when stderr is not a terminal.
pub fn bar(len: u64, message: impl Into<String>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {msg:30} [{bar:30}] {pos}/{len} ({elapsed})")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(message.into());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}
