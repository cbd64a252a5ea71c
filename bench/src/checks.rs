//! The states the benchmarks measure, written with the macros as a user would.

use std::time::Duration;

use health_axum::prelude::*;

/// Ten trivial readiness checks: what readiness costs when answered from the snapshot.
macro_rules! trivial_checks {
    ($($name:ident),*) => {
        /// Ten trivial checks.
        #[derive(Clone, HealthState)]
        #[health(checks($($name),*))]
        pub struct TenChecks {
            #[health(lifecycle)]
            pub lifecycle: Lifecycle,
        }
        $(
            #[health_check(critical)]
            async fn $name() -> Result<(), std::convert::Infallible> {
                Ok(())
            }
        )*
    };
}
trivial_checks!(
    ready_00, ready_01, ready_02, ready_03, ready_04, ready_05, ready_06, ready_07, ready_08,
    ready_09
);

/// One hundred checks of 50 ms each.
macro_rules! sleeping_checks {
    ($($name:ident),*) => {
        /// A hundred 50 ms checks.
        #[derive(Clone, HealthState)]
        #[health(checks($($name),*))]
        pub struct HundredChecks {
            #[health(lifecycle)]
            pub lifecycle: Lifecycle,
        }
        $(
            #[health_check(timeout_ms = 1000)]
            async fn $name() -> Result<(), std::convert::Infallible> {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(())
            }
        )*
        /// The same checks called one after another, as a hand-written probe does.
        pub async fn hundred_in_sequence() {
            $( let _ = $name().await; )*
        }
    };
}
sleeping_checks!(
    fan_000, fan_001, fan_002, fan_003, fan_004, fan_005, fan_006, fan_007, fan_008, fan_009,
    fan_010, fan_011, fan_012, fan_013, fan_014, fan_015, fan_016, fan_017, fan_018, fan_019,
    fan_020, fan_021, fan_022, fan_023, fan_024, fan_025, fan_026, fan_027, fan_028, fan_029,
    fan_030, fan_031, fan_032, fan_033, fan_034, fan_035, fan_036, fan_037, fan_038, fan_039,
    fan_040, fan_041, fan_042, fan_043, fan_044, fan_045, fan_046, fan_047, fan_048, fan_049,
    fan_050, fan_051, fan_052, fan_053, fan_054, fan_055, fan_056, fan_057, fan_058, fan_059,
    fan_060, fan_061, fan_062, fan_063, fan_064, fan_065, fan_066, fan_067, fan_068, fan_069,
    fan_070, fan_071, fan_072, fan_073, fan_074, fan_075, fan_076, fan_077, fan_078, fan_079,
    fan_080, fan_081, fan_082, fan_083, fan_084, fan_085, fan_086, fan_087, fan_088, fan_089,
    fan_090, fan_091, fan_092, fan_093, fan_094, fan_095, fan_096, fan_097, fan_098, fan_099
);

/// A check that never returns, with a 500 ms timeout.
#[derive(Clone, HealthState)]
#[health(checks(never_returns))]
pub struct Hung {
    #[health(lifecycle)]
    pub lifecycle: Lifecycle,
}

#[health_check(timeout_ms = 500)]
async fn never_returns() -> Result<(), std::convert::Infallible> {
    std::future::pending::<()>().await;
    Ok(())
}

/// Runs of [`ticking`], counted outside the framework.
pub static TICKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One trivial check on a 1 ms interval, to measure what one background run costs the
/// scheduler.
#[derive(Clone, HealthState)]
#[health(checks(ticking))]
pub struct Ticking {
    #[health(lifecycle)]
    pub lifecycle: Lifecycle,
}

/// The trivial check, run by the scheduler every millisecond.
#[health_check(interval_ms = 1, timeout_ms = 1)]
pub async fn ticking() -> Result<(), std::convert::Infallible> {
    trivial().await
}

/// The trivial check's body, counted; the hand-written poller calls it too.
pub async fn trivial() -> Result<(), std::convert::Infallible> {
    TICKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// Two PostgreSQL checks, the framework's way: refreshed in the background, answered from the
/// snapshot.
#[derive(Clone, HealthState)]
#[health(checks(primary, replica))]
pub struct Pg {
    /// The pool.
    pub db: sqlx::PgPool,
    #[health(lifecycle)]
    pub lifecycle: Lifecycle,
}

#[health_check(critical, timeout_ms = 500)]
async fn primary(state: &Pg) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(&state.db).await.map(|_| ())
}

#[health_check(critical, timeout_ms = 500)]
async fn replica(state: &Pg) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(&state.db).await.map(|_| ())
}

/// The hand-written readiness handler of the common tutorials: every request runs both checks
/// one after another, with no timeout and no cache.
pub async fn hand_written_ready(
    axum::extract::State(db): axum::extract::State<sqlx::PgPool>,
) -> (axum::http::StatusCode, &'static str) {
    let primary = sqlx::query("SELECT 1").execute(&db).await;
    let replica = sqlx::query("SELECT 1").execute(&db).await;
    match (primary, replica) {
        (Ok(_), Ok(_)) => (axum::http::StatusCode::OK, r#"{"status":"ok"}"#),
        _ => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            r#"{"status":"error"}"#,
        ),
    }
}

/// Whether [`switch`] passes: the dependency the gRPC `Watch` row turns off and on.
pub static SWITCH: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// One critical check that follows [`SWITCH`], run only when asked (`refresh`), with no
/// damping: each flip of the switch is one status change of readiness.
#[derive(Clone, HealthState)]
#[health(checks(switch))]
pub struct Switched {
    #[health(lifecycle)]
    pub lifecycle: Lifecycle,
}

/// Passes while [`SWITCH`] is on. Its interval (an hour) keeps the scheduler out of the way.
#[health_check(critical, interval_ms = 3_600_000, failure_threshold = 1, no_breaker)]
async fn switch() -> Result<(), String> {
    if SWITCH.load(std::sync::atomic::Ordering::SeqCst) {
        Ok(())
    } else {
        Err("switched off".into())
    }
}
