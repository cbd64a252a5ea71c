//! gRPC health checking (`grpc` feature): `grpc.health.v1.Health`, with `Check`, `Watch` and
//! `List`, answered from the same checks, lifecycle and snapshots as the HTTP probes, so that
//! Kubernetes `grpc:` probes, `grpc_health_probe`, meshes and load balancers see the same
//! truth as `/health/ready`.
//!
//! - `proto.rs`: the protocol's four messages and its status enum.
//! - `names.rs`: what a service name means (`""`, `startup`, `liveness`, `readiness`, a check)
//!   and its status now.
//! - `hub.rs`: the watchers, fed by the state's event stream, one channel per name.
//! - `service.rs`: the tower service that routes the three methods through tonic's codec.

mod hub;
mod names;
pub mod proto;
mod service;

pub use service::{HealthService, LIST_LIMIT, MAX_REQUEST_BYTES};
