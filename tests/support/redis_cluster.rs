//! A real Redis Cluster on 127.0.0.1: 3 primaries and 3 replicas, each a
//! `redis-server` in cluster mode in a directory of its own, joined by
//! `redis-cli --cluster create`, and stopped (every node, also a paused
//! one) when it is dropped, also when the test fails.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::redis::{free_port, RedisServer};

/// How long a node may not answer before the others count it as failed.
pub const NODE_TIMEOUT_MS: u64 = 1000;

/// A running cluster of six nodes.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    dir: PathBuf,
}

impl RedisCluster {
    /// Starts six nodes, makes them a cluster of 3 primaries with one
    /// replica each, and waits (at most 30 s in all) until every node says
    /// `cluster_state:ok` and every primary's replica is online.
    ///
    /// Panics, failing the test, when `redis-server` or `redis-cli` is not
    /// installed.
    pub fn start() -> Self {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tfd-cluster-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let mut cluster = Self {
            nodes: Vec::new(),
            dir,
        };
        for node in 0..6 {
            let dir = cluster.dir.join(format!("node-{node}"));
            std::fs::create_dir_all(&dir).expect("a directory for the node");
            let nodes_conf = dir.join("nodes.conf");
            let server = RedisServer::start_with(|_| {
                // A node that failed to start may have written one.
                let _ = std::fs::remove_file(&nodes_conf);
                [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    &nodes_conf.display().to_string(),
                    // The bus port is a free port of its own: port + 10000
                    // may be taken, or past 65535.
                    "--cluster-port",
                    &free_port().to_string(),
                    "--cluster-node-timeout",
                    &NODE_TIMEOUT_MS.to_string(),
                    "--dir",
                    &dir.display().to_string(),
                ]
                .iter()
                .map(|arg| (*arg).to_owned())
                .collect()
            });
            cluster.nodes.push(server);
        }
        cluster.create();
        cluster.wait_until_healthy(Duration::from_secs(30));
        cluster
    }

