//! Seeded randomized model test against the real server: replicas edit and delete offline,
//! sync in random order, lose push answers, edit while a push is in flight; at the end every
//! replica holds the server's data and, for each record, the write with the greatest stamp
//! (`newest_wins`): no write is lost and none is applied twice.

use std::collections::BTreeMap;

use ferrysync_core::engine::Config;
use ferrysync_core::{Hlc, LocalStore};
use serde_json::{json, Value};

use super::in_process::{Device, TestServer, COLLECTIONS};

/// xorshift64*: a reproducible schedule from a seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// For each record id, the greatest stamp written so far and what it wrote (`None`: delete).
type Newest = BTreeMap<String, (Hlc, Option<Value>)>;

async fn write(device: &Device, rng: &mut Rng, newest: &mut Newest) {
    let id = format!("r{}", rng.below(6));
    let written = if rng.below(6) == 0 {
        if !device.engine.delete("todos", &id).await.unwrap() {
            return;
        }
        None
    } else {
        let value = json!({"v": rng.below(1_000), "by": device.engine.device_id()});
        device
            .engine
            .put("todos", &id, value.clone())
            .await
            .unwrap();
        Some(value)
    };
    let row = device
        .engine
        .store()
        .get("todos", &id)
        .await
        .unwrap()
        .unwrap();
    let hlc = row.pending.expect("a write leaves a pending change").hlc;
    if newest.get(&id).is_none_or(|(best, _)| hlc > *best) {
        newest.insert(id, (hlc, written));
    }
}

async fn run(seed: u64) {
    let server = TestServer::start().await;
    let token = server.user(&format!("model{seed}")).await;
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(
            server
                .device(&token, Config::new(COLLECTIONS).with_batch_size(2))
                .await,
        );
    }
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut newest = Newest::new();
    for _ in 0..80 {
        let device = &replicas[rng.below(3) as usize];
        // Each replica's wall clock wanders around, sometimes backwards.
        device.clock.set(1_700_000_000_000 + rng.below(5_000));
        match rng.below(8) {
            0..=3 => write(device, &mut rng, &mut newest).await,
            4 => {
                device.engine.transport().lose_next_push.set(true);
                let _ = device.engine.sync().await;
                device.engine.transport().lose_next_push.set(false);
            }
            5 => {
                let transport = device.engine.transport();
                transport
                    .pause_next_push
                    .set(device.engine.status().pending > 0);
                let mut edit_rng = Rng(rng.below(u64::MAX) | 1);
                let mut edits = Newest::new();
                let edit = async {
                    if transport.pause_next_push.get() {
                        transport.paused.notified().await;
                        write(device, &mut edit_rng, &mut edits).await;
                        transport.resume.notify_one();
                    }
                };
                let (synced, ()) = tokio::join!(device.engine.sync(), edit);
                synced.unwrap();
                for (id, (hlc, value)) in edits {
                    if newest.get(&id).is_none_or(|(best, _)| hlc > *best) {
                        newest.insert(id, (hlc, value));
                    }
                }
            }
            _ => {
                device.engine.sync().await.unwrap();
            }
        }
    }
    for _ in 0..3 {
        for device in &replicas {
            device.engine.sync().await.unwrap();
        }
    }
    for (id, (_, expected)) in &newest {
        for device in &replicas {
            assert_eq!(
                &device.data(id).await,
                expected,
                "seed {seed}: {id} on {}",
                device.engine.device_id()
            );
        }
    }
    for device in &replicas {
        let status = device.engine.status();
        assert_eq!(
            (status.pending, status.conflicts, status.rejected),
            (0, 0, 0),
            "seed {seed}"
        );
    }
}

#[tokio::test]
async fn replicas_converge_without_losing_the_newest_write() {
    for seed in 1..=12 {
        run(seed).await;
    }
}
