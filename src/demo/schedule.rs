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

    /// How long the incident lasts unless `--incident-length` says
    /// otherwise: long enough for its alerts' `for` clauses to run out
    /// (deploy/cairn/rules/alerts.yaml), so that they fire before the
    /// incident ends, then resolve.
    pub fn default_length(self) -> Duration {
        Duration::from_secs(match self {
            Incident::FailureSpike => 10 * 60,
            Incident::SlowProvisioning => 30 * 60,
            // The crash-loop alert reads 5 minutes of sightings and then
            // waits 10: 15 minutes let it fire, then resolve afterwards.
            Incident::CrashLoop => 15 * 60,
            Incident::DiskPressure => 25 * 60,
        })
    }

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

/// Calm for `calm`, then each incident for its length followed by `calm`
/// again, round and round.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub calm: Duration,
    /// Every incident's length; `None` gives each its default length.
    pub length: Option<Duration>,
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
    fn length_of(&self, i: Incident) -> Duration {
        self.length.unwrap_or_else(|| i.default_length())
    }

    /// The phase `elapsed` after the script started.
    pub fn phase_at(&self, elapsed: Duration) -> Phase {
        let cycle: Duration = self
            .incidents
            .iter()
            .map(|i| self.calm + self.length_of(*i))
            .sum();
        let no_incident_time = self.incidents.iter().all(|i| self.length_of(*i).is_zero());
        if self.incidents.is_empty() || no_incident_time || cycle.is_zero() {
            return Phase {
                incident: None,
                left: Duration::MAX,
            };
        }
        let mut at = Duration::from_nanos((elapsed.as_nanos() % cycle.as_nanos()) as u64);
        for i in &self.incidents {
            if at < self.calm {
                return Phase {
                    incident: None,
                    left: self.calm - at,
                };
            }
            at -= self.calm;
            let len = self.length_of(*i);
            if at < len {
                return Phase {
                    incident: Some(*i),
                    left: len - at,
                };
            }
            at -= len;
        }
        // Unreachable by construction (at < cycle); calm is the safe answer.
        Phase {
            incident: None,
            left: self.calm,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(calm: u64, length: u64) -> Schedule {
        Schedule {
            calm: Duration::from_secs(calm),
            length: Some(Duration::from_secs(length)),
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
    fn default_lengths_differ_per_incident() {
        let sch = Schedule {
            calm: Duration::from_secs(300),
            length: None,
            incidents: vec![Incident::FailureSpike, Incident::SlowProvisioning],
        };
        let at = |m: u64| sch.phase_at(Duration::from_secs(m * 60)).incident;
        assert_eq!(at(5), Some(Incident::FailureSpike));
        assert_eq!(at(14), Some(Incident::FailureSpike));
        assert_eq!(at(15), None);
        assert_eq!(at(20), Some(Incident::SlowProvisioning));
        assert_eq!(at(49), Some(Incident::SlowProvisioning));
        assert_eq!(at(50), None, "the cycle is 50 minutes");
        assert_eq!(at(55), Some(Incident::FailureSpike));
    }

    #[test]
    fn incident_names_round_trip() {
        for i in Incident::ALL {
            assert_eq!(i.name().parse::<Incident>(), Ok(i));
        }
        assert!("meteor".parse::<Incident>().is_err());
    }
}
