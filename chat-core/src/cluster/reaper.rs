//! Liveness of the instances: each refreshes its heartbeat key, and a
//! survivor that finds another's heartbeat expired takes over its counts,
//! once (a `reap` lock), reporting the users left with no socket anywhere.
use std::collections::HashMap;

use fred::interfaces::{HashesInterface, KeysInterface, SetsInterface};
use fred::types::{Expiration, SetOptions};

use super::{Cluster, ClusterError};

use crate::ids::UserId;

impl Cluster {
    /// Refreshes this instance's heartbeat; has the writer rewrite all counts
    /// when the heartbeat was gone (Redis lost them, or this instance was
    /// reaped while stalled).
    pub(crate) async fn heartbeat(&self) -> Result<(), ClusterError> {
        // XX + GET: refresh only a heartbeat that still exists, and say so.
        let previous: Option<String> = self
            .client
            .set(
                self.keys.alive(&self.instance),
                1,
                Some(Expiration::PX(self.ttl.as_millis() as i64)),
                Some(SetOptions::XX),
                true,
            )
            .await?;
        if previous.is_none() {
            self.pending.request_rebuild();
        }
        Ok(())
    }

    /// Takes over the counts of instances whose heartbeat expired; returns the
    /// users left with no socket anywhere.
    pub(crate) async fn reap_dead_instances(&self) -> Result<Vec<UserId>, ClusterError> {
        let instances: Vec<String> = self.client.smembers(self.keys.instances()).await?;
        let mut offline = Vec::new();
        for instance in instances {
            if instance == self.instance {
                continue;
            }
            let alive: i64 = self.client.exists(self.keys.alive(&instance)).await?;
            if alive > 0 {
                continue;
            }
            // Only one survivor reaps a dead instance.
            let claimed: Option<String> = self
                .client
                .set(
                    self.keys.reap(&instance),
                    self.instance.clone(),
                    Some(Expiration::PX(60_000)),
                    Some(SetOptions::NX),
                    false,
                )
                .await?;
            if claimed.is_none() {
                continue;
            }
            let inst_key = self.keys.instance_counts(&instance);
            let counts: HashMap<String, i64> = self.client.hgetall(&inst_key).await?;
            for (user, sockets) in counts {
                let Ok(user_id) = user.parse::<UserId>() else {
                    continue;
                };
                if sockets <= 0 {
                    continue;
                }
                let left: i64 = self
                    .client
                    .decr_by(self.keys.count(user_id), sockets)
                    .await?;
                if left <= 0 {
                    offline.push(user_id);
                }
            }
            let _: () = self.client.del(inst_key).await?;
            let _: () = self.client.del(self.keys.batch(&instance)).await?;
            let _: () = self.client.srem(self.keys.instances(), instance).await?;
        }
        Ok(offline)
    }
}
