//! Spyder jobs announced on RabbitMQ, as the seed's `@sendToSpyder` does ("sends a message to
//! RabbitMQ queue to reschedule a new spyder job"). Optional: without a broker the spyder
//! manager's workers find jobs by polling the database every half second.
//!
//! The database's job queue stays the truth (a job is written with the status change that
//! needs it, claimed with a lease, and survives restarts); a message only says "job X of
//! datasource Y is due now", so every worker of every Tributary process consuming the queue
//! wakes at once instead of at its next poll, and other tools can follow the jobs too. A lost
//! message (the broker down) delays a job until the next poll; it never loses one.

use std::sync::Arc;

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};

use crate::error::{EngineError, Result};
use crate::model::Job;

fn broker_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(format!("RabbitMQ: {e}"))
}

pub struct Broker {
    _connection: Connection,
    channel: Channel,
    queue: String,
}

impl Broker {
    /// Connects to `url` (`amqp://user:pass@host:5672/vhost`) and declares the durable `queue`.
    pub async fn connect(url: &str, queue: &str) -> Result<Arc<Self>> {
        let connection = Connection::connect(
            url,
            ConnectionProperties::default().with_connection_name("tributary".into()),
        )
        .await
        .map_err(|e| broker_err(format!("cannot connect: {e}")))?;
        let channel = connection.create_channel().await.map_err(broker_err)?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(broker_err)?;
        channel
            .queue_declare(
                queue,
                QueueDeclareOptions {
                    durable: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(broker_err)?;
        Ok(Arc::new(Self {
            _connection: connection,
            channel,
            queue: queue.to_owned(),
        }))
    }

    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// Publishes `job` (persistent JSON: `job`, `datasource`, `run_after`, `force`) and waits
    /// for the broker to confirm it.
    pub async fn announce(&self, job: &Job) -> Result<()> {
        let body = serde_json::json!({
            "job": job.id,
            "datasource": job.datasource_id,
            "run_after": job.run_after,
            "force": job.force,
        })
        .to_string();
        self.channel
            .basic_publish(
                "",
                &self.queue,
                BasicPublishOptions::default(),
                body.as_bytes(),
                BasicProperties::default()
                    .with_content_type("application/json".into())
                    .with_delivery_mode(2),
            )
            .await
            .map_err(broker_err)?
            .await
            .map_err(broker_err)?;
        Ok(())
    }

    /// Calls `wake` for every announcement, acknowledging each, until the consumer ends (the
    /// connection closed). `prefetch`: messages held unacknowledged at once.
    pub async fn consume(&self, prefetch: u16, wake: impl Fn(serde_json::Value)) -> Result<()> {
        self.channel
            .basic_qos(prefetch.max(1), BasicQosOptions::default())
            .await
            .map_err(broker_err)?;
        let mut consumer = self
            .channel
            .basic_consume(
                &self.queue,
                "",
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(broker_err)?;
        while let Some(delivery) = consumer.next().await {
            let delivery = delivery.map_err(broker_err)?;
            let message = serde_json::from_slice(&delivery.data).unwrap_or_default();
            delivery
                .ack(BasicAckOptions::default())
                .await
                .map_err(broker_err)?;
            wake(message);
        }
        Ok(())
    }
}
