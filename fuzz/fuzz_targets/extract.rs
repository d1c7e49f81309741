//! Every extractor: the first byte chooses the file's name (and so, for content without a
//! signature, its type), the rest is the file. Extraction must return an outcome for any
//! bytes: no panic escapes it, no unbounded allocation, no hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

const NAMES: &[&str] = &[
    "a.txt", "a.md", "a.csv", "a.json", "a.html", "a.pdf", "a.docx", "a.xlsx", "a.pptx", "a.odt",
    "a.ods", "a.odp", "a.eml", "a.bin",
];

fuzz_target!(|data: &[u8]| {
    // Panics the extractors catch themselves (pdf-extract's) are outcomes, not crashes; one
    // that escapes still aborts the run.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let name = NAMES[first as usize % NAMES.len()];
    let _ = engine::process::extract::extract(name, rest);
});
