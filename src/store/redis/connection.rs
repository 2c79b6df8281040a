//! The connection a [`RedisStore`](super::RedisStore) sends its commands
//! on: to one Redis (redis's `ConnectionManager`), or, with the
//! `redis-cluster` feature, to a Redis Cluster (redis's cluster client,
//! which routes each command to the primary of its key's slot and follows
//! `MOVED` and `ASK`).

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::{Cmd, Pipeline, RedisFuture, Value};

#[derive(Clone)]
pub(super) enum Connection {
    Single(ConnectionManager),
    #[cfg(feature = "redis-cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl Connection {
    /// Whether this is a cluster's.
    pub(super) fn is_cluster(&self) -> bool {
        !matches!(self, Connection::Single(_))
    }

    /// `"one Redis"` or `"a Redis Cluster"`, for `Debug`.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Connection::Single(_) => "one Redis",
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(_) => "a Redis Cluster",
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(connection) => connection.req_packed_command(cmd),
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(connection) => connection.get_db(),
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(connection) => connection.get_db(),
        }
    }
}
