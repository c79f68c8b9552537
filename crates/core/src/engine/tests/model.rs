//! Seeded model test: replicas edit offline at random, sync in random order with lost answers
//! and must end equal to the server, holding for each record the write with the greatest stamp.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{block_on, device, fake_server::FakeServer, Config};
use crate::hlc::Hlc;
use crate::store::LocalStore;

/// xorshift64*: enough randomness for a reproducible schedule.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn run(seed: u64) {
    let server = FakeServer::default();
    let mut rng = Rng(seed | 1);
    let replicas: Vec<_> = (0..4)
        .map(|i| {
            device(
                &format!("d{i}"),
                &server,
                Config::new(["todos", "notes"]).with_batch_size(3),
            )
        })
        .collect();
    // For each record, the greatest stamp written and what it wrote (`None` = delete).
    let mut newest: BTreeMap<String, (Hlc, Option<Value>)> = BTreeMap::new();
    for step in 0..300 {
        let (engine, clock) = &replicas[rng.below(4) as usize];
        // Skewed clocks: each replica's wall time wanders.
        clock.set(1_000 + rng.below(500) + step);
        match rng.below(10) {
            0..=4 => {
                let id = format!("r{}", rng.below(8));
                let value = json!({"v": rng.below(1000), "by": engine.device_id()});
                let r = block_on(engine.put("todos", &id, value.clone())).unwrap();
                note(&mut newest, id, r.pending.unwrap().hlc, Some(value));
            }
            5 => {
                let id = format!("r{}", rng.below(8));
                if block_on(engine.delete("todos", &id)).unwrap() {
                    let r = block_on(engine.store().get("todos", &id)).unwrap().unwrap();
                    note(&mut newest, id, r.pending.unwrap().hlc, None);
                }
            }
            _ => {
                server.lose_next_push.set(rng.below(4) == 0);
                let _ = block_on(engine.sync());
                server.lose_next_push.set(false);
            }
        }
    }
    for _ in 0..3 {
        for (engine, _) in &replicas {
            block_on(engine.sync()).unwrap();
        }
    }
    let state = server.state.borrow();
    assert!(
        state.writes.values().all(|n| *n == 1),
        "seed {seed}: a change applied twice"
    );
    for (id, (_, expected)) in &newest {
        let (server_state, _) = &state.records[&("todos".to_owned(), id.clone())];
        let on_server = (!server_state.deleted).then(|| server_state.data.clone());
        assert_eq!(
            &on_server, expected,
            "seed {seed}: record {id} lost its newest write"
        );
        for (engine, _) in &replicas {
            let local = block_on(engine.get("todos", id))
                .unwrap()
                .map(|r| Value::Object(r.data.into_inner()));
            assert_eq!(
                &local,
                expected,
                "seed {seed}: {} differs on {id}",
                engine.device_id()
            );
            assert_eq!(engine.status().pending, 0);
        }
    }
}

fn note(
    newest: &mut BTreeMap<String, (Hlc, Option<Value>)>,
    id: String,
    hlc: Hlc,
    value: Option<Value>,
) {
    match newest.get(&id) {
        Some((best, _)) if *best > hlc => {}
        _ => {
            newest.insert(id, (hlc, value));
        }
    }
}

#[test]
fn replicas_converge_without_losing_the_newest_write() {
    for seed in 1..=40 {
        run(seed * 7919);
    }
}
