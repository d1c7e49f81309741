//! The JSON body reader every REST endpoint uses: any bytes are a value or a 400.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.split_first() {
        Some((b, rest)) if b % 2 == 0 => (Some("application/x-www-form-urlencoded"), rest),
        Some((_, rest)) => (None, rest),
        None => (None, data),
    };
    if let Err(e) = engine::service::parse_json_body(body, content_type) {
        assert_eq!(e.status_code(), 400, "{e}");
    }
});
