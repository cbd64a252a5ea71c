//! The series' interface recording nothing: the build without the `metrics` feature. Each
//! method is empty and inlined away.

use crate::phase::Phase;
use crate::result::CheckResult;
use crate::snapshot::Circuit;
use crate::spec::Probes;
use crate::status::Status;

/// Every series of one check (none without the `metrics` feature).
pub(crate) struct CheckSeries;

impl CheckSeries {
    pub(crate) fn new(_name: &'static str, _probes: Probes) -> CheckSeries {
        CheckSeries
    }

    #[inline(always)]
    pub(crate) fn ran(&self, _result: &CheckResult, _reported: Option<Status>, _failures: u32) {}

    #[inline(always)]
    pub(crate) fn reported(&self, _status: Status) {}

    #[inline(always)]
    pub(crate) fn circuit(&self, _circuit: Circuit) {}

    #[inline(always)]
    pub(crate) fn retired(&self) {}

    #[inline(always)]
    pub(crate) fn skipped(&self) {}
}

/// The lifecycle's phase series (none without the `metrics` feature).
pub(crate) struct PhaseSeries;

impl PhaseSeries {
    pub(crate) fn new() -> PhaseSeries {
        PhaseSeries
    }

    #[inline(always)]
    pub(crate) fn set(&self, _phase: Phase) {}
}
