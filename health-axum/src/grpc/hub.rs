//! The watchers' side: one task per service that follows the state's event stream and keeps,
//! per service name, the latest status in a `tokio::sync::watch` channel. A `Watch` call reads
//! its name's channel: the first message is the current status, then one per change. Nothing is
//! polled; nothing is done per probe; a watcher that does not read holds one value, however
//! many changes it misses, and slows no one (a watch channel keeps the latest value only).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use health_core::{next_unannounced_change, HealthState};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_stream::wrappers::WatchStream;
use tokio_stream::Stream;
use tokio_util::sync::CancellationToken;

use super::names::{all_names, status_of, target, Config};
use super::proto::{HealthCheckResponse, ServingStatus};

/// What a watcher reads: the status, and whether it is the last message (the server stops).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Watched {
    status: ServingStatus,
    last: bool,
}

/// The channels, one per known name, and one for every unknown name.
pub(crate) struct Hub {
    known: HashMap<&'static str, watch::Sender<Watched>>,
    unknown: watch::Sender<Watched>,
}

impl Hub {
    /// Starts following `state`'s events, on a task that ends when the server stops. Subscribes
    /// before the first evaluation, so that no change falls between the two.
    pub(crate) fn start<S: HealthState>(
        state: S,
        config: Config,
        dropped: CancellationToken,
    ) -> Arc<Hub> {
        let lifecycle = state.lifecycle().clone();
        let mut events = lifecycle.subscribe();
        let initial = Watched {
            // Until the first evaluation has run (the task's first step): never sent as such,
            // since a watcher's first message waits for it (see `Hub::watch`).
            status: ServingStatus::Unknown,
            last: false,
        };
        let known = all_names::<S>()
            .into_iter()
            .map(|name| (name, watch::Sender::new(initial)))
            .collect();
        let unknown = watch::Sender::new(Watched {
            status: ServingStatus::ServiceUnknown,
            last: false,
        });
        let hub = Arc::new(Hub { known, unknown });
        let task_hub = Arc::clone(&hub);
        tokio::spawn(async move {
            task_hub.update(&state, &config).await;
            loop {
                // A result growing stale, or refreshed while stale, publishes nothing: evaluate
                // again at the next such instant too (a deadline, not a poll).
                let unannounced = next_unannounced_change(&state);
                tokio::select! {
                    biased;
                    // Every handle to the service is gone: nobody can watch any more.
                    () = dropped.cancelled() => return,
                    () = lifecycle.stopping() => break,
                    event = events.recv() => match event {
                        // An event, or some missed: the state changed; evaluate again.
                        Some(_) => task_hub.update(&state, &config).await,
                        None => break,
                    },
                    () = sleep_until_some(unannounced) => task_hub.update(&state, &config).await,
                }
            }
            task_hub.stop();
        });
        hub
    }

    /// Evaluates every name and tells the watchers of those whose status changed.
    async fn update<S: HealthState>(&self, state: &S, config: &Config) {
        for (name, sender) in &self.known {
            let Some(target) = target::<S>(name, config) else {
                continue;
            };
            let status = status_of(state, target, config).await;
            sender.send_if_modified(|watched| {
                let changed = watched.status != status && !watched.last;
                if changed {
                    watched.status = status;
                }
                changed
            });
        }
    }

    /// The server stops: every known name is `NOT_SERVING`, and every stream ends after it.
    fn stop(&self) {
        for sender in self.known.values() {
            sender.send_replace(Watched {
                status: ServingStatus::NotServing,
                last: true,
            });
        }
        self.unknown.send_modify(|watched| watched.last = true);
    }

    /// The answers of a `Watch` on `name`.
    pub(crate) fn watch(&self, name: &str) -> WatchAnswers {
        let receiver = match self.known.get(name) {
            Some(sender) => sender.subscribe(),
            None => self.unknown.subscribe(),
        };
        WatchAnswers {
            inner: WatchStream::new(receiver),
            sent: None,
            done: false,
        }
    }
}

/// Sleeps until `deadline`, or for ever without one.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The stream of a `Watch`: each status once, in order, skipping the placeholder before the
/// first evaluation and any repeat (two changes between two reads that cancel out are not a
/// change); it ends after the server's last message.
pub(crate) struct WatchAnswers {
    inner: WatchStream<Watched>,
    sent: Option<ServingStatus>,
    done: bool,
}

impl std::fmt::Debug for WatchAnswers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchAnswers")
            .field("sent", &self.sent)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Stream for WatchAnswers {
    type Item = Result<HealthCheckResponse, tonic::Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            let Some(watched) = std::task::ready!(Pin::new(&mut self.inner).poll_next(cx)) else {
                return Poll::Ready(None);
            };
            self.done = watched.last;
            let new = watched.status != ServingStatus::Unknown && self.sent != Some(watched.status);
            if new {
                self.sent = Some(watched.status);
                return Poll::Ready(Some(Ok(HealthCheckResponse::new(watched.status))));
            }
        }
    }
}
