//! Tenant ids, taken from `X-Scope-OrgID`.

use std::fmt;

/// The tenant used when a request carries no `X-Scope-OrgID` (as Loki's
/// no-auth mode does).
pub const DEFAULT_TENANT: &str = "fake";

/// A validated tenant id: 1–150 characters from `[A-Za-z0-9!-_.*'()]`, not
/// `.` or `..` (the rules Loki and Mimir apply), so it is safe as a directory name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() || s.len() > 150 {
            return Err(format!(
                "tenant id must be 1 to 150 characters, got {}",
                s.len()
            ));
        }
        if s == "." || s == ".." {
            return Err("tenant id must not be '.' or '..'".into());
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "!-_.*'()".contains(*c)))
        {
            return Err(format!("tenant id contains unsupported character {c:?}"));
        }
        Ok(TenantId(s.to_string()))
    }

    pub fn default_tenant() -> Self {
        TenantId(DEFAULT_TENANT.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn validation() {
        assert!(TenantId::parse("team-a").is_ok());
        assert!(TenantId::parse("..").is_err());
        assert!(TenantId::parse("a/b").is_err());
        assert!(TenantId::parse("").is_err());
    }
}
