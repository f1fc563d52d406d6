//! The store on Redis: any number of `serve` and `worker` processes share one Redis server.
//!
//! Keys, under a configurable prefix `{p}` (default `neko`):
//!
//! - `{p}:task:{id}` — the task record, a JSON string (the same record as the local store's
//!   files). Records over [`MAX_RECORD_BYTES`] are neither written nor read.
//! - `{p}:tasks` — a sorted set of every task id, scored by its creation time in milliseconds.
//!   `list` walks it newest first, reads the records and filters them here; the total and the
//!   page are counted after filtering, over the newest [`LIST_SCAN_LIMIT`] tasks only (older
//!   tasks stay readable by id but no longer appear in lists). Tasks created in the same
//!   millisecond are ordered by id.
//! - `{p}:queue` — a stream, read by the consumer group `{p}-workers` (created with the stream
//!   when connecting; created again if Redis lost it). `enqueue` adds an entry with the field
//!   `task_id`; `claim` is `XREADGROUP … COUNT 1 BLOCK`, the delivery's token being the entry id;
//!   `ack` is `XACK` and `XDEL` in one transaction, so the stream only holds entries not yet
//!   delivered and entries delivered but not acknowledged.
//! - `{p}:workers` — a hash of worker name → [`WorkerInfo`] JSON, written by each heartbeat;
//!   entries older than [`WORKER_SILENCE`] are pruned when listed.
//! - `{p}:events:{id}` and `{p}:seq:{id}` — the task's events: a stream whose entry ids are
//!   `{seq}-0`, `seq` coming from `INCR` on the counter key; each entry holds the fields `seq`,
//!   `at` (RFC 3339) and `event` (the [`TaskEvent`] JSON). One Lua script increments and adds,
//!   so entries are in `seq` order even with several publishers. The stream is trimmed to about
//!   [`MAX_EVENTS_PER_TASK`] entries and both keys expire [`EVENTS_TTL`] after the last event.
//!   Reading after `seq` is `XRANGE {after}-1 +`, waiting is `XREAD BLOCK … {after}-0`.
//! - `{p}:screenshot:{id}` — the latest frame (JPEG bytes), expiring after [`SCREENSHOT_TTL`].
//! - `{p}:live:{id}` — where the worker running the task serves its live view (WHEP URL).
//!
//! Changing a record (`modify`) is a compare-and-set: read the record, apply the change here,
//! then a Lua script writes the new record only if the stored one is still byte-for-byte the
//! one read; otherwise the change is applied again to the newer record. This needs no
//! dedicated connection (unlike `WATCH`, which is per connection and would be shared on a
//! multiplexed one) and a change refused by the board writes nothing.
//!
//! Delivery is at least once. A worker's heartbeat resets the idle time of the entries it
//! still holds (`XCLAIM … IDLE 0 JUSTID`, only for entries the group still assigns to it, in
//! one script), so only the entries of a worker that stopped heartbeating grow idle, and
//! `reclaim` (`XAUTOCLAIM`) hands those to a live worker. The board's `start` and `finish`
//! make a second delivery harmless.
//!
//! `queue_depth` is the group's `lag` (`XINFO GROUPS`, Redis 7 and later); where Redis cannot
//! give it (older servers, or deleted entries it cannot count past) it is the stream's length
//! minus the group's pending entries, which is the same number because acknowledged entries
//! are deleted.
//!
//! Commands go through a [`ConnectionManager`], which reconnects after Redis restarts: while
//! Redis is down commands fail with [`StoreError::Redis`], and they work again once it is
//! back. Blocking reads (`claim`, waiting `events`) each take a connection of their own from a
//! small pool, since a blocked command would hold up everything behind it on the shared
//! multiplexed connection.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use rand::Rng;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::streams::{StreamAutoClaimReply, StreamId, StreamInfoGroupsReply, StreamReadReply};
use redis::{AsyncConnectionConfig, Client, RedisError, Script};

