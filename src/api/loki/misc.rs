//! `status/buildinfo` and `format_query`.

use super::deps;
use super::encode::write_str;
use super::response::ApiResponse;
use crate::api::params::Params;

/// The Loki version Cairn's API corresponds to (clients such as Grafana's
/// Logs Drilldown gate features on it).
pub const LOKI_COMPAT_VERSION: &str = "3.5.0";

/// `GET /loki/api/v1/status/buildinfo`: Loki's fields; `revision` carries
/// Cairn's own version.
pub fn buildinfo() -> ApiResponse {
    let mut out = String::from("{\"version\":");
    write_str(&mut out, LOKI_COMPAT_VERSION, false);
    out.push_str(",\"revision\":");
    write_str(
        &mut out,
        concat!("cairn-", env!("CARGO_PKG_VERSION")),
        false,
    );
    out.push_str(
        ",\"branch\":\"cairn\",\"buildUser\":\"cairn\",\"buildDate\":\"\",\"goVersion\":\"\"}\n",
    );
    ApiResponse::json(out)
}

/// `GET|POST /loki/api/v1/format_query`: `{"status":"success","data":"<query>"}`.
pub fn format_query(p: &Params) -> ApiResponse {
    match deps::format_query(p.get("query").unwrap_or("")) {
        Ok(f) => {
            let mut out = String::from("{\"status\":\"success\",\"data\":");
            write_str(&mut out, &f, false);
            out.push_str("}\n");
            ApiResponse::json(out)
        }
        Err(e) => ApiResponse::bad_request(&e.to_string()),
    }
}
