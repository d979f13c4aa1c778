//! Tests of alert template expansion against Prometheus' outputs.

use super::*;
