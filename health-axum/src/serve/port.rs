//! One port `serve` listens on: its accept loop running as a task, which the shutdown stops,
//! drains and cuts. The application port and the probe port run the same accept loop
//! ([`accept_loop`]); only their [`Policy`] differs.

use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::connection::Shared;
use super::listener::accept_loop;
use super::policy::Policy;

/// One port's accept loop, running as a task.
pub(crate) struct Port {
    shared: Arc<Shared>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Port {
    /// Starts the accept loop of `listener`.
    pub(crate) fn start(listener: TcpListener, router: Router, policy: Policy) -> Port {
        let shared = Shared::new();
        let stop = CancellationToken::new();
        let task = tokio::spawn(accept_loop(
            listener,
            router,
            policy,
            Arc::clone(&shared),
            stop.clone(),
        ));
        Port { shared, stop, task }
    }

    /// Requests in flight right now, on every connection of the port.
    pub(crate) fn in_flight(&self) -> usize {
        self.shared.in_flight()
    }

    /// Stops accepting: the listener closes, idle connections close at once and busy ones
    /// after their answer.
    pub(crate) fn stop_accepting(&self) {
        self.stop.cancel();
    }

    /// Waits until every connection of the port has ended (after [`Port::stop_accepting`]).
    pub(crate) async fn finished(&mut self) {
        let _ = (&mut self.task).await;
    }

    /// Drops every connection now, requests in flight or not.
    pub(crate) fn cut(&self) {
        self.shared.cut.cancel();
    }

    /// Stops accepting, cuts every connection and waits for the accept loop to end.
    pub(crate) async fn close(mut self) {
        self.stop_accepting();
        self.cut();
        self.finished().await;
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        // `serve` dropped before it finished: its accept loops and connections end with it.
        self.shared.cut.cancel();
        self.task.abort();
    }
}
