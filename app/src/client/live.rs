//! Live updates. One server-sent event stream (`/api/@events`) for the signed-in user; every
//! few hundred milliseconds the changes heard are weighed against what the page shows (its live
//! regions: `[data-live=<datasource id>]`, `*` for any datasource, `nav` for the navigation's
//! invitation count) and, if one of them may have changed, the page is fetched again and those
//! regions are swapped. What is typed into forms is never in a region; checked rows and the
//! focus are kept across a swap. When the viewer's standing changes (`[data-live-key]`), the
//! whole page is swapped instead.
//!
//! While the stream is down a page with a sync under way (`[data-busy]`) is refetched every two
//! seconds, a banner says the connection is lost, and everything is refetched once it is back.

use std::cell::RefCell;

use leptos::prelude::{GetUntracked, Set};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, EventSource, MessageEvent};

use super::dom::{self, doc, win};
use super::page::{self, Arrival, FocusKey, Typed};
use super::{ui, widgets};

const FLUSH_MS: u64 = 300;
const POLL_MS: u64 = 2000;
/// How long the stream may be down before the banner says so.
const LOST_AFTER_MS: f64 = 3000.0;

#[derive(Default)]
struct Heard {
    /// Datasources changed since the last flush.
    ids: Vec<String>,
    /// Something that can change the navigation (an invitation, a deletion).
    nav: bool,
    /// Changes may have been missed: everything live is refetched.
    everything: bool,
}

#[derive(Default)]
struct Stream {
    source: Option<EventSource>,
    /// Whose stream it is (`data-user` of the page), so signing in or out reconnects.
    user: Option<String>,
    connected: bool,
    /// The stream has been up before (the banner is only for a stream that was).
    was_up: bool,
    /// When the stream went down (ms since the epoch), while it is down.
    down_since: Option<f64>,
    heard: Heard,
    /// A refetch is on its way; `again`: another was asked for meanwhile.
    fetching: bool,
    again: bool,
    /// The stream's listeners, alive as long as it is.
    #[allow(clippy::type_complexity)]
    listeners: Vec<Closure<dyn FnMut(MessageEvent)>>,
}

thread_local! {
    static STREAM: RefCell<Stream> = RefCell::new(Stream::default());
}

pub fn install() {
    let flush = Closure::<dyn FnMut()>::new(flush);
    let poll = Closure::<dyn FnMut()>::new(poll);
    let w = win();
    let _ = w.set_interval_with_callback_and_timeout_and_arguments_0(
        flush.as_ref().unchecked_ref(),
        FLUSH_MS as i32,
    );
    let _ = w.set_interval_with_callback_and_timeout_and_arguments_0(
        poll.as_ref().unchecked_ref(),
        POLL_MS as i32,
    );
    flush.forget();
    poll.forget();
}

/// After a page arrived: (re)connects the stream when the signed-in user changed.
pub fn session_changed() {
    let user = dom::all_in_doc(&doc(), "#page [data-user]")
        .first()
        .and_then(|e| e.get_attribute("data-user"));
    let same =
        STREAM.with(|s| s.borrow().user == user && s.borrow().source.is_some() == user.is_some());
    if same {
        return;
    }
    STREAM.with(|s| {
        let mut s = s.borrow_mut();
        if let Some(old) = s.source.take() {
            old.close();
        }
        s.listeners.clear();
        s.connected = false;
        s.was_up = false;
        s.down_since = None;
        s.user = user.clone();
    });
    if user.is_some() {
        connect();
    } else if let Some(ui) = ui() {
        ui.lost.set(false);
    }
}

fn connect() {
    let Ok(es) = EventSource::new("/api/@events") else {
        return;
    };
    let on_ready = Closure::<dyn FnMut(MessageEvent)>::new(|_| {
        STREAM.with(|s| {
            let mut s = s.borrow_mut();
            // Events may have been missed while the stream was down, and, the first time,
            // between the page being rendered and the stream opening: refetch once it is up.
            s.heard.everything = true;
            s.connected = true;
            s.was_up = true;
            s.down_since = None;
        });
        if let Some(ui) = ui() {
            ui.lost.set(false);
        }
    });
    let on_change = Closure::<dyn FnMut(MessageEvent)>::new(|e: MessageEvent| {
        let kind = e.type_();
        let id = e
            .data()
            .as_string()
            .and_then(|d| js_sys::JSON::parse(&d).ok())
            .and_then(|v| js_sys::Reflect::get(&v, &JsValue::from_str("datasource_id")).ok())
            .and_then(|v| v.as_string());
        STREAM.with(|s| {
            let heard = &mut s.borrow_mut().heard;
            match id {
                _ if kind == "missed" => heard.everything = true,
                Some(id) => {
                    if matches!(kind.as_str(), "updated" | "deleted") {
                        heard.nav = true;
                    }
                    if !heard.ids.contains(&id) {
                        heard.ids.push(id);
                    }
                }
                None => heard.everything = true,
            }
        });
    });
    let on_error = Closure::<dyn FnMut(MessageEvent)>::new(|_| {
        STREAM.with(|s| {
            let mut s = s.borrow_mut();
            if s.down_since.is_none() {
                s.down_since = Some(js_sys::Date::now());
            }
            s.connected = false;
        });
    });
    let _ = es.add_event_listener_with_callback("ready", on_ready.as_ref().unchecked_ref());
    for name in [
        "status",
        "progress",
        "processed",
        "updated",
        "deleted",
        "missed",
    ] {
        let _ = es.add_event_listener_with_callback(name, on_change.as_ref().unchecked_ref());
    }
    es.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    STREAM.with(|s| {
        let mut s = s.borrow_mut();
        s.source = Some(es);
        s.listeners = vec![on_ready, on_change, on_error];
    });
}

