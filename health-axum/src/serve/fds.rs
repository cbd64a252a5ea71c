//! File descriptors: `serve` raises the soft limit to the hard one (as Go's runtime does), and
//! caps the application port so that a flood of connections on it always leaves descriptors for
//! the probe port and the application's own files and dependency connections.

/// Descriptors kept out of the application port's reach, beyond the probe port's cap: for
/// the process's files, dependency connections and listeners.
const SPARE: u64 = 64;

/// The probe port's cap on open connections, with descriptors to spare.
pub(crate) const MAX_PROBE_CONNECTIONS: usize = 1024;

/// The descriptor limit in force, after raising the soft limit to the hard one; `None`
/// where it cannot be read.
pub(crate) fn raise_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let (soft, hard) = rlimit::Resource::NOFILE.get().ok()?;
        if soft < hard {
            match rlimit::increase_nofile_limit(hard) {
                Ok(raised) => {
                    tracing::debug!(from = soft, to = raised, "raised the descriptor limit");
                    return Some(raised);
                }
                Err(error) => {
                    tracing::debug!(%error, "could not raise the descriptor limit");
                }
            }
        }
        Some(soft)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// `(application port, probe port)` caps for a descriptor limit: the probe port gets at most
/// an eighth of the limit, and the application port what is left after the probe port and
/// [`SPARE`].
pub(crate) fn caps(limit: Option<u64>) -> (usize, usize) {
    let Some(limit) = limit else {
        return (usize::MAX, MAX_PROBE_CONNECTIONS);
    };
    let probe = (limit / 8).clamp(8, MAX_PROBE_CONNECTIONS as u64);
    let app = limit.saturating_sub(probe + SPARE).max(8);
    (
        usize::try_from(app).unwrap_or(usize::MAX),
        usize::try_from(probe).unwrap_or(MAX_PROBE_CONNECTIONS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_leave_the_probe_port_its_descriptors() {
        assert_eq!(caps(Some(1 << 20)), ((1 << 20) - 1024 - 64, 1024));
        assert_eq!(caps(Some(1024)), (1024 - 128 - 64, 128));
        let (app, probe) = caps(Some(200));
        assert_eq!(probe, 25);
        assert_eq!(app, 200 - 25 - 64);
        assert!(caps(Some(10)).0 >= 8);
    }
}
