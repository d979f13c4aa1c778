//! The demo's script: calm periods and scripted incidents, one after the
//! other, on the wall clock from the moment the live run starts.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A scripted incident and the alerts it is written to trigger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Incident {
    /// RDS refuses connections: ~40 % of clones fail (`rds_unavailable`),
    /// RDS connection errors climb, `/clone` answers 503.
    /// Alerts: WordPressCloneFailureRateHigh, RDSConnectionFailures.
    FailureSpike,
    /// A demand surge meets a spot capacity shortage: Karpenter's launches
    /// fail with InsufficientCapacityError, pods wait, provisioning takes
    /// 3–7 minutes and active clones pile up.
    /// Alerts: KarpenterCannotProvisionNodes, WordPressCloneProvisioningSlow,
    /// WordPressActiveClonesHigh.
    SlowProvisioning,
    /// One wp-k8s-service replica crash-loops.
    /// Alert: WpK8sServiceCrashLooping.
    CrashLoop,
    /// A node's root filesystem fills up to ~88 %.
    /// Alert: NodeDiskUsageHigh.
    DiskPressure,
}

impl Incident {
    pub const ALL: [Incident; 4] = [
        Incident::FailureSpike,
        Incident::SlowProvisioning,
        Incident::CrashLoop,
        Incident::DiskPressure,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Incident::FailureSpike => "failure-spike",
            Incident::SlowProvisioning => "slow-provisioning",
            Incident::CrashLoop => "crash-loop",
            Incident::DiskPressure => "disk-pressure",
        }
    }
}

impl fmt::Display for Incident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Incident {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Incident::ALL
            .into_iter()
            .find(|i| i.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Incident::ALL.iter().map(|i| i.name()).collect();
                format!("unknown incident {s:?}; known: {}", names.join(", "))
            })
    }
}

/// Calm for `calm`, then each incident for `length` followed by `calm`
/// again, round and round.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub calm: Duration,
    pub length: Duration,
    pub incidents: Vec<Incident>,
}

/// Where the script is at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phase {
    pub incident: Option<Incident>,
    /// Time left in this phase.
    pub left: Duration,
}

impl Schedule {
    /// The phase `elapsed` after the live run started.
    pub fn phase_at(&self, elapsed: Duration) -> Phase {
        let cycle_len = (self.calm + self.length) * self.incidents.len() as u32;
        if self.incidents.is_empty() || self.length.is_zero() || cycle_len.is_zero() {
            return Phase {
                incident: None,
                left: Duration::MAX,
            };
        }
        let in_cycle = Duration::from_nanos((elapsed.as_nanos() % cycle_len.as_nanos()) as u64);
        let slot = self.calm + self.length;
        let idx = (in_cycle.as_nanos() / slot.as_nanos()) as usize;
        let in_slot = in_cycle - slot * idx as u32;
        if in_slot < self.calm {
            Phase {
                incident: None,
                left: self.calm - in_slot,
            }
        } else {
            Phase {
                incident: Some(self.incidents[idx]),
                left: slot - in_slot,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(calm: u64, length: u64) -> Schedule {
        Schedule {
            calm: Duration::from_secs(calm),
            length: Duration::from_secs(length),
            incidents: vec![Incident::FailureSpike, Incident::CrashLoop],
        }
    }

    #[test]
    fn calm_then_each_incident_in_turn() {
        let sch = s(60, 120);
        let at = |t| sch.phase_at(Duration::from_secs(t));
        assert_eq!(at(0).incident, None);
        assert_eq!(at(0).left, Duration::from_secs(60));
        assert_eq!(at(60).incident, Some(Incident::FailureSpike));
        assert_eq!(at(179).incident, Some(Incident::FailureSpike));
        assert_eq!(at(179).left, Duration::from_secs(1));
        assert_eq!(at(180).incident, None);
        assert_eq!(at(240).incident, Some(Incident::CrashLoop));
        assert_eq!(at(360).incident, None, "the cycle starts again");
        assert_eq!(at(420).incident, Some(Incident::FailureSpike));
    }

    #[test]
    fn no_calm_starts_with_the_first_incident() {
        let sch = s(0, 30);
        assert_eq!(
            sch.phase_at(Duration::ZERO).incident,
            Some(Incident::FailureSpike)
        );
    }

    #[test]
    fn no_incidents_is_calm_forever() {
        let mut sch = s(10, 10);
        sch.incidents.clear();
        assert_eq!(sch.phase_at(Duration::from_secs(1000)).incident, None);
    }

    #[test]
    fn incident_names_round_trip() {
        for i in Incident::ALL {
            assert_eq!(i.name().parse::<Incident>(), Ok(i));
        }
        assert!("meteor".parse::<Incident>().is_err());
    }
}
