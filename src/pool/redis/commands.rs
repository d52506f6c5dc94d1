//! How the pool talks to Redis: every command under the operation timeout, writes that must
//! reach replicas (`WAIT`), scripts with the key base first, and errors sorted into
//! `Unavailable` (retry later) and `Corrupt` (the data is wrong).

use super::{RedisPool, UNREPLICATED_WRITES};
use crate::pool::redis_codec::Hash;
use crate::pool::PoolError;
use ::redis::{ErrorKind, RedisError};
use std::future::Future;
use std::sync::atomic::Ordering;

impl RedisPool {
    /// Runs a script that decides who holds an interpreter, then, with `redis.replica_acks`, waits
    /// until that many replicas have it. Too few within the wait: logged and counted, and the
    /// answer stands (the master has the write; refusing it would leave it applied but unknown).
    pub(super) async fn decisive<T: ::redis::FromRedisValue>(
        &self,
        what: &str,
        inv: ::redis::ScriptInvocation<'_>,
    ) -> Result<T, PoolError> {
        let mut c = self.conn.clone();
        let (acks, wait_ms) = (
            self.replica_acks,
            self.replica_ack_timeout.as_millis() as u64,
        );
        let (answer, acked): (T, Option<u32>) = self
            .run(what, async move {
                let answer = inv.invoke_async(&mut c).await?;
                if acks == 0 {
                    return Ok((answer, None));
                }
                let acked = ::redis::cmd("WAIT")
                    .arg(acks)
                    .arg(wait_ms)
                    .query_async(&mut c)
                    .await?;
                Ok((answer, Some(acked)))
            })
            .await?;
        let Some(n) = acked else {
            return Ok(answer);
        };
        let short = n < acks;
        if short {
            metrics::counter!(UNREPLICATED_WRITES).increment(1);
        }
        if self.short_of_replicas.swap(short, Ordering::Relaxed) != short {
            if short {
                tracing::warn!(op = what, replicas = n, wanted = acks,
                    "redis writes are not on enough replicas in time: a failover now could lose them");
            } else {
                tracing::info!(replicas = n, "redis writes are on enough replicas again");
            }
        }
        Ok(answer)
    }

    /// Runs one operation (`what` names it in errors) within the time bound.
    pub(super) async fn run<T>(
        &self,
        what: &str,
        op: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, PoolError> {
        match tokio::time::timeout(self.op_timeout, op).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.error(what, e)),
            Err(_) => Err(PoolError::Unavailable(format!(
                "redis at {}: no answer to {what} within {} ms",
                self.target,
                self.op_timeout.as_millis()
            ))),
        }
    }

    /// Runs one of the pool's scripts on `key`, with the key base as its first argument and then
    /// what `args` adds.
    pub(super) async fn invoke<T: ::redis::FromRedisValue>(
        &self,
        what: &str,
        script: &::redis::Script,
        key: String,
        args: impl FnOnce(&mut ::redis::ScriptInvocation<'_>),
    ) -> Result<T, PoolError> {
        let mut c = self.conn.clone();
        let mut inv = script.key(key);
        inv.arg(self.keys.base());
        args(&mut inv);
        self.run(what, async move { inv.invoke_async(&mut c).await })
            .await
    }

    pub(super) fn error(&self, what: &str, e: RedisError) -> PoolError {
        match e.kind() {
            ErrorKind::Parse | ErrorKind::UnexpectedReturnType => {
                PoolError::Corrupt(format!("{what}: {e}"))
            }
            _ => PoolError::Unavailable(format!("redis at {}: {what}: {e}", self.target)),
        }
    }

    pub(super) async fn hash(&self, what: &str, key: String) -> Result<Hash, PoolError> {
        let mut c = self.conn.clone();
        self.run(what, async move {
            ::redis::cmd("HGETALL").arg(key).query_async(&mut c).await
        })
        .await
    }

    /// HGETALL of many keys in one round trip, in order.
    pub(super) async fn hashes(
        &self,
        what: &str,
        keys: Vec<String>,
    ) -> Result<Vec<Hash>, PoolError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = ::redis::pipe();
        for k in keys {
            pipe.cmd("HGETALL").arg(k);
        }
        let mut c = self.conn.clone();
        self.run(what, async move { pipe.query_async(&mut c).await })
            .await
    }

    pub(super) async fn members(&self, what: &str, key: String) -> Result<Vec<String>, PoolError> {
        let mut c = self.conn.clone();
        let mut ids: Vec<String> = self
            .run(what, async move {
                ::redis::cmd("SMEMBERS").arg(key).query_async(&mut c).await
            })
            .await?;
        ids.sort();
        Ok(ids)
    }
}
