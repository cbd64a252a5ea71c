//! The log line written once per change: a listener of the event stream, run by the publisher
//! once it has released its lock (see `Published`).

use super::event::{Change, Event, Subject};
use super::listener::Listener;
use crate::status::Status;

/// Writes one `tracing` line per event. A check's first result is not a change: it is logged as
/// what it is (at `warn` when it is not healthy, so the reason a fresh pod is not ready is in the
/// log).
pub(super) struct LogListener;

impl Listener for LogListener {
    fn on_event(&mut self, event: &Event) {
        match (event.subject(), event.change()) {
            (Subject::Check(name), Change::Status { from: None, to }) => {
                first_result(event, name, *to)
            }
            (
                Subject::Check(name),
                Change::Status {
                    from: Some(from),
                    to,
                },
            ) => status_changed(event, name, *from, *to),
            (Subject::Check(name), Change::Circuit { from, to }) => tracing::debug!(
                check = name,
                from = from.as_str(),
                to = to.as_str(),
                "health check circuit changed"
            ),
            (Subject::Check(name), Change::Service { out_of_service }) => match out_of_service {
                Some(reason) => {
                    tracing::warn!(check = name, %reason, "health check taken out of service")
                }
                None => tracing::info!(check = name, "health check back in service"),
            },
            (_, Change::Phase { from, to }) => {
                tracing::info!(phase = %to, from = %from, "lifecycle phase changed")
            }
            (_, Change::Liveness { broken }) => match broken {
                Some(reason) => tracing::warn!(
                    %reason,
                    "the application marked itself broken: liveness fails until it is marked correct"
                ),
                None => tracing::info!(
                    "the application marked itself correct: liveness follows its checks again"
                ),
            },
            // A status change is always about a check; nothing else is published.
            (Subject::Application, _) => {}
        }
    }
}

fn first_result(event: &Event, name: &str, status: Status) {
    match status {
        Status::Healthy => {
            tracing::info!(
                check = name,
                status = "healthy",
                "health check first result"
            )
        }
        status => tracing::warn!(
            check = name,
            status = status.as_str(),
            message = event.message().unwrap_or(""),
            circuit_open = circuit_open(event),
            "health check first result"
        ),
    }
}

fn status_changed(event: &Event, name: &str, from: Status, to: Status) {
    let from = from.as_str();
    let message = event.message().unwrap_or("");
    match to {
        Status::Healthy => tracing::info!(
            check = name,
            from,
            to = "healthy",
            "health check status changed"
        ),
        Status::Degraded => tracing::warn!(
            check = name,
            from,
            to = "degraded",
            message,
            "health check status changed"
        ),
        Status::Unhealthy => tracing::warn!(
            check = name,
            from,
            to = "unhealthy",
            message,
            circuit_open = circuit_open(event),
            "health check status changed"
        ),
    }
}

/// Whether the check's circuit was open when its status changed (the snapshot's retry time).
fn circuit_open(event: &Event) -> bool {
    event
        .snapshot()
        .is_some_and(|snapshot| snapshot.retry_at.is_some())
}