    /// `redis-cli --cluster create ... --cluster-replicas 1`, bounded.
    fn create(&self) {
        let mut command = Command::new("redis-cli");
        command.args(["--cluster", "create"]);
        for node in &self.nodes {
            command.arg(format!("127.0.0.1:{}", node.port()));
        }
        command
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap_or_else(|error| {
            panic!("redis-cli could not start ({error}): run scripts/setup.sh to install it")
        });
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("redis-cli runs") {
                let output = child.wait_with_output().expect("redis-cli's output");
                assert!(
                    status.success(),
                    "redis-cli --cluster create failed: {}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
                return;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("redis-cli --cluster create did not finish within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until every running node says `cluster_state:ok`, sees the
    /// same primaries, and every primary has an online replica; panics
    /// after `bound`.
    pub fn wait_until_healthy(&self, bound: Duration) {
        let started = Instant::now();
        while !self.healthy() {
            assert!(
                started.elapsed() < bound,
                "the cluster was not healthy within {bound:?}: {}",
                self.describe()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn healthy(&self) -> bool {
        let running: Vec<&RedisServer> = self.nodes.iter().filter(|node| node.answers()).collect();
        let ok = running.iter().all(|node| {
            node.query(&["CLUSTER", "INFO"])
                .is_some_and(|info| info.contains("cluster_state:ok"))
        });
        let primaries = self.primaries();
        if !ok || primaries.len() != 3 {
            return false;
        }
        // Every node's view of who serves slots agrees with the primaries'
        // own view.
        let agreed = running.iter().all(|node| {
            node.query(&["CLUSTER", "NODES"]).is_some_and(|nodes| {
                primaries.iter().all(|&primary| {
                    let port = format!("127.0.0.1:{}@", self.nodes[primary].port());
                    nodes.lines().any(|line| {
                        line.contains(&port) && line.contains("master") && !line.contains("fail")
                    })
                })
            })
        });
        // A write on each primary reaches its replica (a replica that just
        // synced acknowledges its first write within a second).
        agreed
            && primaries.iter().all(|&primary| {
                (0..)
                    .map(|probe| format!("tfd:probe:{probe}"))
                    .take(1000)
                    .find(|key| self.primary_for(key) == primary)
                    .is_some_and(|key| {
                        let node = &self.nodes[primary];
                        node.query(&["INFO", "replication"])
                            .is_some_and(|info| info.contains(",state=online,"))
                            && node.replicated(&key)
                    })
            })
    }

    /// What each node says of itself, for a failure's message.
    pub fn describe(&self) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(index, node)| {
                let role = node
                    .query(&["ROLE"])
                    .map_or("(no answer)".to_owned(), |role| role.replace('\n', " "));
                let state = node
                    .query(&["CLUSTER", "INFO"])
                    .and_then(|info| {
                        info.lines()
                            .find(|line| line.starts_with("cluster_state"))
                            .map(str::to_owned)
                    })
                    .unwrap_or_default();
                format!("\n  node {index} :{} {role} {state}", node.port())
            })
            .collect()
    }

    /// `redis://127.0.0.1:<port>` for every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("redis://127.0.0.1:{}", node.port()))
            .collect()
    }

    /// The node at `index` (0 to 5).
    pub fn node(&self, index: usize) -> &RedisServer {
        &self.nodes[index]
    }

    /// The node at `index`, to kill or restart it.
    pub fn node_mut(&mut self, index: usize) -> &mut RedisServer {
        &mut self.nodes[index]
    }

    /// The nodes that say they are primaries.
    pub fn primaries(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&index| {
                self.nodes[index]
                    .query(&["ROLE"])
                    .is_some_and(|role| role.starts_with("master"))
            })
            .collect()
    }

    /// The node that replicates `primary`.
    pub fn replica_of(&self, primary: usize) -> Option<usize> {
        let port = self.nodes[primary].port();
        (0..self.nodes.len()).find(|&index| {
            self.nodes[index].query(&["ROLE"]).is_some_and(|role| {
                let mut lines = role.lines();
                lines.next() == Some("slave") && lines.nth(1) == Some(&port.to_string())
            })
        })
    }

    /// The primary serving `key`'s slot, as the cluster's nodes say
    /// (`CLUSTER KEYSLOT`, then the slot ranges of `CLUSTER NODES`).
    pub fn primary_for(&self, key: &str) -> usize {
        let asked = &self.nodes[self.primaries()[0]];
        let slot: u16 = asked
            .query(&["CLUSTER", "KEYSLOT", key])
            .and_then(|slot| slot.parse().ok())
            .expect("CLUSTER KEYSLOT answers");
        let nodes = asked
            .query(&["CLUSTER", "NODES"])
            .expect("CLUSTER NODES answers");
        let serving = nodes
            .lines()
            .find(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                fields.len() > 8
                    && fields[2].contains("master")
                    && fields[8..].iter().any(|range| {
                        let mut ends = range.split('-').map(|end| end.parse::<u16>());
                        match (ends.next(), ends.next()) {
                            (Some(Ok(first)), Some(Ok(last))) => (first..=last).contains(&slot),
                            (Some(Ok(only)), None) => only == slot,
                            _ => false,
                        }
                    })
            })
            .expect("a primary serves every slot");
        let address = serving.split(' ').nth(1).expect("an address");
        let port: u16 = address
            .split(['@', ':'])
            .nth(1)
            .and_then(|port| port.parse().ok())
            .expect("a port");
        (0..self.nodes.len())
            .find(|&index| self.nodes[index].port() == port)
            .expect("one of ours")
    }

    /// How many keys the node at `index` holds (`DBSIZE`).
    pub fn keys_on(&self, index: usize) -> u64 {
        self.nodes[index]
            .query(&["DBSIZE"])
            .and_then(|size| size.parse().ok())
            .unwrap_or(0)
    }

    /// What the replica at `index` holds under `key` (`READONLY`, then
    /// `GET`).
    pub fn read_on_replica(&self, index: usize, key: &str) -> Option<String> {
        self.nodes[index]
            .queries(&[&["READONLY"], &["GET", key]])
            .and_then(|mut replies| replies.pop())
    }

    /// Promotes the replica at `index` at once, without its primary's
    /// agreement (`CLUSTER FAILOVER TAKEOVER`: the primary is gone), and
    /// waits (at most 10 s) until it says it is a primary.
    pub fn take_over(&self, index: usize) {
        let reply = self.nodes[index].query(&["CLUSTER", "FAILOVER", "TAKEOVER"]);
        assert_eq!(reply.as_deref(), Some("OK"), "CLUSTER FAILOVER TAKEOVER");
        let started = Instant::now();
        while !self.nodes[index]
            .query(&["ROLE"])
            .is_some_and(|role| role.starts_with("master"))
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the replica was not promoted within 10 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl RedisCluster {
    /// The node id of the node at `index` (`CLUSTER MYID`).
    pub fn id(&self, index: usize) -> String {
        self.nodes[index]
            .query(&["CLUSTER", "MYID"])
            .expect("CLUSTER MYID answers")
    }

    /// Replaces the killed node at `index` by a new, empty one on the same
    /// port, made the replica of `primary`: every other node forgets the
    /// old one (`CLUSTER FORGET`), the new one starts without a
    /// `nodes.conf`, meets `primary` and replicates it. (A node started
    /// again with its old `nodes.conf` and no data would serve its former
    /// slots, empty, until the others tell it it no longer owns them.)
    /// Waits (at most 30 s) until the cluster is healthy again.
    pub fn replace(&mut self, index: usize, old_id: &str, primary: usize) {
        for other in (0..self.nodes.len()).filter(|&other| other != index) {
            if self.nodes[other].answers() {
                let forgot = self.nodes[other].query(&["CLUSTER", "FORGET", old_id]);
                assert_eq!(
                    forgot.as_deref(),
                    Some("OK"),
                    "CLUSTER FORGET on node {other}"
                );
            }
        }
        let _ = std::fs::remove_file(self.dir.join(format!("node-{index}")).join("nodes.conf"));
        self.nodes[index].restart();
        let primary_id = self.id(primary);
        let nodes = self.nodes[primary]
            .query(&["CLUSTER", "NODES"])
            .expect("CLUSTER NODES answers");
        let bus = nodes
            .lines()
            .find(|line| line.starts_with(&primary_id))
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|address| address.split(['@', ',']).nth(1))
            .expect("the primary's bus port")
            .to_owned();
        let port = self.nodes[primary].port().to_string();
        let met = self.nodes[index].query(&["CLUSTER", "MEET", "127.0.0.1", &port, &bus]);
        assert_eq!(met.as_deref(), Some("OK"), "CLUSTER MEET");
        let started = Instant::now();
        while self.nodes[index]
            .query(&["CLUSTER", "REPLICATE", &primary_id])
            .as_deref()
            != Some("OK")
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the new node could not replicate the primary within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.wait_until_healthy(Duration::from_secs(30));
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