use super::{BoardError, Change, Delivery, ListQuery, StoreError, TaskPage, WorkerInfo};
use crate::service::events::{EventRecord, MAX_EVENTS_PER_TASK, TaskEvent};
use crate::service::task::Task;

/// Largest task record written or read, in bytes of JSON.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
/// Largest frame kept or read, in bytes.
pub const MAX_SCREENSHOT_BYTES: usize = 8 << 20;
/// Newest tasks `list` looks at.
pub const LIST_SCAN_LIMIT: usize = 10_000;
/// How long a task's events are kept after its last one.
pub const EVENTS_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long a frame is kept.
pub const SCREENSHOT_TTL: Duration = Duration::from_secs(3600);

/// How long a running task's live view address is kept (the worker clears it when the task
/// leaves; this bounds what a worker that died leaves behind).
pub const LIVE_TTL: Duration = Duration::from_secs(24 * 3600);

/// Longest live view address read back.
const MAX_LIVE_URL_BYTES: usize = 2048;
/// Workers not heard from for this long are no longer listed.
const WORKER_SILENCE: Duration = Duration::from_secs(60);
/// Records read per round trip while listing.
const LIST_BATCH: usize = 200;
/// Tries of a compare-and-set before `modify` gives up.
const MODIFY_ATTEMPTS: usize = 1_000;
/// Idle blocking connections kept for the next blocking read.
const IDLE_BLOCKING_CONNECTIONS: usize = 8;
/// How long a command may take before it fails (blocking reads: on top of their wait).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Deliveries `reclaim` hands over at most in one call.
const RECLAIM_BATCH: usize = 64;
/// `XAUTOCLAIM` rounds of one `reclaim`.
const RECLAIM_ROUNDS: usize = 16;

/// Writes the new record (`ARGV[2]`) only if the stored one is still `ARGV[1]`.
const COMPARE_AND_SET: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
";

/// Numbers an event and appends it: `seq` from the counter, entry id `{seq}-0`.
const PUBLISH: &str = r"
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], seq .. '-0',
  'seq', seq, 'at', ARGV[2], 'event', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return seq
";

/// Resets the idle time of the listed entries the group still assigns to worker `ARGV[2]`.
/// Takes or renews a room's lease for `ARGV[1]` for `ARGV[2]` ms: 1 when held, 0 when
/// another holder has it. `ARGV[3]` = 1 releases instead (only the holder's own lease).
const ROOM_LEASE: &str = r"
local holder = redis.call('GET', KEYS[1])
if ARGV[3] == '1' then
  if holder == ARGV[1] then redis.call('DEL', KEYS[1]) end
  return 1
end
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

const REFRESH_PENDING: &str = r"
local held = {}
for i = 3, #ARGV do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    held[#held + 1] = ARGV[i]
  end
end
if #held > 0 then
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(held), 'IDLE', 0, 'JUSTID')
end
return #held
";

/// The store on a Redis server.
pub struct RedisStore {
    client: Client,
    commands: ConnectionManager,
    blocking: Mutex<Vec<MultiplexedConnection>>,
    keys: Keys,
    location: String,
    compare_and_set: Script,
    publish: Script,
    refresh_pending: Script,
    room_lease: Script,
}

/// The key names under the prefix.
struct Keys {
    prefix: String,
}

impl Keys {
    fn task(&self, task_id: &str) -> String {
        format!("{}:task:{task_id}", self.prefix)
    }
    fn index(&self) -> String {
        format!("{}:tasks", self.prefix)
    }
    fn queue(&self) -> String {
        format!("{}:queue", self.prefix)
    }
    fn group(&self) -> String {
        format!("{}-workers", self.prefix)
    }
    fn workers(&self) -> String {
        format!("{}:workers", self.prefix)
    }
    fn events(&self, task_id: &str) -> String {
        format!("{}:events:{task_id}", self.prefix)
    }
    fn seq(&self, task_id: &str) -> String {
        format!("{}:seq:{task_id}", self.prefix)
    }
    fn screenshot(&self, task_id: &str) -> String {
        format!("{}:screenshot:{task_id}", self.prefix)
    }

