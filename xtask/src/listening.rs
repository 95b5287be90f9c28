//! Servers started on port 0 print the address they got (`tengine: listening on ADDR`);
//! this reads it back, so no task picks a port, drops it and hopes it is still free.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::Result;

/// What `tengine serve` prints on stdout once its listener is bound.
pub const TENGINE: &str = "tengine: listening on ";
/// What the bench's baseline and receiver servers print.
pub const BENCH: &str = "tengine-bench: listening on ";

/// Reads `child`'s stdout (which must be piped) until a line `prefix ADDR`, and returns
/// ADDR. A thread keeps draining stdout afterwards, so the server never blocks on a full
/// pipe nor fails writing to a closed one.
///
/// # Errors
/// When the process exits first, or prints no such line within `within`.
pub fn address(child: &mut Child, prefix: &'static str, within: Duration) -> Result<SocketAddr> {
    let stdout = child.stdout.take().ok_or("the server's stdout is not piped")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut found = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !found {
                if let Some(addr) = line.strip_prefix(prefix).and_then(|a| a.trim().parse::<SocketAddr>().ok()) {
                    found = true;
                    let _ = tx.send(addr);
                }
            }
        }
    });
    let deadline = Instant::now() + within;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(addr) => return Ok(addr),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(format!("the server closed its stdout without printing {prefix:?}"));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the server exited ({status}) before printing {prefix:?}"));
        }
        if Instant::now() > deadline {
            return Err(format!("the server printed no {prefix:?} line within {within:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};

    use super::*;

    fn sh(script: &str) -> Child {
        Command::new("sh").args(["-c", script]).stdout(Stdio::piped()).spawn().expect("sh runs")
    }

    #[test]
    fn the_address_is_read_from_the_first_listening_line_and_the_rest_is_drained() {
        let mut child = sh("echo banner; echo 'tengine: listening on 127.0.0.1:41234'; seq 1 100000; echo done");
        let addr = address(&mut child, TENGINE, Duration::from_secs(10)).expect("the line is found");
        assert_eq!(addr, SocketAddr::from(([127, 0, 0, 1], 41234)));
        // Writing 100 000 more lines needs a reader: the process ends instead of blocking.
        assert!(child.wait().expect("wait").success());
    }

    #[test]
    fn a_server_that_exits_without_the_line_is_an_error() {
        let mut child = sh("echo 'tengine-bench: listening on 127.0.0.1:1'; exit 3");
        let error = address(&mut child, TENGINE, Duration::from_secs(10)).expect_err("no tengine line");
        assert!(error.contains("tengine: listening on"), "{error}");
    }
}
