//! What a resource and a scope add to every series: `job` from
//! `service.namespace`/`service.name`, `instance` from
//! `service.instance.id`, the `otel_scope_*` labels, and the `target_info`
//! series that carries the other resource attributes.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::ScopeMetrics;
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::attrs::{get, to_labels, value_string};
use super::naming::label_name;
use crate::model::labels::METRIC_NAME;
use crate::model::Labels;

const SERVICE_NAME: &str = "service.name";
const SERVICE_NAMESPACE: &str = "service.namespace";
const SERVICE_INSTANCE_ID: &str = "service.instance.id";
/// The resource attributes that become `job` and `instance`.
const IDENTIFYING: [&str; 3] = [SERVICE_NAMESPACE, SERVICE_NAME, SERVICE_INSTANCE_ID];

/// Prometheus' default lookback delta; `target_info` gets a sample every
/// half of it between a resource's first and last data point.
const TARGET_INFO_INTERVAL_NS: u64 = 150_000_000_000;

/// The name of the resource-attributes series.
pub const TARGET_INFO: &str = "target_info";

/// The labels a resource gives every series.
pub struct ResourceCtx<'a> {
    attrs: &'a [KeyValue],
    job: Option<String>,
    instance: Option<String>,
}

impl<'a> ResourceCtx<'a> {
    pub fn new(resource: Option<&'a Resource>) -> Self {
        let attrs: &[KeyValue] = resource.map_or(&[], |r| &r.attributes);
        let job = get(attrs, SERVICE_NAME).map(|name| {
            let name = value_string(name.value.as_ref());
            match get(attrs, SERVICE_NAMESPACE) {
                Some(ns) => format!("{}/{name}", value_string(ns.value.as_ref())),
                None => name,
            }
        });
        let instance = get(attrs, SERVICE_INSTANCE_ID).map(|i| value_string(i.value.as_ref()));
        ResourceCtx {
            attrs,
            job,
            instance,
        }
    }

    /// Sets `job` and `instance` (overriding data point attributes).
    fn apply(&self, l: &mut BTreeMap<String, String>) {
        if let Some(j) = &self.job {
            l.insert("job".into(), j.clone());
        }
        if let Some(i) = &self.instance {
            l.insert("instance".into(), i.clone());
        }
    }

    /// The `target_info` label set, when the resource has attributes
    /// besides the identifying ones and a `job` or `instance` to join on.
    pub fn target_info_labels(&self) -> Result<Option<Labels>, String> {
        if self
            .attrs
            .iter()
            .all(|kv| IDENTIFYING.contains(&kv.key.as_str()))
        {
            return Ok(None);
        }
        let mut l = to_labels(self.attrs, &IDENTIFYING)?;
        self.apply(&mut l);
        if l.get("job").is_none_or(|v| v.is_empty())
            && l.get("instance").is_none_or(|v| v.is_empty())
        {
            return Ok(None);
        }
        l.insert(METRIC_NAME.into(), TARGET_INFO.into());
        Ok(Some(Labels::from_pairs(l)))
    }
}

/// The `target_info` sample times (ms) for a resource whose data points
/// span `[earliest, latest]` (ns): every 2.5 minutes from the first, and
/// the last.
pub fn target_info_times(earliest_ns: u64, latest_ns: u64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut t = earliest_ns;
    while t < latest_ns {
        out.push(super::ns_to_ms(t));
        t = t.saturating_add(TARGET_INFO_INTERVAL_NS);
    }
    let last = super::ns_to_ms(latest_ns);
    if out.last().is_none_or(|&x| x < last) {
        out.push(last);
    }
    out
}

/// The `otel_scope_*` labels of a scope (none for an unnamed scope).
pub struct ScopeCtx {
    labels: Vec<(String, String)>,
}

impl ScopeCtx {
    pub fn new(sm: &ScopeMetrics) -> Result<Self, String> {
        let mut labels = Vec::new();
        if let Some(scope) = sm.scope.as_ref().filter(|s| !s.name.is_empty()) {
            for kv in &scope.attributes {
                labels.push((
                    label_name(&format!("otel_scope_{}", kv.key))?,
                    value_string(kv.value.as_ref()),
                ));
            }
            labels.push(("otel_scope_name".into(), scope.name.clone()));
            labels.push(("otel_scope_version".into(), scope.version.clone()));
            labels.push(("otel_scope_schema_url".into(), sm.schema_url.clone()));
        }
        Ok(ScopeCtx { labels })
    }
}

