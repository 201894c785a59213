//! Arbitrary bytes into the strict salary-slip request parser: it must never
//! panic, and whatever it accepts must survive a serialize/parse round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipgate_proto::SlipRequest;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = SlipRequest::parse_strict(data) {
        let again = serde_json::to_vec(&request).expect("a parsed request serializes");
        assert_eq!(SlipRequest::parse_strict(&again).ok(), Some(request));
    }
});
