//! The reading side: a [`Subscription`] (an async stream), and [`Listener`]s run over one on a
//! task of their own.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::broadcast;
use tokio::task::AbortHandle;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};

use super::event::{Event, Missed};

/// A subscription to the events of one application: an async [`Stream`] of
/// `Result<Event, Missed>`, or [`Subscription::recv`] for one at a time.
///
/// It holds no lock and slows nothing: a subscription that is not read only loses its oldest
/// events, and is told how many at its next read.
pub struct Subscription {
    inner: BroadcastStream<Event>,
}

impl Subscription {
    pub(crate) fn new(receiver: broadcast::Receiver<Event>) -> Subscription {
        Subscription {
            inner: BroadcastStream::new(receiver),
        }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl Subscription {
    /// The next event, `Err(Missed)` if events were lost since the last read, or `None` once
    /// nothing can publish any more: every clone of the state's lifecycle is gone, and with it
    /// its engine (a running scheduler, a `Scheduler` handle or a run in flight keeps it). A
    /// subscriber that holds the state itself therefore never sees `None`: end it by dropping
    /// the subscription.
    pub async fn recv(&mut self) -> Option<Result<Event, Missed>> {
        self.next().await
    }
}

impl Stream for Subscription {
    type Item = Result<Event, Missed>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx).map(|item| {
            item.map(|result| {
                result.map_err(|BroadcastStreamRecvError::Lagged(count)| Missed::new(count))
            })
        })
    }
}

/// A callback that receives every event, on a task of its own (see `Lifecycle::listen`): a slow
/// listener delays only itself.
///
/// Any `FnMut(&Event) + Send + 'static` closure is a listener.
pub trait Listener: Send + 'static {
    /// Called with each event, in order.
    fn on_event(&mut self, event: &Event);

    /// Called when the listener fell behind and `missed` events were lost. By default this is
    /// logged as a warning.
    fn on_missed(&mut self, missed: Missed) {
        tracing::warn!(
            missed = missed.count(),
            "a health event listener fell behind"
        );
    }
}

impl<F: FnMut(&Event) + Send + 'static> Listener for F {
    fn on_event(&mut self, event: &Event) {
        self(event)
    }
}

/// A listener running on its own task, returned by `Lifecycle::listen`. Dropping the handle does
/// not stop the listener; [`Listening::stop`] does.
#[derive(Debug, Clone)]
pub struct Listening {
    task: AbortHandle,
}

impl Listening {
    /// Stops the listener: it receives no further event.
    pub fn stop(&self) {
        self.task.abort();
    }

    /// Whether the listener still runs. It ends when stopped, when it panics, or when nothing
    /// can publish any more (see [`Subscription::recv`]); a listener whose closure holds the
    /// state keeps it alive, so stop it with [`Listening::stop`].
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }
}

/// Runs `listener` over `subscription` on a task of its own.
pub(crate) fn spawn_listener(
    mut subscription: Subscription,
    mut listener: impl Listener,
) -> Listening {
    let task = tokio::spawn(async move {
        while let Some(item) = subscription.recv().await {
            match item {
                Ok(event) => listener.on_event(&event),
                Err(missed) => listener.on_missed(missed),
            }
        }
    });
    Listening {
        task: task.abort_handle(),
    }
}