/// Resource and scope together: turns data point attributes into the base
/// labels of its series.
pub struct PointCtx<'a> {
    pub resource: &'a ResourceCtx<'a>,
    pub scope: &'a ScopeCtx,
}

impl PointCtx<'_> {
    /// The labels of a data point's series, without the metric name.
    pub fn base_labels(&self, attrs: &[KeyValue]) -> Result<BTreeMap<String, String>, String> {
        let mut l = to_labels(attrs, &[])?;
        self.resource.apply(&mut l);
        for (k, v) in &self.scope.labels {
            l.insert(k.clone(), v.clone());
        }
        Ok(l)
    }
}

/// A series label set: base labels, the metric name and extra labels
/// (`le`, `quantile`), empty values dropped.
pub fn series_labels(
    base: &BTreeMap<String, String>,
    name: &str,
    extra: &[(&str, &str)],
) -> Labels {
    let mut l = base.clone();
    for (k, v) in extra {
        l.insert((*k).into(), (*v).into());
    }
    l.insert(METRIC_NAME.into(), name.into());
    Labels::from_pairs(l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::metrics::attrs::tests::s;
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;

    fn resource(attrs: Vec<KeyValue>) -> Resource {
        Resource {
            attributes: attrs,
            ..Default::default()
        }
    }

    #[test]
    fn job_and_instance_from_service_attributes() {
        let r = resource(vec![
            s("service.name", "checkout"),
            s("service.namespace", "shop"),
            s("service.instance.id", "pod-7"),
        ]);
        let ctx = ResourceCtx::new(Some(&r));
        assert_eq!(ctx.job.as_deref(), Some("shop/checkout"));
        assert_eq!(ctx.instance.as_deref(), Some("pod-7"));
        // Only identifying attributes: no target_info.
        assert_eq!(ctx.target_info_labels(), Ok(None));

        let r = resource(vec![s("service.name", "checkout")]);
        let ctx = ResourceCtx::new(Some(&r));
        assert_eq!(ctx.job.as_deref(), Some("checkout"));
        assert_eq!(ctx.instance, None);
    }

    #[test]
    fn target_info_carries_the_other_attributes() {
        let r = resource(vec![
            s("service.name", "api"),
            s("service.instance.id", "i-1"),
            s("host.name", "node-a"),
            s("k8s.namespace.name", "prod"),
        ]);
        let ctx = ResourceCtx::new(Some(&r));
        let got = ctx.target_info_labels().unwrap().unwrap();
        assert_eq!(
            got,
            Labels::from_pairs([
                ("__name__", "target_info"),
                ("host_name", "node-a"),
                ("instance", "i-1"),
                ("job", "api"),
                ("k8s_namespace_name", "prod"),
            ])
        );
        // Without job or instance there is nothing to join on.
        let r = resource(vec![s("host.name", "node-a")]);
        assert_eq!(ResourceCtx::new(Some(&r)).target_info_labels(), Ok(None));
    }

    #[test]
    fn target_info_times_step_half_a_lookback() {
        let s = 1_000_000_000u64;
        assert_eq!(target_info_times(10 * s, 10 * s), vec![10_000]);
        assert_eq!(
            target_info_times(0, 400 * s),
            vec![0, 150_000, 300_000, 400_000]
        );
        assert_eq!(target_info_times(0, 300 * s), vec![0, 150_000, 300_000]);
    }

    #[test]
    fn scope_labels_and_point_labels() {
        let sm = ScopeMetrics {
            scope: Some(InstrumentationScope {
                name: "io.opentelemetry.jdbc".into(),
                version: "1.2.0".into(),
                attributes: vec![s("lib.kind", "db")],
                dropped_attributes_count: 0,
            }),
            ..Default::default()
        };
        let scope = ScopeCtx::new(&sm).unwrap();
        let r = resource(vec![s("service.name", "svc")]);
        let res = ResourceCtx::new(Some(&r));
        let ctx = PointCtx {
            resource: &res,
            scope: &scope,
        };
        let base = ctx
            .base_labels(&[s("job", "overridden"), s("http.route", "/a")])
            .unwrap();
        assert_eq!(
            series_labels(&base, "m", &[("le", "1")]),
            Labels::from_pairs([
                ("__name__", "m"),
                ("http_route", "/a"),
                ("job", "svc"),
                ("le", "1"),
                ("otel_scope_lib_kind", "db"),
                ("otel_scope_name", "io.opentelemetry.jdbc"),
                ("otel_scope_version", "1.2.0"),
            ])
        );
        // An unnamed scope adds nothing.
        let none = ScopeCtx::new(&ScopeMetrics::default()).unwrap();
        assert!(none.labels.is_empty());
    }
}