    fn live(&self, task_id: &str) -> String {
        format!("{}:live:{task_id}", self.prefix)
    }
    fn room(&self, room: &str) -> String {
        format!("{}:room:{room}", self.prefix)
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://[user:password@]host:port[/db]`) with keys under `prefix`,
    /// creating the queue's consumer group if it is missing.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let commands = ConnectionManager::new_with_config(client.clone(), config).await?;
        let store = Self {
            client,
            commands,
            blocking: Mutex::new(Vec::new()),
            keys: Keys {
                prefix: prefix.to_owned(),
            },
            location: without_password(url),
            compare_and_set: Script::new(COMPARE_AND_SET),
            publish: Script::new(PUBLISH),
            refresh_pending: Script::new(REFRESH_PENDING),
            room_lease: Script::new(ROOM_LEASE),
        };
        store.create_group().await?;
        Ok(store)
    }

    /// The server's URL, without its password.
    pub fn location(&self) -> &str {
        &self.location
    }

    pub(super) async fn insert(&self, task: &Task) -> Result<(), StoreError> {
        let key = self.keys.task(&task.task_id);
        let json = encode_record(&key, task)?;
        redis::pipe()
            .atomic()
            .set(&key, json)
            .ignore()
            .zadd(
                self.keys.index(),
                &task.task_id,
                task.created_at.timestamp_millis(),
            )
            .ignore()
            .query_async::<()>(&mut self.commands.clone())
            .await?;
        Ok(())
    }

    pub(super) async fn load(&self, task_id: &str) -> Result<Option<Task>, StoreError> {
        let key = self.keys.task(task_id);
        let bytes = self.read_bounded(&key, MAX_RECORD_BYTES).await?;
        bytes.map(|bytes| decode_record(&key, &bytes)).transpose()
    }

