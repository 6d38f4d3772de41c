//! The fault knobs inject what they are set to, reproducibly.

use std::time::Duration;

use ferry_sandbox::faults::{Fault, FaultConfig, Faults};

#[test]
fn error_rate_outage_and_throttle_storm() {
    let faults = Faults::new(FaultConfig { error_rate: 0.05, ..FaultConfig::default() }, 42);
    let errors = (0..10_000).filter(|_| faults.decide().0 == Fault::ServerError).count();
    assert!((400..600).contains(&errors), "about 5% errors, got {errors} in 10,000");

    faults.set(FaultConfig { latency: Duration::from_millis(30), ..FaultConfig::default() });
    assert_eq!(faults.decide(), (Fault::None, Duration::from_millis(30)));

    faults.start_outage(Duration::from_secs(60));
    assert!(matches!(faults.decide().0, Fault::Outage { remaining } if remaining > Duration::from_secs(59)));
    faults.end_outage();
    assert_eq!(faults.decide().0, Fault::None);

    faults.set(FaultConfig { throttle_rate: 1.0, ..FaultConfig::default() });
    assert!((0..100).all(|_| faults.decide().0 == Fault::Throttle), "a storm throttles everything");
}
