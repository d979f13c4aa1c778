//! Request bodies: gzip/deflate `Content-Encoding` undone with a size limit,
//! and the tenant taken from `X-Scope-OrgID`.

use std::io::Read;

use axum::http::{header, HeaderMap};

use crate::model::TenantId;

pub const TENANT_HEADER: &str = "x-scope-orgid";

/// The request's tenant: `X-Scope-OrgID`, or the default tenant when absent.
pub fn tenant(headers: &HeaderMap) -> Result<TenantId, String> {
    match headers.get(TENANT_HEADER) {
        None => Ok(TenantId::default_tenant()),
        Some(v) => {
            let s = v
                .to_str()
                .map_err(|_| "X-Scope-OrgID is not valid text".to_string())?;
            let s = s.trim();
            if s.contains('|') {
                return Err(
                    "queries across several tenants (X-Scope-OrgID with '|') are not supported"
                        .into(),
                );
            }
            TenantId::parse(s).map_err(|e| format!("invalid X-Scope-OrgID: {e}"))
        }
    }
}

/// Why a body could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// 415
    UnsupportedEncoding(String),
    /// 400
    Corrupt(String),
    /// 413
    TooLarge(usize),
}

impl BodyError {
    pub fn message(&self) -> String {
        match self {
            BodyError::UnsupportedEncoding(e) => format!("unsupported Content-Encoding {e:?}"),
            BodyError::Corrupt(e) => format!("cannot decompress request body: {e}"),
            BodyError::TooLarge(n) => format!("request body too large: limit is {n} bytes"),
        }
    }
}

/// Undoes a gzip or deflate `Content-Encoding`; other encodings listed in
/// `passthrough` (such as `snappy` for remote write) are left to the caller.
pub fn decode_body(
    headers: &HeaderMap,
    body: &[u8],
    limit: usize,
    passthrough: &[&str],
) -> Result<Vec<u8>, BodyError> {
    let enc = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let mut out = Vec::new();
    let res = match enc.as_str() {
        "" | "identity" => return check_len(body.to_vec(), limit),
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(body)
            .take(limit as u64 + 1)
            .read_to_end(&mut out),
        "deflate" => flate2::read::ZlibDecoder::new(body)
            .take(limit as u64 + 1)
            .read_to_end(&mut out),
        other if passthrough.contains(&other) => return check_len(body.to_vec(), limit),
        other => return Err(BodyError::UnsupportedEncoding(other.to_string())),
    };
    res.map_err(|e| BodyError::Corrupt(e.to_string()))?;
    check_len(out, limit)
}

fn check_len(v: Vec<u8>, limit: usize) -> Result<Vec<u8>, BodyError> {
    if v.len() > limit {
        Err(BodyError::TooLarge(limit))
    } else {
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzip_and_limits() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"query=up").unwrap();
        let gz = enc.finish().unwrap();
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        assert_eq!(decode_body(&h, &gz, 100, &[]).unwrap(), b"query=up");
        assert_eq!(decode_body(&h, &gz, 3, &[]), Err(BodyError::TooLarge(3)));
        assert!(matches!(
            decode_body(&h, b"nope", 100, &[]),
            Err(BodyError::Corrupt(_))
        ));
        h.insert(header::CONTENT_ENCODING, "br".parse().unwrap());
        assert!(matches!(
            decode_body(&h, b"x", 100, &[]),
            Err(BodyError::UnsupportedEncoding(_))
        ));
        h.insert(header::CONTENT_ENCODING, "snappy".parse().unwrap());
        assert_eq!(decode_body(&h, b"x", 100, &["snappy"]).unwrap(), b"x");
    }

    #[test]
    fn tenants() {
        let mut h = HeaderMap::new();
        assert_eq!(tenant(&h).unwrap().as_str(), "fake");
        h.insert(TENANT_HEADER, "team-a".parse().unwrap());
        assert_eq!(tenant(&h).unwrap().as_str(), "team-a");
        h.insert(TENANT_HEADER, "../etc".parse().unwrap());
        assert!(tenant(&h).is_err());
    }
}
