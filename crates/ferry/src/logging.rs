//! Where the node's log lines go: stderr, without ever failing. A closed stderr or a pipe
//! whose reader has gone (a supervisor restarted, `ferry run 2>&1 | head`) must not panic or
//! stop a node that is moving orders; the lines are lost instead.

use std::io::{self, Write};

/// A `tracing_subscriber` writer to stderr that swallows write errors.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Stderr {
    type Writer = Stderr;

    fn make_writer(&'a self) -> Self::Writer {
        Stderr
    }
}

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Claim the whole line was written whatever happened: a partial or failed write has
        // nowhere to be reported.
        let _ = io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().flush();
        Ok(())
    }
}
