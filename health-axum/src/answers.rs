//! Counting the probe routes' answers (feature `metrics`):
//! `health_probe_responses_total{probe, code}`. Per request it is one counter increment through
//! a handle registered on first use: no allocation and no lock.

#[cfg(feature = "metrics")]
mod counting {
    use std::sync::OnceLock;

    use axum::http::StatusCode;
    use health_core::metrics::PROBE_RESPONSES_TOTAL;
    use health_core::{Probe, Scope};
    use metrics::{counter, Counter};

    /// The `probe` label of each scope, in the order of `probe_index`.
    const PROBES: [&str; 4] = ["startup", "liveness", "readiness", "full"];
    /// The `code` label: the codes the probe routes answer, and `other`.
    const CODES: [&str; 5] = ["200", "503", "404", "405", "other"];

    /// The answer counters of one probe router.
    #[derive(Default)]
    pub(crate) struct Answers {
        cells: [[OnceLock<Counter>; 5]; 4],
        /// Set once the `200` and `503` series of every probe are registered.
        primed: OnceLock<()>,
    }

    impl Answers {
        pub(crate) fn new() -> Answers {
            Answers::default()
        }

        /// Counts one answer with `status` to a request for `scope`.
        pub(crate) fn count(&self, scope: Scope, status: StatusCode) {
            // The series alerts read (200 and 503 of each probe) exist from the first answer
            // on, at 0, so that `increase(...)` sees their first change.
            self.primed.get_or_init(|| {
                for probe in 0..PROBES.len() {
                    self.cell(probe, 0);
                    self.cell(probe, 1);
                }
            });
            let code = match status.as_u16() {
                200 => 0,
                503 => 1,
                404 => 2,
                405 => 3,
                _ => 4,
            };
            self.cell(probe_index(scope), code).increment(1);
        }

        fn cell(&self, probe: usize, code: usize) -> &Counter {
            self.cells[probe][code].get_or_init(
                || counter!(PROBE_RESPONSES_TOTAL, "probe" => PROBES[probe], "code" => CODES[code]),
            )
        }
    }

    fn probe_index(scope: Scope) -> usize {
        match scope {
            Scope::Probe(Probe::Startup) => 0,
            Scope::Probe(Probe::Live) => 1,
            Scope::Probe(Probe::Ready) => 2,
            Scope::Full => 3,
        }
    }
}

#[cfg(not(feature = "metrics"))]
mod counting {
    use axum::http::StatusCode;
    use health_core::Scope;

    /// Counts nothing: the build without the `metrics` feature.
    pub(crate) struct Answers;

    impl Answers {
        pub(crate) fn new() -> Answers {
            Answers
        }

        #[inline(always)]
        pub(crate) fn count(&self, _scope: Scope, _status: StatusCode) {}
    }
}

pub(crate) use counting::Answers;
