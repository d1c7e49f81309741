//! Live events between two servers on one PostgreSQL database (the relay, `LISTEN`/`NOTIFY`),
//! beside the same events within one server, and beside a RabbitMQ fanout exchange carrying
//! the same payloads between two connections (the other way two processes here could talk).
//!
//!   cargo bench -p engine --bench relay            # RUNS=5 EVENTS=1000 BURST=4000
//!
//! Prints per run and as medians: the latency of one event (published, then awaited, one at a
//! time) heard in the same server, heard on the other server, and over RabbitMQ; the rate of a
//! burst published as fast as one caller can, until the other server has heard it all; and
//! what `publish` costs the caller with and without the relay.
//! Needs PostgreSQL at `$TEST_POSTGRES_URL` and RabbitMQ at `$TEST_AMQP_URL` (the tests' own).

use std::time::{Duration, Instant};

use engine::events::{Heard, Listener, What};
use engine::testing::TestDb;
use futures_util::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties, ExchangeKind};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn next_change(l: &mut Listener) -> String {
    match tokio::time::timeout(Duration::from_secs(10), l.next()).await {
        Ok(Some(Heard::Change(c))) => c.datasource_id,
        Ok(Some(Heard::Missed(n))) => panic!("{n} missed"),
        Ok(None) => panic!("channel closed"),
        Err(_) => panic!("nothing heard in 10 s"),
    }
}

/// Microseconds from each publish to `l` hearing it, one event at a time.
async fn latencies(from: &engine::Engine, l: &mut Listener, n: usize, tag: &str) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!("{tag}{i}");
        let t = Instant::now();
        from.events().publish(&id, What::Updated);
        // Skip what was still on its way from before (another phase's relayed events).
        while next_change(l).await != id {}
        out.push(t.elapsed().as_secs_f64() * 1e6);
    }
    out
}

/// Microseconds per round of the same payload size over a RabbitMQ fanout exchange, one
/// connection publishing and another consuming.
async fn rabbitmq_latencies(n: usize, payload: &[u8]) -> Vec<f64> {
    let url = std::env::var("TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let exchange = format!("tributary.bench.{}", engine::service::new_id());
    let publisher = Connection::connect(&url, ConnectionProperties::default())
        .await
        .expect("RabbitMQ");
    let consumer = Connection::connect(&url, ConnectionProperties::default())
        .await
        .expect("RabbitMQ");
    let pch = publisher.create_channel().await.unwrap();
    let cch = consumer.create_channel().await.unwrap();
    pch.exchange_declare(
        &exchange,
        ExchangeKind::Fanout,
        ExchangeDeclareOptions {
            auto_delete: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    let q = cch
        .queue_declare(
            "",
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    cch.queue_bind(
        q.name().as_str(),
        &exchange,
        "",
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    let mut deliveries = cch
        .basic_consume(
            q.name().as_str(),
            "bench",
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let _confirm = pch
            .basic_publish(
                &exchange,
                "",
                BasicPublishOptions::default(),
                payload,
                BasicProperties::default(),
            )
            .await
            .unwrap();
        let d = tokio::time::timeout(Duration::from_secs(10), deliveries.next())
            .await
            .expect("a delivery within 10 s")
            .expect("the consumer is open")
            .unwrap();
        assert_eq!(d.data.len(), payload.len());
        out.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let _ = publisher.close(200, "done").await;
    let _ = consumer.close(200, "done").await;
    out
}

/// Nanoseconds per `publish` for `n` events on `e` (nobody listening).
fn publish_cost(e: &engine::Engine, n: usize) -> f64 {
    let t = Instant::now();
    for i in 0..n {
        e.events().publish(&format!("p{i}"), What::Processed);
    }
    t.elapsed().as_secs_f64() * 1e9 / n as f64
}

#[tokio::main]
async fn main() {
    let runs = env_usize("RUNS", 5);
    let events = env_usize("EVENTS", 1000);
    // Within the relay's outbox (4,096): a larger burst from a caller that never yields is cut
    // short, and the other server is told `missed`.
    let burst = env_usize("BURST", 4000);
    // A typical event's payload on the wire between servers, for RabbitMQ to carry the same.
    let payload = br#"{"k":"change","from":"0123456789abcdef0123456789abcdef","id":"ds1","n":1,"what":{"e":"updated"}}"#;

    let mut local_med = Vec::new();
    let mut cross_med = Vec::new();
    let mut cross_p99 = Vec::new();
    let mut amqp_med = Vec::new();
    let mut rates = Vec::new();
    let mut cost_plain = Vec::new();
    let mut cost_relay = Vec::new();
    println!(
        "run  same server µs  other server µs (p99)  RabbitMQ µs  burst events/s  publish ns (no relay / relay)"
    );
    for run in 1..=runs {
        let db = TestDb::postgres().await.expect("test PostgreSQL");
        let plain = db.engine().await.unwrap();
        let a = db.engine().await.unwrap();
        let b = db.engine().await.unwrap();
        let relay_a = a.relay_events().await.unwrap().expect("postgres relays");
        let relay_b = b.relay_events().await.unwrap().expect("postgres relays");

        let mut on_a = a.events().listen();
        let local = latencies(&a, &mut on_a, events, "local").await;
        drop(on_a);
        let mut on_b = b.events().listen();
        let cross = latencies(&a, &mut on_b, events, "cross").await;
        let amqp = rabbitmq_latencies(events, payload).await;

        // A burst: as fast as one caller publishes, until the other server heard the last
        // (heard on a task of its own, as a browser's stream is).
        let last = format!("burst{}", burst - 1);
        let hearing = tokio::spawn(async move {
            let mut heard = 0;
            loop {
                let id = next_change(&mut on_b).await;
                if id.starts_with("burst") {
                    heard += 1;
                }
                if id == last {
                    assert_eq!(heard, burst, "every event of the burst, in order");
                    return on_b;
                }
            }
        });
        let t = Instant::now();
        for i in 0..burst {
            a.events().publish(&format!("burst{i}"), What::Updated);
            if i % 64 == 63 {
                // A real publisher awaits the database between changes.
                tokio::task::yield_now().await;
            }
        }
        let on_b = hearing.await.unwrap();
        let rate = burst as f64 / t.elapsed().as_secs_f64();
        drop(on_b);

        let p_plain = publish_cost(&plain, 100_000);
        let p_relay = publish_cost(&a, 4000);
        println!(
            "{run:>3}  {:>13.1}  {:>10.0} ({:>5.0})  {:>11.0}  {:>14.0}  {:>6.0} / {:.0}",
            median(local.clone()),
            median(cross.clone()),
            pct(cross.clone(), 0.99),
            median(amqp.clone()),
            rate,
            p_plain,
            p_relay
        );
        local_med.push(median(local));
        cross_med.push(median(cross.clone()));
        cross_p99.push(pct(cross, 0.99));
        amqp_med.push(median(amqp));
        rates.push(rate);
        cost_plain.push(p_plain);
        cost_relay.push(p_relay);
        drop((relay_a, relay_b));
        db.cleanup().await.unwrap();
    }
    let cross = median(cross_med);
    let amqp = median(amqp_med);
    println!(
        "\nmedians of {runs} runs of {events} events: same server {:.1} µs; other server {cross:.0} µs \
         (p99 {:.0} µs); RabbitMQ fanout {amqp:.0} µs (relay / RabbitMQ {:.2}x); burst of {burst}: \
         {:.0} events/s; publish {:.0} ns without the relay, {:.0} ns with it",
        median(local_med),
        median(cross_p99),
        cross / amqp,
        median(rates),
        median(cost_plain),
        median(cost_relay),
    );
}
