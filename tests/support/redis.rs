//! A real `redis-server` (Debian's package) on 127.0.0.1 and a free port,
//! started for a test and stopped when it is dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A `redis-server` child process.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
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
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        for _ in 0..5 {
            let name = format!(
                "tfd-{}-{}.rdb",
                std::process::id(),
                STARTED.fetch_add(1, Ordering::Relaxed)
            );
            if let Some(server) = Self::try_start(&name) {
                return server;
            }
        }
        panic!("redis-server did not start on a free port in 5 tries");
    }

    fn try_start(name: &str) -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dbfilename", name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("redis-server could not start ({error}): run scripts/setup.sh to install it")
            });
        let mut server = Self {
            child: Some(child),
            port,
        };
        let started = Instant::now();
        while !server.answers() {
            let exited = server
                .child
                .as_mut()
                .is_some_and(|child| matches!(child.try_wait(), Ok(Some(_))));
            if exited || started.elapsed() > Duration::from_secs(5) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        server.named(name).then_some(server)
    }

    /// Whether the server on our port is the one named `name`.
    fn named(&self, name: &str) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        if stream.write_all(b"CONFIG GET dbfilename\r\n").is_err() {
            return false;
        }
        let mut reply = Vec::new();
        let mut chunk = [0; 256];
        while let Ok(read @ 1..) = stream.read(&mut chunk) {
            reply.extend_from_slice(&chunk[..read]);
            if reply
                .windows(name.len())
                .any(|window| window == name.as_bytes())
            {
                return true;
            }
        }
        false
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
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

    /// Stops it for good.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
