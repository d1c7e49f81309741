//! The browser side: what makes the server-rendered pages an app, installed once by the
//! [`Shell`](crate::components::shell::Shell) island. Everything works by event delegation on
//! the document, so the pages carry no client code of their own and a page swapped in needs no
//! hydration:
//!
//! - [`page`]: links and GET forms fetch the next page and swap `#page` for it (no reload; the
//!   address, history, scroll and focus follow); POST forms are fetched as the plain forms they
//!   are, and the page the server redirects to (with what the form did, flashed) is swapped in.
//! - [`live`]: the live stream (`/api/@events`); when something the page shows changes, the page
//!   is fetched again and only its live regions (`[data-live]`) are swapped, keeping what is
//!   typed, checked and focused.
//! - [`widgets`]: confirmation dialogs, toggles, the list's selection, selects that apply at once.

mod dom;
mod live;
mod page;
mod widgets;

use std::cell::Cell;

use crate::components::shell::Ui;

thread_local! {
    static UI: Cell<Option<Ui>> = const { Cell::new(None) };
}

/// The shell's toasts, banner and loading bar.
fn ui() -> Option<Ui> {
    UI.with(Cell::get)
}

fn toast_failure(text: &str) {
    if let Some(ui) = ui() {
        ui.toasts.failure(text);
    }
}

/// Called once, when the shell island hydrates.
pub fn install(ui: Ui) {
    UI.with(|u| u.set(Some(ui)));
    let doc = dom::doc();
    if let Some(root) = doc.document_element() {
        let _ = root.set_attribute("data-js", "");
    }
    widgets::install();
    page::install();
    live::install();
    page::arrived_first();
    if let Some(body) = doc.body() {
        let _ = body.set_attribute("data-hydrated", "true");
        // When it happened (ms since the epoch), for the time-to-interactive benchmark.
        let _ = body.set_attribute("data-hydrated-at", &js_sys::Date::now().to_string());
    }
}