/// What the page's live regions follow.
fn scopes() -> Vec<String> {
    dom::all_in_doc(&doc(), "#page [data-live]")
        .iter()
        .filter_map(|e| e.get_attribute("data-live"))
        .collect()
}

fn flush() {
    let (lost_now, heard) = STREAM.with(|s| {
        let mut s = s.borrow_mut();
        let lost = s.was_up
            && s.down_since
                .is_some_and(|t| js_sys::Date::now() - t > LOST_AFTER_MS);
        (lost, std::mem::take(&mut s.heard))
    });
    if let Some(ui) = ui()
        && lost_now
        && !ui.lost.get_untracked()
    {
        ui.lost.set(true);
    }
    if heard.ids.is_empty() && !heard.nav && !heard.everything {
        return;
    }
    let scopes = scopes();
    let wanted = if heard.everything || heard.nav {
        !scopes.is_empty()
    } else {
        scopes
            .iter()
            .any(|s| s == "*" || heard.ids.iter().any(|id| id == s))
    };
    if wanted {
        refresh();
    }
}

/// While the stream is down, a page following a sync polls.
fn poll() {
    let down = STREAM.with(|s| {
        let s = s.borrow();
        s.source.is_some() && !s.connected
    });
    if down && !dom::all_in_doc(&doc(), "#page [data-busy]").is_empty() {
        refresh();
    }
}

/// Fetches this page again and swaps in what changed. One refetch at a time; one asked for
/// meanwhile runs when it is back.
fn refresh() {
    let go = STREAM.with(|s| {
        let mut s = s.borrow_mut();
        if s.fetching {
            s.again = true;
            false
        } else {
            s.fetching = true;
            true
        }
    });
    if !go {
        return;
    }
    let generation = page::generation();
    let href = dom::here();
    leptos::task::spawn_local(async move {
        let fetched = page::fetch(&href, None, true).await;
        // Only onto the page it was fetched for (a page swapped in since is newer).
        if let Ok(f) = fetched
            && page::generation() == generation
            && dom::here() == href
        {
            apply(f);
        }
        let again = STREAM.with(|s| {
            let mut s = s.borrow_mut();
            s.fetching = false;
            std::mem::take(&mut s.again)
        });
        if again {
            refresh();
        }
    });
}

/// Swaps the live regions of the refetched page in, or the whole page when it changed shape.
fn apply(f: page::Fetched) {
    let new = &f.doc;
    let key = |d: &web_sys::Document| {
        dom::all_in_doc(d, "#page [data-live-key]")
            .first()
            .and_then(|e| e.get_attribute("data-live-key"))
    };
    let moved = dom::url(&f.url).is_none_or(|u| dom::path_and_query(&u) != dom::here());
    let fresh: Vec<Element> = dom::all_in_doc(new, "#page [data-live][id]");
    let ids = |v: &[Element]| {
        let mut ids: Vec<String> = v.iter().map(Element::id).collect();
        ids.sort();
        ids
    };
    let current = dom::all_in_doc(&doc(), "#page [data-live][id]");
    if moved || key(new) != key(&doc()) || ids(&fresh) != ids(&current) {
        // Another shape (the viewer's role changed, the datasource went, the session ended):
        // the whole page, keeping what was typed, the scroll and the focus where they still fit.
        let typed = Typed::of(&doc());
        let focus = doc().active_element().map(|e| FocusKey::of(&e));
        page::arrive(
            new,
            Arrival::SamePage {
                typed: Some(typed),
                focus,
            },
        );
        return;
    }
    for region in fresh {
        let id = region.id();
        if !page::served_changed(&id, &region.outer_html()) {
            continue;
        }
        if let Some(old) = doc().get_element_by_id(&id) {
            swap_region(&old, &region);
        }
    }
    widgets::sync_selection();
}

/// Replaces one region, keeping its checked rows and the focus.
fn swap_region(old: &Element, new: &Element) {
    let checked: Vec<String> = dom::all(old, "input[type=checkbox][data-select-row]")
        .into_iter()
        .filter_map(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
        .filter(|i| i.checked())
        .map(|i| i.value())
        .collect();
    let focus = doc()
        .active_element()
        .filter(|a| old.contains(Some(a)))
        .map(|a| FocusKey::of(&a));
    let Ok(imported) = doc().import_node_with_deep(new, true) else {
        return;
    };
    let Ok(imported) = imported.dyn_into::<Element>() else {
        return;
    };
    if old.replace_with_with_node_1(&imported).is_err() {
        return;
    }
    for i in dom::all(&imported, "input[type=checkbox][data-select-row]")
        .into_iter()
        .filter_map(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
    {
        if !i.disabled() && checked.contains(&i.value()) {
            i.set_checked(true);
        }
    }
    if let Some(key) = focus {
        match key.find(&imported) {
            Some(el) => {
                let _ = el.focus();
            }
            // Its control went (a Pause button became Resume): the region keeps the focus, so
            // the next Tab goes on from where it was.
            None => {
                if let Ok(el) = imported.clone().dyn_into::<web_sys::HtmlElement>() {
                    let _ = el.set_attribute("tabindex", "-1");
                    let _ = el.focus();
                }
            }
        }
    }
}
