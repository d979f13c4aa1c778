//! Wire protocols in: bytes to validated internal records, one file per
//! protocol. Nothing here knows the storage layout.

pub mod histogram_wire;
pub mod limiter;
pub mod loki_push;
pub mod protowire;
pub mod remote_write;

/// Generated protobuf types (`proto/`).
pub mod proto {
    pub mod prometheus {
        include!(concat!(env!("OUT_DIR"), "/prometheus.rs"));
    }
    pub mod write_v2 {
        include!(concat!(env!("OUT_DIR"), "/io.prometheus.write.v2.rs"));
    }
    pub mod logproto {
        include!(concat!(env!("OUT_DIR"), "/logproto.rs"));
    }
}
