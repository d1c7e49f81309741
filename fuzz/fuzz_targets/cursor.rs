//! The paging cursor decoder: any text a client sends as `scroll` is refused or read, never
//! a panic; a cursor it reads belongs to the scope it was asked for.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = engine::domain::Cursor::decode(text, "children:fuzz");
    let made = engine::domain::Cursor::new("children:fuzz", data.len() as i64).encode();
    let back = engine::domain::Cursor::decode(&made, "children:fuzz").expect("own cursor");
    assert_eq!(back.after, data.len() as i64);
    assert!(engine::domain::Cursor::decode(&made, "children:other").is_err());
});
