//! The service store on a real `redis-server`: a task's whole life through the board, the
//! queue shared by several workers, deliveries of a silent worker handed to a live one,
//! concurrent changes, a Redis restart, and waiting for events.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use common::redis::RedisServer;
use neko_agent::service::board::{Board, Start};
use neko_agent::service::events::TaskEvent;
use neko_agent::service::store::redis::RedisStore;
use neko_agent::service::store::{BoardError, Delivery, ListQuery, Store, StoreError, WorkerInfo};
use neko_agent::service::task::{Ending, StepRecord, TaskSpec, TaskStatus};

/// The longest any bounded wait in these tests lasts.
const PATIENCE: Duration = Duration::from_secs(20);

async fn store(server: &RedisServer) -> Store {
    Store::Redis(RedisStore::connect(&server.url(), "neko").await.unwrap())
}

fn spec(text: &str) -> TaskSpec {
    serde_json::from_value(serde_json::json!({ "task": text })).unwrap()
}

fn step(number: u32) -> StepRecord {
    StepRecord {
        step: number,
        action: Some(r#"{"action":"CLICK","value":null,"position":[0.5,0.5]}"#.into()),
        model_calls: 1,
        model_ms: 12.5,
        at: Utc::now(),
    }
}

fn completed(answer: &str) -> Ending {
    Ending {
        status: TaskStatus::Completed,
        answer: Some(answer.into()),
        error: None,
    }
}

fn worker(name: &str) -> WorkerInfo {
    WorkerInfo {
        worker: name.into(),
        running: 1,
        slots: 2,
        seen_at: Utc::now(),
    }
}

async fn claim(store: &Store, worker: &str) -> Delivery {
    store
        .claim(worker, PATIENCE)
        .await
        .unwrap()
        .expect("a queued task is delivered")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_goes_from_submitted_to_finished_with_its_record_events_and_ack() {
    let server = RedisServer::start();
    let board = Board::new(store(&server).await);
    let task = board.submit(spec("open the red box")).await.unwrap();
    assert_eq!(board.store().queue_depth().await.unwrap(), 1);

    let delivery = claim(board.store(), "w1").await;
    assert_eq!(delivery.task_id, task.task_id);
    assert_eq!(board.store().queue_depth().await.unwrap(), 0);
    let Start::Run(running) = board.start(&delivery, "w1").await.unwrap() else {
        panic!("a queued task is run");
    };
    assert_eq!(running.status, TaskStatus::Running);
    assert_eq!(running.attempts, 1);
    board.step(&task.task_id, step(1)).await.unwrap();
    let (finished, written) = board
        .finish(&task.task_id, completed("a key"))
        .await
        .unwrap();
    assert!(written);
    board.store().ack(&delivery).await.unwrap();

    let record = board.get(&task.task_id).await.unwrap();
    assert_eq!(record, finished);
    assert_eq!(record.status, TaskStatus::Completed);
    assert_eq!(record.answer.as_deref(), Some("a key"));
    assert_eq!(record.worker.as_deref(), Some("w1"));
    assert_eq!((record.step_count, record.steps.len()), (1, 1));
    assert!(record.finished_at.is_some());

    let events = board
        .store()
        .events(&task.task_id, 0, Duration::ZERO)
        .await
        .unwrap();
    let seqs: Vec<u64> = events.iter().map(|record| record.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    let statuses: Vec<TaskStatus> = events
        .iter()
        .filter_map(|record| match &record.event {
            TaskEvent::Status { status, .. } => Some(*status),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [
            TaskStatus::Queued,
            TaskStatus::Running,
            TaskStatus::Completed
        ]
    );
    assert!(matches!(&events[2].event, TaskEvent::Step { step } if step.step == 1));

    // acknowledged: nothing pending to hand over, nothing left to claim
    assert!(
        board
            .store()
            .reclaim("w2", Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        board
            .store()
            .claim("w2", Duration::from_millis(50))
            .await
            .unwrap()
            .is_none()
    );

    let page = board
        .list(&ListQuery {
            statuses: vec![TaskStatus::Completed],
            limit: 10,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.tasks[0].task_id, task.task_id);
    assert!(matches!(
        board.get("task_missing").await,
        Err(BoardError::NotFound(_))
    ));
    assert_eq!(board.store().describe(), server.url());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_filter_then_page_newest_first() {
    let server = RedisServer::start();
    let board = Board::new(store(&server).await);
    let mut ids = Vec::new();
    for n in 0..7 {
        let text = if n % 2 == 0 {
            "Search videos"
        } else {
            "buy milk"
        };
        ids.push(board.submit(spec(text)).await.unwrap().task_id);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let page = board
        .list(&ListQuery {
            text: Some("SEARCH".into()),
            offset: 1,
            limit: 2,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 4);
    let listed: Vec<&str> = page
        .tasks
        .iter()
        .map(|task| task.task_id.as_str())
        .collect();
    assert_eq!(listed, [ids[4].as_str(), ids[2].as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_queue_get_each_task_once() {
    let server = RedisServer::start();
    let board = Board::new(store(&server).await);
    let mut submitted = HashSet::new();
    for n in 0..40 {
        submitted.insert(
            board
                .submit(spec(&format!("task {n}")))
                .await
                .unwrap()
                .task_id,
        );
    }
    let workers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|name| {
            let url = server.url();
            tokio::spawn(async move {
                let store = Store::Redis(RedisStore::connect(&url, "neko").await.unwrap());
                let mut got = Vec::new();
                while let Some(delivery) =
                    store.claim(name, Duration::from_millis(300)).await.unwrap()
                {
                    store.ack(&delivery).await.unwrap();
                    got.push(delivery.task_id);
                }
                got
            })
        })
        .collect();
    let mut delivered = Vec::new();
    for worker in workers {
        delivered.extend(worker.await.unwrap());
    }
    assert_eq!(delivered.len(), submitted.len(), "no task delivered twice");
    assert_eq!(delivered.into_iter().collect::<HashSet<_>>(), submitted);
    assert_eq!(board.store().queue_depth().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_workers_task_goes_to_a_live_worker_and_still_ends_once() {
    let server = RedisServer::start();
    let (store_a, store_b) = (store(&server).await, store(&server).await);
    let board_a = Board::new(store_a);
    let board_b = Board::new(store_b);
    let lost = board_a.submit(spec("left behind")).await.unwrap();
    let delivery_a = claim(board_a.store(), "a").await;
    assert_eq!(delivery_a.task_id, lost.task_id);
    assert!(matches!(
        board_a.start(&delivery_a, "a").await.unwrap(),
        Start::Run(_)
    ));
    let kept = board_b.submit(spec("kept alive")).await.unwrap();
    let delivery_b = claim(board_b.store(), "b").await;
    assert_eq!(delivery_b.task_id, kept.task_id);

    // a stops heartbeating; b keeps heartbeating its delivery and looks for silent ones
    let idle = Duration::from_millis(500);
    let deadline = Instant::now() + PATIENCE;
    let reclaimed = loop {
        board_b
            .store()
            .heartbeat(&worker("b"), std::slice::from_ref(&delivery_b))
            .await
            .unwrap();
        let reclaimed = board_b.store().reclaim("b", idle).await.unwrap();
        assert!(
            reclaimed.iter().all(|d| d.task_id != kept.task_id),
            "a heartbeating worker's delivery is never handed over"
        );
        if !reclaimed.is_empty() {
            break reclaimed;
        }
        assert!(
            Instant::now() < deadline,
            "the silent worker's task was not handed over"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].task_id, lost.task_id);

    // a's heartbeat, late, does not take the delivery back from b
    board_a
        .store()
        .heartbeat(&worker("a"), std::slice::from_ref(&delivery_a))
        .await
        .unwrap();
    let names: Vec<String> = board_a
        .store()
        .workers()
        .await
        .unwrap()
        .into_iter()
        .map(|info| info.worker)
        .collect();
    assert_eq!(names, ["a", "b"]);

    let Start::Run(again) = board_b.start(&reclaimed[0], "b").await.unwrap() else {
        panic!("the handed-over task runs again");
    };
    assert_eq!(again.attempts, 2);
    let (_, first) = board_b
        .finish(&lost.task_id, completed("by b"))
        .await
        .unwrap();
    let (after, second) = board_a
        .finish(&lost.task_id, completed("by a"))
        .await
        .unwrap();
    assert!(first && !second);
    assert_eq!(after.answer.as_deref(), Some("by b"));
    board_b.store().ack(&reclaimed[0]).await.unwrap();
    board_a.store().ack(&delivery_a).await.unwrap();
    assert!(matches!(
        board_a.start(&delivery_a, "a").await.unwrap(),
        Start::Skip(_)
    ));
    let finals = board_a
        .store()
        .events(&lost.task_id, 0, Duration::ZERO)
        .await
        .unwrap()
        .into_iter()
        .filter(|record| {
            matches!(
                record.event,
                TaskEvent::Status {
                    status: TaskStatus::Completed,
                    ..
                }
            )
        })
        .count();
    assert_eq!(finals, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_lose_no_update_and_a_refused_one_writes_nothing() {
    let server = RedisServer::start();
    let stores = [
        Arc::new(store(&server).await),
        Arc::new(store(&server).await),
    ];
    let task = Board::new(store(&server).await)
        .submit(spec("count"))
        .await
        .unwrap();
    let changes: Vec<_> = (0..50)
        .map(|n| {
            let store = stores[n % 2].clone();
            let task_id = task.task_id.clone();
            tokio::spawn(async move {
                store
                    .modify(&task_id, &mut |task| {
                        task.step_count += 1;
                        Ok(())
                    })
                    .await
                    .unwrap();
            })
        })
        .collect();
    for change in changes {
        change.await.unwrap();
    }
    let counted = stores[0].load(&task.task_id).await.unwrap().unwrap();
    assert_eq!(counted.step_count, 50);

    let refused = stores[1]
        .modify::<()>(&task.task_id, &mut |task| {
            task.status = TaskStatus::Failed;
            Err(BoardError::NotFound("refused".into()))
        })
        .await;
    assert!(refused.is_err());
    assert_eq!(
        stores[1].load(&task.task_id).await.unwrap().unwrap(),
        counted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_fails_clearly_while_redis_is_down_and_works_once_it_is_back() {
    let mut server = RedisServer::start_durable();
    let board = Board::new(store(&server).await);
    let task = board.submit(spec("survive a restart")).await.unwrap();
    // a blocking connection in the pool, broken by the restart
    assert!(
        board
            .store()
            .claim("w", Duration::ZERO)
            .await
            .unwrap()
            .is_some()
    );
    let queued = board.submit(spec("queued across a restart")).await.unwrap();

    server.kill();
    let down = board.store().load(&task.task_id).await;
    assert!(
        matches!(down, Err(StoreError::Redis(_))),
        "a clear error while Redis is down: {down:?}"
    );
    let message = down.unwrap_err().to_string();
    assert!(message.starts_with("task store on redis:"), "{message}");

    server.restart();
    let deadline = Instant::now() + PATIENCE;
    let record = loop {
        match board.store().load(&task.task_id).await {
            Ok(record) => break record,
            Err(error) => {
                assert!(
                    Instant::now() < deadline,
                    "Redis came back but the store did not: {error}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert_eq!(record.unwrap().task_id, task.task_id);
    let delivery = claim(board.store(), "w").await;
    assert_eq!(delivery.task_id, queued.task_id);
    board.store().ack(&delivery).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_wait_for_the_next_one_and_resume_after_a_seq() {
    let server = RedisServer::start();
    let store = Arc::new(store(&server).await);
    for active in [true, false, true] {
        store
            .publish("task_a", &TaskEvent::Takeover { active })
            .await
            .unwrap();
    }
    let all = store.events("task_a", 0, Duration::ZERO).await.unwrap();
    assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);

    let waiter = {
        let store = store.clone();
        tokio::spawn(async move { store.events("task_a", 3, PATIENCE).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let seq = store
        .publish("task_a", &TaskEvent::chat("user", "hello"))
        .await
        .unwrap();
    assert_eq!(seq, 4);
    let next = waiter.await.unwrap().unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].seq, 4);
    assert_eq!(next[0].event, TaskEvent::chat("user", "hello"));

    let resumed = store.events("task_a", 2, Duration::ZERO).await.unwrap();
    assert_eq!(resumed.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 4]);
    assert!(
        store
            .events("task_b", 0, Duration::from_millis(100))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_are_kept_and_bounded() {
    let server = RedisServer::start();
    let store = store(&server).await;
    assert!(store.screenshot("task_a").await.unwrap().is_none());
    let jpeg = Bytes::from_static(b"\xff\xd8\xff\xe0 a frame \xff\xd9");
    store.put_screenshot("task_a", jpeg.clone()).await.unwrap();
    assert_eq!(store.screenshot("task_a").await.unwrap(), Some(jpeg));
    let huge = Bytes::from(vec![0u8; 8 * 1024 * 1024 + 1]);
    assert!(matches!(
        store.put_screenshot("task_a", huge).await,
        Err(StoreError::Oversized { .. })
    ));
}
