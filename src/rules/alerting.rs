//! One alerting rule and the state machine of its alerts: pending →
//! firing → inactive, `for`, `keep_firing_for`, templated labels and
//! annotations, and when each alert is (re)sent to Alertmanager.
