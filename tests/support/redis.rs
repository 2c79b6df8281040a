//! A real `redis-server` (Debian's package) on 127.0.0.1 and a free port,
//! started for a test and stopped when it is dropped: alone, as the replica
//! of another, or as a node of a cluster (`redis_cluster.rs`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A `redis-server` child process.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    /// What it was started with, to start it again on the same port.
    args: Vec<String>,
    /// Where a replica would write the data it is sent, removed on stop.
    rdb: std::path::PathBuf,
}

/// A port that is free when chosen.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

impl RedisServer {
    /// Starts one and waits (at most 5 s) until it answers PING.
    ///
    /// The port is free when chosen, but another test may take it before
    /// the server binds it: each server is named (its `dbfilename`, unused
    /// since nothing is saved), and one that answers with another name is
    /// not ours, so another port is tried.
    ///
    /// Panics, failing the test, when `redis-server` is not installed.
    pub fn start() -> Self {
        Self::start_with(|_| Vec::new())
    }

    /// Starts one with the arguments `extra` gives for its port (called
    /// again for each port tried), and waits until it answers PING.
    pub fn start_with(mut extra: impl FnMut(u16) -> Vec<String>) -> Self {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        for _ in 0..5 {
            let name = format!(
                "tfd-{}-{}.rdb",
                std::process::id(),
                STARTED.fetch_add(1, Ordering::Relaxed)
            );
            let port = free_port();
            let mut args: Vec<String> = [
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dbfilename",
                &name,
                // A replica that connects is sent the data at once, not
                // after the default 5 s wait for others to join it, and
                // loads it from the socket, not from a file (written, if
                // ever, in the temporary directory, and removed on stop).
                "--repl-diskless-sync-delay",
                "0",
                "--repl-diskless-load",
                "on-empty-db",
                "--dir",
                &std::env::temp_dir().display().to_string(),
            ]
            .iter()
            .map(|arg| (*arg).to_owned())
            .collect();
            args.extend(extra(port));
            let mut server = Self {
                child: None,
                port,
                args,
                rdb: std::env::temp_dir().join(&name),
            };
            if server.spawn() && server.named(&name) {
                return server;
            }
        }
        panic!("redis-server did not start on a free port in 5 tries");
    }

    /// Starts a replica of `primary` (`--replicaof`), and waits (at most
    /// 10 s) until it acknowledges the primary's writes (a replica that
    /// just synced acknowledges its first write within a second).
    pub fn replica_of(primary: &RedisServer) -> Self {
        let primary_port = primary.port.to_string();
        let replica = Self::start_with(|_| {
            vec![
                "--replicaof".to_owned(),
                "127.0.0.1".to_owned(),
                primary_port.clone(),
            ]
        });
        let started = Instant::now();
        let online = format!("port={},state=online", replica.port);
        while !(primary
            .query(&["INFO", "replication"])
            .is_some_and(|info| info.contains(&online))
            && primary.replicated("tfd:probe"))
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the replica did not come online within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        replica
    }

    /// Whether a write of `key` on this primary reaches a replica within
    /// 100 ms (`SET`, `DEL`, then `WAIT 1 100`). Only once a replica is
    /// online: writes made while a primary has no replica are not counted
    /// in its replication offset, and `WAIT` after them counts any replica.
    pub fn replicated(&self, key: &str) -> bool {
        self.queries(&[&["SET", key, "1"], &["DEL", key], &["WAIT", "1", "100"]])
            .is_some_and(|replies| replies.last().is_some_and(|acked| acked == "1"))
    }

    /// Spawns the process and waits (at most 5 s) until it answers PING;
    /// `false` when it exited or did not answer.
    fn spawn(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("redis-server could not start ({error}): run scripts/setup.sh to install it")
            });
        self.child = Some(child);
        let started = Instant::now();
        while !self.answers() {
            let exited = self
                .child
                .as_mut()
                .is_some_and(|child| matches!(child.try_wait(), Ok(Some(_))));
            if exited || started.elapsed() > Duration::from_secs(5) {
                self.stop();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    /// Whether the server on our port is the one named `name`.
    fn named(&self, name: &str) -> bool {
        self.query(&["CONFIG", "GET", "dbfilename"])
            .is_some_and(|reply| reply.contains(name))
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether it answers PING within 200 ms.
    pub fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        let mut reply = [0; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// One command's reply as text (see [`queries`](Self::queries)).
    pub fn query(&self, command: &[&str]) -> Option<String> {
        self.queries(&[command])
            .and_then(|mut replies| replies.pop())
    }

    /// The replies to `commands`, sent in order on one connection, each as
    /// text: a string as it is, an error with its `-`, nil as `(nil)`, an
    /// array's items one a line. `None` when the server does not answer
    /// within 1 s.
    pub fn queries(&self, commands: &[&[&str]]) -> Option<Vec<String>> {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
        let mut request = Vec::new();
        for command in commands {
            request.extend_from_slice(format!("*{}\r\n", command.len()).as_bytes());
            for arg in *command {
                request.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
            }
        }
        (&stream).write_all(&request).ok()?;
        let mut reader = BufReader::new(stream);
        commands.iter().map(|_| read_reply(&mut reader)).collect()
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let status = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status()
                .expect("kill runs");
            assert!(status.success(), "kill {signal} failed");
        }
    }

    /// Stops it answering while it keeps accepting connections (SIGSTOP).
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server answer again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// Kills it at once (SIGKILL): what it had not yet sent on is lost.
    pub fn kill(&mut self) {
        self.stop();
    }

    /// Starts it again, on the same port with the same arguments (a
    /// cluster node reads its `nodes.conf` again); panics when it does not
    /// answer within 5 s.
    pub fn restart(&mut self) {
        self.stop();
        assert!(self.spawn(), "redis-server did not start again");
    }

    /// Stops it for good (SIGCONT first, should it be paused, then
    /// SIGKILL, and waits for it).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.rdb);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One RESP reply, as text.
fn read_reply(reader: &mut impl BufRead) -> Option<String> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let line = line.trim_end_matches(['\r', '\n']);
    let (kind, rest) = line.split_at_checked(1)?;
    match kind {
        "+" | ":" => Some(rest.to_owned()),
        "-" => Some(line.to_owned()),
        "$" => {
            let Ok(len) = usize::try_from(rest.parse::<i64>().ok()?) else {
                return Some("(nil)".to_owned());
            };
            let mut bulk = vec![0; len + 2];
            reader.read_exact(&mut bulk).ok()?;
            bulk.truncate(len);
            Some(String::from_utf8_lossy(&bulk).into_owned())
        }
        "*" => {
            let Ok(len) = usize::try_from(rest.parse::<i64>().ok()?) else {
                return Some("(nil)".to_owned());
            };
            let items: Option<Vec<String>> = (0..len).map(|_| read_reply(reader)).collect();
            Some(items?.join("\n"))
        }
        _ => None,
    }
}
