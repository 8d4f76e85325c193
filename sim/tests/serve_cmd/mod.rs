//! The `pacer serve --stdio` command the gateway tests start, on the serve example's scenario.

use std::path::Path;
use std::process::{Command, Stdio};

/// `pacer serve --stdio --clock CLOCK EXTRA… --scenario scenarios/serve-example.toml --lists
/// LISTS`, logging warnings only, with standard input and output piped and standard error
/// dropped (a test that reads it pipes it again).
pub fn serve(clock: &str, lists: &Path, extra: &[&str]) -> Command {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut command = Command::new(env!("CARGO_BIN_EXE_pacer"));
    command
        .args(["serve", "--stdio", "--clock", clock])
        .args(extra)
        .arg("--scenario")
        .arg(root.join("scenarios/serve-example.toml"))
        .arg("--lists")
        .arg(lists)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}
