//! The browser's entry point. Pages are rendered on the server; this starts Leptos's islands
//! runtime, and the island script (`HydrationScripts islands=true`) then hydrates the one
//! island of every page, `app::components::shell::Shell`, which installs the page controller.

// The islands' hydration functions are exported from the `app` crate: linking it keeps them.
extern crate app;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
