//! End-to-end tests of pipelines: stages combined, exact lines and labels.
