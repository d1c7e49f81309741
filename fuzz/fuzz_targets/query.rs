//! The search language: the simple form for any text, and the advanced form for any JSON.
//! Each parses or is refused with a 422, within its limits; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static FIELDS: std::sync::OnceLock<engine::search::query::TextFields> =
        std::sync::OnceLock::new();
    let fields = FIELDS.get_or_init(engine::search::query::TextFields::standalone);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = engine::search::query::parse_simple(text, fields, "query") {
            assert_eq!(e.status_code(), 422, "{e}");
        }
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Err(e) = engine::search::query::parse_advanced(&v, fields, "advanced") {
            assert_eq!(e.status_code(), 422, "{e}");
        }
    }
});
