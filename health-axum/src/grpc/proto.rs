//! The messages of `grpc.health.v1` (grpc-proto `grpc/health/v1/health.proto`, with `List` from
//! gRPC proposal A90), written out with `prost`'s derive rather than generated: four small
//! messages do not justify a build script and a `protoc` on every machine that builds us. The
//! field numbers and the enum's values are the protocol's; a test encodes each message and
//! compares the bytes with the protocol's wire format.

use std::collections::HashMap;

/// `HealthCheckRequest { string service = 1; }`
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct HealthCheckRequest {
    /// The service asked about: a probe's name, a check's name, or `""`.
    #[prost(string, tag = "1")]
    pub service: String,
}

/// `HealthCheckResponse { ServingStatus status = 1; }`
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct HealthCheckResponse {
    /// A [`ServingStatus`], as its protocol number.
    #[prost(enumeration = "ServingStatus", tag = "1")]
    pub status: i32,
}

impl HealthCheckResponse {
    /// The response carrying `status`.
    pub fn new(status: ServingStatus) -> Self {
        HealthCheckResponse {
            status: status as i32,
        }
    }
}

/// `HealthListRequest {}`
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct HealthListRequest {}

/// `HealthListResponse { map<string, HealthCheckResponse> statuses = 1; }`
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct HealthListResponse {
    /// Every service the server knows, with its status.
    #[prost(map = "string, message", tag = "1")]
    pub statuses: HashMap<String, HealthCheckResponse>,
}

/// `HealthCheckResponse.ServingStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ServingStatus {
    /// `UNKNOWN = 0`: never sent by this server.
    Unknown = 0,
    /// `SERVING = 1`.
    Serving = 1,
    /// `NOT_SERVING = 2`.
    NotServing = 2,
    /// `SERVICE_UNKNOWN = 3`: only in a `Watch` on a name the server does not know.
    ServiceUnknown = 3,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn the_messages_have_the_protocols_wire_format() {
        // Field 1, length-delimited (tag byte 0x0a), "db".
        let request = HealthCheckRequest {
            service: "db".into(),
        };
        assert_eq!(request.encode_to_vec(), [0x0a, 2, b'd', b'b']);
        // Field 1, varint (tag byte 0x08), NOT_SERVING = 2.
        let response = HealthCheckResponse::new(ServingStatus::NotServing);
        assert_eq!(response.encode_to_vec(), [0x08, 2]);
        // A map entry is a nested message: key (field 1) and value (field 2).
        let list = HealthListResponse {
            statuses: [(
                "a".to_string(),
                HealthCheckResponse::new(ServingStatus::Serving),
            )]
            .into_iter()
            .collect(),
        };
        assert_eq!(
            list.encode_to_vec(),
            [0x0a, 7, 0x0a, 1, b'a', 0x12, 2, 0x08, 1]
        );
        assert_eq!(ServingStatus::ServiceUnknown as i32, 3);
    }
}
