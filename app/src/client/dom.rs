//! Small helpers over web_sys.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Document, Element, Event, EventTarget, NodeList, Url};

pub fn doc() -> Document {
    leptos::prelude::document()
}

pub fn win() -> web_sys::Window {
    leptos::prelude::window()
}

/// Listens for `name` on `target` for as long as the page lives.
pub fn listen<E: JsCast + 'static>(
    target: &EventTarget,
    name: &str,
    capture: bool,
    mut f: impl FnMut(E) + 'static,
) {
    let cb = Closure::<dyn FnMut(Event)>::new(move |e: Event| {
        if let Ok(e) = e.dyn_into::<E>() {
            f(e)
        }
    });
    let opts = web_sys::AddEventListenerOptions::new();
    opts.set_capture(capture);
    let _ = target.add_event_listener_with_callback_and_add_event_listener_options(
        name,
        cb.as_ref().unchecked_ref(),
        &opts,
    );
    cb.forget();
}

pub fn elements(list: Result<NodeList, wasm_bindgen::JsValue>) -> Vec<Element> {
    let Ok(list) = list else { return Vec::new() };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<Element>().ok())
        .collect()
}

/// The elements under `root` matching `selector`.
pub fn all(root: &Element, selector: &str) -> Vec<Element> {
    elements(root.query_selector_all(selector))
}

pub fn all_in_doc(doc: &Document, selector: &str) -> Vec<Element> {
    elements(doc.query_selector_all(selector))
}

/// The element an event happened on, or its nearest ancestor, matching `selector`.
pub fn closest(target: Option<EventTarget>, selector: &str) -> Option<Element> {
    let el: Element = target?.dyn_into().ok()?;
    el.closest(selector).ok().flatten()
}

/// `href` resolved against the page's address, its query written the one way URLSearchParams
/// writes it (`+` for a space, no empty pairs), so two spellings of one address compare equal.
/// (A fetched page's address may differ from the one asked for by a trailing `&`: gloo-net
/// appends its own, empty, query.)
pub fn url(href: &str) -> Option<Url> {
    let base = win().location().href().ok()?;
    let u = Url::new_with_base(href, &base).ok()?;
    let query: String = u.search_params().to_string().into();
    u.set_search(&query);
    Some(u)
}

/// The page's address without its fragment, as [`url`] writes it.
pub fn here() -> String {
    let href = win().location().href().unwrap_or_default();
    url(&href).map(|u| path_and_query(&u)).unwrap_or_default()
}

/// An address's path and query (what [`here`] compares with).
pub fn path_and_query(u: &Url) -> String {
    format!("{}{}", u.pathname(), u.search())
}

/// The page's own element, `#page`, swapped for the next page's.
pub fn page_root() -> Option<Element> {
    doc().get_element_by_id("page")
}