    pub(super) async fn modify<R>(
        &self,
        task_id: &str,
        change: Change<'_, R>,
    ) -> Result<(Task, R), BoardError> {
        let key = self.keys.task(task_id);
        for attempt in 0..MODIFY_ATTEMPTS {
            let stored = self
                .read_bounded(&key, MAX_RECORD_BYTES)
                .await?
                .ok_or_else(|| BoardError::NotFound(task_id.to_owned()))?;
            let current = decode_record(&key, &stored)?;
            let mut changed = current.clone();
            let value = change(&mut changed)?;
            if changed == current {
                return Ok((changed, value));
            }
            changed.updated_at = Utc::now();
            let json = encode_record(&key, &changed)?;
            let written: bool = self
                .compare_and_set
                .key(&key)
                .arg(&stored)
                .arg(json)
                .invoke_async(&mut self.commands.clone())
                .await
                .map_err(StoreError::from)?;
            if written {
                return Ok((changed, value));
            }
            let pause = rand::rng().random_range(0..=attempt.min(10) as u64);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
        Err(StoreError::Contended {
            key,
            attempts: MODIFY_ATTEMPTS,
        }
        .into())
    }

    pub(super) async fn list(&self, query: &ListQuery) -> Result<TaskPage, StoreError> {
        let ids: Vec<String> = redis::cmd("ZREVRANGE")
            .arg(self.keys.index())
            .arg(0)
            .arg(LIST_SCAN_LIMIT - 1)
            .query_async(&mut self.commands.clone())
            .await?;
        let mut page = TaskPage {
            tasks: Vec::new(),
            total: 0,
            offset: query.offset,
            limit: query.limit,
        };
        for batch in ids.chunks(LIST_BATCH) {
            let mut pipe = redis::pipe();
            for task_id in batch {
                pipe.cmd("GETRANGE")
                    .arg(self.keys.task(task_id))
                    .arg(0)
                    .arg(MAX_RECORD_BYTES);
            }
            let records: Vec<Vec<u8>> = pipe.query_async(&mut self.commands.clone()).await?;
            for (task_id, bytes) in batch.iter().zip(records) {
                let key = self.keys.task(task_id);
                let Some(bytes) = bounded(&key, bytes, MAX_RECORD_BYTES)? else {
                    continue;
                };
                let task = decode_record(&key, &bytes)?;
                if !query.matches(&task) {
                    continue;
                }
                if page.total >= query.offset && page.tasks.len() < query.limit {
                    page.tasks.push(task);
                }
                page.total += 1;
            }
        }
        Ok(page)
    }

    pub(super) async fn enqueue(&self, task_id: &str) -> Result<(), StoreError> {
        redis::cmd("XADD")
            .arg(self.keys.queue())
            .arg("*")
            .arg("task_id")
            .arg(task_id)
            .query_async::<String>(&mut self.commands.clone())
            .await?;
        Ok(())
    }

    pub(super) async fn claim(
        &self,
        worker: &str,
        wait: Duration,
    ) -> Result<Option<Delivery>, StoreError> {
        let mut read = redis::cmd("XREADGROUP");
        read.arg("GROUP")
            .arg(self.keys.group())
            .arg(worker)
            .arg("COUNT")
            .arg(1);
        if !wait.is_zero() {
            read.arg("BLOCK").arg(wait.as_millis().max(1) as u64);
        }
        read.arg("STREAMS").arg(self.keys.queue()).arg(">");
        let reply: Option<StreamReadReply> = match self.blocking_query(&read, wait).await {
            Err(StoreError::Redis(error)) if is_missing_group(&error) => {
                self.create_group().await?;
                self.blocking_query(&read, wait).await?
            }
            other => other?,
        };
        let entries = reply
            .into_iter()
            .flat_map(|reply| reply.keys)
            .flat_map(|key| key.ids);
        for entry in entries {
            if let Some(delivery) = self.delivery(entry).await? {
                return Ok(Some(delivery));
            }
        }
        Ok(None)
    }

    pub(super) async fn reclaim(
        &self,
        worker: &str,
        idle: Duration,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut deliveries = Vec::new();
        let mut cursor = "0-0".to_owned();
        for _ in 0..RECLAIM_ROUNDS {
            let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
                .arg(self.keys.queue())
                .arg(self.keys.group())
                .arg(worker)
                .arg(idle.as_millis() as u64)
                .arg(&cursor)
                .arg("COUNT")
                .arg(RECLAIM_BATCH - deliveries.len())
                .query_async(&mut self.commands.clone())
                .await?;
            for entry in reply.claimed {
                if let Some(delivery) = self.delivery(entry).await? {
                    deliveries.push(delivery);
                }
            }
            cursor = reply.next_stream_id;
            if cursor == "0-0" || deliveries.len() >= RECLAIM_BATCH {
                break;
            }
        }
        Ok(deliveries)
    }

    pub(super) async fn lease_room(
        &self,
        room: &str,
        holder: &str,
        ttl: Duration,
        release: bool,
    ) -> Result<bool, StoreError> {
        let held: i64 = self
            .room_lease
            .key(self.keys.room(room))
            .arg(holder)
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1))
            .arg(if release { "1" } else { "0" })
            .invoke_async(&mut self.commands.clone())
            .await?;
        Ok(held == 1)
    }

    pub(super) async fn ack(&self, delivery: &Delivery) -> Result<(), StoreError> {
        let queue = self.keys.queue();
        redis::pipe()
            .atomic()
            .cmd("XACK")
            .arg(&queue)
            .arg(self.keys.group())
            .arg(&delivery.token)
            .ignore()
            .cmd("XDEL")
            .arg(&queue)
            .arg(&delivery.token)
            .ignore()
            .query_async::<()>(&mut self.commands.clone())
            .await?;
        Ok(())
    }

    pub(super) async fn heartbeat(
        &self,
        info: &WorkerInfo,
        deliveries: &[Delivery],
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(info).map_err(StoreError::Encode)?;
        redis::cmd("HSET")
            .arg(self.keys.workers())
            .arg(&info.worker)
            .arg(json)
            .query_async::<()>(&mut self.commands.clone())
            .await?;
        if deliveries.is_empty() {
            return Ok(());
        }
        let mut refresh = self.refresh_pending.key(self.keys.queue());
        refresh.arg(self.keys.group()).arg(&info.worker);
        for delivery in deliveries {
            refresh.arg(&delivery.token);
        }
        refresh
            .invoke_async::<usize>(&mut self.commands.clone())
            .await?;
        Ok(())
    }

    pub(super) async fn workers(&self) -> Result<Vec<WorkerInfo>, StoreError> {
        let key = self.keys.workers();
        let entries: Vec<(String, Vec<u8>)> = redis::cmd("HGETALL")
            .arg(&key)
            .query_async(&mut self.commands.clone())
            .await?;
        let now = Utc::now();
        let mut silent = Vec::new();
        let mut workers = Vec::new();
        for (name, json) in entries {
            match serde_json::from_slice::<WorkerInfo>(&json) {
                Ok(info)
                    if (now - info.seen_at)
                        .to_std()
                        .is_ok_and(|age| age < WORKER_SILENCE)
                        || now < info.seen_at =>
                {
                    workers.push(info);
                }
                Ok(_) => silent.push(name),
                Err(error) => {
                    tracing::warn!(%error, worker = name, key, "damaged worker entry removed");
                    silent.push(name);
                }
            }
        }
        if !silent.is_empty() {
            redis::cmd("HDEL")
                .arg(&key)
                .arg(&silent)
                .query_async::<()>(&mut self.commands.clone())
                .await?;
        }
        workers.sort_by(|a, b| a.worker.cmp(&b.worker));
        Ok(workers)
    }

    pub(super) async fn queue_depth(&self) -> Result<u64, StoreError> {
        let queue = self.keys.queue();
        let (length, groups): (u64, StreamInfoGroupsReply) = redis::pipe()
            .cmd("XLEN")
            .arg(&queue)
            .cmd("XINFO")
            .arg("GROUPS")
            .arg(&queue)
            .query_async(&mut self.commands.clone())
            .await?;
        let group = self.keys.group();
        let Some(group) = groups.groups.into_iter().find(|g| g.name == group) else {
            return Ok(length);
        };
        Ok(match group.lag {
            Some(lag) => lag as u64,
            None => length.saturating_sub(group.pending as u64),
        })
    }

    pub(super) async fn publish(
        &self,
        task_id: &str,
        event: &TaskEvent,
    ) -> Result<u64, StoreError> {
        let json = serde_json::to_string(event).map_err(StoreError::Encode)?;
        let seq = self
            .publish
            .key(self.keys.seq(task_id))
            .key(self.keys.events(task_id))
            .arg(MAX_EVENTS_PER_TASK)
            .arg(Utc::now().to_rfc3339())
            .arg(json)
            .arg(EVENTS_TTL.as_secs())
            .invoke_async::<u64>(&mut self.commands.clone())
            .await?;
        Ok(seq)
    }

    pub(super) async fn events(
        &self,
        task_id: &str,
        after: u64,
        wait: Duration,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let key = self.keys.events(task_id);
        let entries: Vec<StreamId> = if wait.is_zero() {
            let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
                .arg(&key)
                .arg(format!("{after}-1"))
                .arg("+")
                .arg("COUNT")
                .arg(MAX_EVENTS_PER_TASK)
                .query_async(&mut self.commands.clone())
                .await?;
            reply.ids
        } else {
            let mut read = redis::cmd("XREAD");
            read.arg("COUNT")
                .arg(MAX_EVENTS_PER_TASK)
                .arg("BLOCK")
                .arg(wait.as_millis().max(1) as u64)
                .arg("STREAMS")
                .arg(&key)
                .arg(format!("{after}-0"));
            let reply: Option<StreamReadReply> = self.blocking_query(&read, wait).await?;
            reply
                .into_iter()
                .flat_map(|reply| reply.keys)
                .flat_map(|key| key.ids)
                .collect()
        };
        entries
            .into_iter()
            .map(|entry| event_record(&key, &entry))
            .collect()
    }

    pub(super) async fn put_screenshot(
        &self,
        task_id: &str,
        jpeg: Bytes,
    ) -> Result<(), StoreError> {
        let key = self.keys.screenshot(task_id);
        if jpeg.len() > MAX_SCREENSHOT_BYTES {
            return Err(StoreError::Oversized {
                key,
                limit: MAX_SCREENSHOT_BYTES,
            });
        }
        redis::cmd("SET")
            .arg(&key)
            .arg(jpeg.as_ref())
            .arg("EX")
            .arg(SCREENSHOT_TTL.as_secs())
            .query_async::<()>(&mut self.commands.clone())
            .await?;
        Ok(())
    }

    pub(super) async fn put_live(
        &self,
        task_id: &str,
        url: Option<&str>,
    ) -> Result<(), StoreError> {
        let key = self.keys.live(task_id);
        match url {
            Some(url) => {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(url)
                    .arg("EX")
                    .arg(LIVE_TTL.as_secs())
                    .query_async::<()>(&mut self.commands.clone())
                    .await?
            }
            None => {
                redis::cmd("DEL")
                    .arg(&key)
                    .query_async::<()>(&mut self.commands.clone())
                    .await?
            }
        }
        Ok(())
    }

    pub(super) async fn live(&self, task_id: &str) -> Result<Option<String>, StoreError> {
        let key = self.keys.live(task_id);
        Ok(self
            .read_bounded(&key, MAX_LIVE_URL_BYTES)
            .await?
            .and_then(|bytes| String::from_utf8(bytes).ok()))
    }

    pub(super) async fn screenshot(&self, task_id: &str) -> Result<Option<Bytes>, StoreError> {
        let key = self.keys.screenshot(task_id);
        Ok(self
            .read_bounded(&key, MAX_SCREENSHOT_BYTES)
            .await?
            .map(Bytes::from))
    }

    /// Creates the queue's consumer group (and the stream) unless it exists.
    async fn create_group(&self) -> Result<(), StoreError> {
        let created = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.keys.queue())
            .arg(self.keys.group())
            .arg("0")
            .arg("MKSTREAM")
            .query_async::<()>(&mut self.commands.clone())
            .await;
        match created {
            Err(error) if error.code() == Some("BUSYGROUP") => Ok(()),
            other => Ok(other?),
        }
    }

    /// The delivery of a queue entry; an entry without a task id is acknowledged and dropped.
    async fn delivery(&self, entry: StreamId) -> Result<Option<Delivery>, StoreError> {
        let delivery = Delivery {
            task_id: entry.get::<String>("task_id").unwrap_or_default(),
            token: entry.id,
        };
        if delivery.task_id.is_empty() {
            tracing::warn!(
                entry = delivery.token,
                "queue entry without a task id dropped"
            );
            self.ack(&delivery).await?;
            return Ok(None);
        }
        Ok(Some(delivery))
    }

    /// The value at `key`, at most `limit` bytes (`None` when there is none).
    async fn read_bounded(&self, key: &str, limit: usize) -> Result<Option<Vec<u8>>, StoreError> {
        let bytes: Vec<u8> = redis::cmd("GETRANGE")
            .arg(key)
            .arg(0)
            .arg(limit)
            .query_async(&mut self.commands.clone())
            .await?;
        bounded(key, bytes, limit)
    }

    /// Runs a blocking command on a connection of its own, waiting up to `wait` for it. A
    /// pooled connection that turns out broken (Redis restarted since) is replaced once.
    async fn blocking_query<T: redis::FromRedisValue>(
        &self,
        command: &redis::Cmd,
        wait: Duration,
    ) -> Result<T, StoreError> {
        let pooled = self.lock_blocking().pop();
        let reused = pooled.is_some();
        let connection = match pooled {
            Some(connection) => connection,
            None => self.open_blocking().await?,
        };
        match self.query_on(connection, command, wait).await {
            Err(StoreError::Redis(error))
                if reused && (error.is_io_error() || error.is_connection_dropped()) =>
            {
                let fresh = self.open_blocking().await?;
                self.query_on(fresh, command, wait).await
            }
            other => other,
        }
    }

    /// Runs `command` on `connection`, which goes back to the pool if it answered.
    async fn query_on<T: redis::FromRedisValue>(
        &self,
        mut connection: MultiplexedConnection,
        command: &redis::Cmd,
        wait: Duration,
    ) -> Result<T, StoreError> {
        let limit = wait + RESPONSE_TIMEOUT;
        let reply = tokio::time::timeout(limit, command.query_async::<T>(&mut connection))
            .await
            .map_err(|_| StoreError::Timeout { waited: limit })?;
        // A connection that failed is dropped: the next blocking read opens a new one.
        let value = reply?;
        let mut idle = self.lock_blocking();
        if idle.len() < IDLE_BLOCKING_CONNECTIONS {
            idle.push(connection);
        }
        Ok(value)
    }

    /// A new connection for blocking reads (no response timeout: the caller bounds the wait).
    async fn open_blocking(&self) -> Result<MultiplexedConnection, StoreError> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(None);
        Ok(self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?)
    }

    fn lock_blocking(&self) -> MutexGuard<'_, Vec<MultiplexedConnection>> {
        self.blocking.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `bytes` read with `GETRANGE 0 limit`: `None` when empty (no such key), an error when it
