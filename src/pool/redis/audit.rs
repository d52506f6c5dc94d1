//! `RedisPool`'s audit trail: a capped Redis stream (`EVENTS_KEPT` entries), newest last.

use super::RedisPool;
use crate::pool::keys::EVENTS_KEPT;
use crate::pool::redis_codec::{self as codec, Hash};
use crate::pool::{PoolError, PoolEvent};

impl RedisPool {
    pub(super) async fn record_in_redis(&self, event: &PoolEvent) -> Result<(), PoolError> {
        let mut cmd = ::redis::cmd("XADD");
        cmd.arg(self.keys.events())
            .arg("MAXLEN")
            .arg("~")
            .arg(EVENTS_KEPT)
            .arg("*");
        for (field, value) in codec::event_fields(event) {
            cmd.arg(field).arg(value);
        }
        let mut c = self.conn.clone();
        let _: String = self
            .run("record", async move { cmd.query_async(&mut c).await })
            .await?;
        Ok(())
    }

    pub(super) async fn recent_events_in_redis(
        &self,
        limit: usize,
    ) -> Result<Vec<PoolEvent>, PoolError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let key = self.keys.events();
        let mut c = self.conn.clone();
        let entries: Vec<(String, Hash)> = self
            .run("recent_events", async move {
                ::redis::cmd("XREVRANGE")
                    .arg(key)
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(limit)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        entries
            .iter()
            .rev()
            .map(|(_, fields)| codec::event(fields))
            .collect()
    }
}
