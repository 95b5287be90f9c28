//! `cargo xtask fuzz-api`: schemathesis against a real `tengine serve` (debug build, a
//! fresh SQLite data directory, the bootstrap admin key), with every check on and every
//! phase (examples, coverage, fuzzing, and the stateful link phase, which is cheap). The
//! run fails on a 5xx, a response outside the documented schema or statuses, a
//! schema-valid request refused or a schema-violating one accepted (`xtask/schemathesis/`
//! holds the settings and the few documented exceptions).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::Result;

/// The schemathesis release this task is written against (its CLI changes between majors).
const SCHEMATHESIS: &str = "4.32.5";
/// A valid key (`tng_` + 40 base62 + its CRC-32) for the bootstrap admin.
const ADMIN_KEY: &str = "tng_00000000000000000000000000000000000000002XzGTS";
/// Test cases per operation and phase unless `--max-examples` says otherwise.
const DEFAULT_EXAMPLES: u32 = 100;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| crate::root().join("target"), PathBuf::from)
}

fn run(cmd: &mut Command) -> Result {
    let status = cmd.status().map_err(|e| format!("could not run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed ({status})"))
    }
}

/// The venv's `schemathesis`, installed (pinned) on first use.
fn schemathesis(venv: &Path) -> Result<PathBuf> {
    let bin = venv.join("bin/schemathesis");
    let installed = Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(SCHEMATHESIS));
    if !installed {
        eprintln!("xtask: installing schemathesis {SCHEMATHESIS} into {}", venv.display());
        if !venv.join("bin/pip").exists() {
            run(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
        }
        run(Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("schemathesis=={SCHEMATHESIS}"),
        ]))?;
    }
    Ok(bin)
}

fn healthy(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

/// A running `tengine serve` on its own data directory; stopped (SIGTERM, then SIGKILL)
/// and cleaned up on drop.
struct Server {
    child: Child,
    data_dir: PathBuf,
    addr: SocketAddr,
}

impl Server {
    fn start(bin: &Path, work: &Path) -> Result<Self> {
        let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?.as_nanos();
        let data_dir = work.join(format!("data-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
        let log = std::fs::File::create(work.join("server.log")).map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .arg("serve")
            .env_remove("DATABASE_URL")
            .env("TENGINE_DATA_DIR", &data_dir)
            .env("TENGINE_LISTEN", "127.0.0.1:0")
            .env("TENGINE_BOOTSTRAP_KEY", ADMIN_KEY)
            .env("TENGINE_WEBHOOK_ALLOW_PRIVATE", "false")
            .env("TENGINE_LOG", "warn")
            // stdout carries the listening line and the bootstrap banner.
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", bin.display()))?;
        // Dropped on an error: the process is stopped and its data removed.
        let mut server = Self { child, data_dir, addr: SocketAddr::from(([127, 0, 0, 1], 0)) };
        server.addr = crate::listening::address(&mut server.child, crate::listening::TENGINE, Duration::from_secs(30))
            .map_err(|e| format!("{e}; see {}", work.join("server.log").display()))?;
        let addr = server.addr;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if healthy(addr) {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("tengine exited on start ({status}); see {}", work.join("server.log").display()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("tengine did not answer /healthz within 30 s".into())
    }

    /// Whether the process is still running (a crash would also show as failed requests).
    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Options: `--max-examples N` (per operation and phase, default 100), `--seed N`
/// (default: a new one each run; schemathesis prints it for replay).
pub fn fuzz_api(args: &[String]) -> Result {
    let mut examples = DEFAULT_EXAMPLES.to_string();
    let mut seed = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let value = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--max-examples" => examples.clone_from(value),
            "--seed" => seed = Some(value.clone()),
            _ => return Err(format!("unknown option {arg} (known: --max-examples N, --seed N)")),
        }
    }
    let target = target_dir();
    let work = target.join("fuzz-api");
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let schemathesis = schemathesis(&target.join("schemathesis-venv"))?;
    crate::cargo(&["build", "--package", "tengine-app"])?;
    let started = Instant::now();
    let mut server = Server::start(&target.join("debug/tengine"), &work)?;
    let settings = crate::root().join("xtask/schemathesis");
    let mut cmd = Command::new(schemathesis);
    cmd.current_dir(&work)
        .env("SCHEMATHESIS_HOOKS", settings.join("hooks.py"))
        .arg("--config-file")
        .arg(settings.join("schemathesis.toml"))
        .arg("run")
        .arg(format!("http://{}/openapi.json", server.addr))
        .args(["--header", &format!("Authorization: Bearer {ADMIN_KEY}")])
        .args(["--checks", "all"])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", &examples])
        .args(["--continue-on-failure", "--no-color", "--generation-database", "none"])
        .args(["--report", "junit", "--report-junit-path"])
        .arg(work.join("junit.xml"));
    if let Some(seed) = &seed {
        cmd.args(["--seed", seed]);
    }
    eprintln!("xtask: schemathesis against http://{} ({examples} examples per operation)", server.addr);
    let result = run(&mut cmd);
    let alive = server.alive();
    drop(server);
    eprintln!(
        "xtask: fuzz-api took {:.0} s; server log: {}",
        started.elapsed().as_secs_f64(),
        work.join("server.log").display()
    );
    if !alive {
        return Err("tengine died during the run".into());
    }
    result.map_err(|_| "schemathesis found failures (see its report above)".into())
}