/// reached past `limit`.
fn bounded(key: &str, bytes: Vec<u8>, limit: usize) -> Result<Option<Vec<u8>>, StoreError> {
    if bytes.is_empty() {
        Ok(None)
    } else if bytes.len() > limit {
        Err(StoreError::Oversized {
            key: key.to_owned(),
            limit,
        })
    } else {
        Ok(Some(bytes))
    }
}

/// The record as JSON, refused past [`MAX_RECORD_BYTES`].
fn encode_record(key: &str, task: &Task) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(task).map_err(StoreError::Encode)?;
    if json.len() > MAX_RECORD_BYTES {
        return Err(StoreError::Oversized {
            key: key.to_owned(),
            limit: MAX_RECORD_BYTES,
        });
    }
    Ok(json)
}

fn decode_record(key: &str, bytes: &[u8]) -> Result<Task, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::DamagedEntry {
        key: key.to_owned(),
        source,
    })
}

/// The event an entry of `{p}:events:{id}` holds.
fn event_record(key: &str, entry: &StreamId) -> Result<EventRecord, StoreError> {
    let place = || format!("{key} {}", entry.id);
    let seq = entry.get::<u64>("seq");
    let at = entry
        .get::<String>("at")
        .and_then(|at| DateTime::parse_from_rfc3339(&at).ok());
    let json = entry.get::<Vec<u8>>("event");
    let (Some(seq), Some(at), Some(json)) = (seq, at, json) else {
        return Err(StoreError::IncompleteEntry { key: place() });
    };
    let event = serde_json::from_slice(&json).map_err(|source| StoreError::DamagedEntry {
        key: place(),
        source,
    })?;
    Ok(EventRecord {
        seq,
        at: at.with_timezone(&Utc),
        event,
    })
}

/// Whether Redis lost the consumer group (it restarted without its data).
fn is_missing_group(error: &RedisError) -> bool {
    error.code() == Some("NOGROUP")
}

/// `url` with its password left out.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(None);
            }
            parsed.to_string()
        }
        Err(_) => "redis://(unparsable url)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_described_url_has_no_password() {
        assert_eq!(
            without_password("redis://worker:s3cret@cache.internal:6380/2"),
            "redis://worker@cache.internal:6380/2"
        );
        assert_eq!(
            without_password("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }

    #[test]
    fn reads_past_the_limit_are_refused_and_empty_reads_are_missing() {
        assert!(bounded("k", Vec::new(), 4).unwrap().is_none());
        assert_eq!(bounded("k", b"abcd".to_vec(), 4).unwrap().unwrap(), b"abcd");
        assert!(matches!(
            bounded("k", b"abcde".to_vec(), 4),
            Err(StoreError::Oversized { limit: 4, .. })
        ));
    }
}
