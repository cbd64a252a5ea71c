//! Counting the probe routes' answers (feature `metrics`):
//! `health_probe_responses_total{probe, code}`, and the gRPC health service's `Check` answers,
//! `health_grpc_check_responses_total{probe, status}`. Every series is registered when the router
//! (or the service) is built; per request it is one counter increment: no allocation, no lock.

#[cfg(feature = "grpc")]
use health_core::Probe;

/// What a gRPC `Check` asked about, as its answer is counted: a probe, one check (the `probe`
/// label `check`: check names are not labels of this series), or a name the server does not know.
#[cfg(feature = "grpc")]
#[derive(Clone, Copy, Debug)]
// Without `metrics` nothing reads it: the call sites stay the same in both builds.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) enum Asked {
    /// A probe's verdict (`""` included, as the probe it stands for).
    Probe(Probe),
    /// One check.
    Check,
    /// An unknown name (`NOT_FOUND`).
    Unknown,
}

#[cfg(feature = "metrics")]
mod counting {
    use std::array;

    use axum::http::StatusCode;
    use health_core::metrics::PROBE_RESPONSES_TOTAL;
    use health_core::{Probe, Scope};
    use metrics::{counter, Counter};

    #[cfg(feature = "grpc")]
    pub(crate) use super::grpc::GrpcAnswers;

    /// The `probe` label of each scope, in the order of `probe_index`.
    const PROBES: [&str; 4] = ["startup", "liveness", "readiness", "full"];
    /// The `code` label: the codes the probe routes answer, and `other`.
    const CODES: [&str; 5] = ["200", "503", "404", "405", "other"];

    /// The answer counters of one probe router, every one registered when the router is built
    /// (so each series exists at 0 before its first answer, and no request registers one).
    pub(crate) struct Answers {
        counters: [[Counter; 5]; 4],
    }

    impl Answers {
        pub(crate) fn new() -> Answers {
            Answers {
                counters: array::from_fn(|probe| {
                    array::from_fn(
                        |code| counter!(PROBE_RESPONSES_TOTAL, "probe" => PROBES[probe], "code" => CODES[code]),
                    )
                }),
            }
        }

        /// Counts one answer with `status` to a request for `scope`.
        pub(crate) fn count(&self, scope: Scope, status: StatusCode) {
            let code = match status.as_u16() {
                200 => 0,
                503 => 1,
                404 => 2,
                405 => 3,
                _ => 4,
            };
            self.counters[probe_index(scope)][code].increment(1);
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

/// The gRPC `Check` answers' counters (features `grpc` and `metrics`).
#[cfg(all(feature = "metrics", feature = "grpc"))]
mod grpc {
    use std::array;

    use health_core::metrics::GRPC_CHECK_RESPONSES_TOTAL;
    use health_core::Probe;
    use metrics::{counter, Counter};

    use super::Asked;

    const ASKED: [&str; 5] = ["startup", "liveness", "readiness", "check", "unknown"];
    const STATUSES: [&str; 3] = ["serving", "not_serving", "not_found"];

    /// The `Check` answer counters of one gRPC health service, every one registered when the
    /// service is built.
    pub(crate) struct GrpcAnswers {
        counters: [[Counter; 3]; 5],
    }

    impl GrpcAnswers {
        pub(crate) fn new() -> GrpcAnswers {
            GrpcAnswers {
                counters: array::from_fn(|asked| {
                    array::from_fn(
                        |status| counter!(GRPC_CHECK_RESPONSES_TOTAL, "probe" => ASKED[asked], "status" => STATUSES[status]),
                    )
                }),
            }
        }

        /// Counts one answer to a `Check` of `asked`: serving or not (`None`: not found).
        pub(crate) fn count(&self, asked: Asked, serving: Option<bool>) {
            let row = match asked {
                Asked::Probe(Probe::Startup) => 0,
                Asked::Probe(Probe::Live) => 1,
                Asked::Probe(Probe::Ready) => 2,
                Asked::Check => 3,
                Asked::Unknown => 4,
            };
            let column = match serving {
                Some(true) => 0,
                Some(false) => 1,
                None => 2,
            };
            self.counters[row][column].increment(1);
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

    /// Counts nothing: the build without the `metrics` feature.
    #[cfg(feature = "grpc")]
    pub(crate) struct GrpcAnswers;

    #[cfg(feature = "grpc")]
    impl GrpcAnswers {
        pub(crate) fn new() -> GrpcAnswers {
            GrpcAnswers
        }

        #[inline(always)]
        pub(crate) fn count(&self, _asked: super::Asked, _serving: Option<bool>) {}
    }
}

pub(crate) use counting::Answers;
#[cfg(feature = "grpc")]
pub(crate) use counting::GrpcAnswers;
