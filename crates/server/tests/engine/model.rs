//! Seeded randomized model test against the real server: replicas edit and delete offline,
//! sync in random order, lose push answers, edit while a push is in flight; at the end every
//! replica holds the server's data and, for each record, the write with the greatest stamp
//! (`newest_wins`): no write is lost and none is applied twice.
//!
//! `FERRYSYNC_MODEL_SEEDS=500` runs more seeds; `FERRYSYNC_MODEL_SEED=n` runs only seed `n`
//! and prints its schedule (`FERRYSYNC_MODEL_WATCH=r0` also prints record `r0` on every replica
//! after each step).

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

fn trace() -> bool {
    std::env::var_os("FERRYSYNC_MODEL_SEED").is_some()
}

fn short(device: &Device) -> &str {
    &device.engine.device_id()[..4]
}

async fn write(device: &Device, rng: &mut Rng, newest: &mut Newest) {
    let id = format!("r{}", rng.below(6));
    let written = if rng.below(6) == 0 {
        if !device.engine.delete("todos", &id).await.unwrap() {
            return;
        }
        None
    } else {
        let value = json!({"v": rng.below(1_000), "by": short(device)});
        let engine = &device.engine;
        engine.put("todos", &id, value.clone()).await.unwrap();
        Some(value)
    };
    let row = device.engine.store().get("todos", &id).await.unwrap();
    let pending = row
        .and_then(|r| r.pending)
        .expect("a write leaves a pending change");
    if trace() {
        eprintln!(
            "{} writes {id} = {written:?} at {} from {:?}",
            short(device),
            pending.hlc,
            pending.base_version
        );
    }
    if newest.get(&id).is_none_or(|(best, _)| pending.hlc > *best) {
        newest.insert(id, (pending.hlc, written));
    }
}

async fn run(seed: u64) {
    let server = TestServer::start().await;
    let token = server.user(&format!("model{seed}")).await;
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let config = Config::new(COLLECTIONS).with_batch_size(2);
        replicas.push(server.device(&token, config).await);
    }
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut newest = Newest::new();
    for _ in 0..120 {
        let device = &replicas[rng.below(3) as usize];
        // Each replica's wall clock wanders around, sometimes backwards.
        device.clock.set(server.started + rng.below(5_000));
        let outcome = match rng.below(8) {
            0..=3 => {
                write(device, &mut rng, &mut newest).await;
                continue;
            }
            4 => {
                device.engine.transport().lose_next_push.set(true);
                let outcome = device.engine.sync().await;
                device.engine.transport().lose_next_push.set(false);
                format!("syncs, answer lost: {outcome:?}")
            }
            5 => {
                let transport = device.engine.transport();
                // Decided before the cycle starts: the push consumes the flag.
                let pause = device.engine.status().pending > 0;
                transport.pause_next_push.set(pause);
                let mut edit_rng = Rng(rng.below(u64::MAX) | 1);
                let mut edits = Newest::new();
                let edit = async {
                    if pause {
                        transport.paused.notified().await;
                        write(device, &mut edit_rng, &mut edits).await;
                        transport.resume.notify_one();
                    }
                };
                let (synced, ()) = tokio::join!(device.engine.sync(), edit);
                for (id, (hlc, value)) in edits {
                    if newest.get(&id).is_none_or(|(best, _)| hlc > *best) {
                        newest.insert(id, (hlc, value));
                    }
                }
                format!("syncs, edit in flight: {:?}", synced.unwrap())
            }
            _ => format!("syncs: {:?}", device.engine.sync().await.unwrap()),
        };
        if trace() {
            eprintln!("{} {outcome}", short(device));
            if let Ok(id) = std::env::var("FERRYSYNC_MODEL_WATCH") {
                for d in &replicas {
                    let row = d.engine.store().get("todos", &id).await.unwrap();
                    eprintln!("    {} {id}: {row:?}", short(d));
                }
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
            let on_device = device.data(id).await;
            assert_eq!(
                &on_device,
                expected,
                "seed {seed}: {id} on {}",
                short(device)
            );
        }
    }
    for device in &replicas {
        let status = device.engine.status();
        let counts = (status.pending, status.conflicts, status.rejected);
        assert_eq!(counts, (0, 0, 0), "seed {seed}");
    }
}

#[tokio::test]
async fn replicas_converge_without_losing_the_newest_write() {
    let var = |name| std::env::var(name).ok().and_then(|s| s.parse::<u64>().ok());
    let seeds = match var("FERRYSYNC_MODEL_SEED") {
        Some(seed) => seed..=seed,
        None => 1..=var("FERRYSYNC_MODEL_SEEDS").unwrap_or(30),
    };
    for seed in seeds {
        run(seed).await;
    }
}
